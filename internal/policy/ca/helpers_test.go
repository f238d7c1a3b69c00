package ca

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"

	"github.com/vakt-id/vakt/internal/policy"
)

// Ids used across the tests.
const (
	userAnna   = "a0000000-0000-4000-8000-000000000001"
	userBo     = "a0000000-0000-4000-8000-000000000002"
	userBreak  = "a0000000-0000-4000-8000-0000000000ff"
	groupSales = "b0000000-0000-4000-8000-000000000001"
	groupAll   = "b0000000-0000-4000-8000-000000000002"
	groupNest  = "b0000000-0000-4000-8000-000000000003"
	appCRM     = "c0000000-0000-4000-8000-000000000001"
	appWiki    = "c0000000-0000-4000-8000-000000000002"
	locOffice  = "d0000000-0000-4000-8000-000000000001"
	locVPN6    = "d0000000-0000-4000-8000-000000000002"
	locNordics = "d0000000-0000-4000-8000-000000000003"
	locBlocked = "d0000000-0000-4000-8000-000000000004"
	policyID   = "e0000000-0000-4000-8000-000000000001"
)

const globalAdmin = "62e90394-69f5-4237-9190-012177145e10"

func decodePolicy(t testing.TB, js string) Policy {
	t.Helper()
	var p Policy
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return p
}

// policyWith builds an enabled MFA policy for everyone and every app,
// with the conditions overridden by the JSON members in conds (e.g.
// `"users":{…}`).
func policyWith(t testing.TB, conds string) Policy {
	t.Helper()
	base := `"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},"clientAppTypes":["all"]`
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte("{"+base+"}"), &m); err != nil {
		t.Fatal(err)
	}
	if conds != "" {
		if err := json.Unmarshal([]byte("{"+conds+"}"), &m); err != nil {
			t.Fatalf("conds %s: %v", conds, err)
		}
	}
	c, _ := json.Marshal(m)
	return decodePolicy(t, fmt.Sprintf(`{"id":%q,"displayName":"test","state":"enabled","conditions":%s,
		"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`, policyID, c))
}

func testLocations(t testing.TB) []NamedLocation {
	t.Helper()
	var ls []NamedLocation
	js := `[
	 {"@odata.type":"#microsoft.graph.ipNamedLocation","id":"` + locOffice + `","displayName":"Office","isTrusted":true,
	  "ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"192.0.2.0/24"},
	              {"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.16/28"}]},
	 {"@odata.type":"#microsoft.graph.ipNamedLocation","id":"` + locVPN6 + `","displayName":"VPN v6","isTrusted":true,
	  "ipRanges":[{"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8:abcd::/48"}]},
	 {"@odata.type":"#microsoft.graph.countryNamedLocation","id":"` + locNordics + `","displayName":"Nordics",
	  "countriesAndRegions":["SE","NO","DK","FI","IS"],"includeUnknownCountriesAndRegions":false,"countryLookupMethod":"clientIpAddress"},
	 {"@odata.type":"#microsoft.graph.countryNamedLocation","id":"` + locBlocked + `","displayName":"Blocked or unknown",
	  "countriesAndRegions":["KP"],"includeUnknownCountriesAndRegions":true}
	]`
	if err := json.Unmarshal([]byte(js), &ls); err != nil {
		t.Fatal(err)
	}
	return ls
}

func mustCompile(t testing.TB, ps []Policy, ls []NamedLocation) *Set {
	t.Helper()
	s, err := Compile(ps, ls)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// baseInput is Anna, a member, signing in to the CRM from the office.
func baseInput() Input {
	return Input{UserID: userAnna, Groups: []string{groupSales, groupAll}, AppID: appCRM,
		Client: policy.ClientBrowser, IP: netip.MustParseAddr("192.0.2.10"), Country: "SE", Platform: "windows"}
}
