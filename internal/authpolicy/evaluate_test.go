package authpolicy_test

import (
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method"
)

const (
	alice   = "aaaaaaaa-0000-4000-8000-000000000001"
	bob     = "bbbbbbbb-0000-4000-8000-000000000002"
	sales   = "5a1e5000-0000-4000-8000-000000000010"
	finance = "f1a4c000-0000-4000-8000-000000000020"
	nested  = "0e57ed00-0000-4000-8000-000000000030"
)

func groupTarget(id string) authpolicy.Target {
	return authpolicy.Target{ID: id, TargetType: authpolicy.TargetGroup}
}

func userTarget(id string) authpolicy.Target {
	return authpolicy.Target{ID: id, TargetType: authpolicy.TargetUser}
}

func include(ts ...authpolicy.Target) []authpolicy.IncludeTarget {
	out := make([]authpolicy.IncludeTarget, len(ts))
	for i, t := range ts {
		out[i] = authpolicy.IncludeTarget{ID: t.ID, TargetType: t.TargetType}
	}
	return out
}

func all() authpolicy.Target { return groupTarget(authpolicy.AllUsers) }

// TestAllowedKindsRules checks each rule of AllowedKinds and
// AllowedOptions on the Fido2 configuration (the rules are shared by every
// configuration) and the method-specific rules.
func TestAllowedKindsRules(t *testing.T) {
	type user struct {
		id     string
		groups []string
	}
	cases := []struct {
		name   string
		edit   func(p *authpolicy.Policy)
		user   user
		kind   method.Kind
		want   bool
		option method.Option // also checked when set
		// optionOff: the option is refused although the kind is allowed.
		optionOff bool
	}{
		{"all_users includes everyone", func(p *authpolicy.Policy) {}, user{alice, nil}, method.KindFido2, true, method.OptionFido2, false},
		{"all_users is a group target only", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(userTarget(authpolicy.AllUsers))
		}, user{alice, nil}, method.KindFido2, false, method.OptionFido2, false},
		{"disabled method is allowed to nobody", func(p *authpolicy.Policy) {
			p.Methods.Fido2.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindFido2, false, method.OptionFido2, false},
		{"no include target allows nobody", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = nil
		}, user{alice, nil}, method.KindFido2, false, method.OptionFido2, false},
		{"user target includes that user", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(userTarget(alice))
		}, user{alice, nil}, method.KindFido2, true, method.OptionFido2, false},
		{"user target matches ids case-insensitively", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(userTarget("AAAAAAAA-0000-4000-8000-000000000001"))
		}, user{alice, nil}, method.KindFido2, true, method.OptionFido2, false},
		{"user target leaves out other users", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(userTarget(alice))
		}, user{bob, nil}, method.KindFido2, false, method.OptionFido2, false},
		{"user id as a group target does not match", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(groupTarget(alice))
		}, user{alice, nil}, method.KindFido2, false, method.OptionFido2, false},
		{"group target includes members", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(groupTarget(sales))
		}, user{alice, []string{sales}}, method.KindFido2, true, method.OptionFido2, false},
		{"group target includes transitive members", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(groupTarget(sales))
		}, user{alice, []string{nested, sales}}, method.KindFido2, true, method.OptionFido2, false},
		{"group target leaves out non-members", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(groupTarget(sales))
		}, user{bob, []string{finance}}, method.KindFido2, false, method.OptionFido2, false},
		{"exclude wins over all_users", func(p *authpolicy.Policy) {
			p.Methods.Fido2.ExcludeTargets = []authpolicy.Target{groupTarget(finance)}
		}, user{bob, []string{finance}}, method.KindFido2, false, method.OptionFido2, false},
		{"exclude wins over a user include", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(userTarget(bob))
			p.Methods.Fido2.ExcludeTargets = []authpolicy.Target{groupTarget(finance)}
		}, user{bob, []string{finance}}, method.KindFido2, false, method.OptionFido2, false},
		{"exclude by user wins over a group include", func(p *authpolicy.Policy) {
			p.Methods.Fido2.IncludeTargets = include(groupTarget(sales))
			p.Methods.Fido2.ExcludeTargets = []authpolicy.Target{userTarget(alice)}
		}, user{alice, []string{sales}}, method.KindFido2, false, method.OptionFido2, false},
		{"exclude of another group leaves the user in", func(p *authpolicy.Policy) {
			p.Methods.Fido2.ExcludeTargets = []authpolicy.Target{groupTarget(finance)}
		}, user{alice, []string{sales}}, method.KindFido2, true, method.OptionFido2, false},
		{"exclude all_users excludes everyone", func(p *authpolicy.Policy) {
			p.Methods.Fido2.ExcludeTargets = []authpolicy.Target{all()}
		}, user{alice, nil}, method.KindFido2, false, method.OptionFido2, false},

		{"isSoftwareOathEnabled allows software OATH through the authenticator", func(p *authpolicy.Policy) {
			p.Methods.SoftwareOath.State = authpolicy.StateDisabled
			p.Methods.MicrosoftAuthenticator.IsSoftwareOathEnabled = true
		}, user{alice, nil}, method.KindSoftwareOath, true, method.OptionSoftwareOath, false},
		{"software OATH disabled without isSoftwareOathEnabled", func(p *authpolicy.Policy) {
			p.Methods.SoftwareOath.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindSoftwareOath, false, method.OptionSoftwareOath, false},
		{"isSoftwareOathEnabled needs the authenticator to apply", func(p *authpolicy.Policy) {
			p.Methods.SoftwareOath.State = authpolicy.StateDisabled
			p.Methods.MicrosoftAuthenticator.IsSoftwareOathEnabled = true
			p.Methods.MicrosoftAuthenticator.ExcludeTargets = []authpolicy.Target{groupTarget(finance)}
		}, user{bob, []string{finance}}, method.KindSoftwareOath, false, method.OptionSoftwareOath, false},
		{"authenticator allows push", func(p *authpolicy.Policy) {}, user{alice, nil}, method.KindAuthenticator, true, method.OptionPush, false},
		{"authenticator disabled refuses push", func(p *authpolicy.Policy) {
			p.Methods.MicrosoftAuthenticator.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindAuthenticator, false, method.OptionPush, false},

		{"office phone needs isOfficePhoneAllowed", func(p *authpolicy.Policy) {}, user{alice, nil}, method.KindPhone, true, method.OptionVoiceOffice, true},
		{"office phone allowed with isOfficePhoneAllowed", func(p *authpolicy.Policy) {
			p.Methods.Voice.IsOfficePhoneAllowed = true
		}, user{alice, nil}, method.KindPhone, true, method.OptionVoiceOffice, false},
		{"office phone refused when voice is disabled", func(p *authpolicy.Policy) {
			p.Methods.Voice.IsOfficePhoneAllowed = true
			p.Methods.Voice.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindPhone, true, method.OptionVoiceOffice, true},
		{"sms alone allows phones", func(p *authpolicy.Policy) {
			p.Methods.Voice.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindPhone, true, method.OptionSMS, false},
		{"voice alone allows phones without sms", func(p *authpolicy.Policy) {
			p.Methods.Sms.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindPhone, true, method.OptionSMS, true},
		{"voice alone allows mobile calls", func(p *authpolicy.Policy) {
			p.Methods.Sms.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindPhone, true, method.OptionVoiceMobile, false},
		{"no sms and no voice refuses phones", func(p *authpolicy.Policy) {
			p.Methods.Sms.State = authpolicy.StateDisabled
			p.Methods.Voice.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindPhone, false, method.OptionVoiceAlternateMobile, false},
		{"certificates are disabled by default", func(p *authpolicy.Policy) {}, user{alice, nil}, method.KindCertificate, false, method.OptionCertificate, false},
		{"hardware OATH follows its configuration", func(p *authpolicy.Policy) {
			p.Methods.HardwareOath.State = authpolicy.StateDisabled
		}, user{alice, nil}, method.KindHardwareOath, false, method.OptionHardwareOath, false},
		{"email follows its configuration", func(p *authpolicy.Policy) {
			p.Methods.Email.ExcludeTargets = []authpolicy.Target{userTarget(alice)}
		}, user{alice, nil}, method.KindEmail, false, method.OptionEmail, false},
		{"TAP follows its configuration", func(p *authpolicy.Policy) {
			p.Methods.TemporaryAccessPass.IncludeTargets = include(groupTarget(sales))
		}, user{alice, []string{sales}}, method.KindTAP, true, method.OptionTAP, false},
		{"password is always allowed", func(p *authpolicy.Policy) {
			for _, c := range []*string{&p.Methods.Fido2.State, &p.Methods.Sms.State, &p.Methods.Voice.State} {
				*c = authpolicy.StateDisabled
			}
		}, user{alice, nil}, method.KindPassword, true, "", false},
		{"security questions are always allowed", func(p *authpolicy.Policy) {}, user{alice, nil}, method.KindSecurityQuestions, true, method.OptionSecurityQuestions, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := authpolicy.Default(time.Time{})
			c.edit(&p)
			kinds := p.AllowedKinds(c.user.id, c.user.groups)
			if kinds[c.kind] != c.want {
				t.Errorf("AllowedKinds[%s] = %v, want %v", c.kind, kinds[c.kind], c.want)
			}
			if len(kinds) != len(method.AllKinds()) {
				t.Errorf("AllowedKinds has %d kinds, want every one (%d)", len(kinds), len(method.AllKinds()))
			}
			if c.option == "" {
				return
			}
			opts := p.AllowedOptions(c.user.id, c.user.groups)
			wantOpt := c.want && !c.optionOff
			if opts[c.option] != wantOpt {
				t.Errorf("AllowedOptions[%s] = %v, want %v", c.option, opts[c.option], wantOpt)
			}
		})
	}
}

func TestSystemPreferredAppliesRules(t *testing.T) {
	cases := []struct {
		name    string
		state   string
		include []authpolicy.Target
		exclude []authpolicy.Target
		user    string
		groups  []string
		want    bool
	}{
		{"default resolves to enabled", authpolicy.AdvancedDefault, []authpolicy.Target{all()}, nil, alice, nil, true},
		{"enabled applies to the include target", authpolicy.AdvancedEnabled, []authpolicy.Target{groupTarget(sales)}, nil, alice, []string{sales}, true},
		{"enabled leaves out users outside the include target", authpolicy.AdvancedEnabled, []authpolicy.Target{groupTarget(sales)}, nil, bob, []string{finance}, false},
		{"disabled never applies", authpolicy.AdvancedDisabled, []authpolicy.Target{all()}, nil, alice, nil, false},
		{"exclude wins", authpolicy.AdvancedEnabled, []authpolicy.Target{all()}, []authpolicy.Target{groupTarget(finance)}, bob, []string{finance}, false},
		{"exclude wins through a nested group", authpolicy.AdvancedDefault, []authpolicy.Target{all()}, []authpolicy.Target{groupTarget(finance)}, bob, []string{nested, finance}, false},
		{"user target applies", authpolicy.AdvancedEnabled, []authpolicy.Target{userTarget(alice)}, nil, alice, nil, true},
		{"no include target applies to nobody", authpolicy.AdvancedEnabled, nil, nil, alice, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := authpolicy.Default(time.Time{})
			p.SystemCredentialPreferences = authpolicy.SystemCredentialPreferences{State: c.state, IncludeTargets: c.include, ExcludeTargets: c.exclude}
			if got := p.SystemPreferredApplies(c.user, c.groups); got != c.want {
				t.Errorf("SystemPreferredApplies = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCampaignAppliesRules(t *testing.T) {
	campaign := func(state string, snooze int, inc []authpolicy.Target, exc []authpolicy.Target) authpolicy.RegistrationCampaign {
		c := authpolicy.RegistrationCampaign{State: state, SnoozeDurationInDays: snooze, ExcludeTargets: exc}
		for _, t := range inc {
			c.IncludeTargets = append(c.IncludeTargets, authpolicy.CampaignIncludeTarget{ID: t.ID, TargetType: t.TargetType,
				TargetedAuthenticationMethod: authpolicy.TargetedMethod})
		}
		return c
	}
	cases := []struct {
		name       string
		c          authpolicy.RegistrationCampaign
		edit       func(p *authpolicy.Policy)
		user       string
		groups     []string
		want       bool
		wantSnooze int
	}{
		{"default behaves as disabled", campaign(authpolicy.AdvancedDefault, 1, []authpolicy.Target{all()}, nil), nil, alice, nil, false, 0},
		{"disabled never applies", campaign(authpolicy.AdvancedDisabled, 1, []authpolicy.Target{all()}, nil), nil, alice, nil, false, 0},
		{"enabled applies with its snooze", campaign(authpolicy.AdvancedEnabled, 3, []authpolicy.Target{all()}, nil), nil, alice, nil, true, 3},
		{"zero snooze prompts every time", campaign(authpolicy.AdvancedEnabled, 0, []authpolicy.Target{all()}, nil), nil, alice, nil, true, 0},
		{"exclude wins", campaign(authpolicy.AdvancedEnabled, 3, []authpolicy.Target{all()}, []authpolicy.Target{groupTarget(finance)}), nil, bob, []string{finance}, false, 0},
		{"group include applies to members only", campaign(authpolicy.AdvancedEnabled, 2, []authpolicy.Target{groupTarget(sales)}, nil), nil, bob, []string{finance}, false, 0},
		{"user include applies to that user", campaign(authpolicy.AdvancedEnabled, 2, []authpolicy.Target{userTarget(bob)}, nil), nil, bob, nil, true, 2},
		{"campaign needs the authenticator allowed", campaign(authpolicy.AdvancedEnabled, 2, []authpolicy.Target{all()}, nil), func(p *authpolicy.Policy) {
			p.Methods.MicrosoftAuthenticator.ExcludeTargets = []authpolicy.Target{userTarget(alice)}
		}, alice, nil, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := authpolicy.Default(time.Time{})
			p.RegistrationEnforcement.AuthenticationMethodsRegistrationCampaign = c.c
			if c.edit != nil {
				c.edit(&p)
			}
			got, snooze := p.CampaignApplies(c.user, c.groups)
			if got != c.want || snooze != c.wantSnooze {
				t.Errorf("CampaignApplies = %v, %d; want %v, %d", got, snooze, c.want, c.wantSnooze)
			}
		})
	}
}

func TestFeatureAppliesRules(t *testing.T) {
	f := authpolicy.FeatureSetting{State: authpolicy.AdvancedDefault, IncludeTarget: all(),
		ExcludeTarget: groupTarget(authpolicy.NoTarget)}
	if !authpolicy.FeatureApplies(f, alice, nil) {
		t.Error("default feature with all_users should apply")
	}
	f.ExcludeTarget = groupTarget(finance)
	if authpolicy.FeatureApplies(f, bob, []string{finance}) {
		t.Error("exclude should win")
	}
	f.State = authpolicy.AdvancedDisabled
	if authpolicy.FeatureApplies(f, alice, nil) {
		t.Error("disabled feature should not apply")
	}
}
