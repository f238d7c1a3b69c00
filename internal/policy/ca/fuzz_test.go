package ca

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/vakt-id/vakt/internal/policy"
)

// FuzzCompile compiles arbitrary JSON-decoded policies and locations and
// evaluates what compiles: nothing may panic.
func FuzzCompile(f *testing.F) {
	locs, _ := json.Marshal(testLocations(f))
	f.Add(`[`+specExample+`]`, string(locs))
	f.Add(`[`+graphGet+`]`, `[]`)
	for _, tp := range Templates() {
		b, _ := json.Marshal([]Policy{tp.Policy})
		f.Add(string(b), string(locs))
	}
	f.Add(`[{"displayName":"x","state":"enabled","conditions":{"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
		"locations":{"includeLocations":["`+locOffice+`"],"excludeLocations":["AllTrusted"]},"platforms":{"includePlatforms":["all"],"excludePlatforms":["iOS"]},
		"devices":{"deviceFilter":{"mode":"exclude","rule":"device.isCompliant -eq True -or (device.trustType -eq \"AzureAD\")"}},
		"signInRiskLevels":["high"],"userRiskLevels":["low"]},
		"grantControls":{"operator":"AND","builtInControls":["compliantDevice"],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}},
		"sessionControls":{"persistentBrowser":{"isEnabled":true,"mode":"never"}}}]`, string(locs))
	f.Add(`[{"displayName":"y","state":"enabled","conditions":null,"grantControls":{"builtInControls":["passwordChange"]}}]`, `[{"ipRanges":[{"cidrAddress":"::/0"}]}]`)
	f.Add(`[null]`, `[null]`)

	inputs := []Input{
		baseInput(),
		{UserID: userBo, Guest: true, Client: policy.ClientOther, IP: netip.MustParseAddr("2001:db8:abcd::5"), Platform: "iOS", SignInRisk: policy.RiskHigh, UserRisk: 9},
		{Roles: []string{globalAdmin}, AdminSurface: true, UserAction: UserActionRegisterSecurityInfo, Country: "KP", Compliant: true, TrustType: "AzureAD", SignInRisk: -1},
	}
	f.Fuzz(func(t *testing.T, policiesJSON, locationsJSON string) {
		var ps []Policy
		var ls []NamedLocation
		if json.Unmarshal([]byte(policiesJSON), &ps) != nil || json.Unmarshal([]byte(locationsJSON), &ls) != nil {
			return
		}
		for i := range ps {
			_ = ps[i].Validate()
		}
		for i := range ls {
			_ = ls[i].Validate()
		}
		s, err := Compile(ps, ls)
		if err != nil {
			if s != nil {
				t.Fatal("set with error")
			}
			return
		}
		var res []Result
		for _, in := range inputs {
			var out Outcome
			out, res = s.Evaluate(in, res)
			if len(res) != len(ps) {
				t.Fatalf("%d results for %d policies", len(res), len(ps))
			}
			n := 0
			for _, r := range res {
				if r.Applied && r.State == StateEnabled && len(r.GrantControls) > 0 {
					n++
				}
				if r.Applied != (r.FailedCondition == "") {
					t.Fatalf("result %+v", r)
				}
			}
			if n != len(out.Grants) {
				t.Fatalf("%d grants for %d applied enforced policies", len(out.Grants), n)
			}
			_ = LogResults(res, func(policy.Grant) bool { return false }, true)
		}
	})
}
