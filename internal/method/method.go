// Package method is the registry of authentication methods (PRODUCT.md P-2):
// the kinds of method a user can register, the options each kind offers at
// sign-in or password reset, which options count for MFA and for
// self-service password reset (SSPR), their strength order for
// system-preferred MFA (P-6.2), the per-user authenticator limit (P-2.1) and
// the rules that pick the user's default method (P-2.2).
//
// The package is pure: it reads no clock, touches no database, file or
// network, and its results depend only on its arguments.
package method

import (
	"cmp"
	"slices"
)

// Kind is the kind of a method registered for a user, i.e. what is stored.
// The values follow the Graph resource names where one exists.
type Kind string

// The kinds of registered method.
const (
	KindPhone             Kind = "phone"
	KindEmail             Kind = "email"
	KindSoftwareOath      Kind = "softwareOath"
	KindHardwareOath      Kind = "hardwareOath"
	KindAuthenticator     Kind = "microsoftAuthenticator"
	KindFido2             Kind = "fido2"
	KindTAP               Kind = "temporaryAccessPass"
	KindCertificate       Kind = "x509Certificate"
	KindSecurityQuestions Kind = "securityQuestions"
	KindPassword          Kind = "password"
)

var kinds = []Kind{
	KindPhone, KindEmail, KindSoftwareOath, KindHardwareOath, KindAuthenticator,
	KindFido2, KindTAP, KindCertificate, KindSecurityQuestions, KindPassword,
}

// AllKinds returns every kind, in a stable order.
func AllKinds() []Kind { return slices.Clone(kinds) }

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// Option is one way to prove identity at sign-in or password reset. A
// registered method may offer several (a mobile phone offers SMS and a voice
// call). Values match Graph's userPreferredMethodForSecondaryAuthentication
// where one exists; Graph's single "oath" value is given to third-party
// software OATH apps, and GraphPreferredMethod maps all three code options to
// it.
type Option string

// The options.
const (
	OptionTAP                  Option = "temporaryAccessPass"
	OptionFido2                Option = "fido2"
	OptionPush                 Option = "push"
	OptionAppCode              Option = "appCode" // the authenticator app's own TOTP code
	OptionSoftwareOath         Option = "oath"
	OptionHardwareOath         Option = "hardwareOath"
	OptionSMS                  Option = "sms"
	OptionVoiceMobile          Option = "voiceMobile"
	OptionVoiceAlternateMobile Option = "voiceAlternateMobile"
	OptionVoiceOffice          Option = "voiceOffice"
	OptionCertificate          Option = "x509Certificate"
	OptionEmail                Option = "email"
	OptionSecurityQuestions    Option = "securityQuestions"
)

var options = []Option{
	OptionTAP, OptionFido2, OptionPush,
	OptionAppCode, OptionSoftwareOath, OptionHardwareOath,
	OptionSMS, OptionVoiceMobile, OptionVoiceAlternateMobile, OptionVoiceOffice,
	OptionCertificate,
	OptionEmail, OptionSecurityQuestions,
}

// AllOptions returns every option, strongest first (the P-6.2 order), then
// the SSPR-only ones.
func AllOptions() []Option { return slices.Clone(options) }

// Valid reports whether o is one of the known options.
func (o Option) Valid() bool { return slices.Contains(options, o) }

// UsableForMFA reports whether o can satisfy a multifactor requirement
// (the MFA column of P-2). Email codes and security questions cannot: they
// prove little beyond the password. Unknown options are not usable.
func UsableForMFA(o Option) bool {
	switch o {
	case OptionEmail, OptionSecurityQuestions:
		return false
	}
	return o.Valid()
}

// UsableForSSPR reports whether o can prove identity for a self-service
// password reset (the SSPR column of P-2). A TAP is for onboarding and
// recovery by an administrator and a certificate is a sign-in credential, so
// neither resets a password. Unknown options are not usable.
func UsableForSSPR(o Option) bool {
	switch o {
	case OptionTAP, OptionCertificate:
		return false
	}
	return o.Valid()
}

// Strength ranks o for system-preferred MFA (P-6.2); higher is stronger:
// TAP > FIDO2 > push > TOTP codes (all equal) > telephony (all equal) >
// certificate. Options not usable for MFA, and unknown ones, rank 0.
func Strength(o Option) int {
	switch o {
	case OptionTAP:
		return 6
	case OptionFido2:
		return 5
	case OptionPush:
		return 4
	case OptionAppCode, OptionSoftwareOath, OptionHardwareOath:
		return 3
	case OptionSMS, OptionVoiceMobile, OptionVoiceAlternateMobile, OptionVoiceOffice:
		return 2
	case OptionCertificate:
		return 1
	}
	return 0
}

// SortByStrength sorts opts strongest first. The sort is stable, so options
// of equal strength keep the caller's order (e.g. registration order).
func SortByStrength(opts []Option) {
	slices.SortStableFunc(opts, func(a, b Option) int {
		return cmp.Compare(Strength(b), Strength(a))
	})
}

// GraphPreferredMethod gives the value of Graph's
// userPreferredMethodForSecondaryAuthentication for o, and false when Graph
// has none (TAP, FIDO2, certificate, email, security questions). Every code
// option maps to "oath", as Graph does not tell code sources apart.
func GraphPreferredMethod(o Option) (string, bool) {
	switch o {
	case OptionAppCode, OptionSoftwareOath, OptionHardwareOath:
		return "oath", true
	case OptionPush, OptionSMS, OptionVoiceMobile, OptionVoiceAlternateMobile, OptionVoiceOffice:
		return string(o), true
	}
	return "", false
}
