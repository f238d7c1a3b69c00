package web_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// The key journey in headless Chromium with the DevTools virtual
// authenticator (CTAP2, resident keys, user verification), on the real
// pages: the server's public URL is http://localhost:<port>, a secure
// context and a relying party id browsers accept.

// keyTab is a browser tab with WebAuthn emulation on.
func keyTab(t *testing.T, s *site, lang string) *tab {
	b := newTab(t, s, lang, lang+"-keys", true)
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(bool)}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	return b
}

// authenticator adds a virtual authenticator that verifies its user. The
// platform one (internal, resident keys) makes synced passkeys.
func (b *tab) authenticator(transport webauthn.AuthenticatorTransport, resident bool) webauthn.AuthenticatorID {
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

func (b *tab) removeAuthenticator(id webauthn.AuthenticatorID) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Credentials
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

// restore puts a saved credential on an authenticator, as if the same key
// were plugged in again.
func (b *tab) restore(id webauthn.AuthenticatorID, c *webauthn.Credential) {
	b.t.Helper()
	in := addSavedParams{AuthenticatorID: id, Credential: savedCredential{CredentialID: c.CredentialID,
		IsResidentCredential: c.IsResidentCredential, RpID: c.RpID, PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: int64(c.SignCount)}}
	if _, err := chromedp.Call(b.ctx, addSavedCredential, in); err != nil {
		b.t.Fatalf("restore credential: %v", err)
	}
}

// ceremony presses a key button: the script runs the ceremony and posts
// the form, so the page changes some time after the click.
func (b *tab) ceremony(css, from string) {
	b.t.Helper()
	// A mark on this document: gone once the form's answer has loaded.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.vaktTestMark = true`)); err != nil {
		b.t.Fatal(err)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		b.t.Fatalf("click %s: %v", css, err)
	}
	// Poll by hand: an evaluation fails while the page navigates, and
	// that is expected here.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(!window.vaktTestMark && document.readyState === "complete") ||
			!!document.querySelector("[data-webauthn-error]:not([hidden])")`))
		if err == nil && done {
			return
		}
	}
	b.t.Fatalf("waiting after %s on %s: nothing happened", css, from)
}

// visible reports whether an element is shown.
func (b *tab) visible(css string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(function(){var e=document.querySelector(`+fmt.Sprintf("%q", css)+`);return !!e && !e.closest("[hidden]") && e.getClientRects().length>0})()`))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// amr is the methods of the browser's session, read from the store with
// the browser's session cookie (the pages allow no fetch).
func (b *tab) amr() []string {
	b.t.Helper()
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == signin.SessionCookie {
			sess, err := b.s.a.SignIn.Session(b.s.ctx, b.s.tenant.ID, c.Value)
			if err != nil {
				b.t.Fatal(err)
			}
			return sess.Methods
		}
	}
	b.t.Fatal("no session cookie")
	return nil
}

// passwordSignIn types the user name and password on the user-name page.
func (b *tab) passwordSignIn(upn string) {
	b.t.Helper()
	b.typeIn("username", upn)
	b.submit("button.primary")
	b.typeIn("password", userPassword)
	b.submit("button.primary")
}

// keyWords are the texts each language's key journey looks for.
var keyWords = map[string]map[string]string{
	"en": {"passkeyButton": "Sign in with a passkey", "addKind": "Security key or passkey", "addPasskey": "Add a passkey",
		"synced": "Passkey (synced)", "added": "Added ", "choose": "Choose a passkey", "securityKey": "Security key",
		"addKey": "Add a security key", "useKey": "Use your security key", "another": "sign in another way",
		"blocked": "does not allow this make and model", "nojs": "A security key or passkey needs JavaScript."},
	"sv": {"passkeyButton": "Logga in med en nyckel för inloggning", "addKind": "Säkerhetsnyckel eller nyckel för inloggning",
		"addPasskey": "Lägg till en nyckel för inloggning", "synced": "Nyckel för inloggning (synkad)", "added": "Tillagd ",
		"choose": "Välj en nyckel", "securityKey": "Säkerhetsnyckel", "addKey": "Lägg till en säkerhetsnyckel",
		"useKey": "Använd din säkerhetsnyckel", "another": "logga in på ett annat sätt",
		"blocked": "tillåter inte det här märket och modellen", "nojs": "En säkerhetsnyckel eller nyckel för inloggning kräver JavaScript."},
}

// TestBrowserKeys: a passkey added from security info and used without a
// user name; a security key added in the registration interrupt and used
// after the password; a refused ceremony shown with its reason; a make
// and model the policy blocks refused at registration and at sign-in;
// axe-core and a screenshot on every page.
func TestBrowserKeys(t *testing.T) {
	for _, lang := range []string{"en", "sv"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // two browsers: the runs share nothing
			keyJourney(t, lang)
		})
	}
}

func keyJourney(t *testing.T, lang string) {
	w := keyWords[lang]
	s := keySite(t, sqliteStore)
	anna := s.user("anna@contoso.com")
	bo := s.user("bo@contoso.com")
	if _, err := s.a.Admin.SetPerUserMFA(s.ctx, operator, s.tenant.ID, []string{bo.UPN}, store.PerUserMFAEnforced); err != nil {
		t.Fatal(err)
	}
	base := "/" + s.tenant.ID
	b := keyTab(t, s, lang)
	platform := b.authenticator(webauthn.AuthenticatorTransportInternal, true)

	// 1. Anna signs in with her password (no method yet) and adds a
	// passkey from security info.
	b.open(base + "/signin")
	b.arrive("username", "signin-username", w["passkeyButton"])
	if !b.visible("#passkey-signin") {
		t.Fatal("the script did not reveal the passkey button")
	}
	b.passwordSignIn(anna.UPN)
	b.arrive("password-only", "myapps")
	b.open(base + "/mysecurityinfo")
	b.submit("#add-method")
	b.arrive("add-list", "si-add", w["addKind"])
	b.press("#kind-fido2")
	b.submit("button.primary")
	b.arrive("key-kind", "si-fido2")
	b.press("#passkey-yes")
	b.typeIn("key-name", "Laptop passkey")
	b.submit("#key-next")
	b.arrive("passkey-create", "si-fido2-key", w["addPasskey"])
	b.ceremony("#create-key", "si-fido2-key")
	b.arrive("passkey-added", "si-list", "Laptop passkey", w["synced"], w["added"])
	keys := s.keys(anna)
	if len(keys) != 1 || !keys[0].Props.Fido2.Discoverable || !keys[0].Props.Fido2.UserVerified || !keys[0].Props.Fido2.BackupEligible {
		t.Fatalf("passkey: %+v", keys)
	}
	aaguid := keys[0].Props.Fido2.AAGUID
	b.submit("form.signout button")

	// 2. Without a user name: the passkey alone is multi-factor.
	b.arrive("signed-out", "signin-username")
	b.submit("#passkey-signin")
	b.arrive("passkey-signin", "signin-passkey", w["choose"])
	b.ceremony("#use-passkey", "signin-passkey")
	b.arrive("passkey-signed-in", "myapps")
	if amr := b.amr(); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") {
		t.Fatalf("passkey sign-in amr %v", amr)
	}
	passkeys := b.credentials(platform)
	if len(passkeys) != 1 || !passkeys[0].IsResidentCredential {
		t.Fatalf("platform credentials: %+v", passkeys)
	}
	b.submit("form.signout button")
	b.removeAuthenticator(platform)

	// 3. Bo must have MFA and has nothing: the interrupt offers a key.
	usb := b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.passwordSignIn(bo.UPN)
	b.arrive("register-interrupt", "signin-register", w["securityKey"])
	b.submit("#register-key")
	b.arrive("register-key", "signin-register-key", w["addKey"])
	b.typeIn("key-name", "Blue key")
	b.ceremony("#create-key", "signin-register-key")
	b.arrive("key-registered", "myapps")
	if ks := s.keys(bo); len(ks) != 1 || ks[0].DisplayName != "Blue key" || ks[0].Props.Fido2.Discoverable {
		t.Fatalf("security key: %+v", ks)
	}
	b.submit("form.signout button")

	// Without JavaScript the key step says what it needs; no key button.
	nojs := newTab(t, s, lang, lang+"-keys-nojs", false)
	nojs.open(base + "/signin")
	if nojs.visible("#passkey-signin") {
		t.Fatal("the passkey button shows without JavaScript")
	}
	nojs.passwordSignIn(bo.UPN)
	nojs.arrive("key-step-without-javascript", "mfa-fido2", w["nojs"])
	if nojs.visible("#use-key") || !nojs.visible("[data-webauthn-nojs]") {
		t.Fatal("without JavaScript the key step shows a button that cannot work")
	}

	// 4. Password, then the key; first a refused verification (the key
	// does not verify its user) is shown on the page.
	b.passwordSignIn(bo.UPN)
	b.arrive("key-step", "mfa-fido2", w["useKey"])
	if _, err := chromedp.Call(b.ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: usb, IsUserVerified: false}); err != nil {
		t.Fatal(err)
	}
	b.ceremony("#use-key", "mfa-fido2")
	if !b.visible(`[data-webauthn-error="cancelled"]`) {
		t.Fatalf("no message after a refused verification:\n%s", b.html())
	}
	b.arrive("key-cancelled", "mfa-fido2", w["another"])
	if _, err := chromedp.Call(b.ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: usb, IsUserVerified: true}); err != nil {
		t.Fatal(err)
	}
	b.ceremony("#use-key", "mfa-fido2")
	b.arrive("key-signed-in", "myapps")
	if amr := b.amr(); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") {
		t.Fatalf("password + key amr %v", amr)
	}
	boKey := b.credentials(usb)
	b.removeAuthenticator(usb)

	// 5. The administrator blocks this make and model (AAGUID): a new
	// key of it cannot be added…
	if _, err := s.a.Policies.UpdateMethodConfig(s.ctx, operator, s.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration",
		"keyRestrictions":{"isEnforced":true,"enforcementType":"block","aaGuids":["` + aaguid + `"]}}`)}); err != nil {
		t.Fatal(err)
	}
	other := b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.open(base + "/mysecurityinfo?view=add")
	b.press("#kind-fido2")
	b.submit("button.primary")
	b.press("#passkey-no")
	b.submit("#key-next")
	b.ceremony("#create-key", "si-fido2-key")
	b.arrive("blocked-registration", "si-fido2", w["blocked"])
	if n := len(s.keys(bo)); n != 1 {
		t.Fatalf("a blocked key was stored: %d keys", n)
	}
	b.submit("form.signout button")
	b.removeAuthenticator(other)

	// …and the registered ones stop working, after the password…
	usb = b.authenticator(webauthn.AuthenticatorTransportUsb, false)
	b.restore(usb, boKey[0])
	b.passwordSignIn(bo.UPN)
	b.ceremony("#use-key", "mfa-fido2")
	b.arrive("blocked-key", "mfa-fido2", w["blocked"])
	b.submit("form.aside button") // sign in with another account
	b.removeAuthenticator(usb)

	// …and without a user name.
	platform = b.authenticator(webauthn.AuthenticatorTransportInternal, true)
	b.restore(platform, passkeys[0])
	b.submit("#passkey-signin")
	b.ceremony("#use-passkey", "signin-passkey")
	b.arrive("blocked-passkey", "signin-passkey", w["blocked"])

	// 6. Lifted, the passkey works again.
	if _, err := s.a.Policies.UpdateMethodConfig(s.ctx, operator, s.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","keyRestrictions":{"isEnforced":false}}`)}); err != nil {
		t.Fatal(err)
	}
	b.ceremony("#use-passkey", "signin-passkey")
	b.arrive("passkey-again", "myapps")
}
