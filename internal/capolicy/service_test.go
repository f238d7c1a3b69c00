package capolicy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var (
	ctx = context.Background()
	op  = directory.Actor{Operator: true}
)

// samplePolicy is the sample of graph-api.md §3, verbatim.
const samplePolicy = `{"displayName":"Require MFA off-network","state":"enabledForReportingButNotEnforced",
 "conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},
   "users":{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]},
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
 "grantControls":{"operator":"OR","builtInControls":["mfa"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}}`

// sampleCanonical is the sample as stored, without the server's properties.
const sampleCanonical = `{"displayName":"Require MFA off-network","description":null,"templateId":null,
 "state":"enabledForReportingButNotEnforced",
 "conditions":{"users":{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"],"includeGroups":[],"excludeGroups":[],"includeRoles":[],"excludeRoles":[]},
   "applications":{"includeApplications":["All"],"excludeApplications":[],"includeUserActions":[]},
   "clientAppTypes":["all"],
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]},
   "platforms":null,"devices":null,"signInRiskLevels":[],"userRiskLevels":[]},
 "grantControls":{"operator":"OR","builtInControls":["mfa"],"authenticationStrength":null},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased",
   "authenticationType":"primaryAndSecondaryAuthentication"},"persistentBrowser":null}}`

// sd is a switchable security defaults.
type sd struct {
	mu sync.Mutex
	on bool
}

func (s *sd) SecurityDefaultsEnabled(context.Context, string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on, nil
}

func (s *sd) set(on bool) { s.mu.Lock(); s.on = on; s.mu.Unlock() }

type fix struct {
	st     store.Store
	ca     store.ConditionalAccess
	svc    *capolicy.Service
	sd     *sd
	tenant string
	user   store.User
	group  store.Group
}

func forEachBackend(t *testing.T, fn func(t *testing.T, f *fix)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			tn := storetest.NewTenant(t, st)
			f := &fix{st: st, ca: st.(store.ConditionalAccess), sd: &sd{}, tenant: tn.ID}
			f.svc = &capolicy.Service{Store: st, SecurityDefaults: f.sd}
			f.user = storetest.NewUser(t, st, tn.ID, "alice@contoso.com")
			f.group = storetest.NewGroup(t, st, tn.ID, "Finance")
			fn(t, f)
		})
	}
}

// canonical re-encodes JSON so that equal documents compare equal.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func docOf(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withoutServer drops the server-set properties.
func withoutServer(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "id" && k != "createdDateTime" && k != "modifiedDateTime" {
			out[k] = v
		}
	}
	return out
}

// snapshot is what a refused write must not change.
func (f *fix) snapshot(t *testing.T) string {
	t.Helper()
	ps, err := f.ca.ListCAPolicies(ctx, f.tenant, store.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := f.ca.ListNamedLocations(ctx, f.tenant, store.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.st.ListAudits(ctx, f.tenant, store.ListQuery{Limit: 1, WantCount: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range ps.Items {
		fmt.Fprintf(&b, "%s|%s|%v|%s\n", p.ID, p.State, p.LocationIDs, p.Doc)
	}
	for _, l := range ls.Items {
		fmt.Fprintf(&b, "%s|%s\n", l.ID, l.Doc)
	}
	fmt.Fprintf(&b, "audits=%d", a.Count)
	return b.String()
}

func wantKind(t *testing.T, what string, err error, kind apperr.Kind, target string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind {
		t.Fatalf("%s: error %v, want kind %d", what, err, kind)
	}
	if target != "" && e.Target != target {
		t.Errorf("%s: target %q, want %q (%s)", what, e.Target, target, e.Message)
	}
}

func (f *fix) location(t *testing.T, body string) store.NamedLocation {
	t.Helper()
	l, err := f.svc.CreateNamedLocation(ctx, op, f.tenant, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const officeBody = `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,
	"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},
	            {"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8::/48"}]}`

func TestSamplePolicyRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		f.svc.Now = func() time.Time { return now }
		p, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(samplePolicy))
		if err != nil {
			t.Fatal(err)
		}
		if p.State != capolicy.StateReportOnly || p.DisplayName != "Require MFA off-network" || !p.CreatedAt.Equal(now) || len(p.LocationIDs) != 0 {
			t.Fatalf("created %+v", p)
		}
		doc := docOf(t, p.Doc)
		if doc["id"] != p.ID || doc["createdDateTime"] != "2025-03-01T10:00:00Z" || doc["modifiedDateTime"] != "2025-03-01T10:00:00Z" {
			t.Errorf("server properties %v %v %v", doc["id"], doc["createdDateTime"], doc["modifiedDateTime"])
		}
		got, _ := json.Marshal(withoutServer(doc))
		if canonical(t, got) != canonical(t, []byte(sampleCanonical)) {
			t.Errorf("stored\n%s\nwant\n%s", got, canonical(t, []byte(sampleCanonical)))
		}
		again, err := f.svc.Policy(ctx, f.tenant, p.ID)
		if err != nil || string(again.Doc) != string(p.Doc) {
			t.Fatalf("Policy: %v %s", err, again.Doc)
		}
		// The canonical document is accepted back as is (GET, then POST).
		p2, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(sampleCanonical))
		if err != nil {
			t.Fatal(err)
		}
		got2, _ := json.Marshal(withoutServer(docOf(t, p2.Doc)))
		if string(got2) != string(got) {
			t.Errorf("canonical POSTed back:\n%s\nwant\n%s", got2, got)
		}
		// A GET-modify-PATCH round trip with the server's properties works.
		doc["description"] = "round trip"
		body, _ := json.Marshal(doc)
		later := now.Add(time.Hour)
		f.svc.Now = func() time.Time { return later }
		up, err := f.svc.UpdatePolicy(ctx, op, f.tenant, p.ID, body)
		if err != nil {
			t.Fatal(err)
		}
		ud := docOf(t, up.Doc)
		if ud["description"] != "round trip" || ud["createdDateTime"] != "2025-03-01T10:00:00Z" || ud["modifiedDateTime"] != "2025-03-01T11:00:00Z" {
			t.Errorf("after round trip %v", ud)
		}
		all, err := f.svc.AllPolicies(ctx, f.tenant)
		if err != nil || len(all) != 2 {
			t.Fatalf("AllPolicies: %d, %v", len(all), err)
		}
	})
}

func TestPolicyValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		office := f.location(t, officeBody)
		other := storetest.NewTenant(t, f.st)
		foreignUser := storetest.NewUser(t, f.st, other.ID, "mallory@fabrikam.com")
		foreignGroup := storetest.NewGroup(t, f.st, other.ID, "Elsewhere")
		otherSvc := &capolicy.Service{Store: f.st}
		foreignLoc, err := otherSvc.CreateNamedLocation(ctx, op, other.ID, []byte(officeBody))
		if err != nil {
			t.Fatal(err)
		}
		// base builds a valid policy with one part replaced.
		base := func(kv ...string) string {
			parts := map[string]string{
				"displayName": `"P"`, "state": `"disabled"`,
				"users":          `{"includeUsers":["All"]}`,
				"applications":   `{"includeApplications":["All"]}`,
				"clientAppTypes": `["all"]`, "extraCond": ``, "grantControls": `{"operator":"OR","builtInControls":["mfa"]}`,
				"extra": ``,
			}
			for i := 0; i+1 < len(kv); i += 2 {
				parts[kv[i]] = kv[i+1]
			}
			s := `{"displayName":` + parts["displayName"] + `,"state":` + parts["state"] + `,"conditions":{"users":` + parts["users"] +
				`,"applications":` + parts["applications"] + `,"clientAppTypes":` + parts["clientAppTypes"] + parts["extraCond"] +
				`},"grantControls":` + parts["grantControls"] + parts["extra"] + `}`
			return s
		}
		if _, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(base())); err != nil {
			t.Fatalf("base policy: %v", err)
		}
		cases := []struct {
			name, body, target string
		}{
			{"not JSON", `{"displayName":`, ""},
			{"an array", `[]`, ""},
			{"unknown property", base("extra", `,"colour":"red"`), "colour"},
			{"read-only id", base("extra", `,"id":"x"`), "id"},
			{"read-only createdDateTime", base("extra", `,"createdDateTime":"2020-01-01T00:00:00Z"`), "createdDateTime"},
			{"wrong @odata.type", base("extra", `,"@odata.type":"#microsoft.graph.user"`), "@odata.type"},
			{"missing displayName", base("displayName", `null`), "displayName"},
			{"empty displayName", base("displayName", `"  "`), "displayName"},
			{"displayName a number", base("displayName", `5`), "displayName"},
			{"long displayName", base("displayName", `"`+strings.Repeat("x", 257)+`"`), "displayName"},
			{"missing state", base("state", `null`), "state"},
			{"bad state", base("state", `"on"`), "state"},
			{"state wrong case", base("state", `"Enabled"`), "state"},
			{"missing conditions", `{"displayName":"P","state":"disabled"}`, "conditions"},
			{"conditions a string", `{"displayName":"P","state":"disabled","conditions":"all"}`, "conditions"},
			{"missing users", base("users", `null`), "conditions.users"},
			{"unknown users property", base("users", `{"includeUsers":["All"],"includeGuestsOrExternalUsers":null}`), "conditions.users.includeGuestsOrExternalUsers"},
			{"includeUsers a string", base("users", `{"includeUsers":"All"}`), "conditions.users.includeUsers"},
			{"includeUsers a number", base("users", `{"includeUsers":[1]}`), "conditions.users.includeUsers[0]"},
			{"nobody included", base("users", `{"excludeUsers":["GuestsOrExternalUsers"]}`), "conditions.users"},
			{"user not a GUID", base("users", `{"includeUsers":["alice"]}`), "conditions.users.includeUsers"},
			{"All with others", base("users", `{"includeUsers":["All","`+f.user.ID+`"]}`), "conditions.users.includeUsers"},
			{"exclude All", base("users", `{"includeUsers":["All"],"excludeUsers":["All"]}`), "conditions.users.excludeUsers"},
			{"unknown user", base("users", `{"includeUsers":["0d3b8a36-9a0c-4a39-8c43-3d1a4ee9b7b2"]}`), "conditions.users.includeUsers"},
			{"another tenant's user", base("users", `{"includeUsers":["`+foreignUser.ID+`"]}`), "conditions.users.includeUsers"},
			{"a group as a user", base("users", `{"includeUsers":["`+f.group.ID+`"]}`), "conditions.users.includeUsers"},
			{"a user as a group", base("users", `{"includeGroups":["`+f.user.ID+`"]}`), "conditions.users.includeGroups"},
			{"another tenant's group", base("users", `{"includeUsers":["All"],"excludeGroups":["`+foreignGroup.ID+`"]}`), "conditions.users.excludeGroups"},
			{"unknown role", base("users", `{"includeRoles":["0d3b8a36-9a0c-4a39-8c43-3d1a4ee9b7b2"]}`), "conditions.users.includeRoles"},
			{"missing applications", base("applications", `null`), "conditions.applications"},
			{"no applications", base("applications", `{}`), "conditions.applications"},
			{"apps and actions", base("applications", `{"includeApplications":["All"],"includeUserActions":["urn:user:registerdevice"]}`), "conditions.applications"},
			{"bad user action", base("applications", `{"includeUserActions":["urn:user:everything"]}`), "conditions.applications.includeUserActions"},
			{"bad application", base("applications", `{"includeApplications":["Outlook"]}`), "conditions.applications.includeApplications"},
			{"missing clientAppTypes", base("clientAppTypes", `null`), "conditions.clientAppTypes"},
			{"empty clientAppTypes", base("clientAppTypes", `[]`), "conditions.clientAppTypes"},
			{"bad clientAppType", base("clientAppTypes", `["legacy"]`), "conditions.clientAppTypes"},
			{"bad platform", base("extraCond", `,"platforms":{"includePlatforms":["beos"]}`), "conditions.platforms.includePlatforms"},
			{"platforms without include", base("extraCond", `,"platforms":{"excludePlatforms":["iOS"]}`), "conditions.platforms.includePlatforms"},
			{"bad risk level", base("extraCond", `,"signInRiskLevels":["severe"]`), "conditions.signInRiskLevels"},
			{"unknownFutureValue risk", base("extraCond", `,"userRiskLevels":["unknownFutureValue"]`), "conditions.userRiskLevels"},
			{"bad filter mode", base("extraCond", `,"devices":{"deviceFilter":{"mode":"maybe","rule":"device.isCompliant -eq True"}}`), "conditions.devices.deviceFilter.mode"},
			{"filter without rule", base("extraCond", `,"devices":{"deviceFilter":{"mode":"include"}}`), "conditions.devices.deviceFilter.rule"},
			{"location not a GUID", base("extraCond", `,"locations":{"includeLocations":["Office"]}`), "conditions.locations.includeLocations"},
			{"unknown location", base("extraCond", `,"locations":{"includeLocations":["0d3b8a36-9a0c-4a39-8c43-3d1a4ee9b7b2"]}`), "conditions.locations"},
			{"another tenant's location", base("extraCond", `,"locations":{"includeLocations":["All"],"excludeLocations":["`+foreignLoc.ID+`"]}`), "conditions.locations"},
			{"locations without include", base("extraCond", `,"locations":{"excludeLocations":["`+office.ID+`"]}`), "conditions.locations.includeLocations"},
			{"bad operator", base("grantControls", `{"operator":"XOR","builtInControls":["mfa"]}`), "grantControls.operator"},
			{"bad control", base("grantControls", `{"builtInControls":["mfa","prayer"]}`), "grantControls.builtInControls"},
			{"no control", base("grantControls", `{"operator":"OR","builtInControls":[]}`), "grantControls"},
			{"block with mfa", base("grantControls", `{"operator":"OR","builtInControls":["block","mfa"]}`), "grantControls.builtInControls"},
			{"terms of use", base("grantControls", `{"builtInControls":["mfa"],"termsOfUse":[]}`), "grantControls.termsOfUse"},
			{"bad strength", base("grantControls", `{"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000009"}}`), "grantControls.authenticationStrength.id"},
			{"passwordChange alone", base("grantControls", `{"operator":"OR","builtInControls":["passwordChange"]}`), "grantControls.builtInControls"},
			{"passwordChange without user risk", base("grantControls", `{"operator":"AND","builtInControls":["mfa","passwordChange"]}`), "conditions.userRiskLevels"},
			{"passwordChange for some apps", base("grantControls", `{"operator":"AND","builtInControls":["mfa","passwordChange"]}`,
				"extraCond", `,"userRiskLevels":["high"]`, "applications", `{"includeApplications":["Office365"]}`), "conditions.applications.includeApplications"},
			{"frequency type", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"weeks"}}`), "sessionControls.signInFrequency.type"},
			{"frequency value text", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":"4","type":"hours"}}`), "sessionControls.signInFrequency.value"},
			{"frequency value fraction", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":1.5,"type":"hours"}}`), "sessionControls.signInFrequency.value"},
			{"frequency 24 hours", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":24,"type":"hours"}}`), "sessionControls.signInFrequency.value"},
			{"frequency without type", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":4}}`), "sessionControls.signInFrequency"},
			{"frequency without isEnabled", base("extra", `,"sessionControls":{"signInFrequency":{"value":4,"type":"hours"}}`), "sessionControls.signInFrequency.isEnabled"},
			{"everyTime with value", base("extra", `,"sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"everyTime"}}`), "sessionControls.signInFrequency"},
			{"browser mode", base("extra", `,"sessionControls":{"persistentBrowser":{"isEnabled":true,"mode":"sometimes"}}`), "sessionControls.persistentBrowser.mode"},
			{"cloud app security", base("extra", `,"sessionControls":{"cloudAppSecurity":null}`), "sessionControls.cloudAppSecurity"},
		}
		before := f.snapshot(t)
		for _, c := range cases {
			_, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(c.body))
			wantKind(t, c.name, err, apperr.Invalid, c.target)
		}
		if f.snapshot(t) != before {
			t.Error("a refused create wrote something")
		}
		// The same through PATCH of the base policy.
		all, _ := f.svc.AllPolicies(ctx, f.tenant)
		for _, c := range []struct{ name, body, target string }{
			{"unknown property", `{"colour":"red"}`, "colour"},
			{"null displayName", `{"displayName":null}`, "displayName"},
			{"bad state", `{"state":"on"}`, "state"},
			{"null conditions", `{"conditions":null}`, "conditions"},
			{"null users", `{"conditions":{"users":null}}`, "conditions.users"},
			{"other id", `{"id":"00000000-0000-0000-0000-000000000001"}`, "id"},
			{"unknown location", `{"conditions":{"locations":{"includeLocations":["0d3b8a36-9a0c-4a39-8c43-3d1a4ee9b7b2"]}}}`, "conditions.locations"},
		} {
			_, err := f.svc.UpdatePolicy(ctx, op, f.tenant, all[0].ID, []byte(c.body))
			wantKind(t, "PATCH "+c.name, err, apperr.Invalid, c.target)
		}
		if f.snapshot(t) != before {
			t.Error("a refused update wrote something")
		}
		_, err = f.svc.UpdatePolicy(ctx, op, f.tenant, "0d3b8a36-9a0c-4a39-8c43-3d1a4ee9b7b2", []byte(`{"state":"disabled"}`))
		wantKind(t, "PATCH unknown policy", err, apperr.NotFound, "")
		_, err = f.svc.Policy(ctx, other.ID, all[0].ID)
		wantKind(t, "another tenant's policy", err, apperr.NotFound, "")
		wantKind(t, "delete another tenant's policy", f.svc.DeletePolicy(ctx, op, other.ID, all[0].ID), apperr.NotFound, "")

		// Valid variations: special values in any case become canonical,
		// ids lower case; the references are kept.
		body := `{"displayName":"Admins","state":"disabled","conditions":{"clientAppTypes":["browser","mobileAppsAndDesktopClients"],
			"users":{"includeUsers":["` + strings.ToUpper(f.user.ID) + `","guestsorexternalusers"],"includeGroups":["` + f.group.ID + `"],
				"includeRoles":["62E90394-69F5-4237-9190-012177145E10"],"excludeUsers":[]},
			"applications":{"includeApplications":["office365"],"excludeApplications":["MicrosoftAdminPortals"]},
			"locations":{"includeLocations":["all"],"excludeLocations":["` + office.ID + `","AllTrusted"]},
			"platforms":{"includePlatforms":["all"],"excludePlatforms":["linux"]},
			"devices":{"deviceFilter":{"mode":"exclude","rule":"device.isCompliant -eq True"}},
			"signInRiskLevels":["medium","high"]},
			"grantControls":{"operator":"AND","builtInControls":["compliantDevice"],"authenticationStrength":{"id":"00000000-0000-0000-0000-000000000004"}},
			"sessionControls":{"signInFrequency":{"isEnabled":true,"frequencyInterval":"everyTime","authenticationType":"secondaryAuthentication"}}}`
		p, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		doc := docOf(t, p.Doc)
		cond := doc["conditions"].(map[string]any)
		users := cond["users"].(map[string]any)
		if fmt.Sprint(users["includeUsers"]) != fmt.Sprintf("[%s GuestsOrExternalUsers]", f.user.ID) ||
			fmt.Sprint(users["includeRoles"]) != "[62e90394-69f5-4237-9190-012177145e10]" {
			t.Errorf("users %v", users)
		}
		if fmt.Sprint(cond["applications"]) != "map[excludeApplications:[MicrosoftAdminPortals] includeApplications:[Office365] includeUserActions:[]]" {
			t.Errorf("applications %v", cond["applications"])
		}
		if fmt.Sprint(cond["locations"]) != fmt.Sprintf("map[excludeLocations:[%s AllTrusted] includeLocations:[All]]", office.ID) {
			t.Errorf("locations %v", cond["locations"])
		}
		if len(p.LocationIDs) != 1 || p.LocationIDs[0] != office.ID {
			t.Errorf("location ids %v", p.LocationIDs)
		}
		// linux is an evolvable member: shown only when asked for.
		shown, _ := capolicy.Render(p.Doc, false)
		if pl := shown["conditions"].(map[string]any)["platforms"].(map[string]any); fmt.Sprint(pl["excludePlatforms"]) != "[unknownFutureValue]" {
			t.Errorf("platforms without Prefer %v", pl)
		}
		shown, _ = capolicy.Render(p.Doc, true)
		if pl := shown["conditions"].(map[string]any)["platforms"].(map[string]any); fmt.Sprint(pl["excludePlatforms"]) != "[linux]" {
			t.Errorf("platforms with Prefer %v", pl)
		}
	})
}

func TestPolicyPatchMerge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		p, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(samplePolicy))
		if err != nil {
			t.Fatal(err)
		}
		audits := func() int {
			a, _ := f.st.ListAudits(ctx, f.tenant, store.ListQuery{Limit: 1, WantCount: true})
			return a.Count
		}
		n := audits()
		// Objects merge, lists replace.
		up, err := f.svc.UpdatePolicy(ctx, op, f.tenant, p.ID, []byte(`{"conditions":{"users":{"excludeUsers":["`+f.user.ID+`"],"includeGroups":["`+f.group.ID+`"]}},
			"sessionControls":{"signInFrequency":{"value":8}}}`))
		if err != nil {
			t.Fatal(err)
		}
		doc := docOf(t, up.Doc)
		users := doc["conditions"].(map[string]any)["users"].(map[string]any)
		if fmt.Sprint(users["includeUsers"]) != "[All]" || fmt.Sprint(users["excludeUsers"]) != "["+f.user.ID+"]" ||
			fmt.Sprint(users["includeGroups"]) != "["+f.group.ID+"]" {
			t.Errorf("merged users %v", users)
		}
		if loc := doc["conditions"].(map[string]any)["locations"]; fmt.Sprint(loc) != "map[excludeLocations:[AllTrusted] includeLocations:[All]]" {
			t.Errorf("untouched locations %v", loc)
		}
		if fr := doc["sessionControls"].(map[string]any)["signInFrequency"].(map[string]any); fmt.Sprint(fr["value"]) != "8" || fr["type"] != "hours" {
			t.Errorf("merged frequency %v", fr)
		}
		if audits() != n+1 {
			t.Errorf("audits %d, want %d", audits(), n+1)
		}
		// null resets a property to its default.
		up, err = f.svc.UpdatePolicy(ctx, op, f.tenant, p.ID, []byte(`{"sessionControls":null,"conditions":{"locations":null}}`))
		if err != nil {
			t.Fatal(err)
		}
		doc = docOf(t, up.Doc)
		if doc["sessionControls"] != nil || doc["conditions"].(map[string]any)["locations"] != nil {
			t.Errorf("after null: %v", doc)
		}
		// A PATCH that changes nothing writes nothing.
		n = audits()
		same, err := f.svc.UpdatePolicy(ctx, op, f.tenant, p.ID, []byte(`{"state":"enabledForReportingButNotEnforced","conditions":{"clientAppTypes":["all"]}}`))
		if err != nil {
			t.Fatal(err)
		}
		if audits() != n || string(same.Doc) != string(up.Doc) {
			t.Error("a PATCH without change wrote")
		}
		if err := f.svc.DeletePolicy(ctx, op, f.tenant, p.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Policy(ctx, f.tenant, p.ID)
		wantKind(t, "deleted policy", err, apperr.NotFound, "")
		wantKind(t, "delete again", f.svc.DeletePolicy(ctx, op, f.tenant, p.ID), apperr.NotFound, "")
	})
}

func TestNamedLocations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		l := f.location(t, officeBody)
		if l.Kind != store.NamedLocationIP {
			t.Fatalf("kind %q", l.Kind)
		}
		doc := docOf(t, l.Doc)
		delete(doc, "createdDateTime")
		delete(doc, "modifiedDateTime")
		want := fmt.Sprintf(`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","id":%q,"ipRanges":[
			{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},
			{"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8::/48"}],"isTrusted":true}`, l.ID)
		got, _ := json.Marshal(doc)
		if canonical(t, got) != canonical(t, []byte(want)) {
			t.Errorf("ip location %s", got)
		}
		c := f.location(t, `{"@odata.type":"microsoft.graph.countryNamedLocation","displayName":"Nordics","countriesAndRegions":["se","NO","FI"]}`)
		doc = docOf(t, c.Doc)
		if fmt.Sprint(doc["countriesAndRegions"]) != "[SE NO FI]" || doc["includeUnknownCountriesAndRegions"] != false ||
			doc["countryLookupMethod"] != "clientIpAddress" || doc["@odata.type"] != "#microsoft.graph.countryNamedLocation" {
			t.Errorf("country location %v", doc)
		}

		ranges := func(n int, cidr func(i int) string) string {
			parts := make([]string, n)
			for i := range parts {
				parts[i] = `{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"` + cidr(i) + `"}`
			}
			return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Many","ipRanges":[` + strings.Join(parts, ",") + `]}`
		}
		v4 := func(i int) string { return fmt.Sprintf("10.%d.%d.0/24", i/256, i%256) }
		f.location(t, ranges(capolicy.MaxIPRanges, v4))

		ip := func(typ, cidr string) string {
			return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","ipRanges":[{"@odata.type":"#microsoft.graph.` + typ + `","cidrAddress":"` + cidr + `"}]}`
		}
		before := f.snapshot(t)
		for _, c := range []struct{ name, body, target string }{
			{"no @odata.type", `{"displayName":"X","ipRanges":[]}`, "@odata.type"},
			{"wrong @odata.type", `{"@odata.type":"#microsoft.graph.namedLocation","displayName":"X"}`, "@odata.type"},
			{"no displayName", `{"@odata.type":"#microsoft.graph.ipNamedLocation","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`, "displayName"},
			{"no ranges", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X"}`, "ipRanges"},
			{"empty ranges", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","ipRanges":[]}`, "ipRanges"},
			{"too many ranges", ranges(capolicy.MaxIPRanges+1, v4), "ipRanges"},
			{"/8", ip("iPv4CidrRange", "10.0.0.0/8"), "ipRanges[0].cidrAddress"},
			{"/0", ip("iPv4CidrRange", "0.0.0.0/0"), "ipRanges[0].cidrAddress"},
			{"IPv6 /8", ip("iPv6CidrRange", "2000::/8"), "ipRanges[0].cidrAddress"},
			{"no mask", ip("iPv4CidrRange", "203.0.113.7"), "ipRanges[0].cidrAddress"},
			{"bad address", ip("iPv4CidrRange", "203.0.113.300/24"), "ipRanges[0].cidrAddress"},
			{"mask 33", ip("iPv4CidrRange", "203.0.113.0/33"), "ipRanges[0].cidrAddress"},
			{"host bits", ip("iPv4CidrRange", "203.0.113.7/24"), "ipRanges[0].cidrAddress"},
			{"IPv6 as IPv4", ip("iPv4CidrRange", "2001:db8::/48"), "ipRanges[0].cidrAddress"},
			{"IPv4 as IPv6", ip("iPv6CidrRange", "203.0.113.0/24"), "ipRanges[0].cidrAddress"},
			{"range without type", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","ipRanges":[{"cidrAddress":"203.0.113.0/24"}]}`, "ipRanges[0].@odata.type"},
			{"range extra property", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24","lower":"x"}]}`, "ipRanges[0].lower"},
			{"isTrusted text", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","isTrusted":"yes","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`, "isTrusted"},
			{"countries on an IP location", `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","countriesAndRegions":["SE"]}`, "countriesAndRegions"},
			{"bad country", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["SE","XX"]}`, "countriesAndRegions"},
			{"three letters", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["SWE"]}`, "countriesAndRegions"},
			{"no countries", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":[]}`, "countriesAndRegions"},
			{"bad lookup", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["SE"],"countryLookupMethod":"gps"}`, "countryLookupMethod"},
			{"ranges on a country location", `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["SE"],"ipRanges":[]}`, "ipRanges"},
		} {
			_, err := f.svc.CreateNamedLocation(ctx, op, f.tenant, []byte(c.body))
			wantKind(t, c.name, err, apperr.Invalid, c.target)
		}
		for _, c := range []struct{ name, body, target string }{
			{"PATCH without @odata.type", `{"displayName":"Y"}`, "@odata.type"},
			{"PATCH changing the type", `{"@odata.type":"#microsoft.graph.countryNamedLocation","countriesAndRegions":["SE"]}`, "@odata.type"},
			{"PATCH bad range", `{"@odata.type":"#microsoft.graph.ipNamedLocation","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.0.0.0/7"}]}`, "ipRanges[0].cidrAddress"},
		} {
			_, err := f.svc.UpdateNamedLocation(ctx, op, f.tenant, l.ID, []byte(c.body))
			wantKind(t, c.name, err, apperr.Invalid, c.target)
		}
		if f.snapshot(t) != before {
			t.Error("a refused write wrote something")
		}
		// Only-IPv4 /9 and IPv6 /9 are fine.
		f.location(t, ip("iPv4CidrRange", "10.128.0.0/9"))
		f.location(t, ip("iPv6CidrRange", "2000::/9"))

		// PATCH replaces the ranges.
		up, err := f.svc.UpdateNamedLocation(ctx, op, f.tenant, l.ID, []byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"HQ",
			"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		doc = docOf(t, up.Doc)
		if up.DisplayName != "HQ" || fmt.Sprint(doc["ipRanges"]) != "[map[@odata.type:#microsoft.graph.iPv4CidrRange cidrAddress:198.51.100.0/24]]" || doc["isTrusted"] != true {
			t.Errorf("after PATCH %v", doc)
		}

		// A location in use cannot be deleted.
		p, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(`{"displayName":"Off-site","state":"disabled","conditions":{"clientAppTypes":["all"],
			"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["`+l.ID+`","`+c.ID+`"]}},"grantControls":{"builtInControls":["block"]}}`))
		if err != nil {
			t.Fatal(err)
		}
		before = f.snapshot(t)
		err = f.svc.DeleteNamedLocation(ctx, op, f.tenant, l.ID)
		wantKind(t, "delete in use", err, apperr.Conflict, "")
		if e, _ := apperr.As(err); !strings.Contains(e.Message, "Off-site") || !strings.Contains(e.Message, p.ID) {
			t.Errorf("message %q does not name the policy", e.Message)
		}
		if f.snapshot(t) != before {
			t.Error("a refused delete wrote")
		}
		if _, err := f.svc.UpdatePolicy(ctx, op, f.tenant, p.ID, []byte(`{"conditions":{"locations":{"excludeLocations":["`+c.ID+`"]}}}`)); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteNamedLocation(ctx, op, f.tenant, l.ID); err != nil {
			t.Fatalf("delete after the policy let go: %v", err)
		}
		wantKind(t, "country still in use", f.svc.DeleteNamedLocation(ctx, op, f.tenant, c.ID), apperr.Conflict, "")
		if err := f.svc.DeletePolicy(ctx, op, f.tenant, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteNamedLocation(ctx, op, f.tenant, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.NamedLocation(ctx, f.tenant, c.ID)
		wantKind(t, "deleted location", err, apperr.NotFound, "")
	})
}

func TestLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		for i := range capolicy.MaxPolicies {
			body := fmt.Sprintf(`{"displayName":"P%d","state":"disabled","conditions":{"clientAppTypes":["all"],
				"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"builtInControls":["mfa"]}}`, i)
			if _, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(body)); err != nil {
				t.Fatalf("policy %d: %v", i+1, err)
			}
		}
		for i := range capolicy.MaxNamedLocations {
			f.location(t, fmt.Sprintf(`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"L%d","countriesAndRegions":["SE"]}`, i))
		}
		before := f.snapshot(t)
		_, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(samplePolicy))
		wantKind(t, "policy 196", err, apperr.Invalid, "")
		if e, _ := apperr.As(err); e.Code != "quotaLimitReached" || !strings.Contains(e.Message, "195") {
			t.Errorf("policy 196: %q %q", e.Code, e.Message)
		}
		_, err = f.svc.CreateNamedLocation(ctx, op, f.tenant, []byte(officeBody))
		wantKind(t, "location 196", err, apperr.Invalid, "")
		if f.snapshot(t) != before {
			t.Error("a refused create wrote")
		}
		// Another tenant has its own limits.
		other := storetest.NewTenant(t, f.st)
		if _, err := f.svc.CreatePolicy(ctx, op, other.ID, []byte(samplePolicy)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecurityDefaultsExclusion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		f.sd.set(true)
		enabled := strings.Replace(samplePolicy, "enabledForReportingButNotEnforced", "enabled", 1)
		before := f.snapshot(t)
		_, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(enabled))
		wantKind(t, "create enabled", err, apperr.Conflict, "")
		if e, _ := apperr.As(err); !strings.Contains(e.Message, "security defaults") {
			t.Errorf("message %q does not name security defaults", e.Message)
		}
		if f.snapshot(t) != before {
			t.Error("a refused create wrote")
		}
		// Report-only and disabled policies are fine.
		ro, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(samplePolicy))
		if err != nil {
			t.Fatalf("report-only: %v", err)
		}
		if _, err := f.svc.UpdatePolicy(ctx, op, f.tenant, ro.ID, []byte(`{"state":"disabled"}`)); err != nil {
			t.Fatalf("disable: %v", err)
		}
		before = f.snapshot(t)
		_, err = f.svc.UpdatePolicy(ctx, op, f.tenant, ro.ID, []byte(`{"state":"enabled"}`))
		wantKind(t, "turn on", err, apperr.Conflict, "")
		if f.snapshot(t) != before {
			t.Error("a refused update wrote")
		}
		if n, _ := f.svc.EnabledPolicyCount(ctx, f.tenant); n != 0 {
			t.Fatalf("EnabledPolicyCount = %d", n)
		}
		f.sd.set(false)
		if _, err := f.svc.UpdatePolicy(ctx, op, f.tenant, ro.ID, []byte(`{"state":"enabled"}`)); err != nil {
			t.Fatalf("turn on without security defaults: %v", err)
		}
		if _, err := f.svc.CreatePolicy(ctx, op, f.tenant, []byte(samplePolicy)); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.svc.EnabledPolicyCount(ctx, f.tenant); n != 1 {
			t.Fatalf("EnabledPolicyCount = %d, want 1 (report-only does not count)", n)
		}
		// Editing a policy that is already on is not turning it on.
		f.sd.set(true)
		if _, err := f.svc.UpdatePolicy(ctx, op, f.tenant, ro.ID, []byte(`{"description":"still on"}`)); err != nil {
			t.Fatalf("edit an enabled policy: %v", err)
		}
	})
}

func TestAuthorizationAndAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		reader := directory.Actor{AppID: "r", Permissions: []string{"Policy.Read.All"}}
		caa := directory.Actor{UserID: f.user.ID, Roles: []string{directory.RoleConditionalAccessAdmin}}
		before := f.snapshot(t)
		_, err := f.svc.CreatePolicy(ctx, reader, f.tenant, []byte(samplePolicy))
		wantKind(t, "reader creates", err, apperr.Forbidden, "")
		_, err = f.svc.CreateNamedLocation(ctx, reader, f.tenant, []byte(officeBody))
		wantKind(t, "reader creates a location", err, apperr.Forbidden, "")
		if f.snapshot(t) != before {
			t.Error("a refused create wrote")
		}
		p, err := f.svc.CreatePolicy(ctx, caa, f.tenant, []byte(samplePolicy))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.UpdatePolicy(ctx, reader, f.tenant, p.ID, []byte(`{"state":"disabled"}`))
		wantKind(t, "reader updates", err, apperr.Forbidden, "")
		wantKind(t, "reader deletes", f.svc.DeletePolicy(ctx, reader, f.tenant, p.ID), apperr.Forbidden, "")

		up, err := f.svc.UpdatePolicy(ctx, caa, f.tenant, p.ID, []byte(`{"state":"disabled"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeletePolicy(ctx, caa, f.tenant, p.ID); err != nil {
			t.Fatal(err)
		}
		page, err := f.st.ListAudits(ctx, f.tenant, store.ListQuery{OrderBy: "activityDateTime", Limit: 3, Desc: true})
		if err != nil || len(page.Items) != 3 {
			t.Fatalf("audits: %v", err)
		}
		want := []struct {
			activity, op string
			old, new     []byte
		}{
			{"Delete conditional access policy", "Delete", up.Doc, nil},
			{"Update conditional access policy", "Update", p.Doc, up.Doc},
			{"Add conditional access policy", "Add", nil, p.Doc},
		}
		byActivity := map[string]store.AuditEntry{}
		for _, e := range page.Items {
			byActivity[e.Activity] = e
		}
		for _, w := range want {
			e, ok := byActivity[w.activity]
			if !ok {
				t.Errorf("no audit %q in %+v", w.activity, page.Items)
				continue
			}
			if e.OperationType != w.op || e.Category != "Policy" || e.LoggedByService != capolicy.LoggedByService ||
				e.InitiatedBy.UserID != f.user.ID || len(e.Targets) != 1 || e.Targets[0].ID != p.ID {
				t.Errorf("audit %+v", e)
				continue
			}
			mp := e.Targets[0].ModifiedProperties
			if len(mp) != 1 || mp[0].DisplayName != "ConditionalAccessPolicy" {
				t.Errorf("%s modified properties %+v", w.activity, mp)
				continue
			}
			for _, side := range []struct {
				got  string
				want []byte
			}{{mp[0].OldValue, w.old}, {mp[0].NewValue, w.new}} {
				if side.want == nil {
					if side.got != "" {
						t.Errorf("%s: value %q, want empty", w.activity, side.got)
					}
				} else if canonical(t, []byte(side.got)) != canonical(t, side.want) {
					t.Errorf("%s: value %s, want %s", w.activity, side.got, side.want)
				}
			}
		}
		l := f.location(t, officeBody)
		if _, err := f.svc.UpdateNamedLocation(ctx, op, f.tenant, l.ID, []byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation","isTrusted":false}`)); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteNamedLocation(ctx, op, f.tenant, l.ID); err != nil {
			t.Fatal(err)
		}
		page, _ = f.st.ListAudits(ctx, f.tenant, store.ListQuery{Limit: 1000})
		seen := map[string]bool{}
		for _, e := range page.Items {
			if len(e.Targets) == 1 && e.Targets[0].ID == l.ID && e.Targets[0].ModifiedProperties[0].DisplayName == "NamedLocation" {
				seen[e.Activity] = true
			}
		}
		for _, a := range []string{"Add named location", "Update named location", "Delete named location"} {
			if !seen[a] {
				t.Errorf("no audit %q", a)
			}
		}
	})
}

// TestConcurrentLimit: creates racing for the last places stop at 195.
func TestConcurrentLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		for i := range capolicy.MaxNamedLocations - 3 {
			f.location(t, fmt.Sprintf(`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"L%d","countriesAndRegions":["SE"]}`, i))
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.CreateNamedLocation(ctx, op, f.tenant, []byte(officeBody))
				if e, ok := apperr.As(err); err != nil && (!ok || e.Kind != apperr.Invalid) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n, _ := f.ca.CountNamedLocations(ctx, f.tenant); n != capolicy.MaxNamedLocations {
			t.Fatalf("%d named locations, want %d", n, capolicy.MaxNamedLocations)
		}
	})
}
