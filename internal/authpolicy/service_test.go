package authpolicy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var ctx = context.Background()

var operator = directory.Actor{Operator: true, DisplayName: "test operator"}

// caCount is a fake conditional access counter.
type caCount struct{ n int }

func (c *caCount) EnabledPolicyCount(context.Context, string) (int, error) { return c.n, nil }

type env struct {
	svc    *authpolicy.Service
	st     store.Store
	tenant store.Tenant
	alice  store.User // member of sales (directly) and of all (through sales)
	bob    store.User // member of finance
	sales  store.Group
	fin    store.Group
	ca     *caCount
	now    time.Time
}

func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, newEnv(t, b.New))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T, newStore storetest.NewStore) *env {
	t.Helper()
	st := newStore(t)
	created := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	e := &env{st: st, ca: &caCount{}, now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	e.tenant = store.Tenant{ID: uuid.NewString(), DisplayName: "Contoso", Domains: []string{"contoso-" + uuid.NewString()[:8] + ".com"}, CreatedAt: created}
	must(t, st.CreateTenant(ctx, e.tenant))
	mk := func(upn string) store.User {
		u := store.User{ID: uuid.NewString(), TenantID: e.tenant.ID, UPN: upn + "@" + e.tenant.Domains[0], DisplayName: upn,
			AccountEnabled: true, PerUserMFA: store.PerUserMFADisabled, UserType: "member", CreatedAt: created, UpdatedAt: created}
		must(t, st.CreateUser(ctx, u))
		return u
	}
	e.alice, e.bob = mk("alice"), mk("bob")
	mkg := func(name string) store.Group {
		g := store.Group{ID: uuid.NewString(), TenantID: e.tenant.ID, DisplayName: name, MailNickname: strings.ToLower(name), CreatedAt: created}
		must(t, st.CreateGroup(ctx, g))
		return g
	}
	e.sales, e.fin = mkg("Sales"), mkg("Finance")
	must(t, st.AddMember(ctx, e.tenant.ID, e.sales.ID, e.alice.ID))
	must(t, st.AddMember(ctx, e.tenant.ID, e.fin.ID, e.bob.ID))
	// The clock ticks on every reading, so that audit entries sort in the
	// order they were written.
	clock := func() time.Time { e.now = e.now.Add(time.Millisecond); return e.now }
	adm := &admin.Service{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock}
	e.svc = &authpolicy.Service{Store: st, Admin: adm, ConditionalAccess: e.ca, Now: clock}
	return e
}

func (e *env) audits(t *testing.T) []store.AuditEntry {
	t.Helper()
	p, err := e.st.ListAudits(ctx, e.tenant.ID, store.ListQuery{Limit: 100, OrderBy: "activityDateTime", Desc: true})
	must(t, err)
	return p.Items
}

func (e *env) setting(t *testing.T, key string) string {
	t.Helper()
	raw, err := e.st.GetSetting(ctx, e.tenant.ID, key)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	must(t, err)
	return string(raw)
}

func wantKind(t *testing.T, err error, kind apperr.Kind, contains string) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != kind {
		t.Fatalf("error %v, want an apperr of kind %d", err, kind)
	}
	if !strings.Contains(ae.Message, contains) {
		t.Fatalf("message %q does not contain %q", ae.Message, contains)
	}
	return ae
}

func role(id string) directory.Actor {
	return directory.Actor{UserID: uuid.NewString(), UPN: "admin@contoso.com", Roles: []string{id}}
}

func TestSecurityDefaultsOnForNewTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		sd, err := e.svc.SecurityDefaults(ctx, e.tenant.ID)
		must(t, err)
		if !sd.Enabled || !sd.EnabledAt.Equal(e.tenant.CreatedAt) || !sd.ModifiedAt.IsZero() {
			t.Fatalf("new tenant: %+v, want on since %v", sd, e.tenant.CreatedAt)
		}
		on, err := e.svc.SecurityDefaultsEnabled(ctx, e.tenant.ID)
		if err != nil || !on {
			t.Fatalf("SecurityDefaultsEnabled = %v, %v", on, err)
		}
		if _, err := e.svc.SecurityDefaults(ctx, uuid.NewString()); err == nil {
			t.Fatal("unknown tenant: no error")
		}
	})
}

func TestSecurityDefaultsReason(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Required (CLI, portal): refused without one, nothing written.
		err := e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "  ", true)
		ae := wantKind(t, err, apperr.Invalid, "reason is required")
		if ae.Target != "reason" {
			t.Errorf("target %q", ae.Target)
		}
		if e.setting(t, authpolicy.SecurityDefaultsSetting) != "" || len(e.audits(t)) != 0 {
			t.Fatal("a refused change wrote something")
		}
		// Too long a reason.
		err = e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, strings.Repeat("x", authpolicy.MaxReasonLength+1), false)
		wantKind(t, err, apperr.Invalid, "longer than")

		// With a reason: off, audited with the reason.
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "Moving to conditional access", true))
		sd, err := e.svc.SecurityDefaults(ctx, e.tenant.ID)
		must(t, err)
		if sd.Enabled || !sd.ModifiedAt.After(e.tenant.CreatedAt) || !sd.EnabledAt.Equal(e.tenant.CreatedAt) {
			t.Fatalf("after off: %+v", sd)
		}
		a := e.audits(t)
		if len(a) != 1 {
			t.Fatalf("%d audits", len(a))
		}
		if a[0].Activity != "Update security defaults" || a[0].AdditionalDetails["reason"] != "Moving to conditional access" {
			t.Fatalf("audit %+v", a[0])
		}
		mp := a[0].Targets[0].ModifiedProperties
		if a[0].Targets[0].ID != authpolicy.SecurityDefaultsPolicyID || len(mp) != 1 || mp[0].DisplayName != "IsEnabled" || mp[0].OldValue != "true" || mp[0].NewValue != "false" {
			t.Fatalf("audit target %+v", a[0].Targets)
		}
		// Setting the same state again changes nothing.
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "again", true))
		if len(e.audits(t)) != 1 {
			t.Fatal("a no-op change was audited")
		}
		// Turning on again: EnabledAt moves.
		offAt := sd.ModifiedAt
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, true, "", true))
		sd, _ = e.svc.SecurityDefaults(ctx, e.tenant.ID)
		if !sd.Enabled || !sd.EnabledAt.After(offAt) || !sd.EnabledAt.Equal(sd.ModifiedAt) {
			t.Fatalf("after on: %+v", sd)
		}
		// Optional (Graph): off without a reason works, no reason detail.
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "", false))
		if a := e.audits(t); len(a) != 3 || a[0].AdditionalDetails["reason"] != "" {
			t.Fatalf("audits %+v", a)
		}
	})
}

func TestSecurityDefaultsConditionalAccessExclusion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "CA", true))
		e.ca.n = 3
		err := e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, true, "", true)
		ae := wantKind(t, err, apperr.Conflict, "")
		if want := "Security defaults cannot be turned on while 3 conditional access policies are enabled; turn them off or to report-only first."; ae.Message != want {
			t.Fatalf("message %q", ae.Message)
		}
		e.ca.n = 1
		err = e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, true, "", true)
		wantKind(t, err, apperr.Conflict, "while 1 conditional access policy is enabled; turn it off")
		if on, _ := e.svc.SecurityDefaultsEnabled(ctx, e.tenant.ID); on {
			t.Fatal("turned on despite the conflict")
		}
		e.ca.n = 0
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, true, "", true))
		// Nil counter: no conditional access at all.
		e.svc.ConditionalAccess = nil
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "x", true))
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, true, "", true))
	})
}

func TestPolicyAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		fido := authpolicy.Patch{JSON: []byte(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","isAttestationEnforced":true}`)}
		cases := []struct {
			name          string
			actor         directory.Actor
			sd, methods   bool
			prefs, perMFA bool
		}{
			{"Conditional Access Administrator", role(directory.RoleConditionalAccessAdmin), false, false, false, false},
			{"Authentication Policy Administrator", role(directory.RoleAuthenticationPolicyAdmin), false, true, false, true},
			{"Security Administrator", role(directory.RoleSecurityAdmin), true, true, false, false},
			{"Global Administrator", role(directory.RoleGlobalAdmin), true, true, true, true},
			{"Global Reader", role(directory.RoleGlobalReader), false, false, false, false},
			{"Authentication Administrator", role(directory.RoleAuthenticationAdmin), false, false, true, true},
			{"app with Policy.ReadWrite.ConditionalAccess", directory.Actor{AppID: "a", Permissions: []string{"Policy.ReadWrite.ConditionalAccess"}}, true, false, false, false},
			{"app with Policy.ReadWrite.AuthenticationMethod", directory.Actor{AppID: "a", Permissions: []string{"Policy.ReadWrite.AuthenticationMethod"}}, false, true, false, true},
			{"app with Policy.Read.All", directory.Actor{AppID: "a", Permissions: []string{"Policy.Read.All"}}, false, false, false, false},
		}
		check := func(t *testing.T, what string, err error, allowed bool) {
			t.Helper()
			if allowed && err != nil {
				t.Errorf("%s: %v", what, err)
			}
			if !allowed {
				if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Forbidden {
					t.Errorf("%s: error %v, want 403", what, err)
				}
			}
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := len(e.audits(t))
				sdOn, _ := e.svc.SecurityDefaultsEnabled(ctx, e.tenant.ID)
				check(t, "security defaults", e.svc.SetSecurityDefaults(ctx, c.actor, e.tenant.ID, !sdOn, "because", true), c.sd)
				_, err := e.svc.UpdateMethodConfig(ctx, c.actor, e.tenant.ID, "fido2", fido)
				check(t, "method configuration", err, c.methods)
				_, err = e.svc.UpdatePolicy(ctx, c.actor, e.tenant.ID, authpolicy.Patch{JSON: []byte(`{"reconfirmationInDays": 30}`)})
				check(t, "policy", err, c.methods)
				_, err = e.svc.ResetMethodConfig(ctx, c.actor, e.tenant.ID, "Fido2")
				check(t, "reset", err, c.methods)
				f := true
				check(t, "sign-in preferences", e.svc.SetSignInPreferences(ctx, c.actor, e.tenant.ID, e.bob.ID,
					authpolicy.SignInPreferencesPatch{IsSystemPreferredAuthenticationMethodEnabled: &f}), c.prefs)
				_, err = e.svc.SetPerUserMFA(ctx, c.actor, e.tenant.ID, e.bob.ID, store.PerUserMFADisabled)
				check(t, "per-user MFA", err, c.perMFA)
				if !c.sd && !c.methods && !c.prefs && !c.perMFA && len(e.audits(t)) != before {
					t.Error("a refused actor wrote audit entries")
				}
			})
		}
	})
}

func TestLoadDefaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p, err := e.svc.Load(ctx, e.tenant.ID)
		must(t, err)
		want, _ := json.Marshal(authpolicy.Default(e.tenant.CreatedAt))
		got, _ := json.Marshal(p)
		if string(got) != string(want) {
			t.Fatalf("Load of a new tenant:\n%s\nwant\n%s", got, want)
		}
		if e.setting(t, authpolicy.PolicySetting) != "" {
			t.Fatal("Load wrote the setting")
		}
	})
}

// TestLoadKeepsEarlierTAPSetting: a TAP setting written before the policy
// existed shows through the policy.
func TestLoadKeepsEarlierTAPSetting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		_, err := e.st.UpdateSetting(ctx, e.tenant.ID, securityinfo.TAPPolicySetting, func([]byte) ([]byte, error) {
			return []byte(`{"enabled":false,"defaultLifetimeInMinutes":120,"minimumLifetimeInMinutes":60,"maximumLifetimeInMinutes":600,"defaultLength":12,"isUsableOnce":true}`), nil
		})
		must(t, err)
		p, err := e.svc.Load(ctx, e.tenant.ID)
		must(t, err)
		c := p.Methods.TemporaryAccessPass
		if c.State != "disabled" || c.DefaultLifetimeInMinutes != 120 || c.MaximumLifetimeInMinutes != 600 || c.DefaultLength != 12 || !c.IsUsableOnce {
			t.Fatalf("TAP config %+v", c)
		}
	})
}

func TestUpdatePolicyRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		body := `{"reconfirmationInDays": 90,
		  "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "Enabled", "snoozeDurationInDays": 5,
		    "includeTargets": [{"id": "` + strings.ToUpper(e.sales.ID) + `", "targetType": "group"}],
		    "excludeTargets": [{"id": "` + e.bob.ID + `", "targetType": "user"}]}},
		  "systemCredentialPreferences": {"state": "enabled", "includeTargets": [{"id": "all_users", "targetType": "group"}],
		    "excludeTargets": [{"id": "` + e.fin.ID + `", "targetType": "group"}]},
		  "reportSuspiciousActivitySettings": {"state": "enabled", "voiceReportingCode": 7}}`
		p, err := e.svc.UpdatePolicy(ctx, operator, e.tenant.ID, authpolicy.Patch{JSON: []byte(body)})
		must(t, err)
		c := p.RegistrationEnforcement.AuthenticationMethodsRegistrationCampaign
		if p.ReconfirmationInDays != 90 || c.State != "enabled" || c.SnoozeDurationInDays != 5 || len(c.IncludeTargets) != 1 ||
			c.IncludeTargets[0].ID != e.sales.ID || c.IncludeTargets[0].TargetedAuthenticationMethod != "microsoftAuthenticator" ||
			len(c.ExcludeTargets) != 1 || c.ExcludeTargets[0].TargetType != "user" {
			t.Fatalf("campaign %+v", c)
		}
		if p.ReportSuspiciousActivitySettings.VoiceReportingCode != 7 || p.ReportSuspiciousActivitySettings.IncludeTarget.ID != authpolicy.AllUsers {
			t.Fatalf("report settings %+v (a nested patch merges into the current object)", p.ReportSuspiciousActivitySettings)
		}
		if !p.LastModifiedDateTime.After(e.tenant.CreatedAt) {
			t.Fatalf("lastModifiedDateTime %v", p.LastModifiedDateTime)
		}
		loaded, err := e.svc.Load(ctx, e.tenant.ID)
		must(t, err)
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(loaded)
		if string(a) != string(b) {
			t.Fatalf("stored policy differs:\n%s\n%s", a, b)
		}
		// Evaluation of the stored policy.
		if ok, snooze := loaded.CampaignApplies(e.alice.ID, []string{e.sales.ID}); !ok || snooze != 5 {
			t.Fatal("campaign should apply to alice (sales)")
		}
		if loaded.SystemPreferredApplies(e.bob.ID, []string{e.fin.ID}) {
			t.Fatal("system-preferred should not apply to bob (finance is excluded)")
		}
		au := e.audits(t)
		if len(au) != 1 || au[0].Activity != "Update authentication methods policy" || au[0].Targets[0].ID != "authenticationMethodsPolicy" {
			t.Fatalf("audit %+v", au)
		}
		names := map[string]store.ModifiedProperty{}
		for _, mp := range au[0].Targets[0].ModifiedProperties {
			names[mp.DisplayName] = mp
		}
		if mp := names["reconfirmationInDays"]; mp.OldValue != "180" || mp.NewValue != "90" {
			t.Fatalf("modified properties %+v", au[0].Targets[0].ModifiedProperties)
		}
		if len(names) != 4 {
			t.Fatalf("modified properties %+v", names)
		}
		// The same patch again changes nothing.
		e.now = e.now.Add(time.Minute)
		p2, err := e.svc.UpdatePolicy(ctx, operator, e.tenant.ID, authpolicy.Patch{JSON: []byte(body)})
		must(t, err)
		if !p2.LastModifiedDateTime.Equal(p.LastModifiedDateTime) || len(e.audits(t)) != 1 {
			t.Fatal("a no-op patch was written")
		}
	})
}

func TestUpdatePolicyValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ghost := uuid.NewString()
		cases := []struct {
			name, body string
			v1         bool
			target     string
			msg        string
		}{
			{"not JSON", `{`, false, "", "Unable to read JSON"},
			{"not an object", `[1]`, false, "", "must be a JSON object"},
			{"unknown property", `{"colour": "red"}`, false, "colour", "does not exist"},
			{"read-only property", `{"policyVersion": "2.0"}`, false, "policyVersion", "read-only"},
			{"configurations are read-only here", `{"authenticationMethodConfigurations": []}`, false, "authenticationMethodConfigurations", "read-only"},
			{"wrong @odata.type", `{"@odata.type": "#microsoft.graph.user", "reconfirmationInDays": 1}`, false, "@odata.type", "@odata.type"},
			{"beta-only property under v1.0", `{"systemCredentialPreferences": {"state": "enabled"}}`, true, "systemCredentialPreferences", "beta"},
			{"reconfirmation out of range", `{"reconfirmationInDays": 731}`, false, "reconfirmationInDays", "between 0 and 730"},
			{"reconfirmation not an integer", `{"reconfirmationInDays": "ten"}`, false, "reconfirmationInDays", "expected an integer"},
			{"reconfirmation fraction", `{"reconfirmationInDays": 1.5}`, false, "reconfirmationInDays", "expected an integer"},
			{"null", `{"reconfirmationInDays": null}`, false, "reconfirmationInDays", "cannot be null"},
			{"snooze over 14", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 15}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.snoozeDurationInDays", "between 0 and 14"},
			{"snooze negative", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": -1}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.snoozeDurationInDays", "between 0 and 14"},
			{"bad campaign state", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"state": "on"}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.state", "use default, enabled or disabled"},
			{"unknown nested property", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"nag": true}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.nag", "does not exist"},
			{"unknown group in campaign", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"includeTargets": [{"id": "` + ghost + `", "targetType": "group"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.includeTargets.id", "does not exist in the tenant"},
			{"user id as a group", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"excludeTargets": [{"id": "` + e.alice.ID + `", "targetType": "group"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.excludeTargets.id", "group"},
			{"malformed target id", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"excludeTargets": [{"id": "sales", "targetType": "group"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.excludeTargets.id", "does not exist"},
			{"bad target type", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"excludeTargets": [{"id": "` + e.sales.ID + `", "targetType": "role"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.excludeTargets.targetType", "use user or group"},
			{"duplicate target", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"excludeTargets": [{"id": "` + e.sales.ID + `", "targetType": "group"}, {"id": "` + e.sales.ID + `", "targetType": "group"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.excludeTargets", "twice"},
			{"targeted method", `{"registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "sms"}]}}}`, false,
				"registrationEnforcement.authenticationMethodsRegistrationCampaign.includeTargets.targetedAuthenticationMethod", "microsoftAuthenticator"},
			{"two system-preferred includes", `{"systemCredentialPreferences": {"includeTargets": [{"id": "` + e.sales.ID + `", "targetType": "group"}, {"id": "` + e.fin.ID + `", "targetType": "group"}]}}`, false,
				"systemCredentialPreferences.includeTargets", "at most one include target"},
			{"two system-preferred excludes", `{"systemCredentialPreferences": {"excludeTargets": [{"id": "` + e.sales.ID + `", "targetType": "group"}, {"id": "` + e.fin.ID + `", "targetType": "group"}]}}`, false,
				"systemCredentialPreferences.excludeTargets", "at most one exclude target"},
			{"unknown system-preferred group", `{"systemCredentialPreferences": {"excludeTargets": [{"id": "` + ghost + `", "targetType": "group"}]}}`, false,
				"systemCredentialPreferences.excludeTargets.id", "does not exist"},
			{"bad system-preferred state", `{"systemCredentialPreferences": {"state": "sometimes"}}`, false, "systemCredentialPreferences.state", "use default"},
			{"voice reporting code", `{"reportSuspiciousActivitySettings": {"voiceReportingCode": 10}}`, false, "reportSuspiciousActivitySettings.voiceReportingCode", "between 0 and 9"},
			{"array for object", `{"registrationEnforcement": []}`, false, "registrationEnforcement", "expected an object"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.UpdatePolicy(ctx, operator, e.tenant.ID, authpolicy.Patch{JSON: []byte(c.body), V1: c.v1})
				ae := wantKind(t, err, apperr.Invalid, c.msg)
				if ae.Target != c.target {
					t.Errorf("target %q, want %q", ae.Target, c.target)
				}
				if e.setting(t, authpolicy.PolicySetting) != "" || len(e.audits(t)) != 0 {
					t.Fatal("a refused patch wrote something")
				}
			})
		}
	})
}

func TestMethodConfigRoundTripAndTAPSync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		// Case-insensitive id, canonical casing returned.
		c, err := e.svc.UpdateMethodConfig(ctx, operator, e.tenant.ID, "fido2", authpolicy.Patch{JSON: []byte(`{
			"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
			"isAttestationEnforced": true,
			"keyRestrictions": {"isEnforced": true, "enforcementType": "Allow", "aaGuids": ["CB69481E-8FF7-4039-93EC-0A2729A154A8"]},
			"includeTargets": [{"id": "` + e.sales.ID + `", "targetType": "group", "isRegistrationRequired": true}],
			"excludeTargets": [{"id": "` + e.bob.ID + `", "targetType": "user"}]}`)})
		must(t, err)
		f := c.(authpolicy.Fido2Config)
		if c.ConfigID() != "Fido2" || !f.IsAttestationEnforced || !f.IsSelfServiceRegistrationAllowed || f.KeyRestrictions.EnforcementType != "allow" ||
			f.KeyRestrictions.AAGuids[0] != "cb69481e-8ff7-4039-93ec-0a2729a154a8" || !f.IncludeTargets[0].IsRegistrationRequired {
			t.Fatalf("fido2 %+v", f)
		}
		p, _ := e.svc.Load(ctx, e.tenant.ID)
		if k := p.AllowedKinds(e.alice.ID, []string{e.sales.ID}); !k[method.KindFido2] {
			t.Fatal("fido2 should be allowed for sales")
		}
		if k := p.AllowedKinds(e.bob.ID, []string{e.fin.ID}); k[method.KindFido2] {
			t.Fatal("fido2 should not be allowed for bob")
		}
		a := e.audits(t)
		if len(a) != 1 || a[0].Activity != "Update authentication method configuration" || a[0].Targets[0].ID != "Fido2" ||
			!strings.Contains(a[0].Targets[0].ModifiedProperties[0].OldValue, `"isAttestationEnforced":false`) ||
			!strings.Contains(a[0].Targets[0].ModifiedProperties[0].NewValue, `"isAttestationEnforced":true`) {
			t.Fatalf("audit %+v", a)
		}

		// TAP: the securityinfo setting follows, in the same change.
		_, err = e.svc.UpdateMethodConfig(ctx, operator, e.tenant.ID, "TEMPORARYACCESSPASS", authpolicy.Patch{JSON: []byte(`{
			"@odata.type": "microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
			"defaultLifetimeInMinutes": 120, "maximumLifetimeInMinutes": 1440, "minimumLifetimeInMinutes": 30,
			"defaultLength": 16, "isUsableOnce": true}`)})
		must(t, err)
		var tap securityinfo.TAPPolicy
		must(t, json.Unmarshal([]byte(e.setting(t, securityinfo.TAPPolicySetting)), &tap))
		if want := (securityinfo.TAPPolicy{Enabled: true, DefaultLifetimeMinutes: 120, MinimumLifetimeMinutes: 30, MaximumLifetimeMinutes: 1440,
			DefaultLength: 16, IsUsableOnce: true}); tap != want {
			t.Fatalf("TAP setting %+v, want %+v", tap, want)
		}
		si := &securityinfo.Service{Store: e.st}
		got, err := si.TAPPolicyFor(ctx, e.tenant.ID)
		if err != nil || got.MaximumLifetimeMinutes != 1440 {
			t.Fatalf("securityinfo reads %+v %v", got, err)
		}
		_, err = e.svc.UpdateMethodConfig(ctx, operator, e.tenant.ID, "TemporaryAccessPass", authpolicy.Patch{JSON: []byte(`{
			"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "disabled"}`)})
		must(t, err)
		got, _ = si.TAPPolicyFor(ctx, e.tenant.ID)
		if got.Enabled || got.DefaultLength != 16 {
			t.Fatalf("disabled TAP: %+v", got)
		}

		// Reset (DELETE) brings the defaults back, TAP setting too.
		_, err = e.svc.ResetMethodConfig(ctx, operator, e.tenant.ID, "temporaryaccesspass")
		must(t, err)
		got, _ = si.TAPPolicyFor(ctx, e.tenant.ID)
		if got != securityinfo.DefaultTAPPolicy() {
			t.Fatalf("after reset: %+v", got)
		}
		_, err = e.svc.ResetMethodConfig(ctx, operator, e.tenant.ID, "Fido2")
		must(t, err)
		p, _ = e.svc.Load(ctx, e.tenant.ID)
		d := authpolicy.DefaultMethods()
		x, _ := json.Marshal(p.Methods.All())
		y, _ := json.Marshal(d.All())
		if string(x) != string(y) {
			t.Fatalf("after resets:\n%s\nwant\n%s", x, y)
		}
		if a := e.audits(t); a[0].Activity != "Reset authentication method configuration" {
			t.Fatalf("audit %q", a[0].Activity)
		}
	})
}

func TestMethodConfigValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ghost := uuid.NewString()
		typ := func(name string) string {
			return `"@odata.type": "#microsoft.graph.` + name + `AuthenticationMethodConfiguration"`
		}
		tapT, fidoT, authT := typ("temporaryAccessPass"), typ("fido2"), typ("microsoftAuthenticator")
		cases := []struct {
			name, id, body string
			v1             bool
			target, msg    string
		}{
			{"unknown id", "Carrier pigeon", `{}`, false, "id", "not an authentication method configuration"},
			{"hardware OATH under v1.0", "HardwareOath", `{` + typ("hardwareOath") + `}`, true, "id", "beta"},
			{"missing @odata.type", "Fido2", `{"state": "disabled"}`, false, "@odata.type", "required"},
			{"other @odata.type", "Fido2", `{` + tapT + `, "state": "disabled"}`, false, "@odata.type", "fido2AuthenticationMethodConfiguration"},
			{"other id in body", "Fido2", `{` + fidoT + `, "id": "Sms"}`, false, "id", "must be 'Fido2'"},
			{"unknown property", "Fido2", `{` + fidoT + `, "isCool": true}`, false, "isCool", "does not exist"},
			{"property of another method", "Fido2", `{` + fidoT + `, "isOfficePhoneAllowed": true}`, false, "isOfficePhoneAllowed", "does not exist"},
			{"bad state", "Fido2", `{` + fidoT + `, "state": "on"}`, false, "state", "use enabled or disabled"},
			{"bad enforcement type", "Fido2", `{` + fidoT + `, "keyRestrictions": {"enforcementType": "deny"}}`, false, "keyRestrictions.enforcementType", "allow or block"},
			{"bad AAGUID", "Fido2", `{` + fidoT + `, "keyRestrictions": {"aaGuids": ["yubikey"]}}`, false, "keyRestrictions.aaGuids", "not an AAGUID"},
			{"enforced empty allow list", "Fido2", `{` + fidoT + `, "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": []}}`, false, "keyRestrictions.aaGuids", "at least one"},
			{"unknown group", "Fido2", `{` + fidoT + `, "includeTargets": [{"id": "` + ghost + `", "targetType": "group"}]}`, false, "includeTargets.id", "does not exist in the tenant"},
			{"unknown user", "Fido2", `{` + fidoT + `, "excludeTargets": [{"id": "` + ghost + `", "targetType": "user"}]}`, false, "excludeTargets.id", "user"},
			{"missing target id", "Sms", `{` + typ("sms") + `, "includeTargets": [{"targetType": "group"}]}`, false, "includeTargets.id", "required"},
			{"bad authentication mode", "MicrosoftAuthenticator", `{` + authT + `, "includeTargets": [{"id": "all_users", "targetType": "group", "authenticationMode": "telepathy"}]}`, false,
				"includeTargets.authenticationMode", "deviceBasedPush, push or any"},
			{"feature setting targets a role", "MicrosoftAuthenticator", `{` + authT + `, "featureSettings": {"displayLocationInformationRequiredState": {"includeTarget": {"id": "` + ghost + `", "targetType": "role"}}}}`, false,
				"featureSettings.displayLocationInformationRequiredState.targetType", "groups only"},
			{"feature setting unknown group", "MicrosoftAuthenticator", `{` + authT + `, "featureSettings": {"displayAppInformationRequiredState": {"excludeTarget": {"id": "` + ghost + `", "targetType": "group"}}}}`, false,
				"featureSettings.displayAppInformationRequiredState.excludeTarget.id", "does not exist"},
			{"beta feature setting under v1.0", "MicrosoftAuthenticator", `{` + authT + `, "featureSettings": {"numberMatchingRequiredState": {"state": "enabled"}}}`, true,
				"featureSettings.numberMatchingRequiredState", "beta"},
			{"email OTP for external ids", "Email", `{` + typ("email") + `, "allowExternalIdToUseEmailOtp": "yes"}`, false, "allowExternalIdToUseEmailOtp", "use default"},
			{"TAP lifetime under 10", "TemporaryAccessPass", `{` + tapT + `, "minimumLifetimeInMinutes": 9}`, false, "minimumLifetimeInMinutes", "between 10 and 43200"},
			{"TAP lifetime over 43200", "TemporaryAccessPass", `{` + tapT + `, "maximumLifetimeInMinutes": 43201}`, false, "maximumLifetimeInMinutes", "between 10 and 43200"},
			{"TAP minimum over maximum", "TemporaryAccessPass", `{` + tapT + `, "minimumLifetimeInMinutes": 500, "defaultLifetimeInMinutes": 500}`, false, "minimumLifetimeInMinutes", "cannot exceed"},
			{"TAP default outside the bounds", "TemporaryAccessPass", `{` + tapT + `, "defaultLifetimeInMinutes": 30}`, false, "defaultLifetimeInMinutes", "between the minimum"},
			{"TAP length under 8", "TemporaryAccessPass", `{` + tapT + `, "defaultLength": 7}`, false, "defaultLength", "between 8 and 48"},
			{"TAP length over 48", "TemporaryAccessPass", `{` + tapT + `, "defaultLength": 49}`, false, "defaultLength", "between 8 and 48"},
			{"TAP boolean as string", "TemporaryAccessPass", `{` + tapT + `, "isUsableOnce": "true"}`, false, "isUsableOnce", "true or false"},
			{"certificate binding field", "X509Certificate", `{` + typ("x509Certificate") + `, "certificateUserBindings": [{"x509CertificateField": "Colour", "userProperty": "userPrincipalName", "priority": 1}]}`, false,
				"certificateUserBindings.x509CertificateField", "PrincipalName"},
			{"certificate binding priorities", "X509Certificate", `{` + typ("x509Certificate") + `, "certificateUserBindings": [{"x509CertificateField": "PrincipalName", "userProperty": "userPrincipalName", "priority": 1}, {"x509CertificateField": "RFC822Name", "userProperty": "userPrincipalName", "priority": 1}]}`, false,
				"certificateUserBindings.priority", "priorities must differ"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.UpdateMethodConfig(ctx, operator, e.tenant.ID, c.id, authpolicy.Patch{JSON: []byte(c.body), V1: c.v1})
				ae := wantKind(t, err, apperr.Invalid, c.msg)
				if ae.Target != c.target {
					t.Errorf("target %q, want %q", ae.Target, c.target)
				}
				if e.setting(t, authpolicy.PolicySetting) != "" || e.setting(t, securityinfo.TAPPolicySetting) != "" || len(e.audits(t)) != 0 {
					t.Fatal("a refused patch wrote something")
				}
			})
		}
		if _, err := e.svc.ResetMethodConfig(ctx, operator, e.tenant.ID, "Nope"); err == nil {
			t.Fatal("reset of an unknown configuration")
		}
	})
}

func addPhone(t *testing.T, e *env, u store.User, phoneType string) {
	t.Helper()
	must(t, e.st.CreateMethod(ctx, store.Method{ID: uuid.NewString(), TenantID: e.tenant.ID, UserID: u.ID, Kind: string(method.KindPhone),
		State: store.MethodActive, DisplayName: "phone", UniqueKey: "phone:" + phoneType + ":" + u.ID, CreatedAt: e.now,
		Props: store.MethodProps{PhoneNumber: "+46701234567", PhoneType: phoneType}}))
}

func TestSignInPreferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		get := func(u store.User) authpolicy.SignInPreferences {
			t.Helper()
			p, err := e.svc.GetSignInPreferences(ctx, operator, e.tenant.ID, u.ID)
			must(t, err)
			return p
		}
		if p := get(e.bob); !p.IsSystemPreferredAuthenticationMethodEnabled || p.SystemPreferredOverridden || p.UserPreferredMethodForSecondaryAuthentication != "" {
			t.Fatalf("default preferences %+v", p)
		}
		// The tenant excludes finance: bob follows it.
		_, err := e.svc.UpdatePolicy(ctx, operator, e.tenant.ID, authpolicy.Patch{JSON: []byte(`{"systemCredentialPreferences": {"excludeTargets": [{"id": "` + e.fin.ID + `", "targetType": "group"}]}}`)})
		must(t, err)
		if get(e.bob).IsSystemPreferredAuthenticationMethodEnabled || !get(e.alice).IsSystemPreferredAuthenticationMethodEnabled {
			t.Fatal("tenant exclusion not followed")
		}
		// A per-user override wins.
		on := true
		must(t, e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{IsSystemPreferredAuthenticationMethodEnabled: &on}))
		if p := get(e.bob); !p.IsSystemPreferredAuthenticationMethodEnabled || !p.SystemPreferredOverridden {
			t.Fatalf("override %+v", p)
		}
		u, _ := e.st.GetUser(ctx, e.tenant.ID, e.bob.ID)
		if u.SystemPreferredMFA == nil || !*u.SystemPreferredMFA {
			t.Fatal("override not stored")
		}
		a := e.audits(t)
		if a[0].Activity != "Update user sign-in preferences" || a[0].Targets[0].ID != e.bob.ID {
			t.Fatalf("audit %+v", a[0])
		}
		must(t, e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{FollowTenantSystemPreferred: true}))
		if get(e.bob).IsSystemPreferredAuthenticationMethodEnabled {
			t.Fatal("override not removed")
		}

		// Preferred method: must be registered and allowed.
		sms := "SMS"
		before := len(e.audits(t))
		err = e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{UserPreferredMethodForSecondaryAuthentication: &sms})
		wantKind(t, err, apperr.Invalid, "has not registered")
		bad := "carrierPigeon"
		err = e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{UserPreferredMethodForSecondaryAuthentication: &bad})
		wantKind(t, err, apperr.Invalid, "push, oath, voiceMobile, voiceAlternateMobile, voiceOffice or sms")
		if len(e.audits(t)) != before {
			t.Fatal("refused change audited")
		}
		addPhone(t, e, e.bob, method.PhoneMobile)
		addPhone(t, e, e.bob, method.PhoneOffice)
		must(t, e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{UserPreferredMethodForSecondaryAuthentication: &sms}))
		if p := get(e.bob); p.UserPreferredMethodForSecondaryAuthentication != "sms" {
			t.Fatalf("preferred %q", p.UserPreferredMethodForSecondaryAuthentication)
		}
		office := "voiceOffice"
		err = e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{UserPreferredMethodForSecondaryAuthentication: &office})
		wantKind(t, err, apperr.Invalid, "does not allow 'voiceOffice'")
		none := ""
		must(t, e.svc.SetSignInPreferences(ctx, operator, e.tenant.ID, e.bob.ID, authpolicy.SignInPreferencesPatch{UserPreferredMethodForSecondaryAuthentication: &none}))
		if p := get(e.bob); p.UserPreferredMethodForSecondaryAuthentication != "" {
			t.Fatal("preference not cleared")
		}
		if _, err := e.svc.GetSignInPreferences(ctx, operator, e.tenant.ID, uuid.NewString()); err == nil {
			t.Fatal("unknown user")
		}
	})
}

// TestSignInPreferencesOfAdmins: a helpdesk role cannot change an
// administrator's preferences.
func TestSignInPreferencesOfAdmins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		must(t, e.st.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), TenantID: e.tenant.ID, PrincipalID: e.alice.ID,
			RoleDefinitionID: directory.RoleUserAdmin, DirectoryScopeID: "/", CreatedAt: e.now}))
		on := true
		patch := authpolicy.SignInPreferencesPatch{IsSystemPreferredAuthenticationMethodEnabled: &on}
		err := e.svc.SetSignInPreferences(ctx, role(directory.RoleAuthenticationAdmin), e.tenant.ID, e.alice.ID, patch)
		wantKind(t, err, apperr.Forbidden, "administrator role")
		must(t, e.svc.SetSignInPreferences(ctx, role(directory.RoleAuthenticationAdmin), e.tenant.ID, e.bob.ID, patch))
		must(t, e.svc.SetSignInPreferences(ctx, role(directory.RolePrivilegedAuthenticationAd), e.tenant.ID, e.alice.ID, patch))
	})
}

func TestPerUserMFAWarning(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w, err := e.svc.SetPerUserMFA(ctx, operator, e.tenant.ID, e.bob.ID, store.PerUserMFAEnforced)
		must(t, err)
		if !strings.Contains(w, "security defaults both apply") {
			t.Fatalf("warning %q", w)
		}
		a := e.audits(t)
		if len(a) != 1 || a[0].Activity != "Update per-user multifactor authentication state" || a[0].AdditionalDetails["warning"] != w {
			t.Fatalf("audit %+v", a)
		}
		if u, _ := e.st.GetUser(ctx, e.tenant.ID, e.bob.ID); u.PerUserMFA != store.PerUserMFAEnforced {
			t.Fatal("state not set")
		}
		// Off: no warning.
		if w, err := e.svc.SetPerUserMFA(ctx, operator, e.tenant.ID, e.bob.ID, store.PerUserMFADisabled); err != nil || w != "" {
			t.Fatalf("disable: %q %v", w, err)
		}
		if a := e.audits(t); a[0].AdditionalDetails["warning"] != "" {
			t.Fatal("warning recorded when disabling")
		}
		// Security defaults off, conditional access on: the CA warning.
		must(t, e.svc.SetSecurityDefaults(ctx, operator, e.tenant.ID, false, "CA", true))
		e.ca.n = 2
		w, err = e.svc.SetPerUserMFA(ctx, operator, e.tenant.ID, e.bob.ID, store.PerUserMFAEnabled)
		if err != nil || !strings.Contains(w, "conditional access") {
			t.Fatalf("CA warning %q %v", w, err)
		}
		e.ca.n = 0
		if w, _ := e.svc.SetPerUserMFA(ctx, operator, e.tenant.ID, e.bob.ID, store.PerUserMFAEnforced); w != "" {
			t.Fatalf("no policy, warning %q", w)
		}
		_, err = e.svc.SetPerUserMFA(ctx, operator, e.tenant.ID, e.bob.ID, "sometimes")
		wantKind(t, err, apperr.Invalid, "Invalid per-user MFA state")
	})
}
