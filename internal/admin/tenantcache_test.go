package admin_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/store"
)

// A cached tenant is served without the store for the TTL, is dropped at
// once when this service changes it, and expires for changes made
// elsewhere (another process writing the same store).
func TestResolveTenantCache(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		now := time.Now()
		svc.CacheTenants(5 * time.Second)
		admin.SetTenantCacheClock(svc, func() time.Time { return now })
		for _, ref := range []string{tn.ID, "contoso.com", "CONTOSO.com"} {
			got, err := svc.ResolveTenant(ctx, ref)
			if err != nil || got.ID != tn.ID {
				t.Fatalf("resolve %q: %+v, %v", ref, got, err)
			}
		}
		// A change through the service is seen at once.
		if _, err := svc.SetBannedPasswords(ctx, op, tn.ID, []string{"kanelbulle"}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.ResolveTenant(ctx, "contoso.com")
		if err != nil || !slices.Equal(got.BannedPasswords, []string{"kanelbulle"}) {
			t.Fatalf("after change: %+v, %v", got.BannedPasswords, err)
		}
		// Callers get copies: changing one does not change the cache.
		got.BannedPasswords[0] = "changed"
		if again, _ := svc.ResolveTenant(ctx, "contoso.com"); again.BannedPasswords[0] != "kanelbulle" {
			t.Fatalf("cache shares memory with callers: %v", again.BannedPasswords)
		}
		// A change made behind the service's back shows after the TTL.
		if _, err := s.UpdateTenant(ctx, tn.ID, func(x *store.Tenant) error { x.BannedPasswords = []string{"semla"}; return nil }); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.ResolveTenant(ctx, "contoso.com"); !slices.Equal(got.BannedPasswords, []string{"kanelbulle"}) {
			t.Fatalf("within the TTL: %v", got.BannedPasswords)
		}
		now = now.Add(6 * time.Second)
		if got, _ := svc.ResolveTenant(ctx, "contoso.com"); !slices.Equal(got.BannedPasswords, []string{"semla"}) {
			t.Fatalf("after the TTL: %v", got.BannedPasswords)
		}
		// Unknown refs are not cached and stay not found.
		for range 2 {
			if _, err := svc.ResolveTenant(ctx, "fabrikam.com"); err == nil {
				t.Fatal("unknown tenant resolved")
			}
		}
	})
}
