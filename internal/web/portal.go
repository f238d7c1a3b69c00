package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// signout ends the session (POST only, with the form token).
func (p *Pages) signout(w http.ResponseWriter, r *http.Request, rq *request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.errorPage(w, r, rq, http.StatusMethodNotAllowed, "error.method")
		return
	}
	if c, err := r.Cookie(signin.SessionCookie); err == nil && c.Value != "" {
		_ = p.Engine.SignOut(r.Context(), rq.tenant.ID, c.Value) // already gone is as good as signed out
	}
	http.SetCookie(w, &http.Cookie{Name: signin.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
	redirect(w, r, rq.base+"/signin")
}

// requireSession sends a browser without a session to sign in and back.
func (p *Pages) requireSession(w http.ResponseWriter, r *http.Request, rq *request, here string) (store.Session, store.User, bool) {
	s, ok := p.session(r, rq)
	if ok {
		u, err := p.Store.GetUser(r.Context(), rq.tenant.ID, s.UserID)
		if err == nil && u.AccountEnabled {
			return s, u, true
		}
	}
	redirect(w, r, rq.base+"/signin?returnUrl="+url.QueryEscape(here))
	return store.Session{}, store.User{}, false
}

type appItem struct {
	Name string
	Href string
}

type appsData struct {
	User string
	Apps []appItem
}

// myApps lists the tenant's apps a person can open from the browser
// (P-9.3). There is no per-user app assignment yet, so every app with a
// web address is listed; the app's own sign-in decides the rest.
func (p *Pages) myApps(w http.ResponseWriter, r *http.Request, rq *request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.errorPage(w, r, rq, http.StatusMethodNotAllowed, "error.method")
		return
	}
	_, u, ok := p.requireSession(w, r, rq, rq.base+"/myapps")
	if !ok {
		return
	}
	apps, err := p.Store.ListApps(r.Context(), rq.tenant.ID)
	if err != nil {
		msg, status := p.message(r, rq, err)
		p.renderError(w, r, rq, status, msg)
		return
	}
	d := appsData{User: u.UPN}
	for _, a := range apps {
		if href := appHome(a); href != "" {
			d.Apps = append(d.Apps, appItem{Name: a.DisplayName, Href: href})
		}
	}
	slices.SortFunc(d.Apps, func(a, b appItem) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	vw := p.newView(r, rq, "apps.title", d)
	vw.SignedIn, vw.Nav = true, "apps"
	p.render(w, r, rq, http.StatusOK, "myapps", vw)
}

// appHome is where a click on an app goes: the origin of one of its web
// or single-page-app redirect URIs, https first (http is only ever a
// loopback address, a developer's app). The app starts its own sign-in
// from there: only the app holds the state, nonce and PKCE verifier an
// authorization request needs, so vakt cannot start one for it; with the
// person's live session that request then completes without a page
// (single sign-on). Native apps (publicClient redirect URIs: private
// schemes, loopback ports) cannot be opened from a link and are not
// listed, nor are apps without a redirect URI (services).
func appHome(a store.App) string {
	loopback := ""
	for _, ru := range slices.Concat(a.RedirectURIs, a.SPARedirectURIs) {
		u, err := url.Parse(ru)
		if err != nil || u.Host == "" || u.User != nil {
			continue
		}
		switch u.Scheme {
		case "https":
			return u.Scheme + "://" + u.Host + "/"
		case "http":
			if loopback == "" {
				loopback = u.Scheme + "://" + u.Host + "/"
			}
		}
	}
	return loopback
}

func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string) {
	v := p.newView(r, rq, "error.title", errorData{Message: msg})
	p.render(w, r, rq, status, "error", v)
}
