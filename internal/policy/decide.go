package policy

import (
	"time"

	"github.com/vakt-id/vakt/internal/method"
)

// Decide returns what the sign-in needs next. It is called after the first
// factor and again after every step the user completes (a second factor,
// a registration, a new password), each time with what is done so far in
// r; once a second factor is done it is never asked for again.
func Decide(u User, r Request, t Tenant, grants []Grant, now time.Time) Decision {
	var d Decision
	if u.PerUserMFA != PerUserDisabled && u.PerUserMFA != "" && (t.SecurityDefaults || t.PoliciesApply) {
		d.Warnings = append(d.Warnings, "Per-user MFA is on for this user while security defaults or conditional access also apply; turn per-user MFA off when you move to policies.")
	}
	if !u.Enabled {
		return d.block(CodeAccountDisabled, "Your account is disabled. Contact your administrator.")
	}
	// RADIUS is an "other" client but carries a second factor (a challenge
	// round or a push), so security defaults ask it for MFA like any other
	// sign-in instead of blocking it as legacy authentication.
	if t.SecurityDefaults && r.Client.Legacy() && !r.RADIUS {
		return d.block(CodeLegacyBlocked, "Your organisation does not allow this kind of app to sign in. Use an app or browser that supports modern sign-in.")
	}

	// Gather every requirement first, so they merge into one prompt.
	need := StrengthNone
	require := func(s Strength, why Reason) {
		if s > need {
			need = s
		}
		d.Reasons = appendReason(d.Reasons, why)
	}
	// waivable: only security defaults' checks for an ordinary user ask for
	// the second factor, which the registration grace may waive (P-4.2).
	waivable := true
	if u.PerUserMFA == PerUserEnabled || u.PerUserMFA == PerUserEnforced {
		require(StrengthMFA, ReasonPerUserMFA)
		waivable = false
	}
	if t.SecurityDefaults {
		switch {
		case u.IsAdmin:
			require(StrengthMFA, ReasonDefaultsAdmin)
			waivable = false
		case r.AdminSurface:
			require(StrengthMFA, ReasonDefaultsAdminApp)
		case r.SignInRisk >= RiskMedium:
			require(StrengthMFA, ReasonDefaultsRisk)
		case !r.Familiar:
			require(StrengthMFA, ReasonDefaultsNew)
		}
	}
	if r.StepUp {
		require(StrengthMFA, ReasonStepUp)
		waivable = false
	}
	passwordChange := u.MustChangePassword
	for i := range grants {
		g := &grants[i]
		if g.Block {
			return d.block(CodeBlockedByPolicy, "Your sign-in was blocked by your organisation's policy.")
		}
		s, pw, ok := g.needs(r)
		if !ok {
			return d.block(CodeCannotSatisfy, "Your organisation's policy requires a compliant device to reach this app.")
		}
		if s > StrengthNone {
			require(s, ReasonConditionalAccess)
			waivable = false
		}
		passwordChange = passwordChange || pw
	}

	done := mfaStrength(r)
	graceLeft, startGrace := grace(u, t, now)
	needsApp := t.SecurityDefaults && !hasAuthenticator(u) && authenticatorAllowed(t)

	if need > done {
		opts := acceptable(u, t, r, need)
		if len(opts) > 0 {
			d.Outcome, d.Options, d.OfferFirst = RequireMFA, opts, offerFirst(u, t, r, opts)
			d.Code = CodeMFARequired
			return d
		}
		// No usable method: register inside the sign-in (P-6.3) — which a
		// VPN's RADIUS exchange cannot carry.
		if r.RADIUS {
			return d.block(CodeRegistrationRequired, "Set up a verification method in your security info before you connect.")
		}
		regs := registrable(t, need)
		if len(regs) == 0 {
			return d.block(CodeCannotSatisfy, "Your organisation requires a verification method that is not available to you. Contact your administrator.")
		}
		if waivable && graceLeft > 0 {
			// During the grace, security defaults waive the second factor
			// for users who have not registered yet (P-4.2).
			if !r.RegistrationSkipped {
				opts := appOptions(t)
				if len(opts) == 0 {
					opts = regs
				}
				return d.register(opts, true, graceLeft, startGrace, ReasonDefaultsRegister)
			}
		} else {
			if waivable {
				d.Reasons = appendReason(d.Reasons, ReasonDefaultsRegister)
			}
			return d.register(regs, false, 0, startGrace, "")
		}
	}
	d.MFAUsed = done > StrengthNone

	if needsApp {
		regs := appOptions(t)
		if graceLeft <= 0 {
			return d.register(regs, false, 0, startGrace, ReasonDefaultsRegister)
		}
		if !r.RegistrationSkipped {
			return d.register(regs, true, graceLeft, startGrace, ReasonDefaultsRegister)
		}
	}
	if passwordChange && !r.PasswordChanged {
		d.Outcome, d.Code = ChangePassword, CodePasswordChange
		return d
	}
	if t.Campaign && !hasAuthenticator(u) && authenticatorAllowed(t) && !r.RegistrationSkipped &&
		(u.CampaignSnoozedUntil == nil || !now.Before(*u.CampaignSnoozedUntil)) {
		return d.register(appOptions(t), true, 0, false, ReasonCampaign)
	}
	d.Outcome = Allow
	d.StartGrace = startGrace && t.SecurityDefaults
	return d
}

func (d Decision) block(code int, msg string) Decision {
	d.Outcome, d.Code, d.Message = Block, code, msg
	d.Options, d.OfferFirst = nil, ""
	return d
}

func (d Decision) register(opts []method.Option, skippable bool, left time.Duration, startGrace bool, why Reason) Decision {
	d.Outcome, d.RegisterOptions, d.Skippable, d.GraceLeft, d.StartGrace = Register, opts, skippable, left, startGrace
	d.Code = CodeRegistrationRequired
	if why != "" {
		d.Reasons = appendReason(d.Reasons, why)
	}
	return d
}

func appendReason(rs []Reason, r Reason) []Reason {
	for _, x := range rs {
		if x == r {
			return rs
		}
	}
	return append(rs, r)
}

// needs says what an applied policy still asks of this sign-in: a
// strength and/or a password change; ok is false when it cannot be met
// here (a compliant device is required and this one is not).
func (g *Grant) needs(r Request) (s Strength, pw bool, ok bool) {
	strength := g.Strength
	if g.MFA && strength < StrengthMFA {
		strength = StrengthMFA
	}
	if g.Or {
		// Any one control will do: a compliant device, a done second
		// factor or a done password change ends it; otherwise ask for the
		// cheapest control the user can do here.
		switch {
		case g.Compliant && r.Compliant,
			strength > StrengthNone && mfaStrength(r) >= strength,
			g.PasswordChange && r.PasswordChanged:
			return StrengthNone, false, true
		case strength > StrengthNone:
			return strength, false, true
		case g.PasswordChange:
			return StrengthNone, true, true
		case g.Compliant:
			return StrengthNone, false, false
		}
		return StrengthNone, false, true
	}
	if g.Compliant && !r.Compliant {
		return StrengthNone, false, false
	}
	return strength, g.PasswordChange, true
}

// strengthOf is how strong a proof an option is.
func strengthOf(o method.Option, firstFactor bool) Strength {
	switch o {
	case method.OptionFido2, method.OptionCertificate:
		return StrengthPhishingResistant
	case method.OptionTAP:
		return StrengthPasswordless
	case method.OptionPush:
		if firstFactor {
			return StrengthPasswordless
		}
	}
	if method.UsableForMFA(o) {
		return StrengthMFA
	}
	return StrengthNone
}

// mfaStrength is the strength already proven in this sign-in.
func mfaStrength(r Request) Strength {
	s := StrengthNone
	if r.FirstFactor != "" {
		s = strengthOf(r.FirstFactor, true)
	}
	if r.MFADone != nil {
		if m := strengthOf(r.MFADone.Option, false); m > s {
			s = m
		}
		if s < StrengthMFA {
			s = StrengthMFA
		}
	}
	return s
}

// acceptable lists the user's registered options that the policy allows
// and that are strong enough, strongest first.
func acceptable(u User, t Tenant, r Request, need Strength) []method.Option {
	var out []method.Option
	for _, m := range u.Methods {
		for _, o := range method.Options(m) {
			if !method.UsableForMFA(o) || !t.Allowed[o] || strengthOf(o, false) < need || contains(out, o) {
				continue
			}
			if r.RADIUS && !radiusCapable(o) {
				continue
			}
			if o == r.FirstFactor || o == method.OptionTAP {
				continue // a second factor must be another proof; a TAP is a first factor
			}
			out = append(out, o)
		}
	}
	method.SortByStrength(out)
	return out
}

// radiusCapable: what a VPN's RADIUS exchange can carry — a push it waits
// for, or a code typed as the challenge answer.
func radiusCapable(o method.Option) bool {
	switch o {
	case method.OptionPush, method.OptionAppCode, method.OptionSoftwareOath, method.OptionHardwareOath, method.OptionSMS:
		return true
	}
	return false
}

// offerFirst applies system-preferred MFA (P-6.2): the strongest option;
// otherwise the user's preference, then their default method.
func offerFirst(u User, t Tenant, r Request, opts []method.Option) method.Option {
	if t.SystemPreferred && !r.RADIUS {
		return opts[0]
	}
	if u.Preferred != "" {
		for _, o := range opts {
			if o == u.Preferred || u.Preferred == method.OptionSoftwareOath && isCode(o) {
				return o
			}
		}
	}
	for _, m := range u.Methods {
		if !m.IsDefault {
			continue
		}
		for _, o := range method.Options(m) {
			if contains(opts, o) {
				return o
			}
		}
	}
	return opts[0]
}

func isCode(o method.Option) bool {
	return o == method.OptionAppCode || o == method.OptionSoftwareOath || o == method.OptionHardwareOath
}

// registrable lists what the user could register now to meet need, the
// authenticator app first (security defaults ask for it, P-4.1).
func registrable(t Tenant, need Strength) []method.Option {
	order := []method.Option{method.OptionPush, method.OptionSoftwareOath, method.OptionFido2, method.OptionSMS, method.OptionVoiceMobile}
	var out []method.Option
	for _, o := range order {
		if t.Allowed[o] && strengthOf(o, false) >= need {
			out = append(out, o)
		}
	}
	return out
}

// appOptions is the authenticator app, which security defaults and the
// registration campaign ask users to register (P-4.1, P-5.2).
func appOptions(t Tenant) []method.Option {
	var out []method.Option
	for _, o := range []method.Option{method.OptionPush, method.OptionSoftwareOath} {
		if t.Allowed[o] {
			out = append(out, o)
		}
	}
	return out
}

func hasAuthenticator(u User) bool {
	for _, m := range u.Methods {
		if m.Kind == method.KindAuthenticator || m.Kind == method.KindSoftwareOath {
			return true
		}
	}
	return false
}

func authenticatorAllowed(t Tenant) bool {
	return t.Allowed[method.OptionPush] || t.Allowed[method.OptionSoftwareOath] || t.Allowed[method.OptionAppCode]
}

// grace returns what is left of the user's registration grace under
// security defaults, starting it at this sign-in when needed.
func grace(u User, t Tenant, now time.Time) (left time.Duration, start bool) {
	if !t.SecurityDefaults {
		return 0, false
	}
	began := now
	if u.GraceStartedAt != nil && !u.GraceStartedAt.Before(t.SecurityDefaultsEnabledAt) {
		began = *u.GraceStartedAt
	} else {
		start = true
	}
	return began.Add(RegistrationGrace).Sub(now), start
}

func contains(os []method.Option, o method.Option) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

// SatisfiedBy reports whether the sign-in so far meets the grant (for the
// sign-in log's per-policy results).
func (g Grant) SatisfiedBy(r Request) bool {
	if g.Block {
		return false
	}
	s, pw, ok := g.needs(r)
	return ok && s <= mfaStrength(r) && (!pw || r.PasswordChanged)
}
