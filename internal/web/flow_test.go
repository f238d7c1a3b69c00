package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestPlainHTTPFlow goes through sign-in, registration, security info and
// password reset with a plain HTTP client and cookie jar (no JavaScript,
// no browser), on every store backend.
func TestPlainHTTPFlow(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.New)
			s.user("anna@contoso.com")
			base := "/" + s.tenant.ID
			c := s.client()
			c.get(base+"/signin").expect(200, `name="username"`)
			c.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}}).expect(200, `name="password"`)
			page := c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, "More information required", `id="skip"`)
			if !strings.Contains(page, "14 days") {
				t.Fatalf("no grace days on the page:\n%s", page)
			}
			c.post(base+"/signin", url.Values{"step": {"registerBegin"}}).expect(200, "Can&#39;t scan the image?")
			key := secretKeyOn(t, c.last)
			c.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {s.code(key)},
				"uri": {"otpauth://totp/x?secret=" + key}, "secretKey": {key}}).expect(200, "My apps", "No apps yet")
			// A new browser must now pass the app's code.
			s.advance(time.Minute)
			c2 := s.client()
			c2.get(base + "/signin?returnUrl=" + url.QueryEscape(base+"/mysecurityinfo")).expect(200)
			c2.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "returnUrl": {base + "/mysecurityinfo"}}).expect(200)
			// From a familiar network security defaults ask for nothing more;
			// security info then asks for a fresh second factor (step-up)
			// inside the session: the code, not the password again.
			c2.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `name="stepUp" value="1"`, `value="anna@contoso.com"`)
			c2.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "stepUp": {"1"}, "returnUrl": {base + "/mysecurityinfo"}}).expect(200, "Enter code")
			c2.post(base+"/signin", url.Values{"step": {"verify"}, "code": {s.code(key)}}).expect(200, "Security info", "Authenticator app", "Default sign-in method:")
		})
	}
}

// TestSignInParameters: an existing session goes straight to returnUrl
// unless prompt=login; appId reaches the sign-in log; after the grace the
// registration cannot be skipped, and a mistyped code keeps the QR code.
func TestSignInParameters(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := signedIn(t, s, "eva@contoso.com")
	c.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.get(base + "/signin?returnUrl=" + url.QueryEscape(base+"/myapps?x=1")).expect(http.StatusSeeOther)
	c.c.CheckRedirect = nil
	c.get(base+"/signin?prompt=login&appId=11111111-2222-3333-4444-555555555555").expect(200, `data-page="signin-username"`, `name="prompt" value="login"`)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {"eva@contoso.com"}, "prompt": {"login"},
		"appId": {"11111111-2222-3333-4444-555555555555"}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `id="skip"`)
	s.a.SignInLog.Flush(s.ctx)
	p, err := s.a.Store.ListSignIns(s.ctx, s.tenant.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterEq, Field: "appId", Value: "11111111-2222-3333-4444-555555555555"}})
	if err != nil || len(p.Items) == 0 || p.Items[0].ClientAppUsed != "Browser" {
		t.Fatalf("the app's sign-in is not in the log: %+v %v", p.Items, err)
	}

	// Fifteen days on, registration is required.
	s.advance(15 * 24 * time.Hour)
	c2 := s.client()
	c2.get(base + "/signin").expect(200)
	c2.post(base+"/signin", url.Values{"step": {"username"}, "username": {"eva@contoso.com"}}).expect(200)
	page := c2.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, "You need to finish this before you can continue.")
	if strings.Contains(page, `id="skip"`) {
		t.Fatal("skip offered after the grace period")
	}
	c2.post(base+"/signin", url.Values{"step": {"skip"}}).expect(http.StatusBadRequest, "You cannot skip this any longer.")
	c2.post(base+"/signin", url.Values{"step": {"registerBegin"}}).expect(200, `data-page="signin-register-app"`)
	key := secretKeyOn(t, c2.last)
	uri := regexp.MustCompile(`name="uri" value="([^"]+)"`).FindStringSubmatch(c2.last)[1]
	c2.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {"000000"}, "uri": {html.UnescapeString(uri)}, "secretKey": {key}}).
		expect(http.StatusBadRequest, "The code is not correct.", `data-key="`+key+`"`, "data:image/png;base64,")
	c2.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {s.code(key)}}).expect(200, `data-page="myapps"`)
	// Out of order: the flow is over, so a step starts again.
	c2.post(base+"/signin", url.Values{"step": {"verify"}, "code": {"123456"}}).expect(http.StatusBadRequest, "Start again.")
}
