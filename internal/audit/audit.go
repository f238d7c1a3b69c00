// Package audit builds directory audit entries (P-11.4) the same way for
// every service that changes something on an administrator's or a user's
// behalf. Entries are written by the caller, in the transaction of the
// change they record.
package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// Service names for loggedByService.
const (
	CoreDirectory         = "Core Directory"
	AuthenticationMethods = "Authentication Methods"
)

type correlationKey struct{}

// WithCorrelationID tags ctx so entries carry the request's id.
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

// Entry describes one change; New turns it into a store entry.
type Entry struct {
	Activity  string // activityDisplayName, e.g. "Add user"
	Category  string // e.g. UserManagement
	Operation string // Add, Update, Delete, Assign, Unassign
	Service   string // loggedByService; CoreDirectory when empty
	Targets   []store.AuditTarget
	Details   map[string]string
}

// New builds the entry initiated by actor at now.
func New(ctx context.Context, actor directory.Actor, tenantID string, now time.Time, e Entry) store.AuditEntry {
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
	for k, v := range e.Details {
		details[k] = v
	}
	if actor.UserID == "" && actor.IPAddress != "" {
		// initiatedBy.app has no address field; keep the caller's here.
		details["ipAddress"] = actor.IPAddress
	}
	if e.Service == "" {
		e.Service = CoreDirectory
	}
	targets := e.Targets
	if targets == nil {
		targets = []store.AuditTarget{}
	}
	for i := range targets {
		if targets[i].ModifiedProperties == nil {
			targets[i].ModifiedProperties = []store.ModifiedProperty{}
		}
	}
	return store.AuditEntry{
		ID: uuid.NewString(), TenantID: tenantID, ActivityAt: now.UTC().Truncate(time.Microsecond), Activity: e.Activity,
		Category: e.Category, OperationType: e.Operation, Result: "success", CorrelationID: CorrelationID(ctx),
		LoggedByService: e.Service, InitiatedBy: by, Targets: targets, AdditionalDetails: details,
	}
}

// Prop records one modified property with JSON-encoded values, the way
// directory audit entries show them; a nil side is empty.
func Prop(name string, oldV, newV any) store.ModifiedProperty {
	enc := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return store.ModifiedProperty{DisplayName: name, OldValue: enc(oldV), NewValue: enc(newV)}
}

// UserTarget names a user as the target of a change.
func UserTarget(u store.User, props ...store.ModifiedProperty) store.AuditTarget {
	return store.AuditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UPN, ModifiedProperties: props}
}

// GroupTarget names a group as the target of a change.
func GroupTarget(g store.Group, props ...store.ModifiedProperty) store.AuditTarget {
	return store.AuditTarget{ID: g.ID, DisplayName: g.DisplayName, Type: "Group", ModifiedProperties: props}
}

// ObjectTarget names a user or group by its directory object.
func ObjectTarget(o store.DirectoryObject) store.AuditTarget {
	typ := "User"
	if o.Kind == store.KindGroup {
		typ = "Group"
	}
	return store.AuditTarget{ID: o.ID, DisplayName: o.DisplayName, Type: typ, UserPrincipalName: o.UPN}
}
