package authpolicy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Limits of a valid policy.
const (
	MaxSnoozeDays         = 14
	MaxReconfirmationDays = 730
	// MaxTargets bounds each include or exclude list.
	MaxTargets = 200
	// MaxAAGuids bounds a FIDO2 key restriction list.
	MaxAAGuids = 200
)

// validator checks a policy against the tenant's directory (inside the
// transaction of the change) and puts enum values in canonical case.
type validator struct {
	ctx      context.Context
	st       store.Store
	tenantID string
}

func invalid(path, format string, args ...any) error {
	return apperr.Invalidf(format, args...).WithTarget(path)
}

// canon accepts s case-insensitively among allowed and stores the
// canonical spelling.
func canon(path string, s *string, allowed ...string) error {
	for _, a := range allowed {
		if strings.EqualFold(*s, a) {
			*s = a
			return nil
		}
	}
	return invalid(path, "Invalid value '%s' for property '%s': use %s.", clip(*s), path, orList(allowed))
}

func orList(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

func inRange(path string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid(path, "Property '%s' must be between %d and %d; %d is out of range.", path, lo, hi, v)
	}
	return nil
}

var advancedStates = []string{AdvancedDefault, AdvancedEnabled, AdvancedDisabled}

// guid returns the canonical (lower-case) form of a GUID, or false.
func guid(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// target checks one target: all_users (a group), or an existing user or
// group of the tenant. types are the target types allowed here.
func (v *validator) target(path string, t *Target, types ...string) error {
	if err := canon(join(path, "targetType"), &t.TargetType, types...); err != nil {
		return err
	}
	if t.TargetType == TargetGroup && strings.EqualFold(t.ID, AllUsers) {
		t.ID = AllUsers
		return nil
	}
	id, ok := guid(t.ID)
	if !ok {
		return v.unknown(path, t)
	}
	t.ID = id
	var err error
	switch t.TargetType {
	case TargetGroup:
		_, err = v.st.GetGroup(v.ctx, v.tenantID, id)
	case TargetUser:
		_, err = v.st.GetUser(v.ctx, v.tenantID, id)
	default:
		return invalid(join(path, "targetType"), "Target type '%s' is not supported here.", t.TargetType)
	}
	if errors.Is(err, store.ErrNotFound) {
		return v.unknown(path, t)
	}
	return err
}

func (v *validator) unknown(path string, t *Target) error {
	what := "group"
	if t.TargetType == TargetUser {
		what = "user"
	}
	if t.ID == "" {
		return invalid(join(path, "id"), "Property '%s.id' is required: the id of a %s, or all_users.", path, what)
	}
	return invalid(join(path, "id"), "The %s '%s' in '%s' does not exist in the tenant; use all_users or the id of an existing %s.",
		what, clip(t.ID), path, what)
}

// targets checks a list of targets: each valid, none twice, not too many.
func (v *validator) targets(path string, ts []*Target, types ...string) error {
	if len(ts) > MaxTargets {
		return invalid(path, "Property '%s' holds %d targets; at most %d are allowed.", path, len(ts), MaxTargets)
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if err := v.target(path, t, types...); err != nil {
			return err
		}
		key := t.TargetType + ":" + t.ID
		if seen[key] {
			return invalid(path, "Property '%s' names the %s '%s' twice.", path, t.TargetType, t.ID)
		}
		seen[key] = true
	}
	return nil
}

func refs(ts []Target) []*Target {
	out := make([]*Target, len(ts))
	for i := range ts {
		out[i] = &ts[i]
	}
	return out
}

// includeRefs exposes include targets' id and type for checking; the
// changes are copied back by the returned function.
func includeRefs[T any](ts []T, get func(*T) (*string, *string)) ([]*Target, func()) {
	tmp := make([]Target, len(ts))
	for i := range ts {
		id, typ := get(&ts[i])
		tmp[i] = Target{ID: *id, TargetType: *typ}
	}
	return refs(tmp), func() {
		for i := range ts {
			id, typ := get(&ts[i])
			*id, *typ = tmp[i].ID, tmp[i].TargetType
		}
	}
}

func (v *validator) include(path string, ts []IncludeTarget) error {
	r, back := includeRefs(ts, func(t *IncludeTarget) (*string, *string) { return &t.ID, &t.TargetType })
	if err := v.targets(path, r, TargetUser, TargetGroup); err != nil {
		return err
	}
	back()
	return nil
}

func (v *validator) exclude(path string, ts []Target) error {
	return v.targets(path, refs(ts), TargetUser, TargetGroup)
}

func state(path string, s *string) error {
	return canon(join(path, "state"), s, StateEnabled, StateDisabled)
}

// policy checks the policy-level properties.
func (v *validator) policy(p *Policy) error {
	if err := inRange("reconfirmationInDays", p.ReconfirmationInDays, 0, MaxReconfirmationDays); err != nil {
		return err
	}
	const cp = "registrationEnforcement.authenticationMethodsRegistrationCampaign"
	c := &p.RegistrationEnforcement.AuthenticationMethodsRegistrationCampaign
	if err := inRange(cp+".snoozeDurationInDays", c.SnoozeDurationInDays, 0, MaxSnoozeDays); err != nil {
		return err
	}
	if err := canon(cp+".state", &c.State, advancedStates...); err != nil {
		return err
	}
	for i := range c.IncludeTargets {
		t := &c.IncludeTargets[i]
		if t.TargetedAuthenticationMethod == "" {
			t.TargetedAuthenticationMethod = TargetedMethod
		}
		if err := canon(cp+".includeTargets.targetedAuthenticationMethod", &t.TargetedAuthenticationMethod, TargetedMethod); err != nil {
			return err
		}
	}
	r, back := includeRefs(c.IncludeTargets, func(t *CampaignIncludeTarget) (*string, *string) { return &t.ID, &t.TargetType })
	if err := v.targets(cp+".includeTargets", r, TargetUser, TargetGroup); err != nil {
		return err
	}
	back()
	if err := v.exclude(cp+".excludeTargets", c.ExcludeTargets); err != nil {
		return err
	}

	const sp = "systemCredentialPreferences"
	s := &p.SystemCredentialPreferences
	if err := canon(sp+".state", &s.State, advancedStates...); err != nil {
		return err
	}
	if len(s.IncludeTargets) > 1 {
		return invalid(sp+".includeTargets", "System-preferred MFA takes at most one include target (all_users or one group); %d were given.", len(s.IncludeTargets))
	}
	if len(s.ExcludeTargets) > 1 {
		return invalid(sp+".excludeTargets", "System-preferred MFA takes at most one exclude target (one group); %d were given.", len(s.ExcludeTargets))
	}
	if err := v.targets(sp+".includeTargets", refs(s.IncludeTargets), TargetUser, TargetGroup); err != nil {
		return err
	}
	if err := v.exclude(sp+".excludeTargets", s.ExcludeTargets); err != nil {
		return err
	}

	const rp = "reportSuspiciousActivitySettings"
	rs := &p.ReportSuspiciousActivitySettings
	if err := canon(rp+".state", &rs.State, advancedStates...); err != nil {
		return err
	}
	if err := v.target(rp+".includeTarget", &rs.IncludeTarget, TargetUser, TargetGroup); err != nil {
		return err
	}
	return inRange(rp+".voiceReportingCode", rs.VoiceReportingCode, 0, 9)
}

// feature checks an authenticator feature setting (group targets only).
func (v *validator) feature(path string, f *FeatureSetting) error {
	if err := canon(path+".state", &f.State, advancedStates...); err != nil {
		return err
	}
	for _, t := range []*Target{&f.IncludeTarget, &f.ExcludeTarget} {
		if !strings.EqualFold(t.TargetType, TargetGroup) {
			return invalid(path+".targetType", "Feature settings can target groups only (all_users or a group id), not '%s'.", clip(t.TargetType))
		}
	}
	if err := v.target(path+".includeTarget", &f.IncludeTarget, TargetGroup); err != nil {
		return err
	}
	if f.ExcludeTarget.ID == "" || f.ExcludeTarget.ID == NoTarget {
		f.ExcludeTarget = Target{ID: NoTarget, TargetType: TargetGroup}
		return nil
	}
	return v.target(path+".excludeTarget", &f.ExcludeTarget, TargetGroup)
}

var (
	certFields       = []string{"PrincipalName", "RFC822Name", "SubjectKeyIdentifier", "SHA1PublicKey", "IssuerAndSubject", "SubjectAndSerialNumber", "IssuerAndSerialNumber"}
	certUserProps    = []string{"userPrincipalName", "onPremisesUserPrincipalName", "certificateUserIds", "email"}
	certModes        = []string{"x509CertificateSingleFactor", "x509CertificateMultiFactor"}
	certAffinity     = []string{"low", "high"}
	certRuleTypes    = []string{"issuerSubject", "policyOID", "issuerSubjectAndPolicyOID"}
	authModes        = []string{"deviceBasedPush", "push", "any"}
	fido2Enforcement = []string{"allow", "block"}
)

// config checks a method configuration (a pointer to one of the config
// types).
func (v *validator) config(c any) error {
	switch c := c.(type) {
	case *MicrosoftAuthenticatorConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		for i := range c.IncludeTargets {
			if c.IncludeTargets[i].AuthenticationMode == "" {
				c.IncludeTargets[i].AuthenticationMode = DefaultAuthenticationMode
			}
			if err := canon("includeTargets.authenticationMode", &c.IncludeTargets[i].AuthenticationMode, authModes...); err != nil {
				return err
			}
		}
		r, back := includeRefs(c.IncludeTargets, func(t *AuthenticatorIncludeTarget) (*string, *string) { return &t.ID, &t.TargetType })
		if err := v.targets("includeTargets", r, TargetUser, TargetGroup); err != nil {
			return err
		}
		back()
		fs := &c.FeatureSettings
		for _, f := range []struct {
			name string
			f    *FeatureSetting
		}{
			{"displayAppInformationRequiredState", &fs.DisplayAppInformationRequiredState},
			{"displayLocationInformationRequiredState", &fs.DisplayLocationInformationRequiredState},
			{"numberMatchingRequiredState", &fs.NumberMatchingRequiredState},
			{"companionAppAllowedState", &fs.CompanionAppAllowedState},
		} {
			if err := v.feature("featureSettings."+f.name, f.f); err != nil {
				return err
			}
		}
		return v.exclude("excludeTargets", c.ExcludeTargets)
	case *Fido2Config:
		if err := state("", &c.State); err != nil {
			return err
		}
		kr := &c.KeyRestrictions
		if kr.EnforcementType == "" {
			kr.EnforcementType = "block"
		}
		if err := canon("keyRestrictions.enforcementType", &kr.EnforcementType, fido2Enforcement...); err != nil {
			return err
		}
		if len(kr.AAGuids) > MaxAAGuids {
			return invalid("keyRestrictions.aaGuids", "At most %d AAGUIDs can be listed.", MaxAAGuids)
		}
		if kr.AAGuids == nil {
			kr.AAGuids = []string{}
		}
		for i, g := range kr.AAGuids {
			id, ok := guid(g)
			if !ok {
				return invalid("keyRestrictions.aaGuids", "'%s' in keyRestrictions.aaGuids is not an AAGUID (a GUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8).", clip(g))
			}
			kr.AAGuids[i] = id
		}
		if kr.IsEnforced && kr.EnforcementType == "allow" && len(kr.AAGuids) == 0 {
			return invalid("keyRestrictions.aaGuids", "An enforced allow list needs at least one AAGUID, or no security key could be registered.")
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *SmsConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		r, back := includeRefs(c.IncludeTargets, func(t *SmsIncludeTarget) (*string, *string) { return &t.ID, &t.TargetType })
		if err := v.targets("includeTargets", r, TargetUser, TargetGroup); err != nil {
			return err
		}
		back()
		return v.exclude("excludeTargets", c.ExcludeTargets)
	case *VoiceConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *EmailConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		if err := canon("allowExternalIdToUseEmailOtp", &c.AllowExternalIDToUseEmailOTP, advancedStates...); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *SoftwareOathConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *HardwareOathConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *TemporaryAccessPassConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		if err := validTAP(c); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	case *X509CertificateConfig:
		if err := state("", &c.State); err != nil {
			return err
		}
		if err := validCert(c); err != nil {
			return err
		}
		return v.baseTargets(c.IncludeTargets, c.ExcludeTargets)
	}
	return fmt.Errorf("authpolicy: unknown configuration type %T", c)
}

func (v *validator) baseTargets(include []IncludeTarget, exclude []Target) error {
	if err := v.include("includeTargets", include); err != nil {
		return err
	}
	return v.exclude("excludeTargets", exclude)
}

// validTAP applies the bounds of graph-api.md §1 and §4.
func validTAP(c *TemporaryAccessPassConfig) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"minimumLifetimeInMinutes", c.MinimumLifetimeInMinutes}, {"maximumLifetimeInMinutes", c.MaximumLifetimeInMinutes},
		{"defaultLifetimeInMinutes", c.DefaultLifetimeInMinutes}} {
		if err := inRange(f.name, f.v, securityinfo.TAPMinLifetime, securityinfo.TAPMaxLifetime); err != nil {
			return err
		}
	}
	if c.MinimumLifetimeInMinutes > c.MaximumLifetimeInMinutes {
		return invalid("minimumLifetimeInMinutes", "The minimum lifetime (%d minutes) cannot exceed the maximum lifetime (%d minutes).",
			c.MinimumLifetimeInMinutes, c.MaximumLifetimeInMinutes)
	}
	if c.DefaultLifetimeInMinutes < c.MinimumLifetimeInMinutes || c.DefaultLifetimeInMinutes > c.MaximumLifetimeInMinutes {
		return invalid("defaultLifetimeInMinutes", "The default lifetime (%d minutes) must lie between the minimum (%d) and the maximum (%d).",
			c.DefaultLifetimeInMinutes, c.MinimumLifetimeInMinutes, c.MaximumLifetimeInMinutes)
	}
	return inRange("defaultLength", c.DefaultLength, securityinfo.TAPMinLength, securityinfo.TAPMaxLength)
}

func validCert(c *X509CertificateConfig) error {
	if len(c.CertificateUserBindings) > 20 {
		return invalid("certificateUserBindings", "At most 20 certificate user bindings can be configured.")
	}
	prio := map[int]bool{}
	for i := range c.CertificateUserBindings {
		b := &c.CertificateUserBindings[i]
		if err := canon("certificateUserBindings.x509CertificateField", &b.X509CertificateField, certFields...); err != nil {
			return err
		}
		if err := canon("certificateUserBindings.userProperty", &b.UserProperty, certUserProps...); err != nil {
			return err
		}
		if b.TrustAffinityLevel == "" {
			b.TrustAffinityLevel = "low"
		}
		if err := canon("certificateUserBindings.trustAffinityLevel", &b.TrustAffinityLevel, certAffinity...); err != nil {
			return err
		}
		if err := inRange("certificateUserBindings.priority", b.Priority, 1, 100); err != nil {
			return err
		}
		if prio[b.Priority] {
			return invalid("certificateUserBindings.priority", "Two certificate user bindings have priority %d; priorities must differ.", b.Priority)
		}
		prio[b.Priority] = true
	}
	m := &c.AuthenticationModeConfiguration
	if err := canon("authenticationModeConfiguration.x509CertificateAuthenticationDefaultMode", &m.X509CertificateAuthenticationDefaultMode, certModes...); err != nil {
		return err
	}
	if m.X509CertificateDefaultRequiredAffinityLevel == "" {
		m.X509CertificateDefaultRequiredAffinityLevel = "low"
	}
	if err := canon("authenticationModeConfiguration.x509CertificateDefaultRequiredAffinityLevel", &m.X509CertificateDefaultRequiredAffinityLevel, certAffinity...); err != nil {
		return err
	}
	if m.Rules == nil {
		m.Rules = []X509CertificateAuthenticationModeRule{}
	}
	if len(m.Rules) > 100 {
		return invalid("authenticationModeConfiguration.rules", "At most 100 authentication mode rules can be configured.")
	}
	for i := range m.Rules {
		r := &m.Rules[i]
		if err := canon("authenticationModeConfiguration.rules.x509CertificateRuleType", &r.X509CertificateRuleType, certRuleTypes...); err != nil {
			return err
		}
		if r.Identifier == "" || len(r.Identifier) > 1024 {
			return invalid("authenticationModeConfiguration.rules.identifier", "Each authentication mode rule needs an identifier of at most 1024 characters.")
		}
		if err := canon("authenticationModeConfiguration.rules.x509CertificateAuthenticationMode", &r.X509CertificateAuthenticationMode, certModes...); err != nil {
			return err
		}
	}
	return nil
}
