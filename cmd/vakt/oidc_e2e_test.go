package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/web/webtest"
)

// TestOIDCEndToEnd signs a user into an app registered with `vakt app
// create --redirect-uri` through the real binary: discovery, authorize,
// the sign-in pages (password, then the authenticator app registered
// with a code from oathtool), the code exchange with PKCE, and the ID
// token checked by go-oidc against the served keys; then a step-up with
// acr_values inside a password-only session, through the same pages.
func TestOIDCEndToEnd(t *testing.T) {
	needTools(t, "oathtool")
	data := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("a-Strong-Passphrase-42\n"), 0o600)
	tenant := strings.TrimSpace(mustCLI(t, nil, "init", "--domain", "contoso.com", "--admin", "admin@contoso.com", "--admin-password-file", pw, "--data", data))
	const redirect = "http://127.0.0.1:9/cb"
	var app struct{ AppID, ClientSecret string }
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "app", "create", "--tenant", "contoso.com", "--name", "wiki", "--redirect-uri", redirect, "--data", data)), &app); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, nil, "user", "create", "--tenant", "contoso.com", "--upn", "eva@contoso.com", "--password-file", pw, "--data", data)
	srv := startServer(t, nil, "--data", data)
	ctx := context.Background()

	p, err := gooidc.NewProvider(ctx, srv.url+"/contoso.com/v2.0") // the domain finds the tenant; the issuer names its id
	if err == nil {
		t.Fatal("the issuer must name the tenant id, not a domain")
	}
	if p, err = gooidc.NewProvider(ctx, srv.url+"/"+tenant+"/v2.0"); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: app.AppID, ClientSecret: app.ClientSecret, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: []string{"openid", "profile"}}
	verifier := oauth2.GenerateVerifier()

	// Through the real pages, as a browser without JavaScript: authorize
	// → the sign-in page → name → password → security defaults ask to
	// register the authenticator app (its key read from the page, the
	// code from oathtool) → back to the app's redirect URI with the code.
	b := webtest.New(t, srv.url)
	b.Get(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n1")))
	if b.URL.Path != "/"+tenant+"/signin" || b.URL.Query().Get("appId") != app.AppID {
		t.Fatalf("authorize ended at %s", b.URL)
	}
	b.Expect(200, `data-page="signin-username"`)
	b.Submit(url.Values{"username": {"eva@contoso.com"}}).Expect(200, `data-page="signin-password"`)
	b.Submit(url.Values{"password": {"a-Strong-Passphrase-42"}}).Expect(200, `data-page="signin-register"`)
	registerOtherApp(t, b)
	m := regexp.MustCompile(`data-key="([A-Z2-7]+)"`).FindStringSubmatch(b.Page)
	if m == nil {
		t.Fatalf("no key on the page:\n%s", b.Page)
	}
	back := b.Submit(url.Values{"code": {totpCode(t, m[1], "now")}}).Location()
	// redeem takes the app's code from the redirect, exchanges it with
	// the PKCE verifier and checks the ID token against the served keys.
	type claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
		UPN string   `json:"preferred_username"`
	}
	redeem := func(back *url.URL, state, verifier string) claims {
		t.Helper()
		if back == nil || back.Scheme+"://"+back.Host+back.Path != redirect || back.Query().Get("state") != state {
			t.Fatalf("back to the app: %v", back)
		}
		tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		idt, err := p.Verifier(&gooidc.Config{ClientID: app.AppID}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var c claims
		idt.Claims(&c)
		return c
	}
	if c := redeem(back, "s1", verifier); !slices.Contains(c.AMR, "pwd") || !slices.Contains(c.AMR, "mfa") || c.ACR != "urn:vakt:acr:mfa" || c.UPN != "eva@contoso.com" {
		t.Fatalf("claims %+v", c)
	}

	// Step-up through the pages: olle skips registering for now (a
	// password-only session); then the app asks for MFA with acr_values,
	// and inside that session the pages ask only for what is missing.
	mustCLI(t, nil, "user", "create", "--tenant", "contoso.com", "--upn", "olle@contoso.com", "--password-file", pw, "--data", data)
	b2 := webtest.New(t, srv.url)
	verifier = oauth2.GenerateVerifier()
	b2.Get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier))).Expect(200, `data-page="signin-username"`)
	b2.Submit(url.Values{"username": {"olle@contoso.com"}}).Expect(200, `data-page="signin-password"`)
	b2.Submit(url.Values{"password": {"a-Strong-Passphrase-42"}}).Expect(200, `data-page="signin-register"`)
	if c := redeem(b2.Submit(url.Values{"step": {"skip"}}).Location(), "s2", verifier); c.ACR != "urn:vakt:acr:sfa" || slices.Contains(c.AMR, "mfa") {
		t.Fatalf("single-factor claims %+v", c)
	}
	verifier = oauth2.GenerateVerifier()
	b2.Get(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("acr_values", "urn:vakt:acr:mfa")))
	b2.Expect(200, `data-page="signin-username"`, `name="stepUp" value="1"`, `value="olle@contoso.com"`)
	b2.Submit(nil).Expect(200, `data-page="signin-register"`)
	registerOtherApp(t, b2)
	m = regexp.MustCompile(`data-key="([A-Z2-7]+)"`).FindStringSubmatch(b2.Page)
	if m == nil {
		t.Fatalf("no key on the page:\n%s", b2.Page)
	}
	if c := redeem(b2.Submit(url.Values{"code": {totpCode(t, m[1], "now")}}).Location(), "s3", verifier); c.ACR != "urn:vakt:acr:mfa" || !slices.Contains(c.AMR, "mfa") {
		t.Fatalf("stepped-up claims %+v", c)
	}

	// A new signing key, made from the command line while the server
	// runs, is published within seconds; the old one stays.
	if out := mustCLI(t, nil, "key", "rotate-signing", "--tenant", "contoso.com", "--data", data); !strings.Contains(out, "new signing key") {
		t.Fatalf("rotate-signing: %s", out)
	}
	if _, errOut, code := cli(t, nil, "", "key", "rotate-signing", "--tenant", "nosuch.example", "--data", data); code != 1 || errOut == "" {
		t.Fatalf("rotate-signing, unknown tenant: exit %d %s", code, errOut)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(srv.url + "/" + tenant + "/discovery/v2.0/keys")
		if err != nil {
			t.Fatal(err)
		}
		var jwks struct{ Keys []json.RawMessage }
		json.NewDecoder(resp.Body).Decode(&jwks)
		resp.Body.Close()
		if len(jwks.Keys) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("JWKS after rotation: %d keys", len(jwks.Keys))
		}
		time.Sleep(500 * time.Millisecond)
	}
	srv.stop(t)
}

// registerOtherApp chooses "a different authenticator app" (TOTP) in the
// registration interrupt: the register form without the push option,
// since the authenticator's push setup comes first.
func registerOtherApp(t *testing.T, b *webtest.Browser) {
	t.Helper()
	for _, f := range b.Forms() {
		if f.Fields.Get("step") == "registerBegin" && !f.Fields.Has("option") {
			b.SubmitForm(f, nil).Expect(200, `data-page="signin-register-app"`)
			return
		}
	}
	t.Fatalf("no way to register another authenticator app:\n%s", b.Page)
}
