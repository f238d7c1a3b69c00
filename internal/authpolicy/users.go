package authpolicy

import (
	"context"
	"errors"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// SignInPreferences are a user's beta signInPreferences.
type SignInPreferences struct {
	// IsSystemPreferredAuthenticationMethodEnabled is the user's own
	// switch when set, else whether the tenant's system-preferred MFA
	// applies to the user.
	IsSystemPreferredAuthenticationMethodEnabled bool
	// SystemPreferredOverridden says the value above is the user's own.
	SystemPreferredOverridden bool
	// UserPreferredMethodForSecondaryAuthentication is the user's choice
	// (push, oath, voiceMobile, voiceAlternateMobile, voiceOffice, sms);
	// empty when none.
	UserPreferredMethodForSecondaryAuthentication string
}

// SignInPreferencesPatch changes a user's preferences; nil fields stay.
type SignInPreferencesPatch struct {
	// IsSystemPreferredAuthenticationMethodEnabled sets the user's own
	// switch of system-preferred MFA.
	IsSystemPreferredAuthenticationMethodEnabled *bool
	// FollowTenantSystemPreferred removes the user's own switch, so the
	// tenant's setting applies again (a JSON null).
	FollowTenantSystemPreferred bool
	// UserPreferredMethodForSecondaryAuthentication sets the user's
	// preferred second factor; "" removes the choice.
	UserPreferredMethodForSecondaryAuthentication *string
}

// PreferredMethods are the values of userPreferredMethodForSecondaryAuthentication.
var PreferredMethods = []string{"push", "oath", "voiceMobile", "voiceAlternateMobile", "voiceOffice", "sms"}

// The P-3.3 warnings when per-user MFA and policies both apply.
const (
	warningSecurityDefaults = "Per-user MFA and security defaults both apply to this user; turn per-user MFA off when you move to policies."
	warningCA               = "Per-user MFA and conditional access policies both apply to this user; turn per-user MFA off when you move to policies."
)

func (s *Service) user(ctx context.Context, tenantID, userID string) (store.User, error) {
	u, err := s.Store.GetUser(ctx, tenantID, userID)
	return u, apperr.FromStore(err, "The user")
}

// authorizeUserWrite lets the actor change the user's preferences: the
// user-methods permission, and for an administrator's account a
// Privileged Authentication Administrator (as for the user's methods).
func (s *Service) authorizeUserWrite(ctx context.Context, actor directory.Actor, tenantID, userID string) error {
	if err := authorize(actor, directory.ActionUserMethodsWrite); err != nil {
		return err
	}
	if actor.Operator || actor.UserID == "" || directory.Allowed(actor, directory.ActionPrivilegedUserWrite) {
		return nil
	}
	roles, err := s.Store.EffectiveRoleIDs(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if directory.IsAdminRole(r) {
			return apperr.Forbiddenf("Insufficient privileges to complete the operation: the user holds an administrator role.")
		}
	}
	return nil
}

// GetSignInPreferences reads a user's sign-in preferences.
func (s *Service) GetSignInPreferences(ctx context.Context, actor directory.Actor, tenantID, userID string) (SignInPreferences, error) {
	if err := authorize(actor, directory.ActionUserMethodsRead); err != nil {
		return SignInPreferences{}, err
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return SignInPreferences{}, err
	}
	out := SignInPreferences{UserPreferredMethodForSecondaryAuthentication: u.PreferredMFA}
	if u.SystemPreferredMFA != nil {
		out.IsSystemPreferredAuthenticationMethodEnabled, out.SystemPreferredOverridden = *u.SystemPreferredMFA, true
		return out, nil
	}
	p, err := s.Load(ctx, tenantID)
	if err != nil {
		return SignInPreferences{}, err
	}
	groups, err := s.Store.TransitiveGroupIDs(ctx, tenantID, u.ID)
	if err != nil {
		return SignInPreferences{}, err
	}
	out.IsSystemPreferredAuthenticationMethodEnabled = p.SystemPreferredApplies(u.ID, groups)
	return out, nil
}

// preferredUsable says, for each preferred-method value, whether the user
// registered a method offering it (registered) and whether the policy
// also allows it (usable).
func preferredUsable(ms []store.Method, allowed map[method.Option]bool) (registered, usable map[string]bool) {
	registered, usable = map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		if m.State != store.MethodActive {
			continue
		}
		r := method.Registered{ID: m.ID, Kind: method.Kind(m.Kind), PhoneType: m.Props.PhoneType, Usable: true}
		if r.Kind == method.KindAuthenticator {
			r.PushCapable, r.TOTPCapable = m.Props.DeviceTag != "", m.Secret != ""
		}
		for _, o := range method.Options(r) {
			if g, ok := method.GraphPreferredMethod(o); ok {
				registered[g] = true
				usable[g] = usable[g] || allowed[o]
			}
		}
	}
	return registered, usable
}

// SetSignInPreferences changes a user's sign-in preferences. A preferred
// method must be one the user has registered and the policy allows (400
// otherwise).
func (s *Service) SetSignInPreferences(ctx context.Context, actor directory.Actor, tenantID, userID string, patch SignInPreferencesPatch) error {
	if err := s.authorizeUserWrite(ctx, actor, tenantID, userID); err != nil {
		return err
	}
	const prefProp = "userPreferredMethodForSecondaryAuthentication"
	pref := patch.UserPreferredMethodForSecondaryAuthentication
	if pref != nil && *pref != "" {
		if err := canon(prefProp, pref, PreferredMethods...); err != nil {
			return err
		}
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockUser(ctx, tenantID, userID); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, userID)
		if err != nil {
			return apperr.FromStore(err, "The user")
		}
		if pref != nil && *pref != "" {
			ms, err := tx.ListMethods(ctx, tenantID, u.ID)
			if err != nil {
				return err
			}
			p, err := load(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			groups, err := tx.TransitiveGroupIDs(ctx, tenantID, u.ID)
			if err != nil {
				return err
			}
			registered, usable := preferredUsable(ms, p.AllowedOptions(u.ID, groups))
			switch {
			case !registered[*pref]:
				return apperr.Invalidf("The user has not registered a method for '%s'; register it before making it the preferred method.", *pref).WithTarget(prefProp)
			case !usable[*pref]:
				return apperr.Invalidf("The authentication methods policy does not allow '%s' for the user.", *pref).WithTarget(prefProp)
			}
		}
		oldPref, oldSys := u.PreferredMFA, u.SystemPreferredMFA
		nu, err := tx.UpdateUser(ctx, tenantID, u.ID, func(u *store.User) error {
			if pref != nil {
				u.PreferredMFA = *pref
			}
			switch {
			case patch.FollowTenantSystemPreferred:
				u.SystemPreferredMFA = nil
			case patch.IsSystemPreferredAuthenticationMethodEnabled != nil:
				v := *patch.IsSystemPreferredAuthenticationMethodEnabled
				u.SystemPreferredMFA = &v
			}
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, "The user")
		}
		var props []store.ModifiedProperty
		if oldPref != nu.PreferredMFA {
			props = append(props, audit.Prop("UserPreferredMethodForSecondaryAuthentication", oldPref, nu.PreferredMFA))
		}
		if !equalBoolPtr(oldSys, nu.SystemPreferredMFA) {
			props = append(props, audit.Prop("IsSystemPreferredAuthenticationMethodEnabled", boolOrNil(oldSys), boolOrNil(nu.SystemPreferredMFA)))
		}
		if len(props) == 0 {
			return nil
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update user sign-in preferences", Category: "UserManagement",
			Operation: "Update", Service: audit.AuthenticationMethods, Targets: []store.AuditTarget{audit.UserTarget(nu, props...)}})
	})
}

func equalBoolPtr(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// PerUserMFAWarning returns the warning of P-3.3 for moving a user to
// per-user MFA state: when per-user MFA would be enabled or enforced
// while security defaults are on (or conditional access policies are
// enabled), both apply to the user and the admin should turn per-user MFA
// off when moving to policies. Empty when there is nothing to warn about.
func (s *Service) PerUserMFAWarning(ctx context.Context, tenantID string, state store.PerUserMFAState) (string, error) {
	if state != store.PerUserMFAEnabled && state != store.PerUserMFAEnforced {
		return "", nil
	}
	on, err := s.SecurityDefaultsEnabled(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if on {
		return warningSecurityDefaults, nil
	}
	if s.ConditionalAccess != nil {
		n, err := s.ConditionalAccess.EnabledPolicyCount(ctx, tenantID)
		if err != nil {
			return "", err
		}
		if n > 0 {
			return warningCA, nil
		}
	}
	return "", nil
}

// SetPerUserMFA sets one user's per-user MFA state through the admin
// service (its rules and audit entry) and returns the P-3.3 warning, if
// any, which is also recorded in the change's audit entry
// (additionalDetails "warning").
func (s *Service) SetPerUserMFA(ctx context.Context, actor directory.Actor, tenantID, userID string, state store.PerUserMFAState) (warning string, err error) {
	if s.Admin == nil {
		return "", errors.New("authpolicy: no admin service")
	}
	if err := authorize(actor, directory.ActionUserPerUserMFA); err != nil {
		return "", err
	}
	if state.Valid() {
		if warning, err = s.PerUserMFAWarning(ctx, tenantID, state); err != nil {
			return "", err
		}
	}
	adm := s.Admin
	if warning != "" {
		c := *s.Admin
		c.Store = detailStore{Store: s.Admin.Store, key: "warning", value: warning}
		adm = &c
	}
	if _, err := adm.SetPerUserMFA(ctx, actor, tenantID, []string{userID}, state); err != nil {
		return "", err
	}
	return warning, nil
}

// detailStore adds one additional detail to every audit entry written
// through it, inside transactions too.
type detailStore struct {
	store.Store
	key, value string
}

func (d detailStore) InTx(ctx context.Context, fn func(store.Store) error) error {
	return d.Store.InTx(ctx, func(tx store.Store) error {
		return fn(detailStore{Store: tx, key: d.key, value: d.value})
	})
}

func (d detailStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	details := make(map[string]string, len(e.AdditionalDetails)+1)
	for k, v := range e.AdditionalDetails {
		details[k] = v
	}
	details[d.key] = d.value
	e.AdditionalDetails = details
	return d.Store.AppendAudit(ctx, e)
}
