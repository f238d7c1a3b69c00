package ca

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/vakt-id/vakt/internal/policy"
)

func TestLogResults(t *testing.T) {
	mfa := policy.Grant{PolicyID: "p", MFA: true}
	mfaAndDevice := policy.Grant{PolicyID: "p", MFA: true, Compliant: true}
	mfaOrDevice := policy.Grant{PolicyID: "p", Or: true, MFA: true, Compliant: true}
	device := policy.Grant{PolicyID: "p", Compliant: true}
	block := policy.Grant{PolicyID: "p", Block: true}
	pw := policy.Grant{PolicyID: "p", MFA: true, PasswordChange: true}
	strength := policy.Grant{PolicyID: "p", Strength: policy.StrengthPhishingResistant}

	// Sign-in facts for satisfied: whether MFA is done, the device compliant.
	type facts struct{ mfaDone, compliant bool }
	sat := func(f facts) func(policy.Grant) bool {
		return func(g policy.Grant) bool {
			if g.Block {
				return true // LogResults must not trust this for a block
			}
			m := !g.MFA && g.Strength == 0 || f.mfaDone
			c := !g.Compliant || f.compliant
			if g.Or {
				return g.MFA && f.mfaDone || g.Compliant && f.compliant
			}
			return m && c && !g.PasswordChange
		}
	}
	enabled := func(g policy.Grant, applied bool, names ...string) Result {
		return Result{State: StateEnabled, Applied: applied, Grant: g, GrantControls: names}
	}
	reportOnly := func(g policy.Grant, applied bool, names ...string) Result {
		return Result{State: StateReportOnly, ReportOnly: true, Applied: applied, Grant: g, GrantControls: names}
	}
	cases := []struct {
		name        string
		r           Result
		f           facts
		interrupted bool
		want        string
	}{
		{"disabled", Result{State: StateDisabled, FailedCondition: FailedState, Grant: mfa, GrantControls: []string{"Mfa"}}, facts{}, true, ResultNotEnabled},
		{"not applied", enabled(mfa, false, "Mfa"), facts{}, true, ResultNotApplied},
		{"mfa done", enabled(mfa, true, "Mfa"), facts{mfaDone: true}, true, ResultSuccess},
		{"mfa pending", enabled(mfa, true, "Mfa"), facts{}, true, ResultFailure},
		{"block", enabled(block, true, "Block"), facts{mfaDone: true}, true, ResultFailure},
		{"session only", Result{State: StateEnabled, Applied: true, SessionControls: []string{"SignInFrequency"}}, facts{}, true, ResultSuccess},
		{"report-only not applied", reportOnly(mfa, false, "Mfa"), facts{}, true, ResultReportOnlyNotApplied},
		{"report-only satisfied", reportOnly(mfa, true, "Mfa"), facts{mfaDone: true}, true, ResultReportOnlySuccess},
		{"report-only would ask for mfa", reportOnly(mfa, true, "Mfa"), facts{}, true, ResultReportOnlyInterrupted},
		{"report-only mfa, legacy client", reportOnly(mfa, true, "Mfa"), facts{}, false, ResultReportOnlyFailure},
		{"report-only strength", reportOnly(strength, true, "AuthenticationStrength"), facts{}, true, ResultReportOnlyInterrupted},
		{"report-only password change", reportOnly(pw, true, "Mfa", "PasswordChange"), facts{mfaDone: true}, true, ResultReportOnlyInterrupted},
		{"report-only block", reportOnly(block, true, "Block"), facts{}, true, ResultReportOnlyFailure},
		{"report-only device", reportOnly(device, true, "RequireCompliantDevice"), facts{}, true, ResultReportOnlyFailure},
		{"report-only device ok", reportOnly(device, true, "RequireCompliantDevice"), facts{compliant: true}, true, ResultReportOnlySuccess},
		{"report-only mfa and device, device bad", reportOnly(mfaAndDevice, true, "Mfa", "RequireCompliantDevice"), facts{}, true, ResultReportOnlyFailure},
		{"report-only mfa and device, device ok", reportOnly(mfaAndDevice, true, "Mfa", "RequireCompliantDevice"), facts{compliant: true}, true, ResultReportOnlyInterrupted},
		{"report-only mfa or device", reportOnly(mfaOrDevice, true, "Mfa", "RequireCompliantDevice"), facts{}, true, ResultReportOnlyInterrupted},
		{"report-only mfa or device, compliant", reportOnly(mfaOrDevice, true, "Mfa", "RequireCompliantDevice"), facts{compliant: true}, true, ResultReportOnlySuccess},
	}
	for _, c := range cases {
		c.r.PolicyID, c.r.DisplayName = "p", c.name
		got := LogResults([]Result{c.r}, sat(c.f), c.interrupted)
		if len(got) != 1 || got[0].Result != c.want {
			t.Errorf("%s: %q, want %q", c.name, got[0].Result, c.want)
		}
		if got[0].ID != "p" || got[0].DisplayName != c.name || got[0].EnforcedGrantControls == nil || got[0].EnforcedSessionControls == nil {
			t.Errorf("%s: entry %+v", c.name, got[0])
		}
	}
	if got := LogResults([]Result{enabled(mfa, true, "Mfa")}, nil, true); got[0].Result != ResultFailure {
		t.Errorf("nil satisfied: %s", got[0].Result)
	}
}

// TestLogResultsFromEvaluation runs a full evaluation into the log shape.
func TestLogResultsFromEvaluation(t *testing.T) {
	mfa := policyWith(t, "")
	legacy := policyWith(t, `"clientAppTypes":["exchangeActiveSync","other"]`)
	legacy.ID = "e0000000-0000-4000-8000-000000000040"
	legacy.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
	watch := policyWith(t, "")
	watch.ID = "e0000000-0000-4000-8000-000000000041"
	watch.State = StateReportOnly
	watch.GrantControls = &GrantControls{Operator: "AND", BuiltInControls: []string{"compliantDevice"}}
	watch.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: 8, Type: "hours"}}

	s := mustCompile(t, []Policy{mfa, legacy, watch}, nil)
	out, res := s.Evaluate(baseInput(), nil)
	satisfied := func(g policy.Grant) bool { return !g.Compliant } // MFA done, device not compliant
	log := LogResults(res, satisfied, true)
	want := []string{ResultSuccess, ResultNotApplied, ResultReportOnlyFailure}
	for i, w := range want {
		if log[i].Result != w {
			t.Errorf("policy %d: %s, want %s", i, log[i].Result, w)
		}
	}
	if !slices.Equal(log[0].EnforcedGrantControls, []string{"Mfa"}) || !slices.Equal(log[1].EnforcedGrantControls, []string{"Block"}) ||
		!slices.Equal(log[2].EnforcedSessionControls, []string{"SignInFrequency"}) || len(log[0].EnforcedSessionControls) != 0 {
		t.Errorf("controls %+v", log)
	}
	if len(out.Grants) != 1 {
		t.Errorf("grants %+v", out.Grants)
	}
	b, _ := json.Marshal(log[0])
	if string(b) != `{"id":"`+policyID+`","displayName":"test","enforcedGrantControls":["Mfa"],"enforcedSessionControls":[],"result":"success"}` {
		t.Errorf("JSON %s", b)
	}
	// The log's slices are capped: appending to one does not write into
	// the Set's.
	_ = append(log[0].EnforcedGrantControls, "X")
	_, res = s.Evaluate(baseInput(), res)
	if len(res[0].GrantControls) != 1 || cap(res[0].GrantControls) != 1 {
		t.Fatal("shared slice not capped")
	}
}
