// Package authenticator runs vakt's own authenticator (P-2, push with
// number matching): one-time enrolment links, device registration with
// the device's public key (and, where the policy allows, a TOTP seed so
// the same app shows codes), push challenges bound to sign-ins, signed
// device requests and answers, and the notification of devices across
// nodes. The protocol itself is pure and lives in internal/method/push.
package authenticator

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Config holds the tunables.
type Config struct {
	// LinkTTL bounds an enrolment link.
	LinkTTL time.Duration
	// ChallengeTTL is how long a push waits for an answer (60 s by
	// default, never more than 10 minutes).
	ChallengeTTL time.Duration
	// PushesPerHour limits the pushes sent to one user (push fatigue).
	PushesPerHour int
}

// DefaultConfig is what vakt ships with.
func DefaultConfig() Config {
	return Config{LinkTTL: 10 * time.Minute, ChallengeTTL: push.DefaultTTL, PushesPerHour: 10}
}

// Features are the methods-policy settings that shape a user's pushes.
type Features struct {
	// SoftwareOath: the app also receives a TOTP seed
	// (MicrosoftAuthenticator.isSoftwareOathEnabled).
	SoftwareOath bool
	// ShowApp, ShowLocation: the device is shown the app signing in and
	// where from (featureSettings).
	ShowApp, ShowLocation bool
}

// Service is the authenticator.
type Service struct {
	Store   store.Store
	Methods *securityinfo.Service
	// Features reads the policy for one user; nil means everything on.
	Features func(ctx context.Context, tenantID, userID string) (Features, error)
	// Locate gives a coarse location (a country) of an address; nil or ""
	// means unknown.
	Locate    func(netip.Addr) string
	PublicURL string
	Config    Config
	Now       func() time.Time
	Rand      io.Reader
	Log       *slog.Logger
	hub       hub
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) features(ctx context.Context, tenantID, userID string) (Features, error) {
	if s.Features == nil {
		return Features{SoftwareOath: true, ShowApp: true, ShowLocation: true}, nil
	}
	return s.Features(ctx, tenantID, userID)
}

// Purposes of a challenge.
const (
	PurposeSignIn = "signin"
	PurposeTest   = "test"
)

// RiskUserReported is the risk event of a push reported as "this wasn't
// me".
const RiskUserReported = "userReportedSuspiciousActivity"

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func (s *Service) token() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand(), b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ---- enrolment ----

// Link is an enrolment link: the URL the companion app is given (as a QR
// code or text). The token is after '#', so a browser that opens the
// link never sends it anywhere.
type Link struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	QRPNG     []byte    `json:"qrCodePng"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// EnrolPath is where devices enrol, under /{tenant}/.
const EnrolPath = "api/authenticator/enroll"

// BeginEnrolment issues a one-time enrolment link for the user (from the
// sign-in registration interrupt, flowID set, or another caller).
func (s *Service) BeginEnrolment(ctx context.Context, tenantID, userID, flowID string) (Link, error) {
	if _, err := s.Store.GetUser(ctx, tenantID, userID); err != nil {
		return Link{}, apperr.FromStore(err, "The user")
	}
	if err := s.Methods.CheckAllowed(ctx, tenantID, userID, method.KindAuthenticator); err != nil {
		return Link{}, err
	}
	if err := s.Methods.CheckLimit(ctx, tenantID, userID, method.KindAuthenticator); err != nil {
		return Link{}, err
	}
	tok, err := s.token()
	if err != nil {
		return Link{}, err
	}
	now := s.now()
	e := store.PushEnrolment{ID: uuid.NewString(), TenantID: tenantID, UserID: userID, TokenHash: hashToken(tok), FlowID: flowID,
		CreatedAt: now, ExpiresAt: now.Add(s.Config.LinkTTL)}
	if err := s.Store.CreatePushEnrolment(ctx, e); err != nil {
		return Link{}, err
	}
	l := Link{ID: e.ID, URL: strings.TrimRight(s.PublicURL, "/") + "/" + tenantID + "/" + EnrolPath + "#" + tok, ExpiresAt: e.ExpiresAt}
	if l.QRPNG, err = totp.QRPNG(l.URL, 256); err != nil {
		return Link{}, err
	}
	return l, nil
}

// Enrolment reads an enrolment link's record.
func (s *Service) Enrolment(ctx context.Context, tenantID, id string) (store.PushEnrolment, error) {
	return s.Store.GetPushEnrolment(ctx, tenantID, id)
}

// EnrollRequest is what a device posts to register.
type EnrollRequest struct {
	Token       string `json:"token"`
	PublicKey   string `json:"publicKey"`
	DisplayName string `json:"displayName"`
	Platform    string `json:"platform"`
	AppVersion  string `json:"appVersion"`
}

// EnrollResponse tells the device who it now belongs to.
type EnrollResponse struct {
	DeviceID          string    `json:"deviceId"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	TOTP              *TOTPSeed `json:"totp,omitempty"`
	// TestChallengeID is the test push the user must approve before the
	// device is saved (P-2.3).
	TestChallengeID string `json:"testChallengeId"`
}

// TOTPSeed lets the app show codes too.
type TOTPSeed struct {
	Secret    string `json:"secret"` // Base32
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period"`
	Issuer    string `json:"issuer"`
}

func errLink() error {
	return apperr.NotFoundf("The enrolment link is not valid: it was already used or has expired. Start the registration again.").WithCode("enrolmentLinkInvalid")
}

// text checks a device-supplied label.
func text(s, field string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && !required {
		return s, nil
	}
	if s == "" || len(s) > max || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", apperr.Invalidf("%s must be 1 to %d printable characters.", field, max).WithTarget(field).WithCode("invalidRequest")
	}
	return s, nil
}

// Enroll registers a device with a link's token: a pending method (with
// a sealed TOTP seed where the policy allows it), the device key and a
// test push, all in one transaction with the link's use — a refused
// enrolment leaves the link usable and nothing behind.
func (s *Service) Enroll(ctx context.Context, tenantID string, in EnrollRequest, ip netip.Addr) (EnrollResponse, error) {
	var out EnrollResponse
	if !push.Token(in.Token, 64) {
		return out, errLink()
	}
	if _, err := push.ParsePublicKey(in.PublicKey); err != nil {
		return out, apperr.Invalidf("%s", err.Error()).WithTarget("publicKey").WithCode("invalidPublicKey")
	}
	name, err := text(in.DisplayName, "displayName", 64, true)
	if err != nil {
		return out, err
	}
	platform, err := text(in.Platform, "platform", 32, false)
	if err != nil {
		return out, err
	}
	version, err := text(in.AppVersion, "appVersion", 32, false)
	if err != nil {
		return out, err
	}
	now := s.now()
	var created store.PushChallenge
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		link, err := tx.UsePushEnrolment(ctx, tenantID, hashToken(in.Token), now)
		if errors.Is(err, store.ErrNotFound) {
			return errLink()
		}
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, link.UserID)
		if err != nil {
			return errLink()
		}
		if err := s.Methods.CheckAllowed(ctx, tenantID, u.ID, method.KindAuthenticator); err != nil {
			return err
		}
		if err := s.Methods.CheckLimit(ctx, tenantID, u.ID, method.KindAuthenticator); err != nil {
			return err
		}
		f, err := s.features(ctx, tenantID, u.ID)
		if err != nil {
			return err
		}
		exp := now.Add(s.Config.LinkTTL + push.MaxTTL)
		m := store.Method{ID: uuid.NewString(), TenantID: tenantID, UserID: u.ID, Kind: string(method.KindAuthenticator),
			State: store.MethodPending, DisplayName: name, CreatedAt: now, ExpiresAt: &exp,
			Props: store.MethodProps{DeviceTag: "SoftwareTokenActivated", AppVersion: version, Platform: platform}}
		if f.SoftwareOath {
			seed, err := totp.NewSecret()
			if err != nil {
				return err
			}
			p := totp.AppParams()
			m.Props.Algorithm, m.Props.Digits, m.Props.Period = p.Algorithm, p.Digits, p.Period
			if m.Secret, err = s.Methods.SealSecret(tenantID, m.ID, seed); err != nil {
				return err
			}
			out.TOTP = &TOTPSeed{Secret: totp.EncodeSecret(seed), Algorithm: p.Algorithm, Digits: p.Digits, Period: p.Period, Issuer: s.Methods.Config.Issuer}
		}
		if err := tx.CreateMethod(ctx, m); err != nil {
			return err
		}
		dev := store.PushDevice{ID: uuid.NewString(), TenantID: tenantID, UserID: u.ID, MethodID: m.ID, PublicKey: in.PublicKey, CreatedAt: now}
		if err := tx.CreatePushDevice(ctx, dev); err != nil {
			return err
		}
		if created, err = s.newChallenge(ctx, tx, u, PurposeTest, link.ID, m.ID, "vakt authenticator setup", "", ip, f, false); err != nil {
			return err
		}
		if err := tx.SetPushEnrolmentResult(ctx, tenantID, link.ID, m.ID, dev.ID, created.ID); err != nil {
			return err
		}
		out = EnrollResponse{DeviceID: dev.ID, TenantID: tenantID, UserPrincipalName: u.UPN, TOTP: out.TOTP, TestChallengeID: created.ID}
		return nil
	})
	if err != nil {
		return EnrollResponse{}, err
	}
	s.notify(ctx, userTopic(tenantID, created.UserID))
	return out, nil
}

// ---- challenges ----

func errOutstanding() error {
	return apperr.Conflictf("A notification is already waiting on your authenticator app. Answer it or wait until it expires.").WithCode("pushOutstanding")
}

// newChallenge stores a pending challenge with a fresh number and nonce.
// A challenge without number matching (noNumber) has number 0.
func (s *Service) newChallenge(ctx context.Context, tx store.Store, u store.User, purpose, flowID, methodID, app, correlation string, ip netip.Addr, f Features, noNumber bool) (store.PushChallenge, error) {
	n := push.NoNumber
	var err error
	if !noNumber {
		if n, err = push.NewNumber(s.rand()); err != nil {
			return store.PushChallenge{}, err
		}
	}
	nonce, err := push.NewNonce(s.rand())
	if err != nil {
		return store.PushChallenge{}, err
	}
	now := s.now()
	c := store.PushChallenge{ID: uuid.NewString(), TenantID: u.TenantID, UserID: u.ID, Purpose: purpose, FlowID: flowID, MethodID: methodID,
		Nonce: nonce, Number: n, CorrelationID: correlation, Status: string(push.Pending), CreatedAt: now, ExpiresAt: now.Add(push.ClampTTL(s.Config.ChallengeTTL))}
	if f.ShowApp {
		c.AppName = app
	}
	if f.ShowLocation && ip.IsValid() {
		c.IPAddress = ip.String()
		if s.Locate != nil {
			c.Location = s.Locate(ip)
		}
	}
	if err := tx.CreatePushChallenge(ctx, c, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return c, errOutstanding()
		}
		return c, err
	}
	return c, nil
}

// SendInput describes the sign-in a push is for.
type SendInput struct {
	FlowID        string
	AppName       string
	IP            netip.Addr
	CorrelationID string // the sign-in's, kept with a report
	// NoNumber sends the push without number matching: approve or deny
	// only, for a sign-in that has no page to show a number on (RADIUS).
	NoNumber bool
}

// Send pushes a sign-in challenge to the user's devices: at most one
// waits at a time and at most PushesPerHour go out per user.
func (s *Service) Send(ctx context.Context, tenantID, userID string, in SendInput) (store.PushChallenge, error) {
	u, err := s.Store.GetUser(ctx, tenantID, userID)
	if err != nil {
		return store.PushChallenge{}, apperr.FromStore(err, "The user")
	}
	key := "push-sent:" + userID
	n, reset, err := s.Store.Count(ctx, tenantID, key, time.Hour, s.now())
	if err != nil {
		return store.PushChallenge{}, err
	}
	if s.Config.PushesPerHour > 0 && n >= s.Config.PushesPerHour {
		wait := reset.Sub(s.now())
		te := &securityinfo.ThrottledError{RetryAfter: wait}
		return store.PushChallenge{}, &apperr.Error{Kind: apperr.RateLimited, Code: "pushLimitReached",
			Message: fmt.Sprintf("Too many notifications were sent to your app. Try again in %d minutes or use another method.", int(wait.Minutes()+0.999)), Err: te}
	}
	f, err := s.features(ctx, tenantID, userID)
	if err != nil {
		return store.PushChallenge{}, err
	}
	app := in.AppName
	if app == "" {
		app = "vakt sign-in"
	}
	c, err := s.newChallenge(ctx, s.Store, u, PurposeSignIn, in.FlowID, "", app, in.CorrelationID, in.IP, f, in.NoNumber)
	if err != nil {
		return c, err
	}
	if _, _, err := s.Store.Hit(ctx, tenantID, key, time.Hour, s.now(), 1); err != nil {
		return c, err
	}
	s.notify(ctx, userTopic(tenantID, userID))
	return c, nil
}

// Challenge reads a challenge with its current status: one past its
// expiry is recorded as expired here.
func (s *Service) Challenge(ctx context.Context, tenantID, id string) (store.PushChallenge, error) {
	c, err := s.Store.GetPushChallenge(ctx, tenantID, id)
	if err != nil {
		return c, err
	}
	now := s.now()
	if cur := push.Current(push.Status(c.Status), c.ExpiresAt, now); cur != push.Status(c.Status) {
		if _, err := s.Store.FinishPushChallenge(ctx, tenantID, id, string(cur), "", now); err != nil {
			return c, err
		}
		if c.Purpose == PurposeTest {
			// The device was never confirmed: remove it with its method.
			if m, err := s.Store.GetMethod(ctx, tenantID, c.MethodID); err == nil && m.State == store.MethodPending {
				if err := s.Store.DeleteMethod(ctx, tenantID, m.ID); err != nil {
					return c, err
				}
			}
		}
		return s.Store.GetPushChallenge(ctx, tenantID, id)
	}
	return c, nil
}

// Wait returns when the challenge may have changed, after d, or when ctx
// ends, whichever is first (sign-in pages and RADIUS long-poll with it).
// It listens before it looks, so an answer that lands between the
// caller's read and this call is not missed: it returns at once when the
// challenge is no longer pending.
func (s *Service) Wait(ctx context.Context, tenantID, challengeID string, d time.Duration) {
	ch, cancel := s.hub.subscribe(challengeTopic(tenantID, challengeID))
	defer cancel()
	if c, err := s.Store.GetPushChallenge(ctx, tenantID, challengeID); err != nil || push.Current(push.Status(c.Status), c.ExpiresAt, s.now()).Final() {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Expire ends a pending sign-in challenge nobody will wait for any more
// (a RADIUS request held until its timeout): it leaves the devices' lists
// at once rather than at its own expiry. One already answered stays as
// it is.
func (s *Service) Expire(ctx context.Context, tenantID, challengeID string) error {
	c, err := s.Store.GetPushChallenge(ctx, tenantID, challengeID)
	if err != nil {
		return err
	}
	if c.Purpose != PurposeSignIn {
		return fmt.Errorf("authenticator: challenge %s is not a sign-in's", challengeID)
	}
	ok, err := s.Store.FinishPushChallenge(ctx, tenantID, challengeID, string(push.Expired), "", s.now())
	if err != nil || !ok {
		return err
	}
	s.notify(ctx, challengeTopic(tenantID, challengeID))
	s.notify(ctx, userTopic(tenantID, c.UserID))
	return nil
}

// ---- devices ----

// Device is an authenticated device.
type Device struct {
	store.PushDevice
	key *ecdsa.PublicKey
}

func errDevice() error {
	return apperr.Unauthenticatedf("The device is not registered or its signature is not valid.").WithCode("deviceUnauthorized")
}

// Authenticate checks a device request's signature: a known device whose
// method still exists, a timestamp within a minute, a nonce never seen,
// and a signature over method, path, timestamp, nonce and body.
func (s *Service) Authenticate(ctx context.Context, tenantID, header, httpMethod, path string, body []byte) (Device, error) {
	a, err := push.ParseAuth(header)
	if err != nil {
		return Device{}, apperr.Unauthenticatedf("%s", err.Error()).WithCode("deviceUnauthorized")
	}
	now := s.now()
	if err := push.CheckTime(a.Timestamp, now); err != nil {
		return Device{}, apperr.Unauthenticatedf("%s", err.Error()).WithCode("staleRequest")
	}
	d, err := s.Store.GetPushDevice(ctx, tenantID, a.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return Device{}, errDevice()
	}
	if err != nil {
		return Device{}, err
	}
	k, err := push.ParsePublicKey(d.PublicKey)
	if err != nil {
		return Device{}, fmt.Errorf("stored key of device %s: %w", d.ID, err)
	}
	if !push.Verify(k, push.RequestBytes(httpMethod, path, a.Timestamp, a.Nonce, body), a.Signature) {
		return Device{}, errDevice()
	}
	fresh, err := s.Store.UsePushNonce(ctx, tenantID, d.ID, a.Nonce, time.Unix(a.Timestamp, 0).Add(2*push.MaxSkew))
	if err != nil {
		return Device{}, err
	}
	if !fresh {
		return Device{}, apperr.Unauthenticatedf("This request was already received; a device request cannot be replayed.").WithCode("replayedRequest")
	}
	return Device{PushDevice: d, key: k}, nil
}

// StillValid reports whether the device is still registered (a long
// stream checks it now and then: deleting a device ends its stream).
func (s *Service) StillValid(ctx context.Context, d Device) bool {
	_, err := s.Store.GetPushDevice(ctx, d.TenantID, d.ID)
	return err == nil
}

// Pending lists what the device should show now.
func (s *Service) Pending(ctx context.Context, d Device) ([]push.Challenge, error) {
	cs, err := s.Store.PendingPushChallenges(ctx, d.TenantID, d.UserID, s.now())
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, nil
	}
	u, err := s.Store.GetUser(ctx, d.TenantID, d.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]push.Challenge, 0, len(cs))
	for _, c := range cs {
		out = append(out, push.Challenge{ID: c.ID, Nonce: c.Nonce, Purpose: c.Purpose, User: u.UPN, NumberMatching: c.Number != push.NoNumber,
			App: c.AppName, Location: c.Location, IP: c.IPAddress, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt})
	}
	return out, nil
}

// Answer applies a device's signed answer. Each challenge takes one
// answer; a wrong number ends it as wrongNumber; "this wasn't me" also
// records a risk detection. A test push approved activates the device's
// method; any other outcome of a test push removes the pending method.
func (s *Service) Answer(ctx context.Context, d Device, a push.AnswerRequest, ip netip.Addr) (push.Status, error) {
	c, err := s.Store.GetPushChallenge(ctx, d.TenantID, a.ChallengeID)
	if err != nil || c.UserID != d.UserID {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		return "", apperr.NotFoundf("No such request for this device.").WithCode("challengeNotFound")
	}
	if !push.Verify(d.key, push.AnswerBytes(c.ID, c.Nonce, a.Number, a.Decision), a.Signature) {
		return "", apperr.Unauthenticatedf("The answer's signature is not valid for this request.").WithCode("invalidAnswerSignature")
	}
	now := s.now()
	status, err := push.Answer(push.Status(c.Status), c.ExpiresAt, now, c.Number, a.Decision, a.Number)
	if errors.Is(err, push.ErrAnswered) {
		return status, apperr.Conflictf("This request was already answered or has expired.").WithCode("challengeAnswered")
	}
	if err != nil {
		return status, apperr.Invalidf("%s", err.Error()).WithCode("invalidAnswer")
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		ok, err := tx.FinishPushChallenge(ctx, d.TenantID, c.ID, string(status), d.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Conflictf("This request was already answered or has expired.").WithCode("challengeAnswered")
		}
		if status == push.Reported {
			if err := tx.AddRiskDetection(ctx, store.RiskDetection{ID: uuid.NewString(), TenantID: d.TenantID, UserID: d.UserID,
				EventType: RiskUserReported, Source: "authenticatorPush", IPAddress: c.IPAddress, CorrelationID: c.CorrelationID, DetectedAt: now}); err != nil {
				return err
			}
		}
		if c.Purpose != PurposeTest {
			return nil
		}
		if status != push.Approved {
			return tx.DeleteMethod(ctx, d.TenantID, c.MethodID)
		}
		u, err := tx.GetUser(ctx, d.TenantID, d.UserID)
		if err != nil {
			return err
		}
		self := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: addr(ip)}
		_, err = s.Methods.ActivatePending(ctx, tx, self, d.TenantID, d.UserID, c.MethodID, true)
		return err
	})
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == "authenticatorLimitReached" {
			// The device cannot be saved: end the test push so it does not
			// linger, and say why.
			_, _ = s.Store.FinishPushChallenge(ctx, d.TenantID, c.ID, string(push.Denied), d.ID, now)
			_ = s.Store.DeleteMethod(ctx, d.TenantID, c.MethodID)
			s.notify(ctx, challengeTopic(d.TenantID, c.ID))
		}
		return "", err
	}
	s.notify(ctx, challengeTopic(d.TenantID, c.ID))
	return status, nil
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
