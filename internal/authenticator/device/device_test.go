package device

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

func TestParseLink(t *testing.T) {
	l, err := ParseLink("https://idp.example.com/vakt/contoso.com/api/authenticator/enroll#AbC_-123")
	if err != nil || l.Server != "https://idp.example.com/vakt" || l.Tenant != "contoso.com" || l.Token != "AbC_-123" {
		t.Fatalf("%+v %v", l, err)
	}
	for _, s := range []string{"", "idp.example.com/t/api/authenticator/enroll#x", "ftp://h/t/api/authenticator/enroll#x",
		"https://h/t/api/authenticator/enroll", "https://h/api/authenticator/enroll#x", "https://h/t/api/authenticator/enrol#x",
		"https://h/t/api/authenticator/enroll#a/b", "https://h/t/api/authenticator/enroll#" + strings.Repeat("a", 65)} {
		if _, err := ParseLink(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add("https://idp.example.com/contoso.com/api/authenticator/enroll#token")
	f.Add("http://[::1]:8080//api/authenticator/enroll#t")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			return
		}
		if l.Tenant == "" || strings.Contains(l.Tenant, "/") || l.Token == "" || !strings.HasPrefix(l.Server, "http") {
			t.Fatalf("accepted %q as %+v", s, l)
		}
	})
}

func TestKeyRoundTrip(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := EncodeKey(k)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeKey(s)
	if err != nil || !got.Equal(k) {
		t.Fatalf("round trip: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s384, _ := EncodeKey(p384)
	if _, err := DecodeKey(s384); err == nil {
		t.Fatal("P-384 key accepted")
	}
	if _, err := DecodeKey("!!"); err == nil {
		t.Fatal("garbage accepted")
	}
}
