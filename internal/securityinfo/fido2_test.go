package securityinfo_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

const keyOrigin = "https://id.contoso.com"

var keyModel = uuid.MustParse("ee882879-721c-4913-9775-3dfcce97072a")

// withKeys makes the service a relying party with the given policy.
func withKeys(t *testing.T, e *env, pol *webauthn.Policy) {
	rp, err := webauthn.New(keyOrigin, "vakt")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WebAuthn = rp
	e.svc.Fido2Policy = func(_ context.Context, tenantID string) (webauthn.Policy, error) {
		if tenantID != e.tenant.ID {
			t.Errorf("policy read for tenant %s", tenantID)
		}
		return *pol, nil
	}
}

func (e *env) self() directory.Actor {
	return directory.Actor{UserID: e.user.ID, UPN: e.user.UPN}
}

// registerKey runs a registration of k for the env's user.
func registerKey(t *testing.T, e *env, k *softkey.Key) (store.Method, error) {
	t.Helper()
	en, err := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, k.Resident)
	if err != nil {
		t.Fatal(err)
	}
	body, err := k.Register(en.Options, keyOrigin, softkey.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "My key", body)
}

// signInWith answers a fresh assertion ceremony with k.
func signInWith(t *testing.T, e *env, userID string, k *softkey.Key, f softkey.Faults) (store.Method, error) {
	t.Helper()
	c, err := e.svc.BeginFido2Assertion(ctx, e.tenant.ID, userID)
	if err != nil {
		t.Fatal(err)
	}
	body, err := k.Assert(c.Options, keyOrigin, f)
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.VerifyFido2(ctx, e.tenant.ID, userID, c, body)
}

func wantKind(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != kind || ae.Code != code {
		t.Fatalf("err = %v, want %v %s", err, kind, code)
	}
}

func TestFido2RegisterAndUse(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		pol := webauthn.Policy{SelfService: true}
		withKeys(t, e, &pol)
		k := softkey.New(keyModel, true)
		k.BackupEligible = true
		m, err := registerKey(t, e, k)
		if err != nil {
			t.Fatal(err)
		}
		if m, err = e.st.GetMethod(ctx, e.tenant.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if m.Kind != string(method.KindFido2) || m.State != store.MethodActive || !m.IsDefault || m.Props.Fido2 == nil ||
			m.Props.Fido2.PublicKeyAlgorithm != -7 ||
			m.Props.Fido2.AAGUID != keyModel.String() || !m.Props.Fido2.Discoverable || !m.Props.Fido2.BackupEligible ||
			m.UniqueKey != webauthn.UniqueKey(k.ID) {
			t.Fatalf("stored key: %+v %+v", m, m.Props.Fido2)
		}
		audits, err := e.st.ListAudits(ctx, e.tenant.ID, store.ListQuery{Limit: 10})
		if err != nil || len(audits.Items) != 1 || audits.Items[0].Activity != "User registered security info" {
			t.Fatalf("audit: %+v %v", audits.Items, err)
		}
		// Second factor for the known user, then a passkey sign-in.
		k.BackupState = true
		got, err := signInWith(t, e, e.user.ID, k, softkey.Faults{})
		if err != nil || got.ID != m.ID || got.LastStep != 1 || got.LastUsedAt == nil || !got.Props.Fido2.BackupState {
			t.Fatalf("second factor: %+v %v", got, err)
		}
		got, err = signInWith(t, e, "", k, softkey.Faults{})
		if err != nil || got.UserID != e.user.ID || got.LastStep != 2 {
			t.Fatalf("passkey: %+v %v", got, err)
		}
		// The same key cannot be registered twice (excluded in the options;
		// refused if an authenticator ignores that).
		en, _ := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, true)
		var opts struct {
			Exclude []struct{ ID string } `json:"excludeCredentials"`
		}
		json.Unmarshal(en.Options, &opts)
		if len(opts.Exclude) != 1 {
			t.Fatalf("excludeCredentials: %s", en.Options)
		}
		body, _ := k.Register(en.Options, keyOrigin, softkey.Faults{})
		_, err = e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", body)
		wantKind(t, err, apperr.Conflict, "keyAlreadyRegistered")
		// Deleted, it no longer signs in.
		if err := e.svc.Delete(ctx, e.self(), e.tenant.ID, e.user.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		_, err = signInWith(t, e, "", k, softkey.Faults{})
		wantKind(t, err, apperr.Invalid, webauthn.ReasonUnknownCredential)
	})
}

// TestFido2Replay: a registration and an assertion ceremony are good once.
func TestFido2Replay(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		pol := webauthn.Policy{SelfService: true}
		withKeys(t, e, &pol)
		k := softkey.New(keyModel, false)
		en, _ := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		body, _ := k.Register(en.Options, keyOrigin, softkey.Faults{})
		if _, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", body); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", body)
		wantKind(t, err, apperr.NotFound, "registrationNotFound")

		// A refused answer spends the registration too.
		en, _ = e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		bad, _ := softkey.New(keyModel, false).Register(en.Options, "https://evil.example", softkey.Faults{})
		_, err = e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", bad)
		wantKind(t, err, apperr.Invalid, webauthn.ReasonOriginMismatch)
		good, _ := softkey.New(keyModel, false).Register(en.Options, keyOrigin, softkey.Faults{})
		_, err = e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", good)
		wantKind(t, err, apperr.NotFound, "registrationNotFound")

		// Concurrent finishes of one registration: exactly one wins.
		en, _ = e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		k2 := softkey.New(keyModel, false)
		body, _ = k2.Register(en.Options, keyOrigin, softkey.Faults{})
		wins := race(4, func(int) error {
			_, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", body)
			return err
		})
		if wins != 1 {
			t.Fatalf("%d concurrent finishes succeeded", wins)
		}
		// Another tenant's user cannot finish it, nor find the key.
		other := storetest.NewTenant(t, e.st)
		en, _ = e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		_, err = e.svc.FinishFido2(ctx, e.self(), other.ID, e.user.ID, en.ID, "", body)
		wantKind(t, err, apperr.NotFound, "registrationNotFound")
	})
}

// TestFido2Counter: a sign counter that does not move forward is refused,
// and the stored counter is not changed by the refusal.
func TestFido2Counter(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		pol := webauthn.Policy{SelfService: true}
		withKeys(t, e, &pol)
		k := softkey.New(keyModel, false)
		k.Counter = 10
		if _, err := registerKey(t, e, k); err != nil {
			t.Fatal(err)
		}
		m, err := signInWith(t, e, e.user.ID, k, softkey.Faults{})
		if err != nil || m.LastStep != 11 {
			t.Fatalf("%+v %v", m, err)
		}
		for _, n := range []uint32{11, 5, 0} {
			_, err = signInWith(t, e, e.user.ID, k, softkey.Faults{Counter: &n})
			wantKind(t, err, apperr.Invalid, webauthn.ReasonCounterRegressed)
		}
		ms, _ := e.st.ListMethods(ctx, e.tenant.ID, e.user.ID)
		if ms[0].LastStep != 11 {
			t.Fatalf("counter now %d", ms[0].LastStep)
		}
		// Two answers carrying the same new count race: one passes.
		n := uint32(50)
		cs := make([]webauthn.Ceremony, 4)
		bodies := make([][]byte, 4)
		for i := range cs {
			cs[i], _ = e.svc.BeginFido2Assertion(ctx, e.tenant.ID, e.user.ID)
			bodies[i], _ = k.Assert(cs[i].Options, keyOrigin, softkey.Faults{Counter: &n})
		}
		wins := race(4, func(i int) error {
			_, err := e.svc.VerifyFido2(ctx, e.tenant.ID, e.user.ID, cs[i], bodies[i])
			return err
		})
		if wins != 1 {
			t.Fatalf("%d answers with one counter value passed", wins)
		}
	})
}

// TestFido2Policy: the FIDO2 configuration decides which keys can be
// registered and used.
func TestFido2Policy(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		pol := webauthn.Policy{SelfService: false}
		withKeys(t, e, &pol)
		_, err := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		wantKind(t, err, apperr.Forbidden, "selfServiceRegistrationDisabled")

		pol = webauthn.Policy{SelfService: true, Restricted: true, Allow: true, AAGUIDs: []string{uuid.NewString()}}
		_, err = registerKey(t, e, softkey.New(keyModel, false))
		wantKind(t, err, apperr.Forbidden, webauthn.ReasonAAGUIDNotAllowed)

		pol = webauthn.Policy{SelfService: true, AttestationEnforced: true}
		_, err = registerKey(t, e, softkey.New(keyModel, false)) // attestation "none"
		wantKind(t, err, apperr.Forbidden, webauthn.ReasonAttestationRequired)
		attested := softkey.New(keyModel, false)
		attested.Attestation = softkey.AttestPacked
		m, err := registerKey(t, e, attested)
		if err != nil || m.Props.Fido2.AttestationLevel != webauthn.Attested || len(m.Props.Fido2.AttestationCertificates) != 1 {
			t.Fatalf("attested key: %+v %v", m.Props.Fido2, err)
		}
		ms, _ := e.st.ListMethods(ctx, e.tenant.ID, e.user.ID)
		if len(ms) != 1 {
			t.Fatalf("refused keys were stored: %d methods", len(ms))
		}
		// Blocked after registration: it cannot be used any more.
		pol = webauthn.Policy{SelfService: true, Restricted: true, AAGUIDs: []string{keyModel.String()}}
		_, err = signInWith(t, e, e.user.ID, attested, softkey.Faults{})
		wantKind(t, err, apperr.Forbidden, webauthn.ReasonAAGUIDBlocked)
		pol.Restricted = false
		if _, err := signInWith(t, e, e.user.ID, attested, softkey.Faults{}); err != nil {
			t.Fatal(err)
		}
		// The methods policy turning FIDO2 off for the user stops it too.
		e.svc.Allowed = func(context.Context, string, string) (map[method.Kind]bool, error) {
			return map[method.Kind]bool{method.KindSoftwareOath: true}, nil
		}
		_, err = signInWith(t, e, e.user.ID, attested, softkey.Faults{})
		wantKind(t, err, apperr.Forbidden, "methodNotAllowed")
	})
}

// race runs fn(0…n-1) at once and counts the calls that succeeded.
func race(n int, fn func(i int) error) int {
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if fn(i) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(wins.Load())
}

func TestFido2BadInput(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		pol := webauthn.Policy{SelfService: true}
		withKeys(t, e, &pol)
		en, _ := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		for name, tc := range map[string]struct {
			id, name string
			body     []byte
			kind     apperr.Kind
			code     string
		}{
			"unknown registration": {id: uuid.NewString(), body: []byte("{}"), kind: apperr.NotFound, code: "registrationNotFound"},
			"long registration id": {id: string(make([]byte, 200)), body: []byte("{}"), kind: apperr.NotFound, code: "registrationNotFound"},
			"name too long":        {id: en.ID, name: string(make([]rune, 65)), body: []byte("{}"), kind: apperr.Invalid, code: ""},
			"name with controls":   {id: en.ID, name: "a\x00b", body: []byte("{}"), kind: apperr.Invalid, code: ""},
		} {
			_, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, tc.id, tc.name, tc.body)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != tc.kind || (tc.code != "" && ae.Code != tc.code) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Garbage as the answer: a 400 naming it malformed.
		_, err := e.svc.FinishFido2(ctx, e.self(), e.tenant.ID, e.user.ID, en.ID, "", []byte(`{"id":"x","response":{"attestationObject":"AAAA"}}`))
		wantKind(t, err, apperr.Invalid, webauthn.ReasonMalformed)
		// Too many open registrations.
		for range securityinfo.MaxPendingFido2 {
			if _, err := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false); err != nil {
				t.Fatal(err)
			}
		}
		_, err = e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		wantKind(t, err, apperr.RateLimited, "tooManyRegistrations")
		e.now = e.now.Add(webauthn.CeremonyTTL + time.Second)
		if _, err := e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false); err != nil {
			t.Fatalf("after the open ones expired: %v", err)
		}
		// No relying party (an IP address as public URL): a clear 404.
		e.svc.WebAuthn = nil
		_, err = e.svc.BeginFido2(ctx, e.tenant.ID, e.user.ID, false)
		wantKind(t, err, apperr.NotFound, "fido2Unavailable")
	})
}
