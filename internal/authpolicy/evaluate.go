package authpolicy

import (
	"strings"

	"github.com/vakt-id/vakt/internal/method"
)

// The functions in this file are pure: they read only the policy and
// their arguments. groups are the ids of every group the user belongs to,
// directly or through other groups (store.Groups.TransitiveGroupIDs).

// matches reports whether t names the user: all_users (as a group),
// the user's own id (as a user), or one of the user's groups.
func matches(t Target, userID string, groups []string) bool {
	switch t.TargetType {
	case TargetGroup:
		if t.ID == AllUsers {
			return true
		}
		for _, g := range groups {
			if strings.EqualFold(g, t.ID) {
				return true
			}
		}
	case TargetUser:
		return userID != "" && strings.EqualFold(t.ID, userID)
	}
	return false
}

func matchesAny(ts []Target, userID string, groups []string) bool {
	for _, t := range ts {
		if matches(t, userID, groups) {
			return true
		}
	}
	return false
}

// inScope reports whether the user is in an include target and in no
// exclude target: exclude wins.
func inScope(include, exclude []Target, userID string, groups []string) bool {
	return matchesAny(include, userID, groups) && !matchesAny(exclude, userID, groups)
}

// Applies reports whether a method configuration allows the method for
// the user: it is enabled, includes the user and does not exclude them.
func Applies(c MethodConfiguration, userID string, groups []string) bool {
	if !c.Enabled() {
		return false
	}
	inc, exc := c.Targets()
	return inScope(inc, exc, userID, groups)
}

// AllowedOptions says which sign-in and reset options the policy allows
// the user (P-2.5): push and the app's own code with Microsoft
// Authenticator; software OATH codes with SoftwareOath, or with Microsoft
// Authenticator when its isSoftwareOathEnabled is set; hardware tokens
// with HardwareOath; SMS with Sms; voice calls to mobile and alternate
// mobile phones with Voice, and to office phones only when Voice also has
// isOfficePhoneAllowed; email codes with Email; FIDO2, TAP and
// certificates with their configurations. Security questions are not
// governed by this policy and are always allowed. Every option is in the
// map.
func (p Policy) AllowedOptions(userID string, groups []string) map[method.Option]bool {
	m := p.Methods
	auth := Applies(m.MicrosoftAuthenticator, userID, groups)
	voice := Applies(m.Voice, userID, groups)
	out := make(map[method.Option]bool, len(method.AllOptions()))
	for _, o := range method.AllOptions() {
		out[o] = false
	}
	out[method.OptionPush] = auth
	out[method.OptionAppCode] = auth
	out[method.OptionSoftwareOath] = Applies(m.SoftwareOath, userID, groups) || (auth && m.MicrosoftAuthenticator.IsSoftwareOathEnabled)
	out[method.OptionHardwareOath] = Applies(m.HardwareOath, userID, groups)
	out[method.OptionSMS] = Applies(m.Sms, userID, groups)
	out[method.OptionVoiceMobile] = voice
	out[method.OptionVoiceAlternateMobile] = voice
	out[method.OptionVoiceOffice] = voice && m.Voice.IsOfficePhoneAllowed
	out[method.OptionEmail] = Applies(m.Email, userID, groups)
	out[method.OptionFido2] = Applies(m.Fido2, userID, groups)
	out[method.OptionTAP] = Applies(m.TemporaryAccessPass, userID, groups)
	out[method.OptionCertificate] = Applies(m.X509Certificate, userID, groups)
	out[method.OptionSecurityQuestions] = true
	return out
}

// AllowedKinds says which kinds of method the user may register and use:
// a kind is allowed when any of its options is (a phone when SMS or any
// voice call is; software OATH also through Microsoft Authenticator's
// isSoftwareOathEnabled). The password and security questions are always
// allowed. Every kind is in the map.
func (p Policy) AllowedKinds(userID string, groups []string) map[method.Kind]bool {
	o := p.AllowedOptions(userID, groups)
	return map[method.Kind]bool{
		method.KindAuthenticator:     o[method.OptionPush],
		method.KindSoftwareOath:      o[method.OptionSoftwareOath],
		method.KindHardwareOath:      o[method.OptionHardwareOath],
		method.KindPhone:             o[method.OptionSMS] || o[method.OptionVoiceMobile] || o[method.OptionVoiceAlternateMobile] || o[method.OptionVoiceOffice],
		method.KindEmail:             o[method.OptionEmail],
		method.KindFido2:             o[method.OptionFido2],
		method.KindTAP:               o[method.OptionTAP],
		method.KindCertificate:       o[method.OptionCertificate],
		method.KindSecurityQuestions: true,
		method.KindPassword:          true,
	}
}

// SystemPreferredApplies reports whether system-preferred MFA applies to
// the user (P-6.2): state default or enabled → the include target minus
// the exclude target; disabled → never.
func (p Policy) SystemPreferredApplies(userID string, groups []string) bool {
	sc := p.SystemCredentialPreferences
	if sc.State == AdvancedDisabled {
		return false
	}
	return inScope(sc.IncludeTargets, sc.ExcludeTargets, userID, groups)
}

// CampaignApplies reports whether the registration campaign nudges the
// user (P-5.2), and for how many days the nudge may be snoozed. It
// applies only in state enabled (default behaves as disabled), to users
// in an include target and no exclude target, and only when the targeted
// method (the authenticator app) is allowed for them. Whether the user
// already has a strong method is for the caller to check.
func (p Policy) CampaignApplies(userID string, groups []string) (applies bool, snoozeDays int) {
	c := p.RegistrationEnforcement.AuthenticationMethodsRegistrationCampaign
	if c.State != AdvancedEnabled {
		return false, 0
	}
	inc := plainTargets(c.IncludeTargets, func(t CampaignIncludeTarget) Target { return Target{ID: t.ID, TargetType: t.TargetType} })
	if !inScope(inc, c.ExcludeTargets, userID, groups) || !Applies(p.Methods.MicrosoftAuthenticator, userID, groups) {
		return false, 0
	}
	return true, c.SnoozeDurationInDays
}

// FeatureApplies reports whether a Microsoft Authenticator feature (number
// matching, app information, location) is on for the user: default and
// enabled are on, for the include target minus the exclude target.
func FeatureApplies(f FeatureSetting, userID string, groups []string) bool {
	if f.State == AdvancedDisabled {
		return false
	}
	return matches(f.IncludeTarget, userID, groups) && !matches(f.ExcludeTarget, userID, groups)
}
