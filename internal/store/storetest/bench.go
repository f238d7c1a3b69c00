package storetest

import (
	"fmt"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

// BenchmarkTransitive measures TransitiveGroupIDs for a user in 50 groups
// (10 chains nested 5 deep) among totalGroups groups, the rest of which
// are chained 5 deep as well so the membership table has realistic size.
func BenchmarkTransitive(b *testing.B, s store.Store, totalGroups int) {
	tn := NewTenant(b, s)
	u := NewUser(b, s, tn.ID, "bench@contoso.com")
	const batch = 5000
	for start := 0; start < totalGroups; start += batch {
		err := s.InTx(ctx, func(tx store.Store) error {
			var prev string
			for i := start; i < min(start+batch, totalGroups); i++ {
				g := store.Group{ID: id(), TenantID: tn.ID, DisplayName: fmt.Sprintf("g%06d", i), CreatedAt: now()}
				if err := tx.CreateGroup(ctx, g); err != nil {
					return err
				}
				switch {
				case i%5 == 0 && i < 50:
					// the head of one of the user's ten chains
					if err := tx.AddMember(ctx, tn.ID, g.ID, u.ID); err != nil {
						return err
					}
				case i%5 != 0:
					// g contains the previous group of its chain
					if err := tx.AddMember(ctx, tn.ID, g.ID, prev); err != nil {
						return err
					}
				}
				prev = g.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	ids, err := s.TransitiveGroupIDs(ctx, tn.ID, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	if len(ids) != 50 {
		b.Fatalf("user is in %d groups, want 50", len(ids))
	}
	b.ResetTimer()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TransitiveGroupIDs(ctx, tn.ID, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}
