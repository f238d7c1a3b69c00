package ca

import (
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/store"
)

// Results of a policy in the sign-in log (appliedConditionalAccessPolicy
// result).
const (
	ResultSuccess               = "success"
	ResultFailure               = "failure"
	ResultNotApplied            = "notApplied"
	ResultNotEnabled            = "notEnabled"
	ResultReportOnlySuccess     = "reportOnlySuccess"
	ResultReportOnlyFailure     = "reportOnlyFailure"
	ResultReportOnlyNotApplied  = "reportOnlyNotApplied"
	ResultReportOnlyInterrupted = "reportOnlyInterrupted"
)

// LogResults turns an evaluation's results into the sign-in log's
// appliedConditionalAccessPolicies, one per policy in the same order.
//
// satisfied reports whether the sign-in, as it stands when the entry is
// written, meets a grant (typically: policy.Decide asks nothing more for
// it). It is called with a policy's Grant and, for an AND grant that
// requires a compliant device, with a grant holding only that control. A
// nil satisfied counts every grant as unmet.
//
// interrupted says whether the sign-in can be interrupted to ask the user
// for something: true for interactive sign-ins (browser, the JSON API,
// RADIUS with Access-Challenge), false for those that cannot show a
// prompt (legacy authentication, non-interactive token requests).
//
// The results:
//   - disabled policy: notEnabled;
//   - enforced, conditions not met: notApplied; met: success when it has
//     no grant controls or they are satisfied, failure when it blocks or
//     they are not (yet) satisfied;
//   - report-only, conditions not met: reportOnlyNotApplied; met:
//     reportOnlySuccess when satisfied, reportOnlyInterrupted when it
//     would have interrupted the sign-in to ask for something the user
//     could do there (MFA, an authentication strength, a password change),
//     reportOnlyFailure when it would have blocked it (block, a
//     non-compliant device under AND, or a prompt that the sign-in could
//     not have shown).
//
// enforcedGrantControls and enforcedSessionControls list the policy's
// controls whatever the result, as Graph does.
func LogResults(results []Result, satisfied func(policy.Grant) bool, interrupted bool) []store.AppliedCAPolicy {
	out := make([]store.AppliedCAPolicy, len(results))
	for i := range results {
		r := &results[i]
		out[i] = store.AppliedCAPolicy{
			ID: r.PolicyID, DisplayName: r.DisplayName,
			EnforcedGrantControls:   nonNil(r.GrantControls),
			EnforcedSessionControls: nonNil(r.SessionControls),
			Result:                  logResult(r, satisfied, interrupted),
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s[:len(s):len(s)]
}

func logResult(r *Result, satisfied func(policy.Grant) bool, interrupted bool) string {
	enforced := r.State == StateEnabled && !r.ReportOnly
	switch {
	case !enforced && !r.ReportOnly:
		return ResultNotEnabled
	case !r.Applied && enforced:
		return ResultNotApplied
	case !r.Applied:
		return ResultReportOnlyNotApplied
	}
	g := r.Grant
	met := len(r.GrantControls) == 0 || !g.Block && satisfied != nil && satisfied(g)
	switch {
	case enforced && met:
		return ResultSuccess
	case enforced:
		return ResultFailure
	case met:
		return ResultReportOnlySuccess
	case interrupted && actionable(g, satisfied):
		return ResultReportOnlyInterrupted
	}
	return ResultReportOnlyFailure
}

// actionable reports whether the user could meet an unmet grant by doing
// something in the sign-in.
func actionable(g policy.Grant, satisfied func(policy.Grant) bool) bool {
	if g.Block {
		return false
	}
	interactive := g.MFA || g.Strength > policy.StrengthNone || g.PasswordChange
	if g.Or || !g.Compliant {
		return interactive
	}
	// AND with a compliant device: the user cannot fix the device.
	return interactive && satisfied != nil && satisfied(policy.Grant{PolicyID: g.PolicyID, Compliant: true})
}
