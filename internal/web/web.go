// Package web serves the pages people see: sign-in (with the registration
// interrupt), security info, password reset and my apps (PRODUCT.md P-6,
// P-9). Pages are server-rendered html/template in Swedish and English,
// work without JavaScript, and drive the one sign-in engine
// (internal/signin) and the security-info service (internal/securityinfo)
// rather than deciding anything themselves.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Pages serves the end-user pages of every tenant.
type Pages struct {
	Engine  *signin.Engine
	Methods *securityinfo.Service
	Store   store.Store
	Hasher  *password.Hasher
	// ResolveTenant turns the {tenant} path segment (an id or a domain)
	// into the tenant.
	ResolveTenant func(ctx context.Context, ref string) (store.Tenant, error)
	// CSRFKey keys the per-form tokens (derived from the master key).
	CSRFKey       []byte
	SecureCookies bool
	// RecentMFA is how fresh a second factor must be to enter security
	// info (P-9.1); 10 minutes when zero.
	RecentMFA time.Duration
	Now       func() time.Time
	Log       *slog.Logger

	tmpl map[string]*template.Template // language → the set of layout, parts and pages
}

func (p *Pages) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Pages) recentMFA() time.Duration {
	if p.RecentMFA > 0 {
		return p.RecentMFA
	}
	return 10 * time.Minute
}

// AssetPrefix is where the embedded style sheet and images are served.
// It has three segments so it cannot collide with /{tenant}/… pages.
const AssetPrefix = "/assets/web/"

// Mount registers the pages on mux. It panics if the templates do not
// parse (they are embedded, so that is a build mistake).
func (p *Pages) Mount(mux *http.ServeMux) {
	if err := p.parse(); err != nil {
		panic(err)
	}
	sub, _ := fs.Sub(staticFS, "static")
	assets := http.StripPrefix(AssetPrefix, http.FileServer(http.FS(sub)))
	mux.HandleFunc("GET "+keyScriptPath, serveKeyScript)
	mux.Handle("GET "+AssetPrefix+"{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		assets.ServeHTTP(w, r)
	}))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.forbidden(w, r)
	}))
	for path, h := range map[string]pageFunc{
		"/{tenant}/signin":         p.signin,
		"/{tenant}/signout":        p.signout,
		"/{tenant}/mysecurityinfo": p.securityInfo,
		"/{tenant}/passwordreset":  p.passwordReset,
		"/{tenant}/myapps":         p.myApps,
	} {
		mux.Handle(path, cop.Handler(p.page(h)))
	}
	mux.Handle("/{tenant}/signin/push/status", http.HandlerFunc(p.pushStatus))
}

// pageFunc handles one page for a resolved tenant.
type pageFunc func(w http.ResponseWriter, r *http.Request, rq *request)

// request is what every page handler gets: the tenant, the language and
// the parsed form.
type request struct {
	tenant store.Tenant
	base   string // "/{tenant}" as the person typed it, escaped
	lang   string
	tr     translator
	csrf   string
}

// maxForm bounds a page's form body; maxField any one value. A field
// over the limit is refused as a whole rather than cut, so nothing the
// person typed is silently changed.
const (
	maxForm  = 32 << 10
	maxField = 1024
)

// page wraps a handler with what every page needs: security headers,
// tenant resolution, the language, and for POST the form and its CSRF
// token.
func (p *Pages) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		lang := pickLanguage(r)
		rq := &request{lang: lang, tr: translators[lang]}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, HEAD, POST")
			p.errorPage(w, r, rq, http.StatusMethodNotAllowed, "error.method")
			return
		}
		ref := r.PathValue("tenant")
		t, err := p.ResolveTenant(r.Context(), ref)
		if err != nil {
			p.errorPage(w, r, rq, http.StatusNotFound, "error.tenant")
			return
		}
		rq.tenant, rq.base = t, "/"+url.PathEscape(ref)
		// The switcher is a plain link (?lang=sv): remember the choice and
		// come back to the same address without it.
		if q := r.URL.Query(); r.Method == http.MethodGet && q.Has("lang") {
			if l := q.Get("lang"); l == "sv" || l == "en" {
				http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
					HttpOnly: true, Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
			}
			q.Del("lang")
			target := r.URL.Path
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		rq.csrf = p.csrfToken(w, r)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					p.errorPage(w, r, rq, http.StatusRequestEntityTooLarge, "error.tooLarge")
					return
				}
				p.errorPage(w, r, rq, http.StatusBadRequest, "error.badRequest")
				return
			}
			if !p.checkCSRF(r) {
				p.forbidden(w, r)
				return
			}
			for k, vs := range r.PostForm {
				for _, v := range vs {
					if fieldTooLong(k, v) {
						p.errorPage(w, r, rq, http.StatusBadRequest, "error.tooLong")
						return
					}
				}
			}
		}
		h(w, r, rq)
	})
}

// baseCSP: styles and images only from here (the QR code is a data:
// image), no script at all, never framed. A page that needs its one
// script widens it (pageCSP). form-action is left out on purpose: after
// sign-in the browser follows a redirect chain to the app's own address,
// which form-action would block.
const baseCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"

// setSecurityHeaders: the strict policy, no referrer (return addresses
// carry an app's request).
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", baseCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	h.Set("Cache-Control", "no-store")
}

// forbidden answers a request without a valid CSRF token or from another
// origin.
func (p *Pages) forbidden(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	lang := pickLanguage(r)
	p.errorPage(w, r, &request{lang: lang, tr: translators[lang]}, http.StatusForbidden, "error.csrf")
}

// clientIP is the caller's address as the proxy policy resolved it.
func clientIP(r *http.Request) string {
	if a := httpx.ClientIPFrom(r.Context()); a.IsValid() {
		return a.String()
	}
	return ""
}

// form reads a trimmed form value.
func form(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
