package radius_test

import (
	"fmt"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// BenchmarkPasswordTOTP: one RADIUS sign-in per op — Access-Request with
// the password, Access-Challenge, Access-Request with the TOTP code,
// Access-Accept — over UDP with layeh's client, against SQLite, with the
// argon2id cost of the tests and the default one.
//
//	go test -run '^$' -bench PasswordTOTP -cpu 1 ./internal/radius
func BenchmarkPasswordTOTP(b *testing.B) {
	def := config.Default().Password
	for _, p := range []struct{ memory, time uint32 }{{8192, 1}, {def.Memory, def.Time}} {
		b.Run(fmt.Sprintf("argon2id-m%d-t%d", p.memory, p.time), func(b *testing.B) {
			r := newRig(b, storetest.SQLite(b), p.memory, p.time)
			r.defaultsOff(r.tenant.ID)
			_, key := r.user(r.tenant.ID, "anna@contoso.com")
			r.enforceMFA(r.tenant.ID, "anna@contoso.com")
			b.ResetTimer()
			for b.Loop() {
				r.advance(30 * time.Second) // a fresh TOTP step: a used code is refused
				ch := r.challenge("anna@contoso.com")
				resp := r.exchange(request(b, r.secret, "anna@contoso.com", r.code(key), rfc2865.State_Get(ch)))
				if resp.Code != radius.CodeAccessAccept {
					b.Fatalf("%v %q", resp.Code, reply(resp))
				}
			}
		})
	}
}
