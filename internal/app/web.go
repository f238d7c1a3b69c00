package app

import (
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/web"
)

// mountPages adds the end-user pages (sign-in, security info, password
// reset, my apps) to mux.
func (a *App) mountPages(mux *http.ServeMux) {
	p := &web.Pages{Engine: a.SignIn, Methods: a.SecurityInfo, Store: a.Store, Hasher: a.Hasher,
		ResolveTenant: a.Admin.ResolveTenant, CSRFKey: a.Keys.Derive("web-form-token"),
		SecureCookies: a.Config.SecureCookies(), Log: a.Log,
		// The pages read the engine's clock, so tests that move it move both.
		Now: func() time.Time {
			if a.SignIn.Now != nil {
				return a.SignIn.Now()
			}
			return time.Now()
		}}
	p.Mount(mux)
}
