package radius

import (
	"bytes"
	"crypto/rand"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"github.com/vakt-id/vakt/internal/secret"
)

// FuzzPacket feeds arbitrary datagrams to the path that reads untrusted
// bytes: decodeRequest (lengths, code, attributes, Message-Authenticator),
// then — for the same bytes re-signed, so the fuzzer gets past the MAC —
// what respond reads from a request (User-Name, User-Password, State) and
// the answer's encoding. Nothing may panic; a decoded request must carry
// a valid Message-Authenticator; every answer must decode and verify.
func FuzzPacket(f *testing.F) {
	sec := []byte("fuzzing-shared-secret")
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	s := &Server{Keys: kr}
	c := client{id: "c1", tenantID: "t1", name: "vpn", secret: sec}

	seed := radius.New(radius.CodeAccessRequest, sec)
	rfc2865.UserName_SetString(seed, "anna@contoso.com")
	rfc2865.UserPassword_SetString(seed, "Lila-Kor-Flyger-88")
	st, _ := s.sealState(c, "anna@contoso.com", "flow")
	rfc2865.State_Set(seed, st)
	rfc2869.MessageAuthenticator_Set(seed, make([]byte, 16))
	mac, _ := messageAuthenticator(seed, sec)
	rfc2869.MessageAuthenticator_Set(seed, mac)
	good, _ := seed.Encode()
	f.Add(good)
	f.Add(good[:20])
	f.Add(append(append([]byte(nil), good...), 0, 0))
	f.Add([]byte{12, 1, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(bytes.Repeat([]byte{0xff}, 300))

	f.Fuzz(func(t *testing.T, raw []byte) {
		if p, err := decodeRequest(raw, sec); err == nil {
			if !validMessageAuthenticator(p, sec) {
				t.Fatal("decoded a request without a valid Message-Authenticator")
			}
		} else if dropReason(err) == dropInternal {
			t.Fatalf("a parse failure without a drop reason: %v", err)
		}
		// Re-sign whatever parses, to reach what lies behind the MAC.
		p, err := radius.Parse(raw, sec)
		if err != nil {
			return
		}
		p.Attributes.Del(rfc2869.MessageAuthenticator_Type)
		p.Add(rfc2869.MessageAuthenticator_Type, make(radius.Attribute, 16))
		mac, err := messageAuthenticator(p, sec)
		if err != nil {
			return // too large once the attribute is added
		}
		p.Set(rfc2869.MessageAuthenticator_Type, mac)
		signed, err := p.MarshalBinary()
		if err != nil {
			return
		}
		req, err := decodeRequest(signed, sec)
		if err != nil {
			if r := dropReason(err); r != dropCode && r != dropOversize {
				t.Fatalf("a re-signed request was dropped: %v", err)
			}
			return
		}
		user, _ := rfc2865.UserName_LookupString(req)
		pw, _ := rfc2865.UserPassword_LookupString(req)
		if st, ok := req.Lookup(rfc2865.State_Type); ok {
			s.openState(st, c, user)
		}
		resp := reject(req, user+pw)
		out, err := encodeResponse(resp)
		if err != nil {
			if len(user)+len(pw) < 1000 {
				t.Fatalf("encode an answer: %v", err)
			}
			return
		}
		back, err := radius.Parse(out, sec)
		if err != nil || !radius.IsAuthenticResponse(out, signed, sec) {
			t.Fatalf("the answer does not decode or verify: %v", err)
		}
		back.Authenticator = req.Authenticator
		if !validMessageAuthenticator(back, sec) {
			t.Fatal("the answer's Message-Authenticator is wrong")
		}
	})
}
