package securityinfo

import (
	"context"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// Methods lists the user's registered (active) methods, oldest first.
func (s *Service) Methods(ctx context.Context, tenantID, userID string) ([]store.Method, error) {
	if _, err := s.user(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	ms, err := s.Store.ListMethods(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.State == store.MethodActive || m.State == store.MethodAssigned {
			out = append(out, m)
		}
	}
	return out, nil
}

// Method reads one of the user's methods.
func (s *Service) Method(ctx context.Context, tenantID, userID, methodID string) (store.Method, error) {
	m, err := s.Store.GetMethod(ctx, tenantID, methodID)
	if err != nil || m.UserID != userID || m.State == store.MethodPending {
		return store.Method{}, apperr.NotFoundf("The method does not exist.")
	}
	return m, nil
}

// Delete removes one of the user's methods; it cannot be undone. When the
// default goes, the strongest remaining method becomes the default (P-2.2).
// A hardware token goes back to the unassigned pool rather than away.
func (s *Service) Delete(ctx context.Context, actor directory.Actor, tenantID, userID, methodID string) error {
	if err := s.canManage(ctx, actor, tenantID, userID); err != nil {
		return err
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockUser(ctx, tenantID, userID); err != nil {
			return err
		}
		m, err := tx.GetMethod(ctx, tenantID, methodID)
		if err != nil || m.UserID != userID {
			return apperr.NotFoundf("The method does not exist.")
		}
		if m.Kind == string(method.KindHardwareOath) {
			_, err = tx.UpdateMethod(ctx, tenantID, m.ID, func(x *store.Method) error {
				x.UserID, x.State, x.IsDefault = "", store.MethodUnassigned, false
				return nil
			})
		} else {
			err = tx.DeleteMethod(ctx, tenantID, m.ID)
		}
		if err != nil {
			return err
		}
		rest, err := tx.ListMethods(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		if def := method.DefaultAfterRemove(registered(rest, s.now()), m.IsDefault); m.IsDefault || def != currentDefault(rest) {
			if err := tx.SetDefaultMethod(ctx, tenantID, userID, def); err != nil {
				return err
			}
		}
		activity := "User deleted security info"
		if actor.UserID != userID {
			activity = "Admin deleted security info"
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: activity, Operation: "Delete",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop(m.Kind, m.DisplayName, nil))}})
	})
}

func currentDefault(ms []store.Method) string {
	for _, m := range ms {
		if m.IsDefault {
			return m.ID
		}
	}
	return ""
}

// SetDefault makes one of the user's usable MFA methods the default.
func (s *Service) SetDefault(ctx context.Context, actor directory.Actor, tenantID, userID, methodID string) error {
	if err := s.canManage(ctx, actor, tenantID, userID); err != nil {
		return err
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		m, err := tx.GetMethod(ctx, tenantID, methodID)
		if err != nil || m.UserID != userID || m.State != store.MethodActive {
			return apperr.NotFoundf("The method does not exist.")
		}
		mfa := false
		for _, o := range method.Options(toRegistered(m, s.now())) {
			mfa = mfa || method.UsableForMFA(o)
		}
		if !mfa {
			return apperr.Invalidf("Only a method that can be used to sign in can be the default.")
		}
		if err := tx.SetDefaultMethod(ctx, tenantID, userID, methodID); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "User changed default security info", Operation: "Update",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("DefaultMethod", nil, m.DisplayName))}})
	})
}
