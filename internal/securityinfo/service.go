// Package securityinfo manages a user's authentication methods ("security
// info", P-2): registering them, proving them at sign-in or reset, and
// removing them. The rules themselves are pure and live in internal/method
// and internal/method/totp; this package applies them to the store, seals
// secrets, sends codes and writes audit entries.
package securityinfo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/store"
)

// Sealer encrypts secrets at rest (internal/secret).
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Config holds the tunables, with defaults from DefaultConfig.
type Config struct {
	// TOTPSkew is how many time steps either side of now a code may come
	// from (a phone's drifted clock is the most common support case).
	TOTPSkew int
	// EnrolmentTTL bounds a pending registration.
	EnrolmentTTL time.Duration
	// CodeTTL and CodeAttempts bound a one-time code (SMS, voice, email).
	CodeTTL      time.Duration
	CodeAttempts int
	// FailureLimit wrong codes per user in FailureWindow lock code checks
	// until the window ends; it is not reset by a new code.
	FailureLimit  int
	FailureWindow time.Duration
	// Send limits per user, per destination and per tenant, in SendWindow.
	SendPerUser, SendPerDestination, SendPerTenant int
	SendWindow                                     time.Duration
	// Issuer names the service in authenticator apps.
	Issuer string
}

// DefaultConfig is what vakt ships with.
func DefaultConfig() Config {
	return Config{TOTPSkew: 1, EnrolmentTTL: 15 * time.Minute, CodeTTL: 10 * time.Minute, CodeAttempts: 5,
		FailureLimit: 10, FailureWindow: 15 * time.Minute,
		SendPerUser: 5, SendPerDestination: 5, SendPerTenant: 1000, SendWindow: 15 * time.Minute, Issuer: "vakt"}
}

// Service manages security info.
type Service struct {
	Store  store.Store
	Keys   Sealer
	Hasher *password.Hasher
	Sender delivery.Sender
	Config Config
	// Allowed says which kinds of method the authentication-methods policy
	// lets a user register (P-2.5); nil allows every kind.
	Allowed func(ctx context.Context, tenantID, userID string) (map[method.Kind]bool, error)
	// PublicURL is where a voice provider reports call outcomes
	// (PublicURL/{tenant}/api/callbacks/voice).
	PublicURL string
	Now       func() time.Time
	Log       *slog.Logger

	// WebAuthn is the relying party for security keys and passkeys (nil:
	// unavailable, e.g. a public URL with an IP address); Fido2Policy
	// reads the tenant's FIDO2 configuration (nil: self-service, no
	// restrictions).
	WebAuthn    *webauthn.RP
	Fido2Policy func(ctx context.Context, tenantID string) (webauthn.Policy, error)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Error codes of refused codes, for callers that branch on them (the
// sign-in log, lockout).
const (
	CodeInvalid  = "invalidCode"       // wrong, whatever the reason
	CodeReplayed = "codeAlreadyUsed"   // right, but already used once
	CodeFormat   = "invalidCodeFormat" // not a code at all
)

func errInvalidCode() error {
	return apperr.Invalidf("The code is not correct. Check it and try again.").WithCode(CodeInvalid)
}

func errReplayed() error {
	return apperr.Invalidf("This code has already been used. Wait for the next code.").WithCode(CodeReplayed)
}

// IsCode reports whether err is a refused code with the given code.
func IsCode(err error, code string) bool {
	ae, ok := apperr.As(err)
	return ok && ae.Code == code
}

// ThrottledError says how long to wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("Too many attempts. Try again in %d s.", int(e.RetryAfter.Seconds()+0.999))
}

// throttled wraps a ThrottledError in a safe 429 error.
func throttled(wait time.Duration) error {
	te := &ThrottledError{RetryAfter: wait}
	return &apperr.Error{Kind: apperr.RateLimited, Code: "activityLimitReached", Message: te.Error(), Err: te}
}

// RetryAfter reports the wait of a throttling error.
func RetryAfter(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	return 0, false
}

func (s *Service) user(ctx context.Context, tenantID, userID string) (store.User, error) {
	u, err := s.Store.GetUser(ctx, tenantID, userID)
	return u, apperr.FromStore(err, "The user")
}

// aad binds a sealed secret to its tenant and method, so a sealed value
// copied to another row does not open.
func aad(tenantID, methodID string) []byte { return []byte("method:" + tenantID + ":" + methodID) }

// registered turns the user's active methods into the pure view of
// internal/method. Assigned hardware tokens count toward the limit of five
// only once activated, where the limit is checked.
func registered(ms []store.Method, now time.Time) []method.Registered {
	out := make([]method.Registered, 0, len(ms))
	for _, m := range ms {
		if m.State != store.MethodActive {
			continue
		}
		out = append(out, toRegistered(m, now))
	}
	return out
}

// Registered is the pure view of a stored method that internal/method and
// the sign-in decision work with.
func Registered(m store.Method, now time.Time) method.Registered { return toRegistered(m, now) }

func toRegistered(m store.Method, now time.Time) method.Registered {
	r := method.Registered{ID: m.ID, Kind: method.Kind(m.Kind), PhoneType: m.Props.PhoneType, IsDefault: m.IsDefault, Usable: m.State == store.MethodActive}
	switch method.Kind(m.Kind) {
	case method.KindAuthenticator:
		r.PushCapable = m.Props.DeviceTag != ""
		r.TOTPCapable = m.Secret != ""
	case method.KindTAP:
		r.Usable = r.Usable && tapReason(m, now) == ReasonEnabled
	}
	return r
}

// audited writes e for the change made in tx.
func (s *Service) audited(ctx context.Context, tx store.Store, actor directory.Actor, tenantID string, e audit.Entry) error {
	if e.Service == "" {
		e.Service = audit.AuthenticationMethods
	}
	if e.Category == "" {
		e.Category = "UserManagement"
	}
	return tx.AppendAudit(ctx, audit.New(ctx, actor, tenantID, s.now(), e))
}

func newID() string { return uuid.NewString() }

// addActive stores a new active method under the user's lock: the
// five-authenticator limit and the default-method rules (P-2.1, P-2.2)
// are checked against what is stored at that moment.
func (s *Service) addActive(ctx context.Context, tx store.Store, m store.Method, guided bool) (store.Method, error) {
	if err := tx.LockUser(ctx, m.TenantID, m.UserID); err != nil {
		return m, err
	}
	existing, err := tx.ListMethods(ctx, m.TenantID, m.UserID)
	if err != nil {
		return m, err
	}
	now := s.now()
	regs := registered(existing, now)
	if err := method.CheckAuthenticatorLimit(regs, method.Kind(m.Kind)); err != nil {
		var le *method.LimitError
		if errors.As(err, &le) {
			return m, &apperr.Error{Kind: apperr.Conflict, Code: "authenticatorLimitReached", Message: le.Message("en"), Err: err}
		}
		return m, err
	}
	m.State = store.MethodActive
	if err := tx.CreateMethod(ctx, m); err != nil {
		return m, apperr.FromStore(err, "A method of this kind for the user")
	}
	return m, s.applyDefault(ctx, tx, m, regs, guided)
}

// applyDefault sets the default after m joined the user's methods.
func (s *Service) applyDefault(ctx context.Context, tx store.Store, m store.Method, before []method.Registered, guided bool) error {
	cur := ""
	for _, r := range before {
		if r.IsDefault {
			cur = r.ID
		}
	}
	def := method.DefaultAfterAdd(before, toRegistered(m, s.now()), guided)
	if def == cur {
		return nil
	}
	return tx.SetDefaultMethod(ctx, m.TenantID, m.UserID, def)
}

// checkAllowed refuses a kind of method the policy does not allow the
// user (P-2.5): it is neither offered nor registered.
func (s *Service) checkAllowed(ctx context.Context, tenantID, userID string, k method.Kind) error {
	if s.Allowed == nil {
		return nil
	}
	allowed, err := s.Allowed(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	if !allowed[k] {
		return &apperr.Error{Kind: apperr.Forbidden, Code: "methodNotAllowed",
			Message: "Your organisation does not allow this verification method for you. Choose another method."}
	}
	return nil
}
