package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// SignInURL is where a browser without a usable session goes: the sign-in
// pages, which come back to returnURL (a path on this server) once the
// engine has issued a session. stepUp asks for the second factor inside
// the existing session; forceLogin for a fresh sign-in.
func (p *Provider) SignInURL(tenantID, returnURL, appID string, stepUp, forceLogin bool) string {
	q := url.Values{"returnUrl": {returnURL}, "appId": {appID}}
	if stepUp {
		q.Set("stepUp", "1")
	}
	if forceLogin {
		q.Set("prompt", "login")
	}
	return p.PublicURL + "/" + tenantID + "/signin?" + q.Encode()
}

// serveLogin is the login URL of every client: GET .../login?id=ID. It
// completes the authorization request from the browser's session, or
// sends the browser to sign in (and back here) when the session is
// missing, too old, or lacks the MFA the app asked for.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request, t store.Tenant, o *op.Provider) {
	if !getOnly(w, r) {
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.Tokens.Issuer(t.ID))
	r = r.WithContext(ctx)
	w.Header().Set("Cache-Control", "no-store")
	id := r.URL.Query().Get("id")
	st := &storage{p: p, tenantID: t.ID}
	ar, err := st.authRequest(ctx, id)
	if err != nil {
		var oe *zoidc.Error
		if !errors.As(err, &oe) {
			p.log().ErrorContext(ctx, "oidc login: load request", "tenant", t.ID, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.Error(w, "This sign-in request has expired or does not exist. Go back to the app and sign in again.", http.StatusBadRequest)
		return
	}
	callback := p.PublicURL + "/" + t.ID + pathAuthorize + "/callback?id=" + url.QueryEscape(ar.id)
	if ar.d.Done {
		http.Redirect(w, r, callback, http.StatusFound)
		return
	}

	var sess store.Session
	present := false
	if c, err := r.Cookie(signin.SessionCookie); err == nil && c.Value != "" {
		sess, err = p.Engine.Session(ctx, t.ID, c.Value)
		switch {
		case err == nil:
			present = true
		case !errors.Is(err, store.ErrNotFound):
			p.log().ErrorContext(ctx, "oidc login: session", "tenant", t.ID, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	var user store.User
	if present {
		user, err = p.Store.GetUser(ctx, t.ID, sess.UserID)
		if err != nil || !user.AccountEnabled {
			present = false // a session of a removed or disabled user does not count
		}
	}
	next := Decide(SessionFacts{Present: present, AuthAt: sess.AuthAt, MFA: sess.MFAAt != nil || slices.Contains(sess.Methods, "mfa")},
		RequestFacts{CreatedAt: ar.d.CreatedAt, PromptLogin: slices.Contains(ar.d.Prompt, zoidc.PromptLogin),
			PromptNone: slices.Contains(ar.d.Prompt, zoidc.PromptNone), MaxAge: ar.d.MaxAge, ACRValues: ar.d.ACRValues}, p.now())
	returnURL := "/" + t.ID + pathLogin + "?id=" + url.QueryEscape(ar.id)
	switch next {
	case LoginRequired:
		op.AuthRequestError(w, r, ar, zoidc.ErrLoginRequired(), o)
		return
	case SignIn:
		http.Redirect(w, r, p.SignInURL(t.ID, returnURL, ar.d.ClientID, false, false), http.StatusFound)
		return
	case ReAuthenticate:
		http.Redirect(w, r, p.SignInURL(t.ID, returnURL, ar.d.ClientID, false, true), http.StatusFound)
		return
	case StepUp:
		http.Redirect(w, r, p.SignInURL(t.ID, returnURL, ar.d.ClientID, true, false), http.StatusFound)
		return
	}
	// The session is good enough for the app's request; the tenant's
	// policy and conditional access for this app decide whether it is
	// good enough for the app itself (and the sign-in log records it).
	app, err := p.Store.AppByAppID(ctx, t.ID, ar.d.ClientID)
	if err != nil {
		op.AuthRequestError(w, r, ar, zoidc.ErrAccessDenied().WithDescription("the application no longer exists"), o)
		return
	}
	cookie, _ := r.Cookie(signin.SessionCookie)
	v, err := p.Engine.CheckSession(ctx, t.ID, cookie.Value, signin.Client{App: app.AppID, AppName: app.DisplayName,
		Kind: policy.ClientBrowser, IP: httpx.ClientIPFrom(ctx), UserAgent: r.UserAgent(), CorrelationID: httpx.RequestIDFrom(ctx)})
	switch {
	case err != nil:
		if _, ok := apperr.As(err); ok { // the session ended meanwhile
			http.Redirect(w, r, p.SignInURL(t.ID, returnURL, ar.d.ClientID, false, false), http.StatusFound)
			return
		}
		p.log().ErrorContext(ctx, "oidc login: check session", "tenant", t.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case v.State == signin.StateBlocked:
		op.AuthRequestError(w, r, ar, zoidc.ErrAccessDenied().WithDescription("%s", v.Blocked.Message), o)
		return
	case v.State != signin.StateDone:
		// The policy wants more (MFA, registration, a new password):
		// the pages run a step-up flow for this session.
		if slices.Contains(ar.d.Prompt, zoidc.PromptNone) {
			op.AuthRequestError(w, r, ar, zoidc.ErrInteractionRequired(), o)
			return
		}
		http.Redirect(w, r, p.SignInURL(t.ID, returnURL, ar.d.ClientID, true, false), http.StatusFound)
		return
	}
	ar.d.UserID, ar.d.AuthTime = user.ID, sess.AuthAt
	ar.d.AMR = AMR(sess.Methods, sess.MFAAt != nil)
	ar.d.ACR = ACR(ar.d.AMR)
	ar.d.Done = true
	if err := p.saveAuthRequest(r, t.ID, ar); err != nil {
		p.log().ErrorContext(ctx, "oidc login: complete request", "tenant", t.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.log().InfoContext(ctx, "oidc: authorization request completed", "tenant", t.ID, "app_id", ar.d.ClientID,
		"user", user.ID, "acr", ar.d.ACR, "request", ar.id, "correlation", uuid.NewString())
	http.Redirect(w, r, callback, http.StatusFound)
}
