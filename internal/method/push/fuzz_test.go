package push

import (
	"testing"
)

func FuzzParsePublicKey(f *testing.F) {
	k, _ := EncodePublicKey(&newKey(f).PublicKey)
	f.Add(k)
	f.Add("")
	f.Add("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := ParsePublicKey(s)
		if err != nil {
			return
		}
		if !pk.Curve.IsOnCurve(pk.X, pk.Y) {
			t.Fatal("accepted a point off the curve")
		}
		again, err := EncodePublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		if pk2, err := ParsePublicKey(again); err != nil || !pk2.Equal(pk) {
			t.Fatal("re-encoding changed the key")
		}
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add(Auth{DeviceID: "d", Timestamp: 1, Nonce: "abcdefghijklmnop", Signature: "s"}.Header())
	f.Add(Scheme + " id=,ts=,nonce=,sig=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuth(h)
		if err != nil {
			return
		}
		if !Token(a.DeviceID, 64) || !Token(a.Nonce, 64) || !Token(a.Signature, 128) || a.Timestamp <= 0 {
			t.Fatalf("accepted %+v", a)
		}
		if b, err := ParseAuth(a.Header()); err != nil || b != a {
			t.Fatalf("round trip %+v → %+v %v", a, b, err)
		}
	})
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"challengeId":"c1","decision":"approve","number":42,"signature":"c2ln"}`))
	f.Add([]byte(`{"challengeId":"c1","decision":"report","signature":"c2ln"}`))
	f.Add([]byte(`{"challengeId":"c1","decision":"approve","signature":"c2ln"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAnswer(b)
		if err != nil {
			return
		}
		if !a.Decision.Valid() || a.Decision == Approve && a.Number != NoNumber && !ValidNumber(a.Number) || !Token(a.ChallengeID, 64) {
			t.Fatalf("accepted %+v", a)
		}
	})
}
