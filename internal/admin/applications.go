package admin

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// Limits on what an application registration may hold.
const (
	maxRedirectURIs      = 64
	maxRedirectURILength = 1024
	maxPasswords         = 16
	// DefaultSecretLifetime is how long a secret from AddPassword lives
	// when the caller names no end (Entra's default for new secrets).
	DefaultSecretLifetime = 180 * 24 * time.Hour
	maxSecretLifetime     = 2 * 365 * 24 * time.Hour
)

// AppPatch changes an application; nil fields stay as they are. Web,
// SPA and PublicClient are the redirect URIs of each platform.
type AppPatch struct {
	DisplayName  *string
	Web          *[]string
	SPA          *[]string
	PublicClient *[]string
}

// validRedirectURI applies the rules of one platform: web and spa take
// https (http only on a loopback host); publicClient also takes a private
// scheme (RFC 8252 §7.1) such as com.contoso.app:/callback. Never a
// fragment, never a wildcard.
func validRedirectURI(platform, raw string) bool {
	if raw == "" || len(raw) > maxRedirectURILength || strings.ContainsAny(raw, "*# \t\r\n") {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Fragment != "" {
		return false
	}
	switch {
	case u.Scheme == "https":
		return u.Host != ""
	case u.Scheme == "http":
		return isLoopback(u.Hostname())
	}
	// A private-use scheme: native apps only, and it must look like a
	// reversed domain name so it does not collide with common ones.
	return platform == "publicClient" && strings.Contains(u.Scheme, ".")
}

func checkURIs(platform string, uris *[]string) error {
	if uris == nil {
		return nil
	}
	if len(*uris) > maxRedirectURIs {
		return apperr.Invalidf("At most %d redirect URIs per platform.", maxRedirectURIs).WithTarget(platform + ".redirectUris")
	}
	for i, r := range *uris {
		if !validRedirectURI(platform, r) {
			return apperr.Invalidf("Redirect URI '%s' is not valid for %s: use https (http only for localhost)%s, without a fragment or wildcard.",
				truncateText(r, 128), platform, map[bool]string{true: " or a private scheme such as com.contoso.app:/callback"}[platform == "publicClient"]).
				WithTarget(platform + ".redirectUris")
		}
		if slices.Contains((*uris)[:i], r) {
			return apperr.Invalidf("Redirect URI '%s' is listed twice.", truncateText(r, 128)).WithTarget(platform + ".redirectUris")
		}
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (p AppPatch) validate() error {
	if p.DisplayName != nil {
		if err := directory.ValidateDisplayName("displayName", *p.DisplayName, true); err != nil {
			return apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
		}
	}
	for _, x := range []struct {
		name string
		uris *[]string
	}{{"web", p.Web}, {"spa", p.SPA}, {"publicClient", p.PublicClient}} {
		if err := checkURIs(x.name, x.uris); err != nil {
			return err
		}
	}
	return nil
}

func (p AppPatch) apply(a *store.App) {
	if p.DisplayName != nil {
		a.DisplayName = *p.DisplayName
	}
	if p.Web != nil {
		a.RedirectURIs = slices.Clone(*p.Web)
	}
	if p.SPA != nil {
		a.SPARedirectURIs = slices.Clone(*p.SPA)
	}
	if p.PublicClient != nil {
		a.PublicClientRedirectURIs = slices.Clone(*p.PublicClient)
	}
}

func appTarget(a store.App, props ...store.ModifiedProperty) store.AuditTarget {
	return store.AuditTarget{ID: a.ID, DisplayName: a.DisplayName, Type: "Application", ModifiedProperties: props}
}

// CreateApplication registers an app without a secret (Graph's POST
// /applications): a public client until a secret is added with
// AddPassword.
func (s *Service) CreateApplication(ctx context.Context, actor directory.Actor, tenantID string, p AppPatch) (store.App, error) {
	if err := authorize(actor, directory.ActionAppWrite); err != nil {
		return store.App{}, err
	}
	if p.DisplayName == nil || *p.DisplayName == "" {
		return store.App{}, apperr.Invalidf("Property 'displayName' is required.").WithTarget("displayName")
	}
	if err := p.validate(); err != nil {
		return store.App{}, err
	}
	a := store.App{ID: uuid.NewString(), TenantID: tenantID, AppID: uuid.NewString(), CreatedAt: s.now()}
	p.apply(&a)
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateApp(ctx, a); err != nil {
			return apperr.FromStore(err, "The application")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add application", "ApplicationManagement", "Add",
			appTarget(a, prop("AppId", nil, a.AppID), prop("DisplayName", nil, a.DisplayName), prop("RedirectUris", nil, a.RedirectURIs),
				prop("SpaRedirectUris", nil, a.SPARedirectURIs), prop("PublicClientRedirectUris", nil, a.PublicClientRedirectURIs))))
	})
	if err != nil {
		return store.App{}, err
	}
	return a, nil
}

// FindApplication reads an app by object id.
func (s *Service) FindApplication(ctx context.Context, actor directory.Actor, tenantID, id string) (store.App, error) {
	if err := authorize(actor, directory.ActionAppRead); err != nil {
		return store.App{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return store.App{}, apperr.NotFoundf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", truncateText(id, 64)).WithCode("Request_ResourceNotFound")
	}
	a, err := s.Store.AppByID(ctx, tenantID, id)
	return a, apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
}

// ListApplications lists the tenant's apps.
func (s *Service) ListApplications(ctx context.Context, actor directory.Actor, tenantID string) ([]store.App, error) {
	if err := authorize(actor, directory.ActionAppRead); err != nil {
		return nil, err
	}
	return s.Store.ListApps(ctx, tenantID)
}

// UpdateApplication applies a patch.
func (s *Service) UpdateApplication(ctx context.Context, actor directory.Actor, tenantID, id string, p AppPatch) (store.App, error) {
	if err := authorize(actor, directory.ActionAppWrite); err != nil {
		return store.App{}, err
	}
	if err := p.validate(); err != nil {
		return store.App{}, err
	}
	if _, err := s.FindApplication(ctx, directory.Actor{Operator: true}, tenantID, id); err != nil {
		return store.App{}, err
	}
	var out store.App
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		var before store.App
		a, err := tx.UpdateApp(ctx, tenantID, id, func(a *store.App) error { before = *a; p.apply(a); return nil })
		if err != nil {
			return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
		}
		out = a
		var props []store.ModifiedProperty
		if before.DisplayName != a.DisplayName {
			props = append(props, prop("DisplayName", before.DisplayName, a.DisplayName))
		}
		for _, x := range []struct {
			name     string
			old, new []string
		}{{"RedirectUris", before.RedirectURIs, a.RedirectURIs}, {"SpaRedirectUris", before.SPARedirectURIs, a.SPARedirectURIs},
			{"PublicClientRedirectUris", before.PublicClientRedirectURIs, a.PublicClientRedirectURIs}} {
			if !slices.Equal(x.old, x.new) {
				props = append(props, prop(x.name, x.old, x.new))
			}
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Update application", "ApplicationManagement", "Update", appTarget(a, props...)))
	})
	return out, err
}

// DeleteApplication removes an app; its tokens stop working (the admin
// API checks the app exists, and its refresh tokens go with it).
func (s *Service) DeleteApplication(ctx context.Context, actor directory.Actor, tenantID, id string) error {
	if err := authorize(actor, directory.ActionAppWrite); err != nil {
		return err
	}
	a, err := s.FindApplication(ctx, directory.Actor{Operator: true}, tenantID, id)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.DeleteApp(ctx, tenantID, id); err != nil {
			return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Delete application", "ApplicationManagement", "Delete",
			appTarget(a, prop("AppId", a.AppID, nil))))
	})
}

// AddPassword adds a client secret to an app and returns it with the
// secret, shown only this once; the app becomes a confidential client.
func (s *Service) AddPassword(ctx context.Context, actor directory.Actor, tenantID, id, displayName string, end *time.Time, newSecret SecretMaker) (store.PasswordCredential, string, error) {
	if err := authorize(actor, directory.ActionAppWrite); err != nil {
		return store.PasswordCredential{}, "", err
	}
	if displayName != "" {
		if err := directory.ValidateDisplayName("displayName", displayName, false); err != nil {
			return store.PasswordCredential{}, "", apperr.Invalidf("%s", trimSentinel(err)).WithTarget("passwordCredential.displayName")
		}
	}
	now := s.now()
	until := now.Add(DefaultSecretLifetime)
	if end != nil {
		if !end.After(now) || end.Sub(now) > maxSecretLifetime {
			return store.PasswordCredential{}, "", apperr.Invalidf("endDateTime must be in the future and at most two years away.").WithTarget("passwordCredential.endDateTime")
		}
		until = end.UTC()
	}
	if _, err := s.FindApplication(ctx, directory.Actor{Operator: true}, tenantID, id); err != nil {
		return store.PasswordCredential{}, "", err
	}
	secret, hash, err := newSecret()
	if err != nil {
		return store.PasswordCredential{}, "", fmt.Errorf("client secret: %w", err)
	}
	cred := store.PasswordCredential{KeyID: uuid.NewString(), DisplayName: displayName, Hint: secret[:3], Hash: hash, StartAt: now, EndAt: until}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		a, err := tx.UpdateApp(ctx, tenantID, id, func(a *store.App) error {
			live := slices.DeleteFunc(slices.Clone(a.Passwords), func(p store.PasswordCredential) bool { return !now.Before(p.EndAt) })
			if len(live) >= maxPasswords {
				return apperr.Invalidf("An application may have at most %d secrets; remove one first.", maxPasswords).WithTarget("passwordCredential")
			}
			a.Passwords = append(live, cred)
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Update application – Certificates and secrets management", "ApplicationManagement", "Update",
			appTarget(a, prop("KeyDescription", nil, fmt.Sprintf("[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]", cred.KeyID, displayName)))))
	})
	if err != nil {
		return store.PasswordCredential{}, "", err
	}
	return cred, secret, nil
}
