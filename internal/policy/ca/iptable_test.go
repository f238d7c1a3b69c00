package ca

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestIPTableMerge(t *testing.T) {
	var tb ipTable
	for _, s := range []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.0.3.0/24", "255.255.255.0/24", "255.255.254.0/24",
		"2001:db8::/33", "2001:db8:8000::/33", "2001:db8:1::/48", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", "::/127"} {
		tb.add(netip.MustParsePrefix(s))
	}
	tb.finish()
	if want := []v4range{{0x0a000000, 0x0a0001ff}, {0x0a000300, 0x0a0003ff}, {0xfffffe00, 0xffffffff}}; len(tb.v4) != len(want) ||
		tb.v4[0] != want[0] || tb.v4[1] != want[1] || tb.v4[2] != want[2] {
		t.Fatalf("v4 %x", tb.v4)
	}
	if len(tb.v6) != 3 {
		t.Fatalf("v6 %x", tb.v6)
	}
	for addr, want := range map[string]bool{
		"10.0.0.0": true, "10.0.1.255": true, "10.0.2.0": false, "10.0.3.7": true, "9.255.255.255": false, "255.255.255.255": true,
		"0.0.0.0": false, "2001:db8::": true, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff": true, "2001:db9::": false,
		"2001:db7:ffff::": false, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": true, "::1": true, "::2": false,
	} {
		a := netip.MustParseAddr(addr)
		var got bool
		if a.Is4() {
			got = tb.has4(v4of(a))
		} else {
			got = tb.has6(v6of(a))
		}
		if got != want {
			t.Errorf("%s: %v", addr, got)
		}
	}
}

// TestIPTableAgainstNaive compares lookups with a linear scan of the
// prefixes.
func TestIPTableAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		var tb ipTable
		var ps []netip.Prefix
		for i := 0; i < 1+r.IntN(200); i++ {
			var p netip.Prefix
			if r.IntN(2) == 0 {
				a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
				p = netip.PrefixFrom(a, 14+r.IntN(19)).Masked()
			} else {
				var b [16]byte
				b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, byte(0xb8+r.IntN(2))
				b[4], b[15] = byte(r.IntN(256)), byte(r.IntN(256))
				p = netip.PrefixFrom(netip.AddrFrom16(b), 30+r.IntN(99)).Masked()
			}
			ps = append(ps, p)
			tb.add(p)
		}
		tb.finish()
		for i := 0; i < 500; i++ {
			var a netip.Addr
			if r.IntN(2) == 0 {
				a = netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
			} else {
				p := ps[r.IntN(len(ps))]
				a = p.Addr()
				for k := r.IntN(3); k > 0; k-- {
					a = a.Prev()
				}
				if !a.IsValid() {
					continue
				}
			}
			want := false
			for _, p := range ps {
				want = want || p.Contains(a)
			}
			got := a.Is4() && tb.has4(v4of(a)) || a.Is6() && tb.has6(v6of(a))
			if got != want {
				t.Fatalf("round %d: %s: got %v want %v", round, a, got, want)
			}
		}
	}
}
