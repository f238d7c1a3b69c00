package method

import "strings"

// Phone types of a registered phone (Graph's phoneType).
const (
	PhoneMobile          = "mobile"
	PhoneAlternateMobile = "alternateMobile"
	PhoneOffice          = "office"
)

// Registered is the part of a user's registered method that the rules in
// this package need. Callers build it from the stored method.
type Registered struct {
	ID          string
	Kind        Kind
	PhoneType   string // PhoneMobile, PhoneAlternateMobile or PhoneOffice; phones only
	IsDefault   bool
	SMSSignIn   bool // SMS as a first factor; does not change the options offered
	PushCapable bool // authenticator device that can receive pushes
	TOTPCapable bool // authenticator with a TOTP seed
	Usable      bool // false for e.g. an expired TAP or an unactivated hardware token
}

// Options returns the options r offers, strongest first. A method that is
// not usable offers none, so that an expired TAP or an unactivated token is
// never offered or made the default.
//
// Only a mobile phone receives text messages: an alternate mobile or office
// number offers a voice call only, as in the modelled system. A password is
// a first factor and offers no option here.
func Options(r Registered) []Option {
	if !r.Usable {
		return nil
	}
	switch r.Kind {
	case KindPhone:
		switch r.PhoneType {
		case PhoneMobile:
			return []Option{OptionSMS, OptionVoiceMobile}
		case PhoneAlternateMobile:
			return []Option{OptionVoiceAlternateMobile}
		case PhoneOffice:
			return []Option{OptionVoiceOffice}
		}
	case KindAuthenticator:
		var opts []Option
		if r.PushCapable {
			opts = append(opts, OptionPush)
		}
		if r.TOTPCapable {
			opts = append(opts, OptionAppCode)
		}
		return opts
	case KindSoftwareOath:
		return []Option{OptionSoftwareOath}
	case KindHardwareOath:
		return []Option{OptionHardwareOath}
	case KindFido2:
		return []Option{OptionFido2}
	case KindTAP:
		return []Option{OptionTAP}
	case KindCertificate:
		return []Option{OptionCertificate}
	case KindEmail:
		return []Option{OptionEmail}
	case KindSecurityQuestions:
		return []Option{OptionSecurityQuestions}
	}
	return nil
}

// mfaStrength is the strength of r's strongest MFA option, 0 when r cannot
// be used for MFA now (SSPR-only, unusable, or offering nothing).
func mfaStrength(r Registered) int {
	// A Temporary Access Pass is for onboarding and recovery; it expires,
	// so it never becomes anyone's default method.
	if r.Kind == KindTAP {
		return 0
	}
	best := 0
	for _, o := range Options(r) {
		if UsableForMFA(o) {
			best = max(best, Strength(o))
		}
	}
	return best
}

// MaxAuthenticators is the most authenticator apps, software OATH apps and
// hardware OATH tokens one user may have together (P-2.1).
const MaxAuthenticators = 5

// CountsTowardAuthenticatorLimit reports whether a method of kind k counts
// toward MaxAuthenticators.
func CountsTowardAuthenticatorLimit(k Kind) bool {
	switch k {
	case KindAuthenticator, KindSoftwareOath, KindHardwareOath:
		return true
	}
	return false
}

// CheckAuthenticatorLimit returns a *LimitError when adding a method of kind
// adding would take the user past MaxAuthenticators. Unusable methods count
// too: an assigned but not yet activated hardware token is still the user's.
func CheckAuthenticatorLimit(existing []Registered, adding Kind) error {
	if !CountsTowardAuthenticatorLimit(adding) {
		return nil
	}
	n := 0
	for _, r := range existing {
		if CountsTowardAuthenticatorLimit(r.Kind) {
			n++
		}
	}
	if n >= MaxAuthenticators {
		return &LimitError{Count: n}
	}
	return nil
}

// LimitError refuses another authenticator app or hardware token (P-2.1).
// Its message is safe to show to the user.
type LimitError struct {
	Count int // how many the user already has
}

const (
	limitMessageEN = "You can't set up another authenticator app because you already have five authenticator apps or hardware tokens. Please contact your administrator to delete one of your authenticator apps or hardware tokens."
	limitMessageSV = "Du kan inte konfigurera ytterligare en autentiseringsapp eftersom du redan har fem autentiseringsappar eller maskinvarutoken. Kontakta administratören och be om att få en av dina autentiseringsappar eller maskinvarutoken borttagen."
)

// Message returns the user-facing message in lang: Swedish for "sv" (and
// regional forms such as "sv-SE"), English otherwise.
func (e *LimitError) Message(lang string) string {
	l := strings.ToLower(lang)
	if l == "sv" || strings.HasPrefix(l, "sv-") || strings.HasPrefix(l, "sv_") {
		return limitMessageSV
	}
	return limitMessageEN
}

// Error returns the English message.
func (e *LimitError) Error() string { return limitMessageEN }

// currentDefault returns the ID of the default among rs, or "" when there is
// none or it can no longer be used for MFA (an expired TAP, an SSPR-only
// method set by bad data): such a default is treated as missing so that the
// rules below can repair it.
func currentDefault(rs []Registered) string {
	for _, r := range rs {
		if r.IsDefault && mfaStrength(r) > 0 {
			return r.ID
		}
	}
	return ""
}

// DefaultAfterAdd returns the ID of the user's default method after added
// joins existing (P-2.2):
//   - a usable authenticator or software OATH app set up through the guided
//     flow becomes the default;
//   - otherwise, when there is no (usable) default, the first usable
//     MFA-capable method in registration order (existing, then added)
//     becomes it;
//   - otherwise the default is unchanged.
//
// SSPR-only methods never become the default; "" means no default.
func DefaultAfterAdd(existing []Registered, added Registered, guided bool) (defaultID string) {
	if guided && (added.Kind == KindAuthenticator || added.Kind == KindSoftwareOath) && mfaStrength(added) > 0 {
		return added.ID
	}
	if id := currentDefault(existing); id != "" {
		return id
	}
	for _, r := range existing {
		if mfaStrength(r) > 0 {
			return r.ID
		}
	}
	if mfaStrength(added) > 0 {
		return added.ID
	}
	return ""
}

// DefaultAfterRemove returns the ID of the user's default method after a
// removal, given the methods that remain in registration order (P-2.2). When
// the removed method was the default, or no usable default remains, the
// strongest remaining usable MFA-capable method becomes the default (ties go
// to the oldest, the earlier in remaining); "" when there is none.
func DefaultAfterRemove(remaining []Registered, removedWasDefault bool) (defaultID string) {
	if !removedWasDefault {
		if id := currentDefault(remaining); id != "" {
			return id
		}
	}
	best, bestStrength := "", 0
	for _, r := range remaining {
		// Strictly greater: on a tie the earlier (older) method stays.
		if s := mfaStrength(r); s > bestStrength {
			best, bestStrength = r.ID, s
		}
	}
	return best
}
