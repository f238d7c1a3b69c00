package webauthn_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
)

const origin = "https://id.contoso.com"

var (
	now     = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	aaguidA = uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8")
)

func newRP(t testing.TB) *webauthn.RP {
	t.Helper()
	rp, err := webauthn.New(origin+"/", "vakt")
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func anna() webauthn.User {
	return webauthn.User{Handle: []byte("6f1c1a52-7d7a-4b8e-9d59-1f0ad1a7a001"), Name: "anna@contoso.com", DisplayName: "Anna"}
}

// register runs a whole registration and returns the user with the key.
func register(t *testing.T, rp *webauthn.RP, u webauthn.User, k *softkey.Key) webauthn.User {
	t.Helper()
	c, err := rp.BeginRegistration(u, k.Resident, now)
	if err != nil {
		t.Fatal(err)
	}
	body, err := k.Register(c.Options, origin, softkey.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rp.FinishRegistration(u, c, body, now.Add(time.Second))
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	u.Credentials = append(u.Credentials, webauthn.Stored{MethodID: "m" + string(rune('0'+len(u.Credentials))), Props: reg.Props, Counter: reg.Counter})
	return u
}

func TestNewRelyingParty(t *testing.T) {
	for _, tc := range []struct{ url, id, origin, err string }{
		{"https://id.contoso.com", "id.contoso.com", "https://id.contoso.com", ""},
		{"https://ID.Contoso.com:8443/vakt", "id.contoso.com", "https://id.contoso.com:8443", ""},
		{"http://localhost:8080", "localhost", "http://localhost:8080", ""},
		{"http://127.0.0.1:8080", "", "", "IP address"},
		{"https://[::1]:8443", "", "", "IP address"},
		{"http://id.contoso.com", "", "", "https"},
		{"ftp://id.contoso.com", "", "", "not an http"},
	} {
		rp, err := webauthn.New(tc.url, "")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || rp.ID != tc.id || rp.Origin != tc.origin {
			t.Errorf("%s: %+v %v, want %s %s", tc.url, rp, err, tc.id, tc.origin)
		}
	}
}

func TestRegisterAndSignIn(t *testing.T) {
	rp := newRP(t)
	for _, tc := range []struct {
		name        string
		resident    bool
		attestation string
		level       string
	}{
		{"security key, no attestation", false, softkey.AttestNone, webauthn.NotAttested},
		{"passkey, self attestation", true, softkey.AttestSelf, webauthn.NotAttested},
		{"security key, packed certificate", false, softkey.AttestPacked, webauthn.Attested},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := softkey.New(aaguidA, tc.resident)
			k.Attestation = tc.attestation
			k.BackupEligible = tc.resident
			u := register(t, rp, anna(), k)
			p := u.Credentials[0].Props
			if p.AAGUID != aaguidA.String() || p.AttestationLevel != tc.level || p.Discoverable != tc.resident ||
				p.BackupEligible != tc.resident || !p.UserVerified || p.PublicKey == "" || len(p.Transports) != 1 {
				t.Fatalf("record: %+v", p)
			}
			if tc.level == webauthn.Attested && len(p.AttestationCertificates) != 1 {
				t.Errorf("attestation certificates: %v", p.AttestationCertificates)
			}
			// Second factor: the user is known, allowCredentials lists the key.
			c, err := rp.BeginLogin(&u, now)
			if err != nil {
				t.Fatal(err)
			}
			var opts struct {
				UserVerification string            `json:"userVerification"`
				Allow            []json.RawMessage `json:"allowCredentials"`
			}
			json.Unmarshal(c.Options, &opts)
			if opts.UserVerification != "required" || len(opts.Allow) != 1 {
				t.Fatalf("request options: %s", c.Options)
			}
			body, _ := k.Assert(c.Options, origin, softkey.Faults{})
			_, a, err := rp.FinishLogin(c, body, &u, nil, now)
			if err != nil {
				t.Fatalf("assertion: %v", err)
			}
			if a.MethodID != "m0" || a.Counter != 1 {
				t.Errorf("assertion: %+v", a)
			}
			if !tc.resident {
				return
			}
			// Passkey: no user name, the user handle names the user.
			c, err = rp.BeginLogin(nil, now)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(c.Options), "allowCredentials") {
				t.Fatalf("discoverable request lists credentials: %s", c.Options)
			}
			u.Credentials[0].Counter = a.Counter
			body, _ = k.Assert(c.Options, origin, softkey.Faults{})
			found, a, err := rp.FinishLogin(c, body, nil, func(id, handle []byte) (webauthn.User, error) {
				if string(handle) != string(u.Handle) {
					t.Errorf("handle %q", handle)
				}
				return u, nil
			}, now)
			if err != nil || string(found.Handle) != string(u.Handle) || a.Counter != 2 {
				t.Fatalf("passkey: %+v %+v %v", found, a, err)
			}
		})
	}
}

// TestRefusals: each wrong answer is refused with its own reason.
func TestRefusals(t *testing.T) {
	rp := newRP(t)
	zero := uint32(0)
	for _, tc := range []struct {
		name   string
		faults softkey.Faults
		reason string
	}{
		{"wrong origin", softkey.Faults{Origin: "https://id.contoso.com.evil.example"}, webauthn.ReasonOriginMismatch},
		{"wrong relying party id", softkey.Faults{RPID: "evil.example"}, webauthn.ReasonRPIDMismatch},
		{"user verification missing", softkey.Faults{NoUV: true}, webauthn.ReasonUserNotVerified},
		{"user presence missing", softkey.Faults{NoUP: true}, webauthn.ReasonUserNotPresent},
		{"another challenge", softkey.Faults{Challenge: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, webauthn.ReasonChallengeMismatch},
		{"wrong ceremony type", softkey.Faults{Type: "payment.get"}, webauthn.ReasonWrongCeremony},
		{"counter going backwards", softkey.Faults{Counter: &zero}, webauthn.ReasonCounterRegressed},
	} {
		// A registration has no earlier counter to go back from.
		t.Run("registration/"+tc.name, func(t *testing.T) {
			if tc.faults.Counter != nil {
				return
			}
			k := softkey.New(aaguidA, false)
			f := tc.faults
			if f.Type != "" {
				f.Type = "webauthn.get"
			}
			c, _ := rp.BeginRegistration(anna(), false, now)
			body, _ := k.Register(c.Options, origin, f)
			_, err := rp.FinishRegistration(anna(), c, body, now)
			wantReason(t, err, tc.reason)
		})
		t.Run("assertion/"+tc.name, func(t *testing.T) {
			k := softkey.New(aaguidA, false)
			k.Counter = 7
			u := register(t, rp, anna(), k)
			c, _ := rp.BeginLogin(&u, now)
			body, _ := k.Assert(c.Options, origin, tc.faults)
			_, _, err := rp.FinishLogin(c, body, &u, nil, now)
			wantReason(t, err, tc.reason)
		})
	}
	t.Run("expired", func(t *testing.T) {
		k := softkey.New(aaguidA, false)
		c, _ := rp.BeginRegistration(anna(), false, now)
		body, _ := k.Register(c.Options, origin, softkey.Faults{})
		_, err := rp.FinishRegistration(anna(), c, body, now.Add(webauthn.CeremonyTTL))
		wantReason(t, err, webauthn.ReasonExpired)
	})
	t.Run("another user's key", func(t *testing.T) {
		k := softkey.New(aaguidA, false)
		register(t, rp, anna(), k)
		bo := webauthn.User{Handle: []byte("bo"), Name: "bo@contoso.com"}
		bo = register(t, rp, bo, softkey.New(aaguidA, false))
		c, _ := rp.BeginLogin(&bo, now)
		body, _ := k.Assert(c.Options, origin, softkey.Faults{})
		_, _, err := rp.FinishLogin(c, body, &bo, nil, now)
		wantReason(t, err, webauthn.ReasonUnknownCredential)
	})
	t.Run("security key without a user name", func(t *testing.T) {
		k := softkey.New(aaguidA, false)
		u := register(t, rp, anna(), k)
		c, _ := rp.BeginLogin(&u, now) // the key answers only with allowCredentials
		c2, _ := rp.BeginLogin(nil, now)
		body, _ := k.Assert(c.Options, origin, softkey.Faults{Challenge: challengeOf(t, c2.Options)})
		_, _, err := rp.FinishLogin(c2, body, nil, func([]byte, []byte) (webauthn.User, error) { return u, nil }, now)
		wantReason(t, err, webauthn.ReasonUnknownCredential)
	})
	t.Run("signature by another key", func(t *testing.T) {
		k := softkey.New(aaguidA, false)
		u := register(t, rp, anna(), k)
		other := softkey.New(aaguidA, false)
		other.ID = k.ID // same credential id, another private key
		c, _ := rp.BeginLogin(&u, now)
		body, _ := other.Assert(c.Options, origin, softkey.Faults{})
		_, _, err := rp.FinishLogin(c, body, &u, nil, now)
		wantReason(t, err, webauthn.ReasonVerificationFailed)
	})
}

func challengeOf(t *testing.T, options []byte) string {
	var o struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	return o.Challenge
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	r, ok := webauthn.AsRefusal(err)
	if !ok {
		t.Fatalf("err = %v, want a refusal %s", err, reason)
	}
	if r.Reason != reason {
		t.Fatalf("reason %s (%s), want %s", r.Reason, r.Detail, reason)
	}
	if r.Message == "" || strings.Contains(r.Message, "AAAA") {
		t.Errorf("message %q", r.Message)
	}
}

func TestPolicy(t *testing.T) {
	a, b := aaguidA.String(), "ee882879-721c-4913-9775-3dfcce97072a"
	for _, tc := range []struct {
		name   string
		p      webauthn.Policy
		aaguid string
		level  string
		reg    string // refusal at registration, "" none
		use    string // refusal at use
	}{
		{"no restrictions", webauthn.Policy{}, a, webauthn.NotAttested, "", ""},
		{"block list not enforced", webauthn.Policy{AAGUIDs: []string{a}}, a, webauthn.NotAttested, "", ""},
		{"blocked", webauthn.Policy{Restricted: true, AAGUIDs: []string{strings.ToUpper(a)}}, a, webauthn.Attested, webauthn.ReasonAAGUIDBlocked, webauthn.ReasonAAGUIDBlocked},
		{"not blocked", webauthn.Policy{Restricted: true, AAGUIDs: []string{b}}, a, webauthn.Attested, "", ""},
		{"allowed", webauthn.Policy{Restricted: true, Allow: true, AAGUIDs: []string{b, a}}, a, webauthn.Attested, "", ""},
		{"not allowed", webauthn.Policy{Restricted: true, Allow: true, AAGUIDs: []string{b}}, a, webauthn.Attested, webauthn.ReasonAAGUIDNotAllowed, webauthn.ReasonAAGUIDNotAllowed},
		{"attestation enforced, none", webauthn.Policy{AttestationEnforced: true}, a, webauthn.NotAttested, webauthn.ReasonAttestationRequired, ""},
		{"attestation enforced, attested", webauthn.Policy{AttestationEnforced: true}, a, webauthn.Attested, "", ""},
	} {
		check := func(what string, err error, want string) {
			r, _ := webauthn.AsRefusal(err)
			switch {
			case want == "" && err != nil:
				t.Errorf("%s %s: %v", tc.name, what, err)
			case want != "" && (r == nil || r.Reason != want):
				t.Errorf("%s %s: %v, want %s", tc.name, what, err, want)
			}
		}
		check("registration", tc.p.CheckRegistration(tc.aaguid, tc.level), tc.reg)
		check("use", tc.p.CheckUse(tc.aaguid), tc.use)
	}
}
