package webauthn_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
)

// mutate rewrites one response field of a browser answer.
func mutate(t testing.TB, body []byte, field string, value any) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["response"].(map[string]any)[field] = value
	out, _ := json.Marshal(m)
	return out
}

func field(t testing.TB, body []byte, name string) []byte {
	var m map[string]any
	json.Unmarshal(body, &m)
	b, err := base64.RawURLEncoding.DecodeString(m["response"].(map[string]any)[name].(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var b64 = base64.RawURLEncoding.EncodeToString

// TestMalformedRegistration: truncated or broken attestation objects and
// client data are refused as malformed or unverifiable — never a panic,
// never another kind of error.
func TestMalformedRegistration(t *testing.T) {
	rp := newRP(t)
	k := softkey.New(aaguidA, false)
	k.Attestation = softkey.AttestSelf
	c, _ := rp.BeginRegistration(anna(), false, now)
	good, _ := k.Register(c.Options, origin, softkey.Faults{})
	obj := field(t, good, "attestationObject")
	cd := field(t, good, "clientDataJSON")
	cases := map[string][]byte{
		"empty":                   nil,
		"not JSON":                []byte("{"),
		"JSON array":              []byte("[]"),
		"trailing data":           append(append([]byte{}, good...), []byte(" {}")...),
		"oversized":               []byte(`{"id":"` + strings.Repeat("A", webauthn.MaxResponseBytes) + `"}`),
		"no response":             []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key"}`),
		"id is a number":          []byte(`{"id":1,"rawId":"AAAA","type":"public-key","response":{}}`),
		"attestation not base64":  mutate(t, good, "attestationObject", "%%%"),
		"attestation not CBOR":    mutate(t, good, "attestationObject", b64([]byte("not cbor at all"))),
		"client data not base64":  mutate(t, good, "clientDataJSON", "!!"),
		"client data not JSON":    mutate(t, good, "clientDataJSON", b64([]byte("{\"type\":"))),
		"client data empty":       mutate(t, good, "clientDataJSON", ""),
		"client data wrong types": mutate(t, good, "clientDataJSON", b64([]byte(`{"type":1,"challenge":[],"origin":{}}`))),
	}
	for _, n := range []int{0, 1, 10, 37, 55, len(obj) / 2, len(obj) - 1} {
		cases["attestation truncated to "+itoa(n)] = mutate(t, good, "attestationObject", b64(obj[:n]))
	}
	for _, n := range []int{0, 5, len(cd) - 1} {
		cases["client data truncated to "+itoa(n)] = mutate(t, good, "clientDataJSON", b64(cd[:n]))
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := rp.FinishRegistration(anna(), c, body, now)
			r, ok := webauthn.AsRefusal(err)
			if !ok {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if r.Reason != webauthn.ReasonMalformed && r.Reason != webauthn.ReasonVerificationFailed && r.Reason != webauthn.ReasonChallengeMismatch &&
				r.Reason != webauthn.ReasonWrongCeremony {
				t.Errorf("reason %s (%s)", r.Reason, r.Detail)
			}
		})
	}
	// The good answer still works: the cases above did not consume anything.
	if _, err := rp.FinishRegistration(anna(), c, good, now); err != nil {
		t.Fatalf("good answer: %v", err)
	}
}

func TestMalformedAssertion(t *testing.T) {
	rp := newRP(t)
	k := softkey.New(aaguidA, true)
	u := register(t, rp, anna(), k)
	c, _ := rp.BeginLogin(&u, now)
	good, _ := k.Assert(c.Options, origin, softkey.Faults{})
	ad := field(t, good, "authenticatorData")
	cases := map[string][]byte{
		"empty":                  nil,
		"not JSON":               []byte("nope"),
		"auth data truncated":    mutate(t, good, "authenticatorData", b64(ad[:20])),
		"auth data empty":        mutate(t, good, "authenticatorData", ""),
		"signature not base64":   mutate(t, good, "signature", "***"),
		"signature garbage":      mutate(t, good, "signature", b64([]byte{0x30, 0x01})),
		"user handle not base64": mutate(t, good, "userHandle", "@@"),
		"client data truncated":  mutate(t, good, "clientDataJSON", b64(field(t, good, "clientDataJSON")[:9])),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := rp.FinishLogin(c, body, &u, nil, now)
			if _, ok := webauthn.AsRefusal(err); !ok {
				t.Fatalf("err = %v, want a refusal", err)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzFinishRegistration feeds arbitrary answers to a registration: the
// parsing path (JSON, base64url, CBOR, COSE) must refuse, not panic.
func FuzzFinishRegistration(f *testing.F) {
	rp := newRP(f)
	k := softkey.New(aaguidA, false)
	k.Attestation = softkey.AttestPacked
	c, _ := rp.BeginRegistration(anna(), false, now)
	good, _ := k.Register(c.Options, origin, softkey.Faults{})
	f.Add(good)
	f.Add(mutate(f, good, "attestationObject", b64(field(f, good, "attestationObject")[:40])))
	f.Add([]byte(`{"id":"","response":{"attestationObject":"oA","clientDataJSON":"e30"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := rp.FinishRegistration(anna(), c, body, now)
		if err != nil {
			if _, ok := webauthn.AsRefusal(err); !ok {
				t.Fatalf("not a refusal: %v", err)
			}
		}
	})
}

// FuzzFinishLogin does the same for assertions, with and without a
// known user.
func FuzzFinishLogin(f *testing.F) {
	rp := newRP(f)
	k := softkey.New(aaguidA, true)
	c, _ := rp.BeginRegistration(anna(), true, now)
	body, _ := k.Register(c.Options, origin, softkey.Faults{})
	reg, err := rp.FinishRegistration(anna(), c, body, now)
	if err != nil {
		f.Fatal(err)
	}
	u := anna()
	u.Credentials = []webauthn.Stored{{MethodID: "m", Props: reg.Props}}
	lc, _ := rp.BeginLogin(nil, now)
	good, _ := k.Assert(lc.Options, origin, softkey.Faults{})
	f.Add(good, true)
	f.Add(mutate(f, good, "authenticatorData", b64(field(f, good, "authenticatorData")[:36])), false)
	f.Fuzz(func(t *testing.T, body []byte, known bool) {
		var who *webauthn.User
		if known {
			who = &u
		}
		_, _, err := rp.FinishLogin(lc, body, who, func([]byte, []byte) (webauthn.User, error) { return u, nil }, now)
		if err != nil {
			if _, ok := webauthn.AsRefusal(err); !ok {
				t.Fatalf("not a refusal: %v", err)
			}
		}
	})
}
