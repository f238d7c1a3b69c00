package app_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/method/push"
	vradius "github.com/vakt-id/vakt/internal/radius"
	"github.com/vakt-id/vakt/internal/radius/radiustest"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

const radiusSecret = "a-shared-secret-for-tests"

// serveRADIUS runs srv on a loopback port for the test.
func serveRADIUS(tb testing.TB, srv *vradius.Server) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc, 5*time.Second) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

// radiusPush sends upn's password from a gateway (retransmitting every
// retry when set) while the device answers the push it receives with
// answer; it returns the gateway's answer and the challenge the device
// saw.
func (w *world) radiusPush(addr, upn string, d *device.Client, retry time.Duration, answer func(push.Challenge) error) (*radius.Packet, push.Challenge) {
	w.t.Helper()
	type seen struct {
		c   push.Challenge
		err error
	}
	got := make(chan seen, 1)
	go func() {
		var s seen
		defer func() { got <- s }()
		var cs []push.Challenge
		if cs, s.err = d.Pending(w.ctx, 10*time.Second); s.err != nil || len(cs) != 1 {
			s.err = fmt.Errorf("pending: %+v %v", cs, s.err)
			return
		}
		s.c = cs[0]
		s.err = answer(s.c)
	}()
	p := radiustest.Request(w.t, []byte(radiusSecret), upn, "Lila-Kor-Flyger-88", nil)
	resp := radiustest.Exchange(w.t, addr, p, retry, 20*time.Second)
	s := <-got
	if s.err != nil {
		w.t.Fatalf("device: %v", s.err)
	}
	return resp, s.c
}

// pushesSent is how many sign-in pushes went to u this hour.
func (w *world) pushesSent(u store.User) int {
	w.t.Helper()
	n, _, err := w.a.Store.Count(w.ctx, w.tenant.ID, "push-sent:"+u.ID, time.Hour, w.clock())
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestRADIUSPush: a VPN sign-in of a user whose method is the
// authenticator is held while the push (without number matching) waits:
// approve → Access-Accept; a retransmission meanwhile is answered once
// from one push; deny, "this wasn't me" and no answer in time →
// Access-Reject with a message, the last leaving nothing pending (and a
// new request meanwhile rejected without a second push); with
// radiusPush.mode "code" no push goes out at all.
func TestRADIUSPush(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			w := pushWorld(t, b.New)
			u := w.user("pia@contoso.com")
			d := w.enrolPush("pia@contoso.com", "10.2.2.2")
			if _, err := w.a.RADIUSClients().Add(w.ctx, op, w.tenant.ID, vradius.NewClient{Name: "Office VPN", Address: "127.0.0.1", Secret: radiusSecret}); err != nil {
				t.Fatal(err)
			}
			srv := w.a.NewRADIUS()
			if srv.Push == nil {
				t.Fatal("serve --radius does not push")
			}
			const hold = 3 * time.Second
			srv.PushTimeout = hold
			addr := serveRADIUS(t, srv)

			// Approve: no number is asked, and an answer with one is refused.
			resp, c := w.radiusPush(addr, "pia@contoso.com", d, 0, func(c push.Challenge) error {
				if c.NumberMatching || c.Purpose != "signin" || c.App != "Office VPN" || c.User != "pia@contoso.com" {
					return fmt.Errorf("challenge: %+v", c)
				}
				var de *device.Error
				if _, err := d.Answer(w.ctx, c, push.Approve, 42); !errors.As(err, &de) || de.Status != 400 || de.Code != "invalidAnswer" {
					return fmt.Errorf("approval with a number: %v", err)
				}
				if st, err := d.Answer(w.ctx, c, push.Approve, push.NoNumber); err != nil || st != push.Approved {
					return fmt.Errorf("approve: %s %v", st, err)
				}
				return nil
			})
			if resp.Code != radius.CodeAccessAccept {
				t.Fatalf("approved: %v %q", resp.Code, radiustest.Reply(resp))
			}
			if st, _ := w.a.Store.GetPushChallenge(w.ctx, w.tenant.ID, c.ID); st.Number != push.NoNumber || st.Status != "approved" {
				t.Fatalf("stored challenge: %+v", st)
			}

			// The gateway retransmits while the request is held: one push,
			// one evaluation, one answer.
			sent := w.pushesSent(u)
			dups := radiustest.Counter(t, w.a.Metrics, "vakt_radius_dropped_total", "reason", "duplicate_in_progress")
			resp, _ = w.radiusPush(addr, "pia@contoso.com", d, 200*time.Millisecond, func(c push.Challenge) error {
				time.Sleep(time.Second) // several retransmissions meanwhile
				if cs, err := d.Pending(w.ctx, 0); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
					return fmt.Errorf("pending during retransmissions: %+v %v", cs, err)
				}
				_, err := d.Answer(w.ctx, c, push.Approve, push.NoNumber)
				return err
			})
			if resp.Code != radius.CodeAccessAccept {
				t.Fatalf("retransmitted: %v %q", resp.Code, radiustest.Reply(resp))
			}
			if n := w.pushesSent(u); n != sent+1 {
				t.Fatalf("pushes sent for one held request: %d", n-sent)
			}
			if n := radiustest.Counter(t, w.a.Metrics, "vakt_radius_dropped_total", "reason", "duplicate_in_progress"); n < dups+2 {
				t.Fatalf("retransmissions dropped while held: %v, want at least 2", n-dups)
			}

			// Deny.
			resp, _ = w.radiusPush(addr, "pia@contoso.com", d, 0, func(c push.Challenge) error {
				_, err := d.Answer(w.ctx, c, push.Deny, 0)
				return err
			})
			if resp.Code != radius.CodeAccessReject || !strings.Contains(radiustest.Reply(resp), "denied") {
				t.Fatalf("denied: %v %q", resp.Code, radiustest.Reply(resp))
			}

			// Nobody answers: rejected after the hold, the push expired. A
			// new request meanwhile (a gateway that gave up) sends no second
			// push and is told why.
			second := radiustest.Request(t, []byte(radiusSecret), "pia@contoso.com", "Lila-Kor-Flyger-88", nil)
			resp, c = w.radiusPush(addr, "pia@contoso.com", d, 0, func(push.Challenge) error {
				ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
				defer cancel()
				r, err := (&radius.Client{}).Exchange(ctx, second, addr)
				if err != nil {
					return err
				}
				if r.Code != radius.CodeAccessReject || !strings.Contains(radiustest.Reply(r), "already waiting") {
					return fmt.Errorf("a new request during the hold: %v %q", r.Code, radiustest.Reply(r))
				}
				return nil
			})
			if resp.Code != radius.CodeAccessReject || !strings.Contains(radiustest.Reply(resp), "not approved in time") {
				t.Fatalf("timed out: %v %q", resp.Code, radiustest.Reply(resp))
			}
			if st, _ := w.a.Store.GetPushChallenge(w.ctx, w.tenant.ID, c.ID); st.Status != "expired" {
				t.Fatalf("push after the timeout: %s", st.Status)
			}
			if cs, err := d.Pending(w.ctx, 0); err != nil || len(cs) != 0 {
				t.Fatalf("still pending after the timeout: %+v %v", cs, err)
			}
			if _, err := d.Answer(w.ctx, c, push.Approve, push.NoNumber); err == nil {
				t.Fatal("a late approval was accepted")
			}

			// "This wasn't me": rejected, a risk detection, in the log.
			resp, _ = w.radiusPush(addr, "pia@contoso.com", d, 0, func(c push.Challenge) error {
				_, err := d.Answer(w.ctx, c, push.Report, 0)
				return err
			})
			if resp.Code != radius.CodeAccessReject || !strings.Contains(radiustest.Reply(resp), "not yours") {
				t.Fatalf("reported: %v %q", resp.Code, radiustest.Reply(resp))
			}
			rs, _ := w.a.Store.ListRiskDetections(w.ctx, w.tenant.ID, u.ID)
			if len(rs) != 1 || rs[0].EventType != signin.RiskUserReported || rs[0].IPAddress != "127.0.0.1" {
				t.Fatalf("risk detections: %+v", rs)
			}

			// The sign-in log has each outcome as a RADIUS sign-in.
			var outcomes []string
			for _, e := range w.signIns() {
				if e.ClientAppUsed != "Other clients" || e.IsInteractive {
					continue
				}
				switch {
				case e.ErrorCode == 0:
					outcomes = append(outcomes, "success")
				case strings.Contains(e.FailureReason, "declined"):
					outcomes = append(outcomes, "denied")
				case strings.Contains(e.FailureReason, "expired"):
					outcomes = append(outcomes, "expired")
				case strings.Contains(e.FailureReason, "suspicious"):
					if !slices.Contains(e.RiskEventTypes, signin.RiskUserReported) || e.CorrelationID != rs[0].CorrelationID {
						t.Fatalf("report without its risk event: %+v", e)
					}
					outcomes = append(outcomes, "reported")
				}
			}
			slices.Sort(outcomes)
			if want := []string{"denied", "expired", "reported", "success", "success"}; !slices.Equal(outcomes, want) {
				t.Fatalf("RADIUS sign-ins logged: %v, want %v", outcomes, want)
			}

			// radiusPush.mode "code": no push goes out; this user has no
			// code method, so the answer says so.
			w.a.Config.RadiusPush.Mode = config.RadiusPushCode
			codeSrv := w.a.NewRADIUS()
			codeSrv.Metrics = nil // the first server's are registered
			if codeSrv.Push != nil {
				t.Fatal(`mode "code" still pushes`)
			}
			sent = w.pushesSent(u)
			resp = radiustest.Exchange(t, serveRADIUS(t, codeSrv), radiustest.Request(t, []byte(radiusSecret), "pia@contoso.com", "Lila-Kor-Flyger-88", nil), 0, 10*time.Second)
			if resp.Code != radius.CodeAccessReject || !strings.Contains(radiustest.Reply(resp), "None of your verification methods") {
				t.Fatalf(`mode "code": %v %q`, resp.Code, radiustest.Reply(resp))
			}
			if n := w.pushesSent(u); n != sent {
				t.Fatalf(`mode "code" sent %d pushes`, n-sent)
			}
			if cs, err := d.Pending(w.ctx, 0); err != nil || len(cs) != 0 {
				t.Fatalf(`mode "code" left a push: %+v %v`, cs, err)
			}
		})
	}
}

// TestRADIUSPushTwoNodes: node A holds the RADIUS request; the device
// streams from node B and answers there; A learns of the answer by
// PostgreSQL NOTIFY and accepts.
func TestRADIUSPushTwoNodes(t *testing.T) {
	A, _, tn, d, got := twoNodes(t)
	ctx := context.Background()
	if _, err := A.a.RADIUSClients().Add(ctx, op, tn.ID, vradius.NewClient{Name: "Office VPN", Address: "127.0.0.1", Secret: radiusSecret}); err != nil {
		t.Fatal(err)
	}
	addr := serveRADIUS(t, A.a.NewRADIUS())
	answered := make(chan error, 1)
	go func() {
		select {
		case c := <-got:
			if c.NumberMatching || c.Purpose != "signin" {
				answered <- fmt.Errorf("challenge on B: %+v", c)
				return
			}
			_, err := d.Answer(ctx, c, push.Approve, push.NoNumber)
			answered <- err
		case <-time.After(15 * time.Second):
			answered <- fmt.Errorf("B's stream did not receive the push of A's RADIUS sign-in")
		}
	}()
	resp := radiustest.Exchange(t, addr, radiustest.Request(t, []byte(radiusSecret), "nod@contoso.com", "Lila-Kor-Flyger-88", nil), 0, 30*time.Second)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if resp.Code != radius.CodeAccessAccept {
		t.Fatalf("held on A, approved on B: %v %q", resp.Code, radiustest.Reply(resp))
	}
}
