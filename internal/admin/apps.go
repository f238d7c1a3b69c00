package admin

import (
	"context"
	"fmt"
	"net/url"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// NewApp is what registering an app takes.
type NewApp struct {
	DisplayName  string
	RedirectURIs []string
	Permissions  []string
}

// SecretMaker makes a client secret and its stored hash (internal/tokens).
type SecretMaker func() (secret, hash string, err error)

// CreateApp registers an app and returns it with its client secret, which
// is shown only this once.
func (s *Service) CreateApp(ctx context.Context, actor directory.Actor, tenantID string, in NewApp, newSecret SecretMaker) (store.App, string, error) {
	if err := authorize(actor, directory.ActionAppWrite); err != nil {
		return store.App{}, "", err
	}
	if err := directory.ValidateDisplayName("displayName", in.DisplayName, true); err != nil {
		return store.App{}, "", apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
	}
	perms := make([]string, 0, len(in.Permissions))
	for _, p := range in.Permissions {
		c, ok := directory.CanonicalPermission(p)
		if !ok {
			return store.App{}, "", apperr.Invalidf("Unknown permission '%s'.", p).WithTarget("permission")
		}
		perms = append(perms, c)
	}
	for _, r := range in.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Fragment != "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			return store.App{}, "", apperr.Invalidf("Redirect URI '%s' must be an absolute https URL (http only for localhost) without a fragment.", r).WithTarget("redirectUri")
		}
	}
	secret, hash, err := newSecret()
	if err != nil {
		return store.App{}, "", fmt.Errorf("client secret: %w", err)
	}
	a := store.App{ID: uuid.NewString(), TenantID: tenantID, AppID: uuid.NewString(), DisplayName: in.DisplayName,
		SecretHash: hash, RedirectURIs: in.RedirectURIs, Permissions: perms, CreatedAt: s.now()}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateApp(ctx, a); err != nil {
			return apperr.FromStore(err, "The application")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add application", "ApplicationManagement", "Add",
			store.AuditTarget{ID: a.ID, DisplayName: a.DisplayName, Type: "Application", ModifiedProperties: []store.ModifiedProperty{
				prop("AppId", nil, a.AppID), prop("RedirectUris", nil, a.RedirectURIs), prop("AppRoles", nil, a.Permissions)}}))
	})
	if err != nil {
		return store.App{}, "", err
	}
	return a, secret, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
