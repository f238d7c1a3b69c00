package web

import (
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

// TestAppHome: a web or single-page app opens at the origin of a redirect
// URI (https first); native and service apps are not links.
func TestAppHome(t *testing.T) {
	for _, c := range []struct {
		name string
		app  store.App
		want string
	}{
		{"web", store.App{RedirectURIs: []string{"https://wiki.contoso.com/auth/callback"}}, "https://wiki.contoso.com/"},
		{"web with port", store.App{RedirectURIs: []string{"https://wiki.contoso.com:8443/cb?x=1"}}, "https://wiki.contoso.com:8443/"},
		{"spa", store.App{SPARedirectURIs: []string{"https://spa.contoso.com/app/"}}, "https://spa.contoso.com/"},
		{"https before loopback", store.App{RedirectURIs: []string{"http://localhost:3000/cb"}, SPARedirectURIs: []string{"https://spa.contoso.com/"}}, "https://spa.contoso.com/"},
		{"loopback only", store.App{RedirectURIs: []string{"http://127.0.0.1:9/cb"}}, "http://127.0.0.1:9/"},
		{"native", store.App{PublicClientRedirectURIs: []string{"com.contoso.app:/cb", "http://127.0.0.1/cb", "https://login.contoso.com/native"}}, ""},
		{"service", store.App{}, ""},
		{"not a web address", store.App{RedirectURIs: []string{"javascript:alert(1)", "ftp://x.example/", "https:///nohost", "https://user@evil.example/"}}, ""},
	} {
		if got := appHome(c.app); got != c.want {
			t.Errorf("%s: appHome = %q, want %q", c.name, got, c.want)
		}
	}
}
