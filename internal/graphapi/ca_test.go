package graphapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

const (
	caPolicies  = "/identity/conditionalAccess/policies"
	caLocations = "/identity/conditionalAccess/namedLocations"
)

// caSample is the sample policy of graph-api.md §3, verbatim.
const caSample = `{"displayName":"Require MFA off-network","state":"enabledForReportingButNotEnforced",
 "conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},
   "users":{"includeUsers":["All"],"excludeUsers":["GuestsOrExternalUsers"]},
   "locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
 "grantControls":{"operator":"OR","builtInControls":["mfa"]},
 "sessionControls":{"signInFrequency":{"isEnabled":true,"value":4,"type":"hours","frequencyInterval":"timeBased"}}}`

const caOfficeBody = `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,
 "ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"},
             {"@odata.type":"#microsoft.graph.iPv6CidrRange","cidrAddress":"2001:db8::/48"}]}`

const caCountryBody = `{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"Nordics",
 "countriesAndRegions":["SE","NO","FI"],"includeUnknownCountriesAndRegions":false}`

// caPolicyKeys are the properties of every policy object.
var caPolicyKeys = []string{"@odata.context", "id", "templateId", "displayName", "description", "createdDateTime",
	"modifiedDateTime", "state", "conditions", "grantControls", "sessionControls"}

// caFix is a tenant with a user, a group and apps for conditional access.
type caFix struct {
	tn               tenantFix
	user             store.User
	group            store.Group
	reader           string // Policy.Read.All
	writerID, writer string // Policy.ReadWrite.ConditionalAccess + AuditLog.Read.All
	userRW, noPerms  string
}

func newCAFix(t *testing.T, e *env, domain string) caFix {
	t.Helper()
	f := caFix{tn: e.tenant(domain)}
	var err error
	f.user, err = e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, admin.NewUser{UPN: "alice@" + domain, DisplayName: "Alice", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	f.group, err = e.app.Admin.CreateGroup(e.ctx, mOperator, f.tn.id, admin.NewGroup{DisplayName: "Finance"})
	if err != nil {
		t.Fatal(err)
	}
	_, f.reader = e.appToken(f.tn.id, "ca-reader", "Policy.Read.All")
	f.writerID, f.writer = e.appToken(f.tn.id, "ca-writer", "Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All")
	_, f.userRW = e.appToken(f.tn.id, "user-writer", "User.ReadWrite.All")
	_, f.noPerms = e.appToken(f.tn.id, "nothing")
	return f
}

// caSnapshot fingerprints the tenant's policies and named locations and
// the rows e.counts covers: what a refused request must not change.
func caSnapshot(t *testing.T, e *env, tenantID string) string {
	t.Helper()
	ps, err := e.app.ConditionalAccess.ListPolicies(e.ctx, tenantID, store.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := e.app.ConditionalAccess.ListNamedLocations(e.ctx, tenantID, store.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range ps.Items {
		fmt.Fprintf(&b, "%s %s %v %s\n", p.ID, p.State, p.LocationIDs, p.Doc)
	}
	for _, l := range ls.Items {
		fmt.Fprintf(&b, "%s %s\n", l.ID, l.Doc)
	}
	fmt.Fprintf(&b, "%+v", e.counts(t, tenantID))
	return b.String()
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func sub(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// auditValues returns the old and new values of the newest audit
// entry's only modified property, decoded.
func auditValues(t *testing.T, a map[string]any) (oldV, newV map[string]any) {
	t.Helper()
	targets := anyMaps(a["targetResources"])
	if len(targets) != 1 {
		t.Fatalf("audit targets %v", a["targetResources"])
	}
	props := anyMaps(targets[0]["modifiedProperties"])
	if len(props) != 1 {
		t.Fatalf("modifiedProperties %v", targets[0]["modifiedProperties"])
	}
	dec := func(s string) map[string]any {
		if s == "" {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("audit value %q: %v", s, err)
		}
		return m
	}
	return dec(str(props[0], "oldValue")), dec(str(props[0], "newValue"))
}

// TestGraphCAPolicyRoundTrip drives a policy through POST, GET, the
// collection options, PATCH and DELETE, with the §3 sample.
func TestGraphCAPolicyRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		r := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "POST sample", http.StatusCreated)
		wantKeys(t, "created", r.obj, caPolicyKeys...)
		wantProps(t, "created", r.obj, "@odata.context", e.entityContext("identity/conditionalAccess/policies"),
			"templateId", nil, "description", nil)
		subset(t, "created", jsonOf(t, caSample), r.obj)
		id := str(r.obj, "id")
		if len(id) != 36 {
			t.Fatalf("id %q", id)
		}
		created := wantTime(t, "created", r.obj, "createdDateTime")
		if modified := wantTime(t, "created", r.obj, "modifiedDateTime"); !modified.Equal(created) {
			t.Errorf("modifiedDateTime %v, createdDateTime %v", modified, created)
		}
		// The exact shape of each part.
		cond := sub(r.obj, "conditions")
		wantKeys(t, "conditions", cond, "users", "applications", "clientAppTypes", "locations", "platforms", "devices",
			"signInRiskLevels", "userRiskLevels")
		wantProps(t, "conditions", cond, "platforms", nil, "devices", nil, "signInRiskLevels", []string{}, "userRiskLevels", []string{})
		wantProps(t, "users", sub(cond, "users"), "includeUsers", []string{"All"}, "excludeUsers", []string{"GuestsOrExternalUsers"},
			"includeGroups", []string{}, "excludeGroups", []string{}, "includeRoles", []string{}, "excludeRoles", []string{})
		wantKeys(t, "users", sub(cond, "users"), "includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles")
		wantKeys(t, "applications", sub(cond, "applications"), "includeApplications", "excludeApplications", "includeUserActions")
		wantKeys(t, "locations", sub(cond, "locations"), "includeLocations", "excludeLocations")
		wantKeys(t, "grantControls", sub(r.obj, "grantControls"), "operator", "builtInControls", "authenticationStrength")
		wantProps(t, "grantControls", sub(r.obj, "grantControls"), "authenticationStrength", nil)
		wantKeys(t, "sessionControls", sub(r.obj, "sessionControls"), "signInFrequency", "persistentBrowser")
		wantProps(t, "signInFrequency", sub(r.obj, "sessionControls", "signInFrequency"), "isEnabled", true, "value", 4, "type", "hours",
			"frequencyInterval", "timeBased", "authenticationType", "primaryAndSecondaryAuthentication")

		a := e.checkAudit(t, f.writer, f.writerID, "Add conditional access policy", id, "ConditionalAccessPolicy")
		if str(a, "category") != "Policy" || str(a, "operationType") != "Add" || str(a, "loggedByService") != "Conditional Access" {
			t.Errorf("add audit %v", a)
		}
		if oldV, newV := auditValues(t, a); oldV != nil || str(newV, "id") != id || str(newV, "displayName") != "Require MFA off-network" {
			t.Errorf("add audit values %v → %v", oldV, newV)
		}

		// GET, both versions, is what POST returned.
		for _, v := range []string{"/v1.0", "/beta"} {
			g := e.get(t, f.reader, v+caPolicies+"/"+id).want(t, "GET "+v, http.StatusOK)
			delete(g.obj, "@odata.context")
			want := map[string]any{}
			for k, val := range r.obj {
				if k != "@odata.context" {
					want[k] = val
				}
			}
			gb, _ := json.Marshal(g.obj)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("GET %s:\n%s\nwant\n%s", v, gb, wb)
			}
		}
		s := e.get(t, f.reader, q("/v1.0"+caPolicies+"/"+id, "$select", "displayName,state")).want(t, "$select", http.StatusOK)
		wantKeys(t, "$select", s.obj, "@odata.context", "id", "displayName", "state")
		checkGraphError(t, "$filter on one", e.get(t, f.reader, q("/v1.0"+caPolicies+"/"+id, "$filter", "state eq 'enabled'")), http.StatusBadRequest)

		// More policies for the collection.
		for _, name := range []string{"Block legacy", "admins"} {
			body := `{"displayName":"` + name + `","state":"disabled","conditions":{"clientAppTypes":["exchangeActiveSync","other"],
				"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"builtInControls":["block"]}}`
			e.send(t, f.writer, "POST", "/beta"+caPolicies, body).want(t, "POST "+name, http.StatusCreated)
		}
		l := e.get(t, f.reader, "/v1.0"+caPolicies).want(t, "list", http.StatusOK)
		wantProps(t, "list", l.obj, "@odata.context", e.base+"/v1.0/$metadata#identity/conditionalAccess/policies")
		items := l.values(t)
		if len(items) != 3 || str(items[0], "id") != id {
			t.Fatalf("list %v", ids(items))
		}
		wantKeys(t, "listed", items[0], caPolicyKeys[1:]...)
		all, pages := e.pageAll(t, f.reader, q("/v1.0"+caPolicies, "$top", "2"))
		if len(all) != 3 || pages != 2 {
			t.Errorf("paging: %d items in %d pages", len(all), pages)
		}
		byName := func(path string) []string {
			t.Helper()
			var out []string
			for _, it := range e.get(t, f.reader, path).want(t, path, http.StatusOK).values(t) {
				out = append(out, str(it, "displayName"))
			}
			return out
		}
		if got := byName(q("/v1.0"+caPolicies, "$orderby", "displayName")); fmt.Sprint(got) != "[admins Block legacy Require MFA off-network]" {
			t.Errorf("$orderby displayName: %v", got)
		}
		if got := byName(q("/v1.0"+caPolicies, "$orderby", "createdDateTime desc")); len(got) != 3 || got[2] != "Require MFA off-network" {
			t.Errorf("$orderby createdDateTime desc: %v", got)
		}
		if got := byName(q("/v1.0"+caPolicies, "$filter", "state eq 'disabled'", "$orderby", "displayName")); fmt.Sprint(got) != "[admins Block legacy]" {
			t.Errorf("$filter state: %v", got)
		}
		if got := byName(q("/v1.0"+caPolicies, "$filter", "displayName eq 'BLOCK LEGACY'")); fmt.Sprint(got) != "[Block legacy]" {
			t.Errorf("$filter displayName: %v", got)
		}
		if got := byName(q("/v1.0"+caPolicies, "$filter", "startswith(displayName,'req')")); fmt.Sprint(got) != "[Require MFA off-network]" {
			t.Errorf("$filter startswith: %v", got)
		}
		sel := e.get(t, f.reader, q("/v1.0"+caPolicies, "$select", "state")).want(t, "$select list", http.StatusOK)
		for _, it := range sel.values(t) {
			wantKeys(t, "$select item", it, "id", "state")
		}
		if !strings.HasSuffix(str(sel.obj, "@odata.context"), "policies(state)") {
			t.Errorf("$select context %q", str(sel.obj, "@odata.context"))
		}
		checkGraphError(t, "$count without ConsistencyLevel", e.get(t, f.reader, q("/v1.0"+caPolicies, "$count", "true")), http.StatusBadRequest)
		c := e.get(t, f.reader, q("/v1.0"+caPolicies, "$count", "true", "$top", "1"), "ConsistencyLevel", "eventual").want(t, "$count", http.StatusOK)
		if n, _ := c.obj["@odata.count"].(float64); n != 3 {
			t.Errorf("@odata.count %v", c.obj["@odata.count"])
		}
		for _, bad := range [][]string{{"$filter", "conditions eq 'x'"}, {"$orderby", "state"}, {"$select", "colour"}, {"$expand", "conditions"}, {"$skiptoken", "garbage"}} {
			checkGraphError(t, "bad "+bad[0], e.get(t, f.reader, q("/v1.0"+caPolicies, bad...)), http.StatusBadRequest)
		}

		// PATCH merges objects and replaces lists.
		wantNoContent(t, "PATCH", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id,
			`{"displayName":"Require MFA away","conditions":{"users":{"excludeUsers":["`+f.user.ID+`"],"includeGroups":["`+f.group.ID+`"]}},
			  "grantControls":{"builtInControls":["mfa","compliantDevice"]}}`))
		g := e.get(t, f.reader, "/v1.0"+caPolicies+"/"+id).want(t, "GET after PATCH", http.StatusOK)
		wantProps(t, "after PATCH", g.obj, "displayName", "Require MFA away", "state", "enabledForReportingButNotEnforced")
		wantProps(t, "users after PATCH", sub(g.obj, "conditions", "users"), "includeUsers", []string{"All"},
			"excludeUsers", []string{f.user.ID}, "includeGroups", []string{f.group.ID})
		wantProps(t, "grant after PATCH", sub(g.obj, "grantControls"), "operator", "OR", "builtInControls", []string{"mfa", "compliantDevice"})
		wantProps(t, "locations after PATCH", sub(g.obj, "conditions", "locations"), "includeLocations", []string{"All"})
		wantProps(t, "frequency after PATCH", sub(g.obj, "sessionControls", "signInFrequency"), "value", 4)
		if m := wantTime(t, "after PATCH", g.obj, "modifiedDateTime"); m.Before(created) {
			t.Errorf("modifiedDateTime went back: %v", m)
		}
		wantProps(t, "after PATCH", g.obj, "createdDateTime", str(r.obj, "createdDateTime"))
		a = e.checkAudit(t, f.writer, f.writerID, "Update conditional access policy", id, "ConditionalAccessPolicy")
		if oldV, newV := auditValues(t, a); str(oldV, "displayName") != "Require MFA off-network" || str(newV, "displayName") != "Require MFA away" {
			t.Errorf("update audit values %v → %v", oldV, newV)
		}
		// A GET-modify-PATCH round trip (with the read-only properties) works.
		g.obj["description"] = "round trip"
		body, _ := json.Marshal(g.obj)
		wantNoContent(t, "round-trip PATCH", e.send(t, f.writer, "PATCH", "/beta"+caPolicies+"/"+id, string(body)))
		wantProps(t, "after round trip", e.get(t, f.reader, "/v1.0"+caPolicies+"/"+id).obj, "description", "round trip")

		wantNoContent(t, "DELETE", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caPolicies + "/" + id}))
		a = e.checkAudit(t, f.writer, f.writerID, "Delete conditional access policy", id, "ConditionalAccessPolicy")
		if oldV, newV := auditValues(t, a); str(oldV, "description") != "round trip" || newV != nil {
			t.Errorf("delete audit values %v → %v", oldV, newV)
		}
		checkGraphError(t, "GET deleted", e.get(t, f.reader, "/v1.0"+caPolicies+"/"+id), http.StatusNotFound)
		checkGraphError(t, "PATCH deleted", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"disabled"}`), http.StatusNotFound)
		checkGraphError(t, "DELETE deleted", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caPolicies + "/" + id}), http.StatusNotFound)
		checkGraphError(t, "PUT", e.send(t, f.writer, "PUT", "/v1.0"+caPolicies+"/"+id, caSample), http.StatusMethodNotAllowed)

		// Evolvable enum members need Prefer: include-unknown-enum-members.
		lin := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, `{"displayName":"Linux","state":"disabled","conditions":{"clientAppTypes":["all"],
			"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
			"platforms":{"includePlatforms":["linux","android"]}},"grantControls":{"builtInControls":["mfa"]}}`).want(t, "POST linux", http.StatusCreated)
		linID := str(lin.obj, "id")
		wantProps(t, "without Prefer", sub(e.get(t, f.reader, "/v1.0"+caPolicies+"/"+linID).obj, "conditions", "platforms"),
			"includePlatforms", []string{"unknownFutureValue", "android"})
		p := e.get(t, f.reader, "/v1.0"+caPolicies+"/"+linID, "Prefer", "include-unknown-enum-members").want(t, "with Prefer", http.StatusOK)
		wantProps(t, "with Prefer", sub(p.obj, "conditions", "platforms"), "includePlatforms", []string{"linux", "android"})
		if p.header.Get("Preference-Applied") != "include-unknown-enum-members" {
			t.Errorf("Preference-Applied %q", p.header.Get("Preference-Applied"))
		}
	})
}

// TestGraphNamedLocations drives both kinds of named location and the
// rule that a location in use cannot be deleted.
func TestGraphNamedLocations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		ip := e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "POST ip", http.StatusCreated)
		wantKeys(t, "ip location", ip.obj, "@odata.context", "@odata.type", "id", "displayName", "createdDateTime", "modifiedDateTime",
			"isTrusted", "ipRanges")
		wantProps(t, "ip location", ip.obj, "@odata.context", e.entityContext("identity/conditionalAccess/namedLocations"),
			"@odata.type", "#microsoft.graph.ipNamedLocation", "displayName", "Office", "isTrusted", true)
		subset(t, "ip location", jsonOf(t, caOfficeBody), ip.obj)
		wantTime(t, "ip location", ip.obj, "createdDateTime")
		ipID := str(ip.obj, "id")
		e.checkAudit(t, f.writer, f.writerID, "Add named location", ipID, "NamedLocation")

		cn := e.send(t, f.writer, "POST", "/beta"+caLocations, caCountryBody).want(t, "POST country", http.StatusCreated)
		wantKeys(t, "country location", cn.obj, "@odata.context", "@odata.type", "id", "displayName", "createdDateTime", "modifiedDateTime",
			"countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod")
		wantProps(t, "country location", cn.obj, "@odata.type", "#microsoft.graph.countryNamedLocation",
			"countriesAndRegions", []string{"SE", "NO", "FI"}, "countryLookupMethod", "clientIpAddress")
		cnID := str(cn.obj, "id")

		l := e.get(t, f.reader, "/v1.0"+caLocations).want(t, "list", http.StatusOK)
		wantProps(t, "list", l.obj, "@odata.context", e.base+"/v1.0/$metadata#identity/conditionalAccess/namedLocations")
		types := byType(l.values(t))
		if len(types["#microsoft.graph.ipNamedLocation"]) != 1 || len(types["#microsoft.graph.countryNamedLocation"]) != 1 {
			t.Errorf("list by type %v", l.raw)
		}
		sel := e.get(t, f.reader, q("/v1.0"+caLocations, "$select", "displayName", "$filter", "displayName eq 'office'")).want(t, "$select", http.StatusOK)
		if v := sel.values(t); len(v) != 1 {
			t.Fatalf("filtered %v", sel.raw)
		} else {
			wantKeys(t, "$select item", v[0], "@odata.type", "id", "displayName")
		}
		g := e.get(t, f.reader, "/v1.0"+caLocations+"/"+ipID).want(t, "GET", http.StatusOK)
		wantProps(t, "GET", g.obj, "ipRanges", []map[string]string{
			{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
			{"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/48"}})

		// PATCH needs the derived @odata.type and replaces the ranges.
		before := caSnapshot(t, e, f.tn.id)
		checkGraphError(t, "PATCH without @odata.type", e.send(t, f.writer, "PATCH", "/v1.0"+caLocations+"/"+ipID, `{"displayName":"HQ"}`), http.StatusBadRequest)
		checkGraphError(t, "PATCH with the other type", e.send(t, f.writer, "PATCH", "/v1.0"+caLocations+"/"+ipID,
			`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"HQ"}`), http.StatusBadRequest)
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused PATCH wrote")
		}
		wantNoContent(t, "PATCH", e.send(t, f.writer, "PATCH", "/v1.0"+caLocations+"/"+ipID, `{"@odata.type":"#microsoft.graph.ipNamedLocation",
			"displayName":"HQ","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"198.51.100.0/24"}]}`))
		g = e.get(t, f.reader, "/v1.0"+caLocations+"/"+ipID).want(t, "GET after PATCH", http.StatusOK)
		wantProps(t, "after PATCH", g.obj, "displayName", "HQ", "isTrusted", true,
			"ipRanges", []map[string]string{{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}})
		a := e.checkAudit(t, f.writer, f.writerID, "Update named location", ipID, "NamedLocation")
		if oldV, newV := auditValues(t, a); str(oldV, "displayName") != "Office" || str(newV, "displayName") != "HQ" {
			t.Errorf("update audit values %v → %v", oldV, newV)
		}

		// A policy naming both locations holds them.
		pol := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, `{"displayName":"Outside HQ","state":"disabled","conditions":{"clientAppTypes":["all"],
			"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]},
			"locations":{"includeLocations":["`+cnID+`"],"excludeLocations":["`+ipID+`"]}},"grantControls":{"builtInControls":["block"]}}`).want(t, "POST policy", http.StatusCreated)
		polID := str(pol.obj, "id")
		wantProps(t, "policy locations", sub(pol.obj, "conditions", "locations"), "includeLocations", []string{cnID}, "excludeLocations", []string{ipID})
		before = caSnapshot(t, e, f.tn.id)
		r := e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caLocations + "/" + ipID})
		if code := checkGraphError(t, "DELETE in use", r, http.StatusConflict); code != "conflict" {
			t.Errorf("code %q", code)
		}
		if msg := str(sub(r.obj, "error"), "message"); !strings.Contains(msg, "Outside HQ") || !strings.Contains(msg, polID) {
			t.Errorf("message %q does not name the policy", msg)
		}
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused DELETE wrote")
		}
		wantNoContent(t, "policy lets go", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+polID, `{"conditions":{"locations":{"excludeLocations":[]}}}`))
		wantNoContent(t, "DELETE", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caLocations + "/" + ipID}))
		e.checkAudit(t, f.writer, f.writerID, "Delete named location", ipID, "NamedLocation")
		checkGraphError(t, "GET deleted", e.get(t, f.reader, "/v1.0"+caLocations+"/"+ipID), http.StatusNotFound)
		checkGraphError(t, "country in use", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caLocations + "/" + cnID}), http.StatusConflict)
		wantNoContent(t, "DELETE policy", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caPolicies + "/" + polID}))
		wantNoContent(t, "DELETE country", e.do(t, f.writer, req{method: "DELETE", path: "/v1.0" + caLocations + "/" + cnID}))
	})
}

// TestGraphCABadInput: every malformed or invalid request is a 400 with
// the Graph error body naming the property, and writes nothing.
func TestGraphCABadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		other := e.tenant("fabrikam.com")
		foreignGroup, err := e.app.Admin.CreateGroup(e.ctx, mOperator, other.id, admin.NewGroup{DisplayName: "Elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		loc := e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "POST location", http.StatusCreated)
		pol := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "POST policy", http.StatusCreated)
		polPath, locPath := "/v1.0"+caPolicies+"/"+str(pol.obj, "id"), "/v1.0"+caLocations+"/"+str(loc.obj, "id")
		withCond := func(cond string) string {
			return `{"displayName":"P","state":"disabled","conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},` +
				cond + `},"grantControls":{"builtInControls":["mfa"]}}`
		}
		ipLoc := func(cidr string) string {
			return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"X","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"` + cidr + `"}]}`
		}
		manyRanges := func(n int) string {
			parts := make([]string, n)
			for i := range parts {
				parts[i] = fmt.Sprintf(`{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.%d.%d.0/24"}`, i/256, i%256)
			}
			return `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Many","ipRanges":[` + strings.Join(parts, ",") + `]}`
		}
		cases := []struct {
			name, method, path, body, ctype, target string
		}{
			{"text body", "POST", caPolicies, caSample, "text/plain", ""},
			{"not JSON", "POST", caPolicies, `{"displayName":`, "", ""},
			{"JSON array", "POST", caPolicies, `[]`, "", ""},
			{"trailing data", "POST", caPolicies, caSample + `{}`, "", ""},
			{"unknown property", "POST", caPolicies, strings.Replace(caSample, `"state"`, `"colour":"red","state"`, 1), "", "colour"},
			{"unknown nested property", "POST", caPolicies, strings.Replace(caSample, `"includeUsers"`, `"includeGuests":[],"includeUsers"`, 1), "", "conditions.users.includeGuests"},
			{"id in POST", "POST", caPolicies, strings.Replace(caSample, `"state"`, `"id":"x","state"`, 1), "", "id"},
			{"wrong type", "POST", caPolicies, strings.Replace(caSample, `"displayName":"Require MFA off-network"`, `"displayName":7`, 1), "", "displayName"},
			{"list as string", "POST", caPolicies, strings.Replace(caSample, `"clientAppTypes":["all"]`, `"clientAppTypes":"all"`, 1), "", "conditions.clientAppTypes"},
			{"bad state", "POST", caPolicies, strings.Replace(caSample, `"enabledForReportingButNotEnforced"`, `"reportOnly"`, 1), "", "state"},
			{"bad clientAppType", "POST", caPolicies, strings.Replace(caSample, `["all"]`, `["legacy"]`, 1), "", "conditions.clientAppTypes"},
			{"bad control", "POST", caPolicies, strings.Replace(caSample, `["mfa"]`, `["sms"]`, 1), "", "grantControls.builtInControls"},
			{"bad operator", "POST", caPolicies, strings.Replace(caSample, `"OR"`, `"or"`, 1), "", "grantControls.operator"},
			{"bad frequency type", "POST", caPolicies, strings.Replace(caSample, `"hours"`, `"minutes"`, 1), "", "sessionControls.signInFrequency.type"},
			{"missing displayName", "POST", caPolicies, `{"state":"disabled"}`, "", "displayName"},
			{"unknown group", "POST", caPolicies, withCond(`"users":{"includeGroups":["2b1d3f63-8f56-4c8e-bb6e-33b1c5a1d7c5"]}`), "", "conditions.users.includeGroups"},
			{"another tenant's group", "POST", caPolicies, withCond(`"users":{"includeGroups":["` + foreignGroup.ID + `"]}`), "", "conditions.users.includeGroups"},
			{"unknown location", "POST", caPolicies, withCond(`"users":{"includeUsers":["All"]},"locations":{"includeLocations":["2b1d3f63-8f56-4c8e-bb6e-33b1c5a1d7c5"]}`), "", "conditions.locations"},
			{"PATCH unknown property", "PATCH", polPath, `{"colour":"red"}`, "", "colour"},
			{"PATCH bad enum", "PATCH", polPath, `{"state":"on"}`, "", "state"},
			{"PATCH null required", "PATCH", polPath, `{"displayName":null}`, "", "displayName"},
			{"PATCH other createdDateTime", "PATCH", polPath, `{"createdDateTime":"2001-01-01T00:00:00Z"}`, "", "createdDateTime"},
			{"location without @odata.type", "POST", caLocations, `{"displayName":"X","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`, "", "@odata.type"},
			{"location of the base type", "POST", caLocations, `{"@odata.type":"#microsoft.graph.namedLocation","displayName":"X"}`, "", "@odata.type"},
			{"malformed CIDR", "POST", caLocations, ipLoc("203.0.113/24"), "", "ipRanges[0].cidrAddress"},
			{"no mask", "POST", caLocations, ipLoc("203.0.113.0"), "", "ipRanges[0].cidrAddress"},
			{"/8", "POST", caLocations, ipLoc("10.0.0.0/8"), "", "ipRanges[0].cidrAddress"},
			{"wider than /8", "POST", caLocations, ipLoc("8.0.0.0/5"), "", "ipRanges[0].cidrAddress"},
			{"2001 ranges", "POST", caLocations, manyRanges(2001), "", "ipRanges"},
			{"bad country", "POST", caLocations, strings.Replace(caCountryBody, `"FI"`, `"XZ"`, 1), "", "countriesAndRegions"},
			{"unknown location property", "POST", caLocations, strings.Replace(caCountryBody, `"displayName"`, `"isTrusted":true,"displayName"`, 1), "", "isTrusted"},
			{"PATCH location without @odata.type", "PATCH", locPath, `{"displayName":"Y"}`, "", "@odata.type"},
			{"PATCH location /8", "PATCH", locPath, `{"@odata.type":"#microsoft.graph.ipNamedLocation","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.0.0.0/8"}]}`, "", "ipRanges[0].cidrAddress"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := caSnapshot(t, e, f.tn.id)
				path := c.path
				if !strings.HasPrefix(path, "/v1.0") {
					path = "/v1.0" + path
				}
				r := e.do(t, f.writer, req{method: c.method, path: path, body: c.body, ctype: c.ctype})
				checkGraphError(t, c.name, r, http.StatusBadRequest)
				if c.target != "" {
					if got, _ := sub(r.obj, "error")["target"].(string); got != c.target {
						t.Errorf("target %q, want %q (%s)", got, c.target, r.raw)
					}
				}
				if caSnapshot(t, e, f.tn.id) != before {
					t.Error("a refused request wrote something")
				}
			})
		}
		// 2000 ranges are fine.
		e.send(t, f.writer, "POST", "/v1.0"+caLocations, manyRanges(2000)).want(t, "2000 ranges", http.StatusCreated)
	})
}

// TestGraphCALimits: the 196th policy and named location are refused.
func TestGraphCALimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		for i := 1; i < 195; i++ { // the sample below is the first
			body := fmt.Sprintf(`{"displayName":"P%d","state":"disabled","conditions":{"clientAppTypes":["all"],
				"users":{"includeUsers":["All"]},"applications":{"includeApplications":["All"]}},"grantControls":{"builtInControls":["mfa"]}}`, i)
			if _, err := e.app.ConditionalAccess.CreatePolicy(e.ctx, mOperator, f.tn.id, []byte(body)); err != nil {
				t.Fatalf("policy %d: %v", i, err)
			}
			loc := fmt.Sprintf(`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"L%d","countriesAndRegions":["SE"]}`, i)
			if _, err := e.app.ConditionalAccess.CreateNamedLocation(e.ctx, mOperator, f.tn.id, []byte(loc)); err != nil {
				t.Fatalf("location %d: %v", i, err)
			}
		}
		e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "policy 195", http.StatusCreated)
		e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "location 195", http.StatusCreated)
		before := caSnapshot(t, e, f.tn.id)
		r := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample)
		if code := checkGraphError(t, "policy 196", r, http.StatusBadRequest); code != "quotaLimitReached" {
			t.Errorf("code %q", code)
		}
		if msg := str(sub(r.obj, "error"), "message"); !strings.Contains(msg, "195") {
			t.Errorf("message %q", msg)
		}
		checkGraphError(t, "location 196", e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody), http.StatusBadRequest)
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused create wrote")
		}
		items, _ := e.pageAll(t, f.reader, "/v1.0"+caPolicies)
		if len(items) != 195 {
			t.Errorf("listed %d policies", len(items))
		}
	})
}

// TestGraphCASecurityDefaults: security defaults and enabled policies
// exclude each other, both ways (P-4.3); report-only policies do not count.
func TestGraphCASecurityDefaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		enabled := strings.Replace(caSample, "enabledForReportingButNotEnforced", "enabled", 1)
		// A new tenant has security defaults on.
		before := caSnapshot(t, e, f.tn.id)
		r := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, enabled)
		if code := checkGraphError(t, "enabled policy under security defaults", r, http.StatusConflict); code != "conflict" {
			t.Errorf("code %q", code)
		}
		if msg := str(sub(r.obj, "error"), "message"); !strings.Contains(msg, "security defaults") {
			t.Errorf("message %q does not name security defaults", msg)
		}
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused create wrote")
		}
		ro := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "report-only under security defaults", http.StatusCreated)
		id := str(ro.obj, "id")
		before = caSnapshot(t, e, f.tn.id)
		checkGraphError(t, "turn on under security defaults", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"enabled"}`), http.StatusConflict)
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused PATCH wrote")
		}
		wantNoContent(t, "disable under security defaults", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"disabled"}`))

		// Security defaults off: the policy may be turned on, and then
		// security defaults cannot come back.
		wantNoContent(t, "security defaults off", e.send(t, f.writer, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled":false}`))
		wantNoContent(t, "turn on", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"enabled"}`))
		e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "another report-only", http.StatusCreated)
		before = caSnapshot(t, e, f.tn.id)
		r = e.send(t, f.writer, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled":true}`)
		checkGraphError(t, "security defaults on with an enabled policy", r, http.StatusConflict)
		if msg := str(sub(r.obj, "error"), "message"); msg != "Security defaults cannot be turned on while 1 conditional access policy is enabled; turn it off or to report-only first." {
			t.Errorf("message %q", msg)
		}
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused security defaults change wrote")
		}
		wantProps(t, "security defaults", e.get(t, f.reader, "/v1.0"+sdPolicy).obj, "isEnabled", false)
		// Report-only does not stand in the way.
		wantNoContent(t, "to report-only", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"enabledForReportingButNotEnforced"}`))
		wantNoContent(t, "security defaults on", e.send(t, f.writer, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled":true}`))
		wantProps(t, "security defaults", e.get(t, f.reader, "/v1.0"+sdPolicy).obj, "isEnabled", true)
	})
}

// TestGraphCAAuthorization: reads take a policy reader, writes the
// conditional access permission (or role).
func TestGraphCAAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		pol := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, caSample).want(t, "POST policy", http.StatusCreated)
		loc := e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "POST location", http.StatusCreated)
		pp, lp := "/v1.0"+caPolicies+"/"+str(pol.obj, "id"), "/v1.0"+caLocations+"/"+str(loc.obj, "id")
		_, methods := e.appToken(f.tn.id, "methods", "Policy.ReadWrite.AuthenticationMethod")
		cases := []struct {
			name, token, method, path, body string
			status                          int
		}{
			{"reader lists policies", f.reader, "GET", "/v1.0" + caPolicies, "", 200},
			{"reader reads a policy", f.reader, "GET", pp, "", 200},
			{"reader lists locations", f.reader, "GET", "/beta" + caLocations, "", 200},
			{"reader reads a location", f.reader, "GET", lp, "", 200},
			{"methods app reads policies", methods, "GET", "/v1.0" + caPolicies, "", 200},
			{"reader creates a policy", f.reader, "POST", "/v1.0" + caPolicies, caSample, 403},
			{"reader patches a policy", f.reader, "PATCH", pp, `{"state":"disabled"}`, 403},
			{"reader deletes a policy", f.reader, "DELETE", pp, "", 403},
			{"reader creates a location", f.reader, "POST", "/v1.0" + caLocations, caCountryBody, 403},
			{"reader patches a location", f.reader, "PATCH", lp, `{"@odata.type":"#microsoft.graph.ipNamedLocation","isTrusted":false}`, 403},
			{"reader deletes a location", f.reader, "DELETE", lp, "", 403},
			{"methods app creates a policy", methods, "POST", "/v1.0" + caPolicies, caSample, 403},
			{"user writer lists policies", f.userRW, "GET", "/v1.0" + caPolicies, "", 403},
			{"no permissions reads a location", f.noPerms, "GET", lp, "", 403},
			{"no token", "", "GET", "/v1.0" + caPolicies, "", 401},
			{"no token POST", "", "POST", "/v1.0" + caLocations, caCountryBody, 401},
			{"POST on an item", f.writer, "POST", pp, caSample, 405},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := caSnapshot(t, e, f.tn.id)
				r := e.do(t, c.token, req{method: c.method, path: c.path, body: c.body})
				if c.status >= 400 {
					code := checkGraphError(t, c.name, r, c.status)
					if c.status == 403 && code != "Authorization_RequestDenied" {
						t.Errorf("code %q", code)
					}
					if caSnapshot(t, e, f.tn.id) != before {
						t.Error("a refused request wrote something")
					}
					return
				}
				r.want(t, c.name, c.status)
			})
		}
		// A Conditional Access Administrator may write; a Global Reader only read.
		caa := directory.Actor{UserID: f.user.ID, Roles: []string{directory.RoleConditionalAccessAdmin}}
		if _, err := e.app.ConditionalAccess.CreatePolicy(e.ctx, caa, f.tn.id, []byte(caSample)); err != nil {
			t.Fatalf("Conditional Access Administrator: %v", err)
		}
		gr := directory.Actor{UserID: f.user.ID, Roles: []string{roleGlobalReader}}
		if _, err := e.app.ConditionalAccess.CreatePolicy(e.ctx, gr, f.tn.id, []byte(caSample)); err == nil {
			t.Fatal("a Global Reader created a policy")
		}
	})
}

// TestGraphCAIsolation: another tenant's policies and named locations are
// 404 (never 403, never data) and cannot be referenced.
func TestGraphCAIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := newCAFix(t, e, "contoso.com")
		b := newCAFix(t, e, "fabrikam.com")
		_, allB := e.appToken(b.tn.id, "all-powerful", directory.KnownPermissions...)
		loc := e.send(t, a.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "A location", http.StatusCreated)
		pol := e.send(t, a.writer, "POST", "/v1.0"+caPolicies, `{"displayName":"Secret Zanzibar","state":"disabled",
			"conditions":{"clientAppTypes":["all"],"users":{"includeGroups":["`+a.group.ID+`"]},"applications":{"includeApplications":["All"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["`+str(loc.obj, "id")+`"]}},"grantControls":{"builtInControls":["block"]}}`).want(t, "A policy", http.StatusCreated)
		pp, lp := "/v1.0"+caPolicies+"/"+str(pol.obj, "id"), "/v1.0"+caLocations+"/"+str(loc.obj, "id")
		beforeA := caSnapshot(t, e, a.tn.id)
		for _, c := range []struct{ method, path, body string }{
			{"GET", pp, ""}, {"PATCH", pp, `{"state":"disabled","displayName":"mine"}`}, {"DELETE", pp, ""},
			{"GET", lp, ""}, {"PATCH", lp, `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"mine"}`}, {"DELETE", lp, ""},
		} {
			r := e.do(t, allB, req{method: c.method, path: c.path, body: c.body})
			checkGraphError(t, "B "+c.method+" "+c.path, r, http.StatusNotFound)
			if strings.Contains(string(r.raw), "Zanzibar") {
				t.Errorf("B saw A's data: %s", r.raw)
			}
		}
		for _, p := range []string{caPolicies, caLocations} {
			if v := e.get(t, allB, "/v1.0"+p).want(t, "B lists", http.StatusOK).values(t); len(v) != 0 {
				t.Errorf("B lists %d of A's objects", len(v))
			}
		}
		// B cannot name A's location or group.
		for name, cond := range map[string]string{
			"A's location": `"users":{"includeUsers":["All"]},"locations":{"includeLocations":["` + str(loc.obj, "id") + `"]}`,
			"A's group":    `"users":{"includeGroups":["` + a.group.ID + `"]}`,
			"A's user":     `"users":{"includeUsers":["` + a.user.ID + `"]}`,
		} {
			body := `{"displayName":"P","state":"disabled","conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},` +
				cond + `},"grantControls":{"builtInControls":["mfa"]}}`
			checkGraphError(t, "B names "+name, e.send(t, allB, "POST", "/v1.0"+caPolicies, body), http.StatusBadRequest)
		}
		if caSnapshot(t, e, a.tn.id) != beforeA {
			t.Error("tenant B changed tenant A")
		}
		if v := e.get(t, b.reader, "/v1.0"+caPolicies).want(t, "B lists", http.StatusOK).values(t); len(v) != 0 {
			t.Errorf("B has %d policies after refused creates", len(v))
		}
	})
}
