package graphapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

const (
	caEvaluate  = "/beta/identity/conditionalAccess/evaluate"
	caTemplates = "/identity/conditionalAccess/templates"
)

// whatIfPolicy finds a policy's entry in a What If answer.
func whatIfPolicy(t *testing.T, r *resp, name string) map[string]any {
	t.Helper()
	for _, p := range anyMaps(r.obj["policies"]) {
		if str(p, "displayName") == name {
			return p
		}
	}
	t.Fatalf("no policy %q in %s", name, r.raw)
	return nil
}

func (e *env) caPolicy(t *testing.T, token, body string) string {
	t.Helper()
	r := e.send(t, token, "POST", "/v1.0"+caPolicies, body).want(t, "POST policy", http.StatusCreated)
	return str(r.obj, "id")
}

// TestGraphCAWhatIf: POST /beta/identity/conditionalAccess/evaluate
// answers with every policy's result, why, and the decision; it needs
// policy read access, exists only in beta, and refuses bad input with a
// Graph error naming the property.
func TestGraphCAWhatIf(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		caDefaultsOff(t, e, f.tn.id)
		if err := e.app.Store.AddMember(e.ctx, f.tn.id, f.group.ID, f.user.ID); err != nil {
			t.Fatal(err)
		}
		loc := e.send(t, f.writer, "POST", "/v1.0"+caLocations, caOfficeBody).want(t, "office", http.StatusCreated)
		_ = loc
		e.caPolicy(t, f.writer, `{"displayName":"MFA off-network","state":"enabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]},
			"sessionControls":{"persistentBrowser":{"isEnabled":true,"mode":"never"}}}`)
		e.caPolicy(t, f.writer, `{"displayName":"Trial: block Finance on Android","state":"enabledForReportingButNotEnforced","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeGroups":["`+f.group.ID+`"]},
			"platforms":{"includePlatforms":["android"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)

		r := e.send(t, f.reader, "POST", caEvaluate, `{"user":"alice@contoso.com","ipAddress":"198.51.100.4","platform":"android",
			"clientAppType":"mobileAppsAndDesktopClients","signInRiskLevel":"low"}`).want(t, "evaluate", http.StatusOK)
		wantKeys(t, "evaluate", r.obj, "user", "signIn", "policies", "decision")
		if u := sub(r.obj, "user"); str(u, "id") != f.user.ID || str(u, "userPrincipalName") != "alice@contoso.com" {
			t.Errorf("user %v", u)
		}
		if s := sub(r.obj, "signIn"); str(s, "clientAppType") != "mobileAppsAndDesktopClients" || str(s, "platform") != "android" ||
			str(s, "signInRiskLevel") != "low" || s["groupCount"] != float64(1) || s["country"] != nil || s["appId"] != nil {
			t.Errorf("signIn %v", s)
		}
		mfa := whatIfPolicy(t, r, "MFA off-network")
		wantKeys(t, "policy", mfa, "id", "displayName", "state", "result", "failedCondition", "reason", "outcome", "grantControls", "sessionControls")
		wantProps(t, "MFA policy", mfa, "state", "enabled", "result", "applied", "failedCondition", nil, "outcome", "mfa",
			"grantControls", []string{"Mfa"}, "sessionControls", []string{"PersistentBrowserSessionMode"})
		trial := whatIfPolicy(t, r, "Trial: block Finance on Android")
		wantProps(t, "trial", trial, "state", "enabledForReportingButNotEnforced", "result", "reportOnlyFailure", "outcome", "block")
		d := sub(r.obj, "decision")
		wantProps(t, "decision", d, "outcome", "mfa", "authenticationStrength", "mfa", "passwordChange", false,
			"grantControls", []string{"Mfa"}, "sessionControls", []string{"PersistentBrowserSessionMode"}, "persistentBrowser", "never",
			"signInFrequency", nil)
		if !strings.Contains(str(d, "reason"), "MFA off-network") {
			t.Errorf("decision reason %q", str(d, "reason"))
		}

		// From the office on Windows: nothing applies.
		r = e.send(t, f.reader, "POST", caEvaluate, `{"user":"`+f.user.ID+`","ipAddress":"203.0.113.9","platform":"windows","appId":null}`).
			want(t, "office", http.StatusOK)
		wantProps(t, "office MFA", whatIfPolicy(t, r, "MFA off-network"), "result", "notApplied", "failedCondition", "locations.excluded", "outcome", nil)
		wantProps(t, "office trial", whatIfPolicy(t, r, "Trial: block Finance on Android"), "result", "reportOnlyNotApplied", "failedCondition", "platforms")
		wantProps(t, "office decision", sub(r.obj, "decision"), "outcome", "allow", "authenticationStrength", nil, "appliedPolicies", []string{})

		// Authorization and version.
		for _, c := range []struct {
			name, token, path string
			status            int
		}{
			{"no permissions", f.noPerms, caEvaluate, http.StatusForbidden},
			{"user writer", f.userRW, caEvaluate, http.StatusForbidden},
			{"no token", "", caEvaluate, http.StatusUnauthorized},
			{"v1.0", f.reader, "/v1.0/identity/conditionalAccess/evaluate", http.StatusNotFound},
		} {
			checkGraphError(t, c.name, e.send(t, c.token, "POST", c.path, `{"user":"alice@contoso.com"}`), c.status)
		}
		checkGraphError(t, "GET", e.get(t, f.reader, caEvaluate), http.StatusMethodNotAllowed)

		// Bad input: 400 naming the property, 404 for an unknown user.
		for _, c := range []struct {
			name, body, target string
			status             int
		}{
			{"no user", `{}`, "user", 400},
			{"blank user", `{"user":"  "}`, "user", 400},
			{"user not a string", `{"user":5}`, "user", 400},
			{"unknown user", `{"user":"nobody@contoso.com"}`, "user", 404},
			{"unknown user id", `{"user":"` + uuid.NewString() + `"}`, "user", 404},
			{"bad ip", `{"user":"alice@contoso.com","ipAddress":"300.1.1.1"}`, "ipAddress", 400},
			{"bad country", `{"user":"alice@contoso.com","country":"Sweden"}`, "country", 400},
			{"bad platform", `{"user":"alice@contoso.com","platform":"amiga"}`, "platform", 400},
			{"bad client", `{"user":"alice@contoso.com","clientAppType":"easSupported"}`, "clientAppType", 400},
			{"bad risk", `{"user":"alice@contoso.com","signInRiskLevel":"hidden"}`, "signInRiskLevel", 400},
			{"bad user risk", `{"user":"alice@contoso.com","userRiskLevel":3}`, "userRiskLevel", 400},
			{"bad app", `{"user":"alice@contoso.com","appId":"not-a-guid"}`, "appId", 400},
			{"app and portal", `{"user":"alice@contoso.com","appId":"` + uuid.NewString() + `","adminPortal":true}`, "appId", 400},
			{"portal not a bool", `{"user":"alice@contoso.com","adminPortal":"yes"}`, "adminPortal", 400},
			{"compliant null", `{"user":"alice@contoso.com","deviceCompliant":null}`, "deviceCompliant", 400},
			{"bad trust type", `{"user":"alice@contoso.com","deviceTrustType":"Domain"}`, "deviceTrustType", 400},
			{"bad action", `{"user":"alice@contoso.com","userAction":"urn:user:nap"}`, "userAction", 400},
			{"unknown property", `{"user":"alice@contoso.com","mood":"happy"}`, "mood", 400},
			{"not an object", `["alice@contoso.com"]`, "", 400},
			{"not JSON", `{"user":`, "", 400},
		} {
			r := e.send(t, f.reader, "POST", caEvaluate, c.body)
			checkGraphError(t, c.name, r, c.status)
			if c.target != "" && mErrTarget(r) != c.target {
				t.Errorf("%s: target %q, want %q (%s)", c.name, mErrTarget(r), c.target, r.raw)
			}
		}
		checkGraphError(t, "no content type", e.do(t, f.reader, req{method: "POST", path: caEvaluate, body: `{"user":"alice@contoso.com"}`, ctype: "-"}), 400)
		checkGraphError(t, "text body", e.do(t, f.reader, req{method: "POST", path: caEvaluate, body: `user=alice`, ctype: "text/plain"}), 400)
		// Another tenant's user is unknown.
		b := newCAFix(t, e, "fabrikam.com")
		checkGraphError(t, "other tenant's user", e.send(t, b.reader, "POST", caEvaluate, `{"user":"`+f.user.ID+`"}`), 404)
	})
}

// TestGraphCATemplates: the templates list and read under both versions;
// instantiating one (beta) creates a report-only policy with templateId,
// audited, and refuses bad input.
func TestGraphCATemplates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		for _, v := range []string{"/v1.0", "/beta"} {
			r := e.get(t, f.reader, v+caTemplates).want(t, "list "+v, http.StatusOK)
			wantProps(t, "list", r.obj, "@odata.context", e.base+v+"/$metadata#identity/conditionalAccess/templates")
			items := r.values(t)
			if len(items) != len(ca.Templates()) {
				t.Fatalf("%d templates", len(items))
			}
			for _, it := range items {
				wantKeys(t, "template", it, "id", "name", "description", "details")
				wantKeys(t, "details", sub(it, "details"), "conditions", "grantControls", "sessionControls")
			}
		}
		s := e.get(t, f.reader, q("/v1.0"+caTemplates, "$select", "id,name")).want(t, "$select", http.StatusOK).values(t)
		wantKeys(t, "$select", s[0], "id", "name")
		all, pages := e.pageAll(t, f.reader, q("/v1.0"+caTemplates, "$top", "3"))
		if len(all) != len(ca.Templates()) || pages != 3 {
			t.Errorf("paging: %d in %d pages", len(all), pages)
		}
		checkGraphError(t, "$filter", e.get(t, f.reader, q("/v1.0"+caTemplates, "$filter", "name eq 'x'")), 400)
		checkGraphError(t, "no permissions", e.get(t, f.noPerms, "/v1.0"+caTemplates), 403)
		one := e.get(t, f.reader, "/v1.0"+caTemplates+"/"+ca.TemplateBlockLegacyAuth).want(t, "one", http.StatusOK)
		wantProps(t, "one", one.obj, "id", ca.TemplateBlockLegacyAuth, "name", "Block legacy authentication",
			"@odata.context", e.base+"/v1.0/$metadata#identity/conditionalAccess/templates/$entity")
		wantProps(t, "one", sub(one.obj, "details", "conditions"), "clientAppTypes", []string{"exchangeActiveSync", "other"})
		checkGraphError(t, "unknown template", e.get(t, f.reader, "/v1.0"+caTemplates+"/"+uuid.NewString()), 404)

		inst := func(id string) string { return "/beta" + caTemplates + "/" + id + "/instantiate" }
		r := e.do(t, f.writer, req{method: "POST", path: inst(ca.TemplateMFAAdmins)}).want(t, "instantiate", http.StatusCreated)
		wantKeys(t, "instantiated", r.obj, caPolicyKeys...)
		wantProps(t, "instantiated", r.obj, "state", "enabledForReportingButNotEnforced", "templateId", ca.TemplateMFAAdmins,
			"displayName", "Require multifactor authentication for administrators",
			"@odata.context", e.base+"/beta/$metadata#identity/conditionalAccess/policies/$entity")
		roles, _ := sub(r.obj, "conditions", "users")["includeRoles"].([]any)
		if len(roles) != 10 {
			t.Errorf("administrators' roles %v", roles)
		}
		e.checkAudit(t, f.writer, f.writerID, "Add conditional access policy", str(r.obj, "id"), "ConditionalAccessPolicy")
		e.get(t, f.reader, "/v1.0"+caPolicies+"/"+str(r.obj, "id")).want(t, "GET instantiated", http.StatusOK)
		r = e.send(t, f.writer, "POST", inst(ca.TemplateMFAAllUsers), `{"displayName":"MFA pilot"}`).want(t, "named", http.StatusCreated)
		wantProps(t, "named", r.obj, "displayName", "MFA pilot", "templateId", ca.TemplateMFAAllUsers)
		e.do(t, f.writer, req{method: "POST", path: inst(ca.TemplateMFAUntrusted), body: "  ", ctype: "-"}).want(t, "blank body", http.StatusCreated)
		e.do(t, f.writer, req{method: "POST", path: inst(ca.TemplateMFARiskySignIns), body: "\n"}).want(t, "blank JSON body", http.StatusCreated)

		before := caSnapshot(t, e, f.tn.id)
		for _, c := range []struct {
			name, token, path, body string
			status                  int
		}{
			{"unknown template", f.writer, inst(uuid.NewString()), "", 404},
			{"reader", f.reader, inst(ca.TemplateMFAAllUsers), "", 403},
			{"v1.0", f.writer, "/v1.0" + caTemplates + "/" + ca.TemplateMFAAllUsers + "/instantiate", "", 404},
			{"blank name", f.writer, inst(ca.TemplateMFAAllUsers), `{"displayName":" "}`, 400},
			{"name not a string", f.writer, inst(ca.TemplateMFAAllUsers), `{"displayName":7}`, 400},
			{"state", f.writer, inst(ca.TemplateMFAAllUsers), `{"state":"enabled"}`, 400},
			{"long name", f.writer, inst(ca.TemplateMFAAllUsers), `{"displayName":"` + strings.Repeat("x", 300) + `"}`, 400},
		} {
			checkGraphError(t, c.name, e.do(t, c.token, req{method: "POST", path: c.path, body: c.body}), c.status)
		}
		checkGraphError(t, "text body", e.do(t, f.writer, req{method: "POST", path: inst(ca.TemplateMFAAllUsers), body: "x", ctype: "-"}), 400)
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("a refused instantiation changed something")
		}
	})
}

// TestGraphCAGuardRails (P-7.7) over the API: blocking the tenant's only
// Global Administrator is a 409 conflict, also when a report-only policy
// is switched on; an emergency-access exclusion lets it through.
func TestGraphCAGuardRails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		caDefaultsOff(t, e, f.tn.id)
		lockdown := `{"displayName":"Lockdown","state":"%s","conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},
			"users":{"includeUsers":["All"]%s}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`
		before := caSnapshot(t, e, f.tn.id)
		r := e.send(t, f.writer, "POST", "/v1.0"+caPolicies, fmt.Sprintf(lockdown, "enabled", ""))
		if code := checkGraphError(t, "lockdown", r, http.StatusConflict); code != "conflict" {
			t.Errorf("code %q", code)
		}
		if msg := str(sub(r.obj, "error"), "message"); !strings.Contains(msg, "admin@contoso.com") || !strings.Contains(msg, "emergency-access") {
			t.Errorf("message %q", msg)
		}
		if caSnapshot(t, e, f.tn.id) != before {
			t.Error("the refused policy was stored")
		}
		id := e.caPolicy(t, f.writer, fmt.Sprintf(lockdown, "enabledForReportingButNotEnforced", ""))
		checkGraphError(t, "switch on", e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"enabled"}`), http.StatusConflict)
		e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+id, `{"state":"enabled","conditions":{"users":{"excludeUsers":["`+f.user.ID+`"]}}}`).
			want(t, "with an exclusion", http.StatusNoContent)
		// A template that blocks only legacy clients can be turned on.
		lg := e.do(t, f.writer, req{method: "POST", path: "/beta" + caTemplates + "/" + ca.TemplateBlockLegacyAuth + "/instantiate"}).want(t, "legacy", http.StatusCreated)
		e.send(t, f.writer, "PATCH", "/v1.0"+caPolicies+"/"+str(lg.obj, "id"), `{"state":"enabled"}`).want(t, "legacy on", http.StatusNoContent)
	})
}

// TestGraphCAReplay: POST /beta/…/policies/{id}/replay counts what the
// policy would have done to the recorded sign-ins; days default to 7 and
// must be 1–30.
func TestGraphCAReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		id := e.caPolicy(t, f.writer, `{"displayName":"Block Alice","state":"disabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["`+f.user.ID+`"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		now := time.Now().UTC()
		entry := func(u string, upn string, age time.Duration) store.SignIn {
			return store.SignIn{ID: uuid.NewString(), TenantID: f.tn.id, CreatedAt: now.Add(-age), UserID: u, UserPrincipalName: upn,
				IPAddress: "198.51.100.1", ClientAppUsed: "Browser", AppID: f.writerID}
		}
		e.addSignIns(t, entry(f.user.ID, f.user.UPN, time.Hour), entry(f.user.ID, f.user.UPN, 2*time.Hour),
			entry(f.tn.adminID, f.tn.adminUPN, 3*time.Hour), entry(f.user.ID, f.user.UPN, 10*24*time.Hour))
		path := "/beta" + caPolicies + "/" + id + "/replay"
		r := e.do(t, f.reader, req{method: "POST", path: path}).want(t, "replay", http.StatusOK)
		wantKeys(t, "replay", r.obj, "policy", "days", "fromDateTime", "toDateTime", "signIns", "users", "sample")
		wantProps(t, "replay", r.obj, "days", 7)
		wantProps(t, "signIns", sub(r.obj, "signIns"), "total", 3, "wouldBlock", 2, "wouldRequireMfa", 0, "wouldRequireOther", 0,
			"wouldSucceed", 0, "notApplied", 1, "skipped", 0)
		wantProps(t, "users", sub(r.obj, "users"), "total", 2, "wouldBlock", 1, "wouldRequireMfa", 0)
		wantProps(t, "policy", sub(r.obj, "policy"), "id", id, "displayName", "Block Alice", "state", "disabled")
		sample := anyMaps(r.obj["sample"])
		if len(sample) != 2 {
			t.Fatalf("sample %v", r.obj["sample"])
		}
		wantKeys(t, "sample", sample[0], "signInId", "createdDateTime", "userPrincipalName", "appId", "ipAddress", "clientAppUsed", "result")
		wantProps(t, "sample", sample[0], "userPrincipalName", f.user.UPN, "appId", f.writerID, "ipAddress", "198.51.100.1", "result", "wouldBlock")
		r = e.send(t, f.reader, "POST", path, `{"days":30}`).want(t, "30 days", http.StatusOK)
		wantProps(t, "30 days", sub(r.obj, "signIns"), "total", 4, "wouldBlock", 3)

		for _, c := range []struct {
			name, token, path, body string
			status                  int
		}{
			{"zero days", f.reader, path, `{"days":0}`, 400},
			{"31 days", f.reader, path, `{"days":31}`, 400},
			{"days as text", f.reader, path, `{"days":"7"}`, 400},
			{"fractional days", f.reader, path, `{"days":1.5}`, 400},
			{"huge days", f.reader, path, `{"days":1e40}`, 400},
			{"null days", f.reader, path, `{"days":null}`, 400},
			{"unknown property", f.reader, path, `{"weeks":1}`, 400},
			{"not JSON", f.reader, path, `{"days":`, 400},
			{"unknown policy", f.reader, "/beta" + caPolicies + "/" + uuid.NewString() + "/replay", "", 404},
			{"v1.0", f.reader, "/v1.0" + caPolicies + "/" + id + "/replay", "", 404},
			{"no permissions", f.noPerms, path, "", 403},
			{"no token", "", path, "", 401},
		} {
			r := e.do(t, c.token, req{method: "POST", path: c.path, body: c.body})
			checkGraphError(t, c.name, r, c.status)
		}
		checkGraphError(t, "GET", e.get(t, f.reader, path), http.StatusMethodNotAllowed)
		b := newCAFix(t, e, "fabrikam.com")
		checkGraphError(t, "other tenant", e.do(t, b.reader, req{method: "POST", path: path}), 404)
	})
}

// TestGraphCAAgreement: for sign-ins made through the real sign-in
// engine, What If's per-policy results and decision agree with what the
// sign-in log recorded, and replay's counts with the log's results for
// each policy, report-only and enforced.
func TestGraphCAAgreement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newCAFix(t, e, "contoso.com")
		caDefaultsOff(t, e, f.tn.id)
		bob, err := e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, adminNewUser("bob@contoso.com"))
		if err != nil {
			t.Fatal(err)
		}
		carol, err := e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, adminNewUser("carol@contoso.com"))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{f.user.ID, carol.ID} {
			if err := e.app.Store.AddMember(e.ctx, f.tn.id, f.group.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		e.send(t, f.writer, "POST", "/v1.0"+caLocations, `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Office","isTrusted":true,
			"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.1.1.0/24"}]}`).want(t, "office", http.StatusCreated)
		payroll, _ := e.appToken(f.tn.id, "payroll")
		all := `"applications":{"includeApplications":["All"]}`
		ids := map[string]string{}
		for name, body := range map[string]string{
			"Trial: Finance off-network": `"clientAppTypes":["all"],` + all + `,"users":{"includeGroups":["` + f.group.ID + `"]},
				"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}`,
			"Trial: MFA but Bob": `"clientAppTypes":["all"],` + all + `,"users":{"includeUsers":["All"],"excludeUsers":["` + bob.ID + `"]}},
				"grantControls":{"operator":"OR","builtInControls":["mfa"]}`,
			"Trial: payroll MFA": `"clientAppTypes":["browser","mobileAppsAndDesktopClients"],"applications":{"includeApplications":["` + payroll + `"]},
				"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}`,
			"Trial: compliant Android": `"clientAppTypes":["all"],` + all + `,"users":{"includeUsers":["All"]},"platforms":{"includePlatforms":["android"]}},
				"grantControls":{"operator":"OR","builtInControls":["compliantDevice"]}`,
			"Trial: session only": `"clientAppTypes":["all"],` + all + `,"users":{"includeUsers":["All"]}},"grantControls":null,
				"sessionControls":{"signInFrequency":{"isEnabled":true,"value":1,"type":"days","frequencyInterval":"timeBased"}}`,
		} {
			ids[name] = e.caPolicy(t, f.writer, `{"displayName":"`+name+`","state":"enabledForReportingButNotEnforced","conditions":{`+body+`}`)
		}
		// Enforced: Bob off-network must pass MFA; Carol's legacy clients
		// are blocked; everyone signs in again daily.
		ids["Daily sign-in"] = e.caPolicy(t, f.writer, `{"displayName":"Daily sign-in","state":"enabled","conditions":{"clientAppTypes":["all"],`+all+`,
			"users":{"includeUsers":["All"]}},"grantControls":null,
			"sessionControls":{"signInFrequency":{"isEnabled":true,"value":1,"type":"days","frequencyInterval":"timeBased"}}}`)
		ids["Bob: MFA off-network"] = e.caPolicy(t, f.writer, `{"displayName":"Bob: MFA off-network","state":"enabled","conditions":{"clientAppTypes":["all"],`+all+`,
			"users":{"includeUsers":["`+bob.ID+`"]},"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
			"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)
		ids["Carol: no legacy"] = e.caPolicy(t, f.writer, `{"displayName":"Carol: no legacy","state":"enabled","conditions":{"clientAppTypes":["exchangeActiveSync","other"],`+all+`,
			"users":{"includeUsers":["`+carol.ID+`"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)

		type attempt struct {
			upn, ip, app, ua string
			kind             policy.ClientApp
		}
		var attempts []attempt
		for _, upn := range []string{f.user.UPN, bob.UPN, carol.UPN} {
			for _, ip := range []string{"10.1.1.5", "198.51.100.7"} {
				for _, kind := range []policy.ClientApp{policy.ClientBrowser, policy.ClientMobileDesktop, policy.ClientExchangeActiveSync} {
					attempts = append(attempts, attempt{upn, ip, "", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", kind},
						attempt{upn, ip, payroll, "Mozilla/5.0 (Linux; Android 14)", kind})
				}
			}
		}
		for _, a := range attempts {
			v, err := e.app.SignIn.Start(e.ctx, f.tn.id, a.upn, signin.Client{Kind: a.kind, IP: netip.MustParseAddr(a.ip), App: a.app, UserAgent: a.ua})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.SignIn.Password(e.ctx, f.tn.id, v.FlowID, adminPassword, false); err != nil {
				t.Fatalf("%+v: %v", a, err)
			}
		}
		if err := e.app.SignInLog.Flush(e.ctx); err != nil {
			t.Fatal(err)
		}
		p, err := e.app.Store.ListSignIns(e.ctx, f.tn.id, store.ListQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != len(attempts) {
			t.Fatalf("%d log entries for %d sign-ins", len(p.Items), len(attempts))
		}

		clientType := map[string]string{"Browser": "browser", "Mobile Apps and Desktop clients": "mobileAppsAndDesktopClients",
			"Exchange ActiveSync": "exchangeActiveSync", "Other clients": "other"}
		logged := map[string]map[string]int{} // policy name → log result → count
		outcomes := map[string]int{}
		for _, entry := range p.Items {
			if len(entry.AppliedCAPolicies) != len(ids) {
				t.Fatalf("entry %s has %d policy results", entry.ID, len(entry.AppliedCAPolicies))
			}
			platform := "windows"
			if strings.Contains(entry.UserAgent, "Android") {
				platform = "android"
			}
			body := fmt.Sprintf(`{"user":%q,"ipAddress":%q,"clientAppType":%q,"appId":%q,"platform":%q}`,
				entry.UserPrincipalName, entry.IPAddress, clientType[entry.ClientAppUsed], entry.AppID, platform)
			w := e.send(t, f.reader, "POST", caEvaluate, body).want(t, "evaluate", http.StatusOK)
			for _, ap := range entry.AppliedCAPolicies {
				if logged[ap.DisplayName] == nil {
					logged[ap.DisplayName] = map[string]int{}
				}
				logged[ap.DisplayName][ap.Result]++
				got := str(whatIfPolicy(t, w, ap.DisplayName), "result")
				want := ap.Result
				if !strings.HasPrefix(want, "reportOnly") {
					// Enforced: the log says success or failure for a policy
					// that applied, What If says applied.
					want = map[string]string{"success": "applied", "failure": "applied"}[want]
					if want == "" {
						want = ap.Result
					}
				}
				if got != want {
					t.Errorf("%s %s %s %s: %s logged %s, What If says %s", entry.UserPrincipalName, entry.IPAddress, entry.ClientAppUsed, platform,
						ap.DisplayName, ap.Result, got)
				}
			}
			// The decision matches how the sign-in ended.
			outcome := str(sub(w.obj, "decision"), "outcome")
			outcomes[outcome]++
			wantCode := map[string][]int{"allow": {0}, "mfa": {policy.CodeMFARequired, policy.CodeRegistrationRequired}, "block": {policy.CodeBlockedByPolicy}}[outcome]
			found := false
			for _, c := range wantCode {
				found = found || entry.ErrorCode == c
			}
			if !found {
				t.Errorf("%s %s %s: What If says %s, the sign-in ended with %d (%s)", entry.UserPrincipalName, entry.IPAddress, entry.ClientAppUsed,
					outcome, entry.ErrorCode, entry.FailureReason)
			}
		}
		if outcomes["allow"] == 0 || outcomes["mfa"] == 0 || outcomes["block"] == 0 {
			t.Errorf("the sign-ins do not cover every outcome: %v", outcomes)
		}

		// Replay agrees with the log, policy by policy.
		for name, id := range ids {
			r := e.send(t, f.reader, "POST", "/beta"+caPolicies+"/"+id+"/replay", `{"days":1}`).want(t, "replay "+name, http.StatusOK)
			s := sub(r.obj, "signIns")
			n := func(k string) int { v, _ := s[k].(float64); return int(v) }
			l := logged[name]
			var want map[string]int
			if strings.HasPrefix(name, "Trial") {
				want = map[string]int{"total": len(p.Items), "wouldBlock": l["reportOnlyFailure"],
					"wouldRequireMfa": l["reportOnlyInterrupted"], "wouldSucceed": l["reportOnlySuccess"], "notApplied": l["reportOnlyNotApplied"]}
			} else {
				want = map[string]int{"total": len(p.Items), "notApplied": l["notApplied"], "wouldSucceed": l["success"]}
				if got := n("wouldBlock") + n("wouldRequireMfa") + n("wouldRequireOther"); got != l["failure"] {
					t.Errorf("replay %s: %d would block or prompt, the log has %d failures", name, got, l["failure"])
				}
			}
			for k, v := range want {
				if n(k) != v {
					t.Errorf("replay %s: %s = %d, the log says %d (%v; log %v)", name, k, n(k), v, s, l)
				}
			}
			if n("skipped") != 0 || n("wouldRequireOther") != 0 {
				t.Errorf("replay %s: %v", name, s)
			}
		}
		// Every kind of report-only result occurred.
		seen := map[string]bool{}
		for _, m := range logged {
			for k := range m {
				seen[k] = true
			}
		}
		for _, k := range []string{"reportOnlyFailure", "reportOnlyInterrupted", "reportOnlySuccess", "reportOnlyNotApplied", "success", "failure", "notApplied"} {
			if !seen[k] {
				t.Errorf("no sign-in logged %s: %v", k, logged)
			}
		}
	})
}

func adminNewUser(upn string) admin.NewUser {
	return admin.NewUser{UPN: upn, DisplayName: upn, Password: adminPassword}
}

func caDefaultsOff(t *testing.T, e *env, tenantID string) {
	t.Helper()
	if err := e.app.Policies.SetSecurityDefaults(e.ctx, mOperator, tenantID, false, "testing conditional access", true); err != nil {
		t.Fatal(err)
	}
}
