package securityinfo_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// BenchmarkVerifyTOTP measures one TOTP sign-in step: the failure-count
// check, the user's methods, unsealing the seed, the code check and the
// durable replay record. Each code is used once, as in real life: every
// user has one app, and with a skew of one step a user's app yields
// three fresh codes (steps now-1, now, now+1), so users are made up front.
func BenchmarkVerifyTOTP(b *testing.B) {
	for _, be := range storetest.Backends {
		for _, mode := range []string{"sequential", "parallel"} {
			b.Run(be.Name+"/"+mode, func(b *testing.B) {
				benchVerify(b, be.New, mode == "parallel")
			})
		}
	}
}

func benchVerify(b *testing.B, newStore storetest.NewStore, parallel bool) {
	e := newEnv(b, newStore)
	p := totp.AppParams()
	step := totp.Step(e.now, p)
	users := b.N/3 + 256 // spare users for goroutines that stop mid-user
	creds := make([]struct {
		user  string
		codes [3]string
	}, users)
	err := e.st.InTx(ctx, func(tx store.Store) error {
		for i := range creds {
			u := storetest.NewUser(b, tx, e.tenant.ID, fmt.Sprintf("bench%d@contoso.com", i))
			secret, _ := totp.NewSecret()
			m := store.Method{ID: uuid.NewString(), TenantID: e.tenant.ID, UserID: u.ID, Kind: "softwareOath", State: store.MethodActive,
				CreatedAt: e.now, Props: store.MethodProps{Algorithm: p.Algorithm, Digits: p.Digits, Period: p.Period}}
			sealed, err := e.svc.Keys.Seal(secret, []byte("method:"+e.tenant.ID+":"+m.ID))
			if err != nil {
				return err
			}
			m.Secret = sealed
			if err := tx.CreateMethod(ctx, m); err != nil {
				return err
			}
			creds[i].user = u.ID
			for j := range 3 {
				creds[i].codes[j] = totp.Code(secret, step-1+int64(j), p)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Each worker takes a user and uses its three codes in order, as one
	// person would; codes of one user never race each other.
	var nextUser atomic.Int64
	worker := func(more func() bool) {
		for {
			c := creds[nextUser.Add(1)-1]
			for j := range 3 {
				if !more() {
					return
				}
				if _, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, c.user, c.codes[j]); err != nil {
					b.Error(err)
					return
				}
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) { worker(pb.Next) })
	} else {
		n := 0
		worker(func() bool { n++; return n <= b.N })
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
