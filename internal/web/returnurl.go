package web

import (
	"net/url"
	"strings"
	"unicode"
)

// maxReturnURL bounds a return address (an OIDC authorize request with
// its parameters fits easily).
const maxReturnURL = 2048

// safeReturnURL accepts only a path on this host: it must start with a
// single "/", and must not carry a scheme, a host, a backslash (browsers
// read "/\evil" as "//evil") or control characters. Anything else could
// send a person who just signed in to another site (an open redirect).
func safeReturnURL(s string) (string, bool) {
	if s == "" || len(s) > maxReturnURL || s[0] != '/' {
		return "", false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return "", false
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	// A path that decodes to "//host" is just as dangerous once some
	// other component unescapes it.
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') {
		return "", false
	}
	return s, true
}
