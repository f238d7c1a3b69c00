package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// policyFacts adapts the tenant's stored settings to what the pure
// sign-in decision reads. Settings are read on every step of every
// sign-in but change rarely, so each node keeps them for settingsTTL: a
// change reaches all nodes within that time.
type policyFacts struct {
	p     *authpolicy.Service
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]tenantSettings
}

type tenantSettings struct {
	sd   authpolicy.SecurityDefaults
	pol  authpolicy.Policy
	read time.Time
}

const settingsTTL = 5 * time.Second

func (f *policyFacts) settings(ctx context.Context, tenantID string) (authpolicy.SecurityDefaults, authpolicy.Policy, error) {
	now := f.now()
	f.mu.Lock()
	c, ok := f.cache[tenantID]
	f.mu.Unlock()
	if ok && now.Sub(c.read) < settingsTTL && !now.Before(c.read) {
		return c.sd, c.pol, nil
	}
	sd, err := f.p.SecurityDefaults(ctx, tenantID)
	if err != nil {
		return sd, authpolicy.Policy{}, err
	}
	pol, err := f.p.Load(ctx, tenantID)
	if err != nil {
		return sd, pol, err
	}
	f.mu.Lock()
	if len(f.cache) > 10_000 {
		clear(f.cache) // bounded; refilled on demand
	}
	f.cache[tenantID] = tenantSettings{sd: sd, pol: pol, read: now}
	f.mu.Unlock()
	return sd, pol, nil
}

// forget drops a tenant's cached settings (this node changed them).
func (f *policyFacts) forget(tenantID string) {
	f.mu.Lock()
	delete(f.cache, tenantID)
	f.mu.Unlock()
}

func (f *policyFacts) TenantFacts(ctx context.Context, tenantID string, u store.User, groups []string) (policy.Tenant, error) {
	sd, pol, err := f.settings(ctx, tenantID)
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
	facts := &policyFacts{p: a.Policies, now: time.Now, cache: map[string]tenantSettings{}}
	a.Policies.Changed = facts.forget
	return &signin.Engine{Store: a.Store, Passwords: &signin.Passwords{Store: a.Store, Hasher: a.Hasher, Log: a.Log},
		Methods: a.SecurityInfo, Policy: facts, Lockout: signin.DefaultLockoutPolicy(),
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
