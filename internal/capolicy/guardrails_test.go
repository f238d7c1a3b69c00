package capolicy_test

import (
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// blockBody is an enabled policy that blocks users (a users condition
// in JSON) from apps.
func blockBody(name, state, users, apps string) string {
	return `{"displayName":"` + name + `","state":"` + state + `","conditions":{"clientAppTypes":["all"],
		"applications":{"includeApplications":` + apps + `},"users":` + users + `},"grantControls":{"operator":"OR","builtInControls":["block"]}}`
}

func wantLockout(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.Conflict {
		t.Fatalf("%s: error %v, want a conflict", what, err)
	}
	for _, w := range words {
		if !strings.Contains(e.Message, w) {
			t.Errorf("%s: message %q lacks %q", what, e.Message, w)
		}
	}
}

// TestGuardRails (P-7.7): a create or change that would leave every
// enabled Global Administrator, or the acting administrator, blocked from
// the admin portal is refused, unless the policy excludes a user or group;
// report-only and disabled policies, and policies that only ask for MFA,
// pass.
func TestGuardRails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		// Two Global Administrators: ga1 directly, ga2 through a group; a
		// disabled one who does not count; a Security Administrator.
		ga1 := storetest.NewUser(t, f.st, f.tenant, "ga1@contoso.com")
		ga2 := storetest.NewUser(t, f.st, f.tenant, "ga2@contoso.com")
		gone := storetest.NewUser(t, f.st, f.tenant, "former@contoso.com")
		sec := storetest.NewUser(t, f.st, f.tenant, "sec@contoso.com")
		breakGlass := storetest.NewUser(t, f.st, f.tenant, "breakglass@contoso.com")
		admins := storetest.NewGroup(t, f.st, f.tenant, "Admins")
		onlyGA1 := storetest.NewGroup(t, f.st, f.tenant, "GA one")
		f.addMember(t, admins.ID, ga2.ID)
		f.addMember(t, onlyGA1.ID, ga1.ID)
		f.addMember(t, onlyGA1.ID, sec.ID)
		f.assignRole(t, ga1.ID, directory.RoleGlobalAdmin)
		f.assignRole(t, admins.ID, directory.RoleGlobalAdmin)
		f.assignRole(t, gone.ID, directory.RoleGlobalAdmin)
		f.assignRole(t, sec.ID, directory.RoleSecurityAdmin)
		if _, err := f.st.UpdateUser(ctx, f.tenant, gone.ID, func(u *store.User) error { u.AccountEnabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		all := `{"includeUsers":["All"]}`
		allApps, portal := `["All"]`, `["MicrosoftAdminPortals"]`

		f.location(t, officeBody)
		// Blocking everyone, or everyone from the portal, is refused and
		// changes nothing.
		before := f.snapshot(t)
		_, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(blockBody("Lockdown", "enabled", all, allApps)))
		wantLockout(t, "block all", err, "every Global Administrator", "ga1@contoso.com", "ga2@contoso.com", "Lockdown", "emergency-access")
		if strings.Contains(err.Error(), "former@") {
			t.Errorf("a disabled administrator is named: %v", err)
		}
		_, err = f.svc.CreatePolicy(ctx, op, f.tenant, []byte(blockBody("Portal lockdown", "enabled", all, portal)))
		wantLockout(t, "block portal", err)
		// Through the roles condition, and from anywhere untrusted (the
		// guard evaluates an address in no named location).
		_, err = f.svc.CreatePolicy(ctx, op, f.tenant, []byte(blockBody("Roles", "enabled", `{"includeRoles":["`+directory.RoleGlobalAdmin+`"]}`, allApps)))
		wantLockout(t, "block the role", err)
		_, err = f.svc.CreatePolicy(ctx, op, f.tenant, []byte(`{"displayName":"Office only","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`))
		wantLockout(t, "office only", err)
		// A compliant device is a block for a browser that cannot show one.
		_, err = f.svc.CreatePolicy(ctx, op, f.tenant, []byte(`{"displayName":"Compliant only","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["compliantDevice"]}}`))
		wantLockout(t, "compliant only", err)
		if f.snapshot(t) != before {
			t.Error("a refused create changed something")
		}

		// Allowed: report-only, disabled, MFA, legacy clients only, one of
		// two administrators, and any block with an emergency exclusion.
		f.policy(t, blockBody("Trial", "enabledForReportingButNotEnforced", all, allApps))
		f.policy(t, blockBody("Off", "disabled", all, allApps))
		f.policy(t, `{"displayName":"MFA everyone","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		f.policy(t, `{"displayName":"Legacy","state":"enabled","conditions":{"clientAppTypes":["exchangeActiveSync","other"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		oneGA := f.policy(t, blockBody("GA one", "enabled", `{"includeGroups":["`+onlyGA1.ID+`"]}`, allApps))
		f.policy(t, blockBody("Guests out", "enabled", `{"includeUsers":["All"],"excludeUsers":["`+breakGlass.ID+`"]}`, allApps))
		f.policy(t, blockBody("Group out", "enabled", `{"includeUsers":["All"],"excludeGroups":["`+admins.ID+`"]}`, portal))

		// GuestsOrExternalUsers is no emergency exclusion.
		_, err = f.svc.CreatePolicy(ctx, op, f.tenant, []byte(blockBody("Members", "enabled", `{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]}`, allApps)))
		wantLockout(t, "guests excluded", err)

		// Switching the report-only policy on is refused; so is a change
		// that drops an enabled policy's exclusion.
		trial := findPolicy(t, f, "Trial")
		before = f.snapshot(t)
		_, err = f.svc.UpdatePolicy(ctx, op, f.tenant, trial.ID, []byte(`{"state":"enabled"}`))
		wantLockout(t, "report-only to on", err, "Trial")
		guests := findPolicy(t, f, "Guests out")
		_, err = f.svc.UpdatePolicy(ctx, op, f.tenant, guests.ID, []byte(`{"conditions":{"users":{"excludeUsers":[]}}}`))
		wantLockout(t, "drop the exclusion", err)
		// Widening "GA one" to the administrators' group too.
		_, err = f.svc.UpdatePolicy(ctx, op, f.tenant, oneGA.ID, []byte(`{"conditions":{"users":{"includeGroups":["`+onlyGA1.ID+`","`+admins.ID+`"]}}}`))
		wantLockout(t, "widen", err)
		if f.snapshot(t) != before {
			t.Error("a refused change took effect")
		}
		// With an exclusion the switch is allowed.
		if _, err := f.svc.UpdatePolicy(ctx, op, f.tenant, trial.ID, []byte(`{"state":"enabled","conditions":{"users":{"excludeUsers":["`+breakGlass.ID+`"]}}}`)); err != nil {
			t.Fatal(err)
		}

		// The acting administrator: ga1 may not block themself, even when
		// another administrator keeps a way in; ga2 may block ga1.
		actor := directory.Actor{UserID: ga1.ID, UPN: ga1.UPN, Roles: []string{directory.RoleGlobalAdmin}}
		_, err = f.svc.CreatePolicy(ctx, actor, f.tenant, []byte(blockBody("Me", "enabled", `{"includeUsers":["`+ga1.ID+`"]}`, portal)))
		wantLockout(t, "self", err, "block you", "ga1@contoso.com")
		_, err = f.svc.UpdatePolicy(ctx, actor, f.tenant, findPolicy(t, f, "Off").ID, []byte(`{"state":"enabled","conditions":{"users":{"includeUsers":["`+ga1.ID+`"]}}}`))
		wantLockout(t, "self by update", err, "block you")
		other := directory.Actor{UserID: ga2.ID, UPN: ga2.UPN, Roles: []string{directory.RoleGlobalAdmin}}
		if _, err := f.svc.CreatePolicy(ctx, other, f.tenant, []byte(blockBody("Not me", "enabled", `{"includeUsers":["`+ga1.ID+`"]}`, portal))); err != nil {
			t.Fatal(err)
		}
		// A Security Administrator acting for themself.
		secActor := directory.Actor{UserID: sec.ID, UPN: sec.UPN, Roles: []string{directory.RoleSecurityAdmin}}
		_, err = f.svc.CreatePolicy(ctx, secActor, f.tenant, []byte(blockBody("Security", "enabled", `{"includeRoles":["`+directory.RoleSecurityAdmin+`"]}`, portal)))
		wantLockout(t, "security admin self", err, "sec@contoso.com")
	})
}

// TestGuardRailsWithoutAdmins: a tenant with no enabled Global
// Administrator has nobody to lock out (the local operator acts).
func TestGuardRailsWithoutAdmins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		f.policy(t, blockBody("Lockdown", "enabled", `{"includeUsers":["All"]}`, `["All"]`))
	})
}

func findPolicy(t *testing.T, f *fix, name string) store.CAPolicy {
	t.Helper()
	ps, err := f.svc.AllPolicies(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.DisplayName == name {
			return p
		}
	}
	t.Fatalf("no policy %q", name)
	return store.CAPolicy{}
}
