// Package oidc is vakt's OpenID Connect provider: discovery, authorize
// with PKCE, the token endpoint (authorization code, refresh tokens with
// rotation and reuse detection, client credentials for the admin API),
// userinfo, JWKS and RP-initiated logout, built on the OpenID-certified
// op package of github.com/zitadel/oidc. Each tenant has its own issuer,
// PUBLIC_URL/{tenant-id}/v2.0, and its own provider instance.
//
// Users sign in only through the sign-in engine (internal/signin): the
// provider sends the browser to the sign-in pages and, once a session
// exists, completes the request from it (login.go).
package oidc

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

const (
	// authRequestTTL bounds the time from /authorize to redeeming the
	// code, sign-in included.
	authRequestTTL = 15 * time.Minute
	// refreshLifetime is the lifetime of each refresh token; a rotation
	// starts a new one (a sliding window, like Entra ID's 90 days).
	refreshLifetime = 90 * 24 * time.Hour
)

// Provider serves every tenant's OpenID Connect endpoints. The exported
// fields must be set before first use.
type Provider struct {
	Store  store.Store
	Tokens *tokens.Issuer
	Engine *signin.Engine
	// PublicURL is what clients see, without a trailing slash.
	PublicURL string
	// Audiences are the resources of client-credentials tokens.
	Audiences []string
	// CryptoKey encrypts the op package's internal values (32 bytes,
	// derived from the master key so every node shares it).
	CryptoKey      [32]byte
	AccessLifetime time.Duration
	SecureCookies  bool
	Log            *slog.Logger
	Now            func() time.Time
	// Metrics, when set, registers the token endpoint's counter.
	Metrics prometheus.Registerer

	mu      sync.Mutex
	tenants map[string]*op.Provider
	metrics tokenMetrics
}

func (p *Provider) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Provider) accessLifetime() time.Duration {
	if p.AccessLifetime > 0 {
		return p.AccessLifetime
	}
	return tokens.DefaultLifetime
}

// The paths inside a tenant's op.Provider: the public path without its
// leading "/{tenant}".
const (
	pathAuthorize = "/oauth2/v2.0/authorize"
	pathToken     = "/oauth2/v2.0/token"
	pathLogout    = "/oauth2/v2.0/logout"
	pathRevoke    = "/oauth2/v2.0/revoke"
	pathLogin     = "/oauth2/v2.0/login"
	pathKeys      = "/discovery/v2.0/keys"
	pathUserinfo  = "/oidc/userinfo"
	pathDiscovery = "/v2.0/.well-known/openid-configuration"
)

// provider returns the tenant's op.Provider, built on first use.
func (p *Provider) provider(tenantID string) (*op.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o := p.tenants[tenantID]; o != nil {
		return o, nil
	}
	cfg := &op.Config{
		CryptoKey:             p.CryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       []string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "at_hash", "c_hash",
			"azp", "name", "preferred_username", "email", "tid", "oid", "ver"},
	}
	// The op package's endpoints stay at their default inner paths: its
	// With…Endpoint options write to one package-level struct shared by
	// every provider, so per-tenant URLs there would leak across tenants.
	// Serve maps vakt's public paths onto them (innerPaths) and
	// serveDiscovery publishes the public URLs.
	opts := []op.Option{
		op.WithCORSOptions(&cors.Options{AllowOriginFunc: func(string) bool { return true },
			AllowedMethods: []string{http.MethodGet, http.MethodPost}, AllowedHeaders: []string{"Authorization", "Content-Type"}}),
		op.WithLogger(p.log().With("component", "oidc", "tenant", tenantID)),
	}
	if strings.HasPrefix(p.PublicURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(cfg, &storage{p: p, tenantID: tenantID}, op.StaticIssuer(p.Tokens.Issuer(tenantID)), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider for tenant %s: %w", tenantID, err)
	}
	if p.tenants == nil {
		p.tenants = make(map[string]*op.Provider)
	}
	p.tenants[tenantID] = o
	return o, nil
}

// Serve handles every OpenID Connect path of a tenant the router has
// resolved (by id or domain); see Paths.
func (p *Provider) Serve(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	inner, ok := p.innerPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	o, err := p.provider(t.ID)
	if err != nil {
		p.log().ErrorContext(r.Context(), "oidc provider", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	switch inner {
	case pathLogin:
		p.serveLogin(w, r, t, o)
		return
	case pathToken:
		p.serveToken(w, r, t, o)
		return
	case pathLogout:
		p.endBrowserSession(w, r, t, o)
	case pathDiscovery:
		p.serveDiscovery(w, r, t, o)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = innerPaths[inner], ""
	o.ServeHTTP(w, r2)
}

// serveToken applies vakt's checks on a token request before the op
// package runs the grant, and logs and counts the outcome.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request, t store.Tenant, o *op.Provider) {
	form, rerr := tokens.ReadTokenRequest(w, r)
	if rerr == nil && form.Get("grant_type") == string(zoidc.GrantTypeClientCredentials) {
		// The admin API's rule: exactly one "<resource>/.default".
		_, rerr = tokens.AudienceForScope(form.Get("scope"), p.Audiences)
	}
	if rerr != nil {
		rerr.Write(w)
		p.observeToken(r.Context(), t.ID, form.Get("grant_type"), "", rerr.Status)
		return
	}
	r2 := r.Clone(withMemo(r.Context()))
	r2.URL.Path, r2.URL.RawPath = innerPaths[pathToken], ""
	// Credentials in the URL do not count (RFC 6749 §2.3.1); the op
	// package would read them, so they go. It parses the body again.
	r2.URL.RawQuery = ""
	r2.Body = io.NopCloser(bytes.NewReader([]byte(form.Encode())))
	r2.ContentLength = -1
	r2.Header.Del("Content-Length")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	rec := &statusRecorder{ResponseWriter: w}
	o.ServeHTTP(rec, r2)
	clientID := form.Get("client_id")
	if u, _, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(u)
	}
	p.observeToken(r.Context(), t.ID, form.Get("grant_type"), clientID, rec.status)
}

// innerPath strips "/{tenant}" and accepts only the paths vakt offers.
func (p *Provider) innerPath(path string) (string, bool) {
	if len(path) < 2 {
		return "", false
	}
	i := strings.IndexByte(path[1:], '/')
	if i < 0 {
		return "", false
	}
	inner := path[1+i:]
	_, ok := innerPaths[inner]
	return inner, ok
}

// innerPaths maps vakt's paths (after "/{tenant}") to the op package's
// default ones; "" marks the paths vakt serves itself.
var innerPaths = map[string]string{
	pathAuthorize:               "/authorize",
	pathAuthorize + "/callback": "/authorize/callback",
	pathToken:                   "/oauth/token",
	pathLogout:                  "/end_session",
	pathRevoke:                  "/revoke",
	pathKeys:                    "/keys",
	pathUserinfo:                "/userinfo",
	pathLogin:                   "",
	pathDiscovery:               "",
}

// Paths are the public path patterns Serve handles, for the router.
func Paths() []string {
	return []string{
		"/{tenant}/oauth2/v2.0/{endpoint...}",
		"/{tenant}" + pathKeys,
		"/{tenant}" + pathUserinfo,
		"/{tenant}" + pathDiscovery,
	}
}

// serveDiscovery publishes the op package's discovery document without
// the endpoints vakt does not offer.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request, t store.Tenant, o *op.Provider) {
	if !getOnly(w, r) {
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.Tokens.Issuer(t.ID))
	doc := op.CreateDiscoveryConfig(ctx, o, o.Storage())
	base := p.PublicURL + "/" + t.ID
	doc.AuthorizationEndpoint, doc.TokenEndpoint, doc.UserinfoEndpoint = base+pathAuthorize, base+pathToken, base+pathUserinfo
	doc.RevocationEndpoint, doc.EndSessionEndpoint, doc.JwksURI = base+pathRevoke, base+pathLogout, base+pathKeys
	doc.IntrospectionEndpoint, doc.DeviceAuthorizationEndpoint, doc.CheckSessionIframe = "", "", ""
	doc.IntrospectionEndpointAuthMethodsSupported, doc.IntrospectionEndpointAuthSigningAlgValuesSupported = nil, nil
	doc.GrantTypesSupported = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken, zoidc.GrantTypeClientCredentials}
	doc.ResponseTypesSupported = []string{string(zoidc.ResponseTypeCode)}
	doc.ACRValuesSupported = []string{ACRSingleFactor, ACRMFA, ACRPhishingResistant}
	doc.CodeChallengeMethodsSupported = []zoidc.CodeChallengeMethod{zoidc.CodeChallengeMethodS256}
	w.Header().Set("Cache-Control", "public, max-age=300")
	op.Discover(w, doc)
}

// endBrowserSession signs the browser out of vakt (RP-initiated logout)
// when the request carries a valid id_token_hint for the session's user —
// a bare link cannot sign anyone out. The op package then revokes the
// app's grants and redirects.
func (p *Provider) endBrowserSession(w http.ResponseWriter, r *http.Request, t store.Tenant, o *op.Provider) {
	c, err := r.Cookie(signin.SessionCookie)
	hint := r.FormValue("id_token_hint")
	if err != nil || c.Value == "" || hint == "" {
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.Tokens.Issuer(t.ID))
	claims, err := op.VerifyIDTokenHint[*zoidc.IDTokenClaims](ctx, hint, o.IDTokenHintVerifier(ctx))
	if err != nil {
		return // the op package answers the bad hint
	}
	s, err := p.Engine.Session(ctx, t.ID, c.Value)
	if err != nil || s.UserID != claims.Subject {
		return
	}
	if err := p.Engine.SignOut(ctx, t.ID, c.Value); err != nil {
		p.log().WarnContext(ctx, "oidc logout: sign out", "tenant", t.ID, "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: signin.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// getOnly answers 405 to anything but GET and HEAD.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
