package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// signedInBrowser is a browser with a single-factor session of a new user.
func (w *world) signedInBrowser(upn string) (*browser, store.User) {
	w.t.Helper()
	u := w.user(upn)
	b := newBrowser(w.t)
	base := w.srv.URL + "/" + w.tenant.ID
	v := b.api(base, "signin", map[string]any{"username": upn}, 201)
	if v = b.api(base, "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200); v.State != signin.StateDone {
		w.t.Fatalf("sign-in: %+v", v)
	}
	return b, u
}

// postToken sends a raw token request.
func (w *world) postToken(tenant, ctype, body string) (int, map[string]any) {
	return w.postTokenTo(tenant, "", ctype, body)
}

func (w *world) postTokenURL(tenant, query, body string) (int, map[string]any) {
	return w.postTokenTo(tenant, query, "application/x-www-form-urlencoded", body)
}

func (w *world) postTokenTo(tenant, query, ctype, body string) (int, map[string]any) {
	w.t.Helper()
	resp, err := http.Post(w.srv.URL+"/"+tenant+"/oauth2/v2.0/token"+query, ctype, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	if resp.StatusCode >= 500 {
		w.t.Errorf("token endpoint answered %d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func TestOIDCBadInput(t *testing.T) {
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			w, base, conf, secret := oidcWorld(t, be.New)
			ctx := context.Background()
			spaRedirect := "http://127.0.0.1:9/spa"
			pub, err := w.a.Admin.CreateApplication(w.ctx, op, w.tenant.ID, admin.AppPatch{DisplayName: ptr("SPA"), SPA: &[]string{spaRedirect}})
			if err != nil {
				t.Fatal(err)
			}
			r := w.relyingParty(ctx, conf.AppID, secret)
			b, user := w.signedInBrowser("carl@contoso.com")
			authz := base + "/oauth2/v2.0/authorize?"

			// Unknown redirect URI or client: an error page, never a
			// redirect (the URI cannot be trusted).
			for what, q := range map[string]url.Values{
				"unknown redirect": {"client_id": {conf.AppID}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"code"}, "scope": {"openid"}},
				"redirect prefix":  {"client_id": {conf.AppID}, "redirect_uri": {rpRedirect + "/../x"}, "response_type": {"code"}, "scope": {"openid"}},
				"unknown client":   {"client_id": {"00000000-0000-0000-0000-000000000000"}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"}},
				"no client":        {"redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"}},
			} {
				resp := b.get(authz + q.Encode())
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("%s: %d Location %q", what, resp.StatusCode, resp.Header.Get("Location"))
				}
			}

			// Each refused redemption spends the code: a code is tried once.
			for what, c := range map[string]struct {
				conf     oauth2.Config
				verifier string
				want     string
			}{
				"PKCE mismatch": {r.conf, oauth2.GenerateVerifier(), "invalid_grant"},
				"no verifier":   {r.conf, "", "invalid_request"},
				"wrong secret":  {func() oauth2.Config { c := r.conf; c.ClientSecret = secret + "x"; return c }(), "", "invalid_client"},
			} {
				stop, verifier, state, _ := w.authorize(b, r)
				code := codeFrom(t, stop, state)
				opts := []oauth2.AuthCodeOption{}
				if what != "no verifier" {
					v := c.verifier
					if v == "" {
						v = verifier
					}
					opts = append(opts, oauth2.VerifierOption(v))
				}
				if _, err := c.conf.Exchange(ctx, code, opts...); oauthCode(err) != c.want {
					t.Fatalf("%s: %v, want %s", what, err, c.want)
				}
				if _, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); oauthCode(err) != "invalid_grant" {
					t.Fatalf("%s, then the right request: %v", what, err)
				}
			}
			// The code of one tenant is worthless at another.
			stop, verifier, state, _ := w.authorize(b, r)
			code := codeFrom(t, stop, state)
			other, _, err := w.a.Admin.Init(w.ctx, "fabrikam.com", "admin@fabrikam.com", "a-Strong-Passphrase-42")
			if err != nil {
				t.Fatal(err)
			}
			st, body := w.postToken(other.ID, "application/x-www-form-urlencoded", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {rpRedirect}, "client_id": {conf.AppID}, "client_secret": {secret}, "code_verifier": {verifier}}.Encode())
			if st != 400 || body["error"] != "invalid_grant" {
				t.Fatalf("code at another tenant: %d %v", st, body)
			}
			// …and the right request at its own tenant works, once.
			if _, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
				t.Fatalf("exchange: %v", err)
			}

			// A public client (spa) must use PKCE with S256.
			spa := oauth2.Config{ClientID: pub.AppID, Endpoint: r.conf.Endpoint, RedirectURL: spaRedirect, Scopes: []string{"openid", "offline_access"}}
			for what, opts := range map[string][]oauth2.AuthCodeOption{
				"no PKCE":      nil,
				"plain method": {oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
			} {
				_, to := b.follow(spa.AuthCodeURL("st", opts...), w.srv.URL)
				u, _ := url.Parse(to)
				if !strings.HasPrefix(to, spaRedirect) || u.Query().Get("error") != "invalid_request" || u.Query().Get("code") != "" {
					t.Errorf("public client, %s: %s", what, to)
				}
			}
			// The confidential app's own redirect needs no PKCE, but its
			// secret; the spa with PKCE and no secret gets tokens.
			verifier = oauth2.GenerateVerifier()
			_, to := b.follow(spa.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), w.srv.URL)
			u, _ := url.Parse(to)
			spaTok, err := spa.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil || spaTok.RefreshToken == "" {
				t.Fatalf("public client with PKCE: %v", err)
			}
			if st, body := w.postToken(w.tenant.ID, "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"},
				"client_id": {pub.AppID}, "client_secret": {"x"}, "scope": {"https://graph.microsoft.com/.default"}}.Encode()); st != 401 || body["error"] != "invalid_client" {
				t.Fatalf("client credentials for a public client: %d %v", st, body)
			}

			// prompt=none without a session: login_required at the app.
			_, to = newBrowser(t).follow(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")), w.srv.URL)
			if u, _ = url.Parse(to); u.Query().Get("error") != "login_required" || u.Query().Get("state") != "st" {
				t.Fatalf("prompt=none: %s", to)
			}

			// Oversize parameters: the protocol's error at the app, no code.
			for what, opt := range map[string]oauth2.AuthCodeOption{
				"long nonce":  oauth2.SetAuthURLParam("nonce", strings.Repeat("n", 600)),
				"many scopes": oauth2.SetAuthURLParam("scope", strings.Repeat("openid ", 40)),
			} {
				_, to = b.follow(r.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), opt), w.srv.URL)
				if u, _ = url.Parse(to); u.Query().Get("error") != "invalid_request" || u.Query().Get("code") != "" {
					t.Errorf("%s: %s", what, to)
				}
			}

			// The login endpoint refuses what it does not know.
			for _, id := range []string{"", "x", "00000000-0000-0000-0000-000000000000", strings.Repeat("a", 5000)} {
				if resp := b.get(base + "/oauth2/v2.0/login?id=" + url.QueryEscape(id)); resp.StatusCode != 400 {
					t.Errorf("login id %q: %d", id, resp.StatusCode)
				}
			}
			if resp, _ := b.c.Post(base+"/oauth2/v2.0/login?id=x", "text/plain", nil); resp.StatusCode != 405 {
				t.Errorf("POST login: %d", resp.StatusCode)
			}

			// The token endpoint: the protocol's own errors, never a 500.
			form := "application/x-www-form-urlencoded"
			for _, c := range []struct {
				ctype, body string
				status      int
				code        string
			}{
				{form, "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
				{form, "grant_type=refresh_token&refresh_token=nope&client_id=" + conf.AppID + "&client_secret=" + secret, 400, "invalid_grant"},
				{form, "grant_type=refresh_token&refresh_token=nope&client_id=nobody", 401, "invalid_client"},
				{form, "grant_type=authorization_code&code=nope&client_id=" + conf.AppID + "&client_secret=" + secret + "&redirect_uri=" + url.QueryEscape(rpRedirect), 400, "invalid_grant"},
				{form, "grant_type=client_credentials&client_id=" + conf.AppID + "&client_secret=" + secret + "&scope=openid", 400, "invalid_scope"},
				{form, "grant_type=client_credentials&client_id=nobody&client_secret=x&scope=" + url.QueryEscape("https://graph.microsoft.com/.default"), 401, "invalid_client"},
				{form, "grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"},
				{form, "grant_type=%zz", 400, "invalid_request"},
				{"application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
				{form, "", 400, "invalid_request"},
				{form, "grant_type=refresh_token&refresh_token=" + strings.Repeat("a", 300) + "&client_id=" + pub.AppID, 400, "invalid_grant"},
			} {
				st, body := w.postToken(w.tenant.ID, c.ctype, c.body)
				if st != c.status || body["error"] != c.code {
					t.Errorf("token %q: %d %v, want %d %s", truncateStr(c.body, 80), st, body, c.status, c.code)
				}
			}
			// Parameters in the URL are not read.
			if st, body := w.postTokenURL(w.tenant.ID, "?client_secret="+secret, "grant_type=client_credentials&client_id="+conf.AppID+
				"&scope="+url.QueryEscape("https://graph.microsoft.com/.default")); st != 401 || body["error"] != "invalid_client" {
				t.Errorf("secret in the URL: %d %v", st, body)
			}
			if resp, _ := http.Get(base + "/oauth2/v2.0/token"); resp.StatusCode != 405 {
				t.Errorf("GET token: %d", resp.StatusCode)
			}
			for _, p := range []string{"/nosuchtenant/v2.0/.well-known/openid-configuration", "/" + w.tenant.ID + "/oauth2/v2.0/introspect",
				"/" + w.tenant.ID + "/oauth2/v2.0/device_authorization", "/" + w.tenant.ID + "/oauth2/v2.0/nothing"} {
				if resp, _ := http.Get(w.srv.URL + p); resp.StatusCode != 404 {
					t.Errorf("GET %s: %d", p, resp.StatusCode)
				}
			}

			// Discovery names vakt's paths and nothing it does not offer;
			// the domain works as the tenant segment too.
			resp, err := http.Get(w.srv.URL + "/contoso.com/v2.0/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if doc["issuer"] != base+"/v2.0" || doc["token_endpoint"] != base+"/oauth2/v2.0/token" || doc["jwks_uri"] != base+"/discovery/v2.0/keys" ||
				doc["introspection_endpoint"] != nil || doc["end_session_endpoint"] != base+"/oauth2/v2.0/logout" {
				t.Fatalf("discovery %v", doc)
			}

			// Key rotation shows in the JWKS and new tokens use the new key.
			if _, err := w.a.Tokens.Rotate(w.ctx, w.tenant.ID); err != nil {
				t.Fatal(err)
			}
			var jwks struct {
				Keys []struct {
					Kid string `json:"kid"`
				} `json:"keys"`
			}
			resp, _ = http.Get(base + "/discovery/v2.0/keys")
			json.NewDecoder(resp.Body).Decode(&jwks)
			resp.Body.Close()
			if len(jwks.Keys) != 2 {
				t.Fatalf("JWKS after rotation: %+v", jwks)
			}
			stop, verifier, state, _ = w.authorize(b, r)
			tok, err := r.conf.Exchange(ctx, codeFrom(t, stop, state), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("ID token after rotation: %v", err)
			}
			if idt.Subject != user.ID {
				t.Fatalf("sub %s", idt.Subject)
			}

			// RP-initiated logout: a bare link does nothing; with the ID
			// token as hint the session ends and the app's refresh tokens
			// are revoked.
			logout := base + "/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {rpRedirect}, "client_id": {conf.AppID}}.Encode()
			b.get(logout)
			if session(t, b, base) != 200 {
				t.Fatal("a logout without id_token_hint ended the session")
			}
			resp = b.get(logout + "&id_token_hint=" + url.QueryEscape(tok.Extra("id_token").(string)))
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), rpRedirect) {
				t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			if session(t, b, base) != 401 {
				t.Fatal("the session outlived the logout")
			}
			w.advance(time.Second)
			src := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := src.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("refresh after logout: %v", err)
			}

			// An administrator's "revoke sessions" ends the apps' refresh
			// tokens too.
			b, _ = w.signedInBrowser("dora@contoso.com")
			stop, verifier, state, _ = w.authorize(b, r)
			if tok, err = r.conf.Exchange(ctx, codeFrom(t, stop, state), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.Admin.RevokeSessions(w.ctx, op, w.tenant.ID, "dora@contoso.com"); err != nil {
				t.Fatal(err)
			}
			src = r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := src.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("refresh after revoking the user's sessions: %v", err)
			}
			// Revocation (RFC 7009) ends a refresh token's family.
			stop, verifier, state, _ = w.authorize(b2(w, "erik@contoso.com"), r)
			if tok, err = r.conf.Exchange(ctx, codeFrom(t, stop, state), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
			rv, err := http.PostForm(base+"/oauth2/v2.0/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"},
				"client_id": {conf.AppID}, "client_secret": {secret}})
			if err != nil || rv.StatusCode != 200 {
				t.Fatalf("revoke: %v %v", rv, err)
			}
			rv.Body.Close()
			src = r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := src.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("refresh after revocation: %v", err)
			}

			// A disabled user's refresh tokens stop working.
			stop, verifier, state, _ = w.authorize(b2(w, "finn@contoso.com"), r)
			if tok, err = r.conf.Exchange(ctx, codeFrom(t, stop, state), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.Admin.UpdateUser(w.ctx, op, w.tenant.ID, "finn@contoso.com", admin.UserPatch{AccountEnabled: ptr(false)}); err != nil {
				t.Fatal(err)
			}
			src = r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)})
			if _, err := src.Token(); oauthCode(err) != "invalid_grant" {
				t.Fatalf("refresh of a disabled user: %v", err)
			}

			// Step-up needs a live session.
			b.api(base, "signin", map[string]any{"stepUp": true, "appId": conf.AppID}, 401)
		})
	}
}

// b2 is a browser signed in as a new user.
func b2(w *world, upn string) *browser {
	b, _ := w.signedInBrowser(upn)
	return b
}

func session(t *testing.T, b *browser, base string) int {
	t.Helper()
	resp := b.get(base + "/api/session")
	return resp.StatusCode
}

func ptr[T any](v T) *T { return &v }

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
