package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// enrolDevice gives a user the authenticator through the engine, as the
// companion app would have at an earlier sign-in, approves the test push,
// and makes every later sign-in of the user need a second factor.
func (s *site) enrolDevice(u store.User) *device.Client {
	s.t.Helper()
	e := s.a.SignIn
	v, err := e.Start(s.ctx, s.tenant.ID, u.UPN, signinClient())
	if err == nil {
		v, err = e.Password(s.ctx, s.tenant.ID, v.FlowID, userPassword, false)
	}
	if err == nil {
		v, err = e.RegisterPushBegin(s.ctx, s.tenant.ID, v.FlowID)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	d := s.enrolWith(v.Register.Enrolment.Link)
	fin, err := e.PollPush(s.ctx, s.tenant.ID, v.FlowID, 0)
	if err != nil || fin.Register == nil || fin.Register.Enrolment == nil {
		s.t.Fatalf("waiting for the test push: %+v %v", fin, err)
	}
	s.answer(d, "test", push.Approve, fin.Register.Enrolment.Number)
	if done, err := e.PollPush(s.ctx, s.tenant.ID, v.FlowID, 0); err != nil || done.State != signin.StateDone {
		s.t.Fatalf("after the test push: %+v %v", done, err)
	}
	if _, err := s.a.Admin.SetPerUserMFA(s.ctx, operator, s.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced); err != nil {
		s.t.Fatal(err)
	}
	return d
}

// enrolWith enrols a new device with a link shown on a page.
func (s *site) enrolWith(raw string) *device.Client {
	s.t.Helper()
	link, err := device.ParseLink(raw)
	if err != nil {
		s.t.Fatalf("enrolment link %q: %v", raw, err)
	}
	en, err := device.Enroll(s.ctx, nil, link, "Anna's laptop", "cli", "1.0")
	if err != nil {
		s.t.Fatal(err)
	}
	en.Client.Now = s.clock
	return en.Client
}

// answer waits for the device's pending request of the purpose and
// answers it.
func (s *site) answer(d *device.Client, purpose string, dec push.Decision, number int) {
	s.t.Helper()
	cs, err := d.Pending(s.ctx, 5*time.Second)
	if err != nil || len(cs) != 1 || cs[0].Purpose != purpose {
		s.t.Fatalf("pending %s request: %+v %v", purpose, cs, err)
	}
	if _, err := d.Answer(s.ctx, cs[0], dec, number); err != nil {
		s.t.Fatalf("answer: %v", err)
	}
}

// signIn sends a user name and the password, as a browser without
// JavaScript does; the answer is the next step's page.
func (c *client) signIn(upn string) *client {
	c.t.Helper()
	base := "/" + c.s.tenant.ID
	c.get(base + "/signin")
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {upn}}).expect(200)
	return c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}})
}

// perUserMFAUser is a user of a tenant without security defaults whose
// per-user MFA is enforced: the decision then accepts a phone too.
func (s *site) perUserMFAUser(upn string) store.User {
	s.t.Helper()
	if err := s.a.Policies.SetSecurityDefaults(s.ctx, operator, s.tenant.ID, false, "test", true); err != nil {
		s.t.Fatal(err)
	}
	u := s.user(upn)
	if _, err := s.a.Admin.SetPerUserMFA(s.ctx, operator, s.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced); err != nil {
		s.t.Fatal(err)
	}
	return u
}

var numberRE = regexp.MustCompile(`data-number="(\d+)"`)

func numberOn(t *testing.T, page string) int {
	t.Helper()
	m := numberRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no number on the page:\n%s", page)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// status asks the push status endpoint and decodes its answer.
func (c *client) pushStatus(query string) map[string]string {
	c.t.Helper()
	c.get("/" + c.s.tenant.ID + "/signin/push/status" + query)
	var m map[string]string
	if err := json.Unmarshal([]byte(c.last), &m); err != nil {
		c.t.Fatalf("status answer is not JSON (%d): %s", c.status, c.last)
	}
	return m
}

// TestPushPages walks the push step as a browser without JavaScript does
// (the refresh reloads the page): the page shows the number and the
// script and refresh hooks, the status endpoint reports the answer, and
// the next load of the page signs in — or, for a deny and a report,
// ends the sign-in with the matching message and a correlation id.
func TestPushPages(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	d := s.enrolDevice(u)
	base := "/" + s.tenant.ID

	signIn := func() (*client, int) {
		c := s.client().signIn(u.UPN)
		page := c.expect(200,
			"Approve the sign-in request", `data-page="mfa-push"`, `<script src="/assets/web/push.js" defer></script>`,
			`<noscript><meta http-equiv="refresh" content="3;url=`+base+`/signin"></noscript>`,
			`data-status-url="`+base+`/signin/push/status"`, "Your app shows the request with these details:", "<dd>127.0.0.1</dd>")
		return c, numberOn(t, page)
	}

	t.Run("approved", func(t *testing.T) {
		c, n := signIn()
		if st := c.pushStatus(""); c.status != 200 || st["status"] != "pending" {
			t.Fatalf("status before the answer: %d %v", c.status, st)
		}
		// "I've approved it" before answering says so and keeps waiting.
		c.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(200, "Your app has not answered yet", `data-page="mfa-push"`)
		s.answer(d, "signin", push.Approve, n)
		if st := c.pushStatus("?wait=5"); st["status"] != "approved" {
			t.Fatalf("status after approval: %v", st)
		}
		// The refresh (a GET of the page) lets the engine act: signed in.
		c.get(base+"/signin").expect(200, `data-page="myapps"`)
	})

	t.Run("denied", func(t *testing.T) {
		s.advance(time.Minute)
		c, _ := signIn()
		s.answer(d, "signin", push.Deny, 0)
		c.get(base+"/signin").expect(200, `data-page="signin-blocked"`, "The request was denied in your authenticator app", `id="correlation-id"`)
	})

	t.Run("reported", func(t *testing.T) {
		s.advance(time.Minute)
		c, _ := signIn()
		s.answer(d, "signin", push.Report, 0)
		c.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(200, `data-page="signin-blocked"`, "You reported this sign-in as not yours")
	})

	t.Run("wrongNumber", func(t *testing.T) {
		s.advance(time.Minute)
		c, n := signIn()
		s.answer(d, "signin", push.Approve, (n+1)%100)
		c.get(base+"/signin").expect(200, `data-page="signin-blocked"`, "did not match")
	})

	t.Run("expired", func(t *testing.T) {
		s.advance(time.Minute)
		c, _ := signIn()
		s.advance(2 * time.Minute)
		c.get(base+"/signin").expect(200, `data-page="signin-blocked"`, "expired without an answer")
	})
}

// TestPushStatusBadInput: the status endpoint answers every bad request
// with a specific 4xx and a small JSON body, and changes nothing; the
// page's "I've approved it" form needs its token like every form.
func TestPushStatusBadInput(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	s.registerApp(s.user("bo@contoso.com"))
	base := "/" + s.tenant.ID
	statusURL := s.srv.URL + base + "/signin/push/status"

	c := s.client()
	// No sign-in in this browser.
	if st := c.pushStatus(""); c.status != 404 || st["error"] != "flowExpired" {
		t.Fatalf("no flow: %d %v", c.status, st)
	}
	// Unknown tenant.
	c.get("/no-such-tenant/signin/push/status")
	if c.status != 404 || !strings.Contains(c.last, "tenantNotFound") {
		t.Fatalf("unknown tenant: %d %s", c.status, c.last)
	}
	// Other methods.
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, statusURL, nil)
		c.do(req)
		if c.status != 405 || !strings.Contains(c.last, "methodNotAllowed") {
			t.Fatalf("%s: %d %s", m, c.status, c.last)
		}
	}
	// A forged flow cookie.
	jar := c.c.Jar
	jar.SetCookies(mustURL(s.srv.URL+"/"), []*http.Cookie{{Name: "vakt_signin", Value: "not-a-flow..", Path: "/"}})
	if st := c.pushStatus(""); c.status != 404 || st["error"] != "flowExpired" {
		t.Fatalf("forged flow: %d %v", c.status, st)
	}

	// A real flow at the password step: out of order.
	c.get(base + "/signin")
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {u.UPN}}).expect(200)
	if st := c.pushStatus(""); c.status != 409 || st["error"] != "stepOutOfOrder" {
		t.Fatalf("password step: %d %v", c.status, st)
	}
	c.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(409, `data-page="signin-password"`)
	// Bad waits.
	for _, q := range []string{"?wait=abc", "?wait=-1", "?wait=26", "?wait=99999999999999999999", "?wait=1e3"} {
		if st := c.pushStatus(q); c.status != 400 || st["error"] != "invalidWait" {
			t.Fatalf("%s: %d %v", q, c.status, st)
		}
	}

	// A code step: no push to follow.
	b := s.client().signIn("bo@contoso.com")
	b.expect(200, `data-page="mfa-code"`)
	if st := b.pushStatus(""); b.status != 400 || st["error"] != "noPushSent" {
		t.Fatalf("code step: %d %v", b.status, st)
	}
	b.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(400, `data-page="mfa-code"`, "No request was sent to your app yet")
	// The form without its token, or with another browser's.
	b.post(base+"/signin", url.Values{"step": {"pushPoll"}, "csrf": {""}}).expect(403)
	b.post(base+"/signin", url.Values{"step": {"pushPoll"}, "csrf": {c.token()}}).expect(403)
	// The registration interrupt before the set-up started.
	s.user("cia@contoso.com")
	r := s.client().signIn("cia@contoso.com")
	r.expect(200, `data-page="signin-register"`)
	if st := r.pushStatus(""); r.status != 400 || st["error"] != "noPushSent" {
		t.Fatalf("interrupt: %d %v", r.status, st)
	}
}

// TestPushRegistrationPages sets up the authenticator in the
// registration interrupt without JavaScript: the page shows the QR code
// and the link (kept across reloads until a device uses it), then the
// test push's number, and the approval signs in with the new device as
// the default method.
func TestPushRegistrationPages(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client().signIn(u.UPN)
	c.expect(200, `id="setup-push"`,
		"I want to use a different authenticator app")
	page := c.post(base+"/signin", url.Values{"step": {"registerBegin"}, "option": {"push"}}).expect(200,
		`data-page="signin-register-push"`, `class="qr"`, `data-waiting="waitingForDevice"`)
	link := regexp.MustCompile(`id="enrol-link">([^<]+)<`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no link:\n%s", page)
	}
	c.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(200, "Your app has not used the link yet", `class="qr"`)
	// Reloaded before the device enrols: the same link and its QR code.
	c.get(base+"/signin").expect(200, `data-page="signin-register-push"`, link[1], `class="qr"`)
	if st := c.pushStatus(""); st["status"] != "waitingForDevice" {
		t.Fatalf("status: %v", st)
	}
	d := s.enrolWith(strings.ReplaceAll(link[1], "&amp;", "&"))
	page = c.get(base+"/signin").expect(200, "We sent a test notification to your app", `data-waiting="pending"`)
	s.answer(d, "test", push.Approve, numberOn(t, page))
	c.post(base+"/signin", url.Values{"step": {"pushPoll"}}).expect(200, `data-page="myapps"`)
	ms, err := s.a.SecurityInfo.Methods(s.ctx, s.tenant.ID, u.ID)
	if err != nil || len(ms) != 1 || ms[0].Kind != "microsoftAuthenticator" || !ms[0].IsDefault {
		t.Fatalf("methods: %+v %v", ms, err)
	}
}

var enrolIDRE = regexp.MustCompile(`view=push&amp;id=([0-9a-f-]+)`)

// TestSecurityInfoPush adds the authenticator from security info: the
// page shows the link and its QR code, the status endpoint follows the
// device's enrolment and test push, the approval lists the device with
// its name and platform, and removing it revokes the device's key. The
// status endpoint refuses bad requests with specific 4xx answers.
func TestSecurityInfoPush(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client().signIn(u.UPN)
	c.expect(200, `data-page="signin-register"`)
	c.post(base+"/signin", url.Values{"step": {"skip"}}).expect(200, `data-page="myapps"`)
	c.get(base+"/mysecurityinfo?view=add").expect(200, `data-page="si-add"`)
	page := c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"softwareOath"}}).expect(200,
		`data-page="si-push"`, `class="qr"`, `data-waiting="waitingForDevice"`, "I want to use a different authenticator app")
	id := enrolIDRE.FindStringSubmatch(page)
	link := regexp.MustCompile(`id="enrol-link">([^<]+)<`).FindStringSubmatch(page)
	if id == nil || link == nil {
		t.Fatalf("no enrolment on the page:\n%s", page)
	}
	st := func(cl *client, q string) (int, map[string]string) {
		cl.get(base + "/mysecurityinfo?view=pushStatus" + strings.Replace(q, "?", "&", 1))
		var m map[string]string
		if err := json.Unmarshal([]byte(cl.last), &m); err != nil {
			t.Fatalf("not JSON (%d): %s", cl.status, cl.last)
		}
		return cl.status, m
	}
	if code, m := st(c, "?id="+id[1]); code != 200 || m["status"] != "waitingForDevice" {
		t.Fatalf("before enrolment: %d %v", code, m)
	}
	// Bad input: no session, no or someone else's enrolment, bad waits,
	// other methods.
	if code, m := st(s.client(), "?id="+id[1]); code != 401 || m["error"] != "noSession" {
		t.Fatalf("no session: %d %v", code, m)
	}
	for _, q := range []string{"", "?id=", "?id=" + strings.Repeat("a", 100), "?id=00000000-0000-0000-0000-000000000000"} {
		if code, m := st(c, q); code != 404 || m["error"] != "enrolmentNotFound" {
			t.Fatalf("%q: %d %v", q, code, m)
		}
	}
	if code, m := st(c, "?id="+id[1]+"&wait=x"); code != 400 || m["error"] != "invalidWait" {
		t.Fatalf("bad wait: %d %v", code, m)
	}
	// Other methods are the page's: a POST without its form token, a PUT.
	req, _ := http.NewRequest("POST", s.srv.URL+base+"/mysecurityinfo?view=pushStatus&id="+id[1], nil)
	if c.do(req); c.status != 403 {
		t.Fatalf("POST: %d", c.status)
	}
	req, _ = http.NewRequest("PUT", s.srv.URL+base+"/mysecurityinfo?view=pushStatus&id="+id[1], nil)
	if c.do(req); c.status != 405 {
		t.Fatalf("PUT: %d", c.status)
	}
	// Another user cannot see this enrolment, nor its page.
	other := s.user("bo@contoso.com")
	o := s.client().signIn(other.UPN)
	o.post(base+"/signin", url.Values{"step": {"skip"}}).expect(200, `data-page="myapps"`)
	if code, m := st(o, "?id="+id[1]); code != 404 || m["error"] != "enrolmentNotFound" {
		t.Fatalf("another user's enrolment: %d %v", code, m)
	}
	o.get(base+"/mysecurityinfo?view=push&id="+id[1]).expect(404, "The setup link has been used or has expired")

	// The device enrols; the page shows the test push's number.
	d := s.enrolWith(strings.ReplaceAll(link[1], "&amp;", "&"))
	page = c.get(base+"/mysecurityinfo?view=push&id="+id[1]).expect(200, "We sent a test notification to your app", `data-waiting="pending"`)
	s.answer(d, "test", push.Approve, numberOn(t, page))
	if code, m := st(c, "?id="+id[1]+"&wait=5"); code != 200 || m["status"] != "approved" {
		t.Fatalf("after approval: %d %v", code, m)
	}
	page = c.get(base+"/mysecurityinfo?view=push&id="+id[1]).expect(200, `data-page="si-list"`, "Your security info was updated.",
		"Anna&#39;s laptop (cli)")

	// Removing it revokes the device at once.
	ms, _ := s.a.SecurityInfo.Methods(s.ctx, s.tenant.ID, u.ID)
	if len(ms) != 1 || ms[0].Kind != "microsoftAuthenticator" {
		t.Fatalf("methods: %+v", ms)
	}
	c.get(base+"/mysecurityinfo?view=delete&id="+ms[0].ID).expect(200, "This cannot be undone.")
	c.post(base+"/mysecurityinfo", url.Values{"action": {"delete"}, "id": {ms[0].ID}}).expect(200, `data-page="si-list"`)
	var de *device.Error
	if _, err := d.Pending(s.ctx, 0); !errors.As(err, &de) || de.Status != 401 || de.Code != "deviceUnauthorized" {
		t.Fatalf("the removed device still works: %v", err)
	}
}

// TestRegisterPhonePages registers a mobile phone in the registration
// interrupt where the decision accepts it (per-user MFA, security
// defaults off): a bad number and a wrong code keep the person on their
// step with the error, the texted code signs in and saves the phone.
func TestRegisterPhonePages(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.perUserMFAUser("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client().signIn(u.UPN)
	c.expect(200, `data-page="signin-register"`,
		"I want to use my mobile phone instead", `id="channel-voice"`)
	c.post(base+"/signin", url.Values{"step": {"registerPhone"}, "number": {"070-123"}, "channel": {"sms"}}).expect(400,
		`data-page="signin-register"`, `aria-invalid="true"`, "Enter the phone number with its country code", `value="070-123"`)
	noRawHostile(t, "phone number", c.post(base+"/signin", url.Values{"step": {"registerPhone"}, "number": {hostile}, "channel": {hostile}}).expect(400))
	c.post(base+"/signin", url.Values{"step": {"registerPhone"}, "number": {"+46 70 123 45 67"}, "channel": {"sms"}}).expect(200,
		`data-page="signin-register-phone"`, "We texted a code to &#43;46 701234567")
	code := s.sentCode("+46701234567")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	c.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {wrong}, "destination": {"+46 701234567"}}).expect(400,
		`data-page="signin-register-phone"`, `aria-invalid="true"`)
	noRawHostile(t, "destination", c.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {wrong}, "destination": {hostile},
		"channel": {hostile}}).expect(400))
	c.post(base+"/signin", url.Values{"step": {"registerFinish"}, "code": {code}}).expect(200, `data-page="myapps"`)
	ms, err := s.a.SecurityInfo.Methods(s.ctx, s.tenant.ID, u.ID)
	if err != nil || len(ms) != 1 || ms[0].Kind != "phone" || ms[0].Props.PhoneNumber != "+46701234567" {
		t.Fatalf("methods: %+v %v", ms, err)
	}
}

// TestPushOutstanding: while one sign-in's push waits, a second sign-in
// gets none; its page says so and offers to send one (refused while the
// first waits) and the other ways, under "I can't use my authenticator
// app right now".
func TestPushOutstanding(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	d := s.enrolDevice(u)
	if _, err := s.a.SecurityInfo.SetPhone(s.ctx, operator, s.tenant.ID, u.ID, "mobile", "+46701234599"); err != nil {
		t.Fatal(err)
	}
	base := "/" + s.tenant.ID
	first := s.client().signIn(u.UPN)
	first.expect(200, `data-page="mfa-push"`, `id="push-number"`, "I can&#39;t use my authenticator app right now",
		"Text a code to my mobile phone")
	second := s.client().signIn(u.UPN)
	page := second.expect(200, `data-page="mfa-push"`, "We could not send a request to your authenticator app just now", `id="push-send"`)
	if strings.Contains(page, `id="push-number"`) || strings.Contains(page, "push.js") {
		t.Fatalf("a page without a push follows one:\n%s", page)
	}
	second.post(base+"/signin", url.Values{"step": {"select"}, "option": {"push"}}).expect(409,
		"A request is already waiting in your authenticator app")
	second.post(base+"/signin", url.Values{"step": {"select"}, "option": {"sms"}}).expect(200, `data-page="mfa-phone"`)
	// Once the first push is answered, a new one can go out.
	s.answer(d, "signin", push.Deny, 0)
	first.get(base+"/signin").expect(200, `data-page="signin-blocked"`)
	s.advance(time.Minute)
	third := s.client().signIn(u.UPN)
	third.expect(200, `data-page="mfa-push"`, `id="push-number"`)
}

// TestPushEnrolmentExpires: an enrolment link never used expires; the
// sign-in page then stops following it and offers to start again, and
// so does security info.
func TestPushEnrolmentExpires(t *testing.T) {
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client().signIn(u.UPN)
	c.post(base+"/signin", url.Values{"step": {"registerBegin"}, "option": {"push"}}).expect(200, `data-waiting="waitingForDevice"`)
	s.advance(11 * time.Minute)
	if st := c.pushStatus(""); st["status"] != "expired" {
		t.Fatalf("status of an expired link: %v", st)
	}
	page := c.get(base+"/signin").expect(200, `data-page="signin-register-push"`, "The setup link is no longer shown", "Start the setup again")
	if strings.Contains(page, "push.js") || strings.Contains(page, `class="qr"`) {
		t.Fatalf("an expired link is still followed or shown:\n%s", page)
	}
	c.post(base+"/signin", url.Values{"step": {"registerBegin"}, "option": {"push"}}).expect(200, `class="qr"`, `data-waiting="waitingForDevice"`)

	// Security info.
	c.post(base+"/signin", url.Values{"step": {"skip"}}).expect(200, `data-page="myapps"`)
	page = c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"softwareOath"}}).expect(200, `data-page="si-push"`)
	id := enrolIDRE.FindStringSubmatch(page)
	s.advance(11 * time.Minute)
	c.get(base+"/mysecurityinfo?view=pushStatus&id="+id[1]).expect(200, `"status":"expired"`)
	c.get(base+"/mysecurityinfo?view=push&id="+id[1]).expect(404, "The setup link has been used or has expired")
}
