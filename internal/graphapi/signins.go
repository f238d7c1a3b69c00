package graphapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

// The sign-in log (graph-api.md §5, P-12.1): GET /auditLogs/signIns and
// /auditLogs/signIns/{id}, under /v1.0 and /beta.

// signInFilterFields are the $filter properties. status/errorCode is
// Graph's path syntax; the store calls it errorCode (see storeSignInFilter).
var signInFilterFields = map[string]odata.FieldKind{
	"id":                      odata.String,
	"createdDateTime":         odata.DateTime,
	"userId":                  odata.String,
	"userPrincipalName":       odata.String,
	"userDisplayName":         odata.String,
	"appId":                   odata.String,
	"appDisplayName":          odata.String,
	"ipAddress":               odata.String,
	"clientAppUsed":           odata.String,
	"correlationId":           odata.String,
	"conditionalAccessStatus": odata.String,
	"status/errorCode":        odata.Int,
	"isInteractive":           odata.Bool,
	"riskLevelDuringSignIn":   odata.Enum,
}

// signInProperties are the properties of a v1.0 signIn, in Graph's order.
// userAgent is a beta-only property in Microsoft's schema; graph-api.md §5
// lists it without restriction, so vakt sends it in both versions.
var signInProperties = []string{
	"id", "createdDateTime", "userId", "userDisplayName", "userPrincipalName", "appId", "appDisplayName",
	"ipAddress", "clientAppUsed", "correlationId", "isInteractive", "userAgent", "conditionalAccessStatus",
	"appliedConditionalAccessPolicies", "status", "location", "deviceDetail", "riskLevelDuringSignIn",
	"riskLevelAggregated", "riskState", "riskDetail", "riskEventTypes_v2",
}

// signInBetaProperties exist only under /beta.
var signInBetaProperties = []string{"authenticationDetails", "authenticationRequirement"}

func signInSpec(version string) odata.Spec {
	sel := signInProperties
	if version == "beta" {
		sel = append(slices.Clip(sel), signInBetaProperties...)
	}
	return odata.Spec{
		Fields:     signInFilterFields,
		Selectable: sel,
		Orderable:  []string{"createdDateTime"},
		MaxTop:     1000,
		DefaultTop: 100,
	}
}

func (a *API) signInRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/auditLogs/signIns", a.listSignIns)
	add("GET", "/auditLogs/signIns/{id}", a.getSignIn)
}

func (a *API) listSignIns(c *call) error {
	if err := c.require(directory.ActionSignInLogRead); err != nil {
		return err
	}
	o, err := c.parseQuery(signInSpec(c.version))
	if err != nil {
		return err
	}
	q := listQuery(o)
	if q.Filter != nil {
		f := storeSignInFilter(*q.Filter)
		q.Filter = &f
	}
	if q.OrderBy == "" {
		q.OrderBy, q.Desc = "createdDateTime", true // newest first
	}
	p, err := a.Store.ListSignIns(c.ctx, c.tenant, q)
	if err != nil {
		return storeQueryError(err)
	}
	enums := c.enumMembers()
	items := make([]map[string]any, len(p.Items))
	for i, s := range p.Items {
		items[i] = signInJSON(s, c.version == "beta", enums)
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, "auditLogs/signIns", items, p.Next, count, o.Select)
}

func (a *API) getSignIn(c *call) error {
	if err := c.require(directory.ActionSignInLogRead); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	s, err := a.Store.GetSignIn(c.ctx, c.tenant, id)
	if err != nil {
		return apperr.FromStore(err, "Resource '"+truncate(id, 64)+"'")
	}
	return a.entity(c, http.StatusOK, "auditLogs/signIns/$entity", signInJSON(s, c.version == "beta", c.enumMembers()))
}

// enumMembers reports whether the request asked for the evolvable enum
// members (Prefer: include-unknown-enum-members, graph-api.md §0), and
// says so in Preference-Applied when it did.
func (c *call) enumMembers() bool {
	for _, h := range c.r.Header.Values("Prefer") {
		for pref := range strings.SplitSeq(h, ",") {
			name, _, _ := strings.Cut(pref, "=")
			name, _, _ = strings.Cut(name, ";")
			if strings.EqualFold(strings.TrimSpace(name), "include-unknown-enum-members") {
				c.w.Header().Set("Preference-Applied", "include-unknown-enum-members")
				return true
			}
		}
	}
	return false
}

// storeSignInFilter maps a parsed $filter onto the store's fields:
// status/errorCode becomes errorCode, and a comparison with the value an
// empty stored enum is shown as ("notApplied", "none") also matches the
// empty value, so what a client reads is what it can filter on.
func storeSignInFilter(f store.Filter) store.Filter {
	switch f.Op {
	case store.FilterAnd, store.FilterOr, store.FilterNot:
		args := make([]store.Filter, len(f.Args))
		for i, a := range f.Args {
			args[i] = storeSignInFilter(a)
		}
		f.Args = args
		return f
	}
	if f.Field == "status/errorCode" {
		f.Field = "errorCode"
		return f
	}
	shown, ok := map[string]string{"conditionalAccessStatus": conditionalAccessStatus.empty,
		"riskLevelDuringSignIn": riskLevel.empty}[f.Field]
	if !ok {
		return f
	}
	empty := store.Filter{Op: store.FilterEq, Field: f.Field, Value: ""}
	switch {
	case f.Op == store.FilterEq && f.Value == shown:
		return store.Filter{Op: store.FilterOr, Args: []store.Filter{f, empty}}
	case f.Op == store.FilterNe && f.Value == shown:
		return store.Filter{Op: store.FilterAnd, Args: []store.Filter{f, {Op: store.FilterNe, Field: f.Field, Value: ""}}}
	case f.Op == store.FilterStartsWith && f.Value != "" && strings.HasPrefix(shown, f.Value):
		return store.Filter{Op: store.FilterOr, Args: []store.Filter{f, empty}}
	}
	return f
}

// graphEnum is one of Graph's enum types: its members up to and including
// unknownFutureValue, the evolvable members after it (sent only to clients
// that ask for them), and what an empty stored value is shown as.
type graphEnum struct {
	members   []string
	evolvable []string
	empty     string
}

// show gives the wire value of v: empty as e.empty; an evolvable member
// as itself only when the client asked for them (all), otherwise as
// unknownFutureValue; anything vakt does not know as unknownFutureValue.
func (e graphEnum) show(v string, all bool) string {
	switch {
	case v == "":
		return e.empty
	case slices.Contains(e.members, v):
		return v
	case all && slices.Contains(e.evolvable, v):
		return v
	}
	return "unknownFutureValue"
}

var (
	conditionalAccessStatus = graphEnum{
		members: []string{"success", "failure", "notApplied", "unknownFutureValue"},
		empty:   "notApplied",
	}
	appliedPolicyResult = graphEnum{
		members:   []string{"success", "failure", "notApplied", "notEnabled", "unknown", "unknownFutureValue"},
		evolvable: []string{"reportOnlySuccess", "reportOnlyFailure", "reportOnlyNotApplied", "reportOnlyInterrupted"},
		empty:     "unknown",
	}
	riskLevel = graphEnum{
		members: []string{"low", "medium", "high", "hidden", "none", "unknownFutureValue"},
		empty:   "none",
	}
	riskState = graphEnum{
		members: []string{"none", "confirmedSafe", "remediated", "dismissed", "atRisk", "confirmedCompromised", "unknownFutureValue"},
		empty:   "none",
	}
	// riskDetail's members after unknownFutureValue are those of
	// Microsoft's schema (beta has them all; v1.0 the first three).
	riskDetail = graphEnum{
		members: []string{"none", "adminGeneratedTemporaryPassword", "userPerformedSecuredPasswordChange",
			"userPerformedSecuredPasswordReset", "adminConfirmedSigninSafe", "aiConfirmedSigninSafe",
			"userPassedMFADrivenByRiskBasedPolicy", "adminDismissedAllRiskForUser", "adminConfirmedSigninCompromised",
			"hidden", "adminConfirmedUserCompromised", "unknownFutureValue"},
		evolvable: []string{"adminConfirmedServicePrincipalCompromised", "adminDismissedAllRiskForServicePrincipal",
			"m365DAdminDismissedDetection", "userChangedPasswordOnPremises", "adminDismissedRiskForSignIn",
			"adminConfirmedAccountSafe"},
		empty: "none",
	}
	authenticationRequirement = graphEnum{
		members: []string{"singleFactorAuthentication", "multiFactorAuthentication", "unknownFutureValue"},
		empty:   "singleFactorAuthentication",
	}
)

// signInTime keeps sub-second precision (Graph's sign-in times have it),
// so a createdDateTime read from a response can be used in an eq filter.
func signInTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.9999999Z") }

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// signInJSON is the Graph signIn of s; beta adds the beta-only
// properties; allEnums is the Prefer: include-unknown-enum-members rule.
func signInJSON(s store.SignIn, beta, allEnums bool) map[string]any {
	policies := make([]map[string]any, len(s.AppliedCAPolicies))
	for i, p := range s.AppliedCAPolicies {
		policies[i] = map[string]any{
			"id": p.ID, "displayName": nullable(p.DisplayName),
			"enforcedGrantControls": orEmpty(p.EnforcedGrantControls), "enforcedSessionControls": orEmpty(p.EnforcedSessionControls),
			"result": appliedPolicyResult.show(p.Result, allEnums),
		}
	}
	obj := map[string]any{
		"id":                               s.ID,
		"createdDateTime":                  signInTime(s.CreatedAt),
		"userId":                           nullable(s.UserID),
		"userDisplayName":                  nullable(s.UserDisplayName),
		"userPrincipalName":                nullable(s.UserPrincipalName),
		"appId":                            nullable(s.AppID),
		"appDisplayName":                   nullable(s.AppDisplayName),
		"ipAddress":                        nullable(s.IPAddress),
		"clientAppUsed":                    nullable(s.ClientAppUsed),
		"correlationId":                    nullable(s.CorrelationID),
		"isInteractive":                    s.IsInteractive,
		"userAgent":                        nullable(s.UserAgent),
		"conditionalAccessStatus":          conditionalAccessStatus.show(s.ConditionalAccessStatus, allEnums),
		"appliedConditionalAccessPolicies": policies,
		"status": map[string]any{
			"errorCode": s.ErrorCode, "failureReason": nullable(s.FailureReason), "additionalDetails": nullable(s.AdditionalDetails),
		},
		"location": map[string]any{
			"city": nullable(s.Location.City), "state": nullable(s.Location.State),
			"countryOrRegion": nullable(s.Location.CountryOrRegion), "geoCoordinates": nil,
		},
		"deviceDetail": map[string]any{
			"deviceId": nullable(s.Device.DeviceID), "displayName": nullable(s.Device.DisplayName),
			"operatingSystem": nullable(s.Device.OperatingSystem), "browser": nullable(s.Device.Browser),
			"isCompliant": s.Device.IsCompliant, "isManaged": s.Device.IsManaged, "trustType": nullable(s.Device.TrustType),
		},
		"riskLevelDuringSignIn": riskLevel.show(s.RiskLevelDuringSignIn, allEnums),
		"riskLevelAggregated":   riskLevel.show(s.RiskLevelAggregated, allEnums),
		"riskState":             riskState.show(s.RiskState, allEnums),
		"riskDetail":            riskDetail.show(s.RiskDetail, allEnums),
		"riskEventTypes_v2":     orEmpty(s.RiskEventTypes),
	}
	if beta {
		details := make([]map[string]any, len(s.AuthDetails))
		for i, d := range s.AuthDetails {
			var at any
			if !d.At.IsZero() {
				at = signInTime(d.At)
			}
			details[i] = map[string]any{
				"authenticationMethod": nullable(d.Method), "authenticationMethodDetail": nullable(d.MethodDetail),
				"authenticationStepDateTime": at, "authenticationStepRequirement": nullable(d.StepRequirement),
				"authenticationStepResultDetail": nullable(d.ResultDetail), "succeeded": d.Succeeded,
			}
		}
		obj["authenticationDetails"] = details
		obj["authenticationRequirement"] = authenticationRequirement.show(s.AuthenticationRequirement, allEnums)
	}
	return obj
}
