package securityinfo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/store"
)

// Enrolment is a started authenticator-app registration: what the user
// scans or types into the app. It is saved only once a code proves it.
type Enrolment struct {
	MethodID  string
	SecretKey string // Base32, for "can't scan the image?"
	URI       string // otpauth://…
	QRPNG     []byte
}

// BeginTOTP starts registering an authenticator app that shows codes.
func (s *Service) BeginTOTP(ctx context.Context, tenantID, userID, displayName string) (Enrolment, error) {
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.checkAllowed(ctx, tenantID, userID, method.KindSoftwareOath); err != nil {
		return Enrolment{}, err
	}
	ms, err := s.Store.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return Enrolment{}, err
	}
	// Refuse early so the user does not scan a code that cannot be saved.
	if err := method.CheckAuthenticatorLimit(registered(ms, s.now()), method.KindSoftwareOath); err != nil {
		var le *method.LimitError
		if errors.As(err, &le) {
			return Enrolment{}, &apperr.Error{Kind: apperr.Conflict, Code: "authenticatorLimitReached", Message: le.Message("en"), Err: err}
		}
		return Enrolment{}, err
	}
	secret, err := totp.NewSecret()
	if err != nil {
		return Enrolment{}, err
	}
	if displayName == "" {
		displayName = "Authenticator app"
	}
	if len(displayName) > 64 {
		return Enrolment{}, apperr.Invalidf("The name must be at most 64 characters.").WithTarget("displayName")
	}
	p := totp.AppParams()
	m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindSoftwareOath),
		State: store.MethodPending, DisplayName: displayName, CreatedAt: s.now(),
		Props: store.MethodProps{Algorithm: p.Algorithm, Digits: p.Digits, Period: p.Period}}
	exp := s.now().Add(s.Config.EnrolmentTTL)
	m.ExpiresAt = &exp
	if m.Secret, err = s.Keys.Seal(secret, aad(tenantID, m.ID)); err != nil {
		return Enrolment{}, err
	}
	if err := s.Store.CreateMethod(ctx, m); err != nil {
		return Enrolment{}, err
	}
	uri := totp.URI(s.Config.Issuer, u.UPN, secret, p)
	png, err := totp.QRPNG(uri, 256)
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{MethodID: m.ID, SecretKey: totp.EncodeSecret(secret), URI: uri, QRPNG: png}, nil
}

// FinishTOTP saves a started registration once the user proves a current
// code from the app (P-2.3). Set up through the guided flow, the app
// becomes the default method (P-2.2).
func (s *Service) FinishTOTP(ctx context.Context, actor directory.Actor, tenantID, userID, methodID, code string, guided bool) (store.Method, error) {
	m, err := s.Store.GetMethod(ctx, tenantID, methodID)
	if err != nil || m.UserID != userID || m.State != store.MethodPending || m.Kind != string(method.KindSoftwareOath) {
		return store.Method{}, apperr.NotFoundf("The registration does not exist or has expired; start again.")
	}
	if m.ExpiresAt != nil && !m.ExpiresAt.After(s.now()) {
		return store.Method{}, apperr.NotFoundf("The registration does not exist or has expired; start again.")
	}
	if err := s.checkAllowed(ctx, tenantID, userID, method.KindSoftwareOath); err != nil {
		return store.Method{}, err
	}
	if err := s.checkFailures(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	step, err := s.verifyTOTP(m, code)
	if err != nil {
		return store.Method{}, s.failed(ctx, tenantID, userID, err)
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	var out store.Method
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockUser(ctx, tenantID, userID); err != nil {
			return err
		}
		existing, err := tx.ListMethods(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		regs := registered(existing, s.now())
		if err := method.CheckAuthenticatorLimit(regs, method.KindSoftwareOath); err != nil {
			var le *method.LimitError
			if errors.As(err, &le) {
				return &apperr.Error{Kind: apperr.Conflict, Code: "authenticatorLimitReached", Message: le.Message("en"), Err: err}
			}
			return err
		}
		out, err = tx.UpdateMethod(ctx, tenantID, methodID, func(m *store.Method) error {
			if m.State != store.MethodPending {
				return apperr.Conflictf("The registration was already completed.")
			}
			m.State, m.ExpiresAt = store.MethodActive, nil
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := tx.AdvanceStep(ctx, tenantID, methodID, step, s.now()); err != nil {
			return err
		}
		if err := s.applyDefault(ctx, tx, out, regs, guided); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "User registered security info", Operation: "Add",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("SoftwareOath", nil, out.DisplayName))}})
	})
	return out, err
}

func totpParams(m store.Method) totp.Params {
	return totp.Params{Algorithm: m.Props.Algorithm, Digits: m.Props.Digits, Period: m.Props.Period}
}

// verifyTOTP checks a code against one method without recording it.
func (s *Service) verifyTOTP(m store.Method, code string) (int64, error) {
	secret, err := s.Keys.Open(m.Secret, aad(m.TenantID, m.ID))
	if err != nil {
		return 0, fmt.Errorf("open seed of method %s: %w", m.ID, err)
	}
	step, ok, err := totp.Verify(secret, strings.TrimSpace(code), s.now(), m.LastStep, s.Config.TOTPSkew, totpParams(m))
	var fe *totp.FormatError
	switch {
	case errors.As(err, &fe):
		return 0, apperr.Invalidf("%s", fe.Error()).WithCode(CodeFormat).WithCause(err)
	case errors.Is(err, totp.ErrReplay):
		return 0, errReplayed()
	case err != nil:
		return 0, err
	case !ok:
		return 0, errInvalidCode()
	}
	return step, nil
}

// totpKinds are the methods whose codes VerifyTOTP accepts.
func totpCapable(m store.Method) bool {
	if m.State != store.MethodActive || m.Secret == "" {
		return false
	}
	switch method.Kind(m.Kind) {
	case method.KindSoftwareOath, method.KindHardwareOath, method.KindAuthenticator:
		return true
	}
	return false
}

// VerifyTOTP checks a code from any of the user's code-showing methods
// (authenticator app, other app, hardware token) and records its step, so
// the same code is never accepted twice — not even by two nodes at once.
// It returns the method that matched.
func (s *Service) VerifyTOTP(ctx context.Context, tenantID, userID, code string) (store.Method, error) {
	if err := s.checkFailures(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	ms, err := s.Store.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	// A code can fail differently per method (a 6-digit code is malformed
	// for an 8-digit token): report "already used" if any method says so,
	// "malformed" only if every method does, else "not correct".
	capable, malformed, replayed := 0, 0, false
	var formatErr error
	for _, m := range ms {
		if !totpCapable(m) {
			continue
		}
		capable++
		step, err := s.verifyTOTP(m, code)
		switch {
		case IsCode(err, CodeReplayed):
			replayed = true
			continue
		case IsCode(err, CodeFormat):
			malformed++
			formatErr = err
			continue
		case IsCode(err, CodeInvalid):
			continue
		case err != nil:
			return store.Method{}, err
		}
		won, err := s.Store.AdvanceStep(ctx, tenantID, m.ID, step, s.now())
		if err != nil {
			return store.Method{}, err
		}
		if !won {
			return store.Method{}, s.failed(ctx, tenantID, userID, errReplayed())
		}
		return m, nil
	}
	switch {
	case replayed:
		return store.Method{}, s.failed(ctx, tenantID, userID, errReplayed())
	case capable > 0 && malformed == capable:
		return store.Method{}, s.failed(ctx, tenantID, userID, formatErr)
	}
	return store.Method{}, s.failed(ctx, tenantID, userID, errInvalidCode())
}

// checkFailures refuses code checks while the user is over the failure
// limit, whichever code or method the failures were on (P-2.6).
func (s *Service) checkFailures(ctx context.Context, tenantID, userID string) error {
	n, reset, err := s.Store.Count(ctx, tenantID, "code-failures:"+userID, s.Config.FailureWindow, s.now())
	if err != nil {
		return err
	}
	if n >= s.Config.FailureLimit {
		return throttled(reset.Sub(s.now()))
	}
	return nil
}

// failed counts a failed code check and returns cause.
func (s *Service) failed(ctx context.Context, tenantID, userID string, cause error) error {
	if _, _, err := s.Store.Hit(ctx, tenantID, "code-failures:"+userID, s.Config.FailureWindow, s.now(), 1); err != nil {
		return err
	}
	return cause
}
