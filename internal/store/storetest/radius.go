package storetest

import (
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// testRadiusClients: create, list per tenant and across tenants, the
// address unique across tenants, the name unique within one, delete
// scoped to the tenant.
func testRadiusClients(t *testing.T, s store.Store) {
	tn, other := NewTenant(t, s), NewTenant(t, s)
	t0 := now()
	vpn := store.RadiusClient{ID: id(), TenantID: tn.ID, Name: "VPN", Address: "192.0.2.0/28", SecretSealed: "sealed-1", CreatedAt: t0}
	must(t, s.CreateRadiusClient(ctx, vpn))
	second := store.RadiusClient{ID: id(), TenantID: tn.ID, Name: "second", Address: "192.0.2.16/32", SecretSealed: "sealed-2", CreatedAt: t0.Add(time.Second)}
	must(t, s.CreateRadiusClient(ctx, second))

	sameAddr := store.RadiusClient{ID: id(), TenantID: other.ID, Name: "theirs", Address: vpn.Address, SecretSealed: "x", CreatedAt: t0}
	wantErr(t, s.CreateRadiusClient(ctx, sameAddr), store.ErrConflict)
	sameName := store.RadiusClient{ID: id(), TenantID: tn.ID, Name: "vpn", Address: "198.51.100.1/32", SecretSealed: "x", CreatedAt: t0}
	wantErr(t, s.CreateRadiusClient(ctx, sameName), store.ErrConflict)
	// The same name in another tenant is fine.
	theirs := store.RadiusClient{ID: id(), TenantID: other.ID, Name: "VPN", Address: "198.51.100.0/24", SecretSealed: "sealed-3", CreatedAt: t0.Add(2 * time.Second)}
	must(t, s.CreateRadiusClient(ctx, theirs))

	got, err := s.ListRadiusClients(ctx, tn.ID)
	must(t, err)
	if len(got) != 2 || got[0] != vpn || got[1] != second {
		t.Fatalf("list: %+v", got)
	}
	all, err := s.AllRadiusClients(ctx)
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("all: %+v", all)
	}
	// Another tenant cannot delete it; its owner can.
	wantErr(t, s.DeleteRadiusClient(ctx, other.ID, vpn.ID), store.ErrNotFound)
	must(t, s.DeleteRadiusClient(ctx, tn.ID, vpn.ID))
	wantErr(t, s.DeleteRadiusClient(ctx, tn.ID, vpn.ID), store.ErrNotFound)
	got, err = s.ListRadiusClients(ctx, tn.ID)
	must(t, err)
	if len(got) != 1 || got[0].ID != second.ID {
		t.Fatalf("after delete: %+v", got)
	}
	// The address is free again.
	sameAddr.ID = id()
	must(t, s.CreateRadiusClient(ctx, sameAddr))
}
