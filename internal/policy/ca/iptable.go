package ca

import (
	"cmp"
	"net/netip"
	"slices"
)

// ipTable is a sorted table of disjoint, non-adjacent address intervals,
// one per family, searched by binary search.
type ipTable struct {
	v4 []v4range
	v6 []v6range
}

type v4range struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, false
		}
	}
	return u128{hi, lo}, true
}

type v6range struct{ lo, hi u128 }

func v4of(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func v6of(a netip.Addr) u128 {
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

// add adds a masked prefix to the (still unsorted) table.
func (t *ipTable) add(p netip.Prefix) {
	bits := p.Bits()
	if p.Addr().Is4() {
		lo := v4of(p.Addr())
		var span uint32
		if bits < 32 {
			span = 1<<(32-bits) - 1
		}
		t.v4 = append(t.v4, v4range{lo &^ span, lo | span})
		return
	}
	lo := v6of(p.Addr())
	var span u128
	switch {
	case bits == 0:
		span = u128{^uint64(0), ^uint64(0)}
	case bits <= 64:
		span = u128{1<<(64-bits) - 1, ^uint64(0)}
		if bits == 64 {
			span.hi = 0
		}
	case bits < 128:
		span = u128{0, 1<<(128-bits) - 1}
	}
	lo = u128{lo.hi &^ span.hi, lo.lo &^ span.lo}
	t.v6 = append(t.v6, v6range{lo, u128{lo.hi | span.hi, lo.lo | span.lo}})
}

// merge appends other's intervals (for the AllTrusted table).
func (t *ipTable) merge(o *ipTable) {
	t.v4 = append(t.v4, o.v4...)
	t.v6 = append(t.v6, o.v6...)
}

// finish sorts the table and merges overlapping and adjacent intervals.
func (t *ipTable) finish() {
	slices.SortFunc(t.v4, func(a, b v4range) int { return cmp.Compare(a.lo, b.lo) })
	out4 := t.v4[:0]
	for _, r := range t.v4 {
		if n := len(out4); n > 0 && (out4[n-1].hi == ^uint32(0) || r.lo <= out4[n-1].hi+1) {
			out4[n-1].hi = max(out4[n-1].hi, r.hi)
			continue
		}
		out4 = append(out4, r)
	}
	t.v4 = slices.Clip(out4)

	slices.SortFunc(t.v6, func(a, b v6range) int { return a.lo.cmp(b.lo) })
	out6 := t.v6[:0]
	for _, r := range t.v6 {
		if n := len(out6); n > 0 {
			last := &out6[n-1]
			nx, ok := last.hi.next()
			if !ok || !nx.less(r.lo) {
				if last.hi.less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		out6 = append(out6, r)
	}
	t.v6 = slices.Clip(out6)
}

func (t *ipTable) has4(x uint32) bool {
	r := t.v4
	// first interval with lo > x
	i, j := 0, len(r)
	for i < j {
		h := int(uint(i+j) >> 1)
		if r[h].lo <= x {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && x <= r[i-1].hi
}

func (t *ipTable) has6(x u128) bool {
	r := t.v6
	i, j := 0, len(r)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !x.less(r[h].lo) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i > 0 && !r[i-1].hi.less(x)
}
