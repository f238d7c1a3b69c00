package graphapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Fixed method ids (graph-api.md §4).
const (
	mPasswordID  = "28c10230-6103-485e-b985-444c60001490"
	mEmailID     = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
	mMobileID    = "3179e48a-750b-4051-897c-87b9720928f7"
	mAltMobileID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
	mOfficeID    = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
	mRoleAuthAdm = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	mRolePrivAAd = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
)

var mOperator = directory.Actor{Operator: true}

// methodsFix is a tenant with a non-admin user and the apps the tests use.
type methodsFix struct {
	tn        tenantFix
	user      store.User
	rwAppID   string
	rw        string // UserAuthenticationMethod.ReadWrite.All + AuditLog.Read.All
	ro        string // UserAuthenticationMethod.Read.All
	resetApp  string
	reset     string // rw + User.ReadWrite.All (see resetPassword)
	auditor   string // AuditLog.Read.All
	userRW    string // User.ReadWrite.All only
	nothing   string
	tenantTag string
}

func newMethodsFix(t *testing.T, e *env, domain string) methodsFix {
	t.Helper()
	f := methodsFix{tn: e.tenant(domain)}
	u, err := e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, admin.NewUser{UPN: "alice@" + domain, DisplayName: "Alice Andersson",
		Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	f.user = u
	f.rwAppID, f.rw = e.appToken(f.tn.id, "methods-admin", "UserAuthenticationMethod.ReadWrite.All", "AuditLog.Read.All")
	_, f.ro = e.appToken(f.tn.id, "methods-reader", "UserAuthenticationMethod.Read.All")
	f.resetApp, f.reset = e.appToken(f.tn.id, "password-reset", "UserAuthenticationMethod.ReadWrite.All", "User.ReadWrite.All", "AuditLog.Read.All")
	_, f.auditor = e.appToken(f.tn.id, "auditor", "AuditLog.Read.All")
	_, f.userRW = e.appToken(f.tn.id, "user-writer", "User.ReadWrite.All")
	_, f.nothing = e.appToken(f.tn.id, "nothing")
	return f
}

// mp is the path of a user's authentication resource.
func mp(version, userRef, rest string) string {
	return "/" + version + "/users/" + userRef + "/authentication/" + rest
}

// registerTOTP registers a software OATH app for the user through the
// service, proving it with a code computed from the enrolment's key.
func registerTOTP(t *testing.T, e *env, tenantID, userID string, guided bool) store.Method {
	t.Helper()
	en, err := e.app.SecurityInfo.BeginTOTP(e.ctx, tenantID, userID, "Authenticator app")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := totp.DecodeSecret(en.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	p := totp.AppParams()
	code := totp.Code(secret, totp.Step(time.Now(), p), p)
	m, err := e.app.SecurityInfo.FinishTOTP(e.ctx, directory.Actor{UserID: userID}, tenantID, userID, en.MethodID, code, guided)
	if err != nil {
		t.Fatalf("finish TOTP: %v", err)
	}
	return m
}

// importHardwareToken imports and activates a hardware token for the user.
func importHardwareToken(t *testing.T, e *env, tenantID string, u store.User) store.Method {
	t.Helper()
	const key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	csv := "upn,serial number,secret key,time interval,manufacturer,model\n" + u.UPN + ",HW-0001," + key + ",30,Contoso,Token 1\n"
	rep, err := e.app.SecurityInfo.ImportHardwareTokens(e.ctx, mOperator, tenantID, strings.NewReader(csv), false)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import hardware token: %+v %v", rep, err)
	}
	secret, err := totp.DecodeSecret(key)
	if err != nil {
		t.Fatal(err)
	}
	p := totp.Params{Algorithm: totp.AppParams().Algorithm, Digits: 6, Period: 30}
	m, err := e.app.SecurityInfo.ActivateHardwareToken(e.ctx, mOperator, tenantID, u.ID, "HW-0001", totp.Code(secret, totp.Step(time.Now(), p), p))
	if err != nil {
		t.Fatalf("activate hardware token: %v", err)
	}
	return m
}

// keysOf returns an object's property names, sorted.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantKeys fails unless obj has exactly the properties want.
func wantKeys(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	sort.Strings(w)
	if got := keysOf(obj); !slices.Equal(got, w) {
		t.Errorf("%s: properties %v, want %v (%v)", what, got, w, obj)
	}
}

// wantProps fails unless obj has the given property values (compared as
// JSON, so nil means null).
func wantProps(t *testing.T, what string, obj map[string]any, kv ...any) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		got, _ := json.Marshal(obj[k])
		want, _ := json.Marshal(kv[i+1])
		if _, ok := obj[k]; !ok || string(got) != string(want) {
			t.Errorf("%s: %s = %s, want %s (%v)", what, k, got, want, obj)
		}
	}
}

var isoSeconds = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func wantTime(t *testing.T, what string, obj map[string]any, k string) time.Time {
	t.Helper()
	s := str(obj, k)
	if !isoSeconds.MatchString(s) {
		t.Errorf("%s: %s = %q, want an ISO 8601 UTC time", what, k, s)
		return time.Time{}
	}
	ts, _ := time.Parse(time.RFC3339, s)
	return ts
}

// byType indexes a polymorphic list by @odata.type (several items of a
// type are joined in a slice).
func byType(items []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, m := range items {
		out[str(m, "@odata.type")] = append(out[str(m, "@odata.type")], m)
	}
	return out
}

// methodsSnapshot fingerprints everything a refused request must not
// change: the user's methods (every state, with properties and default),
// the tenant's audit count and the user's password hash.
func methodsSnapshot(t *testing.T, e *env, tenantID, userID string) string {
	t.Helper()
	ms, err := e.app.Store.ListMethods(e.ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, Kind, State string
		Default         bool
		Props           store.MethodProps
		Secret          string
	}
	rows := make([]row, len(ms))
	for i, m := range ms {
		rows[i] = row{m.ID, m.Kind, string(m.State), m.IsDefault, m.Props, m.Secret}
	}
	a, err := e.app.Store.ListAudits(e.ctx, tenantID, store.ListQuery{Limit: 1, WantCount: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.app.Store.GetUser(e.ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(struct {
		Methods []row
		Audits  int
		Hash    string
	}{rows, a.Count, u.PasswordHash})
	return string(b)
}

func defaultMethodID(t *testing.T, e *env, tenantID, userID string) string {
	t.Helper()
	ms, err := e.app.SecurityInfo.Methods(e.ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.IsDefault {
			return m.ID
		}
	}
	return ""
}

// TestGraphMethodShapes checks the exact shape of every method resource,
// the fixed ids and the polymorphic methods list under v1.0 and beta.
func TestGraphMethodShapes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID

		mobile := e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 70-123 45 67", "phoneType": "mobile"}`).
			want(t, "POST mobile", http.StatusCreated).obj
		wantKeys(t, "mobile", mobile, "@odata.context", "id", "phoneNumber", "phoneType", "smsSignInState", "createdDateTime")
		wantProps(t, "mobile", mobile, "id", mMobileID, "phoneNumber", "+46 701234567", "phoneType", "mobile", "smsSignInState", "notConfigured",
			"@odata.context", e.base+"/v1.0/$metadata#users('"+uid+"')/authentication/phoneMethods/$entity")
		wantTime(t, "mobile", mobile, "createdDateTime")

		office := e.send(t, f.rw, "POST", mp("v1.0", "alice@contoso.com", "phoneMethods"), `{"phoneNumber": "+1 4255550100x123", "phoneType": "office"}`).
			want(t, "POST office", http.StatusCreated).obj
		wantProps(t, "office", office, "id", mOfficeID, "phoneNumber", "+1 4255550100x123", "phoneType", "office", "smsSignInState", "notSupported")
		alt := e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "phoneNumber": "+44 7400123456", "phoneType": "alternateMobile"}`).
			want(t, "POST alternateMobile", http.StatusCreated).obj
		wantProps(t, "alternateMobile", alt, "id", mAltMobileID, "phoneNumber", "+44 7400123456", "phoneType", "alternateMobile", "smsSignInState", "notSupported")

		email := e.send(t, f.rw, "POST", mp("v1.0", uid, "emailMethods"), `{"emailAddress": "alice.private@example.com"}`).
			want(t, "POST email", http.StatusCreated).obj
		wantKeys(t, "email", email, "@odata.context", "id", "emailAddress", "createdDateTime")
		wantProps(t, "email", email, "id", mEmailID, "emailAddress", "alice.private@example.com",
			"@odata.context", e.base+"/v1.0/$metadata#users('"+uid+"')/authentication/emailMethods/$entity")

		tap := e.send(t, f.rw, "POST", mp("v1.0", uid, "temporaryAccessPassMethods"), `{}`).want(t, "POST TAP", http.StatusCreated).obj
		wantKeys(t, "TAP", tap, "@odata.context", "id", "createdDateTime", "startDateTime", "lifetimeInMinutes", "isUsableOnce", "isUsable",
			"methodUsabilityReason", "temporaryAccessPass")
		wantProps(t, "TAP", tap, "lifetimeInMinutes", 60, "isUsableOnce", false, "isUsable", true, "methodUsabilityReason", "EnabledByPolicy")
		if pass := str(tap, "temporaryAccessPass"); len(pass) != 8 {
			t.Errorf("TAP POST: temporaryAccessPass %q, want the 8-character pass", pass)
		}

		oath := registerTOTP(t, e, f.tn.id, uid, false)
		hw := importHardwareToken(t, e, f.tn.id, f.user)

		// v1.0: password first, then the methods oldest first; no hardware token.
		r := e.get(t, f.ro, mp("v1.0", uid, "methods")).want(t, "GET methods", http.StatusOK)
		if got := str(r.obj, "@odata.context"); got != e.base+"/v1.0/$metadata#users('"+uid+"')/authentication/methods" {
			t.Errorf("methods @odata.context %q", got)
		}
		items := r.values(t)
		wantIDs := []string{mPasswordID, mMobileID, mOfficeID, mAltMobileID, mEmailID, str(tap, "id"), oath.ID}
		if got := ids(items); !slices.Equal(got, wantIDs) {
			t.Fatalf("methods ids %v, want %v", got, wantIDs)
		}
		types := byType(items)
		pw := types["#microsoft.graph.passwordAuthenticationMethod"]
		if len(pw) != 1 {
			t.Fatalf("methods: password items %v", pw)
		}
		wantKeys(t, "password in methods", pw[0], "@odata.type", "id", "password", "createdDateTime")
		wantProps(t, "password in methods", pw[0], "id", mPasswordID, "password", nil, "createdDateTime", f.user.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
		if n := len(types["#microsoft.graph.phoneAuthenticationMethod"]); n != 3 {
			t.Errorf("methods: %d phones, want 3", n)
		}
		em := types["#microsoft.graph.emailAuthenticationMethod"]
		if len(em) != 1 {
			t.Fatalf("methods: email items %v", em)
		}
		wantKeys(t, "email in methods", em[0], "@odata.type", "id", "emailAddress", "createdDateTime")
		so := types["#microsoft.graph.softwareOathAuthenticationMethod"]
		if len(so) != 1 {
			t.Fatalf("methods: software OATH items %v", so)
		}
		wantKeys(t, "software OATH in methods", so[0], "@odata.type", "id", "secretKey", "createdDateTime")
		wantProps(t, "software OATH in methods", so[0], "id", oath.ID, "secretKey", nil)
		tp := types["#microsoft.graph.temporaryAccessPassAuthenticationMethod"]
		if len(tp) != 1 {
			t.Fatalf("methods: TAP items %v", tp)
		}
		wantProps(t, "TAP in methods", tp[0], "temporaryAccessPass", nil, "isUsable", true)
		if _, ok := types["#microsoft.graph.hardwareOathAuthenticationMethod"]; ok {
			t.Errorf("v1.0 methods list a hardware OATH token: %v", items)
		}

		// beta: the active hardware token as well.
		rb := e.get(t, f.ro, mp("beta", uid, "methods")).want(t, "GET beta methods", http.StatusOK)
		hwItems := byType(rb.values(t))["#microsoft.graph.hardwareOathAuthenticationMethod"]
		if len(hwItems) != 1 || str(hwItems[0], "id") != hw.ID {
			t.Errorf("beta methods: hardware items %v, want %s", hwItems, hw.ID)
		}
		if got := str(rb.obj, "@odata.context"); !strings.HasPrefix(got, e.base+"/beta/$metadata#") {
			t.Errorf("beta @odata.context %q", got)
		}

		// GET methods/{id} resolves any of them, with its @odata.type.
		one := e.get(t, f.ro, mp("v1.0", uid, "methods/"+mMobileID)).want(t, "GET methods/{mobile}", http.StatusOK).obj
		wantProps(t, "methods/{mobile}", one, "@odata.type", "#microsoft.graph.phoneAuthenticationMethod", "phoneNumber", "+46 701234567")

		// Typed collections carry no @odata.type and the right items.
		for _, c := range []struct {
			seg  string
			want []string
			keys []string
		}{
			{"phoneMethods", []string{mMobileID, mOfficeID, mAltMobileID}, []string{"id", "phoneNumber", "phoneType", "smsSignInState", "createdDateTime"}},
			{"emailMethods", []string{mEmailID}, []string{"id", "emailAddress", "createdDateTime"}},
			{"softwareOathMethods", []string{oath.ID}, []string{"id", "secretKey", "createdDateTime"}},
			{"passwordMethods", []string{mPasswordID}, []string{"id", "password", "createdDateTime"}},
			{"temporaryAccessPassMethods", []string{str(tap, "id")}, []string{"id", "createdDateTime", "startDateTime", "lifetimeInMinutes",
				"isUsableOnce", "isUsable", "methodUsabilityReason", "temporaryAccessPass"}},
			{"fido2Methods", []string{}, nil},
			{"microsoftAuthenticatorMethods", []string{}, nil},
		} {
			for _, v := range []string{"v1.0", "beta"} {
				r := e.get(t, f.ro, mp(v, "alice@contoso.com", c.seg)).want(t, "GET "+c.seg, http.StatusOK)
				items := r.values(t)
				if got := ids(items); !slices.Equal(got, c.want) {
					t.Errorf("%s %s: ids %v, want %v", v, c.seg, got, c.want)
				}
				for _, it := range items {
					wantKeys(t, v+" "+c.seg, it, c.keys...)
				}
				if got := str(r.obj, "@odata.context"); got != e.base+"/"+v+"/$metadata#users('"+uid+"')/authentication/"+c.seg {
					t.Errorf("%s %s @odata.context %q", v, c.seg, got)
				}
			}
		}

		// $select and paging work on the lists.
		sel := e.get(t, f.ro, q(mp("v1.0", uid, "phoneMethods"), "$select", "phoneType")).want(t, "$select", http.StatusOK).values(t)
		for _, it := range sel {
			wantKeys(t, "$select=phoneType", it, "id", "phoneType")
		}
		all, pages := e.pageAll(t, f.ro, q(mp("v1.0", uid, "methods"), "$top", "3"))
		if pages != 3 || !slices.Equal(ids(all), wantIDs) {
			t.Errorf("paged methods: %d pages, ids %v", pages, ids(all))
		}
	})
}

// TestGraphPhoneMethodsRoundTrip: POST, GET, PATCH, DELETE of phones, each
// audited.
func TestGraphPhoneMethodsRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701234567", "phoneType": "mobile"}`).
			want(t, "POST mobile", http.StatusCreated)
		e.checkAudit(t, f.rw, f.rwAppID, "Add phone method", uid, "PhoneNumber", "PhoneType")

		got := e.get(t, f.ro, mp("v1.0", uid, "phoneMethods/"+mMobileID)).want(t, "GET mobile", http.StatusOK).obj
		wantProps(t, "GET mobile", got, "phoneNumber", "+46 701234567", "phoneType", "mobile")

		// PATCH the number (with or without the unchanged phoneType).
		e.send(t, f.rw, "PATCH", mp("v1.0", uid, "phoneMethods/"+mMobileID), `{"phoneNumber": "+46 709876543"}`).
			want(t, "PATCH mobile", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Update phone method", uid, "PhoneNumber")
		e.send(t, f.rw, "PATCH", mp("beta", "alice@contoso.com", "phoneMethods/"+mMobileID), `{"phoneNumber": "+46 709876544", "phoneType": "mobile"}`).
			want(t, "PATCH mobile with phoneType", http.StatusNoContent)
		got = e.get(t, f.ro, mp("v1.0", uid, "phoneMethods/"+mMobileID)).want(t, "GET mobile", http.StatusOK).obj
		wantProps(t, "GET patched mobile", got, "phoneNumber", "+46 709876544")

		// The type cannot change; a second phone of the type conflicts.
		before := methodsSnapshot(t, e, f.tn.id, uid)
		r := e.send(t, f.rw, "PATCH", mp("v1.0", uid, "phoneMethods/"+mMobileID), `{"phoneNumber": "+46 709876543", "phoneType": "office"}`)
		checkGraphError(t, "PATCH phoneType", r, http.StatusBadRequest)
		r = e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701111111", "phoneType": "mobile"}`)
		if code := checkGraphError(t, "POST second mobile", r, http.StatusConflict); code != "conflict" {
			t.Errorf("second mobile: code %q, want conflict", code)
		}
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("refused phone requests changed something")
		}

		// DELETE, then it is gone.
		e.do(t, f.rw, req{method: "DELETE", path: mp("v1.0", uid, "phoneMethods/"+mMobileID)}).want(t, "DELETE mobile", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Admin deleted security info", uid, "phone")
		checkGraphError(t, "GET deleted mobile", e.get(t, f.ro, mp("v1.0", uid, "phoneMethods/"+mMobileID)), http.StatusNotFound)
		checkGraphError(t, "DELETE deleted mobile", e.do(t, f.rw, req{method: "DELETE", path: mp("v1.0", uid, "phoneMethods/"+mMobileID)}), http.StatusNotFound)
		checkGraphError(t, "PATCH deleted mobile", e.send(t, f.rw, "PATCH", mp("v1.0", uid, "phoneMethods/"+mMobileID), `{"phoneNumber": "+46 701234567"}`), http.StatusNotFound)
		if n := len(e.get(t, f.ro, mp("v1.0", uid, "phoneMethods")).want(t, "list", http.StatusOK).values(t)); n != 0 {
			t.Errorf("%d phones after delete", n)
		}
		// The type can be added again.
		e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701234567", "phoneType": "mobile"}`).
			want(t, "POST mobile again", http.StatusCreated)
	})
}

// TestGraphEmailMethodsRoundTrip: POST, GET, PATCH, DELETE of the email
// method, each audited.
func TestGraphEmailMethodsRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		path := mp("v1.0", uid, "emailMethods/"+mEmailID)
		checkGraphError(t, "GET absent email", e.get(t, f.ro, path), http.StatusNotFound)
		e.send(t, f.rw, "POST", mp("v1.0", uid, "emailMethods"), `{"emailAddress": "a@example.com"}`).want(t, "POST email", http.StatusCreated)
		e.checkAudit(t, f.rw, f.rwAppID, "Add email method", uid, "EmailAddress")

		before := methodsSnapshot(t, e, f.tn.id, uid)
		r := e.send(t, f.rw, "POST", mp("v1.0", uid, "emailMethods"), `{"emailAddress": "b@example.com"}`)
		if code := checkGraphError(t, "second email", r, http.StatusConflict); code != "conflict" {
			t.Errorf("second email: code %q, want conflict", code)
		}
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("second email changed something")
		}

		e.send(t, f.rw, "PATCH", path, `{"emailAddress": "b@example.com"}`).want(t, "PATCH email", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Update email method", uid, "EmailAddress")
		got := e.get(t, f.ro, path).want(t, "GET email", http.StatusOK).obj
		wantProps(t, "GET email", got, "id", mEmailID, "emailAddress", "b@example.com")

		e.do(t, f.rw, req{method: "DELETE", path: path}).want(t, "DELETE email", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Admin deleted security info", uid, "email")
		checkGraphError(t, "GET deleted email", e.get(t, f.ro, path), http.StatusNotFound)
		checkGraphError(t, "PATCH deleted email", e.send(t, f.rw, "PATCH", path, `{"emailAddress": "c@example.com"}`), http.StatusNotFound)
	})
}

// TestGraphSoftwareOathMethods lists, reads and deletes an authenticator
// app; deleting the default method moves the default.
func TestGraphSoftwareOathMethods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		e.send(t, f.rw, "POST", mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701234567", "phoneType": "mobile"}`).
			want(t, "POST mobile", http.StatusCreated)
		oath := registerTOTP(t, e, f.tn.id, uid, true)
		if def := defaultMethodID(t, e, f.tn.id, uid); def != oath.ID {
			t.Fatalf("default after the guided app registration: %s, want %s", def, oath.ID)
		}

		path := mp("v1.0", uid, "softwareOathMethods/"+oath.ID)
		got := e.get(t, f.ro, path).want(t, "GET software OATH", http.StatusOK).obj
		wantKeys(t, "software OATH", got, "@odata.context", "id", "secretKey", "createdDateTime")
		wantProps(t, "software OATH", got, "id", oath.ID, "secretKey", nil,
			"@odata.context", e.base+"/v1.0/$metadata#users('"+uid+"')/authentication/softwareOathMethods/$entity")
		e.get(t, f.ro, q(path, "$select", "createdDateTime")).want(t, "GET $select", http.StatusOK)
		checkGraphError(t, "GET $filter on one method", e.get(t, f.ro, q(path, "$filter", "id eq 'x'")), http.StatusBadRequest)

		e.do(t, f.rw, req{method: "DELETE", path: path}).want(t, "DELETE software OATH", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Admin deleted security info", uid, "softwareOath")
		checkGraphError(t, "GET deleted", e.get(t, f.ro, path), http.StatusNotFound)

		ms, err := e.app.SecurityInfo.Methods(e.ctx, f.tn.id, uid)
		if err != nil || len(ms) != 1 || ms[0].Kind != "phone" || !ms[0].IsDefault {
			t.Errorf("after deleting the default app: methods %+v (%v), want the phone as default", ms, err)
		}
	})
}

// TestGraphTAPMethods: the pass appears once, in the POST response.
func TestGraphTAPMethods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		list := mp("v1.0", uid, "temporaryAccessPassMethods")

		created := e.send(t, f.rw, "POST", list, `{"lifetimeInMinutes": 120, "isUsableOnce": true}`).want(t, "POST TAP", http.StatusCreated).obj
		pass := str(created, "temporaryAccessPass")
		if len(pass) != 8 {
			t.Fatalf("TAP POST: pass %q", pass)
		}
		wantProps(t, "TAP POST", created, "lifetimeInMinutes", 120, "isUsableOnce", true, "isUsable", true, "methodUsabilityReason", "EnabledByPolicy")
		createdAt := wantTime(t, "TAP POST", created, "createdDateTime")
		if start := wantTime(t, "TAP POST", created, "startDateTime"); start.Sub(createdAt).Abs() > 2*time.Second {
			t.Errorf("startDateTime %v, createdDateTime %v", start, createdAt)
		}
		e.checkAudit(t, f.rw, f.rwAppID, "Admin registered temporary access pass method for user", uid, "LifetimeInMinutes", "IsUsableOnce", "StartDateTime")
		id := str(created, "id")

		for _, p := range []string{list + "/" + id, mp("v1.0", uid, "methods/"+id)} {
			got := e.get(t, f.ro, p).want(t, "GET TAP", http.StatusOK).obj
			wantProps(t, "GET "+p, got, "id", id, "temporaryAccessPass", nil, "lifetimeInMinutes", 120, "isUsable", true)
			if strings.Contains(string(e.get(t, f.ro, p).raw), pass) {
				t.Errorf("GET %s shows the pass", p)
			}
		}
		items := e.get(t, f.ro, list).want(t, "list TAP", http.StatusOK).values(t)
		if len(items) != 1 || items[0]["temporaryAccessPass"] != nil {
			t.Errorf("TAP list %v", items)
		}

		// A second pass conflicts; nothing is written.
		before := methodsSnapshot(t, e, f.tn.id, uid)
		if code := checkGraphError(t, "second TAP", e.send(t, f.rw, "POST", list, `{}`), http.StatusConflict); code != "conflict" {
			t.Errorf("second TAP: code %q", code)
		}
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("second TAP changed something")
		}

		// The pass works, once.
		if _, err := e.app.SecurityInfo.VerifyTAP(e.ctx, f.tn.id, uid, pass); err != nil {
			t.Errorf("verify the issued pass: %v", err)
		}
		got := e.get(t, f.ro, list+"/"+id).want(t, "GET used TAP", http.StatusOK).obj
		wantProps(t, "used TAP", got, "isUsable", false, "methodUsabilityReason", "OneTimeUsed")

		// Deleted, a new one (no body: the policy's defaults) may start later.
		e.do(t, f.rw, req{method: "DELETE", path: list + "/" + id}).want(t, "DELETE TAP", http.StatusNoContent)
		checkGraphError(t, "GET deleted TAP", e.get(t, f.ro, list+"/"+id), http.StatusNotFound)
		e.do(t, f.rw, req{method: "POST", path: list}).want(t, "POST TAP without a body", http.StatusCreated)
		e.do(t, f.rw, req{method: "DELETE", path: list + "/" + str(e.get(t, f.ro, list).values(t)[0], "id")}).want(t, "DELETE", http.StatusNoContent)
		start := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		later := e.send(t, f.rw, "POST", list, `{"startDateTime": "`+start+`"}`).want(t, "POST later TAP", http.StatusCreated).obj
		wantProps(t, "later TAP", later, "startDateTime", start, "isUsable", false, "methodUsabilityReason", "NotYetValid", "lifetimeInMinutes", 60)
	})
}

// TestGraphPasswordMethods: the password method and resetPassword.
func TestGraphPasswordMethods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		items := e.get(t, f.ro, mp("v1.0", uid, "passwordMethods")).want(t, "list password", http.StatusOK).values(t)
		if len(items) != 1 {
			t.Fatalf("password methods %v", items)
		}
		wantKeys(t, "password", items[0], "id", "password", "createdDateTime")
		wantProps(t, "password", items[0], "id", mPasswordID, "password", nil)
		got := e.get(t, f.ro, mp("v1.0", uid, "passwordMethods/"+mPasswordID)).want(t, "GET password", http.StatusOK).obj
		wantProps(t, "GET password", got, "id", mPasswordID, "password", nil,
			"@odata.context", e.base+"/v1.0/$metadata#users('"+uid+"')/authentication/passwordMethods/$entity")
		checkGraphError(t, "GET other password id", e.get(t, f.ro, mp("v1.0", uid, "passwordMethods/"+mEmailID)), http.StatusNotFound)

		verify := func(pw string) bool {
			t.Helper()
			u, err := e.app.Store.GetUser(e.ctx, f.tn.id, uid)
			if err != nil {
				t.Fatal(err)
			}
			ok, _, err := e.app.Hasher.Verify(e.ctx, pw, u.PasswordHash)
			return err == nil && ok
		}
		reset := mp("v1.0", uid, "methods/"+mPasswordID+"/resetPassword")

		// A given password: 202 with no body.
		r := e.send(t, f.reset, "POST", reset, `{"newPassword": "Blue-Harbour-Lantern-93"}`).want(t, "reset with a password", http.StatusAccepted)
		if len(strings.TrimSpace(string(r.raw))) != 0 {
			t.Errorf("reset with a password: body %s, want none", r.raw)
		}
		if !verify("Blue-Harbour-Lantern-93") {
			t.Errorf("the new password does not verify")
		}
		e.checkAudit(t, f.reset, f.resetApp, "Reset user password", uid, "Password")

		// No password: one is generated and returned once.
		for _, body := range []string{`{}`, "", `{"newPassword": null}`} {
			r = e.do(t, f.reset, req{method: "POST", path: reset, body: body}).want(t, "reset without a password", http.StatusAccepted)
			pw := str(r.obj, "newPassword")
			if !regexp.MustCompile(`^[A-Za-z0-9]{16}$`).MatchString(pw) {
				t.Errorf("generated password %q: want 16 letters and digits", pw)
			}
			if !verify(pw) {
				t.Errorf("the generated password does not verify")
			}
		}

		// Refused: weak, wrong method id; nothing written.
		before := methodsSnapshot(t, e, f.tn.id, uid)
		r = e.send(t, f.reset, "POST", reset, `{"newPassword": "password"}`)
		checkGraphError(t, "weak password", r, http.StatusBadRequest)
		if target := mErrTarget(r); target != "newPassword" {
			t.Errorf("weak password: target %q, want newPassword", target)
		}
		checkGraphError(t, "reset on the email id", e.send(t, f.reset, "POST", mp("v1.0", uid, "methods/"+mEmailID+"/resetPassword"), `{}`), http.StatusNotFound)
		checkGraphError(t, "reset on a random id", e.send(t, f.reset, "POST", mp("v1.0", uid, "methods/00000000-0000-0000-0000-000000000000/resetPassword"), `{}`), http.StatusNotFound)
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("refused resets changed something")
		}
	})
}

func mErrTarget(r *resp) string {
	eo, _ := r.obj["error"].(map[string]any)
	return str(eo, "target")
}

// TestGraphMethodsAuthorization: reads need UserAuthenticationMethod
// read access, writes the write permission; /me needs a delegated token;
// an Authentication Administrator cannot change an admin's methods.
func TestGraphMethodsAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		if _, err := e.app.SecurityInfo.SetPhone(e.ctx, mOperator, f.tn.id, uid, "mobile", "+46 701234567"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.SecurityInfo.SetEmail(e.ctx, mOperator, f.tn.id, uid, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		oath := registerTOTP(t, e, f.tn.id, uid, false)
		before := methodsSnapshot(t, e, f.tn.id, uid)

		type c struct {
			name   string
			token  string
			r      req
			status int
		}
		get := func(p string) req { return req{method: "GET", path: p} }
		post := func(p, b string) req { return req{method: "POST", path: p, body: b} }
		reset := mp("v1.0", uid, "methods/"+mPasswordID+"/resetPassword")
		cases := []c{
			{"reader lists methods", f.ro, get(mp("v1.0", uid, "methods")), 200},
			{"reader gets a phone", f.ro, get(mp("v1.0", uid, "phoneMethods/"+mMobileID)), 200},
			{"reader posts a phone", f.ro, post(mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701111111", "phoneType": "office"}`), 403},
			{"reader patches a phone", f.ro, req{method: "PATCH", path: mp("v1.0", uid, "phoneMethods/"+mMobileID), body: `{"phoneNumber": "+46 701111111"}`}, 403},
			{"reader deletes a phone", f.ro, req{method: "DELETE", path: mp("v1.0", uid, "phoneMethods/"+mMobileID)}, 403},
			{"reader posts an email", f.ro, post(mp("v1.0", uid, "emailMethods"), `{"emailAddress": "x@example.com"}`), 403},
			{"reader deletes the email", f.ro, req{method: "DELETE", path: mp("v1.0", uid, "emailMethods/"+mEmailID)}, 403},
			{"reader deletes an app", f.ro, req{method: "DELETE", path: mp("v1.0", uid, "softwareOathMethods/"+oath.ID)}, 403},
			{"reader issues a TAP", f.ro, post(mp("v1.0", uid, "temporaryAccessPassMethods"), `{}`), 403},
			{"reader resets the password", f.ro, post(reset, `{}`), 403},
			{"user writer lists methods", f.userRW, get(mp("v1.0", uid, "methods")), 403},
			{"user writer resets the password", f.userRW, post(reset, `{}`), 403},
			{"no permissions lists methods", f.nothing, get(mp("v1.0", uid, "methods")), 403},
			{"no permissions lists phones", f.nothing, get(mp("v1.0", uid, "phoneMethods")), 403},
			{"no token", "", get(mp("v1.0", uid, "methods")), 401},
			{"no token posts", "", post(mp("v1.0", uid, "phoneMethods"), `{"phoneNumber": "+46 701111111", "phoneType": "office"}`), 401},
		}
		for _, cs := range cases {
			r := e.do(t, cs.token, cs.r)
			if cs.status >= 400 {
				code := checkGraphError(t, cs.name, r, cs.status)
				if cs.status == 403 && code != "Authorization_RequestDenied" {
					t.Errorf("%s: code %q", cs.name, code)
				}
			} else {
				r.expect(t, cs.name, cs.status)
			}
		}
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("refused requests changed something")
		}

		// /me: app-only tokens have no "me".
		for _, r := range []req{
			get("/v1.0/me/authentication/methods"),
			get("/v1.0/me/authentication/phoneMethods/" + mMobileID),
			post("/v1.0/me/authentication/phoneMethods", `{"phoneNumber": "+46 701111111", "phoneType": "office"}`),
			post("/v1.0/me/authentication/methods/"+mPasswordID+"/resetPassword", `{}`),
			get("/v1.0/me/authentication/somethingElse"),
			{method: "DELETE", path: "/v1.0/me/authentication/emailMethods/" + mEmailID},
			{method: "PATCH", path: "/beta/me/authentication/phoneMethods/" + mMobileID, body: `{"phoneNumber": "+46 701111111"}`},
		} {
			resp := e.do(t, f.rw, r)
			checkGraphError(t, r.method+" "+r.path, resp, http.StatusBadRequest)
			eo, _ := resp.obj["error"].(map[string]any)
			if msg := str(eo, "message"); msg != "/me request is only valid with delegated authentication flow." {
				t.Errorf("%s %s: message %q", r.method, r.path, msg)
			}
		}
		if methodsSnapshot(t, e, f.tn.id, uid) != before {
			t.Errorf("/me requests changed something")
		}
	})
}

// TestMethodsAuthorizeAdmin checks the rule every write applies: an
// Authentication Administrator manages non-admins' methods only; a
// Privileged Authentication Administrator and a Global Administrator
// manage anyone's; apps with the permission too.
func TestMethodsAuthorizeAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		svc := e.app.SecurityInfo
		helpdesk, err := e.app.Admin.CreateUser(e.ctx, mOperator, f.tn.id, admin.NewUser{UPN: "helpdesk@contoso.com", DisplayName: "Helpdesk"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Admin.AssignRole(e.ctx, mOperator, f.tn.id, helpdesk.ID, mRoleAuthAdm); err != nil {
			t.Fatal(err)
		}
		authAdmin := directory.Actor{UserID: helpdesk.ID, Roles: []string{mRoleAuthAdm}}
		privAdmin := directory.Actor{UserID: "priv", Roles: []string{mRolePrivAAd}}
		globalAdmin := directory.Actor{UserID: f.tn.adminID, Roles: []string{roleGlobalAdmin}}
		reader := directory.Actor{UserID: "reader", Roles: []string{roleGlobalReader}}
		app := directory.Actor{AppID: "x", Permissions: []string{"UserAuthenticationMethod.ReadWrite.All"}}
		for _, c := range []struct {
			name   string
			actor  directory.Actor
			target string
			write  bool
			ok     bool
		}{
			{"auth admin changes a user's methods", authAdmin, f.user.ID, true, true},
			{"auth admin changes the GA's methods", authAdmin, f.tn.adminID, true, false},
			{"auth admin changes another auth admin's methods", authAdmin, helpdesk.ID, true, false},
			{"auth admin reads the GA's methods", authAdmin, f.tn.adminID, false, true},
			{"privileged auth admin changes the GA's methods", privAdmin, f.tn.adminID, true, true},
			{"global admin changes the GA's methods", globalAdmin, f.tn.adminID, true, true},
			{"global reader reads", reader, f.user.ID, false, true},
			{"global reader writes", reader, f.user.ID, true, false},
			{"app with the methods permission changes a user's methods", app, f.user.ID, true, true},
			{"app with only the methods permission changes the GA's methods", app, f.tn.adminID, true, false},
			{"app with Directory.ReadWrite.All changes the GA's methods", directory.Actor{AppID: "d", Permissions: []string{"Directory.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"}}, f.tn.adminID, true, true},
		} {
			err := svc.AuthorizeAdmin(e.ctx, c.actor, f.tn.id, c.target, c.write)
			if c.ok && err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			if !c.ok {
				if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Forbidden {
					t.Errorf("%s: err %v, want Forbidden", c.name, err)
				}
			}
		}
	})
}

// TestGraphMethodsIsolation: another tenant's users and methods are not
// found, and nothing of theirs changes.
func TestGraphMethodsIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := newMethodsFix(t, e, "contoso.com")
		b := newMethodsFix(t, e, "fabrikam.com")
		bid := b.user.ID
		if _, err := e.app.SecurityInfo.SetPhone(e.ctx, mOperator, b.tn.id, bid, "mobile", "+46 701234567"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.SecurityInfo.SetEmail(e.ctx, mOperator, b.tn.id, bid, "b@example.com"); err != nil {
			t.Fatal(err)
		}
		bOath := registerTOTP(t, e, b.tn.id, bid, false)
		bTAP, _, err := e.app.SecurityInfo.IssueTAP(e.ctx, mOperator, b.tn.id, bid, securityinfo.TAPRequest{})
		if err != nil {
			t.Fatal(err)
		}
		before := methodsSnapshot(t, e, b.tn.id, bid)
		aBefore := methodsSnapshot(t, e, a.tn.id, a.user.ID)

		get := func(p string) req { return req{method: "GET", path: p} }
		del := func(p string) req { return req{method: "DELETE", path: p} }
		var cases []req
		for _, ref := range []string{bid, "alice@fabrikam.com"} {
			cases = append(cases,
				get(mp("v1.0", ref, "methods")),
				get(mp("v1.0", ref, "methods/"+mMobileID)),
				get(mp("v1.0", ref, "phoneMethods")),
				get(mp("v1.0", ref, "phoneMethods/"+mMobileID)),
				get(mp("beta", ref, "emailMethods/"+mEmailID)),
				get(mp("v1.0", ref, "passwordMethods")),
				get(mp("v1.0", ref, "softwareOathMethods/"+bOath.ID)),
				get(mp("v1.0", ref, "temporaryAccessPassMethods")),
				req{method: "POST", path: mp("v1.0", ref, "phoneMethods"), body: `{"phoneNumber": "+46 701111111", "phoneType": "office"}`},
				req{method: "PATCH", path: mp("v1.0", ref, "phoneMethods/"+mMobileID), body: `{"phoneNumber": "+46 701111111"}`},
				req{method: "PATCH", path: mp("v1.0", ref, "emailMethods/"+mEmailID), body: `{"emailAddress": "x@example.com"}`},
				req{method: "POST", path: mp("v1.0", ref, "temporaryAccessPassMethods"), body: `{}`},
				req{method: "POST", path: mp("v1.0", ref, "methods/"+mPasswordID+"/resetPassword"), body: `{}`},
				del(mp("v1.0", ref, "phoneMethods/"+mMobileID)),
				del(mp("v1.0", ref, "emailMethods/"+mEmailID)),
				del(mp("v1.0", ref, "softwareOathMethods/"+bOath.ID)),
				del(mp("v1.0", ref, "temporaryAccessPassMethods/"+bTAP.ID)),
			)
		}
		// B's method ids under A's own user.
		aid := a.user.ID
		cases = append(cases,
			get(mp("v1.0", aid, "softwareOathMethods/"+bOath.ID)),
			get(mp("v1.0", aid, "temporaryAccessPassMethods/"+bTAP.ID)),
			get(mp("v1.0", aid, "methods/"+bOath.ID)),
			del(mp("v1.0", aid, "softwareOathMethods/"+bOath.ID)),
			del(mp("v1.0", aid, "temporaryAccessPassMethods/"+bTAP.ID)),
		)
		for _, r := range cases {
			checkGraphError(t, r.method+" "+r.path, e.do(t, a.reset, r), http.StatusNotFound)
		}
		if methodsSnapshot(t, e, b.tn.id, bid) != before {
			t.Errorf("tenant A's requests changed tenant B")
		}
		if methodsSnapshot(t, e, a.tn.id, aid) != aBefore {
			t.Errorf("tenant A's refused requests changed tenant A")
		}
	})
}

// TestGraphMethodsBadInput: each malformed request gets a 4xx with the
// Graph error body, and nothing is written.
func TestGraphMethodsBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		if _, err := e.app.SecurityInfo.SetPhone(e.ctx, mOperator, f.tn.id, uid, "mobile", "+46 701234567"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.SecurityInfo.SetEmail(e.ctx, mOperator, f.tn.id, uid, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		oath := registerTOTP(t, e, f.tn.id, uid, false)
		tap, _, err := e.app.SecurityInfo.IssueTAP(e.ctx, mOperator, f.tn.id, uid, securityinfo.TAPRequest{})
		if err != nil {
			t.Fatal(err)
		}

		phones := mp("v1.0", uid, "phoneMethods")
		mobile := phones + "/" + mMobileID
		emails := mp("v1.0", uid, "emailMethods")
		email := emails + "/" + mEmailID
		taps := mp("v1.0", uid, "temporaryAccessPassMethods")
		reset := mp("v1.0", uid, "methods/"+mPasswordID+"/resetPassword")
		post := func(p, b string) req { return req{method: "POST", path: p, body: b} }
		patch := func(p, b string) req { return req{method: "PATCH", path: p, body: b} }
		phone := func(number, typ string) string {
			return fmt.Sprintf(`{"phoneNumber": %q, "phoneType": %q}`, number, typ)
		}
		huge := `{"phoneNumber": "` + strings.Repeat("1", 1<<20) + `", "phoneType": "office"}`
		past := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
		bad := []int{http.StatusBadRequest}

		type badCase struct {
			name     string
			r        req
			statuses []int
			target   string // expected error target, when set
		}
		cases := []badCase{
			// Bodies.
			{"malformed JSON", post(phones, `{"phoneNumber": "+46 701234567",`), bad, ""},
			{"not JSON", post(phones, `phoneNumber=+46701234567`), bad, ""},
			{"JSON array", post(phones, "["+phone("+46 701111111", "office")+"]"), bad, ""},
			{"trailing garbage", post(phones, phone("+46 701111111", "office")+" x"), bad, ""},
			{"wrong content type", req{method: "POST", path: phones, body: phone("+46 701111111", "office"), ctype: "text/plain"}, bad, ""},
			{"oversize body", post(phones, huge), []int{http.StatusRequestEntityTooLarge, http.StatusBadRequest}, ""},
			{"oversize chunked body", req{method: "POST", path: phones, body: huge, chunk: true}, []int{http.StatusRequestEntityTooLarge, http.StatusBadRequest}, ""},
			{"wrong @odata.type", post(phones, `{"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "phoneNumber": "+46 701111111", "phoneType": "office"}`), bad, "@odata.type"},
			// Phones.
			{"phone unknown property", post(phones, `{"phoneNumber": "+46 701111111", "phoneType": "office", "smsSignInState": "ready"}`), bad, "smsSignInState"},
			{"phone id in body", post(phones, `{"id": "x", "phoneNumber": "+46 701111111", "phoneType": "office"}`), bad, "id"},
			{"phoneNumber a number", post(phones, `{"phoneNumber": 46701111111, "phoneType": "office"}`), bad, "phoneNumber"},
			{"phoneType a boolean", post(phones, `{"phoneNumber": "+46 701111111", "phoneType": true}`), bad, "phoneType"},
			{"missing phoneNumber", post(phones, `{"phoneType": "office"}`), bad, "phoneNumber"},
			{"null phoneNumber", post(phones, `{"phoneNumber": null, "phoneType": "office"}`), bad, "phoneNumber"},
			{"missing phoneType", post(phones, `{"phoneNumber": "+46 701111111"}`), bad, "phoneType"},
			{"unknown phoneType", post(phones, phone("+46 701111111", "pager")), bad, "phoneType"},
			{"phoneType in other case", post(phones, phone("+46 701111111", "Office")), bad, "phoneType"},
			{"letters for a number", post(phones, phone("+46 70ABCDEF", "office")), bad, "phoneNumber"},
			{"not a number at all", post(phones, phone("call me", "office")), bad, "phoneNumber"},
			{"no country code", post(phones, phone("0701234567", "office")), bad, "phoneNumber"},
			{"invalid number", post(phones, phone("+46 1", "office")), bad, "phoneNumber"},
			{"extension on a mobile", post(phones, phone("+44 7400123456x12", "alternateMobile")), bad, "phoneNumber"},
			{"extension not digits", post(phones, phone("+1 4255550100xab", "office")), bad, "phoneNumber"},
			{"overlong number", post(phones, phone("+46 "+strings.Repeat("1", 80), "office")), bad, "phoneNumber"},
			{"bad number on an existing type", post(phones, phone("abc", "mobile")), bad, "phoneNumber"},
			{"PATCH extension on the mobile", patch(mobile, `{"phoneNumber": "+46 701234567x1"}`), bad, "phoneNumber"},
			{"PATCH phoneType", patch(mobile, phone("+46 701234567", "office")), bad, "phoneType"},
			{"PATCH missing phoneNumber", patch(mobile, `{}`), bad, "phoneNumber"},
			{"PATCH unknown property", patch(mobile, `{"phoneNumber": "+46 701234567", "isDefault": true}`), bad, "isDefault"},
			{"PATCH not a number", patch(mobile, `{"phoneNumber": "not a phone"}`), bad, "phoneNumber"},
			{"PATCH an absent phone type", patch(phones+"/"+mOfficeID, `{"phoneNumber": "+46 701111111"}`), []int{http.StatusNotFound}, ""},
			{"PATCH an unknown phone id", patch(phones+"/"+oath.ID, `{"phoneNumber": "+46 701111111"}`), []int{http.StatusNotFound}, ""},
			{"POST an existing phone type", post(phones, phone("+46 701111111", "mobile")), []int{http.StatusConflict}, ""},
			// Email.
			{"missing emailAddress", post(emails, `{}`), bad, "emailAddress"},
			{"empty emailAddress", post(emails, `{"emailAddress": ""}`), bad, "emailAddress"},
			{"emailAddress a number", post(emails, `{"emailAddress": 5}`), bad, "emailAddress"},
			{"email unknown property", post(emails, `{"emailAddress": "x@example.com", "phoneNumber": "+46 701111111"}`), bad, "phoneNumber"},
			{"POST an existing email", post(emails, `{"emailAddress": "x@example.com"}`), []int{http.StatusConflict}, ""},
			{"PATCH invalid email", patch(email, `{"emailAddress": "not-an-email"}`), bad, "emailAddress"},
			{"PATCH email with a name", patch(email, `{"emailAddress": "Anna <anna@example.com>"}`), bad, "emailAddress"},
			{"PATCH email with spaces", patch(email, `{"emailAddress": "anna @example.com"}`), bad, "emailAddress"},
			{"PATCH email missing", patch(email, `{}`), bad, "emailAddress"},
			{"PATCH email on a phone id", patch(emails+"/"+mMobileID, `{"emailAddress": "x@example.com"}`), []int{http.StatusNotFound}, ""},
			// Temporary Access Pass (a usable one exists, so only a request
			// that passes validation would reach the conflict).
			{"TAP lifetime too short", post(taps, `{"lifetimeInMinutes": 5}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime too long", post(taps, `{"lifetimeInMinutes": 50000}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime zero", post(taps, `{"lifetimeInMinutes": 0}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime outside the policy", post(taps, `{"lifetimeInMinutes": 30}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime above the policy", post(taps, `{"lifetimeInMinutes": 481}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime a string", post(taps, `{"lifetimeInMinutes": "60"}`), bad, "lifetimeInMinutes"},
			{"TAP lifetime a fraction", post(taps, `{"lifetimeInMinutes": 60.5}`), bad, "lifetimeInMinutes"},
			{"TAP start not a date", post(taps, `{"startDateTime": "tomorrow"}`), bad, "startDateTime"},
			{"TAP start a number", post(taps, `{"startDateTime": 1}`), bad, "startDateTime"},
			{"TAP start in the past", post(taps, `{"startDateTime": "`+past+`"}`), bad, "startDateTime"},
			{"TAP isUsableOnce a string", post(taps, `{"isUsableOnce": "yes"}`), bad, "isUsableOnce"},
			{"TAP unknown property", post(taps, `{"temporaryAccessPass": "chosen-pass"}`), bad, "temporaryAccessPass"},
			{"second TAP", post(taps, `{}`), []int{http.StatusConflict}, ""},
			// Password reset.
			{"newPassword a number", post(reset, `{"newPassword": 12345678}`), bad, "newPassword"},
			{"newPassword empty", post(reset, `{"newPassword": ""}`), bad, "newPassword"},
			{"newPassword too short", post(reset, `{"newPassword": "Ab1"}`), bad, "newPassword"},
			{"newPassword with the user's name", post(reset, `{"newPassword": "Andersson-Harbour-77"}`), bad, "newPassword"},
			{"reset unknown property", post(reset, `{"newPassword": "Blue-Harbour-Lantern-93", "forceChange": true}`), bad, "forceChange"},
			{"reset malformed JSON", post(reset, `{"newPassword": `), bad, ""},
			{"reset on a phone id", post(mp("v1.0", uid, "methods/"+mMobileID+"/resetPassword"), `{}`), []int{http.StatusNotFound}, ""},
			// Unknown ids and users.
			{"GET unknown app id", req{method: "GET", path: mp("v1.0", uid, "softwareOathMethods/00000000-0000-0000-0000-000000000000")}, []int{http.StatusNotFound}, ""},
			{"GET a non-uuid id", req{method: "GET", path: mp("v1.0", uid, "softwareOathMethods/not-an-id")}, []int{http.StatusNotFound}, ""},
			{"GET a TAP as an app", req{method: "GET", path: mp("v1.0", uid, "softwareOathMethods/"+tap.ID)}, []int{http.StatusNotFound}, ""},
			{"DELETE a TAP as an app", req{method: "DELETE", path: mp("v1.0", uid, "softwareOathMethods/"+tap.ID)}, []int{http.StatusNotFound}, ""},
			{"DELETE an app as a TAP", req{method: "DELETE", path: taps + "/" + oath.ID}, []int{http.StatusNotFound}, ""},
			{"DELETE a phone by its store id", req{method: "DELETE", path: phones + "/" + mustPhoneStoreID(t, e, f.tn.id, uid)}, []int{http.StatusNotFound}, ""},
			{"GET the email as a phone", req{method: "GET", path: phones + "/" + mEmailID}, []int{http.StatusNotFound}, ""},
			{"GET the mobile as an email", req{method: "GET", path: emails + "/" + mMobileID}, []int{http.StatusNotFound}, ""},
			{"GET an unknown method", req{method: "GET", path: mp("v1.0", uid, "methods/00000000-0000-0000-0000-000000000000")}, []int{http.StatusNotFound}, ""},
			{"DELETE the password", req{method: "DELETE", path: mp("v1.0", uid, "passwordMethods/"+mPasswordID)}, []int{http.StatusMethodNotAllowed}, ""},
			{"POST to methods", post(mp("v1.0", uid, "methods"), `{}`), []int{http.StatusMethodNotAllowed}, ""},
			{"PATCH an app", patch(mp("v1.0", uid, "softwareOathMethods/"+oath.ID), `{}`), []int{http.StatusMethodNotAllowed}, ""},
			{"unknown user", post(mp("v1.0", "00000000-0000-0000-0000-000000000000", "phoneMethods"), phone("+46 701111111", "office")), []int{http.StatusNotFound}, ""},
			{"unknown UPN", req{method: "GET", path: mp("v1.0", "nobody@contoso.com", "methods")}, []int{http.StatusNotFound}, ""},
			{"unknown segment", req{method: "GET", path: mp("v1.0", uid, "bogusMethods")}, []int{http.StatusNotFound}, ""},
			// Query options.
			{"$filter on methods", req{method: "GET", path: q(mp("v1.0", uid, "methods"), "$filter", "id eq 'x'")}, bad, ""},
			{"$count on methods", req{method: "GET", path: q(mp("v1.0", uid, "methods"), "$count", "true")}, bad, ""},
			{"$select unknown", req{method: "GET", path: q(phones, "$select", "bogus")}, bad, ""},
			{"$expand", req{method: "GET", path: q(phones, "$expand", "x")}, bad, ""},
			{"$top zero", req{method: "GET", path: q(phones, "$top", "0")}, bad, ""},
			{"bad skiptoken", req{method: "GET", path: q(phones, "$skiptoken", "garbage")}, bad, ""},
		}
		before := methodsSnapshot(t, e, f.tn.id, uid)
		for _, c := range cases {
			r := e.do(t, f.reset, c.r)
			checkGraphError(t, c.name, r, c.statuses...)
			if c.target != "" {
				if got := mErrTarget(r); got != c.target {
					t.Errorf("%s: target %q, want %q (%s)", c.name, got, c.target, r.raw)
				}
			}
			if after := methodsSnapshot(t, e, f.tn.id, uid); after != before {
				t.Fatalf("%s: something was written:\nbefore %s\nafter  %s", c.name, before, after)
			}
		}
	})
}

func mustPhoneStoreID(t *testing.T, e *env, tenantID, userID string) string {
	t.Helper()
	ms, err := e.app.SecurityInfo.Methods(e.ctx, tenantID, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind == "phone" {
			return m.ID
		}
	}
	t.Fatal("no phone")
	return ""
}
