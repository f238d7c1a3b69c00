package app

import (
	"context"
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/webui"
)

// wireWebAuthn makes vakt a WebAuthn relying party for its public URL.
// Browsers refuse an IP address as relying party id, so with such a URL
// security keys and passkeys stay off (and are not offered at sign-in);
// the HTTP handler says so once (CLI commands build the app too, and
// should not print it).
func (a *App) wireWebAuthn() {
	rp, err := webauthn.New(a.Config.PublicURL, "vakt")
	if err != nil {
		return
	}
	a.SecurityInfo.WebAuthn = rp
	a.SecurityInfo.Fido2Policy = func(ctx context.Context, tenantID string) (webauthn.Policy, error) {
		pol, err := a.Policies.Load(ctx, tenantID)
		if err != nil {
			return webauthn.Policy{}, err
		}
		return fido2Policy(pol.Methods.Fido2), nil
	}
}

// fido2Policy is the FIDO2 method configuration as key policy.
func fido2Policy(c authpolicy.Fido2Config) webauthn.Policy {
	kr := c.KeyRestrictions
	return webauthn.Policy{SelfService: c.IsSelfServiceRegistrationAllowed, AttestationEnforced: c.IsAttestationEnforced,
		Restricted: kr.IsEnforced, Allow: kr.EnforcementType == "allow", AAGUIDs: kr.AAGuids}
}

// mountWebAuthn adds the JSON key registration endpoints (the pages'
// forms are internal/web's).
func (a *App) mountWebAuthn(mux *http.ServeMux) {
	if _, err := webauthn.New(a.Config.PublicURL, "vakt"); err != nil {
		a.Log.Warn("security keys and passkeys are unavailable", "err", err)
	}
	h := &webui.Handler{SignIn: a.SignIn, SecurityInfo: a.SecurityInfo, Tenant: a.Admin.ResolveTenant,
		Now: func() time.Time {
			if a.SignIn.Now != nil {
				return a.SignIn.Now()
			}
			return time.Now()
		}}
	h.Mount(mux)
}
