package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSignInPage renders the first sign-in page through the whole
// HTTP surface (tenant lookup on SQLite, language choice, form token,
// template).
func BenchmarkSignInPage(b *testing.B) {
	s := newSite(b, sqliteStore)
	h := s.a.Handler()
	path := "/" + s.tenant.ID + "/signin"
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept-Language", "sv-SE,sv;q=0.9,en;q=0.8")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
