package admin

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzValidRedirectURI: whatever a caller sends, an accepted redirect URI
// parses, has no fragment or wildcard, and is https, http on a loopback
// host, or (publicClient only) a private scheme with a dot.
func FuzzValidRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://localhost:8400/", "http://127.0.0.1/x", "http://evil.example/",
		"com.contoso.app:/cb", "javascript:alert(1)", "https://a.example/#f", "https://*.example/", "", "http://[::1]:80/",
		"https:///nohost", "HTTPS://A.EXAMPLE/", "data:text/html,x"} {
		f.Add("web", s)
		f.Add("publicClient", s)
	}
	f.Fuzz(func(t *testing.T, platform, raw string) {
		if !validRedirectURI(platform, raw) {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Fragment != "" || strings.ContainsAny(raw, "*# ") || len(raw) > maxRedirectURILength {
			t.Fatalf("accepted %q (%v)", raw, err)
		}
		switch u.Scheme {
		case "https":
			if u.Host == "" {
				t.Fatalf("accepted https without a host: %q", raw)
			}
		case "http":
			if !isLoopback(u.Hostname()) {
				t.Fatalf("accepted http on %q", u.Hostname())
			}
		default:
			if platform != "publicClient" || !strings.Contains(u.Scheme, ".") {
				t.Fatalf("accepted scheme %q for %s", u.Scheme, platform)
			}
		}
	})
}
