package oidc

import (
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

// isPublic: an app without any secret is a public client (spa or native)
// — it cannot keep one — and must use PKCE.
func isPublic(a store.App) bool {
	return a.SecretHash == "" && len(a.Passwords) == 0
}

// ClientSecretMatches reports whether secret is one of the app's live
// secrets. Every candidate is checked, in constant time, whatever matched.
func ClientSecretMatches(a store.App, secret string, now time.Time) bool {
	ok := false
	if a.SecretHash != "" {
		ok = tokens.CheckClientSecret(secret, a.SecretHash) || ok
	}
	for _, p := range a.Passwords {
		m := tokens.CheckClientSecret(secret, p.Hash)
		ok = m && now.Before(p.EndAt) || ok
	}
	return ok && secret != ""
}

// client is op.Client over an app registration.
type client struct {
	app      store.App
	loginURL string // prefix; the auth request id is appended
}

func (p *Provider) client(tenantID string, a store.App) *client {
	return &client{app: a, loginURL: p.PublicURL + "/" + tenantID + "/oauth2/v2.0/login?id="}
}

func (c *client) GetID() string { return c.app.AppID }

// RedirectURIs are those of every platform: web for confidential clients,
// spa and publicClient for public ones (which must send PKCE).
func (c *client) RedirectURIs() []string {
	return slices.Concat(c.app.RedirectURIs, c.app.SPARedirectURIs, c.app.PublicClientRedirectURIs)
}

// PostLogoutRedirectURIs: an app may be sent back to any of its redirect
// URIs after signing out.
func (c *client) PostLogoutRedirectURIs() []string { return c.RedirectURIs() }

func (c *client) ApplicationType() op.ApplicationType {
	if isPublic(c.app) {
		// Native rules: loopback redirects on any port (RFC 8252 §7.3).
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() zoidc.AuthMethod {
	if isPublic(c.app) {
		return zoidc.AuthMethodNone
	}
	return zoidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []zoidc.GrantType {
	g := []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken}
	if !isPublic(c.app) {
		g = append(g, zoidc.GrantTypeClientCredentials)
	}
	return g
}

func (c *client) LoginURL(id string) string            { return c.loginURL + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
