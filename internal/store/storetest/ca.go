package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// caOf returns the conditional access part of a store.
func caOf(t testing.TB, s store.Store) store.ConditionalAccess {
	t.Helper()
	ca, ok := s.(store.ConditionalAccess)
	if !ok {
		t.Fatalf("%T does not implement store.ConditionalAccess", s)
	}
	return ca
}

func newCAPolicy(tenantID, name, state string, at time.Time, locations ...string) store.CAPolicy {
	pid := id()
	return store.CAPolicy{ID: pid, TenantID: tenantID, DisplayName: name, State: state, CreatedAt: at, ModifiedAt: at,
		Doc: fmt.Appendf(nil, `{"id":%q,"displayName":%q,"state":%q}`, pid, name, state), LocationIDs: locations}
}

func newNamedLocation(tenantID, name, kind string, at time.Time) store.NamedLocation {
	lid := id()
	return store.NamedLocation{ID: lid, TenantID: tenantID, DisplayName: name, Kind: kind, CreatedAt: at, ModifiedAt: at,
		Doc: fmt.Appendf(nil, `{"id":%q,"displayName":%q}`, lid, name)}
}

// testConditionalAccess checks policies, named locations and their
// references, then the per-tenant lock.
func testConditionalAccess(t *testing.T, s store.Store) {
	t.Run("Basics", func(t *testing.T) { testCABasics(t, s) })
	t.Run("Limit", func(t *testing.T) { testConditionalAccessLimit(t, s) })
}

func testCABasics(t *testing.T, s store.Store) {
	ca := caOf(t, s)
	tn := NewTenant(t, s)
	other := NewTenant(t, s)
	t0 := now()

	// Named locations.
	office := newNamedLocation(tn.ID, "Office", store.NamedLocationIP, t0)
	home := newNamedLocation(tn.ID, "home countries", store.NamedLocationCountry, t0.Add(time.Second))
	must(t, ca.CreateNamedLocation(ctx, office))
	must(t, ca.CreateNamedLocation(ctx, home))
	wantErr(t, ca.CreateNamedLocation(ctx, office), store.ErrConflict)
	bad := newNamedLocation(tn.ID, "x", "galaxy", t0)
	if err := ca.CreateNamedLocation(ctx, bad); err == nil {
		t.Fatal("a location of an unknown kind was stored")
	}
	bad = newNamedLocation(tn.ID, "x", store.NamedLocationIP, t0)
	bad.Doc = []byte(`[1]`)
	if err := ca.CreateNamedLocation(ctx, bad); err == nil {
		t.Fatal("a location whose document is not an object was stored")
	}
	got, err := ca.GetNamedLocation(ctx, tn.ID, office.ID)
	must(t, err)
	if got.DisplayName != "Office" || got.Kind != store.NamedLocationIP || !got.CreatedAt.Equal(t0) || !got.ModifiedAt.Equal(t0) ||
		string(got.Doc) != string(office.Doc) {
		t.Fatalf("GetNamedLocation %+v", got)
	}
	_, err = ca.GetNamedLocation(ctx, other.ID, office.ID)
	wantErr(t, err, store.ErrNotFound)
	n, err := ca.CountNamedLocations(ctx, tn.ID)
	must(t, err)
	if n != 2 {
		t.Fatalf("CountNamedLocations = %d", n)
	}
	if n, _ := ca.CountNamedLocations(ctx, other.ID); n != 0 {
		t.Fatalf("other tenant counts %d locations", n)
	}

	t1 := t0.Add(time.Minute)
	upd, err := ca.UpdateNamedLocation(ctx, tn.ID, office.ID, func(l *store.NamedLocation) error {
		l.DisplayName, l.ModifiedAt, l.Doc = "Head office", t1, []byte(`{"displayName":"Head office"}`)
		l.Kind, l.CreatedAt = store.NamedLocationCountry, t1 // ignored
		return nil
	})
	must(t, err)
	got, _ = ca.GetNamedLocation(ctx, tn.ID, office.ID)
	if upd.Kind != store.NamedLocationIP || got.Kind != store.NamedLocationIP || got.DisplayName != "Head office" ||
		!got.CreatedAt.Equal(t0) || !got.ModifiedAt.Equal(t1) || string(got.Doc) != `{"displayName":"Head office"}` {
		t.Fatalf("after UpdateNamedLocation %+v", got)
	}
	_, err = ca.UpdateNamedLocation(ctx, other.ID, office.ID, func(*store.NamedLocation) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	boom := errors.New("boom")
	_, err = ca.UpdateNamedLocation(ctx, tn.ID, office.ID, func(l *store.NamedLocation) error { l.DisplayName = "no"; return boom })
	wantErr(t, err, boom)
	if got, _ := ca.GetNamedLocation(ctx, tn.ID, office.ID); got.DisplayName != "Head office" {
		t.Fatal("a failed update wrote")
	}

	// Policies and their location references.
	p1 := newCAPolicy(tn.ID, "Require MFA", "enabled", t0, office.ID, home.ID, office.ID)
	p2 := newCAPolicy(tn.ID, "block legacy", "enabledForReportingButNotEnforced", t0.Add(time.Second))
	p3 := newCAPolicy(tn.ID, "Admins", "disabled", t0.Add(2*time.Second), home.ID)
	for _, p := range []store.CAPolicy{p1, p2, p3} {
		must(t, ca.CreateCAPolicy(ctx, p))
	}
	wantErr(t, ca.CreateCAPolicy(ctx, p1), store.ErrConflict)
	// A location of another tenant, or none at all, cannot be named.
	foreign := newNamedLocation(other.ID, "Elsewhere", store.NamedLocationIP, t0)
	must(t, ca.CreateNamedLocation(ctx, foreign))
	wantErr(t, ca.CreateCAPolicy(ctx, newCAPolicy(tn.ID, "bad", "disabled", t0, foreign.ID)), store.ErrInvalid)
	wantErr(t, ca.CreateCAPolicy(ctx, newCAPolicy(tn.ID, "bad", "disabled", t0, id())), store.ErrInvalid)
	if n, _ := ca.CountCAPolicies(ctx, tn.ID, ""); n != 3 {
		t.Fatalf("%d policies after refused creates", n)
	}

	gp, err := ca.GetCAPolicy(ctx, tn.ID, p1.ID)
	must(t, err)
	want := []string{office.ID, home.ID}
	slices.Sort(want)
	if gp.DisplayName != "Require MFA" || gp.State != "enabled" || !gp.CreatedAt.Equal(t0) || string(gp.Doc) != string(p1.Doc) ||
		!slices.Equal(gp.LocationIDs, want) {
		t.Fatalf("GetCAPolicy %+v", gp)
	}
	_, err = ca.GetCAPolicy(ctx, other.ID, p1.ID)
	wantErr(t, err, store.ErrNotFound)
	for state, want := range map[string]int{"": 3, "enabled": 1, "disabled": 1, "enabledForReportingButNotEnforced": 1} {
		if n, err := ca.CountCAPolicies(ctx, tn.ID, state); err != nil || n != want {
			t.Fatalf("CountCAPolicies(%q) = %d, %v; want %d", state, n, err, want)
		}
	}
	if n, _ := ca.CountCAPolicies(ctx, other.ID, ""); n != 0 {
		t.Fatalf("other tenant counts %d policies", n)
	}

	users, err := ca.CAPoliciesUsingLocation(ctx, tn.ID, home.ID)
	must(t, err)
	if len(users) != 2 || users[0].ID != p1.ID || users[1].ID != p3.ID {
		t.Fatalf("CAPoliciesUsingLocation = %+v", users)
	}
	wantErr(t, ca.DeleteNamedLocation(ctx, tn.ID, home.ID), store.ErrConflict)
	wantErr(t, ca.DeleteNamedLocation(ctx, other.ID, home.ID), store.ErrNotFound)

	// Lists: default order (oldest first), paging, filters, order.
	page, err := ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{Limit: 2, WantCount: true})
	must(t, err)
	if page.Count != 3 || len(page.Items) != 2 || page.Items[0].ID != p1.ID || page.Items[1].ID != p2.ID || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	if !slices.Equal(page.Items[0].LocationIDs, want) || len(page.Items[1].LocationIDs) != 0 {
		t.Fatalf("listed location ids %v %v", page.Items[0].LocationIDs, page.Items[1].LocationIDs)
	}
	page, err = ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{Limit: 2, After: page.Next})
	must(t, err)
	if len(page.Items) != 1 || page.Items[0].ID != p3.ID || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	page, err = ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{OrderBy: "displayName"})
	must(t, err)
	if names := caNames(page.Items); !slices.Equal(names, []string{"Admins", "block legacy", "Require MFA"}) {
		t.Fatalf("by displayName %v", names)
	}
	page, err = ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{OrderBy: "createdDateTime", Desc: true})
	must(t, err)
	if names := caNames(page.Items); !slices.Equal(names, []string{"Admins", "block legacy", "Require MFA"}) {
		t.Fatalf("by createdDateTime desc %v", names)
	}
	page, err = ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterOr, Args: []store.Filter{
		{Op: store.FilterEq, Field: "state", Value: "enabled"}, {Op: store.FilterEq, Field: "displayName", Value: "ADMINS"}}}})
	must(t, err)
	if names := caNames(page.Items); !slices.Equal(names, []string{"Require MFA", "Admins"}) {
		t.Fatalf("filtered %v", names)
	}
	_, err = ca.ListCAPolicies(ctx, tn.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterEq, Field: "doc", Value: "x"}})
	wantErr(t, err, store.ErrInvalid)
	if page, _ := ca.ListCAPolicies(ctx, other.ID, store.ListQuery{}); len(page.Items) != 0 {
		t.Fatalf("other tenant lists %d policies", len(page.Items))
	}
	lp, err := ca.ListNamedLocations(ctx, tn.ID, store.ListQuery{Limit: 1, WantCount: true})
	must(t, err)
	if lp.Count != 2 || len(lp.Items) != 1 || lp.Items[0].ID != office.ID || lp.Next == "" {
		t.Fatalf("locations page %+v", lp)
	}
	lp, err = ca.ListNamedLocations(ctx, tn.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterStartsWith, Field: "displayName", Value: "HOME"}})
	must(t, err)
	if len(lp.Items) != 1 || lp.Items[0].ID != home.ID {
		t.Fatalf("locations filtered %+v", lp)
	}

	// Updating replaces the references; a failed update keeps them.
	_, err = ca.UpdateCAPolicy(ctx, tn.ID, p1.ID, func(p *store.CAPolicy) error {
		p.LocationIDs = []string{id()}
		return nil
	})
	wantErr(t, err, store.ErrInvalid)
	if gp, _ := ca.GetCAPolicy(ctx, tn.ID, p1.ID); !slices.Equal(gp.LocationIDs, want) {
		t.Fatalf("a refused update changed the references: %v", gp.LocationIDs)
	}
	up, err := ca.UpdateCAPolicy(ctx, tn.ID, p1.ID, func(p *store.CAPolicy) error {
		p.State, p.DisplayName, p.ModifiedAt, p.Doc, p.LocationIDs = "disabled", "MFA", t1, []byte(`{"displayName":"MFA"}`), []string{office.ID}
		p.CreatedAt = t1 // ignored
		return nil
	})
	must(t, err)
	gp, _ = ca.GetCAPolicy(ctx, tn.ID, p1.ID)
	if up.State != "disabled" || gp.State != "disabled" || gp.DisplayName != "MFA" || !gp.CreatedAt.Equal(t0) || !gp.ModifiedAt.Equal(t1) ||
		!slices.Equal(gp.LocationIDs, []string{office.ID}) || string(gp.Doc) != `{"displayName":"MFA"}` {
		t.Fatalf("after UpdateCAPolicy %+v", gp)
	}
	if n, _ := ca.CountCAPolicies(ctx, tn.ID, "enabled"); n != 0 {
		t.Fatalf("%d enabled after disabling", n)
	}
	_, err = ca.UpdateCAPolicy(ctx, other.ID, p1.ID, func(*store.CAPolicy) error { return nil })
	wantErr(t, err, store.ErrNotFound)

	// home is still used by p3; once p3 is gone it can be deleted.
	wantErr(t, ca.DeleteNamedLocation(ctx, tn.ID, home.ID), store.ErrConflict)
	wantErr(t, ca.DeleteCAPolicy(ctx, other.ID, p3.ID), store.ErrNotFound)
	must(t, ca.DeleteCAPolicy(ctx, tn.ID, p3.ID))
	wantErr(t, ca.DeleteCAPolicy(ctx, tn.ID, p3.ID), store.ErrNotFound)
	must(t, ca.DeleteNamedLocation(ctx, tn.ID, home.ID))
	wantErr(t, ca.DeleteNamedLocation(ctx, tn.ID, home.ID), store.ErrNotFound)
	if users, _ := ca.CAPoliciesUsingLocation(ctx, tn.ID, office.ID); len(users) != 1 || users[0].ID != p1.ID {
		t.Fatalf("office users %+v", users)
	}
	// Deleting the policy releases the location.
	must(t, ca.DeleteCAPolicy(ctx, tn.ID, p1.ID))
	must(t, ca.DeleteNamedLocation(ctx, tn.ID, office.ID))

	// A transaction that fails leaves nothing behind.
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := caOf(t, tx).CreateCAPolicy(ctx, newCAPolicy(tn.ID, "rolled back", "enabled", t0)); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	if n, _ := ca.CountCAPolicies(ctx, tn.ID, ""); n != 1 {
		t.Fatalf("%d policies after a rolled back create, want 1", n)
	}
	if err := ca.LockConditionalAccess(ctx, tn.ID); err == nil {
		t.Fatal("LockConditionalAccess outside a transaction must fail")
	}
}

func caNames(ps []store.CAPolicy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.DisplayName
	}
	return out
}

// testConditionalAccessLimit races creates against a per-tenant limit
// under LockConditionalAccess.
func testConditionalAccessLimit(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	const limit = 5
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Store) error {
				ca := caOf(t, tx)
				if err := ca.LockConditionalAccess(ctx, tn.ID); err != nil {
					return err
				}
				n, err := ca.CountCAPolicies(ctx, tn.ID, "")
				if err != nil {
					return err
				}
				if n >= limit {
					return errLimit
				}
				return ca.CreateCAPolicy(ctx, newCAPolicy(tn.ID, fmt.Sprint("p", i), "disabled", now()))
			})
			if err != nil && !errors.Is(err, errLimit) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, _ := caOf(t, s).CountCAPolicies(ctx, tn.ID, ""); n != limit {
		t.Fatalf("%d policies after racing to a limit of %d", n, limit)
	}
}
