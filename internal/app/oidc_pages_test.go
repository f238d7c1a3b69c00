package app_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/tokens"
	"github.com/vakt-id/vakt/internal/web/webtest"
)

// TestOIDCPagesRefuseHostileInput: on the way from authorize through the
// pages, a return address that leaves the host (in the address, in the
// form, in the flow cookie) and a forged or missing form token mid-flow
// are refused; the sign-in then still completes for the app.
func TestOIDCPagesRefuseHostileInput(t *testing.T) {
	needOathtool(t)
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			ps := startOnPages(t, be.New)
			w, r, anna, key, b := ps.w, ps.r, ps.user, ps.key, ps.b
			page := *b.URL
			ret := page.Query().Get("returnUrl")

			// A returnUrl that leaves the host: refused with the error page,
			// no redirect, no flow started.
			for _, evil := range []string{"https://evil.example/cb", "//evil.example/cb", "/\\evil.example/cb", "/%2F%2Fevil.example/cb",
				"javascript:alert(1)", "http:/evil.example", "/ /evil.example", "\t//evil.example", strings.Repeat("/a", 1100)} {
				q := page.Query()
				q.Set("returnUrl", evil)
				b.Get(page.Path+"?"+q.Encode()).Expect(http.StatusBadRequest, "is not allowed")
				if b.URL.Host != page.Host || b.Location() != nil {
					t.Fatalf("returnUrl %q: ended at %s", evil, b.URL)
				}
				// The same address typed into the page's own form.
				b.Get(page.String()).Expect(200, `data-page="signin-username"`)
				why := "is not allowed"
				if len(evil) > 1024 {
					why = "too long" // the form's limit on any one field comes first
				}
				b.SubmitForm(b.Forms()[0], url.Values{"username": {anna.UPN}, "returnUrl": {evil}}).Expect(http.StatusBadRequest, why)
				if flowCookie(b) != "" {
					t.Fatalf("returnUrl %q in the form started a flow", evil)
				}
			}

			// A forged token, another browser's token, or none: refused
			// (403) and the flow stays where it was.
			b.Get(page.String())
			b.Submit(url.Values{"username": {anna.UPN}}).Expect(200, `data-page="signin-password"`)
			other := webtest.New(t, w.srv.URL)
			other.Get(page.String()).Expect(200)
			for _, tok := range []string{"forged", other.Token(), "", strings.Repeat("A", 43)} {
				pw := url.Values{"step": {"password"}, "password": {"Lila-Kor-Flyger-88"}, "csrf": {tok}}
				b.Post("/"+w.tenant.ID+"/signin", pw).Expect(http.StatusForbidden)
				b.Get("/"+w.tenant.ID+"/signin").Expect(200, `data-page="signin-password"`)
			}
			b.Submit(url.Values{"password": {"Lila-Kor-Flyger-88"}}).Expect(200, `data-page="mfa-code"`)
			code := url.Values{"step": {"verify"}, "code": {w.oathtool(key)}, "csrf": {other.Token()}}
			b.Post("/"+w.tenant.ID+"/signin", code).Expect(http.StatusForbidden)

			// A flow cookie rewritten to return elsewhere: the pages check
			// the address again and fall back to My apps.
			parts := strings.Split(flowCookie(b), ".")
			if len(parts) != 3 {
				t.Fatalf("flow cookie %q", flowCookie(b))
			}
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte("https://evil.example/cb"))
			b.HTTP.Jar.SetCookies(mustParseURL(t, w.srv.URL), []*http.Cookie{{Name: "vakt_signin", Value: strings.Join(parts, "."), Path: "/"}})
			b.Get("/"+w.tenant.ID+"/signin").Expect(200, `data-page="mfa-code"`)
			b.Submit(url.Values{"code": {w.oathtool(key)}}).Expect(200, `data-page="myapps"`)
			if b.URL.Host != page.Host || b.URL.Path != "/"+w.tenant.ID+"/myapps" {
				t.Fatalf("after a rewritten flow cookie: %s", b.URL)
			}

			// The app's request still completes with the session.
			b.Get(ret)
			if _, c, sub := r.redeem(t, codeFrom(t, b.Location(), ps.state), ps.verifier); sub != anna.ID || !slices.Contains(c.AMR, "mfa") {
				t.Fatalf("after the refusals: %s %+v", sub, c)
			}
		})
	}
}

func flowCookie(b *webtest.Browser) string {
	for _, c := range b.HTTP.Jar.Cookies(b.URL) {
		if c.Name == "vakt_signin" {
			return c.Value
		}
	}
	return ""
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestOIDCMyAppsOneClick: My apps lists the web and single-page apps (not
// native or service ones) and one click on a web app signs the person in
// to it: the link opens the app at its origin, the app starts its own
// code + PKCE request, and the live session completes it without a page.
func TestOIDCMyAppsOneClick(t *testing.T) {
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			w := newWorld(t, be.New)
			w.defaultsOff()
			w.a.OIDC.Now = w.clock
			ctx := context.Background()

			// The app: its home page starts the sign-in, its callback
			// finishes it and greets the user named in the ID token.
			rpSrv := httptest.NewUnstartedServer(nil)
			home := "http://" + rpSrv.Listener.Addr().String()
			wiki, secret, err := w.a.Admin.CreateApp(ctx, op, w.tenant.ID, admin.NewApp{DisplayName: "Wiki", RedirectURIs: []string{home + "/auth/callback"}}, tokens.NewClientSecret)
			if err != nil {
				t.Fatal(err)
			}
			r := w.relyingParty(ctx, wiki.AppID, secret)
			r.conf.RedirectURL = home + "/auth/callback"
			var verifier, state string
			mux := http.NewServeMux()
			mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, req *http.Request) {
				verifier, state = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:16]
				http.Redirect(rw, req, r.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
			})
			mux.HandleFunc("GET /auth/callback", func(rw http.ResponseWriter, req *http.Request) {
				if req.URL.Query().Get("state") != state {
					http.Error(rw, "state", http.StatusBadRequest)
					return
				}
				tok, err := r.conf.Exchange(req.Context(), req.URL.Query().Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					http.Error(rw, err.Error(), http.StatusBadGateway)
					return
				}
				idt, err := r.verifier.Verify(req.Context(), tok.Extra("id_token").(string))
				if err != nil {
					http.Error(rw, err.Error(), http.StatusBadGateway)
					return
				}
				var c idClaims
				idt.Claims(&c)
				fmt.Fprintf(rw, "Hello %s", c.UPN)
			})
			rpSrv.Config.Handler = mux
			rpSrv.Start()
			t.Cleanup(rpSrv.Close)
			for name, p := range map[string]admin.AppPatch{
				"Planner": {SPA: &[]string{"https://planner.contoso.com/app"}},
				"Mobile":  {PublicClient: &[]string{"com.contoso.mobile:/cb", "http://127.0.0.1/cb"}},
				"Nightly": {},
			} {
				p.DisplayName = &name
				if _, err := w.a.Admin.CreateApplication(ctx, op, w.tenant.ID, p); err != nil {
					t.Fatal(err)
				}
			}

			anna := w.user("anna@contoso.com")
			b := webtest.New(t, w.srv.URL)
			b.Get("/"+w.tenant.ID+"/myapps").Expect(200, `data-page="signin-username"`)
			b.Submit(url.Values{"username": {anna.UPN}}).Expect(200, `data-page="signin-password"`)
			page := b.Submit(url.Values{"password": {"Lila-Kor-Flyger-88"}}).Expect(200, `data-page="myapps"`,
				`href="`+home+`/"`, ">Wiki<", `href="https://planner.contoso.com/"`, ">Planner<")
			if strings.Contains(page, "Mobile") || strings.Contains(page, "Nightly") {
				t.Fatalf("a native or service app is listed:\n%s", page)
			}

			// One click: the browser follows every redirect, across hosts.
			click := &http.Client{Jar: b.HTTP.Jar}
			resp, err := click.Get(home + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "Hello "+anna.UPN || resp.Request.URL.Path != "/auth/callback" {
				t.Fatalf("one click on Wiki: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
			}
		})
	}
}
