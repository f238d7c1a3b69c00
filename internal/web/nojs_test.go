package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// registerApp gives a user an authenticator app through the service, as
// if they had set it up earlier, and returns its key.
func (s *site) registerApp(u store.User) string {
	s.t.Helper()
	en, err := s.a.SecurityInfo.BeginTOTP(s.ctx, s.tenant.ID, u.ID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	self := directory.Actor{UserID: u.ID, UPN: u.UPN}
	if _, err := s.a.SecurityInfo.FinishTOTP(s.ctx, self, s.tenant.ID, u.ID, en.MethodID, s.code(en.SecretKey), true); err != nil {
		s.t.Fatal(err)
	}
	s.advance(time.Minute) // the next code is a new one
	return en.SecretKey
}

// TestBrowserWithoutJavaScript signs in with a password and an
// authenticator code in chromium with JavaScript switched off.
func TestBrowserWithoutJavaScript(t *testing.T) {
	chromiumPath(t)
	s := newSite(t, sqliteStore)
	u := s.user("bo@contoso.com")
	if _, err := s.a.Admin.SetPerUserMFA(s.ctx, operator, s.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced); err != nil {
		t.Fatal(err)
	}
	key := s.registerApp(u)
	base := "/" + s.tenant.ID
	b := newTab(t, s, "en", "nojs", false)
	b.open(base + "/signin")
	b.arrive("username", "signin-username")
	b.typeIn("username", u.UPN)
	b.submit("button.primary")
	b.arrive("password", "signin-password")
	b.typeIn("password", userPassword)
	b.press("#stay")
	b.submit("button.primary")
	b.arrive("mfa-code", "mfa-code")
	b.typeIn("code", s.code(key))
	b.submit("button.primary")
	b.arrive("signed-in", "myapps", "bo@contoso.com")

	// The session is multi-factor and persistent ("stay signed in").
	s.a.SignInLog.Flush(s.ctx)
	p, err := s.a.Store.ListSignIns(s.ctx, s.tenant.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterEq, Field: "userId", Value: u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, e := range p.Items {
		ok = ok || e.ErrorCode == 0 && e.AuthenticationRequirement == "multiFactorAuthentication" && strings.Contains(e.ClientAppUsed, "Browser")
	}
	if !ok {
		t.Fatalf("no successful multi-factor browser sign-in in the log: %+v", p.Items)
	}
}
