package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/oidc"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/tokens"
	"github.com/vakt-id/vakt/internal/web/webtest"
)

const rpRedirect = "http://127.0.0.1:9/rp/callback" // never fetched: the browser stops there

// browser is a cookie-keeping HTTP client that follows redirects by hand,
// the way a test can watch every hop.
type browser struct {
	t testing.TB
	c *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// follow GETs u and follows redirects until one leaves the server (or
// there is none); it returns the last response and the URL it points to.
func (b *browser) follow(u, server string) (*http.Response, string) {
	b.t.Helper()
	for range 10 {
		resp := b.get(u)
		loc := resp.Header.Get("Location")
		if loc == "" {
			return resp, ""
		}
		next, err := url.Parse(u)
		if err != nil {
			b.t.Fatal(err)
		}
		ref, _ := next.Parse(loc)
		u = ref.String()
		if !strings.HasPrefix(u, server+"/") || strings.Contains(ref.Path, "/signin") {
			return resp, u
		}
	}
	b.t.Fatal("too many redirects")
	return nil, ""
}

// api calls the JSON sign-in API with the browser's cookies.
func (b *browser) api(base, path string, body any, want int) signin.View {
	b.t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := b.c.Post(base+"/api/"+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, out)
	}
	var v signin.View
	json.Unmarshal(out, &v)
	return v
}

// oathtool computes the TOTP code at the world's clock with the
// independent implementation from Debian's oathtool.
func (w *world) oathtool(secretKey string) string {
	w.t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", w.clock().UTC().Format("2006-01-02 15:04:05 UTC"), secretKey).Output()
	if err != nil {
		w.t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func needOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Fatal("oathtool is missing; CI installs the Debian package oathtool")
	}
}

// totpUser creates a user with an authenticator app registered.
func (w *world) totpUser(upn string, mfa store.PerUserMFAState) (store.User, string) {
	w.t.Helper()
	u := w.user(upn)
	if _, err := w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{upn}, mfa); err != nil {
		w.t.Fatal(err)
	}
	en, err := w.a.SecurityInfo.BeginTOTP(w.ctx, w.tenant.ID, u.ID, "")
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.a.SecurityInfo.FinishTOTP(w.ctx, op, w.tenant.ID, u.ID, en.MethodID, w.code(en.SecretKey), false); err != nil {
		w.t.Fatal(err)
	}
	w.advance(time.Minute) // the registration's code step is spent
	return u, en.SecretKey
}

// rp is a relying party built with go-oidc and x/oauth2.
type rp struct {
	conf     oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

func (w *world) relyingParty(ctx context.Context, clientID, secret string) *rp {
	w.t.Helper()
	issuer := w.srv.URL + "/" + w.tenant.ID + "/v2.0"
	p, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		w.t.Fatalf("discovery: %v", err)
	}
	// One request per exchange: x/oauth2's auto-detection would retry a
	// refused code with the other client authentication style.
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &rp{provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: clientID}),
		conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: ep, RedirectURL: rpRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}}
}

type idClaims struct {
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	TID      string   `json:"tid"`
	Name     string   `json:"name"`
	UPN      string   `json:"preferred_username"`
}

// authorize sends the browser to the authorize endpoint and returns where
// vakt sends it: the sign-in page or the relying party's redirect URI.
func (w *world) authorize(b *browser, r *rp, extra ...oauth2.AuthCodeOption) (stop *url.URL, verifier, state, nonce string) {
	verifier, state, nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:16], oauth2.GenerateVerifier()[:16]
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}, extra...)
	_, to := b.follow(r.conf.AuthCodeURL(state, opts...), w.srv.URL)
	u, err := url.Parse(to)
	if err != nil || to == "" {
		w.t.Fatalf("authorize ended at %q", to)
	}
	return u, verifier, state, nonce
}

// codeFrom checks the redirect to the relying party and returns its code.
func codeFrom(t testing.TB, u *url.URL, state string) string {
	t.Helper()
	if u == nil {
		t.Fatal("no redirect to the app")
	}
	if u.Scheme+"://"+u.Host+u.Path != rpRedirect || u.Query().Get("state") != state || u.Query().Get("code") == "" {
		t.Fatalf("redirect to the app: %s", u)
	}
	return u.Query().Get("code")
}

// signInPage checks the sign-in page contract and returns returnUrl.
func (w *world) signInPage(u *url.URL, appID string, stepUp bool) string {
	w.t.Helper()
	q := u.Query()
	ret := q.Get("returnUrl")
	if u.Path != "/"+w.tenant.ID+"/signin" || q.Get("appId") != appID || (q.Get("stepUp") == "1") != stepUp ||
		!strings.HasPrefix(ret, "/"+w.tenant.ID+"/oauth2/v2.0/login?id=") {
		w.t.Fatalf("sign-in page URL %s", u)
	}
	return ret
}

// oidcWorld is a world without security defaults, on the world's clock,
// with a confidential app registered for rpRedirect.
func oidcWorld(t testing.TB, newStore storetest.NewStore) (w *world, base string, app store.App, secret string) {
	w = newWorld(t, newStore)
	w.defaultsOff()
	w.a.OIDC.Now = w.clock
	app, secret, err := w.a.Admin.CreateApp(w.ctx, op, w.tenant.ID, admin.NewApp{DisplayName: "Wiki", RedirectURIs: []string{rpRedirect}}, tokens.NewClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	return w, w.srv.URL + "/" + w.tenant.ID, app, secret
}

func TestOIDCRelyingParty(t *testing.T) {
	needOathtool(t)
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			// Code + PKCE through the pages, as a browser without
			// JavaScript: authorize → sign-in page → name → password →
			// the authenticator's code (oathtool) → back through
			// returnUrl → the app's redirect URI with the code.
			ps := startOnPages(t, be.New)
			w, app, r, anna, annaKey, b, verifier, state, nonce := ps.w, ps.app, ps.r, ps.user, ps.key, ps.b, ps.verifier, ps.state, ps.nonce
			ctx := context.Background()
			b.Expect(200, `data-page="signin-username"`)
			b.Submit(url.Values{"username": {anna.UPN}}).Expect(200, `data-page="signin-password"`)
			b.Submit(url.Values{"password": {"Lila-Kor-Flyger-88"}}).Expect(200, `data-page="mfa-code"`)
			code := codeFrom(t, b.Submit(url.Values{"code": {w.oathtool(annaKey)}}).Location(), state)
			tok, c, sub := r.redeem(t, code, verifier)
			if !slices.Contains(c.AMR, "mfa") || !slices.Contains(c.AMR, "otp") || !slices.Contains(c.AMR, "pwd") || c.ACR != oidc.ACRMFA ||
				c.Nonce != nonce || c.TID != w.tenant.ID || sub != anna.ID || c.AuthTime == 0 || c.UPN != anna.UPN {
				t.Fatalf("ID token claims %+v sub %s", c, sub)
			}
			// The code is spent.
			if _, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); oauthCode(err) != "invalid_grant" {
				t.Fatalf("second exchange: %v", err)
			}
			// userinfo with the access token.
			ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != anna.ID {
				t.Fatalf("userinfo: %+v %v", ui, err)
			}
			// The sign-in log names the app.
			w.a.SignInLog.Flush(w.ctx)
			p, _ := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
			if !slices.ContainsFunc(p.Items, func(e store.SignIn) bool { return e.AppID == app.AppID && e.ErrorCode == 0 }) {
				t.Fatalf("no successful sign-in for the app in the log: %+v", p.Items)
			}

			// Refresh rotates the token; the ID token keeps amr and acr.
			src := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			tok2, err := src.Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
				t.Fatal("refresh did not rotate the tokens")
			}
			idt2, err := r.verifier.Verify(ctx, tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			var c2 idClaims
			idt2.Claims(&c2)
			if !slices.Contains(c2.AMR, "mfa") || c2.ACR != oidc.ACRMFA || idt2.Subject != anna.ID {
				t.Fatalf("refreshed ID token claims %+v", c2)
			}
			// Replaying the first refresh token revokes the whole family:
			// the token the refresh just issued stops working too.
			replay := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := replay.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("replayed refresh token: %v", err)
			}
			after := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := after.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("refresh token of a revoked family: %v", err)
			}

			// Step-up: a password-only session; the app asks for MFA
			// with acr_values and the pages ask for the second factor
			// only, inside that session (no password again).
			bo, boKey := w.totpUser("bo@contoso.com", store.PerUserMFADisabled)
			b2 := webtest.New(t, w.srv.URL)
			_, state, _ = w.authorizePages(b2, r)
			w.signInPage(b2.URL, app.AppID, false)
			b2.Submit(url.Values{"username": {bo.UPN}}).Expect(200, `data-page="signin-password"`)
			codeFrom(t, b2.Submit(url.Values{"password": {"Lila-Kor-Flyger-88"}}).Location(), state)
			verifier, state, _ = w.authorizePages(b2, r, oauth2.SetAuthURLParam("acr_values", oidc.ACRMFA))
			w.signInPage(b2.URL, app.AppID, true)
			b2.Expect(200, `data-page="signin-username"`, `value="`+bo.UPN+`"`)
			page := b2.Submit(nil).Expect(200, `data-page="mfa-code"`, bo.UPN)
			if strings.Contains(page, `name="password"`) {
				t.Fatal("the step-up asked for the password again")
			}
			back := b2.Submit(url.Values{"code": {w.oathtool(boKey)}}).Location()
			_, c3, sub := r.redeem(t, codeFrom(t, back, state), verifier)
			if !slices.Contains(c3.AMR, "mfa") || c3.ACR != oidc.ACRMFA || sub != bo.ID {
				t.Fatalf("stepped-up ID token %+v", c3)
			}

			// prompt=login asks for a fresh sign-in even with a session:
			// the password again, and a later auth_time.
			w.advance(time.Minute)
			verifier, state, _ = w.authorizePages(b2, r, oauth2.SetAuthURLParam("prompt", "login"))
			if w.signInPage(b2.URL, app.AppID, false); b2.URL.Query().Get("prompt") != "login" {
				t.Fatalf("prompt=login: %s", b2.URL)
			}
			b2.Submit(url.Values{"username": {bo.UPN}}).Expect(200, `data-page="signin-password"`)
			back = b2.Submit(url.Values{"password": {"Lila-Kor-Flyger-88"}}).Location()
			_, c4, sub := r.redeem(t, codeFrom(t, back, state), verifier)
			if c4.AuthTime < w.clock().Unix() || c4.AuthTime <= c3.AuthTime || sub != bo.ID {
				t.Fatalf("prompt=login: auth_time %d (step-up %d, now %d)", c4.AuthTime, c3.AuthTime, w.clock().Unix())
			}
		})
	}
}

// redeem exchanges a code with its PKCE verifier and verifies the ID
// token with go-oidc; it returns the tokens, the claims and the subject.
func (r *rp) redeem(t testing.TB, code, verifier string) (*oauth2.Token, idClaims, string) {
	t.Helper()
	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return tok, c, idt.Subject
}

// pagesStart is an oidcWorld with its relying party and a user with the
// authenticator app and MFA enforced, whose browser a fresh authorization
// request has brought to the sign-in page.
type pagesStart struct {
	w                      *world
	app                    store.App
	r                      *rp
	user                   store.User
	key                    string
	b                      *webtest.Browser
	verifier, state, nonce string
}

func startOnPages(t testing.TB, newStore storetest.NewStore) pagesStart {
	t.Helper()
	w, _, app, secret := oidcWorld(t, newStore)
	ps := pagesStart{w: w, app: app, r: w.relyingParty(context.Background(), app.AppID, secret), b: webtest.New(t, w.srv.URL)}
	ps.user, ps.key = w.totpUser("anna@contoso.com", store.PerUserMFAEnforced)
	ps.verifier, ps.state, ps.nonce = w.authorizePages(ps.b, ps.r)
	w.signInPage(ps.b.URL, app.AppID, false)
	return ps
}

// authorizePages sends the browser to the authorize endpoint with PKCE
// and a nonce; it follows vakt's redirects and stops on the page it
// shows (the sign-in page) or at the app's redirect URI.
func (w *world) authorizePages(b *webtest.Browser, r *rp, extra ...oauth2.AuthCodeOption) (verifier, state, nonce string) {
	w.t.Helper()
	verifier, state, nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:16], oauth2.GenerateVerifier()[:16]
	b.Get(r.conf.AuthCodeURL(state, append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)}, extra...)...))
	return verifier, state, nonce
}

// oauthCode is the OAuth error code of a failed token request.
func oauthCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}
