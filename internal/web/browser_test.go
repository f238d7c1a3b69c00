package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium headless through the pages as
// a person would, save a screenshot of every step and run axe-core on
// every page (no serious or critical violations allowed).

// chromiumPath finds the browser; without it the tests fail under CI and
// say plainly why they were skipped elsewhere.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; the browser tests need it (apt-get install chromium)")
	}
	t.Skip("SKIPPED: chromium is not installed, so the browser tests cannot run here (apt-get install chromium)")
	return ""
}

// axeSource is axe-core from internal/web/testdata (npm ci).
func axeSource(t *testing.T) string {
	b, err := os.ReadFile("testdata/node_modules/axe-core/axe.min.js")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is missing (run npm ci --prefix internal/web/testdata): %v", err)
		}
		t.Skipf("SKIPPED: axe-core is missing (run npm ci --prefix internal/web/testdata): %v", err)
	}
	return string(b)
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("VAKT_TEST_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type tab struct {
	t      *testing.T
	s      *site
	ctx    context.Context
	lang   string
	prefix string
	dir    string
	n      int
	axe    string // "" when JavaScript is off
}

func newTab(t *testing.T, s *site, lang, prefix string, javascript bool) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &tab{t: t, s: s, ctx: ctx, lang: lang, prefix: prefix, dir: artifactsDir(t)}
	if javascript {
		b.axe = axeSource(t)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if !javascript {
		if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		})); err != nil {
			t.Fatalf("disable JavaScript: %v", err)
		}
	}
	return b
}

// page is the name of the template the browser shows.
func (b *tab) page() string {
	b.t.Helper()
	r, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("body"), "data-page"))
	if err != nil {
		b.t.Fatalf("read page: %v", err)
	}
	return r.Value
}

func (b *tab) html() string {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		b.t.Fatalf("read page: %v", err)
	}
	return h
}

// arrive checks the page after a navigation: the expected template, the
// language, every text in want; then it saves a screenshot and runs axe.
func (b *tab) arrive(step, wantPage string, want ...string) {
	b.t.Helper()
	if got := b.page(); got != wantPage {
		b.t.Fatalf("%s: on page %q, want %q:\n%s", step, got, wantPage, b.html())
	}
	h := b.html()
	if !strings.Contains(h, `<html lang="`+b.lang+`"`) {
		b.t.Fatalf("%s: page is not in %s:\n%.300s", step, b.lang, h)
	}
	for _, w := range want {
		if !strings.Contains(h, w) {
			b.t.Fatalf("%s: page lacks %q:\n%s", step, w, h)
		}
	}
	b.shot(step)
	b.checkAxe(step)
}

func (b *tab) shot(step string) {
	b.t.Helper()
	b.n++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", step, err)
	}
	name := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", b.prefix, b.n, step))
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core in the page and fails on serious or critical
// violations (minor and moderate ones are logged).
func (b *tab) checkAxe(step string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](b.axe+";true")); err != nil {
		b.t.Fatalf("%s: load axe-core: %v", step, err)
	}
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify({
		passes: r.passes.length,
		violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: run axe-core: %v", step, err)
	}
	var res struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		b.t.Fatalf("%s: axe result: %v", step, err)
	}
	if res.Passes < 10 {
		b.t.Fatalf("%s: axe-core checked only %d rules; it did not really run", step, res.Passes)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility (%s) %s: %s at %v", step, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			b.t.Logf("%s: accessibility note (%s) %s: %s at %v", step, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.s.url+path)); err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
}

func (b *tab) typeIn(id, text string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.ID(id), text)); err != nil {
		b.t.Fatalf("type into #%s: %v", id, err)
	}
}

// press clicks an element that does not navigate (a radio, a summary).
func (b *tab) press(css string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		b.t.Fatalf("click %s: %v", css, err)
	}
}

// submit clicks a button or link and waits for the page it leads to.
func (b *tab) submit(css string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("click %s: %v", css, err)
	}
	if resp.Status >= 500 {
		b.t.Fatalf("click %s: status %d", css, resp.Status)
	}
}

func (b *tab) attr(css, name string) string {
	b.t.Helper()
	r, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(css), name))
	if err != nil || !r.Exists {
		b.t.Fatalf("attribute %s of %s: %v", name, css, err)
	}
	return r.Value
}

// words are the texts each language run looks for.
var words = map[string]map[string]string{
	"en": {"skip": "Skip for now (14 days until this is required)", "added": "Your security info was updated.",
		"smsDefault": "Phone – text", "appDefault": "Authenticator app or hardware token – code", "undone": "This cannot be undone.",
		"resetDone": "Your password was reset", "apps": "No apps yet"},
	"sv": {"skip": "Hoppa över tills vidare (14 dagar tills det krävs)", "added": "Din säkerhetsinformation har uppdaterats.",
		"smsDefault": "Telefon – sms", "appDefault": "Autentiseringsapp eller maskinvarutoken – kod", "undone": "Det går inte att ångra.",
		"resetDone": "Ditt lösenord har återställts", "apps": "Inga appar ännu"},
}

// TestBrowserJourney is a person's whole journey, in English and then in
// Swedish: first sign-in under security defaults with "skip for now",
// adding an authenticator app from the page's key (choosing "a different
// authenticator app" over the push set-up), a phone and an email
// address, changing the default, removing a method after confirming,
// signing in with the app's code, and resetting the password with an
// emailed code.
func TestBrowserJourney(t *testing.T) {
	chromiumPath(t)
	for _, lang := range []string{"en", "sv"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // two browsers: the runs share nothing
			journey(t, lang)
		})
	}
}

func journey(t *testing.T, lang string) {
	s := newSite(t, sqliteStore)
	s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	b := newTab(t, s, lang, lang+"-journey", true)
	w := words[lang]

	// First sign-in: security defaults ask for registration; skip it.
	b.open(base + "/signin")
	b.arrive("username", "signin-username")
	b.typeIn("username", "anna@contoso.com")
	b.submit("button.primary")
	b.arrive("password", "signin-password", "anna@contoso.com")
	b.typeIn("password", userPassword)
	b.submit("button.primary")
	b.arrive("register-interrupt", "signin-register", w["skip"])
	b.submit("#skip")
	b.arrive("my-apps-empty", "myapps", w["apps"])

	// Security info: no methods yet, so no step-up.
	b.open(base + "/mysecurityinfo")
	b.arrive("security-info-empty", "si-list")
	b.submit("#add-method")
	b.arrive("add-method", "si-add")
	b.press("#kind-softwareOath")
	b.submit("button.primary")
	// The authenticator with push is offered first; choose any code app.
	b.arrive("authenticator-push-setup", "si-push")
	b.submit("#other-app")
	b.arrive("authenticator-setup", "si-app")
	b.press("details.cantscan summary")
	b.shot("cant-scan")
	key := b.attr("#secret-key", "data-key")
	b.typeIn("code", s.code(key))
	b.submit("button.primary")
	b.arrive("app-added", "si-list", w["added"], w["appDefault"])

	// A phone, verified with the texted code.
	b.submit("#add-method")
	b.press("#kind-phone")
	b.submit("button.primary")
	b.arrive("add-phone", "si-phone")
	b.typeIn("number", "+46 70 123 45 67")
	b.submit("button.primary")
	b.arrive("phone-code", "si-verify", "+46 701234567")
	b.typeIn("code", s.sentCode("+46701234567"))
	b.submit("button.primary")
	b.arrive("phone-added", "si-list", w["added"])

	// An email address for password reset.
	b.submit("#add-method")
	b.press("#kind-email")
	b.submit("button.primary")
	b.arrive("add-email", "si-email")
	b.typeIn("email", "anna.private@example.com")
	b.submit("button.primary")
	b.arrive("email-code", "si-verify", "anna.private@example.com")
	b.typeIn("code", s.sentCode("anna.private@example.com"))
	b.submit("button.primary")
	b.arrive("email-added", "si-list")

	// Change the default to a text message.
	b.submit("#change-default")
	b.arrive("change-default", "si-default")
	b.press(`input[value$="|sms"]`)
	b.submit("#confirm-default")
	b.arrive("default-changed", "si-list", w["smsDefault"])

	// Remove the phone after confirming; the default moves to the app.
	b.submit(`#methods a[href*="view=delete"][aria-label*="` + map[string]string{"en": "Mobile phone", "sv": "Mobiltelefon"}[lang] + `"]`)
	b.arrive("confirm-removal", "si-delete", w["undone"])
	b.submit("#confirm-delete")
	b.arrive("phone-removed", "si-list", w["appDefault"])

	// Sign out, then sign in again to security info: the step-up asks for
	// the app's code inside the new session (not the password again).
	b.submit("form.signout button")
	b.arrive("signed-out", "signin-username")
	s.advance(time.Minute)
	b.open(base + "/signin?returnUrl=" + base + "/mysecurityinfo")
	b.typeIn("username", "anna@contoso.com")
	b.submit("button.primary")
	b.typeIn("password", userPassword)
	b.submit("button.primary")
	b.arrive("step-up", "signin-username", "anna@contoso.com")
	b.submit("button.primary")
	b.arrive("mfa-code", "mfa-code")
	b.typeIn("code", s.code(key))
	b.submit("button.primary")
	b.arrive("signed-in-with-mfa", "si-list")

	// Password reset with an emailed code, from a signed-out browser.
	r := newTab(t, s, lang, lang+"-reset", true)
	r.open(base + "/passwordreset")
	r.arrive("reset-username", "reset-username")
	r.typeIn("username", "anna@contoso.com")
	r.submit("button.primary")
	r.arrive("reset-choose", "reset-choose")
	r.press("#choice-email")
	r.submit("button.primary")
	r.arrive("reset-code", "reset-verify")
	r.typeIn("code", s.sentCode("anna.private@example.com"))
	r.submit("button.primary")
	r.arrive("reset-new-password", "reset-password")
	r.typeIn("newPassword", "Gröna-Äpplen-Faller-Tyst-7")
	r.typeIn("confirmPassword", "Gröna-Äpplen-Faller-Tyst-7")
	r.submit("button.primary")
	r.arrive("reset-done", "reset-done", w["resetDone"])

	// The reset signed the user out everywhere.
	b.open(base + "/mysecurityinfo")
	if p := b.page(); p != "signin-username" {
		t.Fatalf("after the reset the old session still works: on %s", p)
	}
}
