// Package admin holds vakt's administrative operations: validate the
// request, check the actor's permission, write the change and its audit
// entry in one transaction. The command line and the Graph-compatible API
// both call these, so a rule holds the same way on either path.
package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
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
}

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

// auditEntry builds an entry initiated by actor.
func (s *Service) auditEntry(ctx context.Context, actor directory.Actor, tenantID, activity, category, op string, targets ...store.AuditTarget) store.AuditEntry {
	by := store.AuditInitiator{
		UserID: actor.UserID, UserUPN: actor.UPN, UserName: actor.DisplayName, IPAddress: actor.IPAddress,
		AppID: actor.AppID, AppName: actor.AppName,
	}
	if actor.Operator {
		by.AppName = "vakt command line"
		if by.UserName == "" {
			by.UserName = "local operator"
		}
	}
	details := map[string]string{}
	if actor.UserID == "" && actor.IPAddress != "" {
		// initiatedBy.app has no address field; keep the caller's here.
		details["ipAddress"] = actor.IPAddress
	}
	return store.AuditEntry{
		ID: uuid.NewString(), TenantID: tenantID, ActivityAt: s.now(), Activity: activity, Category: category,
		OperationType: op, Result: "success", CorrelationID: CorrelationID(ctx), LoggedByService: "Core Directory",
		InitiatedBy: by, Targets: targets, AdditionalDetails: details,
	}
}

type correlationKey struct{}

// WithCorrelationID tags ctx so audit entries carry the request's id.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the request's id, or a new one.
func CorrelationID(ctx context.Context) string {
	if id, ok := ctx.Value(correlationKey{}).(string); ok && id != "" {
		return id
	}
	return uuid.NewString()
}

// prop records one modified property with JSON-encoded values, the way
// directory audit entries show them.
func prop(name string, oldV, newV any) store.ModifiedProperty {
	enc := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return store.ModifiedProperty{DisplayName: name, OldValue: enc(oldV), NewValue: enc(newV)}
}

func userTarget(u store.User, props ...store.ModifiedProperty) store.AuditTarget {
	if props == nil {
		props = []store.ModifiedProperty{}
	}
	return store.AuditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UPN, ModifiedProperties: props}
}

func groupTarget(g store.Group, props ...store.ModifiedProperty) store.AuditTarget {
	if props == nil {
		props = []store.ModifiedProperty{}
	}
	return store.AuditTarget{ID: g.ID, DisplayName: g.DisplayName, Type: "Group", ModifiedProperties: props}
}
