package admin

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// tenantCache keeps resolved tenants for a few seconds. Every request
// under /{tenant}/… resolves its tenant, which would otherwise cost two
// queries (the tenant and its domains) three times per interactive
// sign-in. Changes made through this Service drop the entry at once;
// changes made by another process (the CLI, another node) show within the
// TTL, as with the policy settings cache.
type tenantCache struct {
	ttl time.Duration
	// clock is real time, not the Service's business clock: the TTL is
	// about how fresh the copy is. Tests may set it.
	clock func() time.Time
	mu    sync.RWMutex
	m     map[string]cachedTenant // by id and by lower-cased domain
}

type cachedTenant struct {
	t       store.Tenant
	expires time.Time
}

// maxCachedRefs bounds the map: refs come from URLs, and only refs that
// resolved are cached, so this only matters for very many tenants.
const maxCachedRefs = 10000

func (c *tenantCache) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

func (c *tenantCache) get(ref string, now time.Time) (store.Tenant, bool) {
	c.mu.RLock()
	e, ok := c.m[strings.ToLower(ref)]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return store.Tenant{}, false
	}
	return clone(e.t), true
}

func (c *tenantCache) put(ref string, t store.Tenant, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedRefs {
		c.m = map[string]cachedTenant{}
	}
	c.m[strings.ToLower(ref)] = cachedTenant{t: clone(t), expires: now.Add(c.ttl)}
}

// forget drops every ref that resolves to tenantID.
func (c *tenantCache) forget(tenantID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.t.ID == tenantID {
			delete(c.m, k)
		}
	}
}

// clone copies the slices so that a caller changing its copy cannot
// change what others read from the cache.
func clone(t store.Tenant) store.Tenant {
	t.Domains = slices.Clone(t.Domains)
	t.BannedPasswords = slices.Clone(t.BannedPasswords)
	return t
}
