package graphapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
)

// signInBase is a whole second, so filters can name times exactly.
var signInBase = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// addSignIns stores entries directly, as the sign-in log writer does.
func (e *env) addSignIns(t *testing.T, entries ...store.SignIn) {
	t.Helper()
	for i := 0; i < len(entries); i += 500 {
		if err := e.app.Store.AppendSignIns(e.ctx, entries[i:min(i+500, len(entries))]); err != nil {
			t.Fatal(err)
		}
	}
}

// fullSignIn has every property set, including evolvable enum members.
func fullSignIn(tenantID string) store.SignIn {
	return store.SignIn{
		ID: uuid.NewString(), TenantID: tenantID, CreatedAt: signInBase.Add(1234567 * time.Microsecond),
		UserID: uuid.NewString(), UserDisplayName: "Anna Berg", UserPrincipalName: "anna@contoso.com",
		AppID: "00000003-0000-0000-c000-000000000000", AppDisplayName: "Admin portal", IPAddress: "192.0.2.10",
		ClientAppUsed: "Browser", CorrelationID: uuid.NewString(), IsInteractive: true,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ConditionalAccessStatus: "failure",
		AppliedCAPolicies: []store.AppliedCAPolicy{
			{ID: "p1", DisplayName: "Require MFA", EnforcedGrantControls: []string{"Mfa"}, EnforcedSessionControls: []string{"SignInFrequency"}, Result: "failure"},
			{ID: "p2", DisplayName: "Report only: block legacy", Result: "reportOnlyFailure"},
			{ID: "p3", DisplayName: "Report only: compliant device", Result: "reportOnlyNotApplied"},
			{ID: "p4", DisplayName: "Unset", Result: ""},
		},
		ErrorCode: 50074, FailureReason: "Strong Authentication is required.", AdditionalDetails: "MFA denied",
		Location: store.SignInLocation{City: "Oslo", State: "Oslo", CountryOrRegion: "NO"},
		Device: store.SignInDevice{DeviceID: "dev-1", DisplayName: "ANNA-PC", OperatingSystem: "Windows 11", Browser: "Edge 120",
			IsCompliant: true, IsManaged: true, TrustType: "Azure AD joined"},
		RiskLevelDuringSignIn: "high", RiskLevelAggregated: "medium", RiskState: "atRisk",
		RiskDetail: "adminConfirmedAccountSafe", RiskEventTypes: []string{"unfamiliarFeatures", "anonymizedIPAddress"},
		AuthDetails: []store.AuthDetail{
			{Method: "Password", MethodDetail: "Password in the cloud", At: signInBase, StepRequirement: "Primary authentication",
				ResultDetail: "Correct password", Succeeded: true},
			{Method: "Text message", At: signInBase.Add(time.Second), StepRequirement: "MFA", ResultDetail: "MFA denied"},
		},
		AuthenticationRequirement: "multiFactorAuthentication",
	}
}

func signInKeysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// signInKeys fails unless m has exactly the properties want.
func signInKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	sort.Strings(w)
	if got := signInKeysOf(m); !slices.Equal(got, w) {
		t.Errorf("%s keys\n got  %v\n want %v", what, got, w)
	}
}

func signInObj(t *testing.T, m map[string]any, k string) map[string]any {
	t.Helper()
	o, ok := m[k].(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object: %v", k, m[k])
	}
	return o
}

func signInArr(t *testing.T, m map[string]any, k string) []any {
	t.Helper()
	a, ok := m[k].([]any)
	if !ok {
		t.Fatalf("%s is not an array: %v", k, m[k])
	}
	return a
}

var v1SignInKeys = []string{"id", "createdDateTime", "userId", "userDisplayName", "userPrincipalName", "appId", "appDisplayName",
	"ipAddress", "clientAppUsed", "correlationId", "isInteractive", "userAgent", "conditionalAccessStatus",
	"appliedConditionalAccessPolicies", "status", "location", "deviceDetail", "riskLevelDuringSignIn",
	"riskLevelAggregated", "riskState", "riskDetail", "riskEventTypes_v2"}

// TestGraphSignInShapes checks the v1.0 and beta shapes of a full and an
// empty sign-in, the collection and entity contexts, and the default
// values of empty fields.
func TestGraphSignInShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "reports", "AuditLog.Read.All")
		full := fullSignIn(tn.id)
		bare := store.SignIn{ID: uuid.NewString(), TenantID: tn.id, CreatedAt: signInBase.Add(-time.Hour)}
		e.addSignIns(t, full, bare)

		betaKeys := append(slices.Clone(v1SignInKeys), "authenticationDetails", "authenticationRequirement")
		for _, version := range []string{"v1.0", "beta"} {
			isBeta := version == "beta"
			wantKeys := v1SignInKeys
			if isBeta {
				wantKeys = betaKeys
			}
			list := e.get(t, tok, "/"+version+"/auditLogs/signIns").want(t, version+" list", http.StatusOK)
			if got := str(list.obj, "@odata.context"); got != e.base+"/"+version+"/$metadata#auditLogs/signIns" {
				t.Errorf("%s collection context %q", version, got)
			}
			items := list.values(t)
			if len(items) != 2 || str(items[0], "id") != full.ID || str(items[1], "id") != bare.ID {
				t.Fatalf("%s list: %v (want newest first)", version, ids(items))
			}
			one := e.get(t, tok, "/"+version+"/auditLogs/signIns/"+full.ID).want(t, version+" get", http.StatusOK)
			if got := str(one.obj, "@odata.context"); got != e.base+"/"+version+"/$metadata#auditLogs/signIns/$entity" {
				t.Errorf("%s entity context %q", version, got)
			}
			delete(one.obj, "@odata.context")
			for _, s := range []map[string]any{items[0], one.obj} {
				signInKeys(t, version+" signIn", s, wantKeys...)
				if str(s, "createdDateTime") != "2025-03-01T08:00:01.234567Z" || str(s, "userPrincipalName") != "anna@contoso.com" ||
					str(s, "userDisplayName") != "Anna Berg" || str(s, "userId") != full.UserID || str(s, "appId") != full.AppID ||
					str(s, "appDisplayName") != "Admin portal" || str(s, "ipAddress") != "192.0.2.10" || str(s, "clientAppUsed") != "Browser" ||
					str(s, "correlationId") != full.CorrelationID || s["isInteractive"] != true || str(s, "userAgent") != full.UserAgent ||
					str(s, "conditionalAccessStatus") != "failure" || str(s, "riskLevelDuringSignIn") != "high" ||
					str(s, "riskLevelAggregated") != "medium" || str(s, "riskState") != "atRisk" {
					t.Errorf("%s full sign-in: %v", version, s)
				}
				st := signInObj(t, s, "status")
				signInKeys(t, "status", st, "errorCode", "failureReason", "additionalDetails")
				if st["errorCode"] != float64(50074) || str(st, "failureReason") != full.FailureReason || str(st, "additionalDetails") != "MFA denied" {
					t.Errorf("status %v", st)
				}
				loc := signInObj(t, s, "location")
				signInKeys(t, "location", loc, "city", "state", "countryOrRegion", "geoCoordinates")
				if str(loc, "city") != "Oslo" || str(loc, "countryOrRegion") != "NO" || loc["geoCoordinates"] != nil {
					t.Errorf("location %v", loc)
				}
				dev := signInObj(t, s, "deviceDetail")
				signInKeys(t, "deviceDetail", dev, "deviceId", "displayName", "operatingSystem", "browser", "isCompliant", "isManaged", "trustType")
				if str(dev, "browser") != "Edge 120" || dev["isCompliant"] != true || dev["isManaged"] != true || str(dev, "trustType") != "Azure AD joined" {
					t.Errorf("deviceDetail %v", dev)
				}
				pols := signInArr(t, s, "appliedConditionalAccessPolicies")
				if len(pols) != 4 {
					t.Fatalf("policies %v", pols)
				}
				p0, _ := pols[0].(map[string]any)
				signInKeys(t, "appliedConditionalAccessPolicy", p0, "id", "displayName", "enforcedGrantControls", "enforcedSessionControls", "result")
				if str(p0, "result") != "failure" || fmt.Sprint(p0["enforcedGrantControls"]) != "[Mfa]" || fmt.Sprint(p0["enforcedSessionControls"]) != "[SignInFrequency]" {
					t.Errorf("policy %v", p0)
				}
				p1, _ := pols[1].(map[string]any)
				if g, ok := p1["enforcedGrantControls"].([]any); !ok || len(g) != 0 {
					t.Errorf("empty enforcedGrantControls should be [], got %v", p1["enforcedGrantControls"])
				}
				if p3, _ := pols[3].(map[string]any); str(p3, "result") != "unknown" {
					t.Errorf("empty result shown as %v", p3["result"])
				}
				if fmt.Sprint(s["riskEventTypes_v2"]) != "[unfamiliarFeatures anonymizedIPAddress]" {
					t.Errorf("riskEventTypes_v2 %v", s["riskEventTypes_v2"])
				}
				if isBeta {
					if str(s, "authenticationRequirement") != "multiFactorAuthentication" {
						t.Errorf("authenticationRequirement %v", s["authenticationRequirement"])
					}
					ad := signInArr(t, s, "authenticationDetails")
					if len(ad) != 2 {
						t.Fatalf("authenticationDetails %v", ad)
					}
					d0, _ := ad[0].(map[string]any)
					signInKeys(t, "authenticationDetail", d0, "authenticationMethod", "authenticationMethodDetail", "authenticationStepDateTime",
						"authenticationStepRequirement", "authenticationStepResultDetail", "succeeded")
					if str(d0, "authenticationMethod") != "Password" || str(d0, "authenticationStepDateTime") != "2025-03-01T08:00:00Z" ||
						d0["succeeded"] != true || str(d0, "authenticationStepResultDetail") != "Correct password" {
						t.Errorf("authenticationDetails[0] %v", d0)
					}
					if d1, _ := ad[1].(map[string]any); d1["succeeded"] != false || d1["authenticationMethodDetail"] != nil {
						t.Errorf("authenticationDetails[1] %v", d1)
					}
				}
			}

			// The empty sign-in: null optional strings, "none" risk, empty
			// arrays, notApplied.
			b := items[1]
			signInKeys(t, version+" bare signIn", b, wantKeys...)
			for _, k := range []string{"userId", "userDisplayName", "userPrincipalName", "appId", "appDisplayName", "ipAddress",
				"clientAppUsed", "correlationId", "userAgent"} {
				if b[k] != nil {
					t.Errorf("%s bare %s = %v, want null", version, k, b[k])
				}
			}
			for k, want := range map[string]string{"riskLevelDuringSignIn": "none", "riskLevelAggregated": "none", "riskState": "none",
				"riskDetail": "none", "conditionalAccessStatus": "notApplied"} {
				if str(b, k) != want {
					t.Errorf("%s bare %s = %v, want %s", version, k, b[k], want)
				}
			}
			if b["isInteractive"] != false || len(signInArr(t, b, "appliedConditionalAccessPolicies")) != 0 || len(signInArr(t, b, "riskEventTypes_v2")) != 0 {
				t.Errorf("%s bare: %v", version, b)
			}
			if st := signInObj(t, b, "status"); st["errorCode"] != float64(0) || st["failureReason"] != nil || st["additionalDetails"] != nil {
				t.Errorf("bare status %v", st)
			}
			loc := signInObj(t, b, "location")
			dev := signInObj(t, b, "deviceDetail")
			if loc["city"] != nil || loc["countryOrRegion"] != nil || dev["browser"] != nil || dev["deviceId"] != nil || dev["isManaged"] != false {
				t.Errorf("bare location %v device %v", loc, dev)
			}
			if isBeta {
				if str(b, "authenticationRequirement") != "singleFactorAuthentication" || len(signInArr(t, b, "authenticationDetails")) != 0 {
					t.Errorf("bare beta: %v", b)
				}
			}
		}

		// $select, on v1.0 and beta; beta-only properties only on beta.
		sel := e.get(t, tok, q("/v1.0/auditLogs/signIns", "$select", "userPrincipalName,status")).want(t, "$select", http.StatusOK)
		for _, it := range sel.values(t) {
			signInKeys(t, "$select", it, "id", "userPrincipalName", "status")
		}
		if !strings.HasSuffix(str(sel.obj, "@odata.context"), "#auditLogs/signIns(userPrincipalName,status)") {
			t.Errorf("$select context %q", str(sel.obj, "@odata.context"))
		}
		one := e.get(t, tok, q("/v1.0/auditLogs/signIns/"+full.ID, "$select", "riskState")).want(t, "get $select", http.StatusOK)
		signInKeys(t, "get $select", one.obj, "@odata.context", "id", "riskState")
		r := e.get(t, tok, q("/v1.0/auditLogs/signIns", "$select", "authenticationDetails"))
		checkGraphError(t, "v1.0 $select of a beta property", r, http.StatusBadRequest)
		sel = e.get(t, tok, q("/beta/auditLogs/signIns", "$select", "authenticationDetails,authenticationRequirement")).want(t, "beta $select", http.StatusOK)
		for _, it := range sel.values(t) {
			signInKeys(t, "beta $select", it, "id", "authenticationDetails", "authenticationRequirement")
		}
	})
}

// TestGraphSignInEnumPreference: evolvable enum members (after
// unknownFutureValue) only with Prefer: include-unknown-enum-members.
func TestGraphSignInEnumPreference(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "reports", "AuditLog.Read.All")
		full := fullSignIn(tn.id)
		odd := store.SignIn{ID: uuid.NewString(), TenantID: tn.id, CreatedAt: signInBase.Add(-time.Minute),
			ConditionalAccessStatus: "somethingNew", RiskLevelDuringSignIn: "extreme",
			AppliedCAPolicies: []store.AppliedCAPolicy{{ID: "p", Result: "reportOnlyInterrupted"}, {ID: "q", Result: "bogus"}}}
		e.addSignIns(t, full, odd)

		results := func(s map[string]any) []string {
			var out []string
			for _, p := range signInArr(t, s, "appliedConditionalAccessPolicies") {
				out = append(out, str(p.(map[string]any), "result"))
			}
			return out
		}
		for _, c := range []struct {
			name        string
			hdr         []string
			wantResults []string
			wantDetail  string
			wantOdd     []string
			applied     bool
		}{
			{"no Prefer", nil, []string{"failure", "unknownFutureValue", "unknownFutureValue", "unknown"}, "unknownFutureValue",
				[]string{"unknownFutureValue", "unknownFutureValue"}, false},
			{"other preference", []string{"Prefer", "odata.maxpagesize=10"}, []string{"failure", "unknownFutureValue", "unknownFutureValue", "unknown"},
				"unknownFutureValue", []string{"unknownFutureValue", "unknownFutureValue"}, false},
			{"include-unknown-enum-members", []string{"Prefer", "include-unknown-enum-members"},
				[]string{"failure", "reportOnlyFailure", "reportOnlyNotApplied", "unknown"}, "adminConfirmedAccountSafe",
				[]string{"reportOnlyInterrupted", "unknownFutureValue"}, true},
			{"in a list, any case", []string{"Prefer", "odata.maxpagesize=10, Include-Unknown-Enum-Members"},
				[]string{"failure", "reportOnlyFailure", "reportOnlyNotApplied", "unknown"}, "adminConfirmedAccountSafe",
				[]string{"reportOnlyInterrupted", "unknownFutureValue"}, true},
		} {
			for _, version := range []string{"v1.0", "beta"} {
				list := e.get(t, tok, "/"+version+"/auditLogs/signIns", c.hdr...).want(t, c.name, http.StatusOK)
				items := list.values(t)
				one := e.get(t, tok, "/"+version+"/auditLogs/signIns/"+full.ID, c.hdr...).want(t, c.name, http.StatusOK)
				for _, s := range []map[string]any{items[0], one.obj} {
					if got := results(s); !slices.Equal(got, c.wantResults) {
						t.Errorf("%s %s: results %v, want %v", version, c.name, got, c.wantResults)
					}
					if got := str(s, "riskDetail"); got != c.wantDetail {
						t.Errorf("%s %s: riskDetail %q, want %q", version, c.name, got, c.wantDetail)
					}
				}
				if got := results(items[1]); !slices.Equal(got, c.wantOdd) {
					t.Errorf("%s %s: odd results %v, want %v", version, c.name, got, c.wantOdd)
				}
				// Values vakt does not know are unknownFutureValue either way.
				if str(items[1], "conditionalAccessStatus") != "unknownFutureValue" || str(items[1], "riskLevelDuringSignIn") != "unknownFutureValue" {
					t.Errorf("%s %s: odd %v", version, c.name, items[1])
				}
				for _, r := range []*resp{list, one} {
					if got := r.header.Get("Preference-Applied"); (got == "include-unknown-enum-members") != c.applied {
						t.Errorf("%s %s: Preference-Applied %q", version, c.name, got)
					}
				}
			}
		}
	})
}

// TestGraphSignInPaging pages through 250 sign-ins, newest first, with
// and without $top, and in ascending order.
func TestGraphSignInPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "reports", "AuditLog.Read.All")
		const n = 250
		var entries []store.SignIn
		for i := range n {
			// Pairs share a timestamp so the id breaks ties across pages.
			entries = append(entries, store.SignIn{ID: uuid.NewString(), TenantID: tn.id, CreatedAt: signInBase.Add(time.Duration(i/2) * time.Second),
				UserPrincipalName: fmt.Sprintf("user%03d@contoso.com", i)})
		}
		e.addSignIns(t, entries...)

		check := func(name string, items []map[string]any, desc bool) {
			t.Helper()
			if len(items) != n {
				t.Fatalf("%s: %d items, want %d", name, len(items), n)
			}
			seen := map[string]bool{}
			for i, it := range items {
				id := str(it, "id")
				if seen[id] {
					t.Fatalf("%s: %s twice", name, id)
				}
				seen[id] = true
				if i > 0 {
					a, b := str(items[i-1], "createdDateTime"), str(it, "createdDateTime")
					if (desc && a < b) || (!desc && a > b) {
						t.Fatalf("%s: out of order at %d: %s then %s", name, i, a, b)
					}
				}
			}
		}
		for _, c := range []struct {
			name  string
			path  string
			pages int
			desc  bool
		}{
			{"default page size", "/v1.0/auditLogs/signIns", 3, true},
			{"$top=7", q("/v1.0/auditLogs/signIns", "$top", "7"), 36, true},
			{"$top=1000", q("/v1.0/auditLogs/signIns", "$top", "1000"), 1, true},
			{"$orderby asc", q("/v1.0/auditLogs/signIns", "$orderby", "createdDateTime", "$top", "100"), 3, false},
			{"$orderby desc", q("/v1.0/auditLogs/signIns", "$orderby", "createdDateTime desc", "$top", "100"), 3, true},
			{"paged filter", q("/v1.0/auditLogs/signIns", "$filter", "startswith(userPrincipalName,'user')", "$top", "120"), 3, true},
		} {
			items, pages := e.pageAll(t, tok, c.path)
			if pages != c.pages {
				t.Errorf("%s: %d pages, want %d", c.name, pages, c.pages)
			}
			check(c.name, items, c.desc)
		}
		first := e.get(t, tok, "/v1.0/auditLogs/signIns").want(t, "first page", http.StatusOK)
		if v := first.values(t); len(v) != 100 || str(v[0], "id") != entries[n-1].ID && str(v[0], "id") != entries[n-2].ID {
			t.Fatalf("first page starts with %v", ids(v)[:1])
		}
		// The nextLink keeps the other options, under the same version.
		beta := e.get(t, tok, q("/beta/auditLogs/signIns", "$top", "10", "$select", "userPrincipalName")).want(t, "beta page", http.StatusOK)
		next := str(beta.obj, "@odata.nextLink")
		if !strings.HasPrefix(next, e.base+"/beta/auditLogs/signIns?") || !strings.Contains(next, "$top=10") ||
			!strings.Contains(next, "$select=userPrincipalName") || !strings.Contains(next, "$skiptoken=") {
			t.Fatalf("beta nextLink %q", next)
		}
		second := e.get(t, tok, next).want(t, "beta second page", http.StatusOK)
		if v := second.values(t); len(v) != 10 || slices.Contains(ids(beta.values(t)), str(v[0], "id")) {
			t.Fatalf("beta second page %v", ids(v))
		}
		// A page token of the descending order does not fit the ascending one.
		tok2 := next[strings.Index(next, "$skiptoken=")+len("$skiptoken="):]
		r := e.get(t, tok, q("/v1.0/auditLogs/signIns", "$orderby", "createdDateTime asc", "$skiptoken", tok2))
		checkGraphError(t, "skiptoken of another order", r, http.StatusBadRequest)
	})
}

// TestGraphSignInFilters checks each filterable property against the
// rows it must select.
func TestGraphSignInFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "reports", "AuditLog.Read.All")
		corr := uuid.NewString()
		// Row i is at base + i minutes.
		rows := []store.SignIn{
			{UserID: "u-anna", UserPrincipalName: "Anna@Contoso.com", UserDisplayName: "Anna Berg", AppID: "app-portal", AppDisplayName: "Admin Portal",
				IPAddress: "192.0.2.1", ClientAppUsed: "Browser", IsInteractive: true, ConditionalAccessStatus: "success", RiskLevelDuringSignIn: "low"},
			{UserID: "u-anna", UserPrincipalName: "anna@contoso.com", UserDisplayName: "Anna Berg", AppID: "app-mail", AppDisplayName: "Mail",
				IPAddress: "198.51.100.7", ClientAppUsed: "Mobile Apps and Desktop clients", IsInteractive: false, ErrorCode: 50126,
				FailureReason: "Invalid username or password.", ConditionalAccessStatus: "failure", RiskLevelDuringSignIn: "high"},
			{UserID: "u-bo", UserPrincipalName: "bo@contoso.com", UserDisplayName: "Bo Ek", AppID: "app-portal", AppDisplayName: "Admin Portal",
				IPAddress: "192.0.2.99", ClientAppUsed: "Browser", IsInteractive: true, ErrorCode: 50074, CorrelationID: corr},
			{UserID: "u-bo", UserPrincipalName: "bo@contoso.com", UserDisplayName: "Bo Ek", AppID: "app-legacy", AppDisplayName: "Legacy POP",
				IPAddress: "203.0.113.5", ClientAppUsed: "Other clients", IsInteractive: false, ConditionalAccessStatus: "notApplied", RiskLevelDuringSignIn: "none"},
			{UserID: "u-cy", UserPrincipalName: "cy_1%@contoso.com", UserDisplayName: "Cy O'Neil", AppID: "app-portal", AppDisplayName: "admin portal",
				IPAddress: "192.0.2.1", ClientAppUsed: "Browser", IsInteractive: true},
		}
		idx := map[string]int{}
		for i := range rows {
			rows[i].ID, rows[i].TenantID, rows[i].CreatedAt = uuid.NewString(), tn.id, signInBase.Add(time.Duration(i)*time.Minute)
			if rows[i].CorrelationID == "" {
				rows[i].CorrelationID = uuid.NewString()
			}
			idx[rows[i].ID] = i
		}
		e.addSignIns(t, rows...)
		at := func(i int) string { return signInBase.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }

		for _, c := range []struct {
			filter string
			want   []int // row numbers, newest first
		}{
			{"createdDateTime eq " + at(2), []int{2}},
			{"createdDateTime ge " + at(3), []int{4, 3}},
			{"createdDateTime gt " + at(3), []int{4}},
			{"createdDateTime le " + at(1), []int{1, 0}},
			{"createdDateTime lt " + at(1), []int{0}},
			{"createdDateTime ge " + at(1) + " and createdDateTime lt " + at(3), []int{2, 1}},
			{"createdDateTime ge 2025-03-01T09:01:00+01:00", []int{4, 3, 2, 1}},
			{"userPrincipalName eq 'anna@contoso.com'", []int{1, 0}},
			{"userPrincipalName eq 'ANNA@CONTOSO.COM'", []int{1, 0}},
			{"startswith(userPrincipalName,'bo@')", []int{3, 2}},
			{"startswith(userPrincipalName,'cy_1%')", []int{4}},
			{"startswith(userPrincipalName,'cy_2')", nil},
			{"userDisplayName eq 'Bo Ek'", []int{3, 2}},
			{"userDisplayName eq 'Cy O''Neil'", []int{4}},
			{"startswith(userDisplayName,'anna')", []int{1, 0}},
			{"appId eq 'app-portal'", []int{4, 2, 0}},
			{"startswith(appId,'app-l')", []int{3}},
			{"appDisplayName eq 'Admin Portal'", []int{4, 2, 0}},
			{"startswith(appDisplayName,'Leg')", []int{3}},
			{"ipAddress eq '192.0.2.1'", []int{4, 0}},
			{"startswith(ipAddress,'192.0.2.')", []int{4, 2, 0}},
			{"clientAppUsed eq 'Browser'", []int{4, 2, 0}},
			{"startswith(clientAppUsed,'Mobile')", []int{1}},
			{"correlationId eq '" + corr + "'", []int{2}},
			{"startswith(correlationId,'" + corr[:8] + "')", []int{2}},
			{"userId eq 'u-bo'", []int{3, 2}},
			{"startswith(userId,'u-c')", []int{4}},
			{"conditionalAccessStatus eq 'failure'", []int{1}},
			{"conditionalAccessStatus eq 'success'", []int{0}},
			// Empty is shown as notApplied, so it filters as notApplied.
			{"conditionalAccessStatus eq 'notApplied'", []int{4, 3, 2}},
			{"conditionalAccessStatus ne 'notApplied'", []int{1, 0}},
			{"startswith(conditionalAccessStatus,'not')", []int{4, 3, 2}},
			{"status/errorCode eq 0", []int{4, 3, 0}},
			{"status/errorCode ne 0", []int{2, 1}},
			{"status/errorCode eq 50126", []int{1}},
			{"Status/ErrorCode gt 50100", []int{1}},
			{"isInteractive eq true", []int{4, 2, 0}},
			{"isInteractive eq false", []int{3, 1}},
			{"isInteractive ne true", []int{3, 1}},
			{"riskLevelDuringSignIn eq 'high'", []int{1}},
			{"riskLevelDuringSignIn eq 'none'", []int{4, 3, 2}},
			{"riskLevelDuringSignIn ne 'none'", []int{1, 0}},
			{"id eq '" + rows[3].ID + "'", []int{3}},
			// Combinations.
			{"userPrincipalName eq 'anna@contoso.com' and status/errorCode ne 0", []int{1}},
			{"status/errorCode ne 0 or isInteractive eq false", []int{3, 2, 1}},
			{"not (appId eq 'app-portal') and createdDateTime ge " + at(0), []int{3, 1}},
			{"(userId eq 'u-anna' or userId eq 'u-cy') and not isInteractive eq false", []int{4, 0}},
		} {
			for _, version := range []string{"v1.0", "beta"} {
				r := e.get(t, tok, q("/"+version+"/auditLogs/signIns", "$filter", c.filter))
				if !r.expect(t, version+" "+c.filter, http.StatusOK) {
					continue
				}
				var got []int
				for _, it := range r.values(t) {
					got = append(got, idx[str(it, "id")])
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("%s $filter=%s: rows %v, want %v", version, c.filter, got, c.want)
				}
			}
		}

		// A createdDateTime read from a response filters back to its row,
		// sub-second precision included.
		odd := store.SignIn{ID: uuid.NewString(), TenantID: tn.id, CreatedAt: signInBase.Add(time.Hour + 123456*time.Microsecond)}
		e.addSignIns(t, odd)
		one := e.get(t, tok, "/v1.0/auditLogs/signIns/"+odd.ID).want(t, "get", http.StatusOK)
		r := e.get(t, tok, q("/v1.0/auditLogs/signIns", "$filter", "createdDateTime eq "+str(one.obj, "createdDateTime"))).want(t, "round trip", http.StatusOK)
		if got := ids(r.values(t)); !slices.Equal(got, []string{odd.ID}) {
			t.Errorf("createdDateTime round trip: %v", got)
		}

		// $count with ConsistencyLevel.
		r = e.get(t, tok, q("/v1.0/auditLogs/signIns", "$filter", "status/errorCode ne 0", "$count", "true", "$top", "1"),
			"ConsistencyLevel", "eventual").want(t, "$count", http.StatusOK)
		if r.obj["@odata.count"] != float64(2) {
			t.Errorf("@odata.count = %v", r.obj["@odata.count"])
		}
	})
}

// TestGraphSignInBadInput: malformed queries are 400 with a Graph error
// body; unknown ids 404.
func TestGraphSignInBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "reports", "AuditLog.Read.All")
		s := fullSignIn(tn.id)
		e.addSignIns(t, s)
		list := "/v1.0/auditLogs/signIns"
		for _, c := range []struct{ name, path string }{
			{"unknown property", q(list, "$filter", "resourceId eq 'x'")},
			{"unfilterable property", q(list, "$filter", "userAgent eq 'x'")},
			{"unfilterable risk state", q(list, "$filter", "riskState eq 'none'")},
			{"status without path", q(list, "$filter", "status eq 0")},
			{"unknown path", q(list, "$filter", "status/failureReason eq 'x'")},
			{"path navigation", q(list, "$filter", "appliedConditionalAccessPolicies/any(p:p/result eq 'failure')")},
			{"errorCode as string", q(list, "$filter", "status/errorCode eq '0'")},
			{"errorCode not a number", q(list, "$filter", "status/errorCode eq 1.5")},
			{"errorCode too large", q(list, "$filter", "status/errorCode eq 99999999999")},
			{"errorCode startswith", q(list, "$filter", "startswith(status/errorCode,'5')")},
			{"bool as string", q(list, "$filter", "isInteractive eq 'true'")},
			{"date as string", q(list, "$filter", "createdDateTime ge '2025-01-01T00:00:00Z'")},
			{"date without zone", q(list, "$filter", "createdDateTime ge 2025-01-01T00:00:00")},
			{"startswith on a date", q(list, "$filter", "startswith(createdDateTime,'2025')")},
			{"startswith on a bool", q(list, "$filter", "startswith(isInteractive,'t')")},
			{"startswith on risk", q(list, "$filter", "startswith(riskLevelDuringSignIn,'h')")},
			{"gt on a string", q(list, "$filter", "userPrincipalName gt 'a'")},
			{"endswith", q(list, "$filter", "endswith(userPrincipalName,'.com')")},
			{"syntax", q(list, "$filter", "userPrincipalName eq 'a' and")},
			{"unterminated", q(list, "$filter", "userPrincipalName eq 'a")},
			{"empty filter", q(list, "$filter", "")},
			{"$top=0", q(list, "$top", "0")},
			{"$top=1001", q(list, "$top", "1001")},
			{"$top=abc", q(list, "$top", "abc")},
			{"$skiptoken garbage", q(list, "$skiptoken", "not-a-token")},
			{"$skiptoken json", q(list, "$skiptoken", "eyJmIjoiY3JlYXRlZERhdGVUaW1lIn0")},
			{"$select unknown", q(list, "$select", "nope")},
			{"$select beta-only on v1.0", q(list, "$select", "authenticationRequirement")},
			{"$orderby other", q(list, "$orderby", "userPrincipalName")},
			{"$expand", q(list, "$expand", "x")},
			{"$skip", q(list, "$skip", "10")},
			{"$search", q(list, "$search", "\"anna\"")},
			{"$count without ConsistencyLevel", q(list, "$count", "true")},
			{"$filter on one", q(list+"/"+s.ID, "$filter", "userId eq 'x'")},
			{"$select unknown on one", q(list+"/"+s.ID, "$select", "nope")},
		} {
			r := e.get(t, tok, c.path)
			checkGraphError(t, c.name, r, http.StatusBadRequest)
		}
		for _, id := range []string{uuid.NewString(), "not-an-id", strings.Repeat("x", 300)} {
			r := e.get(t, tok, list+"/"+id)
			if code := checkGraphError(t, "unknown id", r, http.StatusNotFound); code == "" {
				t.Errorf("no code")
			}
		}
		r := e.do(t, tok, req{method: http.MethodPost, path: list, body: "{}"})
		checkGraphError(t, "POST", r, http.StatusMethodNotAllowed)
		r = e.do(t, tok, req{method: http.MethodDelete, path: list + "/" + s.ID})
		checkGraphError(t, "DELETE", r, http.StatusMethodNotAllowed)
	})
}

// TestGraphSignInAuthorization: AuditLog.Read.All reads the log; other
// permissions get 403, no token 401.
func TestGraphSignInAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		s := fullSignIn(tn.id)
		e.addSignIns(t, s)
		_, auditReader := e.appToken(tn.id, "audit", "AuditLog.Read.All")
		_, userReader := e.appToken(tn.id, "users", "User.Read.All", "Directory.Read.All")
		_, reports := e.appToken(tn.id, "reports", "Reports.Read.All")
		_, none := e.appToken(tn.id, "none")
		for _, version := range []string{"v1.0", "beta"} {
			for _, path := range []string{"/" + version + "/auditLogs/signIns", "/" + version + "/auditLogs/signIns/" + s.ID} {
				e.get(t, auditReader, path).expect(t, "AuditLog.Read.All "+path, http.StatusOK)
				for name, tok := range map[string]string{"User.Read.All": userReader, "Reports.Read.All": reports, "no permissions": none} {
					r := e.get(t, tok, path)
					if code := checkGraphError(t, name+" "+path, r, http.StatusForbidden); code != "Authorization_RequestDenied" {
						t.Errorf("%s %s: code %q", name, path, code)
					}
					if strings.Contains(string(r.raw), s.UserPrincipalName) {
						t.Errorf("%s %s: 403 body leaks data", name, path)
					}
				}
				r := e.get(t, "", path)
				checkGraphError(t, "no token "+path, r, http.StatusUnauthorized)
			}
		}
	})
}

// TestGraphSignInTenantIsolation: a tenant sees only its own sign-ins,
// whatever it filters on, and another tenant's id is 404.
func TestGraphSignInTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ta := e.tenant("contoso.com")
		tb := e.tenant("fabrikam.com")
		_, tokA := e.appToken(ta.id, "reports", "AuditLog.Read.All")
		_, tokB := e.appToken(tb.id, "reports", "AuditLog.Read.All")
		var aIDs, bIDs []string
		var entries []store.SignIn
		for i := range 30 {
			for _, tn := range []string{ta.id, tb.id} {
				s := fullSignIn(tn)
				s.CreatedAt = signInBase.Add(time.Duration(i) * time.Second)
				s.UserPrincipalName = "shared@contoso.com" // the same in both
				if tn == tb.id {
					s.UserDisplayName, s.CorrelationID = "Zanzibar", "corr-b"
					bIDs = append(bIDs, s.ID)
				} else {
					aIDs = append(aIDs, s.ID)
				}
				entries = append(entries, s)
			}
		}
		e.addSignIns(t, entries...)
		for _, path := range []string{
			"/v1.0/auditLogs/signIns",
			q("/v1.0/auditLogs/signIns", "$top", "7"),
			q("/beta/auditLogs/signIns", "$filter", "userPrincipalName eq 'shared@contoso.com'"),
		} {
			var items []map[string]any
			if strings.HasPrefix(path, "/beta") {
				items = e.get(t, tokA, path).want(t, path, http.StatusOK).values(t)
			} else {
				items, _ = e.pageAll(t, tokA, path)
			}
			got := ids(items)
			sort.Strings(got)
			want := slices.Clone(aIDs)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("A lists %s: %d items, want A's %d", path, len(got), len(want))
			}
		}
		for _, f := range []string{"userDisplayName eq 'Zanzibar'", "correlationId eq 'corr-b'", "id eq '" + bIDs[0] + "'"} {
			r := e.get(t, tokA, q("/v1.0/auditLogs/signIns", "$filter", f)).want(t, f, http.StatusOK)
			if len(r.values(t)) != 0 || strings.Contains(string(r.raw), "Zanzibar") {
				t.Errorf("A filtering %s sees B: %s", f, r.raw)
			}
		}
		for _, id := range bIDs[:3] {
			r := e.get(t, tokA, "/v1.0/auditLogs/signIns/"+id)
			checkGraphError(t, "A gets B's sign-in", r, http.StatusNotFound)
			if strings.Contains(string(r.raw), "Zanzibar") {
				t.Errorf("404 leaks B's data")
			}
			e.get(t, tokB, "/v1.0/auditLogs/signIns/"+id).expect(t, "B gets its own", http.StatusOK)
		}
		// A's page token does not open B's log.
		first := e.get(t, tokA, q("/v1.0/auditLogs/signIns", "$top", "5")).want(t, "A page", http.StatusOK)
		next := str(first.obj, "@odata.nextLink")
		r := e.get(t, tokB, next).want(t, "B with A's token", http.StatusOK)
		for _, id := range ids(r.values(t)) {
			if !slices.Contains(bIDs, id) {
				t.Errorf("B's page with A's skiptoken shows %s", id)
			}
		}
	})
}
