package httpx

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// ProxyPolicy resolves the client address of a request. Only peers inside
// Trusted may speak for the client through X-Forwarded-For; from anyone
// else the header is ignored, so a client cannot spoof its address.
type ProxyPolicy struct {
	Trusted []netip.Prefix
}

// ClientIP returns the client address of r. It is the TCP peer, unless the
// peer is a trusted proxy: then X-Forwarded-For is walked from the right
// (the entry the nearest proxy appended), skipping trusted hops, and the
// first untrusted address is the client. Entries to the left of it were
// written by the client and are never believed. A malformed entry stops
// the walk at the last good hop, as does running out of entries. The zero
// Addr is returned when RemoteAddr is not an IP (e.g. a Unix socket).
func (p ProxyPolicy) ClientIP(r *http.Request) netip.Addr {
	hop, ok := parseHop(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !p.trusted(hop) {
		return hop
	}
	xff := r.Header.Values("X-Forwarded-For")
	// Several header lines form one list, in order.
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseHop(entries[j])
			if !ok {
				return hop
			}
			hop = a
			if !p.trusted(hop) {
				return hop
			}
		}
	}
	return hop
}

func (p ProxyPolicy) trusted(a netip.Addr) bool {
	for _, pr := range p.Trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop parses an address as found in RemoteAddr or X-Forwarded-For:
// "ip", "ip:port", "[ipv6]:port" or "[ipv6]". IPv4-mapped IPv6 addresses
// are unmapped and zones dropped, so "::ffff:10.0.0.1" matches 10.0.0.0/8.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
				return netip.Addr{}, false
			}
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	return a.Unmap().WithZone(""), true
}

// Middleware stores ClientIP in the request context (see ClientIPFrom).
func (p ProxyPolicy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), clientIPKey, p.ClientIP(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ClientIPFrom returns the address stored by ProxyPolicy.Middleware, or
// the zero Addr (IsValid false) if there is none.
func ClientIPFrom(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(clientIPKey).(netip.Addr)
	return a
}
