package ca

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
)

// TestConditions checks each condition type on its own, and include and
// exclude together: one policy, one sign-in, which condition fails.
func TestConditions(t *testing.T) {
	ip := netip.MustParseAddr
	cases := []struct {
		name  string
		conds string
		in    func(*Input)
		fail  string // "" applied
	}{
		// users
		{"all users", ``, nil, ""},
		{"user by id", `"users":{"includeUsers":["` + userAnna + `"]}`, nil, ""},
		{"other user", `"users":{"includeUsers":["` + userBo + `"]}`, nil, FailedUsers},
		{"None", `"users":{"includeUsers":["None"]}`, nil, FailedUsers},
		{"user id in upper case", `"users":{"includeUsers":["` + strings.ToUpper(userAnna) + `"]}`, nil, ""},
		{"input id in upper case", `"users":{"includeUsers":["` + userAnna + `"]}`, func(in *Input) { in.UserID = strings.ToUpper(userAnna) }, ""},
		{"direct group", `"users":{"includeGroups":["` + groupSales + `"]}`, nil, ""},
		{"transitive group", `"users":{"includeGroups":["` + groupNest + `"]}`,
			func(in *Input) { in.Groups = append(in.Groups, groupNest) }, ""},
		{"not in group", `"users":{"includeGroups":["` + groupNest + `"]}`, nil, FailedUsers},
		{"excluded group beats All", `"users":{"includeUsers":["All"],"excludeGroups":["` + groupSales + `"]}`, nil, FailedUsersExcluded},
		{"excluded nested group beats included user", `"users":{"includeUsers":["` + userAnna + `"],"excludeGroups":["` + groupNest + `"]}`,
			func(in *Input) { in.Groups = append(in.Groups, groupNest) }, FailedUsersExcluded},
		{"excluded user beats included group", `"users":{"includeGroups":["` + groupSales + `"],"excludeUsers":["` + userAnna + `"]}`, nil, FailedUsersExcluded},
		{"other excluded user", `"users":{"includeUsers":["All"],"excludeUsers":["` + userBreak + `"]}`, nil, ""},
		{"role", `"users":{"includeRoles":["` + globalAdmin + `"]}`, func(in *Input) { in.Roles = []string{globalAdmin} }, ""},
		{"role, input upper case", `"users":{"includeRoles":["` + globalAdmin + `"]}`, func(in *Input) { in.Roles = []string{strings.ToUpper(globalAdmin)} }, ""},
		{"no role", `"users":{"includeRoles":["` + globalAdmin + `"]}`, nil, FailedUsers},
		{"excluded role", `"users":{"includeUsers":["All"],"excludeRoles":["` + globalAdmin + `"]}`, func(in *Input) { in.Roles = []string{globalAdmin} }, FailedUsersExcluded},
		{"guests included", `"users":{"includeUsers":["GuestsOrExternalUsers"]}`, func(in *Input) { in.Guest = true }, ""},
		{"member not a guest", `"users":{"includeUsers":["GuestsOrExternalUsers"]}`, nil, FailedUsers},
		{"guests excluded", `"users":{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]}`, func(in *Input) { in.Guest = true }, FailedUsersExcluded},
		{"group or role", `"users":{"includeGroups":["` + groupNest + `"],"includeRoles":["` + globalAdmin + `"]}`, func(in *Input) { in.Roles = []string{globalAdmin} }, ""},

		// applications
		{"app by id", `"applications":{"includeApplications":["` + appCRM + `"]}`, nil, ""},
		{"other app", `"applications":{"includeApplications":["` + appWiki + `"]}`, nil, FailedApplications},
		{"excluded app beats All", `"applications":{"includeApplications":["All"],"excludeApplications":["` + appCRM + `"]}`, nil, FailedApplicationsExclude},
		{"None", `"applications":{"includeApplications":["None"]}`, nil, FailedApplications},
		{"Office365 matches no vakt app", `"applications":{"includeApplications":["Office365"]}`, nil, FailedApplications},
		{"admin portal by keyword", `"applications":{"includeApplications":["MicrosoftAdminPortals"]}`, func(in *Input) { in.AppID = AdminPortalAppID }, ""},
		{"admin portal by id", `"applications":{"includeApplications":["` + AdminPortalAppID + `"]}`, func(in *Input) { in.AppID = AdminPortalAppID }, ""},
		{"admin surface flag", `"applications":{"includeApplications":["MicrosoftAdminPortals"]}`, func(in *Input) { in.AdminSurface = true }, ""},
		{"admin portal, ordinary app", `"applications":{"includeApplications":["MicrosoftAdminPortals"]}`, nil, FailedApplications},
		{"admin portal excluded", `"applications":{"includeApplications":["All"],"excludeApplications":["MicrosoftAdminPortals"]}`, func(in *Input) { in.AdminSurface = true }, FailedApplicationsExclude},
		{"All includes vakt's own pages", ``, func(in *Input) { in.AppID = "" }, ""},

		// user actions
		{"register security info", `"applications":{"includeUserActions":["urn:user:registersecurityinfo"]}`,
			func(in *Input) { in.UserAction = UserActionRegisterSecurityInfo }, ""},
		{"user action policy, plain sign-in", `"applications":{"includeUserActions":["urn:user:registersecurityinfo"]}`, nil, FailedUserActions},
		{"other user action", `"applications":{"includeUserActions":["urn:user:registerdevice"]}`,
			func(in *Input) { in.UserAction = UserActionRegisterSecurityInfo }, FailedUserActions},
		{"app policy during a user action", `"applications":{"includeApplications":["` + appCRM + `"]}`,
			func(in *Input) { in.UserAction = UserActionRegisterSecurityInfo }, ""},

		// client app types
		{"legacy", `"clientAppTypes":["exchangeActiveSync","other"]`, func(in *Input) { in.Client = policy.ClientOther }, ""},
		{"legacy, browser", `"clientAppTypes":["exchangeActiveSync","other"]`, nil, FailedClientAppTypes},
		{"easSupported", `"clientAppTypes":["easSupported"]`, func(in *Input) { in.Client = policy.ClientExchangeActiveSync }, ""},
		{"mobile", `"clientAppTypes":["mobileAppsAndDesktopClients"]`, func(in *Input) { in.Client = policy.ClientMobileDesktop }, ""},
		{"empty is all", `"clientAppTypes":[]`, func(in *Input) { in.Client = policy.ClientOther }, ""},
		{"unset client is a browser", `"clientAppTypes":["browser"]`, func(in *Input) { in.Client = "" }, ""},

		// locations
		{"in the office", `"locations":{"includeLocations":["` + locOffice + `"]}`, nil, ""},
		{"second range of the office", `"locations":{"includeLocations":["` + locOffice + `"]}`, func(in *Input) { in.IP = ip("198.51.100.31") }, ""},
		{"just outside the range", `"locations":{"includeLocations":["` + locOffice + `"]}`, func(in *Input) { in.IP = ip("198.51.100.32") }, FailedLocations},
		{"IPv4-mapped address", `"locations":{"includeLocations":["` + locOffice + `"]}`, func(in *Input) { in.IP = ip("::ffff:192.0.2.10") }, ""},
		{"outside the office", `"locations":{"includeLocations":["` + locOffice + `"]}`, func(in *Input) { in.IP = ip("203.0.113.5") }, FailedLocations},
		{"no IP", `"locations":{"includeLocations":["` + locOffice + `"]}`, func(in *Input) { in.IP = netip.Addr{} }, FailedLocations},
		{"untrusted: office is trusted", `"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`, nil, FailedLocationsExcluded},
		{"untrusted: from a café", `"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`, func(in *Input) { in.IP = ip("203.0.113.5") }, ""},
		{"untrusted: no IP", `"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`, func(in *Input) { in.IP = netip.Addr{} }, ""},
		{"AllTrusted over IPv6", `"locations":{"includeLocations":["AllTrusted"]}`, func(in *Input) { in.IP = ip("2001:db8:abcd:12::1") }, ""},
		{"IPv6 outside", `"locations":{"includeLocations":["AllTrusted"]}`, func(in *Input) { in.IP = ip("2001:db8:abce::1") }, FailedLocations},
		{"IPv6 location by id", `"locations":{"includeLocations":["` + locVPN6 + `"]}`, func(in *Input) { in.IP = ip("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff") }, ""},
		{"IPv4 not in IPv6 location", `"locations":{"includeLocations":["` + locVPN6 + `"]}`, nil, FailedLocations},
		{"country", `"locations":{"includeLocations":["` + locNordics + `"]}`, nil, ""},
		{"country, lower case", `"locations":{"includeLocations":["` + locNordics + `"]}`, func(in *Input) { in.Country = "fi" }, ""},
		{"other country", `"locations":{"includeLocations":["` + locNordics + `"]}`, func(in *Input) { in.Country = "US" }, FailedLocations},
		{"unknown country", `"locations":{"includeLocations":["` + locNordics + `"]}`, func(in *Input) { in.Country = "" }, FailedLocations},
		{"unknown country included", `"locations":{"includeLocations":["` + locBlocked + `"]}`, func(in *Input) { in.Country = "" }, ""},
		{"listed country", `"locations":{"includeLocations":["` + locBlocked + `"]}`, func(in *Input) { in.Country = "KP" }, ""},
		{"excluded country", `"locations":{"includeLocations":["All"],"excludeLocations":["` + locNordics + `"]}`, nil, FailedLocationsExcluded},
		{"excluded country, elsewhere", `"locations":{"includeLocations":["All"],"excludeLocations":["` + locNordics + `"]}`, func(in *Input) { in.Country = "DE" }, ""},
		{"one of two locations", `"locations":{"includeLocations":["` + locVPN6 + `","` + locNordics + `"]}`, nil, ""},

		// platforms
		{"iOS", `"platforms":{"includePlatforms":["iOS"]}`, func(in *Input) { in.Platform = "ios" }, ""},
		{"not iOS", `"platforms":{"includePlatforms":["iOS"]}`, nil, FailedPlatforms},
		{"all but windows", `"platforms":{"includePlatforms":["all"],"excludePlatforms":["windows"]}`, nil, FailedPlatformsExcluded},
		{"all but windows, macOS", `"platforms":{"includePlatforms":["all"],"excludePlatforms":["windows"]}`, func(in *Input) { in.Platform = "macOS" }, ""},
		{"all includes unknown", `"platforms":{"includePlatforms":["all"],"excludePlatforms":["windows"]}`, func(in *Input) { in.Platform = "" }, ""},
		{"android excludes unknown", `"platforms":{"includePlatforms":["android"]}`, func(in *Input) { in.Platform = "" }, FailedPlatforms},
		{"linux", `"platforms":{"includePlatforms":["linux","macOS"]}`, func(in *Input) { in.Platform = "Linux" }, ""},

		// devices
		{"compliant only", `"devices":{"deviceFilter":{"mode":"include","rule":"device.isCompliant -eq True"}}`, func(in *Input) { in.Compliant = true }, ""},
		{"compliant only, not compliant", `"devices":{"deviceFilter":{"mode":"include","rule":"device.isCompliant -eq True"}}`, nil, FailedDevices},
		{"not for joined devices", `"devices":{"deviceFilter":{"mode":"exclude","rule":"device.trustType -eq \"AzureAD\""}}`, func(in *Input) { in.TrustType = "azuread" }, FailedDevices},
		{"not for joined devices, unregistered", `"devices":{"deviceFilter":{"mode":"exclude","rule":"device.trustType -eq \"AzureAD\""}}`, nil, ""},
		{"compound rule, hybrid", `"devices":{"deviceFilter":{"mode":"include","rule":"(device.isCompliant -eq True -and device.trustType -ne \"Workplace\") -or device.trustType -eq \"ServerAD\""}}`,
			func(in *Input) { in.TrustType = "ServerAD" }, ""},
		{"compound rule, compliant but registered", `"devices":{"deviceFilter":{"mode":"include","rule":"(device.isCompliant -eq True -and device.trustType -ne \"Workplace\") -or device.trustType -eq \"ServerAD\""}}`,
			func(in *Input) { in.Compliant, in.TrustType = true, "Workplace" }, FailedDevices},

		// risk
		{"medium sign-in risk", `"signInRiskLevels":["medium","high"]`, func(in *Input) { in.SignInRisk = policy.RiskMedium }, ""},
		{"low sign-in risk", `"signInRiskLevels":["medium","high"]`, func(in *Input) { in.SignInRisk = policy.RiskLow }, FailedSignInRisk},
		{"no sign-in risk", `"signInRiskLevels":["none"]`, nil, ""},
		{"hidden matches no sign-in", `"signInRiskLevels":["hidden"]`, func(in *Input) { in.SignInRisk = policy.RiskHigh }, FailedSignInRisk},
		{"high user risk", `"userRiskLevels":["high"]`, func(in *Input) { in.UserRisk = policy.RiskHigh }, ""},
		{"medium user risk", `"userRiskLevels":["high"]`, func(in *Input) { in.UserRisk = policy.RiskMedium }, FailedUserRisk},

		// the first failing condition is reported
		{"users before apps", `"users":{"includeUsers":["None"]},"applications":{"includeApplications":["None"]}`, nil, FailedUsers},
	}
	locs := testLocations(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := policyWith(t, c.conds)
			s := mustCompile(t, []Policy{p}, locs)
			in := baseInput()
			if c.in != nil {
				c.in(&in)
			}
			out, res := s.Evaluate(in, nil)
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if r.FailedCondition != c.fail || r.Applied != (c.fail == "") {
				t.Fatalf("applied %v, failed %q; want failed %q", r.Applied, r.FailedCondition, c.fail)
			}
			if wantGrants := btoi(c.fail == ""); len(out.Grants) != wantGrants {
				t.Fatalf("%d grants, want %d", len(out.Grants), wantGrants)
			}
			if c.fail == "" && (!out.Grants[0].MFA || out.Grants[0].PolicyID != policyID) {
				t.Fatalf("grant %+v", out.Grants[0])
			}
		})
	}
}

func TestGrants(t *testing.T) {
	cases := []struct {
		grant string
		want  policy.Grant
		names []string
	}{
		{`{"operator":"OR","builtInControls":["mfa"]}`, policy.Grant{MFA: true}, []string{"Mfa"}},
		{`{"operator":"OR","builtInControls":["mfa","compliantDevice"]}`, policy.Grant{Or: true, MFA: true, Compliant: true}, []string{"Mfa", "RequireCompliantDevice"}},
		{`{"operator":"AND","builtInControls":["mfa","compliantDevice"]}`, policy.Grant{MFA: true, Compliant: true}, []string{"Mfa", "RequireCompliantDevice"}},
		{`{"operator":"OR","builtInControls":["block"]}`, policy.Grant{Block: true}, []string{"Block"}},
		{`{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000002"}}`, policy.Grant{Strength: policy.StrengthMFA}, []string{"AuthenticationStrength"}},
		{`{"operator":"OR","builtInControls":[],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000003","displayName":"Passwordless MFA"}}`, policy.Grant{Strength: policy.StrengthPasswordless}, []string{"AuthenticationStrength"}},
		{`{"operator":"AND","builtInControls":["compliantDevice"],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}}`,
			policy.Grant{Strength: policy.StrengthPhishingResistant, Compliant: true}, []string{"RequireCompliantDevice", "AuthenticationStrength"}},
	}
	for _, c := range cases {
		p := policyWith(t, "")
		p.GrantControls = decodePolicy(t, `{"grantControls":`+c.grant+`}`).GrantControls
		s := mustCompile(t, []Policy{p}, nil)
		out, res := s.Evaluate(baseInput(), nil)
		c.want.PolicyID = policyID
		if len(out.Grants) != 1 || out.Grants[0] != c.want {
			t.Errorf("%s: grants %+v, want %+v", c.grant, out.Grants, c.want)
		}
		if !slices.Equal(res[0].GrantControls, c.names) {
			t.Errorf("%s: controls %v, want %v", c.grant, res[0].GrantControls, c.names)
		}
	}
}

// TestGrantsDecide feeds AND and OR grants to policy.Decide.
func TestGrantsDecide(t *testing.T) {
	u := policy.User{Enabled: true, Methods: []method.Registered{{ID: "a", Kind: method.KindSoftwareOath, Usable: true}}}
	tn := policy.Tenant{Allowed: map[method.Option]bool{}}
	for _, o := range method.AllOptions() {
		tn.Allowed[o] = true
	}
	for _, c := range []struct {
		op        string
		compliant bool
		want      policy.Outcome
	}{
		{"OR", true, policy.Allow},       // the compliant device is enough
		{"OR", false, policy.RequireMFA}, // or a second factor
		{"AND", true, policy.RequireMFA}, // a second factor as well
		{"AND", false, policy.Block},     // no device can fix it
	} {
		p := policyWith(t, "")
		p.GrantControls = &GrantControls{Operator: c.op, BuiltInControls: []string{"mfa", "compliantDevice"}}
		s := mustCompile(t, []Policy{p}, nil)
		in := baseInput()
		in.Compliant = c.compliant
		out, _ := s.Evaluate(in, nil)
		d := policy.Decide(u, policy.Request{Compliant: c.compliant}, tn, out.Grants, time.Unix(0, 0))
		if d.Outcome != c.want {
			t.Errorf("%s compliant=%v: %s, want %s", c.op, c.compliant, d.Outcome, c.want)
		}
	}
}

func TestReportOnlyNeverEnforces(t *testing.T) {
	block := policyWith(t, "")
	block.State = StateReportOnly
	block.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
	block.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 1, Type: "hours"}}
	s := mustCompile(t, []Policy{block}, nil)
	out, res := s.Evaluate(baseInput(), nil)
	if !res[0].Applied || !res[0].ReportOnly || res[0].FailedCondition != "" {
		t.Fatalf("result %+v", res[0])
	}
	if len(out.Grants) != 0 || out.Block || out.SignInFrequency != 0 {
		t.Fatalf("report-only policy enforced: %+v", out)
	}
	d := policy.Decide(policy.User{Enabled: true}, policy.Request{}, policy.Tenant{}, out.Grants, time.Unix(0, 0))
	if d.Outcome != policy.Allow {
		t.Fatalf("outcome %s", d.Outcome)
	}
}

func TestDisabledNotEvaluated(t *testing.T) {
	p := policyWith(t, "")
	p.State = StateDisabled
	s := mustCompile(t, []Policy{p}, nil)
	out, res := s.Evaluate(baseInput(), nil)
	if res[0].Applied || res[0].FailedCondition != FailedState || len(out.Grants) != 0 {
		t.Fatalf("%+v %+v", res[0], out)
	}
}

func TestBlockBeatsEverything(t *testing.T) {
	mfa := policyWith(t, "")
	mfa.ID = "e0000000-0000-4000-8000-000000000010"
	compliant := policyWith(t, "")
	compliant.ID = "e0000000-0000-4000-8000-000000000011"
	compliant.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"compliantDevice", "mfa"}}
	block := policyWith(t, `"clientAppTypes":["browser"]`)
	block.ID = "e0000000-0000-4000-8000-000000000012"
	block.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
	session := policyWith(t, "")
	session.ID = "e0000000-0000-4000-8000-000000000013"
	session.GrantControls = nil
	session.SessionControls = &SessionControls{PersistentBrowser: &PersistentBrowser{IsEnabled: true, Mode: "always"}}

	s := mustCompile(t, []Policy{mfa, compliant, block, session}, nil)
	in := baseInput()
	in.Compliant = true
	out, res := s.Evaluate(in, nil)
	if !out.Block || len(out.Grants) != 3 {
		t.Fatalf("outcome %+v", out)
	}
	for _, r := range res {
		if !r.Applied {
			t.Fatalf("%s did not apply: %s", r.PolicyID, r.FailedCondition)
		}
	}
	d := policy.Decide(policy.User{Enabled: true}, policy.Request{Compliant: true, MFADone: &policy.MFADone{Option: "fido2"}},
		policy.Tenant{}, out.Grants, time.Unix(0, 0))
	if d.Outcome != policy.Block || d.Code != policy.CodeBlockedByPolicy {
		t.Fatalf("decision %+v", d)
	}
}

func TestSessionControls(t *testing.T) {
	mk := func(id string, sc string) Policy {
		p := policyWith(t, "")
		p.ID = id
		p.GrantControls = nil
		p.SessionControls = decodePolicy(t, `{"sessionControls":`+sc+`}`).SessionControls
		return p
	}
	days := mk("e0000000-0000-4000-8000-000000000020", `{"signInFrequency":{"isEnabled":true,"value":7,"type":"days","frequencyInterval":"timeBased"}}`)
	hours := mk("e0000000-0000-4000-8000-000000000021", `{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}`)
	always := mk("e0000000-0000-4000-8000-000000000022", `{"persistentBrowser":{"isEnabled":true,"mode":"always"}}`)
	never := mk("e0000000-0000-4000-8000-000000000023", `{"persistentBrowser":{"isEnabled":true,"mode":"never"},"signInFrequency":{"isEnabled":false,"value":1,"type":"hours"}}`)
	every := mk("e0000000-0000-4000-8000-000000000024", `{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime","value":null,"type":null}}`)

	s := mustCompile(t, []Policy{days, hours, always}, nil)
	out, res := s.Evaluate(baseInput(), nil)
	if out.SignInFrequency != 4*time.Hour || out.SignInEveryTime || out.PersistentBrowser != "always" || len(out.Grants) != 0 {
		t.Fatalf("outcome %+v", out)
	}
	if !slices.Equal(res[0].SessionControls, []string{"SignInFrequency"}) || len(res[0].GrantControls) != 0 {
		t.Fatalf("result %+v", res[0])
	}
	s = mustCompile(t, []Policy{never, always, every, days}, nil)
	out, res = s.Evaluate(baseInput(), nil)
	if out.PersistentBrowser != "never" || !out.SignInEveryTime || out.SignInFrequency != 7*24*time.Hour {
		t.Fatalf("outcome %+v", out)
	}
	if !slices.Equal(res[0].SessionControls, []string{"PersistentBrowserSessionMode"}) {
		t.Fatalf("disabled frequency listed: %v", res[0].SessionControls)
	}
}

// TestResultsReused checks that the results buffer is reused and that the
// results follow the Set's order.
func TestResultsReused(t *testing.T) {
	var ps []Policy
	for i, conds := range []string{``, `"users":{"includeUsers":["None"]}`, `"clientAppTypes":["other"]`} {
		p := policyWith(t, conds)
		p.ID = "e0000000-0000-4000-8000-00000000003" + string(rune('0'+i))
		ps = append(ps, p)
	}
	s := mustCompile(t, ps, nil)
	if s.Len() != 3 || s.NeedsCountry() {
		t.Fatal("Len/NeedsCountry")
	}
	buf := make([]Result, 0, 8)
	_, res := s.Evaluate(baseInput(), buf)
	if &res[0] != &buf[:1][0] {
		t.Fatal("buffer not reused")
	}
	want := []string{"", FailedUsers, FailedClientAppTypes}
	for i, r := range res {
		if r.PolicyID != ps[i].ID || r.FailedCondition != want[i] {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	in := baseInput()
	in.Client = policy.ClientOther
	_, res = s.Evaluate(in, res)
	if len(res) != 3 || !res[2].Applied {
		t.Fatalf("second evaluation %+v", res)
	}
	var nilSet *Set
	out, res := nilSet.Evaluate(in, res)
	if len(res) != 0 || len(out.Grants) != 0 {
		t.Fatal("nil set")
	}
}

type fakeLookup map[netip.Addr]string

func (f fakeLookup) Country(ip netip.Addr) (string, bool) { c, ok := f[ip]; return c, ok }

func TestLookupCountry(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	l := fakeLookup{ip: "SE", netip.MustParseAddr("192.0.2.2"): "XYZ"}
	if LookupCountry(l, ip) != "SE" || LookupCountry(nil, ip) != "" || LookupCountry(l, netip.MustParseAddr("192.0.2.3")) != "" ||
		LookupCountry(l, netip.MustParseAddr("192.0.2.2")) != "" || LookupCountry(l, netip.Addr{}) != "" {
		t.Fatal("LookupCountry")
	}
}

// TestConcurrentEvaluate shares one Set between goroutines (run with
// -race).
func TestConcurrentEvaluate(t *testing.T) {
	ps := []Policy{
		policyWith(t, `"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}`),
		policyWith(t, `"users":{"includeGroups":["`+groupNest+`"]}`),
	}
	ps[1].ID = "e0000000-0000-4000-8000-000000000050"
	s := mustCompile(t, ps, testLocations(t))
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			var res []Result
			ok := true
			for i := 0; i < 200; i++ {
				in := baseInput()
				if (g+i)%2 == 0 {
					in.IP = netip.MustParseAddr("203.0.113.9")
					in.Groups = append(in.Groups, groupNest)
				}
				var out Outcome
				out, res = s.Evaluate(in, res)
				ok = ok && len(out.Grants) == 2*((g+i+1)%2)
			}
			done <- ok
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Error("wrong outcome under concurrency")
		}
	}
}
