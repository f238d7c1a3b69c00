package ca

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidatePolicy(t *testing.T) {
	cases := []struct {
		name string
		edit func(p *Policy)
		js   string // replaces the policy when set
		want string // substring of the error; "" valid
	}{
		{"valid", nil, "", ""},
		{"no display name", func(p *Policy) { p.DisplayName = " " }, "", "displayName: a policy needs a display name"},
		{"bad state", func(p *Policy) { p.State = "on" }, "", `unknown state "on"`},
		{"no state", func(p *Policy) { p.State = "" }, "", "state is required"},
		{"bad id", func(p *Policy) { p.ID = "42" }, "", `id: "42" is not a GUID`},
		{"no users", func(p *Policy) { p.Conditions.Users = &UsersCondition{ExcludeUsers: []string{userAnna}} }, "", "must include users, groups or roles"},
		{"users typo", func(p *Policy) { p.Conditions.Users.IncludeUsers = []string{"all users"} }, "", `"all users" is neither a user id`},
		{"None mixed", func(p *Policy) { p.Conditions.Users.IncludeUsers = []string{"None", userAnna} }, "", "None cannot be combined"},
		{"exclude All users", func(p *Policy) { p.Conditions.Users.ExcludeUsers = []string{"All"} }, "", `excludeUsers: "All" is neither`},
		{"group not a GUID", func(p *Policy) { p.Conditions.Users.IncludeGroups = []string{"sales"} }, "", `"sales" is not a group id`},
		{"unknown role", func(p *Policy) { p.Conditions.Users.IncludeRoles = []string{userAnna} }, "", "not the template id of a built-in directory role"},
		{"guest types", func(p *Policy) {
			p.Conditions.Users.IncludeGuestsOrExternalUsers = []byte(`{"guestOrExternalUserTypes":"b2bCollaborationGuest"}`)
		}, "", "guest and external user types are not supported"},
		{"no apps", func(p *Policy) { p.Conditions.Applications = nil }, "", "must include applications"},
		{"apps and actions", func(p *Policy) {
			p.Conditions.Applications.IncludeUserActions = []string{UserActionRegisterDevice}
		}, "", "either applications or user actions"},
		{"unknown action", func(p *Policy) {
			p.Conditions.Applications = &ApplicationsCondition{IncludeUserActions: []string{"urn:user:dance"}}
		}, "", `unknown user action "urn:user:dance"`},
		{"exclude All apps", func(p *Policy) { p.Conditions.Applications.ExcludeApplications = []string{"All"} }, "", `"All" is neither an app id nor Office365`},
		{"app filter", func(p *Policy) { p.Conditions.Applications.ApplicationFilter = []byte(`{"mode":"include","rule":"x"}`) }, "", "application filters are not supported"},
		{"client type", func(p *Policy) { p.Conditions.ClientAppTypes = []string{"legacy"} }, "", `unknown client app type "legacy"`},
		{"location typo", func(p *Policy) { p.Conditions.Locations = &LocationsCondition{IncludeLocations: []string{"Trusted"}} }, "", `"Trusted" is neither a named-location id`},
		{"exclude All locations", func(p *Policy) {
			p.Conditions.Locations = &LocationsCondition{IncludeLocations: []string{"All"}, ExcludeLocations: []string{"All"}}
		}, "", "excluding All locations"},
		{"exclude without include", func(p *Policy) {
			p.Conditions.Locations = &LocationsCondition{ExcludeLocations: []string{"AllTrusted"}}
		}, "", "excludeLocations needs includeLocations"},
		{"platform", func(p *Policy) { p.Conditions.Platforms = &PlatformsCondition{IncludePlatforms: []string{"beos"}} }, "", `unknown platform "beos"`},
		{"exclude all platforms", func(p *Policy) {
			p.Conditions.Platforms = &PlatformsCondition{IncludePlatforms: []string{"all"}, ExcludePlatforms: []string{"all"}}
		}, "", `excludePlatforms: unknown platform "all"`},
		{"device filter attribute", func(p *Policy) {
			p.Conditions.Devices = &DevicesCondition{DeviceFilter: &DeviceFilter{Mode: "include", Rule: `device.model -eq "Surface"`}}
		}, "", `the device attribute "device.model" is not supported`},
		{"device filter mode", func(p *Policy) {
			p.Conditions.Devices = &DevicesCondition{DeviceFilter: &DeviceFilter{Mode: "only", Rule: `device.isCompliant -eq True`}}
		}, "", `unknown mode "only"`},
		{"risk level", func(p *Policy) { p.Conditions.SignInRiskLevels = []string{"severe"} }, "", `unknown risk level "severe"`},
		{"unsupported condition", func(p *Policy) { p.Conditions.InsiderRiskLevels = []byte(`"elevated"`) }, "", "insiderRiskLevels is not supported"},
		{"no controls", func(p *Policy) { p.GrantControls = nil }, "", "needs grant controls or session controls"},
		{"empty controls", func(p *Policy) { p.GrantControls = &GrantControls{Operator: "OR"} }, "", "need at least one control"},
		{"null grant, session only", func(p *Policy) {
			p.GrantControls = &GrantControls{}
			p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 1, Type: "days"}}
		}, "", ""},
		{"operator", func(p *Policy) { p.GrantControls.Operator = "XOR" }, "", `unknown operator "XOR"`},
		{"operator needed", func(p *Policy) { p.GrantControls = &GrantControls{BuiltInControls: []string{"mfa", "compliantDevice"}} }, "", "operator is required"},
		{"one control, no operator", func(p *Policy) { p.GrantControls = &GrantControls{BuiltInControls: []string{"mfa"}} }, "", ""},
		{"unknown control", func(p *Policy) { p.GrantControls.BuiltInControls = []string{"fingerprint"} }, "", `unknown control "fingerprint"`},
		{"domain joined", func(p *Policy) { p.GrantControls.BuiltInControls = []string{"domainJoinedDevice"} }, "", "use a device filter on device.trustType"},
		{"block combined", func(p *Policy) { p.GrantControls.BuiltInControls = []string{"block", "mfa"} }, "", "block cannot be combined with other controls"},
		{"block with strength", func(p *Policy) {
			p.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}, AuthenticationStrength: &AuthenticationStrength{ID: StrengthMFAID}}
		}, "", "block cannot be combined"},
		{"custom strength", func(p *Policy) {
			p.GrantControls = &GrantControls{Operator: "OR", AuthenticationStrength: &AuthenticationStrength{ID: userAnna}}
		}, "", "is not a built-in authentication strength"},
		{"strength and mfa", func(p *Policy) { p.GrantControls.AuthenticationStrength = &AuthenticationStrength{ID: StrengthMFAID} }, "", "cannot be combined with mfa"},
		{"terms of use", func(p *Policy) { p.GrantControls.TermsOfUse = []byte(`["` + userAnna + `"]`) }, "", "terms of use are not supported"},
		{"password change alone", func(p *Policy) {
			p.Conditions.UserRiskLevels = []string{"high"}
			p.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"passwordChange"}}
		}, "", "passwordChange must be combined with mfa under the AND operator"},
		{"password change under OR", func(p *Policy) {
			p.Conditions.UserRiskLevels = []string{"high"}
			p.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"mfa", "passwordChange"}}
		}, "", "under the AND operator"},
		{"password change without user risk", func(p *Policy) {
			p.GrantControls = &GrantControls{Operator: "AND", BuiltInControls: []string{"mfa", "passwordChange"}}
		}, "", "must set userRiskLevels"},
		{"password change for one app", func(p *Policy) {
			p.Conditions.UserRiskLevels = []string{"high"}
			p.Conditions.Applications.IncludeApplications = []string{appCRM}
			p.GrantControls = &GrantControls{Operator: "AND", BuiltInControls: []string{"mfa", "passwordChange"}}
		}, "", "must target All applications"},
		{"password change, excluded app", func(p *Policy) {
			p.Conditions.UserRiskLevels = []string{"high"}
			p.Conditions.Applications.ExcludeApplications = []string{appCRM}
			p.GrantControls = &GrantControls{Operator: "AND", BuiltInControls: []string{"mfa", "passwordChange"}}
		}, "", "must target All applications"},
		{"password change, valid", func(p *Policy) {
			p.Conditions.UserRiskLevels = []string{"high"}
			p.GrantControls = &GrantControls{Operator: "AND", BuiltInControls: []string{"mfa", "passwordChange"}}
		}, "", ""},
		{"frequency hours", func(p *Policy) {
			p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 24, Type: "hours"}}
		}, "", "a frequency in hours must be 1 to 23, not 24"},
		{"frequency type", func(p *Policy) {
			p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 2, Type: "weeks"}}
		}, "", `unknown type "weeks"`},
		{"everyTime with value", func(p *Policy) {
			p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 2, Type: "hours", FrequencyInterval: "everyTime"}}
		}, "", "takes no value or type"},
		{"persistent browser mode", func(p *Policy) {
			p.SessionControls = &SessionControls{PersistentBrowser: &PersistentBrowser{IsEnabled: true, Mode: "sometimes"}}
		}, "", `unknown mode "sometimes"`},
		{"persistent browser for one app", func(p *Policy) {
			p.Conditions.Applications.IncludeApplications = []string{appCRM}
			p.SessionControls = &SessionControls{PersistentBrowser: &PersistentBrowser{IsEnabled: true, Mode: "never"}}
		}, "", "needs a policy that targets All applications"},
		{"cloud app security", func(p *Policy) {
			p.SessionControls = &SessionControls{CloudAppSecurity: []byte(`{"isEnabled":true,"cloudAppSecurityType":"monitorOnly"}`)}
		}, "", "cloudAppSecurity is not supported"},
		{"cloud app security off", func(p *Policy) {
			p.SessionControls = &SessionControls{CloudAppSecurity: []byte(`{"isEnabled":false}`)}
		}, "", ""},
		{"several problems", func(p *Policy) {
			p.State = "x"
			p.Conditions.ClientAppTypes = []string{"y"}
		}, "", "unknown client app type \"y\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := policyWith(t, "")
			if c.edit != nil {
				c.edit(&p)
			}
			err := p.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("no error, want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Message == "" {
					t.Fatalf("not a FieldError: %T", err)
				}
			}
		})
	}
}

func TestValidateNamedLocation(t *testing.T) {
	ip := func(ranges ...string) NamedLocation {
		l := NamedLocation{ODataType: ODataIPNamedLocation, DisplayName: "x"}
		for _, r := range ranges {
			l.IPRanges = append(l.IPRanges, IPRange{CIDRAddress: r})
		}
		return l
	}
	many := make([]string, MaxIPRanges+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
	}
	cases := []struct {
		name string
		l    NamedLocation
		want string
	}{
		{"ok", ip("192.0.2.0/24", "2001:db8::/32", "10.0.0.1/32"), ""},
		{"2000 ranges", ip(many[:MaxIPRanges]...), ""},
		{"2001 ranges", ip(many...), "at most 2000 ranges, not 2001"},
		{"/8", ip("10.0.0.0/8"), `"10.0.0.0/8" is too wide`},
		{"/0", ip("0.0.0.0/0"), "too wide"},
		{"IPv6 /8", ip("2000::/8"), "too wide"},
		{"/9", ip("10.0.0.0/9"), ""},
		{"malformed", ip("10.0.0.0/33"), `"10.0.0.0/33" is not a CIDR range`},
		{"garbage", ip("office"), `"office" is not a CIDR range`},
		{"no mask", ip("192.0.2.1"), "has no mask"},
		{"no ranges", ip(), "needs at least one IP range"},
		{"mapped", ip("::ffff:192.0.2.0/120"), "IPv4-mapped"},
		{"wrong family", NamedLocation{ODataType: ODataIPNamedLocation, DisplayName: "x",
			IPRanges: []IPRange{{ODataType: ODataIPv4CidrRange, CIDRAddress: "2001:db8::/32"}}}, "is not an IPv4 range"},
		{"wrong family 6", NamedLocation{ODataType: ODataIPNamedLocation, DisplayName: "x",
			IPRanges: []IPRange{{ODataType: ODataIPv6CidrRange, CIDRAddress: "10.1.0.0/16"}}}, "is not an IPv6 range"},
		{"range type", NamedLocation{ODataType: ODataIPNamedLocation, DisplayName: "x",
			IPRanges: []IPRange{{ODataType: "#microsoft.graph.ipRange", CIDRAddress: "10.1.0.0/16"}}}, "unknown range type"},
		{"country", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x", CountriesAndRegions: []string{"SE", "us"}}, ""},
		{"bad country", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x", CountriesAndRegions: []string{"SWE"}}, `"SWE" is not an ISO 3166`},
		{"no countries", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x"}, "needs at least one country"},
		{"unknown only", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x", IncludeUnknownCountriesAndRegions: true}, ""},
		{"gps", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x", CountriesAndRegions: []string{"SE"}, CountryLookupMethod: "authenticatorAppGps"}, "authenticatorAppGps is not supported"},
		{"trusted country", NamedLocation{ODataType: ODataCountryNamedLocation, DisplayName: "x", CountriesAndRegions: []string{"SE"}, IsTrusted: true}, "only IP named locations can be trusted"},
		{"no type", NamedLocation{DisplayName: "x"}, "@odata.type is required"},
		{"unknown type", NamedLocation{ODataType: "#microsoft.graph.namedLocation", DisplayName: "x"}, "unknown named location type"},
		{"no name", NamedLocation{ODataType: ODataCountryNamedLocation, CountriesAndRegions: []string{"SE"}}, "needs a display name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.l.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("no error, want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	locs := testLocations(t)
	ref := policyWith(t, `"locations":{"includeLocations":["d0000000-0000-4000-8000-00000000beef"]}`)
	if _, err := Compile([]Policy{ref}, locs); err == nil || !strings.Contains(err.Error(), "no named location has the id d0000000-0000-4000-8000-00000000beef") {
		t.Fatalf("unknown location: %v", err)
	}
	bad := policyWith(t, "")
	bad.DisplayName = "Broken"
	bad.State = "sometimes"
	if _, err := Compile([]Policy{bad}, nil); err == nil || !strings.Contains(err.Error(), `policy "Broken"`) {
		t.Fatalf("invalid policy: %v", err)
	}
	dup := append(testLocations(t), locs[0])
	if _, err := Compile(nil, dup); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("duplicate location: %v", err)
	}
	noID := locs[0]
	noID.ID = ""
	if _, err := Compile(nil, []NamedLocation{noID}); err == nil || !strings.Contains(err.Error(), "has no id") {
		t.Fatalf("location without id: %v", err)
	}
	// Ids are matched without regard to case.
	upper := policyWith(t, `"locations":{"includeLocations":["`+strings.ToUpper(locOffice)+`"]}`)
	if _, err := Compile([]Policy{upper}, locs); err != nil {
		t.Fatal(err)
	}
}
