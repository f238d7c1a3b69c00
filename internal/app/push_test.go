package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// pushWorld is a world whose authenticator and devices share its clock.
func pushWorld(t *testing.T, newStore storetest.NewStore) *world {
	w := newWorld(t, newStore)
	w.a.Authenticator.Now = w.clock
	return w
}

// enrolPush registers the authenticator for upn through the sign-in's
// registration interrupt and returns the device.
func (w *world) enrolPush(upn, ip string) *device.Client {
	w.t.Helper()
	v := w.signIn(upn, ip)
	if v.State != signin.StateRegister || !slices.Contains(v.Register.Options, "push") {
		w.t.Fatalf("want the registration interrupt offering push: %+v %+v", v, v.Register)
	}
	reg := w.call("POST", "signin/"+v.FlowID+"/register/begin", ip, map[string]any{"option": "push"}, 200)
	en := reg.Register.Enrolment
	if en == nil || en.Link == "" || len(en.QRPNG) == 0 || en.Status != "waitingForDevice" {
		w.t.Fatalf("enrolment: %+v", reg.Register)
	}
	link, err := device.ParseLink(en.Link)
	if err != nil {
		w.t.Fatal(err)
	}
	e, err := device.Enroll(w.ctx, nil, link, "Pia's laptop", "cli", "1.0")
	if err != nil {
		w.t.Fatal(err)
	}
	d := e.Client
	d.Now = w.clock
	if e.Response.TOTP != nil {
		w.t.Fatalf("the default policy does not allow codes from the authenticator: %+v", e.Response.TOTP)
	}
	// The method waits for the test push.
	if ms, _ := w.a.SecurityInfo.Methods(w.ctx, w.tenant.ID, w.stored(upn).ID); len(ms) != 0 {
		w.t.Fatalf("method saved before the test push: %+v", ms)
	}
	fin := w.call("POST", "signin/"+v.FlowID+"/register/finish", ip, nil, 200)
	if fin.State != signin.StateRegister || fin.Register.Enrolment == nil || !push.ValidNumber(fin.Register.Enrolment.Number) {
		w.t.Fatalf("waiting for the test push: %+v", fin.Register)
	}
	cs, err := d.Pending(w.ctx, 0)
	if err != nil || len(cs) != 1 || cs[0].Purpose != "test" || cs[0].ID != e.Response.TestChallengeID {
		w.t.Fatalf("test push: %+v %v", cs, err)
	}
	if st, err := d.Answer(w.ctx, cs[0], push.Approve, fin.Register.Enrolment.Number); err != nil || st != push.Approved {
		w.t.Fatalf("approve test push: %s %v", st, err)
	}
	done := w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200)
	if done.State != signin.StateDone {
		w.t.Fatalf("after the test push: %+v", done)
	}
	ms, _ := w.a.SecurityInfo.Methods(w.ctx, w.tenant.ID, w.stored(upn).ID)
	if len(ms) != 1 || ms[0].Kind != "microsoftAuthenticator" || !ms[0].IsDefault || ms[0].DisplayName != "Pia's laptop" {
		w.t.Fatalf("methods after registration: %+v", ms)
	}
	// From now on every sign-in needs MFA.
	if _, err := w.a.Store.UpdateUser(w.ctx, w.tenant.ID, w.stored(upn).ID, func(u *store.User) error {
		u.PerUserMFA = store.PerUserMFAEnforced
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// pushSignIn signs in and expects the push to have gone out.
func (w *world) pushSignIn(upn, ip string) signin.View {
	w.t.Helper()
	v := w.signIn(upn, ip)
	if v.State != signin.StateMFA || v.MFA.Selected != "push" || v.MFA.Push == nil || !push.ValidNumber(v.MFA.Push.Number) {
		w.t.Fatalf("want a push: %+v %+v", v, v.MFA)
	}
	return v
}

func (w *world) onePending(d *device.Client) push.Challenge {
	w.t.Helper()
	cs, err := d.Pending(w.ctx, 5*time.Second)
	if err != nil || len(cs) != 1 {
		w.t.Fatalf("pending: %+v %v", cs, err)
	}
	return cs[0]
}

func (w *world) signIns() []store.SignIn {
	w.t.Helper()
	w.a.SignInLog.Flush(w.ctx)
	p, err := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{Limit: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	return p.Items
}

// TestPushSignIn: registration through the interrupt with a test push,
// then sign-ins approved with the right number, a wrong number, a deny, a
// report and an expiry — each ends as it should and is in the sign-in log.
func TestPushSignIn(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			w := pushWorld(t, b.New)
			u := w.user("pia@contoso.com")
			const ip = "10.2.2.2"
			d := w.enrolPush("pia@contoso.com", ip)

			// Approve with the right number; the stream shows app and place.
			v := w.pushSignIn("pia@contoso.com", ip)
			got := make(chan push.Challenge, 1)
			sctx, stop := context.WithCancel(w.ctx)
			go d.Stream(sctx, func(c push.Challenge) { got <- c })
			var c push.Challenge
			select {
			case c = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream did not deliver the push")
			}
			stop()
			if c.Purpose != "signin" || c.User != "pia@contoso.com" || c.IP != ip || c.App == "" {
				t.Fatalf("challenge: %+v", c)
			}
			if st, err := d.Answer(w.ctx, c, push.Approve, v.MFA.Push.Number); err != nil || st != push.Approved {
				t.Fatalf("approve: %s %v", st, err)
			}
			done := w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, map[string]any{"wait": 5}, 200)
			if done.State != signin.StateDone || done.Session == nil {
				t.Fatalf("approved sign-in: %+v", done)
			}
			if s := w.session(done.Session.Token); !slices.Contains(s.Methods, "swk") || !slices.Contains(s.Methods, "mfa") {
				t.Fatalf("session methods: %v", s.Methods)
			}

			// A wrong number ends the sign-in and counts toward lockout.
			w.advance(time.Minute)
			v = w.pushSignIn("pia@contoso.com", ip)
			c = w.onePending(d)
			wrong := v.MFA.Push.Number%90 + 10
			if st, err := d.Answer(w.ctx, c, push.Approve, wrong); err != nil || st != push.WrongNumber {
				t.Fatalf("wrong number: %s %v", st, err)
			}
			// The JSON API's verify step reads the outcome too.
			blocked := w.call("POST", "signin/"+v.FlowID+"/verify", ip, nil, 200)
			if blocked.State != signin.StateBlocked || blocked.Blocked.Code != signin.CodeMFAFailed {
				t.Fatalf("after a wrong number: %+v", blocked)
			}
			lk, _ := w.a.Store.GetLockout(w.ctx, w.tenant.ID, "name:pia@contoso.com", "familiar")
			lu, _ := w.a.Store.GetLockout(w.ctx, w.tenant.ID, "name:pia@contoso.com", "unfamiliar")
			if lk.Failures+lu.Failures != 1 {
				t.Fatalf("lockout failures %d+%d, want 1", lk.Failures, lu.Failures)
			}

			// Deny.
			v = w.pushSignIn("pia@contoso.com", ip)
			if st, err := d.Answer(w.ctx, w.onePending(d), push.Deny, 0); err != nil || st != push.Denied {
				t.Fatalf("deny: %s %v", st, err)
			}
			if v = w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200); v.State != signin.StateBlocked {
				t.Fatalf("after deny: %+v", v)
			}

			// "This wasn't me": blocked, a risk detection, in the log.
			v = w.pushSignIn("pia@contoso.com", ip)
			if st, err := d.Answer(w.ctx, w.onePending(d), push.Report, 0); err != nil || st != push.Reported {
				t.Fatalf("report: %s %v", st, err)
			}
			if v = w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200); v.State != signin.StateBlocked {
				t.Fatalf("after report: %+v", v)
			}
			rs, _ := w.a.Store.ListRiskDetections(w.ctx, w.tenant.ID, u.ID)
			if len(rs) != 1 || rs[0].EventType != "userReportedSuspiciousActivity" || rs[0].IPAddress != ip {
				t.Fatalf("risk detections: %+v", rs)
			}

			// Expiry: nobody answers within the minute.
			v = w.pushSignIn("pia@contoso.com", ip)
			w.advance(61 * time.Second)
			if v = w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200); v.State != signin.StateBlocked {
				t.Fatalf("after expiry: %+v", v)
			}
			if cs, err := d.Pending(w.ctx, 0); err != nil || len(cs) != 0 {
				t.Fatalf("expired push still pending: %+v %v", cs, err)
			}

			reasons := map[string]store.SignIn{}
			for _, e := range w.signIns() {
				if e.ErrorCode == signin.CodeMFAFailed {
					reasons[e.FailureReason] = e
				}
			}
			want := map[string]bool{"number entered": false, "declined": false, "suspicious": false, "expired": false}
			for r, e := range reasons {
				for k := range want {
					if strings.Contains(r, k) {
						want[k] = true
						if k == "suspicious" && (!slices.Contains(e.RiskEventTypes, "userReportedSuspiciousActivity") || e.CorrelationID != rs[0].CorrelationID) {
							t.Fatalf("report without risk event: %+v", e)
						}
					}
				}
			}
			for k, ok := range want {
				if !ok {
					t.Fatalf("no sign-in log entry for %q in %v", k, reasons)
				}
			}
		})
	}
}

// signed sends a device request with the given auth header and body.
func (w *world) signed(req *http.Request) (int, map[string]any) {
	w.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestPushReplay: a captured approval cannot be sent again nor moved to
// another challenge, and a deleted device's signatures are refused.
func TestPushReplay(t *testing.T) {
	w := pushWorld(t, storetest.SQLite)
	w.user("rex@contoso.com")
	const ip = "10.3.3.3"
	d := w.enrolPush("rex@contoso.com", ip)

	v := w.pushSignIn("rex@contoso.com", ip)
	c := w.onePending(d)
	body, err := d.AnswerBody(c, push.Approve, v.MFA.Push.Number)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := d.NewRequest(w.ctx, "POST", "answer", "", body)
	captured := req.Clone(w.ctx)
	if code, out := w.signed(req); code != 200 || out["status"] != "approved" {
		t.Fatalf("approval: %d %v", code, out)
	}
	captured.Body = io.NopCloser(bytes.NewReader(body))
	if code, out := w.signed(captured); code != 401 || errCode(out) != "replayedRequest" {
		t.Fatalf("replayed request: %d %v", code, out)
	}
	// Freshly signed but the same answer: the challenge takes one answer.
	req, _ = d.NewRequest(w.ctx, "POST", "answer", "", body)
	if code, out := w.signed(req); code != 409 || errCode(out) != "challengeAnswered" {
		t.Fatalf("second answer: %d %v", code, out)
	}
	w.call("POST", "signin/"+v.FlowID+"/push/poll", ip, nil, 200)

	// The captured answer moved to the next challenge.
	v = w.pushSignIn("rex@contoso.com", ip)
	c2 := w.onePending(d)
	var moved push.AnswerRequest
	json.Unmarshal(body, &moved)
	moved.ChallengeID, moved.Number = c2.ID, v.MFA.Push.Number
	mb, _ := json.Marshal(moved)
	req, _ = d.NewRequest(w.ctx, "POST", "answer", "", mb)
	if code, out := w.signed(req); code != 401 || errCode(out) != "invalidAnswerSignature" {
		t.Fatalf("answer moved to another challenge: %d %v", code, out)
	}
	// A request signed for one endpoint does not open another.
	req, _ = d.NewRequest(w.ctx, "GET", "challenges", "", nil)
	req.URL.Path = strings.Replace(req.URL.Path, "challenges", "stream", 1)
	if code, _ := w.signed(req); code != 401 {
		t.Fatalf("signature for another path: %d", code)
	}
	if cs, _ := w.a.Store.GetPushChallenge(w.ctx, w.tenant.ID, c2.ID); cs.Status != "pending" {
		t.Fatalf("refused answers changed the challenge: %s", cs.Status)
	}

	// An administrator deletes the device: its key stops working at once.
	u := w.stored("rex@contoso.com")
	ms, _ := w.a.SecurityInfo.Methods(w.ctx, w.tenant.ID, u.ID)
	if err := w.a.SecurityInfo.Delete(w.ctx, directory.Actor{Operator: true}, w.tenant.ID, u.ID, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	body, _ = d.AnswerBody(c2, push.Approve, v.MFA.Push.Number)
	req, _ = d.NewRequest(w.ctx, "POST", "answer", "", body)
	if code, out := w.signed(req); code != 401 || errCode(out) != "deviceUnauthorized" {
		t.Fatalf("deleted device: %d %v", code, out)
	}
	if _, err := d.Pending(w.ctx, 0); err == nil {
		t.Fatal("deleted device may still poll")
	}
}

// TestPushStreamOutlivesTimeouts: a device stream and a long poll stay
// open past the server's read and write timeouts.
func TestPushStreamOutlivesTimeouts(t *testing.T) {
	w := pushWorld(t, storetest.SQLite)
	w.user("ola@contoso.com")
	const ip = "10.6.6.6"
	d := w.enrolPush("ola@contoso.com", ip)
	srv := httptest.NewUnstartedServer(w.a.Handler())
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
	srv.Start()
	defer srv.Close()
	slow := *d
	slow.Server = srv.URL
	got := make(chan push.Challenge, 1)
	ended := make(chan error, 1)
	ctx, stop := context.WithCancel(w.ctx)
	defer stop()
	go func() { ended <- slow.Stream(ctx, func(c push.Challenge) { got <- c }) }()
	polled := make(chan error, 1)
	go func() { _, err := slow.Pending(ctx, 2*time.Second); polled <- err }()
	time.Sleep(1500 * time.Millisecond)
	v := w.pushSignIn("ola@contoso.com", ip)
	select {
	case c := <-got:
		if _, err := d.Answer(w.ctx, c, push.Approve, v.MFA.Push.Number); err != nil {
			t.Fatal(err)
		}
	case err := <-ended:
		t.Fatalf("the stream ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no challenge on the stream")
	}
	if err := <-polled; err != nil {
		t.Fatalf("long poll: %v", err)
	}
}
