package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// PolicySource gives the tenant's settings as they apply to one user
// (security defaults, the methods policy, system-preferred MFA, the
// registration campaign).
type PolicySource interface {
	TenantFacts(ctx context.Context, tenantID string, u store.User, groups []string) (policy.Tenant, error)
}

// CAInput is what conditional access evaluates.
type CAInput struct {
	User     store.User
	Groups   []string
	Roles    []string
	AppID    string
	Client   policy.ClientApp
	IP       netip.Addr
	Platform string
	Request  policy.Request
}

// ConditionalAccess evaluates the tenant's policies for a sign-in: the
// grants of the applied (enforced) policies and every policy's result for
// the sign-in log.
type ConditionalAccess interface {
	Evaluate(ctx context.Context, tenantID string, in CAInput) ([]policy.Grant, []store.AppliedCAPolicy, error)
}

// LogWriter takes sign-in log entries (internal/signinlog batches them).
type LogWriter interface {
	Write(store.SignIn) bool
}

// Engine runs interactive sign-ins. Every way in — the JSON API, the web
// pages, RADIUS — drives the same steps, so every rule holds everywhere.
type Engine struct {
	Store     store.Store
	Passwords *Passwords
	Methods   *securityinfo.Service
	Policy    PolicySource
	CA        ConditionalAccess // nil: no policies
	Push      PushService       // the authenticator; nil: no push
	Log       LogWriter
	Lockout   LockoutPolicy
	// FingerprintKey keys the short fingerprints of wrong passwords that
	// keep a repeated typo from counting twice toward lockout.
	FingerprintKey []byte
	FlowTTL        time.Duration
	SessionTTL     time.Duration // a browser session
	PersistentTTL  time.Duration // "stay signed in"
	Now            func() time.Time
	Logger         *slog.Logger
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Client describes who is signing in from where.
type Client struct {
	App          string // app id (client id); "" for vakt's own pages
	AppName      string
	Kind         policy.ClientApp
	IP           netip.Addr
	UserAgent    string
	DeviceID     string // a device cookie or a native client's id
	AdminSurface bool
	StepUp       bool
	RADIUS       bool
	// LetUserChoose: do not send a text or call on its own; the client
	// will ask the user which to use first (P-2.4).
	LetUserChoose bool
	CorrelationID string
	// Locale is the language ("en" or "sv") of texts and calls sent to
	// the user during the sign-in; empty means English.
	Locale string `json:",omitempty"`
}

// flowData is a flow's own state, kept as JSON in the store.
type flowData struct {
	Username string `json:"username"`
	Client   Client `json:"client"`
	Familiar bool   `json:"familiar"`
	// Seen are the network/device keys already recorded this window, and
	// LockDirty whether the name has failures to clear on success: both
	// spare writes on the common path.
	Seen                []string                `json:"seen,omitempty"`
	LockDirty           bool                    `json:"lockDirty,omitempty"`
	FirstFactor         method.Option           `json:"firstFactor,omitempty"`
	MFADone             *policy.MFADone         `json:"mfaDone,omitempty"`
	Selected            method.Option           `json:"selected,omitempty"`
	ChallengeID         string                  `json:"challengeId,omitempty"`
	Destination         string                  `json:"destination,omitempty"`
	EnrolmentID         string                  `json:"enrolmentId,omitempty"`
	PushNumber          int                     `json:"pushNumber,omitempty"`
	PushExpires         time.Time               `json:"pushExpires,omitempty"`
	PushEnrolment       string                  `json:"pushEnrolment,omitempty"`
	ContactChallenge    string                  `json:"contactChallenge,omitempty"` // a phone registered in the interrupt: its code
	ContactOption       method.Option           `json:"contactOption,omitempty"`
	PushContext         *PushContext            `json:"pushContext,omitempty"`
	Risk                []string                `json:"risk,omitempty"`
	RegistrationSkipped bool                    `json:"registrationSkipped,omitempty"`
	PasswordChanged     bool                    `json:"passwordChanged,omitempty"`
	StaySignedIn        bool                    `json:"staySignedIn,omitempty"`
	Decision            policy.Decision         `json:"decision"`
	Applied             []store.AppliedCAPolicy `json:"applied,omitempty"`
	Auth                []store.AuthDetail      `json:"auth,omitempty"`
	Session             *SessionView            `json:"-"`
	// Key is the open WebAuthn ceremony of this step (used once).
	Key *webauthn.Ceremony `json:"key,omitempty"`
	// Inherited: the flow checks an existing session for an app
	// (CheckSession, stepup.go) and issues no new session.
	Inherited *inheritedSession `json:"inherited,omitempty"`
}

// View is what a client sees of a flow.
type View struct {
	FlowID    string        `json:"flowId"`
	State     State         `json:"state"`
	ExpiresAt time.Time     `json:"expiresAt"`
	MFA       *MFAView      `json:"mfa,omitempty"`
	Register  *RegisterView `json:"register,omitempty"`
	Blocked   *BlockView    `json:"blocked,omitempty"`
	Session   *SessionView  `json:"session,omitempty"`
	// PublicKey is the options for navigator.credentials.get or create
	// when the step needs a security key or passkey.
	PublicKey json.RawMessage `json:"publicKey,omitempty"`
}

// MFAView lists the ways to pass the second factor.
type MFAView struct {
	Options     []method.Option `json:"options"`
	Selected    method.Option   `json:"selected,omitempty"`
	CodeSent    bool            `json:"codeSent"`
	Destination string          `json:"destination,omitempty"`
	Push        *PushView       `json:"push,omitempty"`
}

// RegisterView says what to register.
type RegisterView struct {
	Options       []method.Option `json:"options"`
	Skippable     bool            `json:"skippable"`
	GraceDaysLeft int             `json:"graceDaysLeft,omitempty"`
	Enrolment     *Enrolment      `json:"enrolment,omitempty"`
}

// Enrolment is a started authenticator-app registration: a TOTP secret,
// or for push an enrolment link, then the test push's number.
type Enrolment struct {
	SecretKey string    `json:"secretKey,omitempty"`
	URI       string    `json:"uri,omitempty"`
	QRPNG     []byte    `json:"qrCodePng,omitempty"`
	Link      string    `json:"link,omitempty"`
	Number    int       `json:"number,omitempty"`
	Status    string    `json:"status,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Destination is where a new phone's code went.
	Destination string `json:"destination,omitempty"`
}

// BlockView explains a blocked sign-in with an id for the helpdesk.
type BlockView struct {
	Code          int    `json:"code"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
}

// SessionView is the issued session; the token is shown once.
type SessionView struct {
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expiresAt"`
	Persistent bool      `json:"persistent"`
}

// Start opens a flow for a user name. It never says whether the user
// exists: that is learnt, at the earliest, from the password step, and
// only by someone who knows the password.
func (e *Engine) Start(ctx context.Context, tenantID, username string, c Client) (View, error) {
	username = strings.TrimSpace(username)
	if username == "" || len(username) > directory.MaxUPNLength || !cleanText(username) {
		return View{}, apperr.Invalidf("Enter your user name, such as anna@contoso.com.").WithTarget("username")
	}
	// What the client says about itself ends up in the sign-in log: keep
	// it to printable text of sane length.
	c.App, c.AppName, c.UserAgent, c.DeviceID = sanitize(c.App, 64), sanitize(c.AppName, 256), sanitize(c.UserAgent, 512), sanitize(c.DeviceID, 128)
	if c.Kind == "" {
		c.Kind = policy.ClientBrowser
	}
	if c.CorrelationID == "" {
		c.CorrelationID = uuid.NewString()
	}
	now := e.now()
	d := flowData{Username: username, Client: c}
	f := store.Flow{ID: newToken(), TenantID: tenantID, State: string(StatePassword), CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(e.FlowTTL)}
	var err error
	if f.Data, err = json.Marshal(d); err != nil {
		return View{}, err
	}
	if err := e.Store.CreateFlow(ctx, f); err != nil {
		return View{}, err
	}
	return e.view(f, d), nil
}

// ErrFlowGone: the flow is unknown or expired.
func errFlowGone() error {
	return apperr.NotFoundf("This sign-in has expired or does not exist. Start again.").WithCode("flowExpired")
}

// load reads a flow and checks the state accepts the action.
func (e *Engine) load(ctx context.Context, tenantID, flowID string, act Action) (store.Flow, flowData, error) {
	var d flowData
	if !validFlowID(flowID) {
		return store.Flow{}, d, errFlowGone()
	}
	f, err := e.Store.GetFlow(ctx, tenantID, flowID, e.now())
	if errors.Is(err, store.ErrNotFound) {
		return f, d, errFlowGone()
	}
	if err != nil {
		return f, d, err
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return f, d, fmt.Errorf("flow %s: %w", f.ID, err)
	}
	if !State(f.State).allows(act) {
		return f, d, apperr.Conflictf("This step is not expected now; the sign-in is at %q.", f.State).WithCode("stepOutOfOrder")
	}
	return f, d, nil
}

// save stores the flow's new state; a concurrent step on the same flow
// makes one of the two fail instead of both taking effect.
func (e *Engine) save(ctx context.Context, f store.Flow, d flowData, to State) (store.Flow, error) {
	if err := checkMove(State(f.State), to); err != nil && State(f.State) != to {
		return f, err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return f, err
	}
	f.State, f.Data, f.UpdatedAt = string(to), data, e.now()
	if err := e.Store.UpdateFlow(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return f, apperr.Conflictf("This sign-in step was already taken. Reload and continue.").WithCode("flowChanged")
		}
		return f, err
	}
	f.Version++
	return f, nil
}

func (e *Engine) view(f store.Flow, d flowData) View {
	v := View{FlowID: f.ID, State: State(f.State), ExpiresAt: f.ExpiresAt}
	if d.Key != nil && v.State != StateDone && v.State != StateBlocked {
		v.PublicKey = d.Key.Options
	}
	switch v.State {
	case StateMFA:
		v.MFA = &MFAView{Options: d.Decision.Options, Selected: d.Selected, CodeSent: d.ChallengeID != "", Destination: d.Destination}
		if d.Selected == method.OptionPush && d.ChallengeID != "" {
			v.MFA.Push = &PushView{Number: d.PushNumber, ExpiresAt: d.PushExpires, Context: d.PushContext}
		}
	case StateRegister:
		v.Register = &RegisterView{Options: d.Decision.RegisterOptions, Skippable: d.Decision.Skippable}
		if d.Decision.GraceLeft > 0 {
			v.Register.GraceDaysLeft = int((d.Decision.GraceLeft + 24*time.Hour - 1) / (24 * time.Hour))
		}
	case StateBlocked:
		v.Blocked = &BlockView{Code: d.Decision.Code, Message: d.Decision.Message, CorrelationID: d.Client.CorrelationID}
	case StateDone:
		v.Session = d.Session
	}
	return v
}

// newToken is 32 random bytes, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken keys sessions by a hash, so a database dump holds no tokens.
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// lockKey counts failures by the name typed, not the account, so that an
// unknown name locks exactly like a real one and reveals nothing.
func lockKey(username string) string { return "name:" + strings.ToLower(username) }

func scope(familiar bool) string {
	if familiar {
		return "familiar"
	}
	return "unfamiliar"
}

// fingerprint identifies a wrong password without storing it: a keyed,
// truncated hash, used only as a counter key for an hour.
func (e *Engine) fingerprint(username, pw string) string {
	m := hmac.New(sha256.New, e.FingerprintKey)
	m.Write([]byte(strings.ToLower(username)))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// checkLock refuses while the name is locked in this scope.
func (e *Engine) checkLock(ctx context.Context, tenantID string, d *flowData) error {
	l, err := e.Store.GetLockout(ctx, tenantID, lockKey(d.Username), scope(d.Familiar))
	if err != nil {
		return err
	}
	d.LockDirty = d.LockDirty || l.Failures > 0 || l.Consecutive > 0 || l.Locks > 0 || l.LockedUntil != nil
	if locked, wait := lockedFor(l, e.now()); locked {
		if wait == 0 {
			return &apperr.Error{Kind: apperr.Forbidden, Code: "accountLocked",
				Message: "Your account is locked after too many failed attempts. Contact your administrator."}
		}
		secs := int(wait.Seconds() + 0.999)
		return &apperr.Error{Kind: apperr.RateLimited, Code: "accountLocked",
			Message: fmt.Sprintf("Your account is temporarily locked to prevent unauthorized use. Try again in %d seconds.", secs),
			Err:     &securityinfo.ThrottledError{RetryAfter: wait}}
	}
	return nil
}

// failed counts a failure toward lockout (a repeated wrong password only
// once) and logs it.
func (e *Engine) failed(ctx context.Context, tenantID string, d flowData, u store.User, repeatKey string, code int, reason string) error {
	count := true
	if repeatKey != "" {
		n, _, err := e.Store.Hit(ctx, tenantID, "badpw:"+repeatKey, time.Hour, e.now(), 1)
		if err != nil {
			return err
		}
		count = n == 1
	}
	if count {
		if _, err := e.Store.UpdateLockout(ctx, tenantID, lockKey(d.Username), scope(d.Familiar), func(l *store.Lockout) error {
			e.Lockout.fail(l, e.now())
			return nil
		}); err != nil {
			return err
		}
	}
	e.logSignIn(tenantID, d, u, code, reason)
	return nil
}

// Get shows a flow as it stands (clients poll it while a call rings).
func (e *Engine) Get(ctx context.Context, tenantID, flowID string) (View, error) {
	if !validFlowID(flowID) {
		return View{}, errFlowGone()
	}
	f, err := e.Store.GetFlow(ctx, tenantID, flowID, e.now())
	if errors.Is(err, store.ErrNotFound) {
		return View{}, errFlowGone()
	}
	if err != nil {
		return View{}, err
	}
	var d flowData
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return View{}, err
	}
	v := e.view(f, d)
	v.Session = nil // the token is shown once, in the answer that issued it
	return v, nil
}

// Session finds the live session of a token and marks it seen.
func (e *Engine) Session(ctx context.Context, tenantID, token string) (store.Session, error) {
	if token == "" || len(token) > 128 {
		return store.Session{}, store.ErrNotFound
	}
	s, err := e.Store.GetSession(ctx, tenantID, hashToken(token), e.now())
	if err != nil {
		return s, err
	}
	if e.now().Sub(s.LastSeenAt) > time.Minute {
		// Touch at most once a minute: a read should not become a write.
		_, _ = e.Store.UpdateSession(ctx, tenantID, s.ID, func(x *store.Session) error { x.LastSeenAt = e.now(); return nil })
	}
	return s, nil
}

// SignOut ends a session.
func (e *Engine) SignOut(ctx context.Context, tenantID, token string) error {
	s, err := e.Store.GetSession(ctx, tenantID, hashToken(token), e.now())
	if err != nil {
		return err
	}
	_, err = e.Store.UpdateSession(ctx, tenantID, s.ID, func(x *store.Session) error {
		now := e.now()
		x.RevokedAt = &now
		return nil
	})
	return err
}

// validFlowID: flow ids are 43 base64url characters; anything else cannot
// be one and is not looked up.
func validFlowID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cleanText is valid UTF-8 without control characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// sanitize keeps printable text only, cut to n bytes on a rune boundary.
func sanitize(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
