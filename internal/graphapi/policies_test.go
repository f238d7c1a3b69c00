package graphapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

const (
	amPolicy   = "/policies/authenticationMethodsPolicy"
	amConfigs  = amPolicy + "/authenticationMethodConfigurations/"
	sdPolicy   = "/policies/identitySecurityDefaultsEnforcementPolicy"
	polSDID    = "00000000-0000-0000-0000-000000000005"
	polRoleCAA = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
)

// samplePolicy is the sample of graph-api.md §1, verbatim.
const samplePolicy = `{"@odata.context":"https://vakt.example/v1.0/$metadata#authenticationMethodsPolicy",
 "id":"authenticationMethodsPolicy","policyVersion":"1.5","policyMigrationState":"migrationComplete",
 "registrationEnforcement":{"authenticationMethodsRegistrationCampaign":{"snoozeDurationInDays":1,"state":"default","excludeTargets":[],
   "includeTargets":[{"id":"all_users","targetType":"group","targetedAuthenticationMethod":"microsoftAuthenticator"}]}},
 "authenticationMethodConfigurations":[
  {"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration","id":"MicrosoftAuthenticator","state":"enabled","isSoftwareOathEnabled":false,"excludeTargets":[],
   "includeTargets":[{"id":"all_users","targetType":"group","isRegistrationRequired":false,"authenticationMode":"any"}]},
  {"@odata.type":"#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration","id":"TemporaryAccessPass","state":"enabled",
   "defaultLifetimeInMinutes":60,"defaultLength":8,"minimumLifetimeInMinutes":60,"maximumLifetimeInMinutes":480,"isUsableOnce":false,"excludeTargets":[],"includeTargets":[]}]}`

// polFix is a tenant with a user, a group and apps with the policy
// permissions.
type polFix struct {
	tn                 tenantFix
	user               store.User
	group              store.Group
	readerID, reader   string // Policy.Read.All
	methodsID, methods string // Policy.ReadWrite.AuthenticationMethod + AuditLog.Read.All
	sdID, sd           string // Policy.ReadWrite.ConditionalAccess + AuditLog.Read.All
	uamRead, uamWrite  string // UserAuthenticationMethod.Read.All / ReadWrite.All
	uamWriteID         string
	userRW, nothing    string
}

func newPolFix(t *testing.T, e *env, domain string) polFix {
	t.Helper()
	f := polFix{tn: e.tenant(domain)}
	var err error
	f.user, err = e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, admin.NewUser{UPN: "alice@" + domain, DisplayName: "Alice", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	f.group, err = e.app.Admin.CreateGroup(e.ctx, mOperator, f.tn.id, admin.NewGroup{DisplayName: "Finance"})
	if err != nil {
		t.Fatal(err)
	}
	f.readerID, f.reader = e.appToken(f.tn.id, "policy-reader", "Policy.Read.All")
	f.methodsID, f.methods = e.appToken(f.tn.id, "methods-policy", "Policy.ReadWrite.AuthenticationMethod", "AuditLog.Read.All")
	f.sdID, f.sd = e.appToken(f.tn.id, "security-defaults", "Policy.ReadWrite.ConditionalAccess", "AuditLog.Read.All")
	_, f.uamRead = e.appToken(f.tn.id, "uam-reader", "UserAuthenticationMethod.Read.All")
	f.uamWriteID, f.uamWrite = e.appToken(f.tn.id, "uam-writer", "UserAuthenticationMethod.ReadWrite.All", "AuditLog.Read.All")
	_, f.userRW = e.appToken(f.tn.id, "user-writer", "User.ReadWrite.All")
	_, f.nothing = e.appToken(f.tn.id, "nothing")
	return f
}

// subset fails unless every property of want is in got with the same
// value (arrays element by element, same length).
func subset(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want an object", path, got)
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			subset(t, path+"."+k, v, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			subset(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

func configsByID(t *testing.T, obj map[string]any) map[string]map[string]any {
	t.Helper()
	arr, ok := obj["authenticationMethodConfigurations"].([]any)
	if !ok {
		t.Fatalf("no authenticationMethodConfigurations array: %v", obj)
	}
	out := map[string]map[string]any{}
	for _, x := range arr {
		m, _ := x.(map[string]any)
		out[str(m, "id")] = m
	}
	return out
}

// polSnapshot is the policy as beta shows it, to prove nothing changed.
func polSnapshot(t *testing.T, e *env, f polFix) string {
	t.Helper()
	p, err := e.app.Policies.Load(e.ctx, f.tn.id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	raw, _ := e.app.Store.GetSetting(e.ctx, f.tn.id, securityinfo.TAPPolicySetting)
	sd, _ := e.app.Policies.SecurityDefaults(e.ctx, f.tn.id)
	return fmt.Sprintf("%s|%s|%v", b, raw, sd)
}

// TestGraphMethodsPolicyShape compares GET with the sample of §1 and checks
// what each API version shows.
func TestGraphMethodsPolicyShape(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		r := e.get(t, f.reader, "/v1.0"+amPolicy).want(t, "GET policy", http.StatusOK)

		var sample map[string]any
		if err := json.Unmarshal([]byte(strings.ReplaceAll(samplePolicy, "https://vakt.example", e.base)), &sample); err != nil {
			t.Fatal(err)
		}
		// The sample's tenant has no TAP include targets; vakt's new
		// tenants have TAP enabled for all users (authpolicy.DefaultMethods).
		sampleCfgs := sample["authenticationMethodConfigurations"].([]any)
		sampleCfgs[1].(map[string]any)["includeTargets"] = []any{map[string]any{"id": "all_users", "targetType": "group", "isRegistrationRequired": false}}
		delete(sample, "authenticationMethodConfigurations")
		subset(t, "policy", sample, r.obj)
		got := configsByID(t, r.obj)
		for _, sc := range sampleCfgs {
			m := sc.(map[string]any)
			subset(t, str(m, "id"), m, got[str(m, "id")])
		}
		wantKeys(t, "v1.0 policy", r.obj, "@odata.context", "id", "displayName", "description", "lastModifiedDateTime", "policyVersion",
			"policyMigrationState", "reconfirmationInDays", "registrationEnforcement", "authenticationMethodConfigurations")
		wantTime(t, "policy", r.obj, "lastModifiedDateTime")
		v1IDs := []string{"MicrosoftAuthenticator", "Fido2", "Sms", "Voice", "Email", "SoftwareOath", "TemporaryAccessPass", "X509Certificate"}
		if ids := ids(anyMaps(r.obj["authenticationMethodConfigurations"])); !slices.Equal(ids, v1IDs) {
			t.Errorf("v1.0 configuration ids %v, want %v", ids, v1IDs)
		}
		types := map[string]string{"MicrosoftAuthenticator": "microsoftAuthenticator", "Fido2": "fido2", "Sms": "sms", "Voice": "voice",
			"Email": "email", "SoftwareOath": "softwareOath", "HardwareOath": "hardwareOath", "TemporaryAccessPass": "temporaryAccessPass",
			"X509Certificate": "x509Certificate"}
		for id, m := range got {
			if want := "#microsoft.graph." + types[id] + "AuthenticationMethodConfiguration"; str(m, "@odata.type") != want {
				t.Errorf("%s: @odata.type %q, want %q", id, str(m, "@odata.type"), want)
			}
		}
		// Method-specific properties and defaults.
		wantKeys(t, "Fido2", got["Fido2"], "@odata.type", "id", "state", "isSelfServiceRegistrationAllowed", "isAttestationEnforced",
			"keyRestrictions", "excludeTargets", "includeTargets")
		wantProps(t, "Fido2", got["Fido2"], "keyRestrictions", map[string]any{"isEnforced": false, "enforcementType": "block", "aaGuids": []any{}})
		wantProps(t, "Sms", got["Sms"], "includeTargets", []any{map[string]any{"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "isUsableForSignIn": false}})
		wantProps(t, "Voice", got["Voice"], "isOfficePhoneAllowed", false, "state", "enabled")
		wantProps(t, "Email", got["Email"], "allowExternalIdToUseEmailOtp", "default")
		wantProps(t, "X509Certificate", got["X509Certificate"], "state", "disabled")
		fs, _ := got["MicrosoftAuthenticator"]["featureSettings"].(map[string]any)
		wantKeys(t, "v1.0 featureSettings", fs, "displayAppInformationRequiredState", "displayLocationInformationRequiredState")
		wantProps(t, "featureSettings", fs, "displayAppInformationRequiredState", map[string]any{"state": "default",
			"includeTarget": map[string]any{"id": "all_users", "targetType": "group"},
			"excludeTarget": map[string]any{"id": "00000000-0000-0000-0000-000000000000", "targetType": "group"}})

		// Beta adds its properties, HardwareOath and the beta feature settings.
		b := e.get(t, f.reader, "/beta"+amPolicy).want(t, "GET beta policy", http.StatusOK)
		if str(b.obj, "@odata.context") != e.base+"/beta/$metadata#authenticationMethodsPolicy" {
			t.Errorf("beta context %q", str(b.obj, "@odata.context"))
		}
		wantProps(t, "beta policy", b.obj,
			"systemCredentialPreferences", map[string]any{"state": "default", "excludeTargets": []any{},
				"includeTargets": []any{map[string]any{"id": "all_users", "targetType": "group"}}},
			"reportSuspiciousActivitySettings", map[string]any{"state": "default", "voiceReportingCode": 0,
				"includeTarget": map[string]any{"id": "all_users", "targetType": "group"}})
		bc := configsByID(t, b.obj)
		if len(bc) != 9 || bc["HardwareOath"] == nil {
			t.Errorf("beta configurations %v", keysOf(anyMapByID(bc)))
		}
		bfs, _ := bc["MicrosoftAuthenticator"]["featureSettings"].(map[string]any)
		wantKeys(t, "beta featureSettings", bfs, "displayAppInformationRequiredState", "displayLocationInformationRequiredState",
			"numberMatchingRequiredState", "companionAppAllowedState")

		// $select and the harmless $expand.
		s := e.get(t, f.reader, q("/v1.0"+amPolicy, "$select", "id,policyVersion")).want(t, "$select", http.StatusOK)
		wantKeys(t, "$select", s.obj, "@odata.context", "id", "policyVersion")
		e.get(t, f.reader, q("/v1.0"+amPolicy, "$expand", "authenticationMethodConfigurations")).want(t, "$expand", http.StatusOK)

		// One configuration, case-insensitive id, canonical id back.
		c := e.get(t, f.reader, "/v1.0"+amConfigs+"temporaryaccesspass").want(t, "GET config", http.StatusOK)
		subset(t, "TAP", sampleCfgs[1], c.obj)
		wantProps(t, "TAP", c.obj, "@odata.context", e.base+"/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity")
		checkGraphError(t, "HardwareOath under v1.0", e.get(t, f.reader, "/v1.0"+amConfigs+"HardwareOath"), http.StatusBadRequest)
		e.get(t, f.reader, "/beta"+amConfigs+"hardwareoath").want(t, "HardwareOath under beta", http.StatusOK)
		checkGraphError(t, "unknown config", e.get(t, f.reader, "/v1.0"+amConfigs+"Pigeon"), http.StatusBadRequest)
	})
}

func anyMaps(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, len(arr))
	for i, x := range arr {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func anyMapByID(m map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestGraphMethodsPolicyPatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		body := `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "enabled", "snoozeDurationInDays": 3,
			"excludeTargets": [{"id": "` + f.group.ID + `", "targetType": "group"}]}}, "reconfirmationInDays": 60}`
		r := e.send(t, f.methods, "PATCH", "/v1.0"+amPolicy, body).want(t, "PATCH policy", http.StatusOK)
		if str(r.obj, "@odata.context") != e.base+"/v1.0/$metadata#authenticationMethodsPolicy" || len(configsByID(t, r.obj)) != 8 {
			t.Errorf("PATCH answer is not the full object: %s", r.raw)
		}
		wantProps(t, "PATCH answer", r.obj, "reconfirmationInDays", 60, "registrationEnforcement", map[string]any{
			"authenticationMethodsRegistrationCampaign": map[string]any{"state": "enabled", "snoozeDurationInDays": 3,
				"excludeTargets": []any{map[string]any{"id": f.group.ID, "targetType": "group"}},
				"includeTargets": []any{map[string]any{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}}}})
		g := e.get(t, f.reader, "/v1.0"+amPolicy).want(t, "GET after PATCH", http.StatusOK)
		delete(g.obj, "@odata.context")
		delete(r.obj, "@odata.context")
		subset(t, "GET after PATCH", r.obj, g.obj)
		e.checkAudit(t, f.methods, f.methodsID, "Update authentication methods policy", "authenticationMethodsPolicy", "registrationEnforcement", "reconfirmationInDays")

		// Beta properties under /beta.
		r = e.send(t, f.methods, "PATCH", "/beta"+amPolicy, `{"systemCredentialPreferences": {"state": "disabled",
			"excludeTargets": [{"id": "`+f.group.ID+`", "targetType": "group"}]}}`).want(t, "PATCH beta", http.StatusOK)
		wantProps(t, "beta PATCH", r.obj, "systemCredentialPreferences", map[string]any{"state": "disabled",
			"excludeTargets": []any{map[string]any{"id": f.group.ID, "targetType": "group"}},
			"includeTargets": []any{map[string]any{"id": "all_users", "targetType": "group"}}})
		p, _ := e.app.Policies.Load(e.ctx, f.tn.id)
		if p.SystemPreferredApplies(f.user.ID, nil) {
			t.Error("system-preferred MFA disabled but applies")
		}
	})
}

func TestGraphMethodConfigurations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		r := e.send(t, f.methods, "PATCH", "/v1.0"+amConfigs+"fido2", `{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
			"isAttestationEnforced": true, "excludeTargets": [{"id": "`+f.group.ID+`", "targetType": "group"}]}`)
		wantNoContent(t, "PATCH fido2", r)
		g := e.get(t, f.reader, "/v1.0"+amConfigs+"FIDO2").want(t, "GET fido2", http.StatusOK)
		wantProps(t, "fido2", g.obj, "id", "Fido2", "isAttestationEnforced", true, "isSelfServiceRegistrationAllowed", true,
			"excludeTargets", []any{map[string]any{"id": f.group.ID, "targetType": "group"}})
		e.checkAudit(t, f.methods, f.methodsID, "Update authentication method configuration", "Fido2", "Fido2")

		// Beta feature settings of the authenticator.
		wantNoContent(t, "PATCH authenticator (beta)", e.send(t, f.methods, "PATCH", "/beta"+amConfigs+"MicrosoftAuthenticator",
			`{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration", "isSoftwareOathEnabled": true,
			 "featureSettings": {"numberMatchingRequiredState": {"state": "enabled"}, "displayLocationInformationRequiredState": {"state": "enabled",
			   "excludeTarget": {"id": "`+f.group.ID+`", "targetType": "group"}}}}`))
		a := e.get(t, f.reader, "/beta"+amConfigs+"MicrosoftAuthenticator").want(t, "GET authenticator", http.StatusOK)
		fs, _ := a.obj["featureSettings"].(map[string]any)
		wantProps(t, "featureSettings", fs, "numberMatchingRequiredState", map[string]any{"state": "enabled",
			"includeTarget": map[string]any{"id": "all_users", "targetType": "group"},
			"excludeTarget": map[string]any{"id": "00000000-0000-0000-0000-000000000000", "targetType": "group"}})
		wantProps(t, "featureSettings", fs, "displayLocationInformationRequiredState", map[string]any{"state": "enabled",
			"includeTarget": map[string]any{"id": "all_users", "targetType": "group"},
			"excludeTarget": map[string]any{"id": f.group.ID, "targetType": "group"}})
		wantNoContent(t, "PATCH hardware OATH (beta)", e.send(t, f.methods, "PATCH", "/beta"+amConfigs+"HardwareOath",
			`{"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration", "state": "disabled"}`))

		// DELETE resets to the defaults.
		wantNoContent(t, "DELETE fido2", e.do(t, f.methods, req{method: "DELETE", path: "/v1.0" + amConfigs + "Fido2"}))
		g = e.get(t, f.reader, "/v1.0"+amConfigs+"Fido2").want(t, "GET fido2 after reset", http.StatusOK)
		def, _ := json.Marshal(authpolicy.DefaultMethods().Fido2)
		var defObj map[string]any
		json.Unmarshal(def, &defObj)
		delete(g.obj, "@odata.context")
		wantKeys(t, "reset fido2", g.obj, keysOf(defObj)...)
		subset(t, "reset fido2", defObj, g.obj)
		e.checkAudit(t, f.methods, f.methodsID, "Reset authentication method configuration", "Fido2", "Fido2")
	})
}

// TestGraphTAPPolicySync: TAP bounds set through Graph are the bounds
// IssueTAP applies.
func TestGraphTAPPolicySync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		wantNoContent(t, "PATCH TAP", e.send(t, f.methods, "PATCH", "/v1.0"+amConfigs+"TemporaryAccessPass",
			`{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
			  "minimumLifetimeInMinutes": 30, "defaultLifetimeInMinutes": 45, "maximumLifetimeInMinutes": 120, "defaultLength": 12, "isUsableOnce": true}`))
		_, _, err := e.app.SecurityInfo.IssueTAP(e.ctx, mOperator, f.tn.id, f.user.ID, securityinfo.TAPRequest{LifetimeMinutes: 200})
		if ae, ok := apperr.As(err); !ok || !strings.Contains(ae.Message, "between 30 and 120") {
			t.Fatalf("TAP over the new maximum: %v", err)
		}
		m, pass, err := e.app.SecurityInfo.IssueTAP(e.ctx, mOperator, f.tn.id, f.user.ID, securityinfo.TAPRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pass) != 12 || m.Props.LifetimeMinutes != 45 || !m.Props.UsableOnce {
			t.Fatalf("TAP %q lifetime %d once %v", pass, m.Props.LifetimeMinutes, m.Props.UsableOnce)
		}
		// Disabled in the policy: no passes.
		wantNoContent(t, "disable TAP", e.send(t, f.methods, "PATCH", "/v1.0"+amConfigs+"temporaryAccessPass",
			`{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "disabled"}`))
		if _, _, err := e.app.SecurityInfo.IssueTAP(e.ctx, mOperator, f.tn.id, f.user.ID, securityinfo.TAPRequest{}); err == nil ||
			!strings.Contains(err.Error(), "disabled") {
			t.Fatalf("TAP while disabled: %v", err)
		}
		// DELETE: defaults again, for securityinfo too.
		wantNoContent(t, "reset TAP", e.do(t, f.methods, req{method: "DELETE", path: "/beta" + amConfigs + "TemporaryAccessPass"}))
		got, err := e.app.SecurityInfo.TAPPolicyFor(e.ctx, f.tn.id)
		if err != nil || got != securityinfo.DefaultTAPPolicy() {
			t.Fatalf("TAP policy after reset %+v %v", got, err)
		}
	})
}

// TestGraphPolicyBadInput: every refused request is a 400 with a Graph
// error body and writes nothing.
func TestGraphPolicyBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		ghost := "5f0e1b7c-3b9a-4e1a-9d61-1c2d3e4f5a6b"
		fido := `"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration"`
		tap := `"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"`
		type bad struct {
			name, method, path, body, ctype string
			target                          string
		}
		cases := []bad{
			{"policy: not JSON", "PATCH", "/v1.0" + amPolicy, `{"reconfirmationInDays":`, "", ""},
			{"policy: wrong content type", "PATCH", "/v1.0" + amPolicy, `{"reconfirmationInDays": 1}`, "text/plain", ""},
			{"policy: unknown property", "PATCH", "/v1.0" + amPolicy, `{"colour": "red"}`, "", "colour"},
			{"policy: read-only property", "PATCH", "/v1.0" + amPolicy, `{"displayName": "Mine"}`, "", "displayName"},
			{"policy: beta property under v1.0", "PATCH", "/v1.0" + amPolicy, `{"systemCredentialPreferences": {"state": "enabled"}}`, "", "systemCredentialPreferences"},
			{"policy: beta property under v1.0 (report)", "PATCH", "/v1.0" + amPolicy, `{"reportSuspiciousActivitySettings": {"state": "enabled"}}`, "", "reportSuspiciousActivitySettings"},
			{"policy: snooze 15", "PATCH", "/v1.0" + amPolicy, `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 15}}}`, "",
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.snoozeDurationInDays"},
			{"policy: bad state", "PATCH", "/v1.0" + amPolicy, `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "yes"}}}`, "",
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.state"},
			{"policy: unknown group", "PATCH", "/v1.0" + amPolicy, `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"excludeTargets": [{"id": "` + ghost + `", "targetType": "group"}]}}}`, "",
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.excludeTargets.id"},
			{"policy: two system-preferred includes", "PATCH", "/beta" + amPolicy, `{"systemCredentialPreferences": {"includeTargets": [{"id": "all_users", "targetType": "group"}, {"id": "` + f.group.ID + `", "targetType": "group"}]}}`, "",
				"systemCredentialPreferences.includeTargets"},
			{"policy: two system-preferred excludes", "PATCH", "/beta" + amPolicy, `{"systemCredentialPreferences": {"excludeTargets": [{"id": "` + f.user.ID + `", "targetType": "user"}, {"id": "` + f.group.ID + `", "targetType": "group"}]}}`, "",
				"systemCredentialPreferences.excludeTargets"},
			{"config: unknown id", "PATCH", "/v1.0" + amConfigs + "Pigeon", `{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration"}`, "", "id"},
			{"config: HardwareOath under v1.0", "PATCH", "/v1.0" + amConfigs + "HardwareOath", `{"@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethodConfiguration"}`, "", "id"},
			{"config: no @odata.type", "PATCH", "/v1.0" + amConfigs + "Fido2", `{"state": "disabled"}`, "", "@odata.type"},
			{"config: wrong @odata.type", "PATCH", "/v1.0" + amConfigs + "Fido2", `{` + tap + `, "state": "disabled"}`, "", "@odata.type"},
			{"config: unknown property", "PATCH", "/v1.0" + amConfigs + "Fido2", `{` + fido + `, "defaultLength": 9}`, "", "defaultLength"},
			{"config: bad state", "PATCH", "/v1.0" + amConfigs + "Fido2", `{` + fido + `, "state": "maybe"}`, "", "state"},
			{"config: unknown include group", "PATCH", "/v1.0" + amConfigs + "Fido2", `{` + fido + `, "includeTargets": [{"id": "` + ghost + `", "targetType": "group"}]}`, "", "includeTargets.id"},
			{"config: beta feature under v1.0", "PATCH", "/v1.0" + amConfigs + "MicrosoftAuthenticator", `{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration", "featureSettings": {"companionAppAllowedState": {"state": "enabled"}}}`, "",
				"featureSettings.companionAppAllowedState"},
			{"config: TAP lifetime 9", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "minimumLifetimeInMinutes": 9}`, "", "minimumLifetimeInMinutes"},
			{"config: TAP lifetime 43201", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "maximumLifetimeInMinutes": 43201}`, "", "maximumLifetimeInMinutes"},
			{"config: TAP min over max", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "minimumLifetimeInMinutes": 600, "defaultLifetimeInMinutes": 600}`, "", "minimumLifetimeInMinutes"},
			{"config: TAP default outside", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "defaultLifetimeInMinutes": 481}`, "", "defaultLifetimeInMinutes"},
			{"config: TAP length 7", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "defaultLength": 7}`, "", "defaultLength"},
			{"config: TAP length 49", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "defaultLength": 49}`, "", "defaultLength"},
			{"config: TAP length as text", "PATCH", "/v1.0" + amConfigs + "TemporaryAccessPass", `{` + tap + `, "defaultLength": "eight"}`, "", "defaultLength"},
			{"config: DELETE unknown", "DELETE", "/v1.0" + amConfigs + "Pigeon", "", "", "id"},
			{"security defaults: no isEnabled", "PATCH", "/v1.0" + sdPolicy, `{"reason": "x"}`, "", "isEnabled"},
			{"security defaults: isEnabled as text", "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": "false"}`, "", "isEnabled"},
			{"security defaults: read-only", "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false, "displayName": "Off"}`, "", "displayName"},
			{"security defaults: unknown", "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false, "why": "x"}`, "", "why"},
			{"security defaults: reason too long", "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false, "reason": "` + strings.Repeat("x", 1001) + `"}`, "", "reason"},
			{"preferences: bad method", "PATCH", "/beta/users/" + f.user.ID + "/authentication/signInPreferences", `{"userPreferredMethodForSecondaryAuthentication": "pigeon"}`, "",
				"userPreferredMethodForSecondaryAuthentication"},
			{"preferences: not registered", "PATCH", "/beta/users/" + f.user.ID + "/authentication/signInPreferences", `{"userPreferredMethodForSecondaryAuthentication": "push"}`, "",
				"userPreferredMethodForSecondaryAuthentication"},
			{"preferences: unknown property", "PATCH", "/beta/users/" + f.user.ID + "/authentication/signInPreferences", `{"systemPreferredAuthenticationMethod": "push"}`, "",
				"systemPreferredAuthenticationMethod"},
			{"preferences: boolean as text", "PATCH", "/beta/users/" + f.user.ID + "/authentication/signInPreferences", `{"isSystemPreferredAuthenticationMethodEnabled": "yes"}`, "",
				"isSystemPreferredAuthenticationMethodEnabled"},
			{"requirements: bad state", "PATCH", "/beta/users/" + f.user.ID + "/authentication/requirements", `{"perUserMfaState": "sometimes"}`, "", "perUserMfaState"},
			{"requirements: missing state", "PATCH", "/beta/users/" + f.user.ID + "/authentication/requirements", `{}`, "", "perUserMfaState"},
		}
		_, all := e.appToken(f.tn.id, "all-powerful", "Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.ConditionalAccess",
			"UserAuthenticationMethod.ReadWrite.All")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, snap := e.counts(t, f.tn.id), polSnapshot(t, e, f)
				r := e.do(t, all, req{method: c.method, path: c.path, body: c.body, ctype: c.ctype})
				checkGraphError(t, c.name, r, http.StatusBadRequest)
				if c.target != "" && mErrTarget(r) != c.target {
					t.Errorf("target %q, want %q: %s", mErrTarget(r), c.target, r.raw)
				}
				if !e.counts(t, f.tn.id).equal(before) || polSnapshot(t, e, f) != snap {
					t.Error("a refused request wrote something")
				}
				u, _ := e.app.Store.GetUser(e.ctx, f.tn.id, f.user.ID)
				if u.PreferredMFA != "" || u.SystemPreferredMFA != nil || u.PerUserMFA != store.PerUserMFADisabled {
					t.Errorf("user changed: %+v", u)
				}
			})
		}
	})
}

func TestGraphSecurityDefaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		r := e.get(t, f.reader, "/v1.0"+sdPolicy).want(t, "GET security defaults", http.StatusOK)
		wantKeys(t, "security defaults", r.obj, "@odata.context", "id", "displayName", "description", "isEnabled")
		wantProps(t, "security defaults", r.obj, "@odata.context", e.base+"/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
			"id", polSDID, "displayName", "Security Defaults", "isEnabled", true)
		s := e.get(t, f.reader, q("/v1.0"+sdPolicy, "$select", "isEnabled")).want(t, "$select", http.StatusOK)
		wantKeys(t, "$select", s.obj, "@odata.context", "id", "isEnabled") // id always comes along

		wantNoContent(t, "turn off", e.send(t, f.sd, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled": false, "reason": "Moving to conditional access policies"}`))
		wantProps(t, "after off", e.get(t, f.reader, "/v1.0"+sdPolicy).obj, "isEnabled", false)
		a := e.checkAudit(t, f.sd, f.sdID, "Update security defaults", polSDID, "IsEnabled")
		found := false
		for _, d := range anyMaps(a["additionalDetails"]) {
			found = found || (str(d, "key") == "reason" && str(d, "value") == "Moving to conditional access policies")
		}
		if !found {
			t.Errorf("reason not in additionalDetails: %v", a["additionalDetails"])
		}
		// The reason is optional over Graph.
		wantNoContent(t, "turn on", e.send(t, f.sd, "PATCH", "/beta"+sdPolicy, `{"isEnabled": true}`))
		wantNoContent(t, "turn off without reason", e.send(t, f.sd, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled": false}`))

		// Conditional access in the way: 409 naming the count.
		e.app.Policies.ConditionalAccess = polCA(2)
		t.Cleanup(func() { e.app.Policies.ConditionalAccess = nil })
		before := e.counts(t, f.tn.id)
		r = e.send(t, f.sd, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled": true}`)
		checkGraphError(t, "on with CA", r, http.StatusConflict)
		if msg := str(r.obj["error"].(map[string]any), "message"); msg != "Security defaults cannot be turned on while 2 conditional access policies are enabled; turn them off or to report-only first." {
			t.Errorf("message %q", msg)
		}
		if !e.counts(t, f.tn.id).equal(before) {
			t.Error("refused change wrote something")
		}
	})
}

type polCA int

func (n polCA) EnabledPolicyCount(context.Context, string) (int, error) { return int(n), nil }

func TestGraphSignInPreferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		path := "/beta/users/" + f.user.ID + "/authentication/signInPreferences"
		r := e.get(t, f.uamRead, path).want(t, "GET preferences", http.StatusOK)
		wantKeys(t, "preferences", r.obj, "@odata.context", "isSystemPreferredAuthenticationMethodEnabled", "userPreferredMethodForSecondaryAuthentication")
		wantProps(t, "preferences", r.obj, "isSystemPreferredAuthenticationMethodEnabled", true, "userPreferredMethodForSecondaryAuthentication", nil)
		checkGraphError(t, "v1.0", e.get(t, f.uamRead, "/v1.0/users/"+f.user.ID+"/authentication/signInPreferences"), http.StatusNotFound)
		checkGraphError(t, "/me with an app token", e.get(t, f.uamRead, "/beta/me/authentication/signInPreferences"), http.StatusBadRequest)
		checkGraphError(t, "unknown user", e.get(t, f.uamRead, "/beta/users/nobody@contoso.com/authentication/signInPreferences"), http.StatusNotFound)

		if _, err := e.app.SecurityInfo.SetPhone(e.ctx, mOperator, f.tn.id, f.user.ID, "mobile", "+46 70-123 45 67"); err != nil {
			t.Fatal(err)
		}
		wantNoContent(t, "PATCH preferences", e.send(t, f.uamWrite, "PATCH", "/beta/users/alice@contoso.com/authentication/signInPreferences",
			`{"isSystemPreferredAuthenticationMethodEnabled": false, "userPreferredMethodForSecondaryAuthentication": "sms"}`))
		r = e.get(t, f.uamRead, path).want(t, "GET after PATCH", http.StatusOK)
		wantProps(t, "preferences", r.obj, "isSystemPreferredAuthenticationMethodEnabled", false, "userPreferredMethodForSecondaryAuthentication", "sms")
		e.checkAudit(t, f.uamWrite, f.uamWriteID, "Update user sign-in preferences", f.user.ID,
			"IsSystemPreferredAuthenticationMethodEnabled", "UserPreferredMethodForSecondaryAuthentication")
		// null: back to the tenant's setting, no preferred method.
		wantNoContent(t, "PATCH nulls", e.send(t, f.uamWrite, "PATCH", path,
			`{"isSystemPreferredAuthenticationMethodEnabled": null, "userPreferredMethodForSecondaryAuthentication": null}`))
		r = e.get(t, f.uamRead, path).want(t, "GET after nulls", http.StatusOK)
		wantProps(t, "preferences", r.obj, "isSystemPreferredAuthenticationMethodEnabled", true, "userPreferredMethodForSecondaryAuthentication", nil)
		// The tenant's exclusion shows through.
		e.send(t, f.methods, "PATCH", "/beta"+amPolicy, `{"systemCredentialPreferences": {"excludeTargets": [{"id": "`+f.group.ID+`", "targetType": "group"}]}}`).
			want(t, "exclude finance", http.StatusOK)
		if err := e.app.Admin.AddMember(e.ctx, mOperator, f.tn.id, f.group.ID, f.user.ID); err != nil {
			t.Fatal(err)
		}
		wantProps(t, "excluded", e.get(t, f.uamRead, path).obj, "isSystemPreferredAuthenticationMethodEnabled", false)
	})
}

func TestGraphPerUserMFARequirements(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		path := "/beta/users/" + f.user.ID + "/authentication/requirements"
		r := e.get(t, f.uamRead, path).want(t, "GET requirements", http.StatusOK)
		wantKeys(t, "requirements", r.obj, "@odata.context", "perUserMfaState")
		wantProps(t, "requirements", r.obj, "perUserMfaState", "disabled")
		checkGraphError(t, "v1.0", e.get(t, f.uamRead, "/v1.0/users/"+f.user.ID+"/authentication/requirements"), http.StatusNotFound)

		// Security defaults are on: per-user MFA on top draws a warning.
		w := e.send(t, f.uamWrite, "PATCH", path, `{"perUserMfaState": "enforced"}`)
		wantNoContent(t, "PATCH enforced", w)
		const warning = `299 - "Per-user MFA and security defaults both apply to this user; turn per-user MFA off when you move to policies."`
		if got := w.header.Get("Warning"); got != warning {
			t.Errorf("Warning header %q, want %q", got, warning)
		}
		a := e.checkAudit(t, f.uamWrite, f.uamWriteID, "Update per-user multifactor authentication state", f.user.ID, "StrongAuthenticationRequirement")
		found := false
		for _, d := range anyMaps(a["additionalDetails"]) {
			found = found || (str(d, "key") == "warning" && strings.Contains(str(d, "value"), "security defaults both apply"))
		}
		if !found {
			t.Errorf("warning not in the audit entry: %v", a["additionalDetails"])
		}
		wantProps(t, "requirements", e.get(t, f.uamRead, "/beta/users/alice@contoso.com/authentication/requirements").obj, "perUserMfaState", "enforced")

		// Without security defaults (and without CA): no warning.
		wantNoContent(t, "security defaults off", e.send(t, f.sd, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled": false, "reason": "CA"}`))
		w = e.send(t, f.uamWrite, "PATCH", path, `{"perUserMfaState": "enabled"}`)
		wantNoContent(t, "PATCH enabled", w)
		if got := w.header.Get("Warning"); got != "" {
			t.Errorf("Warning %q without policies", got)
		}
		wantProps(t, "requirements", e.get(t, f.uamRead, path).obj, "perUserMfaState", "enabled")
	})
}

func TestGraphPolicyAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newPolFix(t, e, "contoso.com")
		prefs := "/beta/users/" + f.user.ID + "/authentication/signInPreferences"
		reqs := "/beta/users/" + f.user.ID + "/authentication/requirements"
		fido := `{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "isAttestationEnforced": true}`
		cases := []struct {
			name, token, method, path, body string
			status                          int
		}{
			{"reader reads the methods policy", f.reader, "GET", "/v1.0" + amPolicy, "", 200},
			{"reader reads a configuration", f.reader, "GET", "/v1.0" + amConfigs + "Sms", "", 200},
			{"reader reads security defaults", f.reader, "GET", "/v1.0" + sdPolicy, "", 200},
			{"reader patches the methods policy", f.reader, "PATCH", "/v1.0" + amPolicy, `{"reconfirmationInDays": 1}`, 403},
			{"reader patches a configuration", f.reader, "PATCH", "/v1.0" + amConfigs + "Fido2", fido, 403},
			{"reader resets a configuration", f.reader, "DELETE", "/v1.0" + amConfigs + "Fido2", "", 403},
			{"reader turns security defaults off", f.reader, "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false}`, 403},
			{"nothing reads the methods policy", f.nothing, "GET", "/v1.0" + amPolicy, "", 403},
			{"nothing reads security defaults", f.nothing, "GET", "/v1.0" + sdPolicy, "", 403},
			{"user writer reads security defaults", f.userRW, "GET", "/v1.0" + sdPolicy, "", 403},
			{"methods app turns security defaults off", f.methods, "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false}`, 403},
			{"security-defaults app patches the methods policy", f.sd, "PATCH", "/v1.0" + amPolicy, `{"reconfirmationInDays": 1}`, 403},
			{"security-defaults app patches a configuration", f.sd, "PATCH", "/v1.0" + amConfigs + "Fido2", fido, 403},
			{"methods app patches a configuration", f.methods, "PATCH", "/v1.0" + amConfigs + "Fido2", fido, 204},
			{"methods app reads the policy", f.methods, "GET", "/beta" + amPolicy, "", 200},
			{"policy reader reads preferences", f.reader, "GET", prefs, "", 403},
			{"method reader reads preferences", f.uamRead, "GET", prefs, "", 200},
			{"method reader patches preferences", f.uamRead, "PATCH", prefs, `{"isSystemPreferredAuthenticationMethodEnabled": false}`, 403},
			{"user writer patches preferences", f.userRW, "PATCH", prefs, `{"isSystemPreferredAuthenticationMethodEnabled": false}`, 403},
			{"method reader reads requirements", f.uamRead, "GET", reqs, "", 200},
			{"methods-policy app reads requirements", f.methods, "GET", reqs, "", 200},
			{"method reader patches requirements", f.uamRead, "PATCH", reqs, `{"perUserMfaState": "enabled"}`, 403},
			{"user writer reads requirements", f.userRW, "GET", reqs, "", 403},
			{"user writer patches requirements", f.userRW, "PATCH", reqs, `{"perUserMfaState": "enabled"}`, 403},
			{"no token", "", "GET", "/v1.0" + amPolicy, "", 401},
			{"no token on security defaults", "", "PATCH", "/v1.0" + sdPolicy, `{"isEnabled": false}`, 401},
			{"POST is not allowed", f.methods, "POST", "/v1.0" + amPolicy, `{}`, 405},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, snap := e.counts(t, f.tn.id), polSnapshot(t, e, f)
				r := e.do(t, c.token, req{method: c.method, path: c.path, body: c.body})
				if c.status >= 400 {
					code := checkGraphError(t, c.name, r, c.status)
					if c.status == 403 && code != "Authorization_RequestDenied" {
						t.Errorf("code %q", code)
					}
					if !e.counts(t, f.tn.id).equal(before) || polSnapshot(t, e, f) != snap {
						t.Error("a refused request wrote something")
					}
					return
				}
				r.want(t, c.name, c.status)
			})
		}
		// A Conditional Access Administrator may not change security
		// defaults (P-1.4: only Global and Security Administrators).
		caa := directory.Actor{UserID: f.tn.adminID, Roles: []string{polRoleCAA}}
		err := e.app.Policies.SetSecurityDefaults(e.ctx, caa, f.tn.id, false, "test", true)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Forbidden {
			t.Fatalf("Conditional Access Administrator: %v", err)
		}
		sec := directory.Actor{UserID: f.tn.adminID, Roles: []string{roleSecurityAdmin}}
		if err := e.app.Policies.SetSecurityDefaults(e.ctx, sec, f.tn.id, false, "test", true); err != nil {
			t.Fatalf("Security Administrator: %v", err)
		}
	})
}

// TestGraphPolicyIsolation: one tenant's policy change is not seen by
// another.
func TestGraphPolicyIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := newPolFix(t, e, "contoso.com")
		b := newPolFix(t, e, "fabrikam.com")
		wantNoContent(t, "contoso off", e.send(t, a.sd, "PATCH", "/v1.0"+sdPolicy, `{"isEnabled": false}`))
		wantNoContent(t, "contoso fido2 off", e.send(t, a.methods, "PATCH", "/v1.0"+amConfigs+"Fido2",
			`{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "disabled"}`))
		wantProps(t, "fabrikam security defaults", e.get(t, b.reader, "/v1.0"+sdPolicy).obj, "isEnabled", true)
		wantProps(t, "fabrikam fido2", e.get(t, b.reader, "/v1.0"+amConfigs+"Fido2").obj, "state", "enabled")
		// Another tenant's group is not a target here.
		r := e.send(t, b.methods, "PATCH", "/v1.0"+amConfigs+"Fido2", `{"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
			"includeTargets": [{"id": "`+a.group.ID+`", "targetType": "group"}]}`)
		checkGraphError(t, "foreign group", r, http.StatusBadRequest)
		checkGraphError(t, "foreign user", e.get(t, b.uamRead, "/beta/users/"+a.user.ID+"/authentication/requirements"), http.StatusNotFound)
	})
}
