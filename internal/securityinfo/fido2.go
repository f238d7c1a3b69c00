package securityinfo

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/store"
)

// Security keys and passkeys (FIDO2). A registration is kept between its
// two steps as a pending method whose Secret is the sealed ceremony
// (challenge included); finishing deletes that row first, so a ceremony is
// good once whatever the outcome, and the janitor removes abandoned ones.
// A registered key is an active method of kind fido2 whose unique key is
// its credential id and whose LastStep is its sign counter.

// MaxPendingFido2 bounds the registrations a user may have open at once.
const MaxPendingFido2 = 5

// Fido2Enrolment is a started registration: the id that finishes it and
// the options for navigator.credentials.create.
type Fido2Enrolment struct {
	ID      string          `json:"registrationId"`
	Options json.RawMessage `json:"options"`
}

func errFido2Unavailable() error {
	return apperr.NotFoundf("Security keys and passkeys are not available on this server: its public URL must use a host name over https.").WithCode("fido2Unavailable")
}

func errFido2Gone() error {
	return apperr.NotFoundf("The registration does not exist or has expired; start again.").WithCode("registrationNotFound")
}

// KeyError turns a refused ceremony into the error a user sees: the
// policy's refusals are 403, everything else 400; the code names the
// reason and the refusal stays the cause, for the log.
func KeyError(err error) error {
	r, ok := webauthn.AsRefusal(err)
	if !ok {
		return err
	}
	kind := apperr.Invalid
	switch r.Reason {
	case webauthn.ReasonAAGUIDBlocked, webauthn.ReasonAAGUIDNotAllowed, webauthn.ReasonAttestationRequired:
		kind = apperr.Forbidden
	}
	return &apperr.Error{Kind: kind, Code: r.Reason, Message: r.Message, Err: r}
}

func (s *Service) fido2Policy(ctx context.Context, tenantID string) (webauthn.Policy, error) {
	if s.Fido2Policy == nil {
		return webauthn.Policy{SelfService: true}, nil
	}
	return s.Fido2Policy(ctx, tenantID)
}

// keyUser is the WebAuthn view of a user and their active keys.
func (s *Service) keyUser(ctx context.Context, tenantID string, u store.User) (webauthn.User, error) {
	ms, err := s.Store.ListMethods(ctx, tenantID, u.ID)
	if err != nil {
		return webauthn.User{}, err
	}
	wu := webauthn.User{Handle: []byte(u.ID), Name: u.UPN, DisplayName: u.DisplayName}
	for _, m := range ms {
		if m.Kind == string(method.KindFido2) && m.State == store.MethodActive && m.Props.Fido2 != nil {
			wu.Credentials = append(wu.Credentials, webauthn.Stored{MethodID: m.ID, Props: *m.Props.Fido2, Counter: uint32(m.LastStep)})
		}
	}
	return wu, nil
}

// keyUserByID reads the user and their keys.
func (s *Service) keyUserByID(ctx context.Context, tenantID, userID string) (store.User, webauthn.User, error) {
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return u, webauthn.User{}, err
	}
	wu, err := s.keyUser(ctx, tenantID, u)
	return u, wu, err
}

// BeginFido2 starts registering a passkey (passkey true: discoverable, for
// sign-in without a user name) or a security key for the user, who does
// it themselves: the methods policy must allow FIDO2 for them and the
// FIDO2 configuration must allow self-service registration.
func (s *Service) BeginFido2(ctx context.Context, tenantID, userID string, passkey bool) (Fido2Enrolment, error) {
	if s.WebAuthn == nil {
		return Fido2Enrolment{}, errFido2Unavailable()
	}
	if err := s.canRegisterFido2(ctx, tenantID, userID); err != nil {
		return Fido2Enrolment{}, err
	}
	ms, err := s.Store.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return Fido2Enrolment{}, err
	}
	open := 0
	for _, m := range ms {
		if m.Kind == string(method.KindFido2) && m.State == store.MethodPending && m.ExpiresAt != nil && m.ExpiresAt.After(s.now()) {
			open++
		}
	}
	if open >= MaxPendingFido2 {
		return Fido2Enrolment{}, &apperr.Error{Kind: apperr.RateLimited, Code: "tooManyRegistrations",
			Message: "Too many security key registrations are in progress. Finish one or wait a few minutes.",
			Err:     &ThrottledError{RetryAfter: webauthn.CeremonyTTL}}
	}
	_, wu, err := s.keyUserByID(ctx, tenantID, userID)
	if err != nil {
		return Fido2Enrolment{}, err
	}
	c, err := s.WebAuthn.BeginRegistration(wu, passkey, s.now())
	if err != nil {
		return Fido2Enrolment{}, err
	}
	m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindFido2), State: store.MethodPending,
		CreatedAt: s.now(), ExpiresAt: &c.Expires}
	raw, err := json.Marshal(c)
	if err != nil {
		return Fido2Enrolment{}, err
	}
	if m.Secret, err = s.Keys.Seal(raw, aad(tenantID, m.ID)); err != nil {
		return Fido2Enrolment{}, err
	}
	if err := s.Store.CreateMethod(ctx, m); err != nil {
		return Fido2Enrolment{}, err
	}
	return Fido2Enrolment{ID: m.ID, Options: c.Options}, nil
}

func (s *Service) canRegisterFido2(ctx context.Context, tenantID, userID string) error {
	if err := s.checkAllowed(ctx, tenantID, userID, method.KindFido2); err != nil {
		return err
	}
	pol, err := s.fido2Policy(ctx, tenantID)
	if err != nil {
		return err
	}
	if !pol.SelfService {
		return &apperr.Error{Kind: apperr.Forbidden, Code: "selfServiceRegistrationDisabled",
			Message: "Your organisation does not let you register security keys or passkeys yourself. Contact your administrator."}
	}
	return nil
}

// FinishFido2 verifies the browser's answer to a started registration and
// stores the key, audited. A key the FIDO2 configuration refuses (its
// AAGUID, or no attestation where attestation is enforced) is not stored.
func (s *Service) FinishFido2(ctx context.Context, actor directory.Actor, tenantID, userID, enrolmentID, displayName string, response []byte) (store.Method, error) {
	if s.WebAuthn == nil {
		return store.Method{}, errFido2Unavailable()
	}
	name, err := keyName(displayName)
	if err != nil {
		return store.Method{}, err
	}
	if len(enrolmentID) > 64 {
		return store.Method{}, errFido2Gone()
	}
	pending, err := s.Store.GetMethod(ctx, tenantID, enrolmentID)
	if err != nil || pending.UserID != userID || pending.State != store.MethodPending || pending.Kind != string(method.KindFido2) {
		return store.Method{}, errFido2Gone()
	}
	// Used once: whoever deletes the row owns the ceremony.
	if err := s.Store.DeleteMethod(ctx, tenantID, pending.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Method{}, errFido2Gone()
		}
		return store.Method{}, err
	}
	raw, err := s.Keys.Open(pending.Secret, aad(tenantID, pending.ID))
	if err != nil {
		return store.Method{}, err
	}
	var c webauthn.Ceremony
	if err := json.Unmarshal(raw, &c); err != nil {
		return store.Method{}, err
	}
	if err := s.canRegisterFido2(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	pol, err := s.fido2Policy(ctx, tenantID)
	if err != nil {
		return store.Method{}, err
	}
	u, wu, err := s.keyUserByID(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	reg, err := s.WebAuthn.FinishRegistration(wu, c, response, s.now())
	if err == nil {
		err = pol.CheckRegistration(reg.Props.AAGUID, reg.Props.AttestationLevel)
	}
	if err != nil {
		s.logRefusal(ctx, "security key registration refused", tenantID, userID, err)
		return store.Method{}, KeyError(err)
	}
	if name == "" {
		name = "Security key"
		if c.Passkey {
			name = "Passkey"
		}
	}
	props := reg.Props
	m := store.Method{ID: pending.ID, TenantID: tenantID, UserID: userID, Kind: string(method.KindFido2), DisplayName: name,
		Props: store.MethodProps{Fido2: &props}, UniqueKey: webauthn.UniqueKey(reg.CredentialID), LastStep: int64(reg.Counter), CreatedAt: s.now()}
	var out store.Method
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		var err error
		if out, err = s.addActive(ctx, tx, m, false); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "User registered security info", Operation: "Add",
			Details: map[string]string{"aaGuid": props.AAGUID, "attestationLevel": props.AttestationLevel},
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("Fido2", nil, name))}})
	})
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Kind == apperr.Conflict && ae.Code != "authenticatorLimitReached" {
			return store.Method{}, apperr.Conflictf("This security key or passkey is already registered.").WithCode("keyAlreadyRegistered")
		}
		return store.Method{}, err
	}
	s.Log.InfoContext(ctx, "security key registered", "tenant", tenantID, "user", userID, "method", out.ID,
		"aaguid", props.AAGUID, "attestation", props.AttestationFormat, "attestationLevel", props.AttestationLevel,
		"passkey", props.Discoverable, "backupEligible", props.BackupEligible)
	return out, nil
}

// keyName checks a user-chosen name for a key ("" lets vakt choose).
func keyName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 64 || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", apperr.Invalidf("The name must be at most 64 printable characters.").WithTarget("displayName")
	}
	return s, nil
}

// BeginFido2Assertion starts a sign-in with a key: for userID's keys (a
// second factor), or, with userID empty, with any passkey (sign-in
// without a user name). The caller keeps the ceremony and uses it once.
func (s *Service) BeginFido2Assertion(ctx context.Context, tenantID, userID string) (webauthn.Ceremony, error) {
	if s.WebAuthn == nil {
		return webauthn.Ceremony{}, errFido2Unavailable()
	}
	if userID == "" {
		return s.WebAuthn.BeginLogin(nil, s.now())
	}
	_, wu, err := s.keyUserByID(ctx, tenantID, userID)
	if err != nil {
		return webauthn.Ceremony{}, err
	}
	if len(wu.Credentials) == 0 {
		return webauthn.Ceremony{}, apperr.Invalidf("No security key or passkey is registered.").WithCode("noKeyRegistered")
	}
	return s.WebAuthn.BeginLogin(&wu, s.now())
}

// VerifyFido2 checks an answer to a ceremony from BeginFido2Assertion,
// already taken out of storage. With userID empty the key names the user
// (a passkey's user handle), within the tenant. It refuses a key whose
// AAGUID the FIDO2 configuration now excludes, a sign counter that did not
// move forward, and keys of users the methods policy no longer lets use
// FIDO2. It returns the key's method (its UserID is the user).
func (s *Service) VerifyFido2(ctx context.Context, tenantID, userID string, c webauthn.Ceremony, response []byte) (store.Method, error) {
	if s.WebAuthn == nil {
		return store.Method{}, errFido2Unavailable()
	}
	var known *webauthn.User
	if userID != "" {
		_, wu, err := s.keyUserByID(ctx, tenantID, userID)
		if err != nil {
			return store.Method{}, err
		}
		known = &wu
	}
	find := func(_, handle []byte) (webauthn.User, error) {
		id := string(handle)
		if len(id) > 64 || !utf8.ValidString(id) {
			return webauthn.User{}, unknownKey()
		}
		u, err := s.Store.GetUser(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			return webauthn.User{}, unknownKey()
		}
		if err != nil {
			return webauthn.User{}, err
		}
		return s.keyUser(ctx, tenantID, u)
	}
	wu, a, err := s.WebAuthn.FinishLogin(c, response, known, find, s.now())
	if err != nil {
		if _, ok := webauthn.AsRefusal(err); ok {
			s.logRefusal(ctx, "security key sign-in refused", tenantID, string(wu.Handle), err)
			return store.Method{}, KeyError(err)
		}
		return store.Method{}, err
	}
	uid := string(wu.Handle)
	m, err := s.Store.GetMethod(ctx, tenantID, a.MethodID)
	if err != nil {
		return store.Method{}, err
	}
	if err := s.checkAllowed(ctx, tenantID, uid, method.KindFido2); err != nil {
		return store.Method{}, err
	}
	pol, err := s.fido2Policy(ctx, tenantID)
	if err != nil {
		return store.Method{}, err
	}
	if err := pol.CheckUse(m.Props.Fido2.AAGUID); err != nil {
		s.logRefusal(ctx, "security key sign-in refused", tenantID, uid, err)
		return store.Method{}, KeyError(err)
	}
	now := s.now()
	// The counter is a compare-and-set on the row, so two answers with
	// the same count cannot both pass; authenticators without a counter
	// (always zero) have nothing to compare.
	if a.Counter != 0 || m.LastStep != 0 {
		ok, err := s.Store.AdvanceStep(ctx, tenantID, m.ID, int64(a.Counter), now)
		if err != nil {
			return store.Method{}, err
		}
		if !ok {
			err := &webauthn.Refusal{Reason: webauthn.ReasonCounterRegressed, Detail: "another sign-in used this counter value first",
				Message: "Your security key or passkey could not be verified. Try again."}
			s.logRefusal(ctx, "security key sign-in refused", tenantID, uid, err)
			return store.Method{}, KeyError(err)
		}
	}
	return s.Store.UpdateMethod(ctx, tenantID, m.ID, func(x *store.Method) error {
		x.LastUsedAt = &now
		if x.Props.Fido2 != nil {
			x.Props.Fido2.BackupState = a.BackupState
		}
		return nil
	})
}

func unknownKey() error {
	return &webauthn.Refusal{Reason: webauthn.ReasonUnknownCredential, Detail: "the user handle names no user of this tenant",
		// The same words as for a known user without that key: the
		// answer must not tell which user ids exist.
		Message: "This security key or passkey is not registered for your account."}
}

// logRefusal writes the reason a ceremony was refused (never the
// challenge or the answer).
func (s *Service) logRefusal(ctx context.Context, msg, tenantID, userID string, err error) {
	if s.Log == nil {
		return
	}
	r, ok := webauthn.AsRefusal(err)
	if !ok {
		return
	}
	s.Log.WarnContext(ctx, msg, "tenant", tenantID, "user", userID, "reason", r.Reason, "detail", r.Detail)
}
