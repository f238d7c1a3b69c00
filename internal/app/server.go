package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authenticator"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/graphapi"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/oidc"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

// GraphAudience is the resource id Graph SDKs ask tokens for; vakt
// accepts it besides its own public URL so that unmodified clients work.
const GraphAudience = "https://graph.microsoft.com"

// Handler builds the HTTP surface with its middleware.
func (a *App) Handler() http.Handler {
	reg := a.Metrics
	metrics := httpx.NewMetrics(reg)

	mux := http.NewServeMux()
	mux.Handle("GET /healthz", httpx.Health())
	mux.Handle("GET /readyz", httpx.Ready(func(ctx context.Context) error {
		err := a.Store.Ping(ctx)
		if err != nil {
			a.Log.WarnContext(ctx, "readiness check failed", "err", err)
		}
		return err
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	for _, p := range oidc.Paths() { // discovery, authorize, token (every grant), keys, userinfo, logout
		mux.HandleFunc(p, a.withTenant(a.OIDC.Serve))
	}
	mux.HandleFunc("POST /{tenant}/api/callbacks/voice", a.withTenant(a.voiceCallback))
	signinAPI := &signin.API{Engine: a.SignIn, SecureCookies: a.Config.SecureCookies()}
	mux.HandleFunc("/{tenant}/api/signin", a.serveAPI(signinAPI))
	mux.HandleFunc("/{tenant}/api/signin/{rest...}", a.serveAPI(signinAPI))
	mux.HandleFunc("/{tenant}/api/session", a.serveAPI(signinAPI))
	mux.HandleFunc("/{tenant}/api/signout", a.serveAPI(signinAPI))
	mux.HandleFunc("/{tenant}/api/legacy", a.serveAPI(signinAPI))
	a.mountPages(mux)
	mux.HandleFunc("/{tenant}/api/authenticator/{rest...}", a.serveAuthenticator(&authenticator.API{Service: a.Authenticator}))
	a.mountWebAuthn(mux)

	api := &graphapi.API{Admin: a.Admin, SecurityInfo: a.SecurityInfo, Policies: a.Policies, ConditionalAccess: a.ConditionalAccess, Store: a.Store, Authenticate: a.authenticate, PublicURL: a.Config.PublicURL,
		MaxBodyBytes: a.Config.HTTP.MaxBodyBytes, Log: a.Log}
	api.Mount(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if graphapi.Owns(r.URL.Path) {
			api.NotFound(w, r)
			return
		}
		http.NotFound(w, r)
	})

	proxies := httpx.ProxyPolicy{Trusted: a.Config.TrustedProxyPrefixes()}
	return httpx.Chain(mux, httpx.RequestID, proxies.Middleware, httpx.Logging(a.Log), metrics.Middleware,
		httpx.Recover(a.Log), httpx.MaxBody(a.Config.HTTP.MaxBodyBytes))
}

func (a *App) audiences() []string { return []string{a.Config.PublicURL, GraphAudience} }

// withTenant resolves the {tenant} path segment (an id or a domain).
func (a *App) withTenant(h func(http.ResponseWriter, *http.Request, store.Tenant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := a.Admin.ResolveTenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			status := http.StatusNotFound
			if _, ok := apperr.As(err); !ok {
				a.Log.ErrorContext(r.Context(), "resolve tenant", "err", err)
				status = http.StatusInternalServerError
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_tenant", "error_description": "The tenant does not exist."})
			return
		}
		h(w, r, t)
	}
}

// authenticate turns a bearer token into the tenant and actor of a Graph
// API call. The app must still exist: deleting it revokes its tokens.
func (a *App) authenticate(r *http.Request) (string, directory.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if h == "" {
		return "", directory.Actor{}, apperr.Unauthenticatedf("Access token is empty.")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", directory.Actor{}, apperr.Unauthenticatedf("Access token must be sent as 'Authorization: Bearer <token>'.")
	}
	var claims tokens.Claims
	var err error
	for _, aud := range a.audiences() {
		if claims, err = a.Tokens.Verify(r.Context(), raw, aud); err == nil {
			break
		}
	}
	if err != nil {
		if !errors.Is(err, tokens.ErrInvalidToken) {
			return "", directory.Actor{}, err
		}
		return "", directory.Actor{}, apperr.Unauthenticatedf("Access token validation failure. Invalid audience, signature or lifetime.").WithCause(err)
	}
	app, err := a.Store.AppByAppID(r.Context(), claims.TenantID, claims.AppID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", directory.Actor{}, apperr.Unauthenticatedf("The application of this token no longer exists.")
		}
		return "", directory.Actor{}, err
	}
	return claims.TenantID, directory.Actor{AppID: app.AppID, AppName: app.DisplayName, Permissions: claims.Roles}, nil
}

// Serve listens until ctx is cancelled, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	go a.janitor(ctx, 10*time.Minute)
	go a.Authenticator.Run(ctx, nil)
	h := a.Config.HTTP
	return httpx.Serve(ctx, ln, a.Handler(), httpx.ServerConfig{ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout: h.ReadTimeout, WriteTimeout: h.WriteTimeout, IdleTimeout: h.IdleTimeout,
		ShutdownTimeout: h.ShutdownTimeout}, a.Log)
}

// Bootstrap initialises an empty store the way `vakt init` would, with a
// generated administrator password that is printed once to out and
// written to DATA/initial-admin-password (0600). It does nothing when a
// tenant exists.
func (a *App) Bootstrap(ctx context.Context, domain, adminUPN string, out io.Writer) error {
	ts, err := a.Store.ListTenants(ctx)
	if err != nil {
		return err
	}
	if len(ts) > 0 {
		return nil
	}
	if domain == "" {
		domain = defaultDomain(a.Config.PublicURL)
	}
	if adminUPN == "" {
		adminUPN = "admin@" + domain
	}
	pw := GeneratePassword()
	t, _, err := a.Admin.Init(ctx, domain, adminUPN, pw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.Config.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	file := filepath.Join(a.Config.Data, "initial-admin-password")
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	fmt.Fprintf(out, "vakt: created tenant %s (%s) with Global Administrator %s\n", domain, t.ID, adminUPN)
	fmt.Fprintf(out, "vakt: initial administrator password (shown once, also in %s): %s\n", file, pw)
	return nil
}

func defaultDomain(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err == nil {
		h := u.Hostname()
		if net.ParseIP(h) == nil && strings.Contains(h, ".") {
			return strings.ToLower(h)
		}
	}
	return "vakt.local"
}

// GeneratePassword returns 24 random characters from an unambiguous
// alphabet (about 137 bits), for generated administrator passwords.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	return randomString(alphabet, 24)
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}
