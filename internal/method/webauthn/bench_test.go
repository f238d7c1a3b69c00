package webauthn_test

import (
	"testing"

	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
)

// BenchmarkFinishLogin measures checking one passkey assertion (parse,
// the named pre-checks, go-webauthn's verification with an ES256
// signature); the answers are made before the clock starts.
func BenchmarkFinishLogin(b *testing.B) {
	rp := newRP(b)
	k := softkey.New(aaguidA, true)
	c, _ := rp.BeginRegistration(anna(), true, now)
	body, _ := k.Register(c.Options, origin, softkey.Faults{})
	reg, err := rp.FinishRegistration(anna(), c, body, now)
	if err != nil {
		b.Fatal(err)
	}
	u := anna()
	u.Credentials = []webauthn.Stored{{MethodID: "m", Props: reg.Props}}
	type pair struct {
		c    webauthn.Ceremony
		body []byte
	}
	answers := make([]pair, b.N)
	for i := range answers {
		lc, _ := rp.BeginLogin(&u, now)
		a, _ := k.Assert(lc.Options, origin, softkey.Faults{})
		answers[i] = pair{lc, a}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u.Credentials[0].Counter = uint32(i)
		if _, _, err := rp.FinishLogin(answers[i].c, answers[i].body, &u, nil, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFinishRegistration measures checking one registration with a
// packed attestation certificate.
func BenchmarkFinishRegistration(b *testing.B) {
	rp := newRP(b)
	type pair struct {
		c    webauthn.Ceremony
		body []byte
	}
	answers := make([]pair, b.N)
	for i := range answers {
		k := softkey.New(aaguidA, false)
		k.Attestation = softkey.AttestPacked
		c, _ := rp.BeginRegistration(anna(), false, now)
		body, _ := k.Register(c.Options, origin, softkey.Faults{})
		answers[i] = pair{c, body}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := rp.FinishRegistration(anna(), answers[i].c, answers[i].body, now); err != nil {
			b.Fatal(err)
		}
	}
}
