package app_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// chromium finds the browser; with CI set a missing one is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing; CI must install the Debian package chromium for the browser tests")
	}
	t.Skip("the browser test needs chromium (Debian package chromium)")
	return ""
}

// keyWorld is vakt on a loopback server whose public URL names it
// localhost: a secure context and a relying party id browsers accept.
type keyWorld struct {
	t      *testing.T
	ctx    context.Context
	a      *app.App
	origin string // the public URL, which is the WebAuthn origin
	base   string // public URL + /tenant
	tenant store.Tenant
	log    *syncBuffer
}

func newKeyWorld(t *testing.T, newStore storetest.NewStore) *keyWorld {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", srv.Listener.Addr().(*net.TCPAddr).Port)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	w := &keyWorld{t: t, ctx: context.Background(), log: &syncBuffer{}}
	w.a = app.New(cfg, newStore(t), kr, slog.New(slog.NewTextHandler(w.log, nil)))
	srv.Config.Handler = w.a.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); w.a.SignInLog.Close(context.Background()) })
	var err error
	if w.tenant, _, err = w.a.Admin.Init(w.ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42"); err != nil {
		t.Fatal(err)
	}
	// Security defaults would ask for the authenticator app first; this
	// test is about keys.
	if err := w.a.Policies.SetSecurityDefaults(w.ctx, op, w.tenant.ID, false, "testing security keys", true); err != nil {
		t.Fatal(err)
	}
	w.origin = cfg.PublicURL
	w.base = cfg.PublicURL + "/" + w.tenant.ID
	return w
}

func (w *keyWorld) keys(upn string) []store.Method {
	u, err := w.a.Store.UserByUPN(w.ctx, w.tenant.ID, upn)
	if err != nil {
		w.t.Fatal(err)
	}
	ms, err := w.a.Store.ListMethods(w.ctx, w.tenant.ID, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []store.Method
	for _, m := range ms {
		if m.Kind == string(method.KindFido2) && m.State == store.MethodActive {
			out = append(out, m)
		}
	}
	return out
}

func (w *keyWorld) fido2Config(patch string) {
	if _, err := w.a.Policies.UpdateMethodConfig(w.ctx, op, w.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(patch)}); err != nil {
		w.t.Fatal(err)
	}
}

// chromeTab drives one headless Chromium tab.
type chromeTab struct {
	t   *testing.T
	ctx context.Context
}

func newChromeTab(t *testing.T) *chromeTab {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	b := &chromeTab{t: t, ctx: ctx}
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(bool)}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	return b
}

// authenticator adds a virtual CTAP2 authenticator that verifies its
// user (a PIN or biometric that always succeeds). The platform one
// (internal, resident keys) makes synced passkeys: backup eligible and
// backed up.
func (b *chromeTab) authenticator(transport webauthn.AuthenticatorTransport, resident bool) webauthn.AuthenticatorID {
	b.t.Helper()
	synced := transport == webauthn.AuthenticatorTransportInternal
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: transport,
		HasResidentKey: resident, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		DefaultBackupEligibility: synced, DefaultBackupState: synced}})
	if err != nil {
		b.t.Fatalf("add authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// savedCredential is WebAuthn.addCredential's credential without the
// CMTG fields: cdproto's type always sends generateCmtgKeyOnNextOperation,
// which Chromium refuses for authenticators without that extension.
type savedCredential struct {
	CredentialID         []byte `json:"credentialId"`
	IsResidentCredential bool   `json:"isResidentCredential"`
	RpID                 string `json:"rpId"`
	PrivateKey           []byte `json:"privateKey"`
	UserHandle           []byte `json:"userHandle,omitempty"`
	SignCount            int64  `json:"signCount"`
}

type addSavedParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      savedCredential          `json:"credential"`
}

var addSavedCredential = cdp.Command[addSavedParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

// restore puts a saved credential on an authenticator (as if the same
// key were plugged in again).
func (b *chromeTab) restore(id webauthn.AuthenticatorID, c *webauthn.Credential) {
	b.t.Helper()
	in := addSavedParams{AuthenticatorID: id, Credential: savedCredential{CredentialID: c.CredentialID,
		IsResidentCredential: c.IsResidentCredential, RpID: c.RpID, PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: int64(c.SignCount)}}
	if _, err := chromedp.Call(b.ctx, addSavedCredential, in); err != nil {
		b.t.Fatalf("restore credential: %v", err)
	}
}

func (b *chromeTab) remove(id webauthn.AuthenticatorID) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *chromeTab) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

func (b *chromeTab) fill(id, value string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#"+id), value)); err != nil {
		b.t.Fatal(err)
	}
}

// press clicks a button and waits for the page to report its outcome
// ("ok:<state>" or "error:<code>").
func (b *chromeTab) press(id string) string {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS("#"+id))); err != nil {
		b.t.Fatalf("click %s: %v", id, err)
	}
	res, err := chromedp.Run(b.ctx, chromedp.Poll[string](`document.getElementById("status").getAttribute("data-result")`))
	if err != nil {
		b.t.Fatalf("waiting for %s: %v", id, err)
	}
	return res
}

func (b *chromeTab) expect(id, want string) {
	b.t.Helper()
	if got := b.press(id); got != want {
		status, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#status")))
		b.t.Fatalf("%s: %s (%q), want %s", id, got, status, want)
	}
}

// session reads the signed-in session through the page's own cookie.
func (b *chromeTab) session(tenantID string) map[string]any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]any](`fetch("/`+tenantID+`/api/session").then(r => r.json())`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func amrOf(s map[string]any) []string {
	var out []string
	list, _ := s["amr"].([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestBrowserSecurityKeysAndPasskeys runs the ceremonies in headless
// Chromium with the DevTools virtual authenticator: a passkey registered
// and used without a user name, a security key registered and used after
// the password, and an AAGUID the policy blocks refused at registration
// and at sign-in.
func TestBrowserSecurityKeysAndPasskeys(t *testing.T) {
	w := newKeyWorld(t, storetest.SQLite)
	if _, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: "anna@contoso.com", Password: "Lila-Kor-Flyger-88"}); err != nil {
		t.Fatal(err)
	}
	b := newChromeTab(t)

	// The pages carry a strict policy and load the script from vakt.
	platform := b.authenticator(webauthn.AuthenticatorTransportInternal, true)
	b.open(w.base + "/webauthn/signin")
	b.fill("username", "anna@contoso.com")
	b.fill("password", "Lila-Kor-Flyger-88")
	b.expect("signin", "ok:done")

	// 1. A passkey, registered after a password-only sign-in (the first method).
	b.open(w.base + "/webauthn/register")
	b.fill("name", "Laptop passkey")
	b.expect("add-passkey", "ok:registered")
	keys := w.keys("anna@contoso.com")
	if len(keys) != 1 || keys[0].DisplayName != "Laptop passkey" || !keys[0].Props.Fido2.Discoverable || !keys[0].Props.Fido2.UserVerified ||
		!keys[0].Props.Fido2.BackupEligible || !keys[0].Props.Fido2.BackupState || keys[0].Props.Fido2.Attachment != "platform" {
		t.Fatalf("passkey: %+v", keys)
	}
	aaguid := keys[0].Props.Fido2.AAGUID
	t.Logf("Chromium's virtual authenticator: AAGUID %s, attestation %s (%s)", aaguid, keys[0].Props.Fido2.AttestationFormat, keys[0].Props.Fido2.AttestationLevel)
	b.expect("signout", "ok:signedOut")

	// 2. Sign in with it, no user name: multi-factor and phishing-resistant.
	b.open(w.base + "/webauthn/signin")
	b.expect("passkey", "ok:done")
	if amr := amrOf(b.session(w.tenant.ID)); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") {
		t.Fatalf("passkey sign-in amr %v", amr)
	}
	saved, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: platform})
	if err != nil || len(saved.Credentials) != 1 || !saved.Credentials[0].IsResidentCredential {
		t.Fatalf("platform credentials: %+v %v", saved, err)
	}
	b.remove(platform)

	// 3. A security key (not discoverable), added in the MFA session.
	usb := b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.open(w.base + "/webauthn/register")
	b.fill("name", "Blue key")
	b.expect("add-key", "ok:registered")
	keys = w.keys("anna@contoso.com")
	if len(keys) != 2 || keys[1].DisplayName != "Blue key" || keys[1].Props.Fido2.Discoverable || keys[1].Props.Fido2.BackupEligible ||
		keys[1].Props.Fido2.AAGUID != aaguid || !slices.Contains(keys[1].Props.Fido2.Transports, "usb") {
		t.Fatalf("security key: %+v", keys)
	}
	b.expect("signout", "ok:signedOut")

	// 4. Per-user MFA: password, then the security key.
	if _, err := w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{"anna@contoso.com"}, store.PerUserMFAEnforced); err != nil {
		t.Fatal(err)
	}
	b.open(w.base + "/webauthn/signin")
	b.fill("username", "anna@contoso.com")
	b.fill("password", "Lila-Kor-Flyger-88")
	b.expect("signin", "ok:done")
	if amr := amrOf(b.session(w.tenant.ID)); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") {
		t.Fatalf("password + key amr %v", amr)
	}
	if k := w.keys("anna@contoso.com")[1]; k.LastUsedAt == nil || k.LastStep <= keys[1].LastStep {
		t.Fatalf("security key use not recorded (counter %d, was %d): %+v", k.LastStep, keys[1].LastStep, k)
	}

	// 5. The administrator blocks this make and model (AAGUID).
	w.fido2Config(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration",
		"keyRestrictions":{"isEnforced":true,"enforcementType":"block","aaGuids":["` + aaguid + `"]}}`)
	// A new key of that model cannot be registered…
	usbCreds, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: usb})
	if err != nil || len(usbCreds.Credentials) != 1 {
		t.Fatalf("usb credentials: %+v %v", usbCreds, err)
	}
	b.remove(usb)
	other := b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.open(w.base + "/webauthn/register")
	b.expect("add-key", "error:aaguidBlocked")
	if n := len(w.keys("anna@contoso.com")); n != 2 {
		t.Fatalf("a blocked key was stored: %d keys", n)
	}
	b.expect("signout", "ok:signedOut")
	b.remove(other)

	// …and the registered ones no longer sign in, as second factor or passkey.
	usb = b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.restore(usb, usbCreds.Credentials[0])
	b.open(w.base + "/webauthn/signin")
	b.fill("username", "anna@contoso.com")
	b.fill("password", "Lila-Kor-Flyger-88")
	b.expect("signin", "error:aaguidBlocked")
	b.remove(usb)
	platform = b.authenticator(webauthn.AuthenticatorTransportInternal, true)
	b.restore(platform, saved.Credentials[0])
	b.expect("passkey", "error:aaguidBlocked")
	for _, want := range []string{"security key registration refused", "security key sign-in refused", "reason=aaguidBlocked"} {
		if !strings.Contains(w.log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}

	// 6. Lifted, the passkey works again.
	w.fido2Config(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","keyRestrictions":{"isEnforced":false}}`)
	b.expect("passkey", "ok:done")
}
