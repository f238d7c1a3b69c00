package app

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/vakt-id/vakt/internal/authenticator"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// newAuthenticator builds vakt's authenticator over the app's services
// and hands it to the sign-in engine.
func (a *App) newAuthenticator() *authenticator.Service {
	cfg := authenticator.DefaultConfig()
	if t := a.Config.Authenticator.PushTimeout; t > 0 {
		cfg.ChallengeTTL = t
	}
	if n := a.Config.Authenticator.PushesPerHour; n > 0 {
		cfg.PushesPerHour = n
	}
	return &authenticator.Service{Store: a.Store, Methods: a.SecurityInfo, Features: a.authenticatorFeatures,
		Locate:    func(ip netip.Addr) string { return ca.LookupCountry(a.caEval.country, ip) },
		PublicURL: a.Config.PublicURL, Config: cfg, Log: a.Log}
}

// authenticatorFeatures reads the Microsoft Authenticator settings of the
// methods policy as they apply to one user.
func (a *App) authenticatorFeatures(ctx context.Context, tenantID, userID string) (authenticator.Features, error) {
	groups, err := a.Store.TransitiveGroupIDs(ctx, tenantID, userID)
	if err != nil {
		return authenticator.Features{}, err
	}
	pol, err := a.Policies.Load(ctx, tenantID)
	if err != nil {
		return authenticator.Features{}, err
	}
	m := pol.Methods.MicrosoftAuthenticator
	fs := m.FeatureSettings
	return authenticator.Features{
		SoftwareOath: m.IsSoftwareOathEnabled && authpolicy.Applies(m, userID, groups),
		ShowApp:      authpolicy.FeatureApplies(fs.DisplayAppInformationRequiredState, userID, groups),
		ShowLocation: authpolicy.FeatureApplies(fs.DisplayLocationInformationRequiredState, userID, groups),
	}, nil
}

// serveAuthenticator routes /{tenant}/api/authenticator/… to the device
// API.
func (a *App) serveAuthenticator(api *authenticator.API) http.HandlerFunc {
	return a.withTenant(func(w http.ResponseWriter, r *http.Request, t store.Tenant) {
		api.Serve(w, r, t, strings.TrimPrefix(r.URL.Path, "/"+r.PathValue("tenant")+"/api/authenticator/"))
	})
}
