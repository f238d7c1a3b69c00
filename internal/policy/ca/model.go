// Package ca is vakt's conditional-access engine (P-7, P-8.1): the
// conditionalAccessPolicy and namedLocation resources in their Graph wire
// shape (graph-api.md §3), their validation, a compiler that turns a
// tenant's policies and named locations into an immutable Set, and the
// evaluation of a sign-in against that Set.
//
// The package is pure: it performs no I/O and never reads the clock
// (puretest checks it). The country of a sign-in's IP address comes from
// the caller (Input.Country), typically resolved through a CountryLookup
// such as the MaxMind-backed one in internal/policy/ca/geoip.
//
// Evaluation is built for the sign-in hot path: Compile does all parsing,
// sorting and set building up front, and Set.Evaluate allocates nothing per
// policy (nothing at all when the caller reuses its buffers, see
// Set.EvaluateTo). A Set is immutable and safe for concurrent use.
package ca

import (
	"bytes"
	"encoding/json"
	"time"
)

// State is a policy's state.
type State string

// Policy states (P-7.3).
const (
	StateEnabled  State = "enabled"
	StateDisabled State = "disabled"
	// StateReportOnly: evaluated and logged, never enforced.
	StateReportOnly State = "enabledForReportingButNotEnforced"
)

// Limits of the modelled system (graph-api.md §3). The admin API enforces
// the per-tenant counts; Validate enforces the per-location range limit.
const (
	MaxPolicies       = 195
	MaxNamedLocations = 195
	MaxIPRanges       = 2000
	// MaxDisplayName is the longest displayName accepted.
	MaxDisplayName = 256
)

// Keywords of the users, applications and locations conditions.
const (
	All                   = "All"
	None                  = "None"
	GuestsOrExternalUsers = "GuestsOrExternalUsers"
	Office365             = "Office365"
	MicrosoftAdminPortals = "MicrosoftAdminPortals"
	AllTrusted            = "AllTrusted"
)

// AdminPortalAppID is the application id that stands for vakt's own admin
// surfaces (the admin web pages and delegated sign-ins to the Graph-
// compatible admin API). The Graph keyword MicrosoftAdminPortals in
// includeApplications or excludeApplications means this id, and a policy
// may also name the id itself. The sign-in engine passes it as
// Input.AppID (or sets Input.AdminSurface) for sign-ins to those surfaces.
// It is a fixed, randomly chosen GUID: it never changes and never collides
// with the appId of an app registered in a tenant (those are random v4
// UUIDs).
const AdminPortalAppID = "3c1d5a7e-9b2f-4e6a-8d40-7a6b74000001"

// User actions of includeUserActions.
const (
	UserActionRegisterSecurityInfo = "urn:user:registersecurityinfo"
	UserActionRegisterDevice       = "urn:user:registerdevice"
)

// Built-in authentication strength ids.
const (
	StrengthMFAID               = "00000000-0000-0000-0000-000000000002"
	StrengthPasswordlessID      = "00000000-0000-0000-0000-000000000003"
	StrengthPhishingResistantID = "00000000-0000-0000-0000-000000000004"
)

// OData types of named locations and their IP ranges.
const (
	ODataIPNamedLocation      = "#microsoft.graph.ipNamedLocation"
	ODataCountryNamedLocation = "#microsoft.graph.countryNamedLocation"
	ODataIPv4CidrRange        = "#microsoft.graph.iPv4CidrRange"
	ODataIPv6CidrRange        = "#microsoft.graph.iPv6CidrRange"
)

// Policy is a conditionalAccessPolicy as Graph sends and receives it.
//
// Properties of the Graph resource that vakt does not evaluate
// (conditions.clientApplications, authenticationFlows, insiderRiskLevels,
// servicePrincipalRiskLevels, guest-type details, authentication contexts,
// application filters, terms of use, custom factors, app-enforced
// restrictions, …) are kept as raw JSON so that Validate can refuse a
// policy that sets them: ignoring them silently would enforce less than
// the administrator asked for. A null, false, empty array or empty object
// counts as not set.
type Policy struct {
	ID               string           `json:"id,omitempty"`
	DisplayName      string           `json:"displayName"`
	Description      string           `json:"description,omitempty"`
	TemplateID       string           `json:"templateId,omitempty"`
	CreatedDateTime  *time.Time       `json:"createdDateTime,omitempty"`
	ModifiedDateTime *time.Time       `json:"modifiedDateTime,omitempty"`
	State            State            `json:"state"`
	Conditions       Conditions       `json:"conditions"`
	GrantControls    *GrantControls   `json:"grantControls"`
	SessionControls  *SessionControls `json:"sessionControls"`
}

// Conditions is conditionalAccessConditionSet.
type Conditions struct {
	Users        *UsersCondition        `json:"users"`
	Applications *ApplicationsCondition `json:"applications"`
	// ClientAppTypes: all, browser, mobileAppsAndDesktopClients,
	// exchangeActiveSync, easSupported, other. Empty means all.
	ClientAppTypes []string            `json:"clientAppTypes"`
	Locations      *LocationsCondition `json:"locations"`
	Platforms      *PlatformsCondition `json:"platforms"`
	Devices        *DevicesCondition   `json:"devices"`
	// Risk levels: low, medium, high, hidden, none. Empty: any.
	SignInRiskLevels []string `json:"signInRiskLevels"`
	UserRiskLevels   []string `json:"userRiskLevels"`

	ClientApplications         json.RawMessage `json:"clientApplications,omitempty"`
	AuthenticationFlows        json.RawMessage `json:"authenticationFlows,omitempty"`
	InsiderRiskLevels          json.RawMessage `json:"insiderRiskLevels,omitempty"`
	ServicePrincipalRiskLevels json.RawMessage `json:"servicePrincipalRiskLevels,omitempty"`
	DeviceStates               json.RawMessage `json:"deviceStates,omitempty"`
}

// UsersCondition is conditionalAccessUsers. includeUsers takes user ids
// and All, None, GuestsOrExternalUsers; excludeUsers takes user ids and
// GuestsOrExternalUsers; groups and roles are ids (roles are the built-in
// role template ids of internal/directory).
type UsersCondition struct {
	IncludeUsers  []string `json:"includeUsers"`
	ExcludeUsers  []string `json:"excludeUsers"`
	IncludeGroups []string `json:"includeGroups"`
	ExcludeGroups []string `json:"excludeGroups"`
	IncludeRoles  []string `json:"includeRoles"`
	ExcludeRoles  []string `json:"excludeRoles"`

	IncludeGuestsOrExternalUsers json.RawMessage `json:"includeGuestsOrExternalUsers,omitempty"`
	ExcludeGuestsOrExternalUsers json.RawMessage `json:"excludeGuestsOrExternalUsers,omitempty"`
}

// ApplicationsCondition is conditionalAccessApplications. Applications are
// app ids or All, None, Office365 (no vakt application belongs to it, so it
// matches nothing) and MicrosoftAdminPortals (AdminPortalAppID). A policy
// targets either applications or user actions, never both.
type ApplicationsCondition struct {
	IncludeApplications []string `json:"includeApplications"`
	ExcludeApplications []string `json:"excludeApplications"`
	IncludeUserActions  []string `json:"includeUserActions"`

	IncludeAuthenticationContextClassReferences json.RawMessage `json:"includeAuthenticationContextClassReferences,omitempty"`
	ApplicationFilter                           json.RawMessage `json:"applicationFilter,omitempty"`
}

// LocationsCondition is conditionalAccessLocations: named-location ids,
// All and AllTrusted (excludeLocations: ids and AllTrusted).
type LocationsCondition struct {
	IncludeLocations []string `json:"includeLocations"`
	ExcludeLocations []string `json:"excludeLocations"`
}

// PlatformsCondition is conditionalAccessPlatforms: android, iOS,
// windows, windowsPhone, macOS, linux, all (include only).
type PlatformsCondition struct {
	IncludePlatforms []string `json:"includePlatforms"`
	ExcludePlatforms []string `json:"excludePlatforms"`
}

// DevicesCondition is conditionalAccessDevices.
type DevicesCondition struct {
	DeviceFilter *DeviceFilter `json:"deviceFilter"`

	IncludeDevices json.RawMessage `json:"includeDevices,omitempty"`
	ExcludeDevices json.RawMessage `json:"excludeDevices,omitempty"`
	IncludeStates  json.RawMessage `json:"includeDeviceStates,omitempty"`
	ExcludeStates  json.RawMessage `json:"excludeDeviceStates,omitempty"`
}

// DeviceFilter is conditionalAccessFilter: in mode include the policy
// applies only to devices that match the rule, in mode exclude it does not
// apply to them. The rule language is described at ParseDeviceRule.
type DeviceFilter struct {
	Mode string `json:"mode"`
	Rule string `json:"rule"`
}

// GrantControls is conditionalAccessGrantControls.
type GrantControls struct {
	// Operator is AND or OR.
	Operator string `json:"operator"`
	// BuiltInControls vakt enforces: block, mfa, compliantDevice,
	// passwordChange. domainJoinedDevice, approvedApplication,
	// compliantApplication and riskRemediation are refused by Validate.
	BuiltInControls        []string                `json:"builtInControls"`
	AuthenticationStrength *AuthenticationStrength `json:"authenticationStrength,omitempty"`

	CustomAuthenticationFactors json.RawMessage `json:"customAuthenticationFactors,omitempty"`
	TermsOfUse                  json.RawMessage `json:"termsOfUse,omitempty"`
}

// AuthenticationStrength references an authentication strength policy by
// id; the other properties Graph returns with it are ignored.
type AuthenticationStrength struct {
	ID string `json:"id"`
}

// SessionControls is conditionalAccessSessionControls.
type SessionControls struct {
	SignInFrequency   *SignInFrequency   `json:"signInFrequency,omitempty"`
	PersistentBrowser *PersistentBrowser `json:"persistentBrowser,omitempty"`

	ApplicationEnforcedRestrictions json.RawMessage `json:"applicationEnforcedRestrictions,omitempty"`
	CloudAppSecurity                json.RawMessage `json:"cloudAppSecurity,omitempty"`
	ContinuousAccessEvaluation      json.RawMessage `json:"continuousAccessEvaluation,omitempty"`
	DisableResilienceDefaults       json.RawMessage `json:"disableResilienceDefaults,omitempty"`
	SecureSignInSession             json.RawMessage `json:"secureSignInSession,omitempty"`
}

// SignInFrequency is signInFrequencySessionControl.
type SignInFrequency struct {
	IsEnabled bool `json:"isEnabled"`
	// Value with Type (days|hours) when FrequencyInterval is timeBased.
	Value int32  `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
	// FrequencyInterval: timeBased (the default) or everyTime.
	FrequencyInterval string `json:"frequencyInterval,omitempty"`
	// AuthenticationType: primaryAndSecondaryAuthentication (default) or
	// secondaryAuthentication.
	AuthenticationType string `json:"authenticationType,omitempty"`
}

// PersistentBrowser is persistentBrowserSessionControl.
type PersistentBrowser struct {
	IsEnabled bool `json:"isEnabled"`
	// Mode: always or never.
	Mode string `json:"mode,omitempty"`
}

// NamedLocation is an ipNamedLocation or a countryNamedLocation. Which one
// is said by ODataType (required by Graph in POST bodies); when it is
// absent the kind is inferred from the fields present.
type NamedLocation struct {
	ODataType        string     `json:"@odata.type,omitempty"`
	ID               string     `json:"id,omitempty"`
	DisplayName      string     `json:"displayName"`
	CreatedDateTime  *time.Time `json:"createdDateTime,omitempty"`
	ModifiedDateTime *time.Time `json:"modifiedDateTime,omitempty"`

	// ipNamedLocation
	IPRanges  []IPRange `json:"ipRanges,omitempty"`
	IsTrusted bool      `json:"isTrusted,omitempty"`

	// countryNamedLocation: ISO 3166 alpha-2 codes.
	CountriesAndRegions               []string `json:"countriesAndRegions,omitempty"`
	IncludeUnknownCountriesAndRegions bool     `json:"includeUnknownCountriesAndRegions,omitempty"`
	// CountryLookupMethod: clientIpAddress (the default). vakt has no
	// authenticator GPS, so authenticatorAppGps is refused.
	CountryLookupMethod string `json:"countryLookupMethod,omitempty"`
}

// IPRange is an iPv4CidrRange or iPv6CidrRange.
type IPRange struct {
	ODataType   string `json:"@odata.type,omitempty"`
	CIDRAddress string `json:"cidrAddress"`
}

// LocationKind is the kind of a named location.
type LocationKind int

const (
	LocationUnknown LocationKind = iota
	LocationIP
	LocationCountry
)

// Kind says which kind of named location l is.
func (l *NamedLocation) Kind() LocationKind {
	switch {
	case eqFold(l.ODataType, ODataIPNamedLocation):
		return LocationIP
	case eqFold(l.ODataType, ODataCountryNamedLocation):
		return LocationCountry
	case l.ODataType != "":
		return LocationUnknown
	case l.IPRanges != nil && l.CountriesAndRegions == nil:
		return LocationIP
	case l.CountriesAndRegions != nil && l.IPRanges == nil:
		return LocationCountry
	}
	return LocationUnknown
}

// MarshalJSON writes the Graph shape of the location's kind: an IP
// location carries ipRanges and isTrusted, a country location its country
// properties, never both.
func (l NamedLocation) MarshalJSON() ([]byte, error) {
	type common struct {
		ODataType        string     `json:"@odata.type,omitempty"`
		ID               string     `json:"id,omitempty"`
		DisplayName      string     `json:"displayName"`
		CreatedDateTime  *time.Time `json:"createdDateTime,omitempty"`
		ModifiedDateTime *time.Time `json:"modifiedDateTime,omitempty"`
	}
	c := common{l.ODataType, l.ID, l.DisplayName, l.CreatedDateTime, l.ModifiedDateTime}
	switch l.Kind() {
	case LocationIP:
		c.ODataType = ODataIPNamedLocation
		ranges := l.IPRanges
		if ranges == nil {
			ranges = []IPRange{}
		}
		return json.Marshal(struct {
			common
			IPRanges  []IPRange `json:"ipRanges"`
			IsTrusted bool      `json:"isTrusted"`
		}{c, ranges, l.IsTrusted})
	case LocationCountry:
		c.ODataType = ODataCountryNamedLocation
		cs := l.CountriesAndRegions
		if cs == nil {
			cs = []string{}
		}
		method := l.CountryLookupMethod
		if method == "" {
			method = "clientIpAddress"
		}
		return json.Marshal(struct {
			common
			CountriesAndRegions               []string `json:"countriesAndRegions"`
			IncludeUnknownCountriesAndRegions bool     `json:"includeUnknownCountriesAndRegions"`
			CountryLookupMethod               string   `json:"countryLookupMethod"`
		}{c, cs, l.IncludeUnknownCountriesAndRegions, method})
	}
	return json.Marshal(c)
}

// rawSet reports whether a raw Graph property carries a value: null,
// false, "", [] and {} do not.
func rawSet(r json.RawMessage) bool {
	t := bytes.TrimSpace(r)
	if len(t) == 0 {
		return false
	}
	switch string(t) {
	case "null", "false", `""`, "[]", "{}":
		return false
	}
	if len(t) >= 2 && (t[0] == '[' || t[0] == '{') && len(bytes.TrimSpace(t[1:len(t)-1])) == 0 {
		return false
	}
	if t[0] == '{' {
		// A session control such as {"isEnabled": false} is off.
		var v struct {
			IsEnabled *bool `json:"isEnabled"`
		}
		if json.Unmarshal(t, &v) == nil && v.IsEnabled != nil && !*v.IsEnabled {
			return false
		}
	}
	return true
}
