package ca

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The example of graph-api.md §3, verbatim.
const specExample = `{"displayName":"Require MFA off-network","state":"enabledForReportingButNotEnforced",
 "conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},
   "users":{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]},
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
 "grantControls":{"operator":"OR","builtInControls":["mfa"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}}`

// A policy as Graph returns it, with the properties vakt does not use set
// to null.
const graphGet = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies/$entity",
  "id": "e0000000-0000-4000-8000-000000000001",
  "templateId": null,
  "displayName": "Require MFA for admins",
  "createdDateTime": "2026-01-02T03:04:05.678Z",
  "modifiedDateTime": null,
  "state": "enabled",
  "sessionControls": null,
  "conditions": {
    "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
    "platforms": null, "locations": null, "times": null, "deviceStates": null, "devices": null,
    "clientApplications": null, "authenticationFlows": null, "insiderRiskLevels": null,
    "applications": {"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": [],
      "includeAuthenticationContextClassReferences": [], "applicationFilter": null},
    "users": {"includeUsers": [], "excludeUsers": ["a0000000-0000-4000-8000-0000000000ff"], "includeGroups": [],
      "excludeGroups": [], "includeRoles": ["62e90394-69f5-4237-9190-012177145e10", "194ae4cb-b126-40b2-bd5b-6091b380977d"],
      "excludeRoles": [], "includeGuestsOrExternalUsers": null, "excludeGuestsOrExternalUsers": null}
  },
  "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [],
    "termsOfUse": [], "authenticationStrength": null}
}`

func TestDecodeGraphShapes(t *testing.T) {
	p := decodePolicy(t, specExample)
	if err := p.Validate(); err != nil {
		t.Fatalf("spec example: %v", err)
	}
	if p.State != StateReportOnly || p.Conditions.Locations.ExcludeLocations[0] != AllTrusted ||
		p.SessionControls.SignInFrequency.Value != 4 || p.SessionControls.SignInFrequency.Type != "hours" {
		t.Fatalf("decoded %+v", p)
	}
	q := decodePolicy(t, graphGet)
	if err := q.Validate(); err != nil {
		t.Fatalf("Graph GET body: %v", err)
	}
	if q.CreatedDateTime == nil || q.CreatedDateTime.Year() != 2026 || len(q.Conditions.Users.IncludeRoles) != 2 ||
		q.GrantControls.AuthenticationStrength != nil {
		t.Fatalf("decoded %+v", q)
	}
	// A round trip through Go keeps it valid and equal.
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	r := decodePolicy(t, string(b))
	if err := r.Validate(); err != nil || r.DisplayName != q.DisplayName || !slices.Equal(r.Conditions.Users.IncludeRoles, q.Conditions.Users.IncludeRoles) {
		t.Fatalf("round trip: %v %s", err, b)
	}
}

func TestNamedLocationShapes(t *testing.T) {
	ls := testLocations(t)
	for i := range ls {
		if err := ls[i].Validate(); err != nil {
			t.Fatalf("%s: %v", ls[i].DisplayName, err)
		}
	}
	if ls[0].Kind() != LocationIP || ls[2].Kind() != LocationCountry {
		t.Fatal("kinds")
	}
	ipJSON, _ := json.Marshal(ls[0])
	if !strings.Contains(string(ipJSON), `"@odata.type":"#microsoft.graph.ipNamedLocation"`) || strings.Contains(string(ipJSON), "countries") ||
		!strings.Contains(string(ipJSON), `"isTrusted":true`) {
		t.Fatalf("ip location JSON %s", ipJSON)
	}
	cJSON, _ := json.Marshal(ls[3])
	if !strings.Contains(string(cJSON), `"countryLookupMethod":"clientIpAddress"`) || strings.Contains(string(cJSON), "ipRanges") ||
		strings.Contains(string(cJSON), "isTrusted") || !strings.Contains(string(cJSON), `"includeUnknownCountriesAndRegions":true`) {
		t.Fatalf("country location JSON %s", cJSON)
	}
	var back NamedLocation
	if err := json.Unmarshal(cJSON, &back); err != nil || back.Validate() != nil || back.Kind() != LocationCountry {
		t.Fatalf("round trip %v", err)
	}
	// Without @odata.type the kind is inferred.
	var inferred NamedLocation
	_ = json.Unmarshal([]byte(`{"displayName":"x","ipRanges":[{"cidrAddress":"10.1.0.0/16"}]}`), &inferred)
	if inferred.Kind() != LocationIP || inferred.Validate() != nil {
		t.Fatal("inferred ip location")
	}
}

func TestRawSet(t *testing.T) {
	for in, want := range map[string]bool{
		``: false, `null`: false, `false`: false, `[]`: false, `[ ]`: false, `{}`: false, `""`: false,
		`{"isEnabled":false,"mode":"x"}`: false, `{"isEnabled":true}`: true, `["x"]`: true, `true`: true, `{"a":1}`: true, `[`: true,
	} {
		if got := rawSet(json.RawMessage(in)); got != want {
			t.Errorf("rawSet(%s) = %v", in, got)
		}
	}
}
