package capolicy_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// countries is a fake GeoIP lookup.
type countries map[string]string

func (c countries) Country(ip netip.Addr) (string, bool) {
	iso, ok := c[ip.String()]
	return iso, ok
}

func (f *fix) policy(t *testing.T, body string) store.CAPolicy {
	t.Helper()
	p, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(body))
	if err != nil {
		t.Fatalf("create policy: %v\n%s", err, body)
	}
	return p
}

func (f *fix) assignRole(t *testing.T, principalID, roleID string) {
	t.Helper()
	if err := f.st.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), TenantID: f.tenant, PrincipalID: principalID,
		RoleDefinitionID: roleID, DirectoryScopeID: "/", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

func (f *fix) addMember(t *testing.T, groupID, memberID string) {
	t.Helper()
	if err := f.st.AddMember(ctx, f.tenant, groupID, memberID); err != nil {
		t.Fatal(err)
	}
}

func byName(res capolicy.WhatIfResult) map[string]capolicy.WhatIfPolicy {
	m := map[string]capolicy.WhatIfPolicy{}
	for _, p := range res.Policies {
		m[p.DisplayName] = p
	}
	return m
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestWhatIf evaluates hypothetical sign-ins against a tenant's policies:
// the user's transitive groups and roles count, each policy says whether
// it applies and which condition did not match, and the decision merges
// the enforced ones (report-only and disabled policies never count).
func TestWhatIf(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		// alice is in Finance through a nested group and holds Security
		// Administrator; bob is in no group and holds no role.
		nested := storetest.NewGroup(t, f.st, f.tenant, "Finance EU")
		f.addMember(t, f.group.ID, nested.ID)
		f.addMember(t, nested.ID, f.user.ID)
		f.assignRole(t, f.user.ID, directory.RoleSecurityAdmin)
		bob := storetest.NewUser(t, f.st, f.tenant, "bob@contoso.com")

		office := f.location(t, `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,
			"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.1.0.0/16"}]}`)
		nordics := f.location(t, `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"Nordics","countriesAndRegions":["SE","NO"]}`)
		f.policy(t, `{"displayName":"MFA off-network","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		f.policy(t, `{"displayName":"Block legacy","state":"enabled","conditions":{"clientAppTypes":["exchangeActiveSync","other"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		f.policy(t, `{"displayName":"Finance from the Nordics","state":"enabledForReportingButNotEnforced","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeGroups":["`+f.group.ID+`"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["`+nordics.ID+`"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		f.policy(t, `{"displayName":"Admins: phishing-resistant for the portal","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["MicrosoftAdminPortals"]},"users":{"includeRoles":["`+directory.RoleSecurityAdmin+`"]}},
			"grantControls":{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}},
			"sessionControls":{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime"}}}`)
		f.policy(t, `{"displayName":"Off","state":"disabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		f.policy(t, `{"displayName":"Compliant Windows","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"],"excludeUsers":["`+bob.ID+`"]},
			"platforms":{"includePlatforms":["windows"]}},"grantControls":{"operator":"OR","builtInControls":["compliantDevice"]},
			"sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}}`)
		_ = office

		// From the office on a browser: nothing enforced applies; the
		// report-only policy would block (the country is unknown).
		res, err := f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: "ALICE@contoso.com", IPAddress: "10.1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		if res.User.ID != f.user.ID || res.SignIn.ClientAppType != "browser" || res.SignIn.Country != "" || res.SignIn.GroupCount != 2 ||
			len(res.SignIn.Roles) != 1 || res.SignIn.SignInRiskLevel != "none" {
			t.Errorf("echo %+v %+v", res.User, res.SignIn)
		}
		if len(res.Policies) != 6 {
			t.Fatalf("%d policies", len(res.Policies))
		}
		want := map[string][2]string{
			"MFA off-network":                           {capolicy.WhatIfNotApplied, ca.FailedLocationsExcluded},
			"Block legacy":                              {capolicy.WhatIfNotApplied, ca.FailedClientAppTypes},
			"Finance from the Nordics":                  {ca.ResultReportOnlyFailure, ""},
			"Admins: phishing-resistant for the portal": {capolicy.WhatIfNotApplied, ca.FailedApplications},
			"Off":               {capolicy.WhatIfNotEnabled, ca.FailedState},
			"Compliant Windows": {capolicy.WhatIfNotApplied, ca.FailedPlatforms},
		}
		check := func(what string, res capolicy.WhatIfResult, want map[string][2]string) {
			t.Helper()
			got := byName(res)
			for name, w := range want {
				p := got[name]
				fc := ""
				if p.FailedCondition != nil {
					fc = *p.FailedCondition
				}
				if p.Result != w[0] || fc != w[1] || p.Reason == "" {
					t.Errorf("%s: %s = %s/%s (%s), want %s/%s", what, name, p.Result, fc, p.Reason, w[0], w[1])
				}
			}
		}
		check("office", res, want)
		if d := res.Decision; d.Outcome != capolicy.OutcomeAllow || len(d.AppliedPolicies) != 0 || d.SignInFrequency != nil ||
			!strings.Contains(d.Reason, "No enforced policy") {
			t.Errorf("office decision %+v", d)
		}
		if p := byName(res)["Finance from the Nordics"]; deref(p.Outcome) != capolicy.OutcomeBlock || !strings.Contains(p.Reason, "Report-only") {
			t.Errorf("report-only policy %+v", p)
		}

		// From Sweden to the admin portal on a compliant Windows device:
		// MFA off-network and the admins' strength apply (the strength
		// wins), the compliant device meets its policy, and the
		// report-only one does not apply.
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: f.user.ID, IPAddress: "203.0.113.5", Country: "se",
			AdminPortal: true, Platform: "Windows", DeviceCompliant: true})
		if err != nil {
			t.Fatal(err)
		}
		check("sweden", res, map[string][2]string{
			"MFA off-network":                           {capolicy.WhatIfApplied, ""},
			"Finance from the Nordics":                  {ca.ResultReportOnlyNotApplied, ca.FailedLocationsExcluded},
			"Admins: phishing-resistant for the portal": {capolicy.WhatIfApplied, ""},
			"Compliant Windows":                         {capolicy.WhatIfApplied, ""},
		})
		d := res.Decision
		if d.Outcome != capolicy.OutcomeMFA || deref(d.AuthenticationStrength) != "phishingResistantMfa" || d.PasswordChange ||
			deref(d.SignInFrequency) != "everyTime" || len(d.AppliedPolicies) != 3 || res.SignIn.Country != "SE" || res.SignIn.Platform != "windows" ||
			res.SignIn.AppID != ca.AdminPortalAppID {
			t.Errorf("sweden decision %+v (%+v)", d, res.SignIn)
		}
		if p := byName(res)["Compliant Windows"]; deref(p.Outcome) != capolicy.OutcomeAllow || len(p.SessionControls) != 1 {
			t.Errorf("compliant windows %+v", p)
		}
		if !slicesEqual(d.GrantControls, []string{"Mfa", "AuthenticationStrength", "RequireCompliantDevice"}) ||
			!slicesEqual(d.SessionControls, []string{"SignInFrequency"}) {
			t.Errorf("controls %v %v", d.GrantControls, d.SessionControls)
		}

		// The same device not compliant: blocked by the device policy.
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: f.user.UPN, IPAddress: "203.0.113.5", Platform: "windows"})
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Decision; d.Outcome != capolicy.OutcomeBlock || !strings.Contains(d.Reason, "Compliant Windows") || deref(d.SignInFrequency) != "PT4H" {
			t.Errorf("non-compliant decision %+v", d)
		}
		// bob is excluded from it, and in no group.
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: bob.UPN, IPAddress: "203.0.113.5", Platform: "windows"})
		if err != nil {
			t.Fatal(err)
		}
		check("bob", res, map[string][2]string{
			"Compliant Windows":        {capolicy.WhatIfNotApplied, ca.FailedUsersExcluded},
			"Finance from the Nordics": {ca.ResultReportOnlyNotApplied, ca.FailedUsers},
			"MFA off-network":          {capolicy.WhatIfApplied, ""},
		})
		if d := res.Decision; d.Outcome != capolicy.OutcomeMFA || deref(d.AuthenticationStrength) != "mfa" {
			t.Errorf("bob decision %+v", d)
		}

		// A legacy client is blocked; the MFA policy asks for a prompt the
		// client cannot show.
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: bob.UPN, IPAddress: "203.0.113.5", ClientAppType: "exchangeActiveSync"})
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Decision; d.Outcome != capolicy.OutcomeBlock || !strings.Contains(d.Reason, "Block legacy") || strings.Contains(d.Reason, "MFA off-network") {
			t.Errorf("legacy decision %+v", d)
		}
		if p := byName(res)["MFA off-network"]; deref(p.Outcome) != capolicy.OutcomeMFA || !strings.Contains(p.Reason, "legacy client") {
			t.Errorf("legacy MFA %+v", p)
		}

		// The country comes from the lookup when only an address is given.
		f.svc.Country = countries{"198.51.100.7": "NO"}
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: f.user.UPN, IPAddress: "198.51.100.7"})
		if err != nil {
			t.Fatal(err)
		}
		if p := byName(res)["Finance from the Nordics"]; res.SignIn.Country != "NO" || p.Result != ca.ResultReportOnlyNotApplied {
			t.Errorf("looked-up country %q: %+v", res.SignIn.Country, p)
		}
		f.svc.Country = nil

		// Bad input.
		for _, c := range []struct {
			name   string
			r      capolicy.WhatIfRequest
			kind   apperr.Kind
			target string
		}{
			{"no user", capolicy.WhatIfRequest{}, apperr.Invalid, "user"},
			{"unknown user", capolicy.WhatIfRequest{User: "nobody@contoso.com"}, apperr.NotFound, "user"},
			{"unknown user id", capolicy.WhatIfRequest{User: uuid.NewString()}, apperr.NotFound, "user"},
			{"bad ip", capolicy.WhatIfRequest{User: bob.UPN, IPAddress: "10.1.2"}, apperr.Invalid, "ipAddress"},
			{"bad country", capolicy.WhatIfRequest{User: bob.UPN, Country: "XX"}, apperr.Invalid, "country"},
			{"bad platform", capolicy.WhatIfRequest{User: bob.UPN, Platform: "beos"}, apperr.Invalid, "platform"},
			{"bad client", capolicy.WhatIfRequest{User: bob.UPN, ClientAppType: "all"}, apperr.Invalid, "clientAppType"},
			{"bad sign-in risk", capolicy.WhatIfRequest{User: bob.UPN, SignInRiskLevel: "hidden"}, apperr.Invalid, "signInRiskLevel"},
			{"bad user risk", capolicy.WhatIfRequest{User: bob.UPN, UserRiskLevel: "extreme"}, apperr.Invalid, "userRiskLevel"},
			{"bad app", capolicy.WhatIfRequest{User: bob.UPN, AppID: "portal"}, apperr.Invalid, "appId"},
			{"app and portal", capolicy.WhatIfRequest{User: bob.UPN, AppID: uuid.NewString(), AdminPortal: true}, apperr.Invalid, "appId"},
			{"bad action", capolicy.WhatIfRequest{User: bob.UPN, UserAction: "urn:user:dance"}, apperr.Invalid, "userAction"},
			{"bad trust type", capolicy.WhatIfRequest{User: bob.UPN, DeviceTrustType: "Domain"}, apperr.Invalid, "deviceTrustType"},
		} {
			_, err := f.svc.WhatIf(ctx, f.tenant, c.r)
			wantKind(t, c.name, err, c.kind, c.target)
		}
		// Another tenant's user is unknown here.
		other := storetest.NewTenant(t, f.st)
		ou := storetest.NewUser(t, f.st, other.ID, "carol@fabrikam.com")
		_, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: ou.ID})
		wantKind(t, "other tenant's user", err, apperr.NotFound, "user")
	})
}

// TestWhatIfRiskAndActions: risk levels and user actions reach the
// engine, and a policy with a password change asks for both.
func TestWhatIfRiskAndActions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		f.policy(t, `{"displayName":"Risky sign-ins","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},"signInRiskLevels":["high","medium"]},
			"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		f.policy(t, `{"displayName":"Risky users","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},"userRiskLevels":["high"]},
			"grantControls":{"operator":"AND","builtInControls":["mfa","passwordChange"]}}`)
		f.policy(t, `{"displayName":"Register security info","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeUserActions":["urn:user:registersecurityinfo"]},"users":{"includeUsers":["All"]}},
			"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		res, err := f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: f.user.UPN, SignInRiskLevel: "low"})
		if err != nil {
			t.Fatal(err)
		}
		got := byName(res)
		if deref(got["Risky sign-ins"].FailedCondition) != ca.FailedSignInRisk || deref(got["Risky users"].FailedCondition) != ca.FailedUserRisk ||
			deref(got["Register security info"].FailedCondition) != ca.FailedUserActions || res.Decision.Outcome != capolicy.OutcomeAllow {
			t.Errorf("low risk: %+v", res)
		}
		res, err = f.svc.WhatIf(ctx, f.tenant, capolicy.WhatIfRequest{User: f.user.UPN, SignInRiskLevel: "Medium", UserRiskLevel: "high",
			UserAction: "URN:USER:REGISTERSECURITYINFO"})
		if err != nil {
			t.Fatal(err)
		}
		d := res.Decision
		if d.Outcome != capolicy.OutcomeMFA || !d.PasswordChange || len(d.AppliedPolicies) != 3 || !strings.Contains(d.Reason, "password change") ||
			res.SignIn.SignInRiskLevel != "medium" || res.SignIn.UserAction != ca.UserActionRegisterSecurityInfo {
			t.Errorf("risky: %+v %+v", d, res.SignIn)
		}
	})
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
