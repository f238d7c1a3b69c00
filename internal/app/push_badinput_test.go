package app_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// raw sends a request to the device API.
func (w *world) raw(method, path, auth string, body []byte) (int, map[string]any) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL+"/"+w.tenant.ID+"/api/authenticator/"+path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return w.signed(req)
}

// TestPushBadInput: malformed keys, unknown devices, oversize bodies,
// expired or used links, stale and malformed signatures and a second
// concurrent push are refused with a specific 4xx, and change nothing.
func TestPushBadInput(t *testing.T) {
	w := pushWorld(t, storetest.SQLite)
	u := w.user("bo@contoso.com")
	const ip = "10.4.4.4"
	v := w.signIn("bo@contoso.com", ip)
	reg := w.call("POST", "signin/"+v.FlowID+"/register/begin", ip, map[string]any{"option": "push"}, 200)
	link, err := device.ParseLink(reg.Register.Enrolment.Link)
	if err != nil {
		t.Fatal(err)
	}
	enrol := func(m map[string]any) (int, map[string]any) {
		b, _ := json.Marshal(m)
		return w.raw("POST", "enroll", "", b)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := push.EncodePublicKey(&k.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pub384, _ := push.EncodePublicKey(&p384.PublicKey)
	for name, c := range map[string]struct {
		body map[string]any
		code int
		err  string
	}{
		"malformed key":  {map[string]any{"token": link.Token, "publicKey": "not-a-key", "displayName": "x"}, 400, "invalidPublicKey"},
		"P-384 key":      {map[string]any{"token": link.Token, "publicKey": pub384, "displayName": "x"}, 400, "invalidPublicKey"},
		"no name":        {map[string]any{"token": link.Token, "publicKey": pub, "displayName": ""}, 400, "invalidRequest"},
		"control chars":  {map[string]any{"token": link.Token, "publicKey": pub, "displayName": "a\x00b"}, 400, "invalidRequest"},
		"unknown field":  {map[string]any{"token": link.Token, "publicKey": pub, "displayName": "x", "admin": true}, 400, "invalidRequest"},
		"unknown token":  {map[string]any{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "publicKey": pub, "displayName": "x"}, 404, "enrolmentLinkInvalid"},
		"malformed link": {map[string]any{"token": "../../x", "publicKey": pub, "displayName": "x"}, 404, "enrolmentLinkInvalid"},
	} {
		if code, out := enrol(c.body); code != c.code || errCode(out) != c.err {
			t.Errorf("%s: %d %v, want %d %s", name, code, out, c.code, c.err)
		}
	}
	if code, _ := w.raw("POST", "enroll", "", []byte(`{"token":"`+strings.Repeat("a", 5000)+`"}`)); code != 413 {
		t.Fatalf("oversize enrolment: %d", code)
	}
	if code, _ := w.raw("POST", "enroll", "", []byte(`{"token":`)); code != 400 {
		t.Fatalf("malformed JSON: %d", code)
	}
	if code, out := w.raw("GET", "enroll", "", nil); code != 405 {
		t.Fatalf("GET enroll: %d %v", code, out)
	}
	if code, _ := w.raw("GET", "nothing", "", nil); code != 404 {
		t.Fatalf("unknown endpoint: %d", code)
	}
	// Nothing was created by the refusals: the link still works.
	if ms, _ := w.a.Store.ListMethods(w.ctx, w.tenant.ID, u.ID); len(ms) != 0 {
		t.Fatalf("refused enrolments left methods: %+v", ms)
	}
	e, err := device.Enroll(w.ctx, nil, link, "Bo's laptop", "cli", "1")
	if err != nil {
		t.Fatalf("the link should still work: %v", err)
	}
	d := e.Client
	d.Now = w.clock
	// Used once: refused.
	if _, err := device.Enroll(w.ctx, nil, link, "again", "cli", "1"); err == nil || err.(*device.Error).Status != 404 {
		t.Fatalf("used link: %v", err)
	}
	// An expired link.
	v2 := w.signIn("bo@contoso.com", ip)
	reg2 := w.call("POST", "signin/"+v2.FlowID+"/register/begin", ip, map[string]any{"option": "push"}, 200)
	link2, _ := device.ParseLink(reg2.Register.Enrolment.Link)
	w.advance(11 * time.Minute)
	if _, err := device.Enroll(w.ctx, nil, link2, "late", "cli", "1"); err == nil || err.(*device.Error).Code != "enrolmentLinkInvalid" {
		t.Fatalf("expired link: %v", err)
	}
	w.advance(-11 * time.Minute)

	// Device requests: unknown device, malformed and stale signatures.
	stranger := &device.Client{Server: link.Server, Tenant: w.tenant.ID, DeviceID: "no-such-device", Key: k, Now: w.clock}
	if _, err := stranger.Pending(w.ctx, 0); err == nil || err.(*device.Error).Status != 401 {
		t.Fatalf("unknown device: %v", err)
	}
	if code, out := w.raw("GET", "challenges", "Bearer abc", nil); code != 401 || errCode(out) != "deviceUnauthorized" {
		t.Fatalf("malformed auth: %d %v", code, out)
	}
	if code, _ := w.raw("GET", "challenges", "", nil); code != 401 {
		t.Fatalf("no auth: %d", code)
	}
	stale := *d
	stale.Now = func() time.Time { return w.clock().Add(-5 * time.Minute) }
	if _, err := stale.Pending(w.ctx, 0); err == nil || err.(*device.Error).Code != "staleRequest" {
		t.Fatalf("stale request: %v", err)
	}
	// Another device's key under this device's id.
	forged := *d
	forged.Key = k
	if _, err := forged.Pending(w.ctx, 0); err == nil || err.(*device.Error).Code != "deviceUnauthorized" {
		t.Fatalf("forged signature: %v", err)
	}
	req, _ := d.NewRequest(w.ctx, "GET", "challenges", "wait=999", nil)
	if code, _ := w.signed(req); code != 400 {
		t.Fatalf("wait out of range: %d", code)
	}
	big := bytes.Repeat([]byte("x"), push.MaxAnswer+1)
	req, _ = d.NewRequest(w.ctx, "POST", "answer", "", big)
	if code, _ := w.signed(req); code != 413 {
		t.Fatalf("oversize answer: %d", code)
	}
	for _, b := range []string{`{}`, `{"challengeId":"x","decision":"approve","number":5,"signature":"c2ln"}`, `nonsense`} {
		req, _ = d.NewRequest(w.ctx, "POST", "answer", "", []byte(b))
		if code, out := w.signed(req); code != 400 || errCode(out) != "invalidAnswer" {
			t.Fatalf("answer %s: %d %v", b, code, out)
		}
	}
	req, _ = d.NewRequest(w.ctx, "POST", "answer", "", []byte(`{"challengeId":"unknown","decision":"deny","signature":"c2ln"}`))
	if code, out := w.signed(req); code != 404 || errCode(out) != "challengeNotFound" {
		t.Fatalf("unknown challenge: %d %v", code, out)
	}

	// Finish the registration, then two sign-ins at once: one push waits.
	fin := w.call("POST", "signin/"+v.FlowID+"/register/finish", ip, nil, 200)
	if _, err := d.Answer(w.ctx, w.onePending(d), push.Approve, fin.Register.Enrolment.Number); err != nil {
		t.Fatal(err)
	}
	if v = w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200); v.State != signin.StateDone {
		t.Fatalf("registration: %+v", v)
	}
	w.stored("bo@contoso.com")
	if _, err := w.a.Store.UpdateUser(w.ctx, w.tenant.ID, u.ID, func(x *store.User) error { x.PerUserMFA = store.PerUserMFAEnforced; return nil }); err != nil {
		t.Fatal(err)
	}
	first := w.pushSignIn("bo@contoso.com", ip)
	second := w.signIn("bo@contoso.com", ip)
	if second.State != signin.StateMFA || second.MFA.Push != nil {
		t.Fatalf("second sign-in must not send a second push: %+v", second.MFA)
	}
	w.call("POST", "signin/"+second.FlowID+"/select", ip, map[string]any{"option": "push"}, 409)
	w.call("POST", "signin/"+second.FlowID+"/push/poll", ip, nil, 400)
	w.call("POST", "signin/"+first.FlowID+"/push/poll", ip, map[string]any{"wait": 99}, 400)
	if cs, _ := d.Pending(w.ctx, 0); len(cs) != 1 {
		t.Fatalf("pending pushes: %+v", cs)
	}
	// Once the first is answered, the second may send.
	if _, err := d.Answer(w.ctx, w.onePending(d), push.Deny, 0); err != nil {
		t.Fatal(err)
	}
	sel := w.call("POST", "signin/"+second.FlowID+"/select", ip, map[string]any{"option": "push"}, 200)
	if sel.MFA.Push == nil {
		t.Fatalf("push after the first was answered: %+v", sel.MFA)
	}
}

// TestPushRateLimit: pushes per user per hour are limited.
func TestPushRateLimit(t *testing.T) {
	w := pushWorld(t, storetest.SQLite)
	w.user("cy@contoso.com")
	const ip = "10.5.5.5"
	d := w.enrolPush("cy@contoso.com", ip)
	w.a.Authenticator.Config.PushesPerHour = 2
	for range 2 {
		w.pushSignIn("cy@contoso.com", ip)
		if _, err := d.Answer(w.ctx, w.onePending(d), push.Deny, 0); err != nil {
			t.Fatal(err)
		}
	}
	v := w.signIn("cy@contoso.com", ip)
	if v.MFA.Push != nil {
		t.Fatal("a third push went out")
	}
	req, _ := http.NewRequest("POST", w.srv.URL+"/"+w.tenant.ID+"/api/signin/"+v.FlowID+"/select", strings.NewReader(`{"option":"push"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestPushAuthenticatorLimit: the device counts toward the five
// authenticator apps and hardware tokens, when the link is issued and
// again when the test push would save it.
func TestPushAuthenticatorLimit(t *testing.T) {
	w := pushWorld(t, storetest.SQLite)
	u := w.user("lim@contoso.com")
	addApp := func() {
		t.Helper()
		m := store.Method{ID: uuid.NewString(), TenantID: w.tenant.ID, UserID: u.ID, Kind: "softwareOath", State: store.MethodActive, CreatedAt: w.clock()}
		if err := w.a.Store.CreateMethod(w.ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		addApp()
	}
	l, err := w.a.Authenticator.BeginEnrolment(w.ctx, w.tenant.ID, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	link, _ := device.ParseLink(l.URL)
	e, err := device.Enroll(w.ctx, nil, link, "sixth", "cli", "1")
	if err != nil {
		t.Fatal(err)
	}
	e.Client.Now = w.clock
	addApp() // the fifth arrives while the test push waits
	c, _ := w.a.Store.GetPushChallenge(w.ctx, w.tenant.ID, e.Response.TestChallengeID)
	_, err = e.Client.Answer(w.ctx, w.onePending(e.Client), push.Approve, c.Number)
	if de, ok := err.(*device.Error); !ok || de.Status != 409 || de.Code != "authenticatorLimitReached" || !strings.Contains(de.Message, "five") {
		t.Fatalf("approval over the limit: %v", err)
	}
	ms, _ := w.a.Store.ListMethods(w.ctx, w.tenant.ID, u.ID)
	if len(ms) != 5 {
		t.Fatalf("methods: %d, want the five apps only", len(ms))
	}
	if _, err := e.Client.Pending(w.ctx, 0); err == nil {
		t.Fatal("the refused device can still sign requests")
	}
	if _, err := w.a.Authenticator.BeginEnrolment(w.ctx, w.tenant.ID, u.ID, ""); err == nil || !strings.Contains(err.Error(), "five") {
		t.Fatalf("a link for a sixth: %v", err)
	}
}
