// Package policy decides, without any I/O, what a sign-in needs next: it
// merges per-user MFA, security defaults, the authentication-methods
// policy, system-preferred MFA, conditional-access results and the app's
// own request into one decision (P-6.1), so that whatever mix of rules
// applies, a user is asked for a second factor at most once (P-3.3).
package policy

import (
	"time"

	"github.com/vakt-id/vakt/internal/method"
)

// Level is a risk level.
type Level int

// Risk levels, ordered.
const (
	RiskNone Level = iota
	RiskLow
	RiskMedium
	RiskHigh
)

func (l Level) String() string {
	return [...]string{"none", "low", "medium", "high"}[l]
}

// ParseLevel reads a Graph risk level; unknown values are none.
func ParseLevel(s string) Level {
	switch s {
	case "low":
		return RiskLow
	case "medium":
		return RiskMedium
	case "high":
		return RiskHigh
	}
	return RiskNone
}

// ClientApp is the kind of client, as conditional access sees it.
type ClientApp string

const (
	ClientBrowser            ClientApp = "browser"
	ClientMobileDesktop      ClientApp = "mobileAppsAndDesktopClients"
	ClientExchangeActiveSync ClientApp = "exchangeActiveSync"
	// ClientOther is legacy authentication: protocols that cannot do MFA
	// (HTTP basic auth, RADIUS PAP without a challenge round).
	ClientOther ClientApp = "other"
)

// Legacy reports whether the client cannot do modern authentication.
func (c ClientApp) Legacy() bool { return c == ClientExchangeActiveSync || c == ClientOther }

// PerUserMFA is the legacy per-user MFA state (P-3.1).
type PerUserMFA string

const (
	PerUserDisabled PerUserMFA = "disabled"
	PerUserEnabled  PerUserMFA = "enabled"
	PerUserEnforced PerUserMFA = "enforced"
)

// User is what the decision knows about the person signing in.
type User struct {
	Enabled    bool
	PerUserMFA PerUserMFA
	// IsAdmin: the user holds one of the administrator roles of P-1.4.
	IsAdmin bool
	// Methods are the user's active registered methods.
	Methods []method.Registered
	// Preferred is the user's own choice of second factor, if any.
	Preferred method.Option
	// MustChangePassword: an administrator asked for a new password.
	MustChangePassword bool
	UserRisk           Level
	// GraceStartedAt is the user's first sign-in after security defaults
	// were turned on (nil: this is it).
	GraceStartedAt *time.Time
	// CampaignSnoozedUntil: the registration nudge waits until then.
	CampaignSnoozedUntil *time.Time
}

// Request is what the decision knows about this sign-in.
type Request struct {
	Client ClientApp
	// AdminSurface: the sign-in is for vakt's admin tools.
	AdminSurface bool
	// Familiar: the device or location was seen for this user before.
	Familiar bool
	// Compliant: the device is known to be compliant.
	Compliant  bool
	SignInRisk Level
	// StepUp: the app asked for MFA (acr_values, a fresh login).
	StepUp bool
	// RADIUS: the sign-in comes through the RADIUS server; system-
	// preferred MFA does not change what it offers (P-6.2).
	RADIUS bool
	// FirstFactor is the option the user signed in with if it was not a
	// password (a passkey or a Temporary Access Pass), which already
	// counts as multi-factor.
	FirstFactor method.Option
	// MFADone is set once the user has passed a second factor in this
	// sign-in or a session that still counts; Done holds which option.
	MFADone *MFADone
	// PasswordChanged: the user set a new password in this sign-in.
	PasswordChanged bool
	// RegistrationSkipped: the user chose "skip for now" in this sign-in.
	RegistrationSkipped bool
}

// MFADone records a passed second factor.
type MFADone struct {
	Option method.Option
	At     time.Time
}

// Tenant holds the tenant's settings as they apply to this user.
type Tenant struct {
	SecurityDefaults          bool
	SecurityDefaultsEnabledAt time.Time
	// Allowed lists the options the authentication-methods policy allows
	// this user (P-5.1); a method not allowed is neither offered nor
	// registered.
	Allowed map[method.Option]bool
	// SystemPreferred: system-preferred MFA applies to this user (P-6.2),
	// tenant setting and per-user override already resolved.
	SystemPreferred bool
	// Campaign: the registration campaign applies to this user (P-5.2);
	// CampaignSnooze is how long "skip" quiets it.
	Campaign       bool
	CampaignSnooze time.Duration
	// PoliciesApply: conditional-access policies (on or report-only)
	// exist, for the per-user MFA warning of P-3.3.
	PoliciesApply bool
}

// Strength is an authentication strength a policy may demand.
type Strength int

const (
	StrengthNone Strength = iota
	// StrengthMFA: any second factor (built-in id …0002).
	StrengthMFA
	// StrengthPasswordless: passwordless MFA (…0003): passkey, TAP,
	// certificate, or the authenticator's push as a first factor.
	StrengthPasswordless
	// StrengthPhishingResistant: only FIDO2 or a certificate (…0004).
	StrengthPhishingResistant
)

// Grant is one applied conditional-access policy's grant controls.
type Grant struct {
	PolicyID string
	// Block wins over everything.
	Block bool
	// Or: any one of the controls satisfies the policy; otherwise all.
	Or             bool
	MFA            bool
	Strength       Strength
	Compliant      bool
	PasswordChange bool
}

// Outcome is what the sign-in does next.
type Outcome string

const (
	Allow          Outcome = "allow"
	RequireMFA     Outcome = "mfa"
	Register       Outcome = "register"
	ChangePassword Outcome = "changePassword"
	Block          Outcome = "block"
)

// Reason says why a second factor (or registration) is asked for.
type Reason string

const (
	ReasonPerUserMFA        Reason = "perUserMfa"
	ReasonDefaultsAdmin     Reason = "securityDefaults:administrator"
	ReasonDefaultsNew       Reason = "securityDefaults:unfamiliar"
	ReasonDefaultsAdminApp  Reason = "securityDefaults:adminSurface"
	ReasonDefaultsRisk      Reason = "securityDefaults:risk"
	ReasonDefaultsRegister  Reason = "securityDefaults:registration"
	ReasonConditionalAccess Reason = "conditionalAccess"
	ReasonStepUp            Reason = "stepUp"
	ReasonCampaign          Reason = "registrationCampaign"
)

// Error codes for blocks and interrupts, as the sign-in log records them.
const (
	CodeAccountDisabled      = 50057
	CodeMFARequired          = 50074
	CodeRegistrationRequired = 50079
	CodePasswordChange       = 50055
	CodeBlockedByPolicy      = 53003
	CodeLegacyBlocked        = 53004
	CodeCannotSatisfy        = 53000
)

// Decision is the one answer for this step of a sign-in.
type Decision struct {
	Outcome Outcome
	Reasons []Reason
	// RequireMFA: the options that satisfy it (registered, allowed, strong
	// enough), strongest first, and the one to offer first.
	Options    []method.Option
	OfferFirst method.Option
	// Register: what to register, whether the user may skip for now and
	// how much grace is left.
	RegisterOptions []method.Option
	Skippable       bool
	GraceLeft       time.Duration
	// StartGrace: record now as the start of the user's grace period.
	StartGrace bool
	// Block: a code for the log and a message safe to show the user.
	Code    int
	Message string
	// Warnings for administrators (e.g. per-user MFA next to policies).
	Warnings []string
	// MFAUsed: the sign-in counts as multi-factor (for the log and amr).
	MFAUsed bool
}

// RegistrationGrace is how long a user may postpone registering under
// security defaults (P-4.2).
const RegistrationGrace = 14 * 24 * time.Hour
