package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apptest"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var op = directory.Actor{Operator: true}

// world is a running vakt on one store with a fake clock.
type world struct {
	t      testing.TB
	ctx    context.Context
	a      *app.App
	srv    *httptest.Server
	tenant store.Tenant
	outbox string
	s      *apptest.Server
}

func (w *world) clock() time.Time        { return w.s.Now() }
func (w *world) advance(d time.Duration) { w.s.Advance(d) }

func newWorld(t testing.TB, newStore storetest.NewStore) *world {
	s := apptest.Start(t, newStore(t), apptest.Options{Configure: func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
	}})
	return &world{t: t, ctx: context.Background(), a: s.App, srv: s.Srv, tenant: s.Tenant, outbox: s.Outbox, s: s}
}

func (w *world) user(upn string) store.User {
	w.t.Helper()
	u, err := w.a.Admin.CreateUser(w.ctx, op, w.tenant.ID, admin.NewUser{UPN: upn, Password: "Lila-Kor-Flyger-88"})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// call posts to the sign-in API from ip and decodes the answer.
func (w *world) call(method, path, ip string, body any, want int) signin.View {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.srv.URL+"/"+w.tenant.ID+"/api/"+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var v signin.View
	json.Unmarshal(raw, &v)
	return v
}

// signIn starts a flow and sends the password.
func (w *world) signIn(upn, ip string) signin.View {
	v := w.call("POST", "signin", ip, map[string]any{"username": upn}, 201)
	return w.call("POST", "signin/"+v.FlowID+"/password", ip, map[string]any{"password": "Lila-Kor-Flyger-88"}, 200)
}

func (w *world) code(secretKey string) string {
	s, err := totp.DecodeSecret(secretKey)
	if err != nil {
		w.t.Fatal(err)
	}
	return totp.Code(s, totp.Step(w.clock(), totp.AppParams()), totp.AppParams())
}

func (w *world) stored(upn string) store.User {
	u, err := w.a.Store.UserByUPN(w.ctx, w.tenant.ID, upn)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// TestSignInScenarios is the end-to-end check of the sign-in engine through
// the JSON API with a fake clock: security defaults' grace, per-user MFA's
// Enabled → Enforced, and system-preferred MFA.
func TestSignInScenarios(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Run("security defaults: skip on day 1, forced on day 15, then MFA", func(t *testing.T) {
				w := newWorld(t, b.New)
				w.user("sd@contoso.com")
				v := w.signIn("sd@contoso.com", "10.1.1.1")
				if v.State != signin.StateRegister || !v.Register.Skippable || v.Register.GraceDaysLeft != 14 {
					t.Fatalf("day 1: %+v %+v", v, v.Register)
				}
				v = w.call("POST", "signin/"+v.FlowID+"/register/skip", "10.1.1.1", nil, 200)
				if v.State != signin.StateDone || v.Session == nil {
					t.Fatalf("after skip: %+v", v)
				}
				w.advance(15 * 24 * time.Hour)
				v = w.signIn("sd@contoso.com", "10.1.1.1")
				if v.State != signin.StateRegister || v.Register.Skippable {
					t.Fatalf("day 15: %+v %+v", v, v.Register)
				}
				w.call("POST", "signin/"+v.FlowID+"/register/skip", "10.1.1.1", nil, 400)
				reg := w.call("POST", "signin/"+v.FlowID+"/register/begin", "10.1.1.1", nil, 200)
				if reg.Register.Enrolment == nil || !strings.HasPrefix(reg.Register.Enrolment.URI, "otpauth://") {
					t.Fatalf("enrolment: %+v", reg.Register)
				}
				key := reg.Register.Enrolment.SecretKey
				v = w.call("POST", "signin/"+v.FlowID+"/register/finish", "10.1.1.1", map[string]any{"code": w.code(key)}, 200)
				if v.State != signin.StateDone {
					t.Fatalf("after registering: %+v", v)
				}
				// From a network never seen before, security defaults ask
				// for the app's code — once.
				w.advance(time.Minute)
				v = w.signIn("sd@contoso.com", "203.0.113.9")
				if v.State != signin.StateMFA || v.MFA.Selected != "oath" {
					t.Fatalf("unfamiliar sign-in: %+v %+v", v, v.MFA)
				}
				v = w.call("POST", "signin/"+v.FlowID+"/verify", "203.0.113.9", map[string]any{"code": w.code(key)}, 200)
				if v.State != signin.StateDone {
					t.Fatalf("after the code: %+v", v)
				}
				sess := w.session(v.Session.Token)
				defer func() {
					// An administrator signs the user out everywhere.
					n, err := w.a.Admin.RevokeSessions(w.ctx, op, w.tenant.ID, "sd@contoso.com")
					if err != nil || n != 3 {
						t.Fatalf("revoke: %d %v", n, err)
					}
					req, _ := http.NewRequest("GET", w.srv.URL+"/"+w.tenant.ID+"/api/session", nil)
					req.Header.Set("Authorization", "Session "+v.Session.Token)
					if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
						t.Fatalf("revoked session: %d", resp.StatusCode)
					}
				}()
				if !slices.Contains(sess.Methods, "mfa") || !slices.Contains(sess.Methods, "otp") || sess.MFAAt == nil {
					t.Fatalf("session %+v", sess)
				}
				// The sign-in log shows what happened: three successes and
				// three interrupts (registration twice, then MFA).
				w.a.SignInLog.Flush(w.ctx)
				p, _ := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
				codes := map[int]int{}
				var mfa store.SignIn
				for _, e := range p.Items {
					codes[e.ErrorCode]++
					if e.ErrorCode == 0 && e.IPAddress == "203.0.113.9" {
						mfa = e
					}
				}
				if len(p.Items) != 6 || codes[0] != 3 || codes[50079] != 2 || codes[50074] != 1 ||
					mfa.AuthenticationRequirement != "multiFactorAuthentication" || len(mfa.AuthDetails) != 2 {
					t.Fatalf("sign-in log: %v, the MFA sign-in %+v", codes, mfa)
				}
			})
			t.Run("per-user MFA: Enabled becomes Enforced after registering", func(t *testing.T) {
				w := newWorld(t, b.New)
				w.defaultsOff()
				u := w.user("pu@contoso.com")
				if _, err := w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{u.UPN}, store.PerUserMFAEnabled); err != nil {
					t.Fatal(err)
				}
				v := w.signIn(u.UPN, "10.1.1.1")
				if v.State != signin.StateRegister || v.Register.Skippable {
					t.Fatalf("enabled user without methods: %+v %+v", v, v.Register)
				}
				reg := w.call("POST", "signin/"+v.FlowID+"/register/begin", "10.1.1.1", nil, 200)
				v = w.call("POST", "signin/"+v.FlowID+"/register/finish", "10.1.1.1", map[string]any{"code": w.code(reg.Register.Enrolment.SecretKey)}, 200)
				if v.State != signin.StateDone {
					t.Fatalf("%+v", v)
				}
				if got := w.stored(u.UPN).PerUserMFA; got != store.PerUserMFAEnforced {
					t.Fatalf("per-user MFA state %s, want enforced", got)
				}
				// Enforced: MFA at every sign-in, even from the same place.
				w.advance(time.Minute)
				if v := w.signIn(u.UPN, "10.1.1.1"); v.State != signin.StateMFA {
					t.Fatalf("enforced user: %+v", v)
				}
			})
			t.Run("system-preferred MFA: TOTP before SMS, and the preferred SMS when excluded", func(t *testing.T) {
				w := newWorld(t, b.New)
				w.defaultsOff()
				u := w.user("sp@contoso.com")
				w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced)
				if _, err := w.a.SecurityInfo.SetPhone(w.ctx, op, w.tenant.ID, u.ID, "mobile", "+46 701234567"); err != nil {
					t.Fatal(err)
				}
				en, _ := w.a.SecurityInfo.BeginTOTP(w.ctx, w.tenant.ID, u.ID, "")
				if _, err := w.a.SecurityInfo.FinishTOTP(w.ctx, op, w.tenant.ID, u.ID, en.MethodID, w.code(en.SecretKey), false); err != nil {
					t.Fatal(err)
				}
				if _, err := w.a.Store.UpdateUser(w.ctx, w.tenant.ID, u.ID, func(x *store.User) error { x.PreferredMFA = "sms"; return nil }); err != nil {
					t.Fatal(err)
				}
				v := w.signIn(u.UPN, "10.1.1.1")
				if v.State != signin.StateMFA || v.MFA.Selected != "oath" || v.MFA.CodeSent || !slices.Equal(v.MFA.Options, mopts("oath", "sms", "voiceMobile")) {
					t.Fatalf("system-preferred: %+v %+v", v, v.MFA)
				}
				// Exclude the user through a group: their preferred SMS comes
				// first and is sent without asking (P-2.4).
				g, _ := w.a.Admin.CreateGroup(w.ctx, op, w.tenant.ID, admin.NewGroup{DisplayName: "No system-preferred MFA"})
				w.a.Admin.AddMember(w.ctx, op, w.tenant.ID, g.ID, u.ID)
				patch := `{"systemCredentialPreferences":{"state":"enabled","includeTargets":[{"id":"all_users","targetType":"group"}],"excludeTargets":[{"id":"` + g.ID + `","targetType":"group"}]}}`
				if _, err := w.a.Policies.UpdatePolicy(w.ctx, op, w.tenant.ID, authpolicy.Patch{JSON: []byte(patch)}); err != nil {
					t.Fatal(err)
				}
				v = w.signIn(u.UPN, "10.1.1.1")
				if v.State != signin.StateMFA || v.MFA.Selected != "sms" || !v.MFA.CodeSent || v.MFA.Destination != "+46 70*****67" {
					t.Fatalf("excluded user: %+v %+v", v, v.MFA)
				}
				m, ok, _ := delivery.LatestTo(w.outbox, "+46701234567")
				if !ok {
					t.Fatal("no text message in the outbox")
				}
				v = w.call("POST", "signin/"+v.FlowID+"/verify", "10.1.1.1", map[string]any{"code": m.Code}, 200)
				if v.State != signin.StateDone || !slices.Contains(w.session(v.Session.Token).Methods, "sms") {
					t.Fatalf("after the text: %+v", v)
				}
			})
			t.Run("methods policy: a method the policy excludes can be neither registered nor used", func(t *testing.T) {
				w := newWorld(t, b.New)
				w.defaultsOff()
				u := w.user("mp@contoso.com")
				w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced)
				en, _ := w.a.SecurityInfo.BeginTOTP(w.ctx, w.tenant.ID, u.ID, "")
				w.a.SecurityInfo.FinishTOTP(w.ctx, op, w.tenant.ID, u.ID, en.MethodID, w.code(en.SecretKey), false)
				w.a.SecurityInfo.SetPhone(w.ctx, op, w.tenant.ID, u.ID, "mobile", "+46 701234567")
				g, _ := w.a.Admin.CreateGroup(w.ctx, op, w.tenant.ID, admin.NewGroup{DisplayName: "No app codes"})
				w.a.Admin.AddMember(w.ctx, op, w.tenant.ID, g.ID, u.ID)
				patch := `{"@odata.type":"#microsoft.graph.softwareOathAuthenticationMethodConfiguration","excludeTargets":[{"id":"` + g.ID + `","targetType":"group"}]}`
				if _, err := w.a.Policies.UpdateMethodConfig(w.ctx, op, w.tenant.ID, "SoftwareOath", authpolicy.Patch{JSON: []byte(patch)}); err != nil {
					t.Fatal(err)
				}
				if _, err := w.a.SecurityInfo.BeginTOTP(w.ctx, w.tenant.ID, u.ID, ""); err == nil || !strings.Contains(err.Error(), "does not allow") {
					t.Fatalf("registering an excluded method: %v", err)
				}
				v := w.signIn(u.UPN, "10.1.1.1")
				if v.State != signin.StateMFA || slices.Contains(v.MFA.Options, method.OptionSoftwareOath) || v.MFA.Selected != "sms" {
					t.Fatalf("an excluded method was offered: %+v", v.MFA)
				}
				w.call("POST", "signin/"+v.FlowID+"/select", "10.1.1.1", map[string]any{"option": "oath"}, 400)
			})
			t.Run("a new password, then the registration campaign", func(t *testing.T) {
				w := newWorld(t, b.New)
				w.defaultsOff()
				u := w.user("pc@contoso.com")
				w.a.Store.UpdateUser(w.ctx, w.tenant.ID, u.ID, func(x *store.User) error { x.ForceChangePassword = true; return nil })
				campaign := `{"registrationEnforcement":{"authenticationMethodsRegistrationCampaign":{"state":"enabled","snoozeDurationInDays":3,"includeTargets":[{"id":"all_users","targetType":"group","targetedAuthenticationMethod":"microsoftAuthenticator"}],"excludeTargets":[]}}}`
				if _, err := w.a.Policies.UpdatePolicy(w.ctx, op, w.tenant.ID, authpolicy.Patch{JSON: []byte(campaign)}); err != nil {
					t.Fatal(err)
				}
				v := w.signIn(u.UPN, "10.1.1.1")
				if v.State != signin.StateChangePassword {
					t.Fatalf("%+v", v)
				}
				v = w.call("POST", "signin/"+v.FlowID+"/password/change", "10.1.1.1", map[string]any{"newPassword": "Ny-Stark-Fras-2027"}, 200)
				if v.State != signin.StateRegister || !v.Register.Skippable {
					t.Fatalf("after the new password: %+v", v)
				}
				v = w.call("POST", "signin/"+v.FlowID+"/register/skip", "10.1.1.1", nil, 200)
				if v.State != signin.StateDone || w.stored(u.UPN).RegistrationSnoozedUntil == nil {
					t.Fatalf("after snoozing: %+v", v)
				}
			})
		})
	}
}

func mopts(s ...string) []method.Option {
	out := make([]method.Option, len(s))
	for i, x := range s {
		out[i] = method.Option(x)
	}
	return out
}

func (w *world) defaultsOff() {
	if err := w.a.Policies.SetSecurityDefaults(w.ctx, op, w.tenant.ID, false, "testing policies", true); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) session(token string) store.Session {
	req, _ := http.NewRequest("GET", w.srv.URL+"/"+w.tenant.ID+"/api/session", nil)
	req.Header.Set("Authorization", "Session "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		w.t.Fatalf("session: %v %v", err, resp.Status)
	}
	defer resp.Body.Close()
	var s struct {
		UserID  string     `json:"userId"`
		AMR     []string   `json:"amr"`
		MFATime *time.Time `json:"mfaTime"`
	}
	json.NewDecoder(resp.Body).Decode(&s)
	return store.Session{UserID: s.UserID, Methods: s.AMR, MFAAt: s.MFATime}
}

// basic signs in to the legacy endpoint with HTTP basic authentication.
func (w *world) basic(user, pass, ip string) int {
	req, _ := http.NewRequest("GET", w.srv.URL+"/"+w.tenant.ID+"/api/legacy", nil)
	req.SetBasicAuth(user, pass)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLegacyEndpoint: HTTP basic auth works where nothing more is needed,
// and is refused where a second factor is (it cannot do one).
func TestLegacyEndpoint(t *testing.T) {
	w := newWorld(t, storetest.SQLite)
	w.defaultsOff()
	u := w.user("legacy@contoso.com")
	if code := w.basic(u.UPN, "Lila-Kor-Flyger-88", "10.1.1.5"); code != 200 {
		t.Fatalf("password only: %d", code)
	}
	if code := w.basic(u.UPN, "wrong", "10.1.1.5"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	w.a.Admin.SetPerUserMFA(w.ctx, op, w.tenant.ID, []string{u.UPN}, store.PerUserMFAEnforced)
	if code := w.basic(u.UPN, "Lila-Kor-Flyger-88", "10.1.1.5"); code != 401 {
		t.Fatalf("MFA required: %d", code)
	}
	// Security defaults block legacy authentication outright.
	if err := w.a.Policies.SetSecurityDefaults(w.ctx, op, w.tenant.ID, true, "", false); err != nil {
		t.Fatal(err)
	}
	if code := w.basic(u.UPN, "Lila-Kor-Flyger-88", "10.1.1.5"); code != 403 {
		t.Fatalf("security defaults: %d", code)
	}
	w.a.SignInLog.Flush(w.ctx)
	p, _ := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
	if len(p.Items) == 0 || p.Items[0].ClientAppUsed != "Other clients" {
		t.Fatalf("the log does not show the legacy client: %+v", p.Items)
	}
}

// TestConditionalAccessSignIn: "require MFA outside trusted networks" lets
// the office through on a password and asks for MFA elsewhere; "block
// legacy authentication" stops a legacy client; a report-only policy is
// logged and never enforced.
func TestConditionalAccessSignIn(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			w := newWorld(t, b.New)
			w.defaultsOff()
			u := w.user("ca@contoso.com")
			en, _ := w.a.SecurityInfo.BeginTOTP(w.ctx, w.tenant.ID, u.ID, "")
			w.a.SecurityInfo.FinishTOTP(w.ctx, op, w.tenant.ID, u.ID, en.MethodID, w.code(en.SecretKey), false)
			loc, err := w.a.ConditionalAccess.CreateNamedLocation(w.ctx, op, w.tenant.ID, []byte(`{"@odata.type":"#microsoft.graph.ipNamedLocation",
				"displayName":"Office","isTrusted":true,"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"10.1.1.0/24"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			policies := []string{
				`{"displayName":"Require MFA off-network","state":"enabled","conditions":{"clientAppTypes":["all"],"applications":{"includeApplications":["All"]},
				  "users":{"includeUsers":["All"]},"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},
				  "grantControls":{"operator":"OR","builtInControls":["mfa"]}}`,
				`{"displayName":"Block legacy authentication","state":"enabled","conditions":{"clientAppTypes":["exchangeActiveSync","other"],
				  "applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`,
				`{"displayName":"Trial: block everyone","state":"enabledForReportingButNotEnforced","conditions":{"clientAppTypes":["all"],
				  "applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`,
			}
			for _, p := range policies {
				if _, err := w.a.ConditionalAccess.CreatePolicy(w.ctx, op, w.tenant.ID, []byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			_ = loc
			// The office is trusted: the password is enough.
			if v := w.signIn(u.UPN, "10.1.1.5"); v.State != signin.StateDone {
				t.Fatalf("office sign-in: %+v", v)
			}
			// Elsewhere MFA is required, once.
			w.advance(time.Minute)
			v := w.signIn(u.UPN, "203.0.113.9")
			if v.State != signin.StateMFA {
				t.Fatalf("off-network sign-in: %+v", v)
			}
			if v = w.call("POST", "signin/"+v.FlowID+"/verify", "203.0.113.9", map[string]any{"code": w.code(en.SecretKey)}, 200); v.State != signin.StateDone {
				t.Fatalf("after MFA: %+v", v)
			}
			// A legacy client — HTTP basic authentication — is blocked.
			if code := w.basic(u.UPN, "Lila-Kor-Flyger-88", "10.1.1.5"); code != 403 {
				t.Fatalf("legacy sign-in: %d, want 403", code)
			}
			// The log has each policy's result.
			w.a.SignInLog.Flush(w.ctx)
			p, _ := w.a.Store.ListSignIns(w.ctx, w.tenant.ID, store.ListQuery{})
			results := func(e store.SignIn) map[string]string {
				m := map[string]string{}
				for _, a := range e.AppliedCAPolicies {
					m[a.DisplayName] = a.Result
				}
				return m
			}
			var office, away, legacy map[string]string
			var legacyStatus string
			for _, e := range p.Items {
				switch {
				case e.ErrorCode == 0 && e.IPAddress == "10.1.1.5":
					office = results(e)
				case e.ErrorCode == 0 && e.IPAddress == "203.0.113.9":
					away = results(e)
				case e.ErrorCode == policy.CodeBlockedByPolicy:
					legacy, legacyStatus = results(e), e.ConditionalAccessStatus
				}
			}
			if office["Require MFA off-network"] != "notApplied" || office["Trial: block everyone"] != "reportOnlyFailure" ||
				away["Require MFA off-network"] != "success" || legacy["Block legacy authentication"] != "failure" || legacyStatus != "failure" {
				t.Fatalf("office %v\naway %v\nlegacy %v (%s)", office, away, legacy, legacyStatus)
			}
		})
	}
}
