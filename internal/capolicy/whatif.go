package capolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// What If (P-7.5): evaluate a hypothetical sign-in against the tenant's
// stored policies and named locations, with the user's real transitive
// groups and effective roles, and say for every policy whether it applies
// and why.

// WhatIfRequest is a hypothetical sign-in. Every field but User is
// optional; the zero value of a field is the most ordinary sign-in (a
// browser, no risk, unknown device and place).
type WhatIfRequest struct {
	// User is a user id or userPrincipalName.
	User string `json:"user"`
	// AppID is the application signed in to ("" for vakt's own pages).
	AppID string `json:"appId,omitempty"`
	// AdminPortal: the sign-in is for vakt's admin tools
	// (MicrosoftAdminPortals, ca.AdminPortalAppID).
	AdminPortal bool `json:"adminPortal,omitempty"`
	// IPAddress is the client's IPv4 or IPv6 address.
	IPAddress string `json:"ipAddress,omitempty"`
	// Country is an ISO 3166 alpha-2 code; when empty it is looked up from
	// IPAddress (Service.Country).
	Country string `json:"country,omitempty"`
	// Platform: android, iOS, windows, windowsPhone, macOS or linux.
	Platform string `json:"platform,omitempty"`
	// ClientAppType: browser (the default), mobileAppsAndDesktopClients,
	// exchangeActiveSync or other.
	ClientAppType string `json:"clientAppType,omitempty"`
	// DeviceCompliant and DeviceTrustType (AzureAD, ServerAD, Workplace)
	// describe the device for device filters and compliant-device grants.
	DeviceCompliant bool   `json:"deviceCompliant,omitempty"`
	DeviceTrustType string `json:"deviceTrustType,omitempty"`
	// SignInRiskLevel and UserRiskLevel: none (the default), low, medium,
	// high.
	SignInRiskLevel string `json:"signInRiskLevel,omitempty"`
	UserRiskLevel   string `json:"userRiskLevel,omitempty"`
	// UserAction: urn:user:registersecurityinfo or urn:user:registerdevice.
	UserAction string `json:"userAction,omitempty"`
}

// Per-policy results of What If (WhatIfPolicy.Result). A report-only
// policy that applies reports what the sign-in log records for it when
// the sign-in is decided after the first factor: reportOnlySuccess,
// reportOnlyInterrupted or reportOnlyFailure.
const (
	WhatIfApplied    = "applied"
	WhatIfNotApplied = "notApplied"
	WhatIfNotEnabled = "notEnabled"
)

// Outcomes of a What If decision and of one policy's effect.
const (
	OutcomeAllow          = string(policy.Allow)
	OutcomeMFA            = string(policy.RequireMFA)
	OutcomePasswordChange = string(policy.ChangePassword)
	OutcomeBlock          = string(policy.Block)
)

// WhatIfUser names the user evaluated.
type WhatIfUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// WhatIfSignIn is the sign-in as it was evaluated (defaults filled in,
// the country resolved).
type WhatIfSignIn struct {
	AppID           string   `json:"appId"`
	AdminPortal     bool     `json:"adminPortal"`
	IPAddress       string   `json:"ipAddress"`
	Country         string   `json:"country"`
	Platform        string   `json:"platform"`
	ClientAppType   string   `json:"clientAppType"`
	DeviceCompliant bool     `json:"deviceCompliant"`
	DeviceTrustType string   `json:"deviceTrustType"`
	SignInRiskLevel string   `json:"signInRiskLevel"`
	UserRiskLevel   string   `json:"userRiskLevel"`
	UserAction      string   `json:"userAction"`
	GroupCount      int      `json:"groupCount"`
	Roles           []string `json:"roles"`
}

// MarshalJSON writes empty strings as null, as the admin API does.
func (s WhatIfSignIn) MarshalJSON() ([]byte, error) {
	type plain WhatIfSignIn
	return nullEmpty(plain(s), "appId", "ipAddress", "country", "platform", "deviceTrustType", "userAction")
}

// nullEmpty marshals v and replaces the named properties' empty strings
// with null.
func nullEmpty(v any, names ...string) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for _, n := range names {
		if string(m[n]) == `""` {
			m[n] = json.RawMessage("null")
		}
	}
	return json.Marshal(m)
}

// WhatIfPolicy is one policy's result.
type WhatIfPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	State       string `json:"state"`
	// Result: applied, notApplied, notEnabled, or for a report-only
	// policy reportOnlyNotApplied, reportOnlySuccess,
	// reportOnlyInterrupted, reportOnlyFailure.
	Result string `json:"result"`
	// FailedCondition names the first condition that did not match (users,
	// users.excluded, applications, applications.excluded, userActions,
	// clientAppTypes, locations, locations.excluded, platforms,
	// platforms.excluded, devices, signInRiskLevels, userRiskLevels,
	// state); null when the policy applies.
	FailedCondition *string `json:"failedCondition"`
	// Reason says in words why the policy does or does not apply and what
	// it asks for.
	Reason string `json:"reason"`
	// Outcome is what the policy alone asks of this sign-in when it
	// applies (allow, mfa, passwordChange, block; as if enforced for a
	// report-only policy); null when it does not apply.
	Outcome *string `json:"outcome"`
	// GrantControls and SessionControls in the sign-in log's spelling.
	GrantControls   []string `json:"grantControls"`
	SessionControls []string `json:"sessionControls"`
}

// WhatIfDecision is what the enforced policies together ask of the
// sign-in (conditional access only: per-user MFA and security defaults
// are not part of it).
type WhatIfDecision struct {
	// Outcome: allow, mfa (a second factor or an authentication
	// strength), passwordChange, or block.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	// AuthenticationStrength: mfa, passwordlessMfa or
	// phishingResistantMfa when a second factor is required, else null.
	AuthenticationStrength *string `json:"authenticationStrength"`
	// PasswordChange: a password change is required too.
	PasswordChange bool `json:"passwordChange"`
	// GrantControls and SessionControls of the enforced policies that
	// apply, each once.
	GrantControls   []string `json:"grantControls"`
	SessionControls []string `json:"sessionControls"`
	// SignInFrequency: "everyTime" or an ISO 8601 duration (PT4H, P1D);
	// null without a sign-in frequency control.
	SignInFrequency *string `json:"signInFrequency"`
	// PersistentBrowser: always or never; null without the control.
	PersistentBrowser *string `json:"persistentBrowser"`
	// AppliedPolicies are the ids of the enforced policies that apply.
	AppliedPolicies []string `json:"appliedPolicies"`
}

// WhatIfResult is What If's answer.
type WhatIfResult struct {
	User     WhatIfUser     `json:"user"`
	SignIn   WhatIfSignIn   `json:"signIn"`
	Policies []WhatIfPolicy `json:"policies"`
	Decision WhatIfDecision `json:"decision"`
}

// subject is a user as conditional access sees it.
type subject struct {
	user   store.User
	groups []string
	roles  []string
}

// loadSubject reads a user's transitive groups and effective roles.
func loadSubject(ctx context.Context, st store.Store, tenantID string, u store.User) (subject, error) {
	groups, err := st.TransitiveGroupIDs(ctx, tenantID, u.ID)
	if err != nil {
		return subject{}, err
	}
	roles, err := st.EffectiveRoleIDs(ctx, tenantID, u.ID)
	if err != nil {
		return subject{}, err
	}
	return subject{user: u, groups: groups, roles: roles}, nil
}

func (sb *subject) input() ca.Input {
	return ca.Input{UserID: sb.user.ID, Groups: sb.groups, Roles: sb.roles, Guest: sb.user.UserType == "guest"}
}

// findUser resolves a user id or userPrincipalName (404 when the tenant
// has no such user).
func findUser(ctx context.Context, st store.Store, tenantID, ref string) (store.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return store.User{}, invalid("user", "The property 'user' is required: a user id or userPrincipalName.")
	}
	if len(ref) > 256 {
		return store.User{}, invalid("user", "The property 'user' is too long.")
	}
	var (
		u   store.User
		err error
	)
	if id, ok := canonicalID(ref); ok {
		u, err = st.GetUser(ctx, tenantID, id)
	} else {
		u, err = st.UserByUPN(ctx, tenantID, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, apperr.NotFoundf("User '%s' does not exist in this tenant.", clip(ref)).WithTarget("user").WithCause(err)
	}
	return u, err
}

var (
	whatIfClients = map[string]policy.ClientApp{
		"browser": policy.ClientBrowser, "mobileappsanddesktopclients": policy.ClientMobileDesktop,
		"exchangeactivesync": policy.ClientExchangeActiveSync, "other": policy.ClientOther,
	}
	whatIfPlatforms = map[string]string{
		"android": "android", "ios": "iOS", "windows": "windows", "windowsphone": "windowsPhone", "macos": "macOS", "linux": "linux",
	}
	whatIfLevels = map[string]policy.Level{
		"none": policy.RiskNone, "low": policy.RiskLow, "medium": policy.RiskMedium, "high": policy.RiskHigh,
	}
	whatIfTrustTypes = map[string]string{"azuread": "AzureAD", "serverad": "ServerAD", "workplace": "Workplace"}
)

// whatIfInput checks a request and builds the engine's input (without the
// user's part).
func (s *Service) whatIfInput(r WhatIfRequest) (ca.Input, WhatIfSignIn, error) {
	in := ca.Input{Client: policy.ClientBrowser}
	out := WhatIfSignIn{ClientAppType: string(policy.ClientBrowser), SignInRiskLevel: "none", UserRiskLevel: "none", Roles: []string{}}
	switch {
	case r.AdminPortal && r.AppID != "" && !strings.EqualFold(r.AppID, ca.AdminPortalAppID):
		return in, out, invalid("appId", "Give either 'appId' or 'adminPortal', not both.")
	case r.AdminPortal:
		in.AppID, in.AdminSurface = ca.AdminPortalAppID, true
	case r.AppID != "":
		id, ok := canonicalID(r.AppID)
		if !ok {
			return in, out, invalid("appId", "'%s' is not an application id (a GUID).", clip(r.AppID))
		}
		in.AppID = id
		in.AdminSurface = id == ca.AdminPortalAppID
	}
	out.AppID, out.AdminPortal = in.AppID, in.AdminSurface
	if r.IPAddress != "" {
		ip, err := netip.ParseAddr(strings.TrimSpace(r.IPAddress))
		if err != nil || ip.Zone() != "" {
			return in, out, invalid("ipAddress", "'%s' is not an IPv4 or IPv6 address.", clip(r.IPAddress))
		}
		in.IP = ip.Unmap()
		out.IPAddress = in.IP.String()
	}
	switch c := strings.ToUpper(strings.TrimSpace(r.Country)); {
	case c != "":
		if !isCountry(c) {
			return in, out, invalid("country", "'%s' is not an ISO 3166 alpha-2 country code.", clip(r.Country))
		}
		in.Country = c
	case in.IP.IsValid():
		in.Country = ca.LookupCountry(s.Country, in.IP)
	}
	out.Country = in.Country
	if r.Platform != "" {
		p, ok := whatIfPlatforms[strings.ToLower(r.Platform)]
		if !ok {
			return in, out, invalid("platform", "Unknown platform '%s': use android, iOS, windows, windowsPhone, macOS or linux.", clip(r.Platform))
		}
		in.Platform = p
	}
	out.Platform = in.Platform
	if r.ClientAppType != "" {
		c, ok := whatIfClients[strings.ToLower(r.ClientAppType)]
		if !ok {
			return in, out, invalid("clientAppType", "Unknown client app type '%s': use browser, mobileAppsAndDesktopClients, exchangeActiveSync or other.", clip(r.ClientAppType))
		}
		in.Client = c
	}
	out.ClientAppType = string(in.Client)
	in.Compliant, out.DeviceCompliant = r.DeviceCompliant, r.DeviceCompliant
	if r.DeviceTrustType != "" {
		tt, ok := whatIfTrustTypes[strings.ToLower(r.DeviceTrustType)]
		if !ok {
			return in, out, invalid("deviceTrustType", "Unknown device trust type '%s': use AzureAD, ServerAD or Workplace.", clip(r.DeviceTrustType))
		}
		in.TrustType = tt
	}
	out.DeviceTrustType = in.TrustType
	for _, lv := range []struct {
		name, v string
		dst     *policy.Level
		echo    *string
	}{{"signInRiskLevel", r.SignInRiskLevel, &in.SignInRisk, &out.SignInRiskLevel}, {"userRiskLevel", r.UserRiskLevel, &in.UserRisk, &out.UserRiskLevel}} {
		if lv.v == "" {
			continue
		}
		l, ok := whatIfLevels[strings.ToLower(lv.v)]
		if !ok {
			return in, out, invalid(lv.name, "Unknown risk level '%s' for '%s': use none, low, medium or high.", clip(lv.v), lv.name)
		}
		*lv.dst, *lv.echo = l, l.String()
	}
	switch {
	case r.UserAction == "":
	case strings.EqualFold(r.UserAction, ca.UserActionRegisterSecurityInfo):
		in.UserAction = ca.UserActionRegisterSecurityInfo
	case strings.EqualFold(r.UserAction, ca.UserActionRegisterDevice):
		in.UserAction = ca.UserActionRegisterDevice
	default:
		return in, out, invalid("userAction", "Unknown user action '%s': use %s or %s.", clip(r.UserAction), ca.UserActionRegisterSecurityInfo, ca.UserActionRegisterDevice)
	}
	out.UserAction = in.UserAction
	return in, out, nil
}

// definitions reads a tenant's stored policies and named locations into
// the engine's types, from st (a transaction or the service's store).
func definitions(ctx context.Context, st store.Store, tenantID string) ([]ca.Policy, []store.CAPolicy, []ca.NamedLocation, error) {
	pp, err := st.ListCAPolicies(ctx, tenantID, store.ListQuery{Limit: MaxPolicies + 1})
	if err != nil {
		return nil, nil, nil, err
	}
	ps := make([]ca.Policy, len(pp.Items))
	for i, p := range pp.Items {
		if err := json.Unmarshal(p.Doc, &ps[i]); err != nil {
			return nil, nil, nil, fmt.Errorf("conditional access policy %s: %w", p.ID, err)
		}
	}
	lp, err := st.ListNamedLocations(ctx, tenantID, store.ListQuery{Limit: MaxNamedLocations + 1})
	if err != nil {
		return nil, nil, nil, err
	}
	ls := make([]ca.NamedLocation, len(lp.Items))
	for i, l := range lp.Items {
		if err := json.Unmarshal(l.Doc, &ls[i]); err != nil {
			return nil, nil, nil, fmt.Errorf("named location %s: %w", l.ID, err)
		}
	}
	return ps, pp.Items, ls, nil
}

// WhatIf evaluates a hypothetical sign-in (P-7.5). It does not authorize:
// callers check directory.ActionPolicyRead. An unknown user is a 404, a
// malformed field a 400 naming it.
func (s *Service) WhatIf(ctx context.Context, tenantID string, r WhatIfRequest) (WhatIfResult, error) {
	in, echo, err := s.whatIfInput(r)
	if err != nil {
		return WhatIfResult{}, err
	}
	u, err := findUser(ctx, s.Store, tenantID, r.User)
	if err != nil {
		return WhatIfResult{}, err
	}
	sb, err := loadSubject(ctx, s.Store, tenantID, u)
	if err != nil {
		return WhatIfResult{}, err
	}
	ps, _, ls, err := definitions(ctx, s.Store, tenantID)
	if err != nil {
		return WhatIfResult{}, err
	}
	set, err := ca.Compile(ps, ls)
	if err != nil {
		return WhatIfResult{}, fmt.Errorf("capolicy: the tenant's stored policies do not compile: %w", err)
	}
	ui := sb.input()
	in.UserID, in.Groups, in.Roles, in.Guest = ui.UserID, ui.Groups, ui.Roles, ui.Guest
	echo.GroupCount = len(sb.groups)
	echo.Roles = append(echo.Roles, sb.roles...)
	return whatIf(set, in, echo, u), nil
}

// whatIf evaluates in against set.
func whatIf(set *ca.Set, in ca.Input, echo WhatIfSignIn, u store.User) WhatIfResult {
	out, results := set.Evaluate(in, nil)
	req := policy.Request{Client: in.Client, AdminSurface: in.AdminSurface, Compliant: in.Compliant, SignInRisk: in.SignInRisk}
	res := WhatIfResult{User: WhatIfUser{ID: u.ID, UserPrincipalName: u.UPN, DisplayName: u.DisplayName}, SignIn: echo,
		Policies: make([]WhatIfPolicy, 0, len(results))}
	logged := ca.LogResults(results, func(g policy.Grant) bool { return g.SatisfiedBy(req) }, !in.Client.Legacy())
	dec := WhatIfDecision{Outcome: OutcomeAllow, GrantControls: []string{}, SessionControls: []string{}, AppliedPolicies: []string{}}
	var blockedBy, mfaBy, pwBy []string
	strength := policy.StrengthNone
	for i := range results {
		r := &results[i]
		p := WhatIfPolicy{ID: r.PolicyID, DisplayName: r.DisplayName, State: string(r.State),
			GrantControls: nonNilStrings(r.GrantControls), SessionControls: nonNilStrings(r.SessionControls)}
		if r.FailedCondition != "" {
			fc := r.FailedCondition
			p.FailedCondition = &fc
		}
		enforced := r.State == ca.StateEnabled && !r.ReportOnly
		switch {
		case !enforced && !r.ReportOnly:
			p.Result, p.Reason = WhatIfNotEnabled, "The policy is off (state disabled): it is not evaluated."
		case !r.Applied:
			p.Result = WhatIfNotApplied
			if r.ReportOnly {
				p.Result = logged[i].Result
			}
			p.Reason = notAppliedReason(r.FailedCondition)
		default:
			eff := effectOf(r, req)
			o := eff.outcome()
			p.Outcome = &o
			p.Reason = "Every condition matched; " + controlsText(r, eff)
			if in.Client.Legacy() && (eff == effectMFA || eff == effectPasswordChange) {
				p.Reason += " A legacy client cannot show that prompt, so in practice the sign-in fails."
			}
			if r.ReportOnly {
				p.Result = logged[i].Result
				p.Reason += " Report-only: logged, never enforced."
				break
			}
			p.Result = WhatIfApplied
			dec.AppliedPolicies = append(dec.AppliedPolicies, r.PolicyID)
			dec.GrantControls = appendUnique(dec.GrantControls, r.GrantControls...)
			dec.SessionControls = appendUnique(dec.SessionControls, r.SessionControls...)
			name := fmt.Sprintf("'%s'", r.DisplayName)
			switch eff {
			case effectBlock:
				blockedBy = append(blockedBy, name)
			case effectMFA:
				mfaBy = append(mfaBy, name)
				strength = max(strength, grantStrength(r.Grant))
				if !r.Grant.Or && r.Grant.PasswordChange {
					pwBy = append(pwBy, name)
				}
			case effectPasswordChange:
				pwBy = append(pwBy, name)
			}
		}
		res.Policies = append(res.Policies, p)
	}
	switch {
	case len(blockedBy) > 0:
		dec.Outcome = OutcomeBlock
		dec.Reason = "Blocked by " + strings.Join(blockedBy, ", ") + "."
	case len(mfaBy) > 0:
		dec.Outcome = OutcomeMFA
		dec.Reason = "A second factor is required by " + strings.Join(mfaBy, ", ") + "."
		st := strengthName(strength)
		dec.AuthenticationStrength = &st
		if len(pwBy) > 0 {
			dec.PasswordChange = true
			dec.Reason += " A password change is required by " + strings.Join(pwBy, ", ") + "."
		}
	case len(pwBy) > 0:
		dec.Outcome, dec.PasswordChange = OutcomePasswordChange, true
		dec.Reason = "A password change is required by " + strings.Join(pwBy, ", ") + "."
	case len(dec.AppliedPolicies) > 0:
		dec.Reason = "The enforced policies that apply ask for nothing this sign-in does not already meet."
	default:
		dec.Reason = "No enforced policy applies to this sign-in."
	}
	if out.SignInEveryTime {
		v := "everyTime"
		dec.SignInFrequency = &v
	} else if out.SignInFrequency > 0 {
		v := isoDuration(out.SignInFrequency)
		dec.SignInFrequency = &v
	}
	if out.PersistentBrowser != "" {
		v := out.PersistentBrowser
		dec.PersistentBrowser = &v
	}
	res.Decision = dec
	return res
}

// effect is what one applied policy asks of a sign-in in which nothing
// but the first factor is done yet.
type effect int

const (
	effectNone effect = iota
	effectPasswordChange
	effectMFA
	effectBlock
)

func (e effect) outcome() string {
	return [...]string{OutcomeAllow, OutcomePasswordChange, OutcomeMFA, OutcomeBlock}[e]
}

// effectOf classifies an applied policy's grant as the sign-in engine
// decides it (policy.Decide) and the sign-in log classifies a report-only
// policy (ca.LogResults) of an interactive sign-in: met (success),
// something the user can do in the sign-in (interrupted: a second factor,
// an authentication strength, a password change), or not possible
// (failure: block, or a device that is not compliant where one is
// required). A legacy client is asked like any other (the engine asks;
// the client cannot answer, which the sign-in log records for a
// report-only policy as reportOnlyFailure).
func effectOf(r *ca.Result, req policy.Request) effect {
	ro := *r
	ro.State, ro.ReportOnly, ro.Applied, ro.FailedCondition = ca.StateReportOnly, true, true, ""
	logged := ca.LogResults([]ca.Result{ro}, func(g policy.Grant) bool { return g.SatisfiedBy(req) }, true)
	switch logged[0].Result {
	case ca.ResultReportOnlySuccess:
		return effectNone
	case ca.ResultReportOnlyInterrupted:
		if grantStrength(r.Grant) > policy.StrengthNone {
			return effectMFA
		}
		return effectPasswordChange
	}
	return effectBlock
}

func grantStrength(g policy.Grant) policy.Strength {
	s := g.Strength
	if g.MFA && s < policy.StrengthMFA {
		s = policy.StrengthMFA
	}
	return s
}

func strengthName(s policy.Strength) string {
	switch s {
	case policy.StrengthPasswordless:
		return "passwordlessMfa"
	case policy.StrengthPhishingResistant:
		return "phishingResistantMfa"
	}
	return "mfa"
}

// controlsText says in words what an applied policy asks for.
func controlsText(r *ca.Result, eff effect) string {
	var b strings.Builder
	switch {
	case len(r.GrantControls) == 0:
		b.WriteString("the policy has no grant controls.")
	case r.Grant.Block:
		b.WriteString("the policy blocks access.")
	default:
		op := " and "
		if r.Grant.Or {
			op = " or "
		}
		fmt.Fprintf(&b, "the policy requires %s", strings.Join(r.GrantControls, op))
		switch eff {
		case effectNone:
			b.WriteString(", which this sign-in already meets.")
		case effectBlock:
			b.WriteString(", which this sign-in cannot meet (the device is not compliant): access is blocked.")
		default:
			b.WriteString(".")
		}
	}
	if len(r.SessionControls) > 0 {
		fmt.Fprintf(&b, " Session controls: %s.", strings.Join(r.SessionControls, ", "))
	}
	return b.String()
}

// notAppliedReason explains a ca.Result.FailedCondition.
func notAppliedReason(fc string) string {
	switch fc {
	case ca.FailedUsers:
		return "The user is not among the users, groups or roles the policy includes (conditions.users)."
	case ca.FailedUsersExcluded:
		return "The user is excluded, directly or through a group or role (conditions.users exclusions)."
	case ca.FailedApplications:
		return "The application is not among those the policy includes (conditions.applications.includeApplications)."
	case ca.FailedApplicationsExclude:
		return "The application is excluded (conditions.applications.excludeApplications)."
	case ca.FailedUserActions:
		return "The sign-in is not for a user action the policy includes (conditions.applications.includeUserActions)."
	case ca.FailedClientAppTypes:
		return "The client app type is not among those the policy includes (conditions.clientAppTypes)."
	case ca.FailedLocations:
		return "The sign-in is not from a location the policy includes (conditions.locations.includeLocations)."
	case ca.FailedLocationsExcluded:
		return "The sign-in is from an excluded location (conditions.locations.excludeLocations)."
	case ca.FailedPlatforms:
		return "The device platform is not among those the policy includes (conditions.platforms.includePlatforms)."
	case ca.FailedPlatformsExcluded:
		return "The device platform is excluded (conditions.platforms.excludePlatforms)."
	case ca.FailedDevices:
		return "The device filter does not select this device (conditions.devices.deviceFilter)."
	case ca.FailedSignInRisk:
		return "The sign-in risk level is not among the policy's (conditions.signInRiskLevels)."
	case ca.FailedUserRisk:
		return "The user risk level is not among the policy's (conditions.userRiskLevels)."
	}
	return "A condition did not match (" + fc + ")."
}

func nonNilStrings(s []string) []string {
	out := make([]string, len(s))
	copy(out, s)
	return out
}

func appendUnique(list []string, vals ...string) []string {
outer:
	for _, v := range vals {
		for _, x := range list {
			if x == v {
				continue outer
			}
		}
		list = append(list, v)
	}
	return list
}

// isoDuration writes a whole number of hours or days as ISO 8601.
func isoDuration(d time.Duration) string {
	h := int64(d / time.Hour)
	if h%24 == 0 {
		return fmt.Sprintf("P%dD", h/24)
	}
	return fmt.Sprintf("PT%dH", h)
}
