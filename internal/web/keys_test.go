package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// The key forms driven without a browser: the answers come from the
// software authenticator (internal/method/webauthn/softkey), posted in
// the "credential" field as webauthn.js posts them.

var softModel = uuid.MustParse("2fc0579f-8113-47ea-b116-bb5a8db9202a")

var optionsRE = regexp.MustCompile(`data-options="([^"]*)"`)

// options reads a ceremony form's options from the last page.
func (c *client) options() []byte {
	c.t.Helper()
	m := optionsRE.FindStringSubmatch(c.last)
	if m == nil || m[1] == "" {
		c.t.Fatalf("no ceremony options on the page:\n%s", c.last)
	}
	return []byte(html.UnescapeString(m[1]))
}

// keySite is a site whose public URL is localhost (so keys work), with
// security defaults off: the tests choose who needs MFA.
func keySite(t *testing.T, newStore storetest.NewStore) *site {
	s := newSiteAt(t, newStore, true)
	if err := s.a.Policies.SetSecurityDefaults(s.ctx, operator, s.tenant.ID, false, "testing security keys", true); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *site) keys(u store.User) []store.Method {
	s.t.Helper()
	ms, err := s.a.Store.ListMethods(s.ctx, s.tenant.ID, u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []store.Method
	for _, m := range ms {
		if m.Kind == string(method.KindFido2) && m.State == store.MethodActive {
			out = append(out, m)
		}
	}
	return out
}

// TestKeyPages: a security key registered in the sign-in's registration
// interrupt and used after the password (with refused answers on the
// way), a passkey added from security info and used without a user name,
// and its removal — on every backend.
func TestKeyPages(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := keySite(t, b.New)
			anna := s.user("anna@contoso.com")
			if _, err := s.a.Admin.SetPerUserMFA(s.ctx, operator, s.tenant.ID, []string{anna.UPN}, store.PerUserMFAEnforced); err != nil {
				t.Fatal(err)
			}
			base := "/" + s.tenant.ID
			signIn := func(c *client) {
				c.get(base+"/signin").expect(200, `id="passkey-signin"`)
				c.post(base+"/signin", url.Values{"step": {"username"}, "username": {anna.UPN}}).expect(200)
				c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}})
			}

			// The registration interrupt offers a key; it needs the script.
			c := s.client()
			signIn(c)
			c.expect(200, `data-page="signin-register"`, `id="register-key"`, "A security key or passkey needs JavaScript.")
			c.post(base+"/signin", url.Values{"step": {"registerKeyFinish"}, "credential": {"{}"}}).expect(400, "Start the setup first.")
			c.post(base+"/signin", url.Values{"step": {"registerKeyBegin"}, "passkey": {"no"}}).expect(200, `data-page="signin-register-key"`,
				`<script src="/assets/web/webauthn.js" defer></script>`, `data-webauthn="create"`)
			key := softkey.New(softModel, false)
			answer, err := key.Register(c.options(), s.url, softkey.Faults{})
			if err != nil {
				t.Fatal(err)
			}
			c.post(base+"/signin", url.Values{"step": {"registerKeyFinish"}, "credential": {string(answer)}, "name": {"Blue key"}}).
				expect(200, `data-page="myapps"`)
			if ks := s.keys(anna); len(ks) != 1 || ks[0].DisplayName != "Blue key" || ks[0].Props.Fido2.Discoverable {
				t.Fatalf("keys after the interrupt: %+v", ks)
			}

			// The password, then the key: refused answers stay on the step
			// with the reason and a fresh request.
			c = s.client()
			signIn(c)
			c.expect(200, `data-page="mfa-fido2"`, "Use your security key", "A security key or passkey needs JavaScript.",
				`id="use-key" data-webauthn-start hidden`)
			first := c.options()
			c.post(base+"/signin", url.Values{"step": {"keyVerify"}, "credential": {"not json"}}).
				expect(400, `data-page="mfa-fido2"`, "could not be read")
			if string(c.options()) == string(first) {
				t.Fatal("a refused answer did not get a fresh challenge")
			}
			c.post(base+"/signin", url.Values{"step": {"keyVerify"}, "credential": {strings.Repeat("x", 17<<10)}}).expect(400)
			c.get(base+"/signin").expect(200, `data-page="mfa-fido2"`)
			phished, _ := key.Assert(c.options(), "https://contoso-login.example", softkey.Faults{})
			c.post(base+"/signin", url.Values{"step": {"keyVerify"}, "credential": {string(phished)}}).
				expect(400, "answered for another site")
			stale := c.options()
			good, _ := key.Assert(stale, s.url, softkey.Faults{})
			c.post(base+"/signin", url.Values{"step": {"keyVerify"}, "credential": {string(good)}}).expect(200, `data-page="myapps"`)

			// Security info: add a passkey (named), listed with its date.
			c.get(base+"/mysecurityinfo").expect(200, "Blue key", "Security key", "Added ")
			c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"fido2"}}).expect(200, `data-page="si-fido2"`)
			c.post(base+"/mysecurityinfo", url.Values{"action": {"keyBegin"}, "passkey": {"yes"}, "name": {"Laptop passkey"}}).
				expect(200, `data-page="si-fido2-key"`, `value="Laptop passkey"`)
			pk := softkey.New(softModel, true)
			answer, err = pk.Register(c.options(), s.url, softkey.Faults{})
			if err != nil {
				t.Fatal(err)
			}
			id := regexp.MustCompile(`name="methodId" value="([^"]+)"`).FindStringSubmatch(c.last)[1]
			// Answering for another user handle's ceremony is not possible:
			// a bad answer spends the registration and starts over.
			c.post(base+"/mysecurityinfo", url.Values{"action": {"keyFinish"}, "methodId": {id}, "name": {"Laptop passkey"},
				"credential": {`{"id":"x"}`}}).expect(400, `data-page="si-fido2"`)
			c.post(base+"/mysecurityinfo", url.Values{"action": {"keyBegin"}, "passkey": {"yes"}, "name": {"Laptop passkey"}}).expect(200)
			answer, _ = pk.Register(c.options(), s.url, softkey.Faults{})
			id = regexp.MustCompile(`name="methodId" value="([^"]+)"`).FindStringSubmatch(c.last)[1]
			c.post(base+"/mysecurityinfo", url.Values{"action": {"keyFinish"}, "methodId": {id}, "name": {"Laptop passkey"},
				"credential": {string(answer)}}).expect(200, `data-page="si-list"`, "Laptop passkey", "Passkey", "Your security info was updated.")
			named := map[string]store.Method{}
			for _, k := range s.keys(anna) {
				named[k.DisplayName] = k
			}
			blue, laptop := named["Blue key"], named["Laptop passkey"]
			if len(named) != 2 || laptop.Props.Fido2 == nil || !laptop.Props.Fido2.Discoverable {
				t.Fatalf("keys after security info: %+v", named)
			}

			// A passkey sign-in, no user name: a refused answer first.
			p := s.client()
			p.get(base + "/signin").expect(200)
			p.post(base+"/signin", url.Values{"step": {"passkeyStart"}}).expect(200, `data-page="signin-passkey"`, `id="use-passkey"`)
			if strings.Contains(string(p.options()), "allowCredentials") {
				t.Fatalf("a passkey request names keys: %s", p.options())
			}
			noUV, _ := pk.Assert(p.options(), s.url, softkey.Faults{NoUV: true})
			p.post(base+"/signin", url.Values{"step": {"passkey"}, "credential": {string(noUV)}}).
				expect(400, `data-page="signin-passkey"`, "did not check your fingerprint")
			ok, _ := pk.Assert(p.options(), s.url, softkey.Faults{})
			p.post(base+"/signin", url.Values{"step": {"passkey"}, "credential": {string(ok)}}).expect(200, `data-page="myapps"`)
			// The same answer again: that sign-in is over.
			p.post(base+"/signin", url.Values{"step": {"passkey"}, "credential": {string(ok)}}).expect(400, `data-page="signin-username"`)

			// Removal asks first, then the key stops working.
			c.get(base+"/mysecurityinfo?view=delete&id="+blue.ID).expect(200, "This cannot be undone.", "Blue key")
			c.post(base+"/mysecurityinfo", url.Values{"action": {"delete"}, "id": {blue.ID}}).expect(200, `data-page="si-list"`)
			if left := s.keys(anna); len(left) != 1 || left[0].ID != laptop.ID {
				t.Fatalf("after removal: %+v", left)
			}
		})
	}
}

// TestKeyPagesWithoutKeys: on a server whose public URL is an IP address
// keys are off: no passkey button, no script, no key in the add list.
func TestKeyPagesWithoutKeys(t *testing.T) {
	s := newSite(t, sqliteStore)
	s.user("anna@contoso.com")
	base := "/" + s.tenant.ID
	c := s.client()
	page := c.get(base + "/signin").expect(200)
	if strings.Contains(page, "passkey") || strings.Contains(page, "<script") {
		t.Fatalf("keys offered without WebAuthn:\n%s", page)
	}
	c.post(base+"/signin", url.Values{"step": {"passkeyStart"}}).expect(http.StatusNotFound)
}

// TestKeyStepsBadInput: key steps out of order, without a flow, with
// answers that are not the page's, and against the policy get a specific
// 4xx and the page to continue from — never a 500.
func TestKeyStepsBadInput(t *testing.T) {
	s := keySite(t, sqliteStore)
	anna := s.user("anna@contoso.com")
	base := "/" + s.tenant.ID

	// No sign-in in progress: the flow has ended.
	c := s.client()
	c.get(base + "/signin").expect(200)
	for _, step := range []string{"keyVerify", "passkey", "registerKeyBegin", "registerKeyFinish"} {
		c.post(base+"/signin", url.Values{"step": {step}, "credential": {"{}"}}).expect(400, `data-page="signin-username"`)
	}
	// At the password, every key step is out of order.
	c.post(base+"/signin", url.Values{"step": {"username"}, "username": {anna.UPN}}).expect(200, `data-page="signin-password"`)
	for _, step := range []string{"keyVerify", "passkey", "registerKeyBegin", "registerKeyFinish"} {
		c.post(base+"/signin", url.Values{"step": {step}, "credential": {"{}"}}).expect(409, `data-page="signin-password"`)
	}
	// Signed in with the password only (no MFA needed): the interrupt is
	// not reached, so registration in sign-in is out of order too; in
	// security info an unknown or spent registration is refused.
	c.post(base+"/signin", url.Values{"step": {"password"}, "password": {userPassword}}).expect(200, `data-page="myapps"`)
	c.get(base + "/mysecurityinfo").expect(200)
	c.post(base+"/mysecurityinfo", url.Values{"action": {"keyFinish"}, "methodId": {"nope"}, "credential": {"{}"}}).
		expect(404, `data-page="si-fido2"`, "The request has expired.")
	c.post(base+"/mysecurityinfo", url.Values{"action": {"keyFinish"}, "methodId": {"x"}, "name": {"bad\x01name"}, "credential": {"{}"}}).
		expect(400, `data-page="si-fido2"`)

	// Someone else's registration is not yours to finish.
	other := s.user("bo@contoso.com")
	en, err := s.a.SecurityInfo.BeginFido2(s.ctx, s.tenant.ID, other.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	c.post(base+"/mysecurityinfo", url.Values{"action": {"keyFinish"}, "methodId": {en.ID}, "credential": {"{}"}}).expect(404)

	// The policy turns self-service registration off, then keys off for
	// everyone: the add list no longer offers them and a forged form is
	// refused.
	if _, err := s.a.Policies.UpdateMethodConfig(s.ctx, operator, s.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(
		`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","isSelfServiceRegistrationAllowed":false}`)}); err != nil {
		t.Fatal(err)
	}
	c.post(base+"/mysecurityinfo", url.Values{"action": {"keyBegin"}, "passkey": {"yes"}}).
		expect(403, "does not let you add security keys or passkeys yourself")
	if _, err := s.a.Policies.UpdateMethodConfig(s.ctx, operator, s.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(
		`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","state":"disabled"}`)}); err != nil {
		t.Fatal(err)
	}
	if page := c.get(base + "/mysecurityinfo?view=add").expect(200); strings.Contains(page, `id="kind-fido2"`) {
		t.Fatal("keys offered while the policy disables them")
	}
	c.post(base+"/mysecurityinfo", url.Values{"action": {"add"}, "kind": {"fido2"}}).expect(400, `data-page="si-add"`)
	c.post(base+"/mysecurityinfo", url.Values{"action": {"keyBegin"}, "passkey": {"yes"}}).expect(403)
}
