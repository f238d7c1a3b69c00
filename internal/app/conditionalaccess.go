package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// caSource loads a tenant's conditional-access policies and named
// locations (internal/capolicy).
type caSource interface {
	Definitions(ctx context.Context, tenantID string) ([]ca.Policy, []ca.NamedLocation, error)
}

// caEvaluator evaluates conditional access for the sign-in engine. The
// compiled set of each tenant is kept for settingsTTL (dropped at once
// when this node changes the tenant's policies), since compiling large
// named locations costs far more than evaluating them.
type caEvaluator struct {
	src     caSource
	country ca.CountryLookup
	now     func() time.Time
	mu      sync.Mutex
	cache   map[string]compiledSet
	results sync.Pool // *[]ca.Result
}

type compiledSet struct {
	set  *ca.Set
	read time.Time
}

var _ signin.ConditionalAccess = (*caEvaluator)(nil)

func newCAEvaluator(src caSource, country ca.CountryLookup) *caEvaluator {
	return &caEvaluator{src: src, country: country, now: time.Now, cache: map[string]compiledSet{}}
}

// forget drops a tenant's compiled policies.
func (c *caEvaluator) forget(tenantID string) {
	c.mu.Lock()
	delete(c.cache, tenantID)
	c.mu.Unlock()
}

func (c *caEvaluator) set(ctx context.Context, tenantID string) (*ca.Set, error) {
	now := c.now()
	c.mu.Lock()
	cs, ok := c.cache[tenantID]
	c.mu.Unlock()
	if ok && now.Sub(cs.read) < settingsTTL && !now.Before(cs.read) {
		return cs.set, nil
	}
	ps, ls, err := c.src.Definitions(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	set, err := ca.Compile(ps, ls)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.cache) > 10_000 {
		clear(c.cache)
	}
	c.cache[tenantID] = compiledSet{set: set, read: now}
	c.mu.Unlock()
	return set, nil
}

// Evaluate returns the grants of the enforced policies that apply and
// every policy's result for the sign-in log.
func (c *caEvaluator) Evaluate(ctx context.Context, tenantID string, in signin.CAInput) ([]policy.Grant, []store.AppliedCAPolicy, error) {
	set, err := c.set(ctx, tenantID)
	if err != nil || set.Len() == 0 {
		return nil, nil, err
	}
	input := ca.Input{UserID: in.User.ID, Groups: in.Groups, Roles: in.Roles, Guest: in.User.UserType == "guest",
		AppID: in.AppID, AdminSurface: in.Request.AdminSurface, Client: in.Client, IP: in.IP,
		Platform: in.Platform, Compliant: in.Request.Compliant, SignInRisk: in.Request.SignInRisk, UserRisk: policy.RiskNone}
	if set.NeedsCountry() {
		input.Country = ca.LookupCountry(c.country, in.IP)
	}
	// One results buffer per concurrent sign-in, reused: a tenant with many
	// policies would otherwise allocate tens of kilobytes per sign-in.
	buf, _ := c.results.Get().(*[]ca.Result)
	if buf == nil {
		buf = new([]ca.Result)
	}
	out, results := set.Evaluate(input, (*buf)[:0])
	satisfied := func(g policy.Grant) bool { return g.SatisfiedBy(in.Request) }
	applied := ca.LogResults(results, satisfied, !in.Client.Legacy())
	*buf = results[:0]
	c.results.Put(buf)
	return out.Grants, applied, nil
}

// caDefinitions reads the stored Graph documents into the engine's types.
type caDefinitions struct{ s *capolicy.Service }

func (d caDefinitions) Definitions(ctx context.Context, tenantID string) ([]ca.Policy, []ca.NamedLocation, error) {
	stored, err := d.s.AllPolicies(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	ps := make([]ca.Policy, len(stored))
	for i, p := range stored {
		if err := json.Unmarshal(p.Doc, &ps[i]); err != nil {
			return nil, nil, fmt.Errorf("conditional access policy %s: %w", p.ID, err)
		}
	}
	locs, err := d.s.AllNamedLocations(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	ls := make([]ca.NamedLocation, len(locs))
	for i, l := range locs {
		if err := json.Unmarshal(l.Doc, &ls[i]); err != nil {
			return nil, nil, fmt.Errorf("named location %s: %w", l.ID, err)
		}
	}
	return ps, ls, nil
}
