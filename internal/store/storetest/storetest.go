// Package storetest is the conformance suite every store backend must
// pass. Backends call Run from their own tests with a constructor that
// returns a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
)

// NewStore returns an empty store; it registers its own cleanup.
type NewStore func(t testing.TB) store.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"UserPaging", testUserPaging},
		{"UserFilter", testUserFilter},
		{"Groups", testGroups},
		{"GroupCycles", testGroupCycles},
		{"ConcurrentCycle", testConcurrentCycle},
		{"Roles", testRoles},
		{"Apps", testApps},
		{"SigningKeys", testSigningKeys},
		{"Audit", testAudit},
		{"Transactions", testTransactions},
		{"TenantIsolation", testTenantIsolation},
		{"Methods", testMethods},
		{"Fido2Keys", testFido2Keys},
		{"ConcurrentStep", testConcurrentStep},
		{"UserLock", testUserLock},
		{"OTP", testOTP},
		{"Counters", testCounters},
		{"Settings", testSettings},
		{"UserSignInFields", testUserSignInFields},
		{"Flows", testFlows},
		{"Sessions", testSessions},
		{"SignIns", testSignIns},
		{"Lockouts", testLockouts},
		{"ConditionalAccess", testConditionalAccess},
		{"RadiusClients", testRadiusClients},
		{"Push", testPush},
		{"AppRegistry", testAppRegistry}, {"AuthRequests", testAuthRequests}, {"RefreshTokens", testRefreshTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

var ctx = context.Background()

func id() string { return uuid.NewString() }

// now is truncated to microseconds, the stores' time resolution.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// NewTenant creates a tenant with a unique domain.
func NewTenant(t testing.TB, s store.Store) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: id(), DisplayName: "Contoso", CreatedAt: now()}
	tn.Domains = []string{fmt.Sprintf("t%s.example.com", tn.ID[:8])}
	must(t, s.CreateTenant(ctx, tn))
	return tn
}

// NewUser creates a user in the tenant.
func NewUser(t testing.TB, s store.Store, tenantID, upn string) store.User {
	t.Helper()
	u := store.User{ID: id(), TenantID: tenantID, UPN: upn, DisplayName: "User " + upn, AccountEnabled: true,
		PerUserMFA: store.PerUserMFADisabled, UserType: "member", CreatedAt: now()}
	must(t, s.CreateUser(ctx, u))
	got, err := s.GetUser(ctx, tenantID, u.ID)
	must(t, err)
	return got
}

// NewGroup creates a group in the tenant.
func NewGroup(t testing.TB, s store.Store, tenantID, name string) store.Group {
	t.Helper()
	g := store.Group{ID: id(), TenantID: tenantID, DisplayName: name, CreatedAt: now()}
	must(t, s.CreateGroup(ctx, g))
	return g
}

func testTenants(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	got, err := s.GetTenant(ctx, tn.ID)
	must(t, err)
	if got.DisplayName != "Contoso" || !slices.Equal(got.Domains, tn.Domains) || !got.CreatedAt.Equal(tn.CreatedAt) {
		t.Fatalf("GetTenant = %+v, want %+v", got, tn)
	}
	byDomain, err := s.TenantByDomain(ctx, "T"+tn.Domains[0][1:])
	must(t, err)
	if byDomain.ID != tn.ID {
		t.Fatalf("TenantByDomain returned %s", byDomain.ID)
	}
	_, err = s.TenantByDomain(ctx, "nobody.example")
	wantErr(t, err, store.ErrNotFound)

	other := store.Tenant{ID: id(), DisplayName: "Fabrikam", Domains: tn.Domains, CreatedAt: now()}
	wantErr(t, s.CreateTenant(ctx, other), store.ErrConflict)
	if _, err := s.GetTenant(ctx, other.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a tenant whose domain conflicted was half-created")
	}
	must(t, s.AddTenantDomain(ctx, tn.ID, "second.example.org"))
	wantErr(t, s.AddTenantDomain(ctx, tn.ID, "Second.Example.org"), store.ErrConflict)
	wantErr(t, s.AddTenantDomain(ctx, id(), "third.example.org"), store.ErrNotFound)
	got, _ = s.GetTenant(ctx, tn.ID)
	if len(got.Domains) != 2 || got.Domains[1] != "second.example.org" {
		t.Fatalf("domains = %v", got.Domains)
	}
	upd, err := s.UpdateTenant(ctx, tn.ID, func(t *store.Tenant) error {
		t.BannedPasswords = []string{"contoso", "sommar"}
		t.Domains = nil // ignored
		return nil
	})
	must(t, err)
	if !slices.Equal(upd.BannedPasswords, []string{"contoso", "sommar"}) || len(upd.Domains) != 2 {
		t.Fatalf("UpdateTenant = %+v", upd)
	}
	_, err = s.UpdateTenant(ctx, id(), func(*store.Tenant) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	list, err := s.ListTenants(ctx)
	must(t, err)
	if len(list) != 1 || list[0].ID != tn.ID {
		t.Fatalf("ListTenants = %v", list)
	}
}

func testUsers(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "Anna.Berg@contoso.com")
	if u.PerUserMFA != store.PerUserMFADisabled || !u.AccountEnabled || u.LastSignInAt != nil {
		t.Fatalf("new user = %+v", u)
	}
	got, err := s.UserByUPN(ctx, tn.ID, "anna.berg@CONTOSO.com")
	must(t, err)
	if got.ID != u.ID || got.UPN != "Anna.Berg@contoso.com" {
		t.Fatalf("UserByUPN = %+v", got)
	}
	dup := store.User{ID: id(), TenantID: tn.ID, UPN: "ANNA.BERG@contoso.com", DisplayName: "x", CreatedAt: now()}
	wantErr(t, s.CreateUser(ctx, dup), store.ErrConflict)

	signin := now()
	updated, err := s.UpdateUser(ctx, tn.ID, u.ID, func(u *store.User) error {
		u.DisplayName = "Anna B"
		u.PerUserMFA = store.PerUserMFAEnforced
		u.LastSignInAt = &signin
		u.ID = "hijack"
		return nil
	})
	must(t, err)
	got, _ = s.GetUser(ctx, tn.ID, u.ID)
	if got.DisplayName != "Anna B" || got.PerUserMFA != store.PerUserMFAEnforced || got.LastSignInAt == nil ||
		!got.LastSignInAt.Equal(signin) || updated.ID != u.ID {
		t.Fatalf("after update = %+v", got)
	}
	later := signin.Add(time.Hour)
	must(t, s.SetLastSignIn(ctx, tn.ID, u.ID, later))
	if got, err := s.GetUser(ctx, tn.ID, u.ID); err != nil || got.LastSignInAt == nil || !got.LastSignInAt.Equal(later) || got.DisplayName != "Anna B" {
		t.Fatalf("after SetLastSignIn: %+v, %v", got, err)
	}
	wantErr(t, s.SetLastSignIn(ctx, tn.ID, id(), later), store.ErrNotFound)
	other := NewTenant(t, s)
	wantErr(t, s.SetLastSignIn(ctx, other.ID, u.ID, later), store.ErrNotFound)
	boom := errors.New("boom")
	_, err = s.UpdateUser(ctx, tn.ID, u.ID, func(u *store.User) error { u.DisplayName = "lost"; return boom })
	wantErr(t, err, boom)
	got, _ = s.GetUser(ctx, tn.ID, u.ID)
	if got.DisplayName != "Anna B" {
		t.Fatal("failed update was written")
	}
	_, err = s.UpdateUser(ctx, tn.ID, id(), func(*store.User) error { return nil })
	wantErr(t, err, store.ErrNotFound)

	g := NewGroup(t, s, tn.ID, "Sales")
	must(t, s.AddMember(ctx, tn.ID, g.ID, u.ID))
	must(t, s.DeleteUser(ctx, tn.ID, u.ID))
	wantErr(t, s.DeleteUser(ctx, tn.ID, u.ID), store.ErrNotFound)
	_, err = s.GetUser(ctx, tn.ID, u.ID)
	wantErr(t, err, store.ErrNotFound)
	members, err := s.ListMembers(ctx, tn.ID, g.ID)
	must(t, err)
	if len(members) != 0 {
		t.Fatalf("deleted user still a member: %v", members)
	}
}

func testUserPaging(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	want := map[string]bool{}
	must(t, s.InTx(ctx, func(tx store.Store) error {
		for i := range 250 {
			u := store.User{ID: id(), TenantID: tn.ID, UPN: fmt.Sprintf("user%03d@contoso.com", i),
				DisplayName: fmt.Sprintf("User %03d", 249-i), AccountEnabled: true, CreatedAt: now()}
			want[u.ID] = true
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, order := range []string{"", "displayName", "userPrincipalName", "createdDateTime"} {
		for _, desc := range []bool{false, true} {
			seen := map[string]bool{}
			var prev []string
			q := store.ListQuery{Limit: 100, OrderBy: order, Desc: desc && order != "", WantCount: true}
			pages := 0
			for {
				p, err := s.ListUsers(ctx, tn.ID, q)
				must(t, err)
				pages++
				if p.Count != 250 {
					t.Fatalf("count = %d", p.Count)
				}
				for _, u := range p.Items {
					if seen[u.ID] {
						t.Fatalf("order %q: user %s seen twice", order, u.UPN)
					}
					seen[u.ID] = true
					switch order {
					case "displayName":
						prev = append(prev, u.DisplayName)
					case "userPrincipalName":
						prev = append(prev, u.UPN)
					}
				}
				if p.Next == "" {
					break
				}
				q.After = p.Next
			}
			if len(seen) != 250 || pages != 3 {
				t.Fatalf("order %q desc %v: %d users in %d pages", order, desc, len(seen), pages)
			}
			if prev != nil {
				sorted := slices.Clone(prev)
				sort.Strings(sorted)
				if q.Desc {
					slices.Reverse(sorted)
				}
				if !slices.Equal(prev, sorted) {
					t.Fatalf("order %q desc %v not sorted", order, q.Desc)
				}
			}
		}
	}
	_, err := s.ListUsers(ctx, tn.ID, store.ListQuery{After: "garbage!"})
	wantErr(t, err, store.ErrInvalid)
	p, _ := s.ListUsers(ctx, tn.ID, store.ListQuery{Limit: 10, OrderBy: "displayName"})
	_, err = s.ListUsers(ctx, tn.ID, store.ListQuery{Limit: 10, After: p.Next})
	wantErr(t, err, store.ErrInvalid) // a token from another ordering
}

func testUserFilter(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	NewUser(t, s, tn.ID, "anna@contoso.com")
	NewUser(t, s, tn.ID, "anders@contoso.com")
	NewUser(t, s, tn.ID, "bo_b@contoso.com")
	NewUser(t, s, tn.ID, "bosse@contoso.com")
	cases := []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{Op: store.FilterEq, Field: "userPrincipalName", Value: "ANNA@contoso.com"}, 1},
		{store.Filter{Op: store.FilterStartsWith, Field: "userPrincipalName", Value: "An"}, 2},
		{store.Filter{Op: store.FilterStartsWith, Field: "userPrincipalName", Value: "bo_"}, 1}, // _ is literal
		{store.Filter{Op: store.FilterStartsWith, Field: "displayName", Value: "user a"}, 2},
		{store.Filter{Op: store.FilterOr, Args: []store.Filter{
			{Op: store.FilterEq, Field: "userPrincipalName", Value: "anna@contoso.com"},
			{Op: store.FilterEq, Field: "userPrincipalName", Value: "bosse@contoso.com"}}}, 2},
		{store.Filter{Op: store.FilterNot, Args: []store.Filter{{Op: store.FilterStartsWith, Field: "userPrincipalName", Value: "a"}}}, 2},
		{store.Filter{Op: store.FilterEq, Field: "accountEnabled", Value: "true"}, 4},
	}
	for _, c := range cases {
		f := c.f
		p, err := s.ListUsers(ctx, tn.ID, store.ListQuery{Filter: &f, WantCount: true})
		must(t, err)
		if len(p.Items) != c.want || p.Count != c.want {
			t.Errorf("filter %+v: %d items, count %d, want %d", c.f, len(p.Items), p.Count, c.want)
		}
	}
	_, err := s.ListUsers(ctx, tn.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterEq, Field: "passwordHash", Value: "x"}})
	wantErr(t, err, store.ErrInvalid)
}

func testGroups(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "u@contoso.com")
	top := NewGroup(t, s, tn.ID, "All staff")
	mid1 := NewGroup(t, s, tn.ID, "Sales")
	mid2 := NewGroup(t, s, tn.ID, "Nordics")
	leaf := NewGroup(t, s, tn.ID, "Sales Nordics")
	// A diamond: leaf is in mid1 and mid2, both in top.
	must(t, s.AddMember(ctx, tn.ID, top.ID, mid1.ID))
	must(t, s.AddMember(ctx, tn.ID, top.ID, mid2.ID))
	must(t, s.AddMember(ctx, tn.ID, mid1.ID, leaf.ID))
	must(t, s.AddMember(ctx, tn.ID, mid2.ID, leaf.ID))
	must(t, s.AddMember(ctx, tn.ID, leaf.ID, u.ID))
	wantErr(t, s.AddMember(ctx, tn.ID, leaf.ID, u.ID), store.ErrConflict)
	wantErr(t, s.AddMember(ctx, tn.ID, leaf.ID, id()), store.ErrInvalid)
	wantErr(t, s.AddMember(ctx, tn.ID, id(), u.ID), store.ErrNotFound)

	ids, err := s.TransitiveGroupIDs(ctx, tn.ID, u.ID)
	must(t, err)
	slices.Sort(ids)
	want := []string{top.ID, mid1.ID, mid2.ID, leaf.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("TransitiveGroupIDs = %v, want %v", ids, want)
	}
	members, err := s.ListTransitiveMembers(ctx, tn.ID, top.ID)
	must(t, err)
	if len(members) != 4 { // mid1, mid2, leaf, u — each once
		t.Fatalf("transitive members = %v", members)
	}
	direct, err := s.ListMembers(ctx, tn.ID, top.ID)
	must(t, err)
	if len(direct) != 2 || direct[0].Kind != store.KindGroup {
		t.Fatalf("members = %v", direct)
	}
	of, err := s.MemberOf(ctx, tn.ID, leaf.ID)
	must(t, err)
	if len(of) != 2 {
		t.Fatalf("memberOf = %v", of)
	}
	obj, err := s.DirectoryObject(ctx, tn.ID, u.ID)
	must(t, err)
	if obj.Kind != store.KindUser || obj.UPN != "u@contoso.com" {
		t.Fatalf("DirectoryObject = %+v", obj)
	}

	must(t, s.RemoveMember(ctx, tn.ID, mid2.ID, leaf.ID))
	wantErr(t, s.RemoveMember(ctx, tn.ID, mid2.ID, leaf.ID), store.ErrNotFound)
	must(t, s.DeleteGroup(ctx, tn.ID, mid1.ID))
	ids, _ = s.TransitiveGroupIDs(ctx, tn.ID, u.ID)
	if !slices.Equal(ids, []string{leaf.ID}) {
		t.Fatalf("after delete TransitiveGroupIDs = %v", ids)
	}
	g, err := s.UpdateGroup(ctx, tn.ID, leaf.ID, func(g *store.Group) error { g.Description = "d"; return nil })
	must(t, err)
	if g.Description != "d" {
		t.Fatal("UpdateGroup")
	}
	p, err := s.ListGroups(ctx, tn.ID, store.ListQuery{Filter: &store.Filter{Op: store.FilterStartsWith, Field: "displayName", Value: "sales"}})
	must(t, err)
	if len(p.Items) != 1 || p.Items[0].ID != leaf.ID {
		t.Fatalf("ListGroups filter = %v", p.Items)
	}
}

func testGroupCycles(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	a := NewGroup(t, s, tn.ID, "A")
	b := NewGroup(t, s, tn.ID, "B")
	c := NewGroup(t, s, tn.ID, "C")
	wantErr(t, s.AddMember(ctx, tn.ID, a.ID, a.ID), store.ErrCycle)
	must(t, s.AddMember(ctx, tn.ID, a.ID, b.ID))
	wantErr(t, s.AddMember(ctx, tn.ID, b.ID, a.ID), store.ErrCycle)
	must(t, s.AddMember(ctx, tn.ID, b.ID, c.ID))
	wantErr(t, s.AddMember(ctx, tn.ID, c.ID, a.ID), store.ErrCycle)
	members, _ := s.ListMembers(ctx, tn.ID, c.ID)
	if len(members) != 0 {
		t.Fatal("a refused cycle was written")
	}
}

// testConcurrentCycle races A→B against B→A: at most one may win.
func testConcurrentCycle(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	for range 5 {
		a := NewGroup(t, s, tn.ID, "A")
		b := NewGroup(t, s, tn.ID, "B")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); errs[0] = s.AddMember(ctx, tn.ID, a.ID, b.ID) }()
		go func() { defer wg.Done(); errs[1] = s.AddMember(ctx, tn.ID, b.ID, a.ID) }()
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, store.ErrCycle) {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 2 opposite memberships succeeded: %v", ok, errs)
		}
	}
}

func testRoles(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "admin@contoso.com")
	outer := NewGroup(t, s, tn.ID, "Admins")
	inner := NewGroup(t, s, tn.ID, "Helpdesk")
	must(t, s.AddMember(ctx, tn.ID, outer.ID, inner.ID))
	must(t, s.AddMember(ctx, tn.ID, inner.ID, u.ID))
	direct := store.RoleAssignment{ID: id(), TenantID: tn.ID, PrincipalID: u.ID, RoleDefinitionID: "role-a", CreatedAt: now()}
	must(t, s.CreateRoleAssignment(ctx, direct))
	viaGroup := store.RoleAssignment{ID: id(), TenantID: tn.ID, PrincipalID: outer.ID, RoleDefinitionID: "role-b", CreatedAt: now()}
	must(t, s.CreateRoleAssignment(ctx, viaGroup))
	dup := direct
	dup.ID = id()
	wantErr(t, s.CreateRoleAssignment(ctx, dup), store.ErrConflict)
	wantErr(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: id(), TenantID: tn.ID, PrincipalID: id(), RoleDefinitionID: "x", CreatedAt: now()}), store.ErrInvalid)

	roles, err := s.EffectiveRoleIDs(ctx, tn.ID, u.ID)
	must(t, err)
	if !slices.Equal(roles, []string{"role-a", "role-b"}) {
		t.Fatalf("EffectiveRoleIDs = %v", roles)
	}
	groups, roles, err := s.Memberships(ctx, tn.ID, u.ID)
	must(t, err)
	slices.Sort(groups)
	wantGroups := []string{outer.ID, inner.ID}
	slices.Sort(wantGroups)
	if !slices.Equal(groups, wantGroups) || !slices.Equal(roles, []string{"role-a", "role-b"}) {
		t.Fatalf("Memberships = %v, %v", groups, roles)
	}
	if groups, roles, err := s.Memberships(ctx, tn.ID, outer.ID); err != nil || len(groups) != 0 || !slices.Equal(roles, []string{"role-b"}) {
		t.Fatalf("Memberships of a top group = %v, %v, %v", groups, roles, err)
	}
	got, err := s.GetRoleAssignment(ctx, tn.ID, direct.ID)
	must(t, err)
	if got.DirectoryScopeID != "/" || got.PrincipalID != u.ID {
		t.Fatalf("GetRoleAssignment = %+v", got)
	}
	all, _ := s.ListRoleAssignments(ctx, tn.ID, "")
	mine, _ := s.ListRoleAssignments(ctx, tn.ID, u.ID)
	if len(all) != 2 || len(mine) != 1 {
		t.Fatalf("list = %d, %d", len(all), len(mine))
	}
	must(t, s.DeleteGroup(ctx, tn.ID, outer.ID))
	roles, _ = s.EffectiveRoleIDs(ctx, tn.ID, u.ID)
	if !slices.Equal(roles, []string{"role-a"}) {
		t.Fatalf("after group delete roles = %v", roles)
	}
	must(t, s.DeleteRoleAssignment(ctx, tn.ID, direct.ID))
	wantErr(t, s.DeleteRoleAssignment(ctx, tn.ID, direct.ID), store.ErrNotFound)
}

func testApps(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	a := store.App{ID: id(), TenantID: tn.ID, AppID: id(), DisplayName: "Scripts", SecretHash: "h",
		RedirectURIs: []string{"https://app.example/cb"}, Permissions: []string{"User.Read.All"}, CreatedAt: now()}
	must(t, s.CreateApp(ctx, a))
	got, err := s.AppByAppID(ctx, tn.ID, a.AppID)
	must(t, err)
	if got.DisplayName != "Scripts" || !slices.Equal(got.Permissions, a.Permissions) || !slices.Equal(got.RedirectURIs, a.RedirectURIs) {
		t.Fatalf("AppByAppID = %+v", got)
	}
	b := a
	b.ID = id()
	wantErr(t, s.CreateApp(ctx, b), store.ErrConflict)
	list, _ := s.ListApps(ctx, tn.ID)
	if len(list) != 1 {
		t.Fatalf("ListApps = %v", list)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	old := store.SigningKey{TenantID: tn.ID, KeyID: "k1", Algorithm: "RS256", PrivateSealed: "sealed", PublicJWK: []byte(`{"kid":"k1"}`), CreatedAt: now().Add(-time.Hour)}
	must(t, s.AddSigningKey(ctx, old))
	cur := old
	cur.KeyID, cur.CreatedAt = "k2", now()
	must(t, s.AddSigningKey(ctx, cur))
	wantErr(t, s.AddSigningKey(ctx, cur), store.ErrConflict)
	keys, err := s.SigningKeys(ctx, tn.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].KeyID != "k2" || string(keys[1].PublicJWK) != `{"kid":"k1"}` {
		t.Fatalf("SigningKeys = %+v", keys)
	}
}

func testAudit(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	base := now()
	for i := range 30 {
		e := store.AuditEntry{ID: id(), TenantID: tn.ID, ActivityAt: base.Add(time.Duration(i) * time.Second),
			Activity: "Add user", Category: "UserManagement", OperationType: "Add", Result: "success",
			CorrelationID: id(), LoggedByService: "Core Directory",
			InitiatedBy: store.AuditInitiator{AppID: "app", AppName: "Scripts"},
			Targets:     []store.AuditTarget{{ID: fmt.Sprint(i), Type: "User", ModifiedProperties: []store.ModifiedProperty{{DisplayName: "DisplayName", NewValue: `"x"`}}}},
		}
		if i%2 == 1 {
			e.Activity, e.OperationType = "Update user", "Update"
		}
		must(t, s.AppendAudit(ctx, e))
	}
	p, err := s.ListAudits(ctx, tn.ID, store.ListQuery{Limit: 20})
	must(t, err)
	if len(p.Items) != 20 || p.Next == "" || p.Items[0].Targets[0].ID != "29" {
		t.Fatalf("first page: %d items, first target %v", len(p.Items), p.Items[0].Targets)
	}
	p2, err := s.ListAudits(ctx, tn.ID, store.ListQuery{Limit: 20, After: p.Next})
	must(t, err)
	if len(p2.Items) != 10 || p2.Next != "" || p2.Items[9].Targets[0].ID != "0" {
		t.Fatalf("second page: %d items", len(p2.Items))
	}
	f := store.Filter{Op: store.FilterAnd, Args: []store.Filter{
		{Op: store.FilterEq, Field: "activityDisplayName", Value: "Update user"},
		{Op: store.FilterGe, Field: "activityDateTime", Value: base.Add(20 * time.Second).Format(time.RFC3339Nano)},
	}}
	p3, err := s.ListAudits(ctx, tn.ID, store.ListQuery{Filter: &f})
	must(t, err)
	if len(p3.Items) != 5 {
		t.Fatalf("filtered audits = %d, want 5", len(p3.Items))
	}
	got, err := s.GetAudit(ctx, tn.ID, p.Items[0].ID)
	must(t, err)
	if got.InitiatedBy.AppName != "Scripts" || got.Targets[0].ModifiedProperties[0].NewValue != `"x"` || got.AdditionalDetails == nil {
		t.Fatalf("GetAudit = %+v", got)
	}
}

func testTransactions(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	boom := errors.New("boom")
	var uid string
	err := s.InTx(ctx, func(tx store.Store) error {
		u := NewUser(t, tx, tn.ID, "rollback@contoso.com")
		uid = u.ID
		return tx.InTx(ctx, func(inner store.Store) error { // nested joins the outer
			NewGroup(t, inner, tn.ID, "rolled back")
			return boom
		})
	})
	wantErr(t, err, boom)
	_, err = s.GetUser(ctx, tn.ID, uid)
	wantErr(t, err, store.ErrNotFound)
	groups, _ := s.ListGroups(ctx, tn.ID, store.ListQuery{})
	if len(groups.Items) != 0 {
		t.Fatal("nested write survived rollback")
	}
	must(t, s.Ping(ctx))
}

// testTenantIsolation: nothing of tenant A is reachable through tenant B.
func testTenantIsolation(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s), NewTenant(t, s)
	u := NewUser(t, s, a.ID, "anna@a.example")
	g := NewGroup(t, s, a.ID, "A group")
	must(t, s.AddMember(ctx, a.ID, g.ID, u.ID))
	ra := store.RoleAssignment{ID: id(), TenantID: a.ID, PrincipalID: u.ID, RoleDefinitionID: "r", CreatedAt: now()}
	must(t, s.CreateRoleAssignment(ctx, ra))
	app := store.App{ID: id(), TenantID: a.ID, AppID: id(), DisplayName: "A app", SecretHash: "h", CreatedAt: now()}
	must(t, s.CreateApp(ctx, app))
	must(t, s.AppendAudit(ctx, store.AuditEntry{ID: id(), TenantID: a.ID, ActivityAt: now(), Activity: "x", Result: "success"}))

	_, err := s.GetUser(ctx, b.ID, u.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UserByUPN(ctx, b.ID, u.UPN)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UpdateUser(ctx, b.ID, u.ID, func(*store.User) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteUser(ctx, b.ID, u.ID), store.ErrNotFound)
	_, err = s.GetGroup(ctx, b.ID, g.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ListMembers(ctx, b.ID, g.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ListTransitiveMembers(ctx, b.ID, g.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.MemberOf(ctx, b.ID, u.ID)
	wantErr(t, err, store.ErrNotFound)
	ids, err := s.TransitiveGroupIDs(ctx, b.ID, u.ID)
	must(t, err)
	if len(ids) != 0 {
		t.Fatal("TransitiveGroupIDs crossed tenants")
	}
	_, err = s.DirectoryObject(ctx, b.ID, u.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteGroup(ctx, b.ID, g.ID), store.ErrNotFound)
	wantErr(t, s.RemoveMember(ctx, b.ID, g.ID, u.ID), store.ErrNotFound)
	// b's own group cannot take a's user as member, nor a's group.
	bg := NewGroup(t, s, b.ID, "B group")
	wantErr(t, s.AddMember(ctx, b.ID, bg.ID, u.ID), store.ErrInvalid)
	wantErr(t, s.AddMember(ctx, b.ID, bg.ID, g.ID), store.ErrInvalid)
	wantErr(t, s.AddMember(ctx, a.ID, g.ID, bg.ID), store.ErrInvalid)
	_, err = s.GetRoleAssignment(ctx, b.ID, ra.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteRoleAssignment(ctx, b.ID, ra.ID), store.ErrNotFound)
	wantErr(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: id(), TenantID: b.ID, PrincipalID: u.ID, RoleDefinitionID: "r", CreatedAt: now()}), store.ErrInvalid)
	roles, _ := s.EffectiveRoleIDs(ctx, b.ID, u.ID)
	if len(roles) != 0 {
		t.Fatal("EffectiveRoleIDs crossed tenants")
	}
	_, err = s.AppByAppID(ctx, b.ID, app.AppID)
	wantErr(t, err, store.ErrNotFound)
	users, _ := s.ListUsers(ctx, b.ID, store.ListQuery{WantCount: true})
	groups, _ := s.ListGroups(ctx, b.ID, store.ListQuery{})
	audits, _ := s.ListAudits(ctx, b.ID, store.ListQuery{})
	ras, _ := s.ListRoleAssignments(ctx, b.ID, "")
	apps, _ := s.ListApps(ctx, b.ID)
	if len(users.Items)+users.Count+len(groups.Items)-1+len(audits.Items)+len(ras)+len(apps) != 0 {
		t.Fatal("a list crossed tenants")
	}
}
