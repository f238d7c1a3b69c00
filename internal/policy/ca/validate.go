package ca

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vakt-id/vakt/internal/directory"
)

// FieldError is one problem Validate found, with the JSON path of the
// property it concerns (for the target of a Graph error detail).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

type problems []error

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error { return errors.Join(ps...) }

// Enumerations, lower-cased.
var (
	clientAppTypes = map[string]uint8{
		"all":                         clientAll,
		"browser":                     clientBrowser,
		"mobileappsanddesktopclients": clientMobile,
		"exchangeactivesync":          clientEAS,
		// easSupported is Exchange ActiveSync on the platforms that
		// support it; vakt does not tell platforms apart for it.
		"eassupported": clientEAS,
		"other":        clientOther,
	}
	platformBits = map[string]uint16{
		"android":      platAndroid,
		"ios":          platIOS,
		"windows":      platWindows,
		"windowsphone": platWindowsPhone,
		"macos":        platMacOS,
		"linux":        platLinux,
		"all":          platformAll,
	}
	riskBits = map[string]uint8{
		"none":   riskNone,
		"low":    riskLow,
		"medium": riskMedium,
		"high":   riskHigh,
		// hidden is a reporting value: no sign-in is evaluated at it.
		"hidden": riskHidden,
	}
	userActions = map[string]uint8{
		UserActionRegisterSecurityInfo: 1 << 0,
		UserActionRegisterDevice:       1 << 1,
	}
	strengths = map[string]bool{
		StrengthMFAID: true, StrengthPasswordlessID: true, StrengthPhishingResistantID: true,
	}
)

const (
	clientBrowser uint8 = 1 << iota
	clientMobile
	clientEAS
	clientOther
	clientAll = clientBrowser | clientMobile | clientEAS | clientOther
)

const (
	platAndroid uint16 = 1 << iota
	platIOS
	platWindows
	platWindowsPhone
	platMacOS
	platLinux
	platformAll = 1<<iota - 1
)

const (
	riskNone uint8 = 1 << iota
	riskLow
	riskMedium
	riskHigh
	riskHidden
)

// Validate checks p against Graph's rules and vakt's limits. It returns
// nil or the errors.Join of one *FieldError per problem. References to
// named locations are checked by Compile, which knows the locations.
func (p *Policy) Validate() error {
	var ps problems
	if strings.TrimSpace(p.DisplayName) == "" {
		ps.add("displayName", "a policy needs a display name")
	} else if len(p.DisplayName) > MaxDisplayName {
		ps.add("displayName", "the display name is longer than %d characters", MaxDisplayName)
	}
	if p.ID != "" && !isGUID(p.ID) {
		ps.add("id", "%q is not a GUID", p.ID)
	}
	switch p.State {
	case StateEnabled, StateDisabled, StateReportOnly:
	case "":
		ps.add("state", "state is required: enabled, disabled or enabledForReportingButNotEnforced")
	default:
		ps.add("state", "unknown state %q: use enabled, disabled or enabledForReportingButNotEnforced", p.State)
	}
	c := &p.Conditions
	p.validateUsers(&ps)
	allApps := p.validateApps(&ps)
	for _, v := range c.ClientAppTypes {
		if _, ok := clientAppTypes[strings.ToLower(v)]; !ok {
			ps.add("conditions.clientAppTypes", "unknown client app type %q: use all, browser, mobileAppsAndDesktopClients, exchangeActiveSync, easSupported or other", v)
		}
	}
	if l := c.Locations; l != nil {
		if len(l.IncludeLocations) == 0 && len(l.ExcludeLocations) > 0 {
			ps.add("conditions.locations.includeLocations", "excludeLocations needs includeLocations (use All)")
		}
		for _, v := range l.IncludeLocations {
			if !eqFold(v, All) && !eqFold(v, AllTrusted) && !isGUID(v) {
				ps.add("conditions.locations.includeLocations", "%q is neither a named-location id nor All or AllTrusted", v)
			}
		}
		for _, v := range l.ExcludeLocations {
			switch {
			case eqFold(v, All):
				ps.add("conditions.locations.excludeLocations", "excluding All locations would leave the policy nothing to apply to")
			case !eqFold(v, AllTrusted) && !isGUID(v):
				ps.add("conditions.locations.excludeLocations", "%q is neither a named-location id nor AllTrusted", v)
			}
		}
	}
	if pl := c.Platforms; pl != nil {
		if len(pl.IncludePlatforms) == 0 && len(pl.ExcludePlatforms) > 0 {
			ps.add("conditions.platforms.includePlatforms", "excludePlatforms needs includePlatforms (use all)")
		}
		for _, v := range pl.IncludePlatforms {
			if _, ok := platformBits[strings.ToLower(v)]; !ok {
				ps.add("conditions.platforms.includePlatforms", "unknown platform %q: use android, iOS, windows, windowsPhone, macOS, linux or all", v)
			}
		}
		for _, v := range pl.ExcludePlatforms {
			if b, ok := platformBits[strings.ToLower(v)]; !ok || b == platformAll {
				ps.add("conditions.platforms.excludePlatforms", "unknown platform %q: use android, iOS, windows, windowsPhone, macOS or linux", v)
			}
		}
	}
	if d := c.Devices; d != nil {
		if rawSet(d.IncludeDevices) || rawSet(d.ExcludeDevices) || rawSet(d.IncludeStates) || rawSet(d.ExcludeStates) {
			ps.add("conditions.devices", "device states are not supported: use deviceFilter")
		}
		if f := d.DeviceFilter; f != nil {
			if !eqFold(f.Mode, "include") && !eqFold(f.Mode, "exclude") {
				ps.add("conditions.devices.deviceFilter.mode", "unknown mode %q: use include or exclude", f.Mode)
			}
			if _, err := ParseDeviceRule(f.Rule); err != nil {
				ps.add("conditions.devices.deviceFilter.rule", "%v", err)
			}
		}
	}
	for _, v := range c.SignInRiskLevels {
		if _, ok := riskBits[strings.ToLower(v)]; !ok {
			ps.add("conditions.signInRiskLevels", "unknown risk level %q: use none, low, medium, high or hidden", v)
		}
	}
	for _, v := range c.UserRiskLevels {
		if _, ok := riskBits[strings.ToLower(v)]; !ok {
			ps.add("conditions.userRiskLevels", "unknown risk level %q: use none, low, medium, high or hidden", v)
		}
	}
	for name, r := range map[string][]byte{
		"clientApplications": c.ClientApplications, "authenticationFlows": c.AuthenticationFlows,
		"insiderRiskLevels": c.InsiderRiskLevels, "servicePrincipalRiskLevels": c.ServicePrincipalRiskLevels,
		"deviceStates": c.DeviceStates,
	} {
		if rawSet(r) {
			ps.add("conditions."+name, "the condition %s is not supported by vakt", name)
		}
	}

	hasGrant := p.validateGrant(&ps, allApps)
	hasSession := p.validateSession(&ps, allApps)
	if !hasGrant && !hasSession {
		ps.add("grantControls", "a policy needs grant controls or session controls")
	}
	sortProblems(ps)
	return ps.err()
}

// sortProblems keeps the messages in a stable order (map iteration above
// is random).
func sortProblems(ps problems) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Error() < ps[j-1].Error(); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func (p *Policy) validateUsers(ps *problems) {
	u := p.Conditions.Users
	if u == nil || len(u.IncludeUsers)+len(u.IncludeGroups)+len(u.IncludeRoles) == 0 {
		ps.add("conditions.users", "the policy must include users, groups or roles (use includeUsers All for everyone, None to apply to no one)")
		return
	}
	none := false
	for _, v := range u.IncludeUsers {
		switch {
		case eqFold(v, None):
			none = true
		case eqFold(v, All), eqFold(v, GuestsOrExternalUsers), isGUID(v):
		default:
			ps.add("conditions.users.includeUsers", "%q is neither a user id nor All, None or GuestsOrExternalUsers", v)
		}
	}
	if none && len(u.IncludeUsers)+len(u.IncludeGroups)+len(u.IncludeRoles) > 1 {
		ps.add("conditions.users.includeUsers", "None cannot be combined with other users, groups or roles")
	}
	for _, v := range u.ExcludeUsers {
		if !eqFold(v, GuestsOrExternalUsers) && !isGUID(v) {
			ps.add("conditions.users.excludeUsers", "%q is neither a user id nor GuestsOrExternalUsers", v)
		}
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"includeGroups", u.IncludeGroups}, {"excludeGroups", u.ExcludeGroups}} {
		for _, v := range f.ids {
			if !isGUID(v) {
				ps.add("conditions.users."+f.name, "%q is not a group id", v)
			}
		}
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"includeRoles", u.IncludeRoles}, {"excludeRoles", u.ExcludeRoles}} {
		for _, v := range f.ids {
			if _, ok := directory.RoleByID(v); !ok {
				ps.add("conditions.users."+f.name, "%q is not the template id of a built-in directory role", v)
			}
		}
	}
	if rawSet(u.IncludeGuestsOrExternalUsers) || rawSet(u.ExcludeGuestsOrExternalUsers) {
		ps.add("conditions.users", "guest and external user types are not supported: use GuestsOrExternalUsers in includeUsers or excludeUsers")
	}
}

// validateApps returns whether the policy targets all applications with
// no exclusions.
func (p *Policy) validateApps(ps *problems) bool {
	a := p.Conditions.Applications
	if a == nil || len(a.IncludeApplications)+len(a.IncludeUserActions) == 0 {
		ps.add("conditions.applications", "the policy must include applications (use includeApplications All for every app) or user actions")
		return false
	}
	if len(a.IncludeUserActions) > 0 && len(a.IncludeApplications)+len(a.ExcludeApplications) > 0 {
		ps.add("conditions.applications.includeUserActions", "a policy targets either applications or user actions, not both")
	}
	for _, v := range a.IncludeUserActions {
		if _, ok := userActions[strings.ToLower(v)]; !ok {
			ps.add("conditions.applications.includeUserActions", "unknown user action %q: use %s or %s", v, UserActionRegisterSecurityInfo, UserActionRegisterDevice)
		}
	}
	all, none := false, false
	for _, v := range a.IncludeApplications {
		switch {
		case eqFold(v, All):
			all = true
		case eqFold(v, None):
			none = true
		case eqFold(v, Office365), eqFold(v, MicrosoftAdminPortals), isGUID(v):
		default:
			ps.add("conditions.applications.includeApplications", "%q is neither an app id nor All, None, Office365 or MicrosoftAdminPortals", v)
		}
	}
	if none && len(a.IncludeApplications) > 1 {
		ps.add("conditions.applications.includeApplications", "None cannot be combined with other applications")
	}
	for _, v := range a.ExcludeApplications {
		if !eqFold(v, Office365) && !eqFold(v, MicrosoftAdminPortals) && !isGUID(v) {
			ps.add("conditions.applications.excludeApplications", "%q is neither an app id nor Office365 or MicrosoftAdminPortals", v)
		}
	}
	if rawSet(a.IncludeAuthenticationContextClassReferences) {
		ps.add("conditions.applications.includeAuthenticationContextClassReferences", "authentication contexts are not supported by vakt")
	}
	if rawSet(a.ApplicationFilter) {
		ps.add("conditions.applications.applicationFilter", "application filters are not supported by vakt")
	}
	return all && len(a.ExcludeApplications) == 0
}

// validateGrant returns whether the policy has grant controls.
func (p *Policy) validateGrant(ps *problems, allApps bool) bool {
	g := p.GrantControls
	if g == nil {
		return false
	}
	if rawSet(g.CustomAuthenticationFactors) {
		ps.add("grantControls.customAuthenticationFactors", "custom authentication factors are not supported by vakt")
	}
	if rawSet(g.TermsOfUse) {
		ps.add("grantControls.termsOfUse", "terms of use are not supported by vakt")
	}
	n := len(g.BuiltInControls)
	if g.AuthenticationStrength != nil {
		n++
	}
	if n == 0 && g.Operator == "" {
		return false // {"operator": null, "builtInControls": []}: no grant controls
	}
	if n == 0 {
		ps.add("grantControls.builtInControls", "grant controls need at least one control (block, mfa, compliantDevice, passwordChange or an authentication strength)")
		return true
	}
	op := strings.ToUpper(g.Operator)
	switch {
	case op == "AND" || op == "OR":
	case op == "" && n == 1:
	case op == "":
		ps.add("grantControls.operator", "operator is required with more than one control: AND or OR")
	default:
		ps.add("grantControls.operator", "unknown operator %q: use AND or OR", g.Operator)
	}
	var block, mfa, pwChange bool
	for _, v := range g.BuiltInControls {
		switch strings.ToLower(v) {
		case "block":
			block = true
		case "mfa":
			mfa = true
		case "passwordchange":
			pwChange = true
		case "compliantdevice":
		case "domainjoineddevice":
			ps.add("grantControls.builtInControls", "domainJoinedDevice is not supported by vakt: use a device filter on device.trustType")
		case "approvedapplication", "compliantapplication":
			ps.add("grantControls.builtInControls", "%s (app protection) is not supported by vakt", v)
		case "riskremediation":
			ps.add("grantControls.builtInControls", "riskRemediation is not supported by vakt: use passwordChange with mfa")
		default:
			ps.add("grantControls.builtInControls", "unknown control %q: use block, mfa, compliantDevice or passwordChange", v)
		}
	}
	if s := g.AuthenticationStrength; s != nil {
		switch {
		case s.ID == "":
			ps.add("grantControls.authenticationStrength.id", "the authentication strength needs an id")
		case !strengths[strings.ToLower(s.ID)]:
			ps.add("grantControls.authenticationStrength.id", "%q is not a built-in authentication strength: use %s (MFA), %s (passwordless MFA) or %s (phishing-resistant MFA)",
				s.ID, StrengthMFAID, StrengthPasswordlessID, StrengthPhishingResistantID)
		}
		if mfa {
			ps.add("grantControls.authenticationStrength", "an authentication strength cannot be combined with mfa: the strength already requires multifactor authentication")
		}
	}
	if block && n > 1 {
		ps.add("grantControls.builtInControls", "block cannot be combined with other controls")
	}
	if pwChange {
		if !mfa || op != "AND" {
			ps.add("grantControls.builtInControls", "passwordChange must be combined with mfa under the AND operator")
		}
		if len(p.Conditions.UserRiskLevels) == 0 {
			ps.add("conditions.userRiskLevels", "a policy that requires passwordChange must set userRiskLevels")
		}
		if !allApps {
			ps.add("conditions.applications.includeApplications", "a policy that requires passwordChange must target All applications with no exclusions")
		}
	}
	return true
}

// validateSession returns whether the policy has session controls.
func (p *Policy) validateSession(ps *problems, allApps bool) bool {
	s := p.SessionControls
	if s == nil {
		return false
	}
	has := false
	for name, r := range map[string][]byte{
		"applicationEnforcedRestrictions": s.ApplicationEnforcedRestrictions, "cloudAppSecurity": s.CloudAppSecurity,
		"continuousAccessEvaluation": s.ContinuousAccessEvaluation, "disableResilienceDefaults": s.DisableResilienceDefaults,
		"secureSignInSession": s.SecureSignInSession,
	} {
		if rawSet(r) {
			ps.add("sessionControls."+name, "the session control %s is not supported by vakt", name)
			has = true
		}
	}
	if f := s.SignInFrequency; f != nil && f.IsEnabled {
		has = true
		switch strings.ToLower(f.FrequencyInterval) {
		case "", "timebased":
			switch strings.ToLower(f.Type) {
			case "hours":
				if f.Value < 1 || f.Value > 23 {
					ps.add("sessionControls.signInFrequency.value", "a frequency in hours must be 1 to 23, not %d", f.Value)
				}
			case "days":
				if f.Value < 1 || f.Value > 365 {
					ps.add("sessionControls.signInFrequency.value", "a frequency in days must be 1 to 365, not %d", f.Value)
				}
			case "":
				ps.add("sessionControls.signInFrequency.type", "a time-based sign-in frequency needs a type: hours or days")
			default:
				ps.add("sessionControls.signInFrequency.type", "unknown type %q: use hours or days", f.Type)
			}
		case "everytime":
			if f.Value != 0 || f.Type != "" {
				ps.add("sessionControls.signInFrequency", "an everyTime sign-in frequency takes no value or type")
			}
		default:
			ps.add("sessionControls.signInFrequency.frequencyInterval", "unknown frequencyInterval %q: use timeBased or everyTime", f.FrequencyInterval)
		}
		switch strings.ToLower(f.AuthenticationType) {
		case "", "primaryandsecondaryauthentication", "secondaryauthentication":
		default:
			ps.add("sessionControls.signInFrequency.authenticationType", "unknown authenticationType %q: use primaryAndSecondaryAuthentication or secondaryAuthentication", f.AuthenticationType)
		}
	}
	if b := s.PersistentBrowser; b != nil && b.IsEnabled {
		has = true
		if !eqFold(b.Mode, "always") && !eqFold(b.Mode, "never") {
			ps.add("sessionControls.persistentBrowser.mode", "unknown mode %q: use always or never", b.Mode)
		}
		if !allApps {
			ps.add("sessionControls.persistentBrowser", "a persistent browser session control needs a policy that targets All applications with no exclusions")
		}
	}
	return has
}

// Validate checks l against Graph's rules and vakt's limits (at most
// MaxIPRanges ranges; no mask of /8 or wider; well-formed CIDR ranges
// whose family matches their @odata.type; ISO 3166 alpha-2 countries).
func (l *NamedLocation) Validate() error {
	var ps problems
	if strings.TrimSpace(l.DisplayName) == "" {
		ps.add("displayName", "a named location needs a display name")
	} else if len(l.DisplayName) > MaxDisplayName {
		ps.add("displayName", "the display name is longer than %d characters", MaxDisplayName)
	}
	if l.ID != "" && !isGUID(l.ID) {
		ps.add("id", "%q is not a GUID", l.ID)
	}
	switch l.Kind() {
	case LocationIP:
		if l.CountriesAndRegions != nil || l.IncludeUnknownCountriesAndRegions || l.CountryLookupMethod != "" {
			ps.add("countriesAndRegions", "an IP named location has no country properties")
		}
		if len(l.IPRanges) == 0 {
			ps.add("ipRanges", "an IP named location needs at least one IP range")
		}
		if len(l.IPRanges) > MaxIPRanges {
			ps.add("ipRanges", "an IP named location holds at most %d ranges, not %d", MaxIPRanges, len(l.IPRanges))
		}
		for i, r := range l.IPRanges {
			if _, err := r.Prefix(); err != nil {
				ps.add(fmt.Sprintf("ipRanges[%d].cidrAddress", i), "%v", err)
				if len(ps) > 20 {
					ps.add("ipRanges", "further ranges not checked")
					break
				}
			}
		}
	case LocationCountry:
		if l.IPRanges != nil {
			ps.add("ipRanges", "a country named location has no IP ranges")
		}
		if l.IsTrusted {
			ps.add("isTrusted", "only IP named locations can be trusted")
		}
		if len(l.CountriesAndRegions) == 0 && !l.IncludeUnknownCountriesAndRegions {
			ps.add("countriesAndRegions", "a country named location needs at least one country or includeUnknownCountriesAndRegions")
		}
		for _, c := range l.CountriesAndRegions {
			if countryIndex(c) < 0 {
				ps.add("countriesAndRegions", "%q is not an ISO 3166 alpha-2 country code", c)
			}
		}
		switch strings.ToLower(l.CountryLookupMethod) {
		case "", "clientipaddress":
		case "authenticatorappgps":
			ps.add("countryLookupMethod", "authenticatorAppGps is not supported by vakt: use clientIpAddress")
		default:
			ps.add("countryLookupMethod", "unknown countryLookupMethod %q: use clientIpAddress", l.CountryLookupMethod)
		}
	default:
		if l.ODataType != "" {
			ps.add("@odata.type", "unknown named location type %q: use %s or %s", l.ODataType, ODataIPNamedLocation, ODataCountryNamedLocation)
		} else {
			ps.add("@odata.type", "@odata.type is required: %s or %s", ODataIPNamedLocation, ODataCountryNamedLocation)
		}
	}
	return ps.err()
}

// Prefix parses the range, checking that its family matches its
// @odata.type and that its mask is narrower than /8.
func (r IPRange) Prefix() (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(r.CIDRAddress))
	if err != nil {
		if _, aerr := netip.ParseAddr(strings.TrimSpace(r.CIDRAddress)); aerr == nil {
			return p, fmt.Errorf("%q has no mask: write it in CIDR notation, such as %s/32 or /128", r.CIDRAddress, strings.TrimSpace(r.CIDRAddress))
		}
		return p, fmt.Errorf("%q is not a CIDR range", r.CIDRAddress)
	}
	switch {
	case r.ODataType == "":
	case eqFold(r.ODataType, ODataIPv4CidrRange):
		if !p.Addr().Is4() {
			return p, fmt.Errorf("%q is not an IPv4 range (its @odata.type says iPv4CidrRange)", r.CIDRAddress)
		}
	case eqFold(r.ODataType, ODataIPv6CidrRange):
		if !p.Addr().Is6() {
			return p, fmt.Errorf("%q is not an IPv6 range (its @odata.type says iPv6CidrRange)", r.CIDRAddress)
		}
	default:
		return p, fmt.Errorf("unknown range type %q: use %s or %s", r.ODataType, ODataIPv4CidrRange, ODataIPv6CidrRange)
	}
	if p.Addr().Is4In6() {
		return p, fmt.Errorf("%q is an IPv4-mapped IPv6 range: write the IPv4 range", r.CIDRAddress)
	}
	if p.Bits() <= 8 {
		return p, fmt.Errorf("%q is too wide: masks of /8 or wider are not allowed", r.CIDRAddress)
	}
	return p.Masked(), nil
}

// isGUID reports whether s is a GUID in its usual 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func eqFold(a, b string) bool { return strings.EqualFold(a, b) }

// countryIndex maps a two-letter code (either case) to 0..675, or -1.
func countryIndex(c string) int {
	if len(c) != 2 {
		return -1
	}
	a, b := c[0]|0x20, c[1]|0x20
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return -1
	}
	return int(a-'a')*26 + int(b-'a')
}
