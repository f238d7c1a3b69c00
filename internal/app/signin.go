package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// policyFacts adapts the tenant's stored settings to what the pure
// sign-in decision reads.
type policyFacts struct{ p *authpolicy.Service }

func (f policyFacts) TenantFacts(ctx context.Context, tenantID string, u store.User, groups []string) (policy.Tenant, error) {
	sd, err := f.p.SecurityDefaults(ctx, tenantID)
	if err != nil {
		return policy.Tenant{}, err
	}
	pol, err := f.p.Load(ctx, tenantID)
	if err != nil {
		return policy.Tenant{}, err
	}
	t := policy.Tenant{SecurityDefaults: sd.Enabled, SecurityDefaultsEnabledAt: sd.EnabledAt,
		Allowed: pol.AllowedOptions(u.ID, groups), SystemPreferred: pol.SystemPreferredApplies(u.ID, groups)}
	if u.SystemPreferredMFA != nil {
		t.SystemPreferred = *u.SystemPreferredMFA // the user's own switch wins
	}
	var days int
	t.Campaign, days = pol.CampaignApplies(u.ID, groups)
	t.CampaignSnooze = time.Duration(days) * 24 * time.Hour
	return t, nil
}

// newEngine builds the sign-in engine over the app's services.
func (a *App) newEngine() *signin.Engine {
	// The fingerprint key for wrong passwords is derived from the master
	// key, so it is the same on every node and never stored.
	return &signin.Engine{Store: a.Store, Passwords: &signin.Passwords{Store: a.Store, Hasher: a.Hasher, Log: a.Log},
		Methods: a.SecurityInfo, Policy: policyFacts{a.Policies}, Lockout: signin.DefaultLockoutPolicy(),
		FingerprintKey: a.Keys.Derive("wrong-password-fingerprint"), FlowTTL: 15 * time.Minute, SessionTTL: 12 * time.Hour, PersistentTTL: 90 * 24 * time.Hour,
		Logger: a.Log}
}

// serveAPI routes /{tenant}/api/… to the sign-in API, which answers an
// unknown tenant in its own error shape.
func (a *App) serveAPI(api *signin.API) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := a.Admin.ResolveTenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			api.Fail(w, r, err)
			return
		}
		// The API routes on what follows /{tenant}/api/.
		api.Serve(w, r, t, strings.TrimPrefix(r.URL.Path, "/"+r.PathValue("tenant")+"/api/"))
	}
}

// allowedKinds is the methods policy as it applies to one user.
func (a *App) allowedKinds(ctx context.Context, tenantID, userID string) (map[method.Kind]bool, error) {
	groups, err := a.Store.TransitiveGroupIDs(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	pol, err := a.Policies.Load(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return pol.AllowedKinds(userID, groups), nil
}
