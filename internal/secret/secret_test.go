package secret

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
)

func mustKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	kr, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestRoundTrip(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	aad := []byte("tenant-1/key-1")
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("secret "), 1000)} {
		sealed, err := kr.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		want := "v1:" + kr.PrimaryKeyID() + ":"
		if !strings.HasPrefix(sealed, want) {
			t.Fatalf("sealed = %q, want prefix %q", sealed, want)
		}
		if strings.ContainsAny(sealed[len(want):], "+/=:") {
			t.Fatalf("payload is not unpadded base64url: %q", sealed)
		}
		got, err := kr.Open(sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	a, _ := kr.Seal([]byte("same"), nil)
	b, _ := kr.Seal([]byte("same"), nil)
	if a == b {
		t.Fatal("two seals of the same plaintext are equal; nonce not random")
	}
}

func TestKeyID(t *testing.T) {
	// SHA-256 of 32 zero bytes is 66687aad...
	if got := KeyID(make([]byte, 32)); got != "66687aad" {
		t.Fatalf("KeyID(zero) = %q", got)
	}
}

func TestAADMismatch(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	sealed, err := kr.Seal([]byte("pw"), []byte("tenant-1/obj-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{nil, []byte("tenant-1/obj-2"), []byte("tenant-2/obj-1")} {
		if _, err := kr.Open(sealed, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with aad %q: err = %v, want ErrDecrypt", aad, err)
		}
	}
}

func TestTamper(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	sealed, err := kr.Seal([]byte("0123456789abcdef0123456789abcdef"), []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := len("v1:") + kidLen + 1
	raw, err := b64.DecodeString(sealed[prefix:])
	if err != nil {
		t.Fatal(err)
	}
	// Flip every bit of nonce, ciphertext and tag in turn.
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			mod := bytes.Clone(raw)
			mod[i] ^= 1 << bit
			s := sealed[:prefix] + b64.EncodeToString(mod)
			if _, err := kr.Open(s, []byte("ctx")); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d bit %d flipped: err = %v, want ErrDecrypt", i, bit, err)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	good, err := kr.Seal([]byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	kid := kr.PrimaryKeyID()
	cases := map[string]string{
		"empty":              "",
		"garbage":            "not a sealed value",
		"version only":       "v1:",
		"wrong version":      "v2" + good[2:],
		"no payload sep":     "v1:" + kid,
		"upper-case kid":     "v1:" + strings.ToUpper("abcdef12") + ":AAAA",
		"short kid":          "v1:abc:AAAA",
		"empty payload":      "v1:" + kid + ":",
		"bad base64":         "v1:" + kid + ":!!!!",
		"padded base64":      good + "==",
		"std base64 chars":   "v1:" + kid + ":" + strings.Repeat("+/", 20),
		"truncated":          good[:len(good)-5],
		"truncated to nonce": "v1:" + kid + ":" + b64.EncodeToString(make([]byte, nonceLen+tagLen-1)),
		"extra colon":        good + ":x",
		"trailing newline":   good + "\n",
		"leading space":      " " + good,
	}
	for name, s := range cases {
		if _, err := kr.Open(s, nil); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: Open(%q) err = %v, want ErrDecrypt", name, s, err)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	a := mustRing(t, mustKey(t))
	b := mustRing(t, mustKey(t))
	sealed, err := a.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(sealed, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	if errors.Is(err, ErrDecrypt) {
		t.Fatal("unknown key also reported as ErrDecrypt")
	}
	var empty Keyring
	if _, err := empty.Open(sealed, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("empty ring: err = %v, want ErrUnknownKey", err)
	}
	if _, err := empty.Seal([]byte("x"), nil); err == nil {
		t.Fatal("empty ring sealed")
	}
}

func TestRotationInRing(t *testing.T) {
	oldKey, newKey := mustKey(t), mustKey(t)
	old := mustRing(t, oldKey)
	sealedOld, _ := old.Seal([]byte("old"), []byte("a"))

	rotated := mustRing(t, newKey, oldKey)
	if got, want := rotated.PrimaryKeyID(), KeyID(newKey); got != want {
		t.Fatalf("primary = %s, want %s", got, want)
	}
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[1] != KeyID(oldKey) {
		t.Fatalf("KeyIDs = %v", ids)
	}
	if pt, err := rotated.Open(sealedOld, []byte("a")); err != nil || string(pt) != "old" {
		t.Fatalf("old value after rotation: %q, %v", pt, err)
	}
	sealedNew, _ := rotated.Seal([]byte("new"), []byte("a"))
	if !strings.HasPrefix(sealedNew, "v1:"+KeyID(newKey)+":") {
		t.Fatalf("new seal %q does not use the new key", sealedNew)
	}
	if _, err := old.Open(sealedNew, []byte("a")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old ring opening new value: err = %v, want ErrUnknownKey", err)
	}
}

func TestNewKeyringErrors(t *testing.T) {
	k := mustKey(t)
	for name, keys := range map[string][][]byte{
		"none":      nil,
		"short":     {make([]byte, 16)},
		"long":      {make([]byte, 33)},
		"duplicate": {k, bytes.Clone(k)},
	} {
		if _, err := NewKeyring(keys...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	kr := mustRing(t, mustKey(t), mustKey(t))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			aad := []byte{byte(i)}
			for range 200 {
				s, err := kr.Seal([]byte("x"), aad)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := kr.Open(s, aad); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzOpen(f *testing.F) {
	key := make([]byte, KeySize) // fixed key so the corpus stays meaningful
	kr := mustRing(f, key)
	aad := []byte("fuzz")
	for _, pt := range []string{"", "a", "hello world", strings.Repeat("z", 100)} {
		s, err := kr.Seal([]byte(pt), aad)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Add("v1:")
	f.Add("v1:66687aad:")
	f.Add("v1:00000000:AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := kr.Open(s, aad)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open(%q): unexpected error %v", s, err)
			}
			return
		}
		// Anything that opens must re-seal and open to the same bytes.
		s2, err := kr.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		pt2, err := kr.Open(s2, aad)
		if err != nil || !bytes.Equal(pt, pt2) {
			t.Fatalf("re-seal round trip: %q, %v", pt2, err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	kr := mustRing(b, mustKey(b))
	pt, aad := make([]byte, 32), []byte("tenant/object")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Seal(pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := mustRing(b, mustKey(b), mustKey(b), mustKey(b))
	pt, aad := make([]byte, 32), []byte("tenant/object")
	sealed, err := kr.Seal(pt, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDerive(t *testing.T) {
	k1, _ := NewKeyring(bytes.Repeat([]byte{1}, KeySize))
	k1b, _ := NewKeyring(bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{3}, KeySize))
	k2, _ := NewKeyring(bytes.Repeat([]byte{2}, KeySize))
	a, b := k1.Derive("x"), k1b.Derive("x")
	if len(a) != 32 || !bytes.Equal(a, b) {
		t.Fatal("the same primary key must derive the same key")
	}
	if bytes.Equal(a, k1.Derive("y")) || bytes.Equal(a, k2.Derive("x")) || bytes.Contains(a, bytes.Repeat([]byte{1}, 8)) {
		t.Fatal("derived keys must differ per label and per master key")
	}
}
