// Package admin holds vakt's administrative operations: validate the
// request, check the actor's permission, write the change and its audit
// entry in one transaction. The command line and the Graph-compatible API
// both call these, so a rule holds the same way on either path.
package admin

import (
	"context"
	"log/slog"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// Passwords hashes and checks new passwords (internal/password).
type Passwords interface {
	Hash(ctx context.Context, password string) (string, error)
	// Check applies the password rules (length, the built-in and the
	// tenant's banned lists, similarity to the user's own names) and
	// returns an error whose message is safe to show.
	Check(password string, tenantBanned []string, userContext ...string) error
}

// Service performs admin operations on the store.
type Service struct {
	Store     store.Store
	Passwords Passwords
	Now       func() time.Time
	Log       *slog.Logger
	// tenants caches resolved tenants (CacheTenants); nil resolves from
	// the store every time. A pointer, so copies of a Service share it.
	tenants *tenantCache
}

// CacheTenants makes ResolveTenant keep what it resolves for ttl (see
// tenantCache). Call it before the Service is shared.
func (s *Service) CacheTenants(ttl time.Duration) { s.tenants = &tenantCache{ttl: ttl} }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// authorize refuses an actor that may not perform act.
func authorize(actor directory.Actor, act directory.Action) error {
	if !directory.Allowed(actor, act) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return nil
}

// Result is what an audited change reports back besides its object:
// warnings for the caller (CLI prints them, the API sends a header).
type Result struct {
	Warnings []string
}

// auditEntry builds an entry initiated by actor (see internal/audit).
func (s *Service) auditEntry(ctx context.Context, actor directory.Actor, tenantID, activity, category, op string, targets ...store.AuditTarget) store.AuditEntry {
	return audit.New(ctx, actor, tenantID, s.now(), audit.Entry{Activity: activity, Category: category, Operation: op, Targets: targets})
}

var (
	prop        = audit.Prop
	userTarget  = audit.UserTarget
	groupTarget = audit.GroupTarget
)
