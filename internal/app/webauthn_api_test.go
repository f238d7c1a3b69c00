package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var softModel = uuid.MustParse("2fc0579f-8113-47ea-b116-bb5a8db9202a")

// do sends a request to the tenant's API (path after /api/) and checks
// the status; token is a session token, origin an Origin header.
func (w *keyWorld) do(method, path, token, origin string, body []byte, want int) []byte {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.base+"/api/"+path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Session "+token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return raw
}

func js(v any) []byte { b, _ := json.Marshal(v); return b }

func (w *keyWorld) view(method, path string, body any, want int) signin.View {
	w.t.Helper()
	var v signin.View
	json.Unmarshal(w.do(method, path, "", "", js(body), want), &v)
	return v
}

// apiErrCode is the code of an API error answer.
func apiErrCode(raw []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return e.Error.Code
}

// password signs in with the password and returns the view.
func (w *keyWorld) password(upn string) signin.View {
	v := w.view("POST", "signin", map[string]any{"username": upn}, 201)
	return w.view("POST", "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200)
}

// addKey registers k through the self-service endpoints.
func (w *keyWorld) addKey(token string, k *softkey.Key) {
	w.t.Helper()
	var en struct {
		ID      string          `json:"registrationId"`
		Options json.RawMessage `json:"options"`
	}
	json.Unmarshal(w.do("POST", "securityinfo/fido2/begin", token, w.origin, js(map[string]any{"passkey": k.Resident}), 200), &en)
	body, err := k.Register(en.Options, w.origin, softkey.Faults{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.do("POST", "securityinfo/fido2/finish", token, w.origin, js(map[string]any{"registrationId": en.ID, "credential": json.RawMessage(body)}), 201)
}

func (w *keyWorld) signIns() []store.SignIn {
	w.a.SignInLog.Flush(w.ctx)
	p, err := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
	if err != nil {
		w.t.Fatal(err)
	}
	return p.Items
}

func (w *keyWorld) amr(token string) []string {
	var s struct{ AMR []string }
	json.Unmarshal(w.do("GET", "session", token, "", nil, 200), &s)
	return s.AMR
}

// TestKeysOverTheAPI drives the JSON API with a software authenticator on
// both stores: a key as second factor, a replayed challenge, a passkey
// without a user name meeting the phishing-resistant strength of
// conditional access, and the sign-in log's reasons.
func TestKeysOverTheAPI(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			w := newKeyWorld(t, b.New)
			if _, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: "anna@contoso.com", Password: "Lila-Kor-Flyger-88"}); err != nil {
				t.Fatal(err)
			}
			v := w.password("anna@contoso.com")
			if v.State != signin.StateDone {
				t.Fatalf("password: %+v", v)
			}
			token := v.Session.Token
			key := softkey.New(softModel, false)
			// Not from another origin, not without a session.
			w.do("POST", "securityinfo/fido2/begin", token, "https://evil.example", js(map[string]any{}), 403)
			w.do("POST", "securityinfo/fido2/begin", "", w.origin, js(map[string]any{}), 401)
			w.addKey(token, key)
			// A second key needs a session that passed MFA.
			raw := w.do("POST", "securityinfo/fido2/begin", token, w.origin, js(map[string]any{"passkey": true}), 403)
			if apiErrCode(raw) != "mfaRequired" {
				t.Fatalf("second key after a password: %s", raw)
			}

			// Second factor after the password.
			w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{"anna@contoso.com"}, store.PerUserMFAEnforced)
			v = w.password("anna@contoso.com")
			if v.State != signin.StateMFA || !slices.Contains(v.MFA.Options, method.OptionFido2) || v.MFA.Selected != method.OptionFido2 || len(v.PublicKey) == 0 {
				t.Fatalf("mfa: %+v", v)
			}
			// An answer without user verification is refused; the flow
			// gets a new challenge, so the first one cannot be replayed.
			first, _ := key.Assert(v.PublicKey, w.origin, softkey.Faults{})
			noUV, _ := key.Assert(v.PublicKey, w.origin, softkey.Faults{NoUV: true})
			raw = w.do("POST", "signin/"+v.FlowID+"/verify", "", "", js(map[string]any{"credential": json.RawMessage(noUV)}), 400)
			if apiErrCode(raw) != webauthn.ReasonUserNotVerified {
				t.Fatalf("no UV: %s", raw)
			}
			raw = w.do("POST", "signin/"+v.FlowID+"/verify", "", "", js(map[string]any{"credential": json.RawMessage(first)}), 400)
			if apiErrCode(raw) != webauthn.ReasonChallengeMismatch {
				t.Fatalf("replayed challenge: %s", raw)
			}
			fresh := w.view("GET", "signin/"+v.FlowID, nil, 200)
			wrongOrigin, _ := key.Assert(fresh.PublicKey, "http://localhost:1", softkey.Faults{})
			raw = w.do("POST", "signin/"+v.FlowID+"/verify", "", "", js(map[string]any{"credential": json.RawMessage(wrongOrigin)}), 400)
			if apiErrCode(raw) != webauthn.ReasonOriginMismatch {
				t.Fatalf("wrong origin: %s", raw)
			}
			fresh = w.view("GET", "signin/"+v.FlowID, nil, 200)
			good, _ := key.Assert(fresh.PublicKey, w.origin, softkey.Faults{})
			v = w.view("POST", "signin/"+v.FlowID+"/verify", map[string]any{"credential": json.RawMessage(good)}, 200)
			if v.State != signin.StateDone {
				t.Fatalf("verify: %+v", v)
			}
			if amr := w.amr(v.Session.Token); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") {
				t.Fatalf("amr %v", amr)
			}
			token = v.Session.Token
			// Another relying party's signature, and a counter gone back.
			v = w.password("anna@contoso.com")
			otherRP, _ := key.Assert(v.PublicKey, w.origin, softkey.Faults{RPID: "evil.example"})
			raw = w.do("POST", "signin/"+v.FlowID+"/verify", "", "", js(map[string]any{"credential": json.RawMessage(otherRP)}), 400)
			if apiErrCode(raw) != webauthn.ReasonRPIDMismatch {
				t.Fatalf("wrong RP id: %s", raw)
			}
			fresh = w.view("GET", "signin/"+v.FlowID, nil, 200)
			back := uint32(1)
			cloned, _ := key.Assert(fresh.PublicKey, w.origin, softkey.Faults{Counter: &back})
			raw = w.do("POST", "signin/"+v.FlowID+"/verify", "", "", js(map[string]any{"credential": json.RawMessage(cloned)}), 400)
			if apiErrCode(raw) != webauthn.ReasonCounterRegressed {
				t.Fatalf("counter back: %s", raw)
			}
			reasons := ""
			for _, e := range w.signIns() {
				reasons += e.FailureReason + "\n"
			}
			for _, want := range []string{webauthn.ReasonUserNotVerified, webauthn.ReasonChallengeMismatch, webauthn.ReasonOriginMismatch,
				webauthn.ReasonRPIDMismatch, webauthn.ReasonCounterRegressed} {
				if !strings.Contains(reasons, want) {
					t.Errorf("sign-in log lacks %s:\n%s", want, reasons)
				}
			}

			// A passkey, added in the MFA session, under a policy that
			// demands phishing-resistant MFA of everyone.
			pk := softkey.New(softModel, true)
			w.addKey(token, pk)
			w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{"anna@contoso.com"}, store.PerUserMFADisabled)
			pol, err := w.a.ConditionalAccess.CreatePolicy(w.ctx, op, w.tenant.ID, []byte(`{"displayName":"Phishing-resistant MFA","state":"enabled",
				"conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},
				"grantControls":{"operator":"OR","authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}}}`))
			if err != nil {
				t.Fatal(err)
			}
			v = w.view("POST", "signin/passkey", nil, 201)
			if v.State != signin.StatePasskey || len(v.PublicKey) == 0 || strings.Contains(string(v.PublicKey), "allowCredentials") {
				t.Fatalf("passkey start: %+v %s", v, v.PublicKey)
			}
			answer, _ := pk.Assert(v.PublicKey, w.origin, softkey.Faults{})
			done := w.view("POST", "signin/"+v.FlowID+"/passkey", map[string]any{"credential": json.RawMessage(answer)}, 200)
			if done.State != signin.StateDone {
				t.Fatalf("passkey: %+v", done)
			}
			if amr := w.amr(done.Session.Token); !slices.Contains(amr, "hwk") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") {
				t.Fatalf("passkey amr %v", amr)
			}
			// The same answer again: that flow is over.
			w.do("POST", "signin/"+v.FlowID+"/passkey", "", "", js(map[string]any{"credential": json.RawMessage(answer)}), 409)
			// The password alone meets nothing: the key is the only option.
			v = w.password("anna@contoso.com")
			if v.State != signin.StateMFA || !slices.Equal(v.MFA.Options, []method.Option{method.OptionFido2}) {
				t.Fatalf("password under the strength policy: %+v", v)
			}
			var last store.SignIn
			for _, e := range w.signIns() {
				if e.ErrorCode == 0 && e.AuthDetails != nil && e.AuthDetails[0].Method == "Passkey" {
					last = e
				}
			}
			if len(last.AppliedCAPolicies) != 1 || last.AppliedCAPolicies[0].ID != pol.ID || last.AppliedCAPolicies[0].Result != "success" ||
				last.AuthenticationRequirement != "multiFactorAuthentication" {
				t.Fatalf("passkey sign-in log: %+v", last)
			}
		})
	}
}

// TestKeyRegistrationInterrupt: a user who must have MFA and has nothing
// registers a security key inside the sign-in.
func TestKeyRegistrationInterrupt(t *testing.T) {
	w := newKeyWorld(t, storetest.SQLite)
	if _, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: "bo@contoso.com", Password: "Lila-Kor-Flyger-88"}); err != nil {
		t.Fatal(err)
	}
	w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{"bo@contoso.com"}, store.PerUserMFAEnforced)
	v := w.password("bo@contoso.com")
	if v.State != signin.StateRegister || !slices.Contains(v.Register.Options, method.OptionFido2) {
		t.Fatalf("register: %+v", v)
	}
	// Finishing before beginning is out of order.
	w.do("POST", "signin/"+v.FlowID+"/register/fido2/finish", "", "", js(map[string]any{"credential": map[string]any{}}), 400)
	v = w.view("POST", "signin/"+v.FlowID+"/register/fido2/begin", map[string]any{"passkey": false}, 200)
	if len(v.PublicKey) == 0 {
		t.Fatalf("no creation options: %+v", v)
	}
	k := softkey.New(softModel, false)
	body, _ := k.Register(v.PublicKey, w.origin, softkey.Faults{})
	v = w.view("POST", "signin/"+v.FlowID+"/register/fido2/finish", map[string]any{"credential": json.RawMessage(body), "displayName": "Bo's key"}, 200)
	if v.State != signin.StateDone {
		t.Fatalf("after registering: %+v", v)
	}
	if keys := w.keys("bo@contoso.com"); len(keys) != 1 || keys[0].DisplayName != "Bo's key" {
		t.Fatalf("keys: %+v", keys)
	}
}

// TestKeyBadInput: hostile bodies get a specific 4xx, never a 500.
func TestKeyBadInput(t *testing.T) {
	w := newKeyWorld(t, storetest.SQLite)
	if _, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: "anna@contoso.com", Password: "Lila-Kor-Flyger-88"}); err != nil {
		t.Fatal(err)
	}
	w.addKey(w.password("anna@contoso.com").Session.Token, softkey.New(softModel, false))
	// cleo has no method yet, so her password session may add a key.
	if _, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: "cleo@contoso.com", Password: "Lila-Kor-Flyger-88"}); err != nil {
		t.Fatal(err)
	}
	token := w.password("cleo@contoso.com").Session.Token
	w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{"anna@contoso.com"}, store.PerUserMFAEnforced)
	mfa := w.password("anna@contoso.com")
	pk := w.view("POST", "signin/passkey", nil, 201)
	huge := `{"credential":{"id":"` + strings.Repeat("A", 70<<10) + `"}}`
	for _, tc := range []struct {
		name, path, token, body string
		want                    int
	}{
		{"credential not an object", "signin/" + mfa.FlowID + "/verify", "", `{"credential":"x"}`, 400},
		{"credential empty object", "signin/" + mfa.FlowID + "/verify", "", `{"credential":{}}`, 400},
		{"credential truncated", "signin/" + mfa.FlowID + "/verify", "", `{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"authenticatorData":"SZYN5YgO","clientDataJSON":"eyJ0eXBl","signature":"MEUCIQ"}}}`, 400},
		{"credential too large", "signin/" + mfa.FlowID + "/verify", "", huge, 413},
		{"passkey step in the MFA state", "signin/" + mfa.FlowID + "/passkey", "", `{"credential":{}}`, 409},
		{"passkey answer garbage", "signin/" + pk.FlowID + "/passkey", "", `{"credential":{"response":{"userHandle":"!!"}}}`, 400},
		{"passkey without credential", "signin/" + pk.FlowID + "/passkey", "", `{}`, 400},
		{"passkey start not JSON", "signin/passkey", "", `{"appId":`, 400},
		{"passkey start unknown field", "signin/passkey", "", `{"username":"anna@contoso.com"}`, 400},
		{"registration begin not JSON", "securityinfo/fido2/begin", token, `{"passkey":`, 400},
		{"registration begin unknown field", "securityinfo/fido2/begin", token, `{"passkey":true,"admin":true}`, 400},
		{"registration finish unknown id", "securityinfo/fido2/finish", token, `{"registrationId":"nope","credential":{}}`, 404},
		{"registration finish garbage", "securityinfo/fido2/finish", token, `{"registrationId":"","credential":[1,2]}`, 404},
		{"registration without session", "securityinfo/fido2/finish", "", `{}`, 401},
	} {
		req, _ := http.NewRequest("POST", w.base+"/api/"+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.token != "" {
			req.Header.Set("Authorization", "Session "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || apiErrCode(raw) == "" {
			t.Errorf("%s: %d %s, want %d with an error code", tc.name, resp.StatusCode, raw, tc.want)
		}
	}
	// The pages that run a ceremony load vakt's own script under a
	// strict policy; the others stay script-free.
	resp, err := http.Get(w.base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		strings.Contains(string(page), "<script>") || !strings.Contains(string(page), `<script src="/assets/web/webauthn.js" defer>`) {
		t.Fatalf("sign-in page: %s %s", resp.Header.Get("Content-Security-Policy"), page)
	}
	resp, err = http.Get(w.base + "/passwordreset")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || strings.Contains(string(page), "<script") {
		t.Fatalf("password reset page allows script: %s", csp)
	}
	resp, err = http.Get(w.origin + "/assets/web/webauthn.js")
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("script: %v %+v", err, resp)
	}
	resp.Body.Close()
	for _, gone := range []string{"/webauthn/signin", "/webauthn/register", "/static/webauthn.js"} {
		if resp, _ := http.Get(w.base + gone); resp.StatusCode != 404 {
			t.Fatalf("%s: %d, the stand-in pages are gone", gone, resp.StatusCode)
		}
	}
}
