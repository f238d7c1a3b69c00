package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

const hostile = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

// signedIn returns a client with a session of a new user who skipped
// registration (no methods, so security info opens without step-up).
func signedIn(t *testing.T, s *site, upn string) *client {
	t.Helper()
	s.user(upn)
	base := "/" + s.tenant.ID
	c := s.client()
	c.get(base + "/signin").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {upn}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `id="skip"`)
	c.post(base+"/signin", url.Values{"step": {"skip"}}).expect(200, `data-page="myapps"`)
	return c
}

// noRawHostile fails if the page carries the hostile text unescaped.
func noRawHostile(t *testing.T, where, page string) {
	t.Helper()
	for _, raw := range []string{"<script>alert(1)", "<img src=x", `"'><img`} {
		if strings.Contains(page, raw) {
			t.Fatalf("%s: hostile input reached the page unescaped (%q):\n%s", where, raw, page)
		}
	}
}

func TestFormTokens(t *testing.T) {
	s := newSite(t, sqliteStore)
	s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client()
	c.get(base + "/signin").expect(200)
	good := c.token()
	for name, tc := range map[string]struct {
		path   string
		fields url.Values
		header http.Header
	}{
		"missing token":          {"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "csrf": {""}}, nil},
		"forged token":           {"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}, nil},
		"another site's origin":  {"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "csrf": {good}}, http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}},
		"reset without token":    {"/passwordreset", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "csrf": {""}}, nil},
		"sign-out without token": {"/signout", url.Values{"csrf": {"x"}}, nil},
		"security info, forged":  {"/mysecurityinfo", url.Values{"action": {"delete"}, "id": {"x"}, "csrf": {"forged"}}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.srv.URL+base+tc.path, strings.NewReader(tc.fields.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header[k] = v
			}
			c.do(req).expect(http.StatusForbidden, "This form has expired or did not come from this site.")
		})
	}
	// A token without its cookie is refused: a fresh browser has none.
	t.Run("token without cookie", func(t *testing.T) {
		c2 := s.client()
		c2.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "csrf": {good}}).expect(http.StatusForbidden)
	})
	// The real token works.
	c.get(base + "/signin").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}}).expect(200, `name="password"`)
}

func TestOversizeInput(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := s.client()
	c.get(base + "/signin").expect(200)
	long := strings.Repeat("a", 2000) + "@contoso.com"
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {long}}).expect(http.StatusBadRequest, "One of the fields is too long.")
	c.get(base + "/passwordreset").expect(200)
	c.post(base+"/passwordreset", url.Values{"step": {"username"}, "username": {long}}).expect(http.StatusBadRequest)
	// A user name within the field limit but over the UPN limit.
	c.get(base + "/signin").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {strings.Repeat("b", 300)}}).expect(http.StatusBadRequest, "Enter your user name")
	// A body over the form limit.
	c.get(base + "/signin").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "pad": {strings.Repeat("x", 40<<10)}}).expect(http.StatusRequestEntityTooLarge)
	// Long query parameters and a long Accept-Language.
	c.get(base + "/signin?appId=" + strings.Repeat("z", 100)).expect(http.StatusBadRequest)
	c.lang = strings.Repeat("sv-SE,", 2000)
	c.get(base + "/signin").expect(200)
	c.lang = ""
	// Unknown steps and methods.
	c.post(base+"/signin", url.Values{"step": {"nonsense"}}).expect(http.StatusBadRequest)
	req, _ := http.NewRequest("DELETE", s.srv.URL+base+"/signin", nil)
	c.do(req).expect(http.StatusMethodNotAllowed)
	c.get("/no-such-tenant.example/signin").expect(http.StatusNotFound)
}

// TestHostileText puts markup into every text field and checks that each
// page that shows it back escapes it.
func TestHostileText(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := s.client()
	c.get(base + "/signin?appId=" + url.QueryEscape(hostile[:40]) + "&prompt=" + url.QueryEscape(hostile[:30])).expect(200)
	noRawHostile(t, "sign-in parameters", c.last)
	// Any name is taken (the page must not tell which exist) and shown
	// back, escaped.
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {hostile}}).expect(http.StatusOK, "&lt;script&gt;alert(1)&lt;/script&gt;")
	noRawHostile(t, "user name on the password page", c.last)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {hostile}}).expect(http.StatusBadRequest, "Your user name or password is incorrect.")
	noRawHostile(t, "password", c.last)
	c.post(base+"/signin", url.Values{"step": {"tap"}, "tap": {hostile}}).expect(http.StatusBadRequest)
	noRawHostile(t, "temporary access pass", c.last)

	c.get(base + "/passwordreset").expect(200)
	c.post(base+"/passwordreset", url.Values{"step": {"username"}, "username": {hostile}}).expect(200)
	noRawHostile(t, "reset user name", c.last)

	u := signedIn(t, s, "anna@contoso.com")
	u.get(base+"/mysecurityinfo").expect(200, `data-page="si-list"`)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"phoneSend"}, "number": {hostile}, "phoneType": {hostile}, "channel": {hostile}}).expect(http.StatusBadRequest, "country code")
	noRawHostile(t, "phone number", u.last)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"emailSend"}, "email": {hostile}}).expect(http.StatusBadRequest)
	noRawHostile(t, "email", u.last)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"questions"}, "q-builtin-city-born": {hostile}, "q-builtin-first-pet": {"x"}}).expect(http.StatusBadRequest)
	noRawHostile(t, "security answers", u.last)
	if !strings.Contains(u.last, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the answer is not shown back escaped:\n%s", u.last)
	}
	u.post(base+"/mysecurityinfo", url.Values{"action": {"verifyContact"}, "challengeId": {hostile}, "code": {hostile},
		"destination": {hostile}, "channel": {hostile}, "phoneType": {hostile}}).expect(http.StatusNotFound)
	noRawHostile(t, "verification", u.last)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"appFinish"}, "methodId": {hostile}, "code": {"123456"}, "uri": {hostile}, "secretKey": {hostile}}).expect(http.StatusNotFound)
	noRawHostile(t, "app registration", u.last)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"notme"}, "id": {hostile}}).expect(http.StatusNotFound)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"default"}, "choice": {hostile}}).expect(http.StatusBadRequest)
	u.post(base+"/mysecurityinfo", url.Values{"action": {"delete"}, "id": {hostile}}).expect(http.StatusNotFound)
	u.get(base + "/mysecurityinfo?view=delete&id=" + url.QueryEscape(hostile)).expect(http.StatusNotFound)

	// A display name with markup, shown on my apps and in the app list.
	if err := s.a.Store.CreateApp(s.ctx, store.App{ID: "00000000-0000-0000-0000-0000000000a1", TenantID: s.tenant.ID,
		AppID: "00000000-0000-0000-0000-0000000000a2", DisplayName: hostile, RedirectURIs: []string{"https://app.example/cb", "javascript:alert(1)"},
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	u.get(base+"/myapps").expect(200, `href="https://app.example/"`)
	noRawHostile(t, "my apps", u.last)
}

func TestOpenRedirectRefused(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := s.client()
	for _, bad := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
		"/%2F%2Fevil.example", "/%5Cevil.example", "http:/evil.example", " /x", "/x\ny", "evil.example", "/x\\y", "///evil.example", "/\t/evil.example"} {
		c.get(base+"/signin?returnUrl="+url.QueryEscape(bad)).expect(http.StatusBadRequest, "is not allowed")
		c.get(base + "/signin").expect(200)
		c.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "returnUrl": {bad}}).expect(http.StatusBadRequest)
	}
	// A path on this host is kept and used after sign-in.
	s.user("anna@contoso.com")
	ret := base + "/myapps?from=app&x=%2F"
	c.get(base + "/signin?returnUrl=" + url.QueryEscape(ret)).expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {"anna@contoso.com"}, "returnUrl": {ret}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200)
	c.c.CheckRedirect = func(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }
	c.post(base+"/signin", url.Values{"step": {"skip"}}).expect(http.StatusSeeOther)
}

// TestSignInMessages: the same answer for an unknown name and a wrong
// password; the lockout with its wait; the disabled account's block with
// a correlation id; in both languages — on every backend.
func TestSignInMessages(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.New)
			s.user("anna@contoso.com")
			base := "/" + s.tenant.ID
			try := func(c *client, name, pw string) string {
				c.get(base + "/signin").expect(200)
				c.post(base+"/signin", url.Values{"step": {"username"}, "username": {name}}).expect(200)
				c.post(base+"/signin", url.Values{"step": {"password"}, "password": {pw}})
				return c.last
			}
			c := s.client()
			unknown := try(c, "nobody@contoso.com", "Whatever-Pass-1")
			st1 := c.status
			wrong := try(c, "anna@contoso.com", "Wrong-Pass-1")
			if c.status != st1 || !strings.Contains(unknown, "Your user name or password is incorrect.") ||
				!strings.Contains(wrong, "Your user name or password is incorrect.") {
				t.Fatalf("unknown user (%d) and wrong password (%d) differ", st1, c.status)
			}
			for i := 2; i <= 12; i++ {
				try(c, "anna@contoso.com", "Wrong-Pass-"+string(rune('a'+i)))
			}
			c.expect(http.StatusTooManyRequests, "temporarily locked", "seconds")
			sv := s.client()
			sv.lang = "sv-SE,sv;q=0.9,en;q=0.5"
			try(sv, "anna@contoso.com", "Fel-Lösen-1")
			sv.expect(http.StatusTooManyRequests, `lang="sv"`, "tillfälligt låst", "sekunder")

			s.user("off@contoso.com")
			off := false
			if _, err := s.a.Admin.UpdateUser(s.ctx, operator, s.tenant.ID, "off@contoso.com", admin.UserPatch{AccountEnabled: &off}); err != nil {
				t.Fatal(err)
			}
			d := s.client()
			try(d, "off@contoso.com", userPassword)
			d.expect(200, `data-page="signin-blocked"`, "Your account is disabled.", "50057", `id="correlation-id"`)
		})
	}
}

func TestLanguageSwitch(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := s.client()
	c.lang = "sv"
	c.get(base+"/signin?returnUrl="+url.QueryEscape(base+"/myapps")).expect(200, `lang="sv"`, "Logga in", "?lang=en")
	c.get(base+"/signin?returnUrl="+url.QueryEscape(base+"/myapps")+"&lang=en").expect(200, `lang="en"`, "Sign in", `name="returnUrl" value="`+base+`/myapps"`)
	c.lang = "sv"
	c.get(base+"/passwordreset").expect(200, `lang="en"`) // the choice outlives Accept-Language
	c.get(base+"/passwordreset?lang=sv").expect(200, `lang="sv"`, "Kom tillbaka in på ditt konto")
	c.get(base+"/passwordreset?lang=xx").expect(200, `lang="sv"`)
}
