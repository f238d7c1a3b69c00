package securityinfo

import (
	"context"
	"errors"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// These give the authenticator (internal/authenticator), which registers
// devices outside this package, the same rules as every other method.

// CheckAllowed refuses a kind the methods policy does not allow the user.
func (s *Service) CheckAllowed(ctx context.Context, tenantID, userID string, k method.Kind) error {
	return s.checkAllowed(ctx, tenantID, userID, k)
}

// CheckLimit refuses early, before a device is set up, when another
// method of kind k would exceed the limit of five (P-2.1).
func (s *Service) CheckLimit(ctx context.Context, tenantID, userID string, k method.Kind) error {
	ms, err := s.Store.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	return limitError(method.CheckAuthenticatorLimit(registered(ms, s.now()), k))
}

func limitError(err error) error {
	var le *method.LimitError
	if errors.As(err, &le) {
		return &apperr.Error{Kind: apperr.Conflict, Code: "authenticatorLimitReached", Message: le.Message("en"), Err: err}
	}
	return err
}

// SealSecret seals a method's secret (a TOTP seed) bound to the method.
func (s *Service) SealSecret(tenantID, methodID string, secret []byte) (string, error) {
	return s.Keys.Seal(secret, aad(tenantID, methodID))
}

// ActivatePending makes a pending method active once it was proven (the
// authenticator's test push), under the user's lock: the limit of five
// and the default-method rules are checked against what is stored then.
// The registration is audited.
func (s *Service) ActivatePending(ctx context.Context, tx store.Store, actor directory.Actor, tenantID, userID, methodID string, guided bool) (store.Method, error) {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, apperr.FromStore(err, "The user")
	}
	if err := tx.LockUser(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	existing, err := tx.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	regs := registered(existing, s.now())
	var kind method.Kind
	for _, m := range existing {
		if m.ID == methodID {
			kind = method.Kind(m.Kind)
		}
	}
	if err := limitError(method.CheckAuthenticatorLimit(regs, kind)); err != nil {
		return store.Method{}, err
	}
	out, err := tx.UpdateMethod(ctx, tenantID, methodID, func(m *store.Method) error {
		if m.State != store.MethodPending || m.UserID != userID {
			return apperr.Conflictf("The registration was already completed.")
		}
		m.State, m.ExpiresAt = store.MethodActive, nil
		return nil
	})
	if err != nil {
		return store.Method{}, err
	}
	if err := s.applyDefault(ctx, tx, out, regs, guided); err != nil {
		return store.Method{}, err
	}
	return out, s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "User registered security info", Operation: "Add",
		Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop(out.Kind, nil, out.DisplayName))}})
}
