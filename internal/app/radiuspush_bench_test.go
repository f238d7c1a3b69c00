package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/vakt-id/vakt/internal/method/push"
	vradius "github.com/vakt-id/vakt/internal/radius"
	"github.com/vakt-id/vakt/internal/radius/radiustest"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// BenchmarkRADIUSPush: one RADIUS sign-in held for a push that a device
// approves from its stream as soon as it arrives, on SQLite (password
// hashing at 8 MiB, 1 pass). Besides the time per sign-in it reports how
// long the held request took to answer after the device's approval —
// the cost of waiting by notification rather than polling.
func BenchmarkRADIUSPush(b *testing.B) {
	ctx := context.Background()
	a, srv := benchApp(b, storetest.SQLite(b))
	tn, _, err := a.Admin.Init(ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
	if err != nil {
		b.Fatal(err)
	}
	d, uid := benchDevice(b, a, tn.ID, srv.URL)
	u, err := a.Store.UpdateUser(ctx, tn.ID, uid, func(x *store.User) error { x.PerUserMFA = store.PerUserMFAEnforced; return nil })
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.RADIUSClients().Add(ctx, op, tn.ID, vradius.NewClient{Name: "Office VPN", Address: "127.0.0.1", Secret: radiusSecret}); err != nil {
		b.Fatal(err)
	}
	a.Authenticator.Config.PushesPerHour = 0
	addr := serveRADIUS(b, a.NewRADIUS())

	approved := make(chan time.Time, 1)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go d.Stream(sctx, func(c push.Challenge) {
		at := time.Now() // the approval leaves the device
		if _, err := d.Answer(sctx, c, push.Approve, push.NoNumber); err == nil {
			approved <- at
		}
	})
	var wake []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := radiustest.Request(b, []byte(radiusSecret), u.UPN, "Lila-Kor-Flyger-88", nil)
		resp := radiustest.Exchange(b, addr, p, 0, 20*time.Second)
		done := time.Now()
		if resp.Code != radius.CodeAccessAccept {
			b.Fatalf("%v %q", resp.Code, radiustest.Reply(resp))
		}
		wake = append(wake, done.Sub(<-approved))
	}
	b.StopTimer()
	slices.Sort(wake)
	b.ReportMetric(float64(wake[len(wake)/2].Microseconds()), "approve-to-accept-p50-µs")
	b.ReportMetric(float64(wake[len(wake)*99/100].Microseconds()), "approve-to-accept-p99-µs")
}
