package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// formToken finds a page's form token.
var formToken = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// BenchmarkPasskeyStart is the "Sign in with a passkey" button through
// the whole HTTP surface: the form token checked, a sign-in flow with a
// fresh WebAuthn challenge written to SQLite, the passkey page rendered
// with its options.
func BenchmarkPasskeyStart(b *testing.B) {
	s := newSiteAt(b, sqliteStore, true)
	h := s.a.Handler()
	path := "/" + s.tenant.ID + "/signin"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	m := formToken.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatal("no form token")
	}
	cookies := rec.Result().Cookies()
	body := url.Values{"step": {"passkeyStart"}, "csrf": {m[1]}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-page="signin-passkey"`) {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
