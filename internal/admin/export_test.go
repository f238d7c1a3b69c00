package admin

import "time"

// SetTenantCacheClock lets tests move the tenant cache's clock (after
// CacheTenants).
func SetTenantCacheClock(s *Service, now func() time.Time) { s.tenants.clock = now }
