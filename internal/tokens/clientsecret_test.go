package tokens

import (
	"strings"
	"testing"
)

func TestClientSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		secret, hash, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(secret) != 40 || strings.Trim(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("secret %q is not 40 URL-safe characters", secret)
		}
		if seen[secret] {
			t.Fatal("secret repeated")
		}
		seen[secret] = true
		if !strings.HasPrefix(hash, "sha256$") || len(hash) != len("sha256$")+64 || strings.Contains(hash, secret) {
			t.Fatalf("hash %q", hash)
		}
		if !CheckClientSecret(secret, hash) {
			t.Fatal("secret does not match its own hash")
		}
	}
}

func TestCheckClientSecretRefuses(t *testing.T) {
	secret, hash, err := NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, otherHash, _ := NewClientSecret()
	last := secret[len(secret)-1]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	for name, c := range map[string]struct{ secret, hash string }{
		"other secret":          {other, hash},
		"other hash":            {secret, otherHash},
		"last char changed":     {secret[:len(secret)-1] + string(flip), hash},
		"prefix":                {secret[:39], hash},
		"longer":                {secret + "x", hash},
		"empty secret":          {"", hash},
		"empty hash":            {secret, ""},
		"no scheme":             {secret, strings.TrimPrefix(hash, "sha256$")},
		"other scheme":          {secret, "sha512$" + strings.TrimPrefix(hash, "sha256$")},
		"truncated hash":        {secret, hash[:len(hash)-2]},
		"non-hex hash":          {secret, "sha256$" + strings.Repeat("zz", 32)},
		"secret as hash":        {secret, secret},
		"empty secret and hash": {"", ""},
		"scheme only":           {"", "sha256$"},
		"dummy hash":            {secret, dummySecretHash},
	} {
		if CheckClientSecret(c.secret, c.hash) {
			t.Errorf("%s: accepted", name)
		}
	}
	// Hex digits are case-insensitive; a hash stored upper-case still works.
	if !CheckClientSecret(secret, "sha256$"+strings.ToUpper(strings.TrimPrefix(hash, "sha256$"))) {
		t.Error("upper-case hex hash refused")
	}
}

func BenchmarkCheckClientSecret(b *testing.B) {
	secret, hash, _ := NewClientSecret()
	for b.Loop() {
		CheckClientSecret(secret, hash)
	}
}
