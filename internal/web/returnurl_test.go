package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturnURL(t *testing.T) {
	for _, ok := range []string{"/", "/contoso.com/myapps", "/t/oauth2/v2.0/authorize?client_id=a&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "/a/b#frag"} {
		if got, good := safeReturnURL(ok); !good || got != ok {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil", "javascript:alert(1)",
		"/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil", "http:/evil", " /x", "/x\ny", "/x\ty", "evil.example", "///x",
		"/" + strings.Repeat("a", maxReturnURL), "/\u2028x", "/%zz"} {
		if _, good := safeReturnURL(bad); good {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzSafeReturnURL: whatever is accepted is a path on this host, both as
// written and once unescaped.
func FuzzSafeReturnURL(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "//x", "/\\x", "https://x", "/%2F%2Fx", "/a/../..//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := safeReturnURL(s)
		if !ok {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\r\n\t") || strings.HasPrefix(u.Path, "//") {
			t.Fatalf("accepted %q (parsed %#v)", got, u)
		}
		// A browser resolving it against this site stays on this site.
		base, _ := url.Parse("https://vakt.example/t/signin")
		if r := base.ResolveReference(u); r.Host != "vakt.example" {
			t.Fatalf("%q leads to %s", got, r.Host)
		}
	})
}

func TestStrength(t *testing.T) {
	for pw, want := range map[string]string{"": "weak", "abc": "weak", "password": "weak", "aaaaaaaaaaaaaaaa": "weak",
		"Tr0ub4dor&3": "fair", "correct horse battery staple": "strong", "Gröna-Äpplen-Faller-Tyst-7": "strong"} {
		if got := Strength(pw); got != want {
			t.Errorf("Strength(%q) = %s, want %s", pw, got, want)
		}
	}
}

func TestPickLanguage(t *testing.T) {
	for h, want := range map[string]string{"": "en", "sv-SE,sv;q=0.9": "sv", "sv": "sv", "nb,sv;q=0.8,en;q=0.5": "sv",
		"en-GB,en;q=0.9,sv;q=0.8": "en", "de-DE": "en", "fi-FI,sv-FI;q=0.8": "sv", ";;;garbage": "en"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", h)
		if got := pickLanguage(r); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", h, got, want)
		}
	}
}
