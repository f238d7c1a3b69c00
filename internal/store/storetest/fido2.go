package storetest

import (
	"slices"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

// testFido2Keys: a security key's record survives the store as JSON
// props, its credential id is unique per tenant (not across tenants), and
// the sign counter (LastStep) only moves forward.
func testFido2Keys(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "key@contoso.com")
	k := newMethod(tn.ID, u.ID, "fido2")
	k.UniqueKey, k.LastStep = "fido2:Y3JlZA", 7
	k.Props.Fido2 = &store.Fido2Props{CredentialID: "Y3JlZA", PublicKey: "pQECAyY", PublicKeyAlgorithm: -7,
		AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", AttestationFormat: "packed", AttestationType: "basic_full",
		AttestationLevel: "attested", AttestationCertificates: []string{"AB12"}, Transports: []string{"usb", "nfc"},
		Discoverable: true, UserVerified: true, BackupEligible: true}
	must(t, s.CreateMethod(ctx, k))
	got, err := s.MethodByUniqueKey(ctx, tn.ID, "fido2:Y3JlZA")
	must(t, err)
	if got.LastStep != 7 || got.Props.Fido2 == nil || len(got.Props.Fido2.AttestationCertificates) != 1 {
		t.Fatalf("key = %+v", got)
	}
	p := got.Props.Fido2
	if p.AAGUID != k.Props.Fido2.AAGUID || p.PublicKeyAlgorithm != -7 || !p.Discoverable || !p.BackupEligible || p.BackupState ||
		!slices.Equal(p.Transports, []string{"usb", "nfc"}) || p.AttestationLevel != "attested" {
		t.Fatalf("props = %+v", p)
	}
	dup := newMethod(tn.ID, u.ID, "fido2")
	dup.UniqueKey = k.UniqueKey
	wantErr(t, s.CreateMethod(ctx, dup), store.ErrConflict)
	other := NewTenant(t, s)
	elsewhere := newMethod(other.ID, NewUser(t, s, other.ID, "key@fabrikam.com").ID, "fido2")
	elsewhere.UniqueKey = k.UniqueKey
	must(t, s.CreateMethod(ctx, elsewhere))

	for _, tc := range []struct {
		step int64
		ok   bool
	}{{7, false}, {3, false}, {8, true}, {8, false}, {20, true}} {
		ok, err := s.AdvanceStep(ctx, tn.ID, k.ID, tc.step, now())
		must(t, err)
		if ok != tc.ok {
			t.Errorf("counter %d: %v, want %v", tc.step, ok, tc.ok)
		}
	}
	upd, err := s.UpdateMethod(ctx, tn.ID, k.ID, func(m *store.Method) error {
		m.Props.Fido2.BackupState = true
		return nil
	})
	must(t, err)
	if upd.LastStep != 20 || !upd.Props.Fido2.BackupState {
		t.Fatalf("after update: %+v %+v", upd, upd.Props.Fido2)
	}
}
