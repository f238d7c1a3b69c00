package ca

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy"
)

func guid(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }

// benchTenant is the PERFORMANCE.md case: 195 policies of mixed
// conditions (half with group conditions, many with locations), 195 named
// locations of 2000 ranges each, and a user in 50 (nested) groups.
func benchTenant(tb testing.TB) (*Set, Input) {
	tb.Helper()
	r := rand.New(rand.NewPCG(7, 195))
	const nGroups = 3000
	var locs []NamedLocation
	for i := 0; i < MaxNamedLocations; i++ {
		l := NamedLocation{ODataType: ODataIPNamedLocation, ID: guid(0xd, i), DisplayName: fmt.Sprintf("site %d", i), IsTrusted: i%10 == 0}
		if i%15 == 14 {
			l = NamedLocation{ODataType: ODataCountryNamedLocation, ID: guid(0xd, i), DisplayName: fmt.Sprintf("countries %d", i),
				CountriesAndRegions: []string{"SE", "NO", "DK", "FI", "DE", "FR", "NL"}[:1+i%7]}
		} else {
			for k := 0; k < MaxIPRanges; k++ {
				var p string
				if k%8 == 7 {
					p = fmt.Sprintf("2001:db8:%x:%x::/64", r.IntN(1<<16), r.IntN(1<<16))
				} else {
					p = fmt.Sprintf("%d.%d.%d.0/%d", 11+r.IntN(200), r.IntN(256), r.IntN(256), 24+r.IntN(9))
				}
				l.IPRanges = append(l.IPRanges, IPRange{CIDRAddress: p})
			}
		}
		locs = append(locs, l)
	}
	pick := func(n, of int) []string {
		var out []string
		for range n {
			out = append(out, guid(0xb, r.IntN(of)))
		}
		return out
	}
	var ps []Policy
	for i := 0; i < MaxPolicies; i++ {
		p := Policy{ID: guid(0xe, i), DisplayName: fmt.Sprintf("policy %d", i), State: StateEnabled,
			Conditions: Conditions{
				Users:          &UsersCondition{IncludeUsers: []string{All}, ExcludeUsers: []string{guid(0xa, 999)}},
				Applications:   &ApplicationsCondition{IncludeApplications: []string{All}},
				ClientAppTypes: []string{"all"},
			},
			GrantControls: &GrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}}}
		c := &p.Conditions
		switch i % 3 {
		case 1:
			p.State = StateReportOnly
		case 2:
			if i%9 == 8 {
				p.State = StateDisabled
			}
		}
		if i%2 == 0 { // half with groups
			c.Users = &UsersCondition{IncludeGroups: pick(5+r.IntN(20), nGroups), ExcludeGroups: pick(2, nGroups)}
		}
		if i%7 == 3 {
			c.Users.IncludeRoles = []string{directory.RoleGlobalAdmin, directory.RoleSecurityAdmin}
		}
		if i%3 != 0 { // two thirds with locations
			inc := []string{All}
			if i%4 == 1 {
				inc = []string{guid(0xd, r.IntN(MaxNamedLocations)), guid(0xd, r.IntN(MaxNamedLocations))}
			}
			c.Locations = &LocationsCondition{IncludeLocations: inc,
				ExcludeLocations: []string{AllTrusted, guid(0xd, r.IntN(MaxNamedLocations)), guid(0xd, r.IntN(MaxNamedLocations))}}
		}
		if i%5 == 0 {
			c.Applications.IncludeApplications = []string{guid(0xc, r.IntN(20)), MicrosoftAdminPortals}
		}
		if i%6 == 1 {
			c.Platforms = &PlatformsCondition{IncludePlatforms: []string{"all"}, ExcludePlatforms: []string{"iOS", "android"}}
		}
		if i%8 == 2 {
			c.Devices = &DevicesCondition{DeviceFilter: &DeviceFilter{Mode: "exclude",
				Rule: `device.isCompliant -eq True -and (device.trustType -eq "AzureAD" -or device.trustType -eq "ServerAD")`}}
		}
		if i%11 == 4 {
			c.SignInRiskLevels = []string{"medium", "high"}
		}
		if i%13 == 6 {
			c.ClientAppTypes = []string{"exchangeActiveSync", "other"}
			p.GrantControls = &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}}
		}
		if i%17 == 0 {
			p.SessionControls = &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, Value: int32(1 + i%20), Type: "hours"}}
		}
		ps = append(ps, p)
	}
	s, err := Compile(ps, locs)
	if err != nil {
		tb.Fatal(err)
	}
	in := Input{UserID: guid(0xa, 1), Groups: pick(50, nGroups), Roles: []string{directory.RoleUserAdmin}, AppID: guid(0xc, 3),
		Client: policy.ClientBrowser, IP: netip.MustParseAddr("203.0.113.77"), Country: "SE", Platform: "windows", TrustType: "Workplace"}
	return s, in
}

func BenchmarkEvaluate(b *testing.B) {
	s, in := benchTenant(b)
	out, res := s.Evaluate(in, nil)
	applied := 0
	for _, r := range res {
		applied += btoi(r.Applied)
	}
	b.Logf("%d policies, %d applied, %d grants enforced", len(res), applied, len(out.Grants))

	// What the sign-in path does: reuse the results, new grants.
	b.Run("results-reused", func(b *testing.B) {
		res := make([]Result, 0, s.Len())
		b.ReportAllocs()
		for b.Loop() {
			_, res = s.Evaluate(in, res)
		}
	})
	// Both buffers reused: no allocation at all.
	b.Run("all-buffers-reused", func(b *testing.B) {
		res := make([]Result, 0, s.Len())
		grants := make([]policy.Grant, 0, s.Len())
		b.ReportAllocs()
		for b.Loop() {
			_, res = s.EvaluateTo(in, res, grants)
		}
	})
	// Nothing reused.
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = s.Evaluate(in, nil)
		}
	})
	// An IPv6 sign-in from a trusted location, user in no policy group.
	b.Run("ipv6-trusted", func(b *testing.B) {
		in := in
		in.IP = s.locs[0].ips.v6[0].lo.addr()
		in.Groups = nil
		res := make([]Result, 0, s.Len())
		grants := make([]policy.Grant, 0, s.Len())
		b.ReportAllocs()
		for b.Loop() {
			_, res = s.EvaluateTo(in, res, grants)
		}
	})
}

func (a u128) addr() netip.Addr {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(a.hi >> (56 - 8*i))
		b[8+i] = byte(a.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

// TestEvaluateAllocs keeps the promise of PERFORMANCE.md: no allocation
// per policy, none at all with reused buffers.
func TestEvaluateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large tenant")
	}
	s, in := benchTenant(t)
	res := make([]Result, 0, s.Len())
	grants := make([]policy.Grant, 0, s.Len())
	if n := testing.AllocsPerRun(100, func() { _, res = s.EvaluateTo(in, res, grants) }); n != 0 {
		t.Errorf("EvaluateTo with buffers: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, res = s.Evaluate(in, res) }); n > 1 {
		t.Errorf("Evaluate with a results buffer: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Evaluate(in, nil) }); n > 2 {
		t.Errorf("Evaluate: %v allocs", n)
	}
}

// BenchmarkCompile builds the PERFORMANCE.md tenant (390,000 ranges).
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchTenant(b)
	}
}
