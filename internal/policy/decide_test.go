package policy

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/method"
)

var (
	t0      = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	now     = t0.Add(48 * time.Hour)
	allowed = map[method.Option]bool{}
)

func init() {
	for _, o := range method.AllOptions() {
		allowed[o] = true
	}
}

func reg(id string, k method.Kind, def bool) method.Registered {
	r := method.Registered{ID: id, Kind: k, IsDefault: def, Usable: true}
	switch k {
	case method.KindPhone:
		r.PhoneType = method.PhoneMobile
	case method.KindAuthenticator:
		r.PushCapable, r.TOTPCapable = true, true
	}
	return r
}

var (
	phone = reg("p", method.KindPhone, true)
	app   = reg("a", method.KindSoftwareOath, false)
	push  = reg("x", method.KindAuthenticator, false)
	key   = reg("k", method.KindFido2, false)
)

func user(ms ...method.Registered) User {
	started := t0.Add(time.Hour)
	return User{Enabled: true, PerUserMFA: PerUserDisabled, Methods: ms, GraceStartedAt: &started}
}

func defaults() Tenant {
	return Tenant{SecurityDefaults: true, SecurityDefaultsEnabledAt: t0, Allowed: allowed, SystemPreferred: true}
}

func plain() Tenant { return Tenant{Allowed: allowed, SystemPreferred: true} }

func familiar() Request { return Request{Client: ClientBrowser, Familiar: true} }

func TestDecide(t *testing.T) {
	disabledSMS := map[method.Option]bool{}
	for o, v := range allowed {
		disabledSMS[o] = v && o != method.OptionSMS && o != method.OptionVoiceMobile
	}
	noSysPref := plain()
	noSysPref.SystemPreferred = false
	admin := user(phone, app)
	admin.IsAdmin = true
	perUser := user(phone)
	perUser.PerUserMFA = PerUserEnabled
	perUserNone := user()
	perUserNone.PerUserMFA = PerUserEnforced
	day1 := user()
	day1.GraceStartedAt = nil
	day15 := user()
	old := now.Add(-15 * 24 * time.Hour)
	day15.GraceStartedAt = &old
	beforeOn := t0.Add(-time.Hour)
	graceBeforeDefaults := user()
	graceBeforeDefaults.GraceStartedAt = &beforeOn
	mustChange := user(phone, app)
	mustChange.MustChangePassword = true
	prefSMS := user(phone, app)
	prefSMS.Preferred = method.OptionSMS
	disabledUser := user(app)
	disabledUser.Enabled = false
	tap := familiar()
	tap.FirstFactor = method.OptionTAP
	passkey := familiar()
	passkey.FirstFactor = method.OptionFido2
	mfaDone := familiar()
	mfaDone.MFADone = &MFADone{Option: method.OptionSMS, At: now}
	stepUp := familiar()
	stepUp.StepUp = true
	legacy := Request{Client: ClientOther, Familiar: true}
	unfamiliar := Request{Client: ClientBrowser}
	adminApp := familiar()
	adminApp.AdminSurface = true
	risky := familiar()
	risky.SignInRisk = RiskMedium
	radius := familiar()
	radius.RADIUS = true
	radiusOther := Request{Client: ClientOther, RADIUS: true}
	compliant := familiar()
	compliant.Compliant = true
	skipped := familiar()
	skipped.RegistrationSkipped = true
	withPolicies := plain()
	withPolicies.PoliciesApply = true
	longOn := defaults()
	longOn.SecurityDefaultsEnabledAt = now.Add(-30 * 24 * time.Hour)
	campaign := plain()
	campaign.Campaign = true

	tests := []struct {
		name  string
		u     User
		r     Request
		t     Tenant
		g     []Grant
		want  Outcome
		offer method.Option
		check func(t *testing.T, d Decision)
	}{
		{name: "account disabled blocks", u: disabledUser, r: familiar(), t: plain(), want: Block,
			check: codeIs(CodeAccountDisabled)},
		{name: "no rule: password alone signs in", u: user(phone), r: familiar(), t: plain(), want: Allow},
		{name: "per-user MFA enabled: MFA at every sign-in", u: perUser, r: familiar(), t: plain(), want: RequireMFA, offer: method.OptionSMS},
		{name: "per-user MFA enforced without methods: registration inside the sign-in, not skippable", u: perUserNone, r: familiar(), t: plain(), want: Register,
			check: func(t *testing.T, d Decision) { notSkippable(t, d) }},
		{name: "per-user MFA with security defaults warns", u: perUser, r: familiar(), t: defaults(), want: RequireMFA,
			check: func(t *testing.T, d Decision) {
				if len(d.Warnings) != 1 {
					t.Fatal("no warning")
				}
			}},
		{name: "per-user MFA with conditional access warns", u: perUser, r: familiar(), t: withPolicies, want: RequireMFA,
			check: func(t *testing.T, d Decision) {
				if len(d.Warnings) != 1 {
					t.Fatal("no warning")
				}
			}},
		{name: "security defaults: administrator passes MFA at every sign-in", u: admin, r: familiar(), t: defaults(), want: RequireMFA,
			check: reasonIs(ReasonDefaultsAdmin)},
		{name: "security defaults: ordinary user on a familiar device needs no MFA", u: user(phone, app), r: familiar(), t: defaults(), want: Allow},
		{name: "security defaults: an unfamiliar device or location requires MFA", u: user(phone, app), r: unfamiliar, t: defaults(), want: RequireMFA,
			check: reasonIs(ReasonDefaultsNew)},
		{name: "security defaults: reaching admin tools requires MFA", u: user(phone, app), r: adminApp, t: defaults(), want: RequireMFA,
			check: reasonIs(ReasonDefaultsAdminApp)},
		{name: "security defaults: a risky sign-in requires MFA", u: user(phone, app), r: risky, t: defaults(), want: RequireMFA,
			check: reasonIs(ReasonDefaultsRisk)},
		{name: "security defaults: legacy authentication is blocked", u: user(app), r: legacy, t: defaults(), want: Block,
			check: codeIs(CodeLegacyBlocked)},
		{name: "security defaults ask RADIUS (an other client) for MFA instead of blocking it", u: user(app), r: radiusOther, t: defaults(), want: RequireMFA, offer: method.OptionSoftwareOath},
		{name: "without security defaults legacy authentication is not blocked by it", u: user(app), r: legacy, t: plain(), want: Allow},
		{name: "security defaults: day 1 without registration offers registration, skippable", u: day1, r: familiar(), t: defaults(), want: Register,
			check: func(t *testing.T, d Decision) {
				if !d.Skippable || !d.StartGrace || d.GraceLeft != RegistrationGrace || d.RegisterOptions[0] != method.OptionPush {
					t.Fatalf("%+v", d)
				}
			}},
		{name: "security defaults: skipping during the grace signs in", u: user(), r: skipped, t: defaults(), want: Allow},
		{name: "security defaults: unfamiliar sign-in during the grace waives MFA for the unregistered", u: user(), r: Request{Client: ClientBrowser, RegistrationSkipped: true}, t: defaults(), want: Allow},
		{name: "security defaults: day 15 without registration blocks until registered", u: day15, r: skipped, t: longOn, want: Register,
			check: func(t *testing.T, d Decision) { notSkippable(t, d) }},
		{name: "security defaults: the grace counts from the first sign-in after they were turned on", u: graceBeforeDefaults, r: familiar(), t: defaults(), want: Register,
			check: func(t *testing.T, d Decision) {
				if !d.StartGrace || d.GraceLeft != RegistrationGrace {
					t.Fatalf("%+v", d)
				}
			}},
		{name: "security defaults: a user with only a phone must still register the app", u: user(phone), r: mfaDone, t: defaults(), want: Register},
		{name: "methods policy: a disallowed method is not offered", u: user(phone, app), r: familiar(), t: Tenant{Allowed: disabledSMS, SystemPreferred: true},
			g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSoftwareOath,
			check: func(t *testing.T, d Decision) {
				if slices.Contains(d.Options, method.OptionSMS) {
					t.Fatal("SMS offered")
				}
			}},
		{name: "methods policy: only disallowed methods means registration", u: user(phone), r: familiar(), t: Tenant{Allowed: disabledSMS}, g: []Grant{{MFA: true}}, want: Register},
		{name: "system-preferred MFA offers the strongest method first", u: user(phone, app, push), r: familiar(), t: plain(), g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionPush},
		{name: "system-preferred MFA offers TOTP before SMS", u: user(phone, app), r: familiar(), t: plain(), g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSoftwareOath},
		{name: "without system-preferred MFA the preferred method comes first", u: prefSMS, r: familiar(), t: noSysPref, g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSMS},
		{name: "without system-preferred MFA the default method comes first", u: user(phone, app), r: familiar(), t: noSysPref, g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSMS},
		{name: "system-preferred MFA does not change RADIUS", u: prefSMS, r: radius, t: plain(), g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSMS},
		{name: "RADIUS cannot offer a security key, nor register one", u: user(key), r: radius, t: plain(), g: []Grant{{MFA: true}}, want: Block,
			check: codeIs(CodeRegistrationRequired)},
		{name: "conditional access: block wins over everything", u: user(app), r: familiar(), t: plain(), g: []Grant{{MFA: true}, {Block: true}}, want: Block,
			check: codeIs(CodeBlockedByPolicy)},
		{name: "conditional access: OR grant is met by a compliant device", u: user(app), r: compliant, t: plain(), g: []Grant{{Or: true, MFA: true, Compliant: true}}, want: Allow},
		{name: "conditional access: OR grant asks for MFA on other devices", u: user(app), r: familiar(), t: plain(), g: []Grant{{Or: true, MFA: true, Compliant: true}}, want: RequireMFA},
		{name: "conditional access: AND compliant device on a non-compliant device blocks", u: user(app), r: familiar(), t: plain(), g: []Grant{{MFA: true, Compliant: true}}, want: Block,
			check: codeIs(CodeCannotSatisfy)},
		{name: "conditional access: phishing-resistant strength accepts only FIDO2", u: user(phone, app, key), r: familiar(), t: plain(), g: []Grant{{Strength: StrengthPhishingResistant}}, want: RequireMFA, offer: method.OptionFido2,
			check: func(t *testing.T, d Decision) {
				if len(d.Options) != 1 {
					t.Fatalf("options %v", d.Options)
				}
			}},
		{name: "conditional access: phishing-resistant strength without a key means registering one", u: user(phone, app), r: familiar(), t: plain(), g: []Grant{{Strength: StrengthPhishingResistant}}, want: Register,
			check: func(t *testing.T, d Decision) {
				if !slices.Equal(d.RegisterOptions, []method.Option{method.OptionFido2}) {
					t.Fatalf("%v", d.RegisterOptions)
				}
			}},
		{name: "conditional access: password change comes after MFA", u: user(app), r: familiar(), t: plain(), g: []Grant{{MFA: true, PasswordChange: true}}, want: RequireMFA},
		{name: "conditional access: password change once MFA is done", u: user(app), r: Request{Client: ClientBrowser, Familiar: true, MFADone: &MFADone{Option: method.OptionSoftwareOath}}, t: plain(),
			g: []Grant{{MFA: true, PasswordChange: true}}, want: ChangePassword},
		{name: "an administrator's password reset asks for a new password", u: mustChange, r: familiar(), t: plain(), want: ChangePassword},
		{name: "never twice: per-user MFA, security defaults and a policy ask once", u: func() User { u := admin; u.PerUserMFA = PerUserEnforced; return u }(), r: unfamiliar, t: defaults(),
			g: []Grant{{MFA: true}, {MFA: true}}, want: RequireMFA,
			check: func(t *testing.T, d Decision) {
				if len(d.Reasons) != 3 {
					t.Fatalf("reasons %v", d.Reasons)
				}
			}},
		{name: "never twice: once MFA is done nothing asks again", u: func() User { u := admin; u.PerUserMFA = PerUserEnforced; return u }(), r: mfaDone, t: defaults(),
			g: []Grant{{MFA: true}}, want: Allow, check: func(t *testing.T, d Decision) {
				if !d.MFAUsed {
					t.Fatal("MFAUsed not set")
				}
			}},
		{name: "a passkey as first factor satisfies MFA", u: user(key), r: passkey, t: plain(), g: []Grant{{Strength: StrengthPhishingResistant}}, want: Allow},
		{name: "a Temporary Access Pass satisfies MFA", u: admin, r: tap, t: defaults(), want: Allow},
		{name: "a Temporary Access Pass is never offered as a second factor", u: user(reg("t", method.KindTAP, false), phone), r: familiar(), t: plain(), g: []Grant{{MFA: true}}, want: RequireMFA, offer: method.OptionSMS,
			check: func(t *testing.T, d Decision) {
				if slices.Contains(d.Options, method.OptionTAP) {
					t.Fatalf("options %v", d.Options)
				}
			}},
		{name: "an app's step-up requires MFA", u: user(app), r: stepUp, t: plain(), want: RequireMFA, check: reasonIs(ReasonStepUp)},
		{name: "registration campaign nudges after a successful sign-in", u: user(phone), r: familiar(), t: campaign, want: Register,
			check: func(t *testing.T, d Decision) {
				if !d.Skippable || d.Reasons[0] != ReasonCampaign {
					t.Fatalf("%+v", d)
				}
			}},
		{name: "registration campaign waits for its snooze", u: func() User {
			u := user(phone)
			later := now.Add(time.Hour)
			u.CampaignSnoozedUntil = &later
			return u
		}(), r: familiar(), t: campaign, want: Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.u, tt.r, tt.t, tt.g, now)
			if d.Outcome != tt.want {
				t.Fatalf("outcome %s, want %s (%+v)", d.Outcome, tt.want, d)
			}
			if tt.offer != "" && d.OfferFirst != tt.offer {
				t.Fatalf("offered %s first, want %s (options %v)", d.OfferFirst, tt.offer, d.Options)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func codeIs(code int) func(*testing.T, Decision) {
	return func(t *testing.T, d Decision) {
		if d.Code != code || d.Message == "" {
			t.Fatalf("code %d (%q), want %d", d.Code, d.Message, code)
		}
	}
}

func reasonIs(r Reason) func(*testing.T, Decision) {
	return func(t *testing.T, d Decision) {
		if !slices.Contains(d.Reasons, r) {
			t.Fatalf("reasons %v, want %s", d.Reasons, r)
		}
	}
}

func notSkippable(t *testing.T, d Decision) {
	if d.Skippable {
		t.Fatalf("skippable: %+v", d)
	}
}

// TestNeverTwice drives random mixes of rules through a simulated sign-in:
// whatever applies, the user passes at most one second factor, the flow
// ends, and it never ends in Allow while a rule still wants MFA undone.
func TestNeverTwice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []method.Registered{phone, app, push, key, reg("h", method.KindHardwareOath, false), reg("e", method.KindEmail, false)}
	for i := range 50_000 {
		u := User{Enabled: rng.IntN(20) > 0, PerUserMFA: []PerUserMFA{PerUserDisabled, PerUserEnabled, PerUserEnforced}[rng.IntN(3)],
			IsAdmin: rng.IntN(4) == 0, MustChangePassword: rng.IntN(10) == 0}
		for _, k := range kinds {
			if rng.IntN(3) == 0 {
				u.Methods = append(u.Methods, k)
			}
		}
		if rng.IntN(2) == 0 {
			g := now.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
			u.GraceStartedAt = &g
		}
		al := map[method.Option]bool{}
		for _, o := range method.AllOptions() {
			al[o] = rng.IntN(5) > 0
		}
		tn := Tenant{SecurityDefaults: rng.IntN(2) == 0, SecurityDefaultsEnabledAt: t0, Allowed: al, SystemPreferred: rng.IntN(2) == 0,
			Campaign: rng.IntN(3) == 0, PoliciesApply: rng.IntN(2) == 0}
		r := Request{Client: []ClientApp{ClientBrowser, ClientMobileDesktop, ClientOther}[rng.IntN(3)], AdminSurface: rng.IntN(4) == 0,
			Familiar: rng.IntN(2) == 0, Compliant: rng.IntN(2) == 0, SignInRisk: Level(rng.IntN(4)), StepUp: rng.IntN(5) == 0, RADIUS: rng.IntN(6) == 0}
		var grants []Grant
		for range rng.IntN(4) {
			grants = append(grants, Grant{Block: rng.IntN(15) == 0, Or: rng.IntN(2) == 0, MFA: rng.IntN(2) == 0,
				Strength: Strength(rng.IntN(4)), Compliant: rng.IntN(4) == 0, PasswordChange: rng.IntN(6) == 0})
		}
		prompts := 0
		var last Decision
		for step := 0; ; step++ {
			if step > 10 {
				t.Fatalf("case %d: the flow does not end: %+v", i, last)
			}
			d := Decide(u, r, tn, grants, now)
			last = d
			switch d.Outcome {
			case RequireMFA:
				prompts++
				if prompts > 1 {
					t.Fatalf("case %d: asked for a second factor twice (%+v)", i, d)
				}
				if !slices.Contains(d.Options, d.OfferFirst) {
					t.Fatalf("case %d: offered %s not among %v", i, d.OfferFirst, d.Options)
				}
				r.MFADone = &MFADone{Option: d.OfferFirst, At: now}
				continue
			case Register:
				if d.Skippable {
					r.RegistrationSkipped = true
					continue
				}
				if len(d.RegisterOptions) == 0 {
					t.Fatalf("case %d: registration with nothing to register", i)
				}
				// The user registers the first offered method; a flow
				// continues the sign-in with it.
				u.Methods = append(u.Methods, registered(d.RegisterOptions[0]))
				continue
			case ChangePassword:
				r.PasswordChanged = true
				continue
			case Allow:
				if wantsMFA(u, r, tn, grants) && mfaStrength(r) == StrengthNone && !r.RegistrationSkipped {
					t.Fatalf("case %d: allowed without MFA that a rule requires", i)
				}
			}
			break
		}
	}
}

func registered(o method.Option) method.Registered {
	switch o {
	case method.OptionPush:
		return push
	case method.OptionFido2:
		return key
	case method.OptionSMS, method.OptionVoiceMobile:
		return phone
	}
	return app
}

func wantsMFA(u User, r Request, t Tenant, grants []Grant) bool {
	if u.PerUserMFA != PerUserDisabled || r.StepUp || t.SecurityDefaults && u.IsAdmin {
		return true
	}
	for _, g := range grants {
		if !g.Or && (g.MFA || g.Strength > StrengthNone) {
			return true
		}
	}
	return false
}

// BenchmarkDecide: one decision with 195 applied policies' grants (the
// modelled system's limit), a user with four methods.
func BenchmarkDecide(b *testing.B) {
	grants := make([]Grant, 195)
	for i := range grants {
		grants[i] = Grant{MFA: i%3 == 0, Or: i%2 == 0, Compliant: i%5 == 0, Strength: Strength(i % 2)}
	}
	u := user(phone, app, push, key)
	u.IsAdmin = true
	r := Request{Client: ClientBrowser, Compliant: true}
	tn := defaults()
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(u, r, tn, grants, now)
		if d.Outcome != RequireMFA {
			b.Fatal(d.Outcome)
		}
	}
}
