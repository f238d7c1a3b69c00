package web_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/method/push"
)

// BenchmarkPushStatusLatency measures what a person waits for on the
// sign-in page: from the device's approval to the page's long poll
// (GET /{tenant}/signin/push/status?wait=25, over loopback HTTP)
// answering "approved". Reported as p50 and p99 over the iterations;
// each iteration is a fresh sign-in with its own push.
func BenchmarkPushStatusLatency(b *testing.B) {
	s := newSite(b, sqliteStore)
	u := s.user("anna@contoso.com")
	d := s.enrolDevice(u)
	url := s.srv.URL + "/" + s.tenant.ID + "/signin/push/status?wait=25"
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s.advance(7 * time.Minute) // stay under the pushes-per-hour limit
		v, err := s.a.SignIn.Start(s.ctx, s.tenant.ID, u.UPN, signinClient())
		if err == nil {
			v, err = s.a.SignIn.Password(s.ctx, s.tenant.ID, v.FlowID, userPassword, false)
		}
		if err != nil || v.MFA == nil || v.MFA.Push == nil {
			b.Fatalf("no push: %+v %v", v, err)
		}
		cs, err := d.Pending(s.ctx, 5*time.Second)
		if err != nil || len(cs) != 1 {
			b.Fatalf("pending: %v %v", cs, err)
		}
		done := make(chan time.Time, 1)
		polling := make(chan struct{})
		go func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.AddCookie(&http.Cookie{Name: "vakt_signin", Value: v.FlowID + ".."})
			close(polling)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- time.Now()
		}()
		<-polling
		time.Sleep(2 * time.Millisecond) // let the poll reach its wait
		b.StartTimer()
		t0 := time.Now()
		if _, err := d.Answer(s.ctx, cs[0], push.Approve, v.MFA.Push.Number); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-done).Sub(t0))
		b.StopTimer()
		if f, err := s.a.SignIn.PollPush(s.ctx, s.tenant.ID, v.FlowID, 0); err != nil || f.State != "done" {
			b.Fatalf("after approval: %+v %v", f, err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
