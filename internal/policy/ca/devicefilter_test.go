package ca

import (
	"strings"
	"testing"
)

func TestDeviceRule(t *testing.T) {
	type dev = Device
	compliantJoined := dev{Compliant: true, TrustType: "AzureAD"}
	compliantReg := dev{Compliant: true, TrustType: "Workplace"}
	hybrid := dev{TrustType: "ServerAD"}
	unknown := dev{}
	cases := []struct {
		rule  string
		match []dev
		miss  []dev
	}{
		{"device.isCompliant -eq True", []dev{compliantJoined, compliantReg}, []dev{hybrid, unknown}},
		{"device.isCompliant -eq true", []dev{compliantJoined}, []dev{unknown}},
		{`device.isCompliant -eq "True"`, []dev{compliantJoined}, []dev{unknown}},
		{"device.isCompliant -ne True", []dev{hybrid, unknown}, []dev{compliantJoined}},
		{"device.isCompliant -eq False", []dev{unknown}, []dev{compliantReg}},
		{`device.trustType -eq "AzureAD"`, []dev{compliantJoined, {TrustType: "azuread"}}, []dev{hybrid, unknown}},
		{`device.trustType -ne "Workplace"`, []dev{compliantJoined, hybrid, unknown}, []dev{compliantReg}},
		{`DEVICE.TRUSTTYPE -EQ "ServerAD"`, []dev{hybrid}, []dev{compliantJoined}},
		{`device.trustType -eq "AzureAD" -or device.trustType -eq "ServerAD"`, []dev{compliantJoined, hybrid}, []dev{compliantReg, unknown}},
		{`device.isCompliant -eq True -and device.trustType -eq "AzureAD"`, []dev{compliantJoined}, []dev{compliantReg, hybrid}},
		// -and binds tighter than -or
		{`device.trustType -eq "ServerAD" -or device.isCompliant -eq True -and device.trustType -eq "AzureAD"`,
			[]dev{hybrid, compliantJoined}, []dev{compliantReg, unknown}},
		{`(device.trustType -eq "ServerAD" -or device.isCompliant -eq True) -and device.trustType -ne "Workplace"`,
			[]dev{hybrid, compliantJoined}, []dev{compliantReg, unknown}},
		{`((((device.isCompliant -eq True))))`, []dev{compliantJoined}, []dev{unknown}},
		{"device.isCompliant -eq True -and device.isCompliant -eq True -and device.isCompliant -eq True -or device.trustType -eq \"x\"",
			[]dev{compliantJoined, {TrustType: "X"}}, []dev{unknown}},
	}
	for _, c := range cases {
		r, err := ParseDeviceRule(c.rule)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		for _, d := range c.match {
			if !r.Match(d) {
				t.Errorf("%s does not match %+v", c.rule, d)
			}
		}
		for _, d := range c.miss {
			if r.Match(d) {
				t.Errorf("%s matches %+v", c.rule, d)
			}
		}
	}
}

func TestDeviceRuleErrors(t *testing.T) {
	for rule, want := range map[string]string{
		"":                                     "the rule is empty",
		"   ":                                  "the rule is empty",
		`device.deviceId -eq "x"`:              `the device attribute "device.deviceId" is not supported: vakt filters on device.isCompliant and device.trustType`,
		`device.extensionAttribute1 -eq "x"`:   "is not supported",
		`user.department -eq "x"`:              `expected device.isCompliant or device.trustType at position 1, found "user.department"`,
		`device.trustType -contains "Azure"`:   `the operator "-contains" at position 18 is not supported: use -eq or -ne`,
		`device.trustType -in ["AzureAD"]`:     `the operator "-in"`,
		`device.trustType == "AzureAD"`:        `expected -eq or -ne`,
		`device.trustType -eq AzureAD`:         "compares with a quoted string",
		`device.isCompliant -eq Yes`:           `compares with True or False, not "Yes"`,
		`device.isCompliant -eq`:               "needs a value",
		`device.isCompliant`:                   "needs an operator",
		`device.trustType -eq "AzureAD`:        "unterminated string",
		`(device.isCompliant -eq True`:         "missing ')'",
		`device.isCompliant -eq True)`:         "unbalanced ')'",
		`device.isCompliant -eq True -and`:     "the rule ends where a condition was expected",
		`device.isCompliant -eq True device.x`: "expected -and or -or",
		`-not device.isCompliant -eq True`:     `found the operator "-not"`,
		`() `:                                  "unexpected ')'",
		`"x"`:                                  "found the string",
		strings.Repeat("(", 40) + "device.isCompliant -eq True" + strings.Repeat(")", 40): "nest more than 32 deep",
		strings.Repeat("x", MaxDeviceRuleLength+1):                                        "at most 3072 are allowed",
	} {
		_, err := ParseDeviceRule(rule)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: error %v, want %q", rule, err, want)
		}
	}
}

func FuzzDeviceRule(f *testing.F) {
	for _, s := range []string{
		"device.isCompliant -eq True",
		`(device.trustType -eq "ServerAD" -or device.isCompliant -eq True) -and device.trustType -ne "Workplace"`,
		`device.trustType -eq "AzureAD`, "((", ")", `"`, "-and -or", "device.isCompliant -eq True -and",
	} {
		f.Add(s, true, "AzureAD")
	}
	f.Fuzz(func(t *testing.T, rule string, compliant bool, trust string) {
		r, err := ParseDeviceRule(rule)
		if err != nil {
			if r != nil {
				t.Fatal("rule with error")
			}
			return
		}
		a := r.Match(Device{Compliant: compliant, TrustType: trust})
		// A parsed rule parses again in a policy.
		p := Policy{DisplayName: "f", State: StateEnabled, Conditions: Conditions{
			Users: &UsersCondition{IncludeUsers: []string{All}}, Applications: &ApplicationsCondition{IncludeApplications: []string{All}},
			Devices: &DevicesCondition{DeviceFilter: &DeviceFilter{Mode: "include", Rule: rule}}},
			GrantControls: &GrantControls{BuiltInControls: []string{"mfa"}}}
		s, err := Compile([]Policy{p}, nil)
		if err != nil {
			t.Fatalf("valid rule %q refused in a policy: %v", rule, err)
		}
		_, res := s.Evaluate(Input{Compliant: compliant, TrustType: trust}, nil)
		if res[0].Applied != a {
			t.Fatalf("policy and rule disagree on %q", rule)
		}
	})
}
