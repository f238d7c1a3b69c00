package push

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/puretest"
)

func TestPure(t *testing.T) { puretest.Check(t, ".") }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestPublicKeyRoundTrip(t *testing.T) {
	k := newKey(t)
	s, err := EncodePublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(&k.PublicKey) {
		t.Fatal("key changed in the round trip")
	}
	if _, err := ParsePublicKey(s + "=="); err != nil {
		t.Fatalf("padding should be accepted: %v", err)
	}
}

func TestPublicKeyRefused(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	derRSA, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	good, _ := EncodePublicKey(&newKey(t).PublicKey)
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	raw[len(raw)-1] ^= 1 // the point leaves the curve
	for name, s := range map[string]string{
		"empty": "", "not base64": "!!!", "garbage": base64.RawURLEncoding.EncodeToString([]byte("hello")),
		"P-384": base64.RawURLEncoding.EncodeToString(der384), "RSA": base64.RawURLEncoding.EncodeToString(derRSA),
		"off curve": base64.RawURLEncoding.EncodeToString(raw), "oversize": string(bytes.Repeat([]byte("A"), 300)),
	} {
		if _, err := ParsePublicKey(s); err != ErrBadKey {
			t.Errorf("%s: got %v, want ErrBadKey", name, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	k := newKey(t)
	msg := RequestBytes("POST", "/t/api/authenticator/answer", 1700000000, "abcdefghijklmnopqrstuv", []byte(`{}`))
	sig, err := Sign(rand.Reader, k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(&k.PublicKey, msg, sig) {
		t.Fatal("own signature refused")
	}
	other := RequestBytes("POST", "/t/api/authenticator/answer", 1700000001, "abcdefghijklmnopqrstuv", []byte(`{}`))
	if Verify(&k.PublicKey, other, sig) {
		t.Fatal("signature accepted for another timestamp")
	}
	if Verify(&newKey(t).PublicKey, msg, sig) {
		t.Fatal("signature accepted for another key")
	}
	a1 := AnswerBytes("c1", "n1", 42, Approve)
	if bytes.Equal(a1, AnswerBytes("c2", "n1", 42, Approve)) || bytes.Equal(a1, AnswerBytes("c1", "n1", 43, Approve)) ||
		bytes.Equal(a1, AnswerBytes("c1", "n2", 42, Approve)) || bytes.Equal(a1, AnswerBytes("c1", "n1", 42, Deny)) {
		t.Fatal("answer bytes do not bind every field")
	}
}

func TestAuthHeader(t *testing.T) {
	a := Auth{DeviceID: "dev_1", Timestamp: 1700000000, Nonce: "abcdefghijklmnopqrstuv", Signature: "c2ln"}
	got, err := ParseAuth(a.Header())
	if err != nil || got != a {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, h := range []string{"", "Bearer x", Scheme + " id=a", Scheme + " id=a, ts=1, nonce=abcdefghijklmnop, sig=x, id=b",
		Scheme + " id=a, ts=-1, nonce=abcdefghijklmnop, sig=x", Scheme + " id=a b, ts=1, nonce=abcdefghijklmnop, sig=x",
		Scheme + " id=a, ts=1, nonce=short, sig=x", Scheme + " id=a, ts=1, nonce=abcdefghijklmnop, sig=x, extra=1"} {
		if _, err := ParseAuth(h); err != ErrBadAuth {
			t.Errorf("%q: got %v", h, err)
		}
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for ts, ok := range map[int64]bool{1700000000: true, 1700000059: true, 1699999941: true, 1700000061: false, 1699999900: false} {
		if err := CheckTime(ts, now); (err == nil) != ok {
			t.Errorf("ts %d: %v", ts, err)
		}
	}
}

func TestNewNumber(t *testing.T) {
	seen := map[int]int{}
	for i := 0; i < 20000; i++ {
		n, err := NewNumber(rand.Reader)
		if err != nil || !ValidNumber(n) {
			t.Fatalf("%d %v", n, err)
		}
		seen[n]++
	}
	if len(seen) != 90 {
		t.Fatalf("only %d distinct numbers", len(seen))
	}
	// Bytes at or above 180 are skipped rather than folded (no bias).
	n, err := NewNumber(bytes.NewReader([]byte{200, 255, 180, 5}))
	if err != nil || n != 15 {
		t.Fatalf("got %d %v, want 15", n, err)
	}
	if _, err := NewNumber(bytes.NewReader([]byte{250})); err == nil {
		t.Fatal("a short reader must fail")
	}
}

func TestAnswerStateMachine(t *testing.T) {
	now := time.Unix(1700000000, 0)
	later := now.Add(time.Minute)
	cases := []struct {
		cur  Status
		exp  time.Time
		d    Decision
		got  int
		want Status
		err  error
	}{
		{Pending, later, Approve, 42, Approved, nil},
		{Pending, later, Approve, 41, WrongNumber, nil},
		{Pending, later, Deny, 0, Denied, nil},
		{Pending, later, Report, 0, Reported, nil},
		{Pending, now, Approve, 42, Expired, nil},
		{Pending, later, Approve, 7, Pending, ErrBadAnswer},
		{Pending, later, "maybe", 0, Pending, ErrBadAnswer},
		{Approved, later, Approve, 42, Approved, ErrAnswered},
		{Denied, later, Approve, 42, Denied, ErrAnswered},
		{Expired, later, Deny, 0, Expired, ErrAnswered},
	}
	for _, c := range cases {
		got, err := Answer(c.cur, c.exp, now, 42, c.d, c.got)
		if got != c.want || err != c.err {
			t.Errorf("%s %s %d: got %s %v, want %s %v", c.cur, c.d, c.got, got, err, c.want, c.err)
		}
	}
	// Without number matching (RADIUS): approve carries no number, and a
	// numbered answer never passes such a challenge, nor the reverse.
	noNumber := []struct {
		want, got int
		d         Decision
		status    Status
		err       error
	}{
		{NoNumber, NoNumber, Approve, Approved, nil},
		{NoNumber, 42, Approve, Pending, ErrBadAnswer},
		{42, NoNumber, Approve, Pending, ErrBadAnswer},
		{NoNumber, NoNumber, Deny, Denied, nil},
		{NoNumber, NoNumber, Report, Reported, nil},
	}
	for _, c := range noNumber {
		got, err := Answer(Pending, later, now, c.want, c.d, c.got)
		if got != c.status || err != c.err {
			t.Errorf("want %d, %s %d: got %s %v, want %s %v", c.want, c.d, c.got, got, err, c.status, c.err)
		}
	}
	if got, _ := Answer(Pending, now, now, NoNumber, Approve, NoNumber); got != Expired {
		t.Errorf("an expired challenge without a number: %s", got)
	}
	if Current(Pending, now, now) != Expired || Current(Pending, later, now) != Pending || Current(Denied, now, now) != Denied {
		t.Fatal("Current")
	}
	if ClampTTL(0) != DefaultTTL || ClampTTL(time.Hour) != MaxTTL || ClampTTL(5*time.Second) != 5*time.Second {
		t.Fatal("ClampTTL")
	}
}

func TestParseAnswer(t *testing.T) {
	ok := []string{`{"challengeId":"c1","decision":"approve","number":42,"signature":"c2ln"}`,
		`{"challengeId":"c1","decision":"deny","signature":"c2ln"}`, `{"challengeId":"c1","decision":"report","signature":"c2ln"}`,
		`{"challengeId":"c1","decision":"approve","signature":"c2ln"}`}
	for _, s := range ok {
		if _, err := ParseAnswer([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{``, `[]`, `{"challengeId":"c 1","decision":"approve","number":42,"signature":"x"}`,
		`{"challengeId":"c1","decision":"approve","number":100,"signature":"x"}`, `{"challengeId":"c1","decision":"deny","number":42,"signature":"x"}`,
		`{"challengeId":"c1","decision":"approve","number":42}`, `{"challengeId":"c1","decision":"yes","signature":"x"}`,
		string(bytes.Repeat([]byte(" "), MaxAnswer+1))}
	for _, s := range bad {
		if _, err := ParseAnswer([]byte(s)); err != ErrBadAnswer {
			t.Errorf("%q: got %v", s, err)
		}
	}
}
