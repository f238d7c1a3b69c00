package securityinfo_test

import (
	"testing"

	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// BenchmarkVerifyFido2 measures one security key sign-in step on each
// store: the user's keys, the assertion check, the policy, the counter's
// compare-and-set and the last-used record. One user, one key; answers
// are made before the clock starts.
func BenchmarkVerifyFido2(b *testing.B) {
	for _, be := range storetest.Backends {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be.New)
			rp, err := webauthn.New(keyOrigin, "vakt")
			if err != nil {
				b.Fatal(err)
			}
			e.svc.WebAuthn = rp
			k := softkey.New(keyModel, false)
			en, err := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := k.Register(en.Options, keyOrigin, softkey.Faults{})
			if _, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", body); err != nil {
				b.Fatal(err)
			}
			cs := make([]webauthn.Ceremony, b.N)
			bodies := make([][]byte, b.N)
			for i := range cs {
				if cs[i], err = e.svc.BeginFido2Assertion(ctx, e.tenant.ID, e.user.ID); err != nil {
					b.Fatal(err)
				}
				bodies[i], _ = k.Assert(cs[i].Options, keyOrigin, softkey.Faults{})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := e.svc.VerifyFido2(ctx, e.tenant.ID, e.user.ID, cs[i], bodies[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
