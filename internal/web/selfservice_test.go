package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/web"
)

var questionRE = regexp.MustCompile(`name="(q-[a-z-]+)"`)

// TestPasswordResetTwoMethods: a tenant that asks for two methods; the
// person answers their security questions and an app code; an unknown
// name walks through the very same pages and never gets through; the
// reset is audited and ends every session — on every backend.
func TestPasswordResetTwoMethods(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newSite(t, b.New)
			base := "/" + s.tenant.ID
			if _, err := s.a.Store.UpdateSetting(s.ctx, s.tenant.ID, web.SSPRSetting, func([]byte) ([]byte, error) {
				return json.Marshal(web.SSPRConfig{NumberOfMethodsRequired: 2})
			}); err != nil {
				t.Fatal(err)
			}
			u := s.user("anna@contoso.com")
			key := s.registerApp(u)
			self := directory.Actor{UserID: u.ID, UPN: u.UPN}
			answers := map[string]string{"builtin-city-born": "Kiruna", "builtin-first-pet": "Sotis", "builtin-first-school": "Backaskolan"}
			if _, err := s.a.SecurityInfo.RegisterAnswers(s.ctx, self, s.tenant.ID, u.ID, answers); err != nil {
				t.Fatal(err)
			}
			// A live session that the reset must end.
			old, err := s.a.SignIn.Start(s.ctx, s.tenant.ID, u.UPN, signinClient())
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.a.SignIn.Password(s.ctx, s.tenant.ID, old.FlowID, userPassword, false)
			if err == nil && v.State == signin.StateMFA {
				v, err = s.a.SignIn.Verify(s.ctx, s.tenant.ID, old.FlowID, s.code(key))
			}
			if err != nil || v.Session == nil {
				t.Fatalf("no session to end: %+v %v", v, err)
			}
			s.advance(time.Minute)

			start := func(c *client, name string) string {
				c.get(base+"/passwordreset").expect(200, `data-page="reset-username"`)
				return c.post(base+"/passwordreset", url.Values{"step": {"username"}, "username": {name}}).expect(200, `data-page="reset-choose"`, "Verification step 1 of 2")
			}
			// The unknown name first: identical choices, and questions that
			// look the same.
			x := s.client()
			xPage := start(x, "nobody@contoso.com")
			c := s.client()
			cPage := start(c, "anna@contoso.com")
			if choices(xPage) != choices(cPage) {
				t.Fatalf("the choices differ:\n%s\n%s", choices(xPage), choices(cPage))
			}
			x.post(base+"/passwordreset", url.Values{"step": {"choose"}, "choice": {"questions"}}).expect(200, `data-page="reset-verify"`)
			xq := questionRE.FindAllStringSubmatch(x.last, -1)
			if len(xq) != 3 {
				t.Fatalf("unknown name: %d questions", len(xq))
			}
			f := url.Values{"step": {"verify"}}
			for _, q := range xq {
				f.Set(q[1], "Kiruna")
			}
			x.post(base+"/passwordreset", f).expect(http.StatusBadRequest, "That was not right.")

			// The real person: questions, then the app.
			c.post(base+"/passwordreset", url.Values{"step": {"choose"}, "choice": {"questions"}}).expect(200)
			f = url.Values{"step": {"verify"}}
			for _, q := range questionRE.FindAllStringSubmatch(c.last, -1) {
				f.Set(q[1], strings.ToUpper(answers[strings.TrimPrefix(q[1], "q-")]))
			}
			c.post(base+"/passwordreset", f).expect(200, "Verification step 2 of 2")
			if strings.Contains(c.last, `value="questions"`) {
				t.Fatal("a method already used is offered again")
			}
			c.post(base+"/passwordreset", url.Values{"step": {"choose"}, "choice": {"appCode"}}).expect(200)
			c.post(base+"/passwordreset", url.Values{"step": {"verify"}, "code": {"000000"}}).expect(http.StatusBadRequest)
			c.post(base+"/passwordreset", url.Values{"step": {"verify"}, "code": {s.code(key)}}).expect(200, `data-page="reset-password"`)
			// The rules are checked on the server.
			c.post(base+"/passwordreset", url.Values{"step": {"check"}, "newPassword": {"password1"}}).expect(200, "Strength:", "weak")
			if strings.Contains(c.last, "password1") {
				t.Fatal("the password was echoed back")
			}
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"password1"}, "confirmPassword": {"password1"}}).expect(http.StatusBadRequest, "too common")
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"short"}, "confirmPassword": {"short"}}).expect(http.StatusBadRequest, "at least 8")
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"Anna-Contoso-Rules-9"}, "confirmPassword": {"Anna-Contoso-Rules-9"}}).expect(http.StatusBadRequest, "must not contain your name")
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"Blå-Hav-Och-Grå-Sten"}, "confirmPassword": {"Blå-Hav-Och-Gra-Sten"}}).expect(http.StatusBadRequest, "not the same")
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"Blå-Hav-Och-Grå-Sten"}, "confirmPassword": {"Blå-Hav-Och-Grå-Sten"}}).expect(200, "Your password was reset")
			// The flow is over; replaying the last step starts again.
			c.post(base+"/passwordreset", url.Values{"step": {"password"}, "newPassword": {"Another-One-Here-42"}, "confirmPassword": {"Another-One-Here-42"}}).expect(http.StatusBadRequest, "has ended")

			nu, _ := s.a.Store.GetUser(s.ctx, s.tenant.ID, u.ID)
			if ok, _, _ := s.a.Hasher.Verify(s.ctx, "Blå-Hav-Och-Grå-Sten", nu.PasswordHash); !ok {
				t.Fatal("the new password was not stored")
			}
			if _, err := s.a.SignIn.Session(s.ctx, s.tenant.ID, v.Session.Token); err == nil {
				t.Fatal("the old session survived the reset")
			}
			p, err := s.a.Store.ListAudits(s.ctx, s.tenant.ID, store.ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range p.Items {
				found = found || e.Activity == "Reset password (self-service)" && e.InitiatedBy.UserID == u.ID && e.AdditionalDetails["methodsUsed"] == "questions,appCode"
			}
			if !found {
				t.Fatalf("no audit entry for the reset")
			}
		})
	}
}

var choiceRE = regexp.MustCompile(`name="choice" value="([a-zA-Z]+)"`)

func choices(page string) string {
	var out []string
	for _, m := range choiceRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, ",")
}

// TestTextMessageAndAnotherWay: a default text message is sent on its
// own; "sign in another way" switches to the app; "this wasn't me" is
// recorded; phone numbers and questions are added from security info.
func TestTextMessageAndAnotherWay(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	u := s.user("sam@contoso.com")
	key := s.registerApp(u)
	self := directory.Actor{UserID: u.ID, UPN: u.UPN}
	m, err := s.a.SecurityInfo.SetPhone(s.ctx, self, s.tenant.ID, u.ID, method.PhoneMobile, "+46701112233")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.a.SecurityInfo.SetDefault(s.ctx, self, s.tenant.ID, u.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Store.UpdateUser(s.ctx, s.tenant.ID, u.ID, func(x *store.User) error { x.PreferredMFA = "sms"; return nil }); err != nil {
		t.Fatal(err)
	}
	// System-preferred MFA would offer the app first; this user opts out.
	off := false
	if _, err := s.a.Store.UpdateUser(s.ctx, s.tenant.ID, u.ID, func(x *store.User) error { x.SystemPreferredMFA = &off; return nil }); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	c.get(base + "/signin?stepUp=1&returnUrl=" + url.QueryEscape(base+"/mysecurityinfo")).expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {u.UPN}, "stepUp": {"1"}, "returnUrl": {base + "/mysecurityinfo"}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `data-page="mfa-phone"`, "We texted a code to", "Sign in another way")
	first := s.sentCode("+46701112233")
	if first == "" {
		t.Fatal("no text was sent")
	}
	c.post(base+"/signin", url.Values{"step": {"verify"}, "code": {"999999"}}).expect(http.StatusBadRequest, "The code is not correct.")
	c.post(base+"/signin", url.Values{"step": {"select"}, "option": {"oath"}}).expect(200, `data-page="mfa-code"`)
	c.post(base+"/signin", url.Values{"step": {"select"}, "option": {"push"}}).expect(http.StatusBadRequest)
	c.post(base+"/signin", url.Values{"step": {"verify"}, "code": {s.code(key)}}).expect(200, `data-page="si-list"`, "Phone – text", "&#43;46 701112233")

	// This wasn't me.
	s.a.SignInLog.Flush(s.ctx)
	c.get(base+"/mysecurityinfo").expect(200, "This wasn&#39;t me")
	id := regexp.MustCompile(`name="action" value="notme"><input type="hidden" name="id" value="([^"]+)"`).FindStringSubmatch(c.last)
	if id == nil {
		t.Fatalf("no sign-ins listed:\n%s", c.last)
	}
	c.post(base+"/mysecurityinfo", url.Values{"action": {"notme"}, "id": {id[1]}}).expect(200, "Your administrator has been told")
	p, _ := s.a.Store.ListAudits(s.ctx, s.tenant.ID, store.ListQuery{})
	reported := false
	for _, e := range p.Items {
		reported = reported || e.Activity == "User reported suspicious sign-in" && e.AdditionalDetails["signInId"] == id[1]
	}
	if !reported {
		t.Fatal("the report was not recorded")
	}

	// An office phone by call, and security questions.
	c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"phone"}}).expect(200, `data-page="si-phone"`)
	c.post(base+"/mysecurityinfo", url.Values{"action": {"phoneSend"}, "phoneType": {"office"}, "number": {"+46 8 123 456 78"}, "channel": {"sms"}}).expect(200, "We are calling")
	msg := s.sentCode("+46812345678")
	f := url.Values{"action": {"verifyContact"}, "code": {msg}}
	for _, n := range []string{"challengeId", "phoneType", "channel", "destination"} {
		f.Set(n, regexp.MustCompile(`name="` + n + `" value="([^"]*)"`).FindStringSubmatch(c.last)[1])
	}
	f.Set("phoneType", "office")
	c.post(base+"/mysecurityinfo", f).expect(200, "Office phone")
	c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"securityQuestions"}}).expect(200, "Answer at least 3 questions")
	c.post(base+"/mysecurityinfo", url.Values{"action": {"questions"}, "q-builtin-city-born": {"Luleå"}, "q-builtin-first-pet": {"Luleå"}, "q-builtin-first-job": {"Boden"}}).expect(http.StatusBadRequest, "different answer")
	c.post(base+"/mysecurityinfo", url.Values{"action": {"questions"}, "q-builtin-city-born": {"Luleå"}, "q-builtin-first-pet": {"Morris"}, "q-builtin-first-job": {"Boden"}}).expect(200, "Security questions")

	// Stale MFA: after the window, security info asks again.
	s.advance(11 * time.Minute)
	c.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.get(base + "/mysecurityinfo").expect(http.StatusSeeOther)
}

// TestFiveAuthenticators: a sixth app is refused with the seed's message,
// in the page's language.
func TestFiveAuthenticators(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	c := signedIn(t, s, "max@contoso.com")
	u, _ := s.a.Store.UserByUPN(s.ctx, s.tenant.ID, "max@contoso.com")
	for i := 0; i < 5; i++ {
		s.registerApp(u)
	}
	// Five apps: security info wants a fresh second factor; this session
	// skipped registration, so mark it as just proved for the test.
	ms, _ := s.a.SecurityInfo.Methods(s.ctx, s.tenant.ID, u.ID)
	if len(ms) != 5 {
		t.Fatalf("%d methods", len(ms))
	}
	c.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.get(base + "/mysecurityinfo").expect(http.StatusSeeOther)
	loc := c.c.Jar.Cookies(mustURL(s.srv.URL))
	var tok string
	for _, ck := range loc {
		if ck.Name == "vakt_session" {
			tok = ck.Value
		}
	}
	sess, err := s.a.SignIn.Session(s.ctx, s.tenant.ID, tok)
	if err != nil {
		t.Fatal(err)
	}
	now := s.clock()
	if _, err := s.a.Store.UpdateSession(s.ctx, s.tenant.ID, sess.ID, func(x *store.Session) error { x.MFAAt = &now; return nil }); err != nil {
		t.Fatal(err)
	}
	c.get(base + "/mysecurityinfo").expect(200)
	c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"softwareOath"}}).expect(http.StatusConflict, "five authenticator apps or hardware tokens")
	c.get(base + "/mysecurityinfo?lang=sv")
	c.get(base+"/mysecurityinfo").expect(200, `lang="sv"`)
	c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"softwareOath"}}).expect(http.StatusConflict, "fem autentiseringsappar")
}

// TestVoiceCall: a default call goes out on its own; "I answered the
// call" says when it has not been answered, and signs in once the
// provider reports the approval.
func TestVoiceCall(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	u := s.user("vera@contoso.com")
	s.registerApp(u)
	self := directory.Actor{UserID: u.ID, UPN: u.UPN}
	if _, err := s.a.SecurityInfo.SetPhone(s.ctx, self, s.tenant.ID, u.ID, method.PhoneMobile, "+46709998877"); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := s.a.Store.UpdateUser(s.ctx, s.tenant.ID, u.ID, func(x *store.User) error {
		x.PreferredMFA, x.SystemPreferredMFA = "voiceMobile", &off
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	c.get(base + "/signin?stepUp=1").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {u.UPN}, "stepUp": {"1"}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, "We are calling", "I answered the call")
	c.post(base+"/signin", url.Values{"step": {"verify"}}).expect(200, "has not been answered yet")
	m, ok, err := delivery.LatestTo(s.outbox, "+46709998877")
	if err != nil || !ok || m.Channel != delivery.ChannelVoice {
		t.Fatalf("no call: %+v %v", m, err)
	}
	if err := s.a.SecurityInfo.RecordCallOutcome(s.ctx, s.tenant.ID, m.ID, securityinfo.OutcomeApproved); err != nil {
		t.Fatal(err)
	}
	c.post(base+"/signin", url.Values{"step": {"verify"}}).expect(200, `data-page="myapps"`)
}

// A text sent during a Swedish sign-in is written in Swedish.
func TestTextMessageInSwedish(t *testing.T) {
	s := newSite(t, sqliteStore)
	base := "/" + s.tenant.ID
	u := s.user("sara@contoso.com")
	self := directory.Actor{UserID: u.ID, UPN: u.UPN}
	if _, err := s.a.SecurityInfo.SetPhone(s.ctx, self, s.tenant.ID, u.ID, method.PhoneMobile, "+46702223344"); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	c.lang = "sv-SE,sv;q=0.9"
	c.get(base + "/signin?stepUp=1").expect(200)
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {u.UPN}, "stepUp": {"1"}}).expect(200)
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `data-page="mfa-phone"`)
	m, ok, err := delivery.LatestTo(s.outbox, "+46702223344")
	if err != nil || !ok {
		t.Fatalf("no text: %v", err)
	}
	if m.Locale != "sv" || !strings.HasPrefix(m.Text, "Din verifieringskod är ") {
		t.Fatalf("text in %q: %q", m.Locale, m.Text)
	}
}
