package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vakt-id/vakt/internal/method/push"
)

// await waits until the page shows an element, as a person waits for the
// page to move on by itself.
func (b *tab) await(css string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(css))); err != nil {
		b.t.Fatalf("waiting for %s: %v\n%s", css, err, b.html())
	}
}

// signIn types a user name and the password into the sign-in page.
func (b *tab) signIn(upn string) {
	b.t.Helper()
	b.open("/" + b.s.tenant.ID + "/signin")
	b.typeIn("username", upn)
	b.submit("button.primary")
	b.typeIn("password", userPassword)
	b.submit("button.primary")
}

// number is the number the page asks to type into the app.
func (b *tab) number() int {
	b.t.Helper()
	n, err := strconv.Atoi(b.attr("#push-number", "data-number"))
	if err != nil || !push.ValidNumber(n) {
		b.t.Fatalf("number on the page: %v", err)
	}
	return n
}

// TestBrowserPush: sign-ins with the authenticator's push in chromium
// with JavaScript on. The page learns each answer by itself (the test
// never clicks after the device answers): an approval signs in, a deny
// ends the sign-in with its message and a correlation id. Then a new user
// sets up the authenticator in the registration interrupt, enrolling the
// device with the link the page shows and approving its test push, and
// adds a second device and removes the first from security info.
func TestBrowserPush(t *testing.T) {
	chromiumPath(t)
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	d := s.enrolDevice(u)
	base := "/" + s.tenant.ID
	signIn := func(b *tab) {
		b.signIn(u.UPN)
		b.arrive("push-number", "mfa-push", "Approve the sign-in request", "Waiting for your answer in the app")
	}

	b := newTab(t, s, "en", "en-push", true)
	signIn(b)
	s.answer(d, "signin", push.Approve, b.number())
	b.await(`body[data-page="myapps"]`)
	b.arrive("push-approved", "myapps")

	s.advance(time.Minute)
	b2 := newTab(t, s, "en", "en-push-denied", true)
	signIn(b2)
	s.answer(d, "signin", push.Deny, 0)
	b2.await(`body[data-page="signin-blocked"]`)
	b2.arrive("push-denied", "signin-blocked", "The request was denied in your authenticator app", "correlation-id")

	// Registration in the interrupt, with its test push.
	s.user("bo@contoso.com")
	r := newTab(t, s, "en", "en-push-register", true)
	r.signIn("bo@contoso.com")
	r.arrive("register-interrupt", "signin-register", "I want to use a different authenticator app")
	r.submit("#setup-push")
	r.arrive("push-setup", "signin-register-push", "Set up the authenticator app", "Waiting for your app to connect")
	r.press("details.cantscan summary")
	r.shot("push-setup-cant-scan")
	link := r.text("#enrol-link")
	nd := s.enrolWith(link)
	r.await("#push-number")
	r.arrive("push-test", "signin-register-push", "We sent a test notification to your app")
	s.answer(nd, "test", push.Approve, r.number())
	r.await(`body[data-page="myapps"]`)
	r.arrive("push-registered", "myapps")

	// Security info lists the device; a second one is added there, with
	// its test push followed live, and the first is removed.
	// Later than the first (methods list oldest first), so the first
	// removal link below is the first device's.
	s.advance(time.Second)
	r.open(base + "/mysecurityinfo")
	r.arrive("security-info-device", "si-list", "Anna's laptop (cli)")
	r.submit("#add-method")
	r.press("#kind-softwareOath")
	r.submit("button.primary")
	r.arrive("si-push-setup", "si-push", "Waiting for your app to connect")
	second := s.enrolWith(r.text("#enrol-link"))
	r.await("#push-number")
	r.arrive("si-push-test", "si-push", "We sent a test notification to your app")
	s.answer(second, "test", push.Approve, r.number())
	r.await(`body[data-page="si-list"]`)
	r.arrive("si-push-added", "si-list", "Your security info was updated.")
	r.submit(`#methods a[href*="view=delete"]`)
	r.arrive("si-push-confirm-removal", "si-delete", "This cannot be undone.")
	r.submit("#confirm-delete")
	r.arrive("si-push-removed", "si-list")
	if _, err := nd.Pending(s.ctx, 0); err == nil {
		t.Fatal("the removed device can still ask for its requests")
	}
}

// TestBrowserPushWithoutJavaScript: the same push sign-in with
// JavaScript switched off; the page's refresh finds the approval.
func TestBrowserPushWithoutJavaScript(t *testing.T) {
	chromiumPath(t)
	s := newSite(t, sqliteStore)
	u := s.user("anna@contoso.com")
	d := s.enrolDevice(u)
	b := newTab(t, s, "en", "nojs-push", false)
	b.signIn(u.UPN)
	b.arrive("push-number", "mfa-push")
	s.answer(d, "signin", push.Approve, b.number())
	b.await(`body[data-page="myapps"]`) // no click: the refresh
	b.arrive("push-approved", "myapps")
}

// text is an element's text content.
func (b *tab) text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

// TestBrowserRegisterPhone registers a mobile phone in the registration
// interrupt where the decision accepts one (per-user MFA without
// security defaults), with the texted code.
func TestBrowserRegisterPhone(t *testing.T) {
	chromiumPath(t)
	s := newSite(t, sqliteStore)
	u := s.perUserMFAUser("anna@contoso.com")
	b := newTab(t, s, "en", "en-register-phone", true)
	b.signIn(u.UPN)
	b.arrive("register-interrupt", "signin-register", "I want to use my mobile phone instead")
	b.press("#phone-option summary")
	b.typeIn("number", "+46 70 123 45 67")
	b.submit("#phone-send")
	b.arrive("phone-code", "signin-register-phone", "We texted a code to +46 701234567")
	b.typeIn("code", s.sentCode("+46701234567"))
	b.submit("button.primary")
	b.arrive("phone-registered", "myapps")
}
