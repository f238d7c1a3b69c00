package app_test

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/oidc"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/tokens"
)

// TestOIDCConditionalAccessPerApp: single sign-on with an existing session
// still runs the policy and conditional access for the app being signed
// in to — a password-only session does not open an app whose policy
// wants MFA, nor one that policy blocks — and the sign-in log names the
// app.
func TestOIDCConditionalAccessPerApp(t *testing.T) {
	needOathtool(t)
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			w, base, wiki, wikiSecret := oidcWorld(t, be.New)
			ctx := context.Background()
			newApp := func(name string) (store.App, string) {
				a, s, err := w.a.Admin.CreateApp(w.ctx, op, w.tenant.ID, admin.NewApp{DisplayName: name, RedirectURIs: []string{rpRedirect}}, tokens.NewClientSecret)
				if err != nil {
					t.Fatal(err)
				}
				return a, s
			}
			payroll, payrollSecret := newApp("Payroll")
			locked, lockedSecret := newApp("Locked")
			for _, p := range []string{
				`{"displayName":"MFA for payroll","state":"enabled","conditions":{"clientAppTypes":["all"],
				  "applications":{"includeApplications":["` + payroll.AppID + `"]},"users":{"includeUsers":["All"]}},
				  "grantControls":{"operator":"OR","builtInControls":["mfa"]}}`,
				`{"displayName":"Block the locked app","state":"enabled","conditions":{"clientAppTypes":["all"],
				  "applications":{"includeApplications":["` + locked.AppID + `"]},"users":{"includeUsers":["All"]}},
				  "grantControls":{"operator":"OR","builtInControls":["block"]}}`,
			} {
				if _, err := w.a.ConditionalAccess.CreatePolicy(w.ctx, op, w.tenant.ID, []byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			user, key := w.totpUser("fia@contoso.com", store.PerUserMFADisabled)
			b := newBrowser(t)
			v := b.api(base, "signin", map[string]any{"username": user.UPN}, 201)
			if v = b.api(base, "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200); v.State != signin.StateDone {
				t.Fatalf("password-only sign-in: %+v", v)
			}

			// The wiki has no policy: single sign-on.
			stop, _, state, _ := w.authorize(b, w.relyingParty(ctx, wiki.AppID, wikiSecret))
			codeFrom(t, stop, state)

			// Payroll wants MFA: the browser is sent to step up, then in.
			pr := w.relyingParty(ctx, payroll.AppID, payrollSecret)
			stop, verifier, state, _ := w.authorize(b, pr)
			ret := w.signInPage(stop, payroll.AppID, true)
			v = b.api(base, "signin", map[string]any{"stepUp": true, "appId": payroll.AppID}, 201)
			if v.State != signin.StateMFA {
				t.Fatalf("step-up for payroll: %+v", v)
			}
			if v = b.api(base, "signin/"+v.FlowID+"/verify", map[string]any{"code": w.oathtool(key)}, 200); v.State != signin.StateDone {
				t.Fatalf("after the code: %+v", v)
			}
			_, to := b.follow(w.srv.URL+ret, w.srv.URL)
			back, _ := url.Parse(to)
			tok, err := pr.conf.Exchange(ctx, codeFrom(t, back, state), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := pr.verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c idClaims
			idt.Claims(&c)
			if c.ACR != oidc.ACRMFA {
				t.Fatalf("payroll ID token %+v", c)
			}

			// The locked app: access_denied at the app, no code.
			stop, _, state, _ = w.authorize(b, w.relyingParty(ctx, locked.AppID, lockedSecret))
			if q := stop.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != state {
				t.Fatalf("blocked app: %s", stop)
			}

			// The sign-in log names each app.
			w.a.SignInLog.Flush(w.ctx)
			p, _ := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
			has := func(appID string, code int) bool {
				return slices.ContainsFunc(p.Items, func(e store.SignIn) bool { return e.AppID == appID && e.ErrorCode == code })
			}
			if !has(wiki.AppID, 0) || !has(payroll.AppID, 0) || !has(locked.AppID, 53003) {
				t.Fatalf("sign-in log: %+v", p.Items)
			}
		})
	}
}

// TestOIDCSingleSignOnInGrace: during security defaults' registration
// grace, a user who skipped registering at sign-in is not asked again by
// every app they then open.
func TestOIDCSingleSignOnInGrace(t *testing.T) {
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			w := newWorld(t, be.New) // security defaults on
			w.a.OIDC.Now = w.clock
			app, secret, err := w.a.Admin.CreateApp(w.ctx, op, w.tenant.ID, admin.NewApp{DisplayName: "Wiki", RedirectURIs: []string{rpRedirect}}, tokens.NewClientSecret)
			if err != nil {
				t.Fatal(err)
			}
			u := w.user("gry@contoso.com")
			base := w.srv.URL + "/" + w.tenant.ID
			b := newBrowser(t)
			v := b.api(base, "signin", map[string]any{"username": u.UPN}, 201)
			if v = b.api(base, "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200); v.State != signin.StateRegister || !v.Register.Skippable {
				t.Fatalf("grace: %+v", v)
			}
			if v = b.api(base, "signin/"+v.FlowID+"/register/skip", nil, 200); v.State != signin.StateDone {
				t.Fatalf("skip: %+v", v)
			}
			stop, _, state, _ := w.authorize(b, w.relyingParty(context.Background(), app.AppID, secret))
			codeFrom(t, stop, state)
		})
	}
}
