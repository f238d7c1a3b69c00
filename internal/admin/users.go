package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// NewUser is what creating a user takes.
type NewUser struct {
	UPN                 string
	DisplayName         string
	Mail                string
	MobilePhone         string
	AccountEnabled      *bool // nil = enabled
	Password            string
	ForceChangePassword bool
	// PasswordHash imports an existing argon2id or bcrypt hash instead of
	// a clear-text password (bulk import).
	PasswordHash string
}

// UserPatch changes the fields that are set.
type UserPatch struct {
	UPN                 *string
	DisplayName         *string
	Mail                *string
	MobilePhone         *string
	AccountEnabled      *bool
	Password            *string
	ForceChangePassword *bool
}

const maxShortField = 256

func (s *Service) validateUPN(t store.Tenant, upn string) error {
	domain, err := directory.ValidateUPN(upn)
	if err != nil {
		return apperr.Invalidf("%s", trimSentinel(err)).WithTarget("userPrincipalName")
	}
	if !slices.Contains(t.Domains, domain) {
		return apperr.Invalidf("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization: %s.",
			strings.Join(t.Domains, ", ")).WithTarget("userPrincipalName")
	}
	return nil
}

func validateMail(m string) error {
	if m == "" {
		return nil
	}
	if len(m) > maxShortField || strings.Count(m, "@") != 1 || strings.HasPrefix(m, "@") || strings.HasSuffix(m, "@") || strings.ContainsAny(m, " \t\r\n<>") {
		return apperr.Invalidf("Invalid value specified for property 'mail' of resource 'User'.").WithTarget("mail")
	}
	return nil
}

func validatePhone(p string) error {
	if len(p) > 64 {
		return apperr.Invalidf("Invalid value specified for property 'mobilePhone' of resource 'User'.").WithTarget("mobilePhone")
	}
	for _, c := range p {
		if !(c >= '0' && c <= '9' || strings.ContainsRune("+ -()x.", c)) {
			return apperr.Invalidf("Invalid value specified for property 'mobilePhone' of resource 'User'.").WithTarget("mobilePhone")
		}
	}
	return nil
}

func (s *Service) checkPassword(pw string, t store.Tenant, u store.User) error {
	local, _, _ := strings.Cut(u.UPN, "@")
	if err := s.Passwords.Check(pw, t.BannedPasswords, local, u.DisplayName); err != nil {
		if ae, ok := apperr.As(err); ok {
			return ae
		}
		return apperr.Invalidf("%s", err.Error()).WithTarget("passwordProfile")
	}
	return nil
}

func (s *Service) tenant(ctx context.Context, tenantID string) (store.Tenant, error) {
	t, err := s.Store.GetTenant(ctx, tenantID)
	return t, apperr.FromStore(err, "The tenant")
}

// prepareUser validates a new user and hashes its password; no writes.
func (s *Service) prepareUser(ctx context.Context, t store.Tenant, in NewUser) (store.User, error) {
	u := store.User{ID: uuid.NewString(), TenantID: t.ID, UPN: strings.TrimSpace(in.UPN), DisplayName: in.DisplayName,
		Mail: in.Mail, MobilePhone: in.MobilePhone, AccountEnabled: in.AccountEnabled == nil || *in.AccountEnabled,
		ForceChangePassword: in.ForceChangePassword, PerUserMFA: store.PerUserMFADisabled, UserType: "member", CreatedAt: s.now()}
	if err := s.validateUPN(t, u.UPN); err != nil {
		return u, err
	}
	if u.DisplayName == "" {
		u.DisplayName, _, _ = strings.Cut(u.UPN, "@")
	}
	if err := directory.ValidateDisplayName("displayName", u.DisplayName, true); err != nil {
		return u, apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
	}
	if err := validateMail(u.Mail); err != nil {
		return u, err
	}
	if err := validatePhone(u.MobilePhone); err != nil {
		return u, err
	}
	switch {
	case in.Password != "" && in.PasswordHash != "":
		return u, apperr.Invalidf("Give a password or a password hash, not both.")
	case in.Password != "":
		if err := s.checkPassword(in.Password, t, u); err != nil {
			return u, err
		}
		h, err := s.Passwords.Hash(ctx, in.Password)
		if err != nil {
			return u, fmt.Errorf("hash password: %w", err)
		}
		u.PasswordHash = h
	case in.PasswordHash != "":
		if !strings.HasPrefix(in.PasswordHash, "$argon2id$") && !strings.HasPrefix(in.PasswordHash, "$2") {
			return u, apperr.Invalidf("A password hash must be an argon2id PHC string or a bcrypt hash.").WithTarget("passwordHash")
		}
		u.PasswordHash = in.PasswordHash
	}
	return u, nil
}

// CreateUser creates one user.
func (s *Service) CreateUser(ctx context.Context, actor directory.Actor, tenantID string, in NewUser) (store.User, error) {
	if err := authorize(actor, directory.ActionUserWrite); err != nil {
		return store.User{}, err
	}
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.prepareUser(ctx, t, in)
	if err != nil {
		return u, err
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return apperr.FromStore(err, "Another object with the same value for property userPrincipalName")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add user", "UserManagement", "Add",
			userTarget(u, prop("AccountEnabled", nil, u.AccountEnabled), prop("DisplayName", nil, u.DisplayName),
				prop("UserPrincipalName", nil, u.UPN), prop("Mail", nil, u.Mail))))
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// FindUser resolves a user by id or UPN.
func (s *Service) FindUser(ctx context.Context, tenantID, ref string) (store.User, error) {
	var u store.User
	var err error
	if strings.Contains(ref, "@") {
		u, err = s.Store.UserByUPN(ctx, tenantID, ref)
	} else {
		u, err = s.Store.GetUser(ctx, tenantID, ref)
	}
	return u, apperr.FromStore(err, fmt.Sprintf("Resource '%s'", ref))
}

// isPrivileged reports whether the user holds any admin role; changing
// such a user needs more than User Administrator.
func (s *Service) isPrivileged(ctx context.Context, tenantID, userID string) (bool, error) {
	roles, err := s.Store.EffectiveRoleIDs(ctx, tenantID, userID)
	if err != nil {
		return false, err
	}
	for _, r := range roles {
		if directory.IsAdminRole(r) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Service) authorizeUserChange(ctx context.Context, actor directory.Actor, tenantID, userID string, act directory.Action) error {
	if err := authorize(actor, act); err != nil {
		return err
	}
	priv, err := s.isPrivileged(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	if priv && !directory.Allowed(actor, directory.ActionPrivilegedUserWrite) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation: the user holds an administrator role.")
	}
	return nil
}

// UpdateUser applies a patch.
func (s *Service) UpdateUser(ctx context.Context, actor directory.Actor, tenantID, ref string, p UserPatch) (store.User, error) {
	cur, err := s.FindUser(ctx, tenantID, ref)
	if err != nil {
		return cur, err
	}
	// A patch that only sets a password is a password reset, which the
	// helpdesk roles may do without managing users in general.
	act := directory.ActionUserWrite
	if p.Password != nil && p.UPN == nil && p.DisplayName == nil && p.Mail == nil && p.MobilePhone == nil && p.AccountEnabled == nil {
		act = directory.ActionPasswordReset
	}
	if err := s.authorizeUserChange(ctx, actor, tenantID, cur.ID, act); err != nil {
		return cur, err
	}
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return cur, err
	}
	var props []store.ModifiedProperty
	var hash string
	if p.Password != nil {
		probe := cur
		if p.UPN != nil {
			probe.UPN = *p.UPN
		}
		if err := s.checkPassword(*p.Password, t, probe); err != nil {
			return cur, err
		}
		if hash, err = s.Passwords.Hash(ctx, *p.Password); err != nil {
			return cur, fmt.Errorf("hash password: %w", err)
		}
	}
	var out store.User
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		out, err = tx.UpdateUser(ctx, tenantID, cur.ID, func(u *store.User) error {
			if p.UPN != nil && *p.UPN != u.UPN {
				if err := s.validateUPN(t, *p.UPN); err != nil {
					return err
				}
				props = append(props, prop("UserPrincipalName", u.UPN, *p.UPN))
				u.UPN = *p.UPN
			}
			if p.DisplayName != nil && *p.DisplayName != u.DisplayName {
				if err := directory.ValidateDisplayName("displayName", *p.DisplayName, true); err != nil {
					return apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
				}
				props = append(props, prop("DisplayName", u.DisplayName, *p.DisplayName))
				u.DisplayName = *p.DisplayName
			}
			if p.Mail != nil && *p.Mail != u.Mail {
				if err := validateMail(*p.Mail); err != nil {
					return err
				}
				props = append(props, prop("Mail", u.Mail, *p.Mail))
				u.Mail = *p.Mail
			}
			if p.MobilePhone != nil && *p.MobilePhone != u.MobilePhone {
				if err := validatePhone(*p.MobilePhone); err != nil {
					return err
				}
				props = append(props, prop("MobilePhone", u.MobilePhone, *p.MobilePhone))
				u.MobilePhone = *p.MobilePhone
			}
			if p.AccountEnabled != nil && *p.AccountEnabled != u.AccountEnabled {
				props = append(props, prop("AccountEnabled", u.AccountEnabled, *p.AccountEnabled))
				u.AccountEnabled = *p.AccountEnabled
			}
			if p.ForceChangePassword != nil && *p.ForceChangePassword != u.ForceChangePassword {
				props = append(props, prop("ForceChangePasswordNextSignIn", u.ForceChangePassword, *p.ForceChangePassword))
				u.ForceChangePassword = *p.ForceChangePassword
			}
			if hash != "" {
				// The hash itself never goes into the audit log.
				props = append(props, prop("Password", nil, "(changed)"))
				u.PasswordHash = hash
			}
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, "Another object with the same value for property userPrincipalName")
		}
		if len(props) == 0 {
			return nil
		}
		activity := "Update user"
		if hash != "" && len(props) == 1 {
			activity = "Reset user password"
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, activity, "UserManagement", "Update", userTarget(out, props...)))
	})
	return out, err
}

// DeleteUser deletes a user with its memberships and role assignments.
func (s *Service) DeleteUser(ctx context.Context, actor directory.Actor, tenantID, ref string) error {
	u, err := s.FindUser(ctx, tenantID, ref)
	if err != nil {
		return err
	}
	if err := s.authorizeUserChange(ctx, actor, tenantID, u.ID, directory.ActionUserWrite); err != nil {
		return err
	}
	if actor.UserID == u.ID {
		return apperr.Invalidf("You cannot delete your own account.")
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := s.keepAGlobalAdmin(ctx, tx, tenantID, u.ID); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, tenantID, u.ID); err != nil {
			return apperr.FromStore(err, "The user")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Delete user", "UserManagement", "Delete", userTarget(u)))
	})
}

// SetPerUserMFA sets per-user MFA state for users (P-3.1). It returns the
// users that changed; unknown UPNs fail the whole call before any write.
func (s *Service) SetPerUserMFA(ctx context.Context, actor directory.Actor, tenantID string, refs []string, state store.PerUserMFAState) ([]store.User, error) {
	if err := authorize(actor, directory.ActionUserPerUserMFA); err != nil {
		return nil, err
	}
	if !state.Valid() {
		return nil, apperr.Invalidf("Invalid per-user MFA state '%s': use disabled, enabled or enforced.", state).WithTarget("perUserMfaState")
	}
	users := make([]store.User, 0, len(refs))
	for _, ref := range refs {
		u, err := s.FindUser(ctx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	var changed []store.User
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		for _, u := range users {
			old := u.PerUserMFA
			if old == state {
				continue
			}
			nu, err := tx.UpdateUser(ctx, tenantID, u.ID, func(u *store.User) error { u.PerUserMFA = state; return nil })
			if err != nil {
				return apperr.FromStore(err, "The user")
			}
			changed = append(changed, nu)
			if err := tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Update per-user multifactor authentication state",
				"UserManagement", "Update", userTarget(nu, prop("StrongAuthenticationRequirement", string(old), string(state))))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// RevokeSessions signs a user out everywhere (P-6.5, P-11.3).
func (s *Service) RevokeSessions(ctx context.Context, actor directory.Actor, tenantID, ref string) (int, error) {
	u, err := s.FindUser(ctx, tenantID, ref)
	if err != nil {
		return 0, err
	}
	if err := s.authorizeUserChange(ctx, actor, tenantID, u.ID, directory.ActionPasswordReset); err != nil {
		return 0, err
	}
	var n int
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if n, err = tx.RevokeUserSessions(ctx, tenantID, u.ID, s.now()); err != nil {
			return err
		}
		// Apps' refresh tokens go too, as revokeSignInSessions promises.
		if _, err := tx.RevokeUserRefreshTokens(ctx, tenantID, u.ID, "", s.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Revoke user sessions", "UserManagement", "Update",
			userTarget(u, prop("Sessions", n, 0))))
	})
	return n, err
}
