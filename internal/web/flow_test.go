package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

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
			// security info then asks for a fresh second factor (step-up).
			c2.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `name="stepUp" value="1"`, `value="anna@contoso.com"`)
			c2.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "stepUp": {"1"}, "returnUrl": {base + "/mysecurityinfo"}}).expect(200)
			c2.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, "Enter code")
			c2.post(base+"/signin", url.Values{"step": {"verify"}, "code": {s.code(key)}}).expect(200, "Security info", "Authenticator app", "Default sign-in method:")
		})
	}
}
