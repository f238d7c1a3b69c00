package authpolicy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Fixed values of the policy object (graph-api.md §1).
const (
	PolicyID             = "authenticationMethodsPolicy"
	PolicyDisplayName    = "Authentication Methods Policy"
	PolicyDescription    = "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and system-preferred multifactor authentication."
	PolicyVersion        = "1.5"
	PolicyMigrationState = "migrationComplete"
)

// Target types and the special targets.
const (
	TargetUser  = "user"
	TargetGroup = "group"
	// AllUsers, with TargetGroup, targets everyone.
	AllUsers = "all_users"
	// NoTarget is the nil GUID a feature setting's excludeTarget carries
	// when nobody is excluded, as in the modelled system.
	NoTarget = "00000000-0000-0000-0000-000000000000"
)

// Method configuration states.
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"
)

// advancedConfigState values; "default" is platform managed.
const (
	AdvancedDefault  = "default"
	AdvancedEnabled  = "enabled"
	AdvancedDisabled = "disabled"
)

const odataPrefix = "#microsoft.graph."

// Target is an {id, targetType} pair: exclude targets, system-preferred
// MFA targets and feature-setting targets.
type Target struct {
	ID         string `json:"id"`
	TargetType string `json:"targetType"`
}

// IncludeTarget is a method configuration's include target.
type IncludeTarget struct {
	ID                     string `json:"id"`
	TargetType             string `json:"targetType"`
	IsRegistrationRequired bool   `json:"isRegistrationRequired"`
}

// AuthenticatorIncludeTarget adds the Microsoft Authenticator mode
// (deviceBasedPush, push or any).
type AuthenticatorIncludeTarget struct {
	IncludeTarget
	AuthenticationMode string `json:"authenticationMode"`
}

// SmsIncludeTarget adds whether SMS may be used as a first factor.
type SmsIncludeTarget struct {
	IncludeTarget
	IsUsableForSignIn bool `json:"isUsableForSignIn"`
}

// CampaignIncludeTarget is an include target of the registration campaign.
type CampaignIncludeTarget struct {
	ID                           string `json:"id"`
	TargetType                   string `json:"targetType"`
	TargetedAuthenticationMethod string `json:"targetedAuthenticationMethod"`
}

// RegistrationCampaign nudges users to register the authenticator app
// (P-5.2). State default behaves as disabled.
type RegistrationCampaign struct {
	SnoozeDurationInDays int                     `json:"snoozeDurationInDays"`
	State                string                  `json:"state"`
	ExcludeTargets       []Target                `json:"excludeTargets"`
	IncludeTargets       []CampaignIncludeTarget `json:"includeTargets"`
}

// RegistrationEnforcement wraps the campaign, as Graph does.
type RegistrationEnforcement struct {
	AuthenticationMethodsRegistrationCampaign RegistrationCampaign `json:"authenticationMethodsRegistrationCampaign"`
}

// SystemCredentialPreferences is system-preferred MFA (P-6.2, beta): at
// most one include and one exclude target; state default resolves to
// enabled.
type SystemCredentialPreferences struct {
	State          string   `json:"state"`
	ExcludeTargets []Target `json:"excludeTargets"`
	IncludeTargets []Target `json:"includeTargets"`
}

// ReportSuspiciousActivitySettings lets users report an MFA prompt they
// did not expect (beta).
type ReportSuspiciousActivitySettings struct {
	State              string `json:"state"`
	IncludeTarget      Target `json:"includeTarget"`
	VoiceReportingCode int    `json:"voiceReportingCode"`
}

// FeatureSetting is one Microsoft Authenticator feature switch; its
// targets are groups (all_users for everyone, NoTarget for no exclusion).
type FeatureSetting struct {
	State         string `json:"state"`
	IncludeTarget Target `json:"includeTarget"`
	ExcludeTarget Target `json:"excludeTarget"`
}

// AuthenticatorFeatureSettings are the push features; the last two are
// beta-only.
type AuthenticatorFeatureSettings struct {
	DisplayAppInformationRequiredState      FeatureSetting `json:"displayAppInformationRequiredState"`
	DisplayLocationInformationRequiredState FeatureSetting `json:"displayLocationInformationRequiredState"`
	NumberMatchingRequiredState             FeatureSetting `json:"numberMatchingRequiredState"`
	CompanionAppAllowedState                FeatureSetting `json:"companionAppAllowedState"`
}

// MicrosoftAuthenticatorConfig configures the authenticator app.
type MicrosoftAuthenticatorConfig struct {
	State                 string                       `json:"state"`
	IsSoftwareOathEnabled bool                         `json:"isSoftwareOathEnabled"`
	FeatureSettings       AuthenticatorFeatureSettings `json:"featureSettings"`
	ExcludeTargets        []Target                     `json:"excludeTargets"`
	IncludeTargets        []AuthenticatorIncludeTarget `json:"includeTargets"`
}

// Fido2KeyRestrictions allows or blocks security keys by AAGUID.
type Fido2KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"`
	AAGuids         []string `json:"aaGuids"`
}

// Fido2Config configures passkeys and security keys.
type Fido2Config struct {
	State                            string               `json:"state"`
	IsSelfServiceRegistrationAllowed bool                 `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool                 `json:"isAttestationEnforced"`
	KeyRestrictions                  Fido2KeyRestrictions `json:"keyRestrictions"`
	ExcludeTargets                   []Target             `json:"excludeTargets"`
	IncludeTargets                   []IncludeTarget      `json:"includeTargets"`
}

// SmsConfig configures text-message codes.
type SmsConfig struct {
	State          string             `json:"state"`
	ExcludeTargets []Target           `json:"excludeTargets"`
	IncludeTargets []SmsIncludeTarget `json:"includeTargets"`
}

// VoiceConfig configures voice calls; office phones only when allowed.
type VoiceConfig struct {
	State                string          `json:"state"`
	IsOfficePhoneAllowed bool            `json:"isOfficePhoneAllowed"`
	ExcludeTargets       []Target        `json:"excludeTargets"`
	IncludeTargets       []IncludeTarget `json:"includeTargets"`
}

// EmailConfig configures email codes (password reset only).
type EmailConfig struct {
	State                        string          `json:"state"`
	AllowExternalIDToUseEmailOTP string          `json:"allowExternalIdToUseEmailOtp"`
	ExcludeTargets               []Target        `json:"excludeTargets"`
	IncludeTargets               []IncludeTarget `json:"includeTargets"`
}

// SoftwareOathConfig configures third-party authenticator apps (TOTP).
type SoftwareOathConfig struct {
	State          string          `json:"state"`
	ExcludeTargets []Target        `json:"excludeTargets"`
	IncludeTargets []IncludeTarget `json:"includeTargets"`
}

// HardwareOathConfig configures hardware OATH tokens (beta only).
type HardwareOathConfig struct {
	State          string          `json:"state"`
	ExcludeTargets []Target        `json:"excludeTargets"`
	IncludeTargets []IncludeTarget `json:"includeTargets"`
}

// TemporaryAccessPassConfig configures Temporary Access Passes; it is
// mirrored into the securityinfo TAP setting on every change.
type TemporaryAccessPassConfig struct {
	State                    string          `json:"state"`
	DefaultLifetimeInMinutes int             `json:"defaultLifetimeInMinutes"`
	DefaultLength            int             `json:"defaultLength"`
	MinimumLifetimeInMinutes int             `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeInMinutes int             `json:"maximumLifetimeInMinutes"`
	IsUsableOnce             bool            `json:"isUsableOnce"`
	ExcludeTargets           []Target        `json:"excludeTargets"`
	IncludeTargets           []IncludeTarget `json:"includeTargets"`
}

// X509CertificateUserBinding maps a certificate field to a user property.
type X509CertificateUserBinding struct {
	X509CertificateField string `json:"x509CertificateField"`
	UserProperty         string `json:"userProperty"`
	Priority             int    `json:"priority"`
	TrustAffinityLevel   string `json:"trustAffinityLevel"`
}

// X509CertificateAuthenticationModeRule overrides the default mode for
// certificates of one issuer or policy OID.
type X509CertificateAuthenticationModeRule struct {
	X509CertificateRuleType           string `json:"x509CertificateRuleType"`
	Identifier                        string `json:"identifier"`
	X509CertificateAuthenticationMode string `json:"x509CertificateAuthenticationMode"`
}

// X509CertificateAuthenticationModeConfiguration says whether a
// certificate counts as one factor or two.
type X509CertificateAuthenticationModeConfiguration struct {
	X509CertificateAuthenticationDefaultMode    string                                  `json:"x509CertificateAuthenticationDefaultMode"`
	X509CertificateDefaultRequiredAffinityLevel string                                  `json:"x509CertificateDefaultRequiredAffinityLevel"`
	Rules                                       []X509CertificateAuthenticationModeRule `json:"rules"`
}

// X509CertificateConfig configures certificate sign-in.
type X509CertificateConfig struct {
	State                           string                                         `json:"state"`
	CertificateUserBindings         []X509CertificateUserBinding                   `json:"certificateUserBindings"`
	AuthenticationModeConfiguration X509CertificateAuthenticationModeConfiguration `json:"authenticationModeConfiguration"`
	ExcludeTargets                  []Target                                       `json:"excludeTargets"`
	IncludeTargets                  []IncludeTarget                                `json:"includeTargets"`
}

// Canonical method configuration ids, in the order they are listed.
const (
	MicrosoftAuthenticator = "MicrosoftAuthenticator"
	Fido2                  = "Fido2"
	Sms                    = "Sms"
	Voice                  = "Voice"
	Email                  = "Email"
	SoftwareOath           = "SoftwareOath"
	HardwareOath           = "HardwareOath"
	TemporaryAccessPass    = "TemporaryAccessPass"
	X509Certificate        = "X509Certificate"
)

var configIDs = []string{MicrosoftAuthenticator, Fido2, Sms, Voice, Email, SoftwareOath, HardwareOath, TemporaryAccessPass, X509Certificate}

// ConfigIDs lists the method configuration ids in their canonical casing
// and order.
func ConfigIDs() []string { return append([]string(nil), configIDs...) }

// CanonicalConfigID resolves a configuration id case-insensitively.
func CanonicalConfigID(id string) (string, bool) {
	for _, c := range configIDs {
		if strings.EqualFold(c, id) {
			return c, true
		}
	}
	return "", false
}

// BetaOnlyConfig reports whether the configuration exists only in the
// beta API (HardwareOath).
func BetaOnlyConfig(id string) bool { return strings.EqualFold(id, HardwareOath) }

// MethodConfiguration is one method's configuration, in its Graph shape.
type MethodConfiguration interface {
	// ConfigID is the canonical id, e.g. "Fido2".
	ConfigID() string
	// ODataType is the derived type, e.g. "#microsoft.graph.fido2AuthenticationMethodConfiguration".
	ODataType() string
	// Enabled reports whether the state is enabled.
	Enabled() bool
	// Targets returns the include and exclude targets as plain pairs.
	Targets() (include, exclude []Target)
}

func plainTargets[T any](ts []T, get func(T) Target) []Target {
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = get(t)
	}
	return out
}

func (t IncludeTarget) target() Target { return Target{ID: t.ID, TargetType: t.TargetType} }

func includeTargets(ts []IncludeTarget) []Target {
	return plainTargets(ts, IncludeTarget.target)
}

// withHeader prepends @odata.type and id to a marshalled object.
func withHeader(odataType, id string, v any, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf(`{"@odata.type":%q,"id":%q`, odataType, id)
	if string(body) == "{}" {
		return []byte(head + "}"), nil
	}
	return append([]byte(head+","), body[1:]...), nil
}

func (MicrosoftAuthenticatorConfig) ConfigID() string { return MicrosoftAuthenticator }
func (MicrosoftAuthenticatorConfig) ODataType() string {
	return odataPrefix + "microsoftAuthenticatorAuthenticationMethodConfiguration"
}
func (c MicrosoftAuthenticatorConfig) Enabled() bool { return c.State == StateEnabled }
func (c MicrosoftAuthenticatorConfig) Targets() ([]Target, []Target) {
	return plainTargets(c.IncludeTargets, func(t AuthenticatorIncludeTarget) Target { return t.target() }), c.ExcludeTargets
}
func (c MicrosoftAuthenticatorConfig) MarshalJSON() ([]byte, error) {
	type plain MicrosoftAuthenticatorConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (Fido2Config) ConfigID() string  { return Fido2 }
func (Fido2Config) ODataType() string { return odataPrefix + "fido2AuthenticationMethodConfiguration" }
func (c Fido2Config) Enabled() bool   { return c.State == StateEnabled }
func (c Fido2Config) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c Fido2Config) MarshalJSON() ([]byte, error) {
	type plain Fido2Config
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (SmsConfig) ConfigID() string  { return Sms }
func (SmsConfig) ODataType() string { return odataPrefix + "smsAuthenticationMethodConfiguration" }
func (c SmsConfig) Enabled() bool   { return c.State == StateEnabled }
func (c SmsConfig) Targets() ([]Target, []Target) {
	return plainTargets(c.IncludeTargets, func(t SmsIncludeTarget) Target { return t.target() }), c.ExcludeTargets
}
func (c SmsConfig) MarshalJSON() ([]byte, error) {
	type plain SmsConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (VoiceConfig) ConfigID() string  { return Voice }
func (VoiceConfig) ODataType() string { return odataPrefix + "voiceAuthenticationMethodConfiguration" }
func (c VoiceConfig) Enabled() bool   { return c.State == StateEnabled }
func (c VoiceConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c VoiceConfig) MarshalJSON() ([]byte, error) {
	type plain VoiceConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (EmailConfig) ConfigID() string  { return Email }
func (EmailConfig) ODataType() string { return odataPrefix + "emailAuthenticationMethodConfiguration" }
func (c EmailConfig) Enabled() bool   { return c.State == StateEnabled }
func (c EmailConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c EmailConfig) MarshalJSON() ([]byte, error) {
	type plain EmailConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (SoftwareOathConfig) ConfigID() string { return SoftwareOath }
func (SoftwareOathConfig) ODataType() string {
	return odataPrefix + "softwareOathAuthenticationMethodConfiguration"
}
func (c SoftwareOathConfig) Enabled() bool { return c.State == StateEnabled }
func (c SoftwareOathConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c SoftwareOathConfig) MarshalJSON() ([]byte, error) {
	type plain SoftwareOathConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (HardwareOathConfig) ConfigID() string { return HardwareOath }
func (HardwareOathConfig) ODataType() string {
	return odataPrefix + "hardwareOathAuthenticationMethodConfiguration"
}
func (c HardwareOathConfig) Enabled() bool { return c.State == StateEnabled }
func (c HardwareOathConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c HardwareOathConfig) MarshalJSON() ([]byte, error) {
	type plain HardwareOathConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (TemporaryAccessPassConfig) ConfigID() string { return TemporaryAccessPass }
func (TemporaryAccessPassConfig) ODataType() string {
	return odataPrefix + "temporaryAccessPassAuthenticationMethodConfiguration"
}
func (c TemporaryAccessPassConfig) Enabled() bool { return c.State == StateEnabled }
func (c TemporaryAccessPassConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c TemporaryAccessPassConfig) MarshalJSON() ([]byte, error) {
	type plain TemporaryAccessPassConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

func (X509CertificateConfig) ConfigID() string { return X509Certificate }
func (X509CertificateConfig) ODataType() string {
	return odataPrefix + "x509CertificateAuthenticationMethodConfiguration"
}
func (c X509CertificateConfig) Enabled() bool { return c.State == StateEnabled }
func (c X509CertificateConfig) Targets() ([]Target, []Target) {
	return includeTargets(c.IncludeTargets), c.ExcludeTargets
}
func (c X509CertificateConfig) MarshalJSON() ([]byte, error) {
	type plain X509CertificateConfig
	return withHeader(c.ODataType(), c.ConfigID(), plain(c), nil)
}

// Methods holds every method configuration.
type Methods struct {
	MicrosoftAuthenticator MicrosoftAuthenticatorConfig
	Fido2                  Fido2Config
	Sms                    SmsConfig
	Voice                  VoiceConfig
	Email                  EmailConfig
	SoftwareOath           SoftwareOathConfig
	HardwareOath           HardwareOathConfig
	TemporaryAccessPass    TemporaryAccessPassConfig
	X509Certificate        X509CertificateConfig
}

// ptr returns a pointer to the configuration with the canonical id.
func (m *Methods) ptr(id string) any {
	switch id {
	case MicrosoftAuthenticator:
		return &m.MicrosoftAuthenticator
	case Fido2:
		return &m.Fido2
	case Sms:
		return &m.Sms
	case Voice:
		return &m.Voice
	case Email:
		return &m.Email
	case SoftwareOath:
		return &m.SoftwareOath
	case HardwareOath:
		return &m.HardwareOath
	case TemporaryAccessPass:
		return &m.TemporaryAccessPass
	case X509Certificate:
		return &m.X509Certificate
	}
	return nil
}

// All lists the configurations in canonical order.
func (m Methods) All() []MethodConfiguration {
	return []MethodConfiguration{m.MicrosoftAuthenticator, m.Fido2, m.Sms, m.Voice, m.Email, m.SoftwareOath,
		m.HardwareOath, m.TemporaryAccessPass, m.X509Certificate}
}

// Config returns the configuration with the id (case-insensitive).
func (m Methods) Config(id string) (MethodConfiguration, bool) {
	c, ok := CanonicalConfigID(id)
	if !ok {
		return nil, false
	}
	for _, mc := range m.All() {
		if mc.ConfigID() == c {
			return mc, true
		}
	}
	return nil, false
}

// Policy is a tenant's authentication methods policy (P-5). It marshals
// to exactly the Graph (beta) shape, with authenticationMethodConfigurations
// expanded; the v1.0 API leaves out the beta-only parts.
type Policy struct {
	ID                               string                           `json:"id"`
	DisplayName                      string                           `json:"displayName"`
	Description                      string                           `json:"description"`
	LastModifiedDateTime             time.Time                        `json:"lastModifiedDateTime"`
	PolicyVersion                    string                           `json:"policyVersion"`
	PolicyMigrationState             string                           `json:"policyMigrationState"`
	ReconfirmationInDays             int                              `json:"reconfirmationInDays"`
	RegistrationEnforcement          RegistrationEnforcement          `json:"registrationEnforcement"`
	SystemCredentialPreferences      SystemCredentialPreferences      `json:"systemCredentialPreferences"`
	ReportSuspiciousActivitySettings ReportSuspiciousActivitySettings `json:"reportSuspiciousActivitySettings"`
	Methods                          Methods                          `json:"-"`
}

// BetaOnlyProperties are the policy properties only the beta API has.
var BetaOnlyProperties = []string{"systemCredentialPreferences", "reportSuspiciousActivitySettings"}

// BetaOnlyFeatureSettings are the Microsoft Authenticator feature settings
// only the beta API has.
var BetaOnlyFeatureSettings = []string{"numberMatchingRequiredState", "companionAppAllowedState"}

// MarshalJSON writes the Graph shape.
func (p Policy) MarshalJSON() ([]byte, error) {
	type plain Policy
	return json.Marshal(struct {
		plain
		Configs []MethodConfiguration `json:"authenticationMethodConfigurations"`
	}{plain(p), p.Methods.All()})
}

// UnmarshalJSON reads the Graph shape over p's current values, so that a
// document missing a configuration keeps its default.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type plain Policy
	aux := struct {
		*plain
		Configs []json.RawMessage `json:"authenticationMethodConfigurations"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	for _, raw := range aux.Configs {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return err
		}
		id, ok := CanonicalConfigID(head.ID)
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, p.Methods.ptr(id)); err != nil {
			return err
		}
	}
	return nil
}

// PolicyProperties lists every property of the policy object (writable or
// not), for request decoders that reject unknown properties.
func PolicyProperties() []string {
	return append(append([]string(nil), policyWritable...), policyReadOnly...)
}

// ConfigProperties lists the properties of a method configuration's body
// (id and the type's own), or nil for an unknown id.
func ConfigProperties(id string) []string {
	cid, ok := CanonicalConfigID(id)
	if !ok {
		return nil
	}
	var m Methods
	out := []string{"id"}
	t := reflect.TypeOf(m.ptr(cid)).Elem()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}
