package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// CreateTenant creates an organisation with its first domain.
func (s *Service) CreateTenant(ctx context.Context, actor directory.Actor, domain, displayName string) (store.Tenant, error) {
	if err := authorize(actor, directory.ActionTenantWrite); err != nil {
		return store.Tenant{}, err
	}
	d, err := directory.NormalizeDomain(domain)
	if err != nil {
		return store.Tenant{}, apperr.Invalidf("%s", trimSentinel(err)).WithTarget("domain")
	}
	if displayName == "" {
		displayName = d
	}
	if err := directory.ValidateDisplayName("displayName", displayName, true); err != nil {
		return store.Tenant{}, apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
	}
	t := store.Tenant{ID: uuid.NewString(), DisplayName: displayName, Domains: []string{d}, CreatedAt: s.now()}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return apperr.FromStore(err, fmt.Sprintf("The domain %s", d))
		}
		e := s.auditEntry(ctx, actor, t.ID, "Create company", "DirectoryManagement", "Add",
			store.AuditTarget{ID: t.ID, DisplayName: t.DisplayName, Type: "Tenant",
				ModifiedProperties: []store.ModifiedProperty{prop("Domains", nil, t.Domains)}})
		return tx.AppendAudit(ctx, e)
	})
	return t, err
}

// ResolveTenant finds a tenant by id or by one of its domains.
func (s *Service) ResolveTenant(ctx context.Context, ref string) (store.Tenant, error) {
	if ref == "" || len(ref) > directory.MaxDomainLength || !utf8.ValidString(ref) || strings.ContainsFunc(ref, unicode.IsControl) {
		return store.Tenant{}, apperr.NotFoundf("The tenant does not exist.")
	}
	if s.tenants == nil {
		return s.resolveTenant(ctx, ref)
	}
	now := s.tenants.now()
	if t, ok := s.tenants.get(ref, now); ok {
		return t, nil
	}
	t, err := s.resolveTenant(ctx, ref)
	if err == nil {
		s.tenants.put(ref, t, now)
	}
	return t, err
}

func (s *Service) resolveTenant(ctx context.Context, ref string) (store.Tenant, error) {
	if _, err := uuid.Parse(ref); err == nil {
		t, err := s.Store.GetTenant(ctx, ref)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return t, apperr.FromStore(err, "The tenant "+ref)
		}
	}
	t, err := s.Store.TenantByDomain(ctx, ref)
	return t, apperr.FromStore(err, fmt.Sprintf("The tenant %s", ref))
}

// Init creates the tenant for domain and its first Global Administrator,
// unless they exist already; running it twice changes nothing.
func (s *Service) Init(ctx context.Context, domain, adminUPN, password string) (t store.Tenant, created bool, err error) {
	op := directory.Actor{Operator: true}
	t, err = s.Store.TenantByDomain(ctx, domain)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		if t, err = s.CreateTenant(ctx, op, domain, ""); err != nil {
			return t, false, err
		}
		created = true
	default:
		return t, false, err
	}
	u, err := s.Store.UserByUPN(ctx, t.ID, adminUPN)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.CreateUser(ctx, op, t.ID, NewUser{UPN: adminUPN, DisplayName: "Administrator", Password: password})
		if err != nil {
			return t, created, err
		}
		created = true
	} else if err != nil {
		return t, created, err
	}
	roles, err := s.Store.EffectiveRoleIDs(ctx, t.ID, u.ID)
	if err != nil {
		return t, created, err
	}
	for _, r := range roles {
		if r == directory.RoleGlobalAdmin {
			return t, created, nil
		}
	}
	_, err = s.AssignRole(ctx, op, t.ID, u.ID, directory.RoleGlobalAdmin)
	return t, true, err
}

// trimSentinel turns a directory validation error into a sentence.
func trimSentinel(err error) string {
	msg := strings.TrimPrefix(err.Error(), directory.ErrInvalidName.Error()+": ")
	if msg == "" {
		return "Invalid value."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// SetBannedPasswords replaces the tenant's custom banned-password list.
func (s *Service) SetBannedPasswords(ctx context.Context, actor directory.Actor, tenantID string, words []string) (store.Tenant, error) {
	if err := authorize(actor, directory.ActionMethodsPolicy); err != nil {
		return store.Tenant{}, err
	}
	const maxWords, maxLen = 1000, 64
	if len(words) > maxWords {
		return store.Tenant{}, apperr.Invalidf("The custom banned-password list holds at most %d words.", maxWords)
	}
	clean := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if len(w) < 4 || len(w) > maxLen {
			return store.Tenant{}, apperr.Invalidf("Banned words must be 4 to %d characters long: %q.", maxLen, w)
		}
		if !slices.Contains(clean, w) {
			clean = append(clean, w)
		}
	}
	var old []string
	var out store.Tenant
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		var err error
		out, err = tx.UpdateTenant(ctx, tenantID, func(t *store.Tenant) error {
			old = t.BannedPasswords
			t.BannedPasswords = clean
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, "The tenant")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Update password protection settings", "Policy", "Update",
			store.AuditTarget{ID: tenantID, DisplayName: out.DisplayName, Type: "Tenant",
				ModifiedProperties: []store.ModifiedProperty{prop("BannedPasswordList", old, clean)}}))
	})
	s.tenants.forget(tenantID)
	return out, err
}
