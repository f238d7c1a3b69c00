package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

func sessionToken(t *testing.T, s *site, c *client) string {
	t.Helper()
	for _, ck := range c.c.Jar.Cookies(mustURL(s.srv.URL)) {
		if ck.Name == signin.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// TestStepUpInSession: stepUp=1 with a live session asks only for the
// second factor (Engine.StartStepUp), issues a new session with it and
// logs the app; prompt=login, another name or no session mean a full
// sign-in with the password.
func TestStepUpInSession(t *testing.T) {
	for _, be := range storetest.Backends {
		t.Run(be.Name, func(t *testing.T) {
			s := newSite(t, be.New)
			base := "/" + s.tenant.ID
			const appID = "11111111-2222-3333-4444-555555555555"
			c := signedIn(t, s, "eva@contoso.com") // a password-only session
			u, _ := s.a.Store.UserByUPN(s.ctx, s.tenant.ID, "eva@contoso.com")
			key := s.registerApp(u)
			before := sessionToken(t, s, c)
			if sess, err := s.a.SignIn.Session(s.ctx, s.tenant.ID, before); err != nil || sess.MFAAt != nil {
				t.Fatalf("the session before the step-up: %+v %v", sess, err)
			}

			// The page names the session's user; the browser sends the
			// form as it stands and gets the code page, not the password.
			b := c.b
			b.Get(base+"/signin?stepUp=1&appId="+appID+"&returnUrl="+url.QueryEscape(base+"/mysecurityinfo")).
				Expect(200, `data-page="signin-username"`, `name="stepUp" value="1"`, `value="eva@contoso.com"`)
			page := b.Submit(nil).Expect(200, `data-page="mfa-code"`, "eva@contoso.com")
			if strings.Contains(page, `name="password"`) {
				t.Fatal("the step-up asked for the password again")
			}
			b.Submit(url.Values{"code": {"000000"}}).Expect(http.StatusBadRequest, "The code is not correct.")
			b.Submit(url.Values{"code": {s.code(key)}}).Expect(200, `data-page="si-list"`)
			after := sessionToken(t, s, c)
			sess, err := s.a.SignIn.Session(s.ctx, s.tenant.ID, after)
			if after == before || err != nil || sess.MFAAt == nil || sess.UserID != u.ID {
				t.Fatalf("the session after the step-up: %+v %v", sess, err)
			}
			s.a.SignInLog.Flush(s.ctx)
			p, err := s.a.Store.ListSignIns(s.ctx, s.tenant.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterEq, Field: "appId", Value: appID}})
			// Logged like any sign-in: the wrong code failed; the success
			// stands on the session (no password) plus the code.
			ok, failed := false, false
			for _, e := range p.Items {
				failed = failed || e.ErrorCode == 500121
				ok = ok || e.ErrorCode == 0 && e.UserID == u.ID && e.AuthenticationRequirement == "multiFactorAuthentication" &&
					len(e.AuthDetails) == 2 && e.AuthDetails[0].Method == "Previous session"
			}
			if err != nil || !ok || !failed {
				t.Fatalf("the step-up in the log for the app: %+v %v", p.Items, err)
			}

			// prompt=login: the password again, even with stepUp=1.
			s.advance(time.Minute)
			b.Get(base+"/signin?stepUp=1&prompt=login").Expect(200, `name="prompt" value="login"`)
			b.Submit(url.Values{"username": {"eva@contoso.com"}}).Expect(200, `data-page="signin-password"`)

			// Someone else at the same browser signs in as themselves.
			s.user("olle@contoso.com")
			b.Get(base+"/signin?stepUp=1").Expect(200, `value="eva@contoso.com"`)
			b.Submit(url.Values{"username": {"olle@contoso.com"}}).Expect(200, `data-page="signin-password"`, "olle@contoso.com")

			// No session: the same address is a full sign-in.
			b2 := s.client().b
			b2.Get(base+"/signin?stepUp=1").Expect(200, `value=""`)
			b2.Submit(url.Values{"username": {"eva@contoso.com"}}).Expect(200, `data-page="signin-password"`)
		})
	}
}
