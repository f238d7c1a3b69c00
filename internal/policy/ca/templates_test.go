package ca

import (
	"slices"
	"testing"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy"
)

func TestTemplates(t *testing.T) {
	ts := Templates()
	if len(ts) != 7 {
		t.Fatalf("%d templates", len(ts))
	}
	seen := map[string]bool{}
	var ps []Policy
	for i, tp := range ts {
		if !isGUID(tp.ID) || seen[tp.ID] || tp.Name == "" || tp.Description == "" {
			t.Fatalf("template %+v", tp)
		}
		seen[tp.ID] = true
		p := tp.Policy
		if p.State != StateReportOnly || p.TemplateID != tp.ID || p.DisplayName != tp.Name || p.ID != "" {
			t.Fatalf("%s: policy %+v", tp.Name, p)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", tp.Name, err)
		}
		p.ID = "f0000000-0000-4000-8000-00000000000" + string(rune('0'+i))
		p.State = StateEnabled
		ps = append(ps, p)
		if got, ok := TemplateByID(tp.ID); !ok || got.Name != tp.Name {
			t.Fatal("TemplateByID")
		}
	}
	// Fresh copies every call.
	other := Templates()
	other[0].Policy.Conditions.Users.IncludeRoles[0] = "changed"
	if Templates()[0].Policy.Conditions.Users.IncludeRoles[0] == "changed" {
		t.Fatal("templates share memory")
	}
	var admins []string
	for _, r := range directory.Roles {
		if directory.IsAdminRole(r.ID) {
			admins = append(admins, r.ID)
		}
	}
	if !slices.Equal(Templates()[0].Policy.Conditions.Users.IncludeRoles, admins) || slices.Contains(admins, directory.RoleGlobalReader) {
		t.Fatal("admin roles")
	}

	s := mustCompile(t, ps, testLocations(t))
	applied := func(in Input) []string {
		_, res := s.Evaluate(in, nil)
		var ids []string
		for _, r := range res {
			if r.Applied {
				ids = append(ids, r.PolicyID[len(r.PolicyID)-1:])
			}
		}
		return ids
	}
	in := baseInput() // a member, in the (trusted) office, browser, no risk
	check := func(name string, in Input, want ...string) {
		t.Helper()
		if got := applied(in); !slices.Equal(got, want) {
			t.Errorf("%s: applied %v, want %v", name, got, want)
		}
	}
	check("member at the office", in, "1")
	admin := in
	admin.Roles = []string{directory.RoleSecurityAdmin}
	check("security admin", admin, "0", "1")
	reader := in
	reader.Roles = []string{directory.RoleGlobalReader}
	check("global reader is no admin", reader, "1")
	legacy := in
	legacy.Client = policy.ClientOther
	check("legacy", legacy, "1", "2")
	risky := in
	risky.SignInRisk = policy.RiskMedium
	check("risky sign-in", risky, "1", "3")
	riskyUser := in
	riskyUser.UserRisk = policy.RiskHigh
	check("risky user", riskyUser, "1", "4")
	portal := in
	portal.AdminSurface = true
	check("admin portal", portal, "1", "5")
	away := in
	away.IP = away.IP.Next().Next().Next() // still the office's /24
	check("office again", away, "1")
	cafe := in
	cafe.IP = cafe.IP.Prev().Prev().Prev().Prev().Prev().Prev().Prev().Prev().Prev().Prev().Prev() // 192.0.1.255
	check("café", cafe, "1", "6")

	legacyOut, _ := s.Evaluate(legacy, nil)
	if !legacyOut.Block {
		t.Fatal("legacy authentication not blocked")
	}
	userOut, _ := s.Evaluate(riskyUser, nil)
	var pw bool
	for _, g := range userOut.Grants {
		pw = pw || g.PasswordChange && g.MFA && !g.Or
	}
	if !pw || !userOut.SignInEveryTime {
		t.Fatalf("risky user outcome %+v", userOut)
	}
}
