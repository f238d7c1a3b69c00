package store

import (
	"context"
	"time"
)

// CAPolicy is a conditional access policy (P-7). The store keeps the
// policy's whole Graph document (graph-api.md §3, validated by
// internal/capolicy) and, beside it, the columns that lists filter and
// order by.
type CAPolicy struct {
	ID          string
	TenantID    string
	DisplayName string
	// State is enabled, disabled or enabledForReportingButNotEnforced.
	State      string
	CreatedAt  time.Time
	ModifiedAt time.Time
	// Doc is the policy as Graph shows it: one JSON object.
	Doc []byte
	// LocationIDs are the named locations the policy includes or
	// excludes. The store keeps them as references, so that a location
	// in use cannot be deleted and a policy cannot name a location that
	// does not exist (ErrInvalid).
	LocationIDs []string
}

// Named location kinds.
const (
	NamedLocationIP      = "ip"
	NamedLocationCountry = "country"
)

// NamedLocation is a named location of conditional access: IP ranges or
// countries, as its Graph document.
type NamedLocation struct {
	ID          string
	TenantID    string
	DisplayName string
	Kind        string // NamedLocationIP or NamedLocationCountry
	CreatedAt   time.Time
	ModifiedAt  time.Time
	// Doc is the location as Graph shows it: one JSON object.
	Doc []byte
}

// ConditionalAccess stores conditional access policies and named
// locations. A store.Store of the SQL backends implements it; callers
// reach it by a type assertion until Store embeds it.
type ConditionalAccess interface {
	// LockConditionalAccess serialises changes to a tenant's policies and
	// named locations inside InTx, so that limits and references hold
	// under concurrency (on every node).
	LockConditionalAccess(ctx context.Context, tenantID string) error

	CreateCAPolicy(ctx context.Context, p CAPolicy) error
	GetCAPolicy(ctx context.Context, tenantID, id string) (CAPolicy, error)
	// ListCAPolicies pages oldest first unless ordered otherwise.
	// Filterable and orderable: id, displayName (case-insensitive),
	// state, createdDateTime, modifiedDateTime.
	ListCAPolicies(ctx context.Context, tenantID string, q ListQuery) (Page[CAPolicy], error)
	// UpdateCAPolicy applies fn in one transaction (id, tenant and
	// creation time cannot change) and replaces the location references.
	UpdateCAPolicy(ctx context.Context, tenantID, id string, fn func(*CAPolicy) error) (CAPolicy, error)
	DeleteCAPolicy(ctx context.Context, tenantID, id string) error
	// CountCAPolicies counts the tenant's policies in state, or all of
	// them when state is "".
	CountCAPolicies(ctx context.Context, tenantID, state string) (int, error)
	// CAPoliciesUsingLocation lists the policies that name a location,
	// oldest first.
	CAPoliciesUsingLocation(ctx context.Context, tenantID, locationID string) ([]CAPolicy, error)

	CreateNamedLocation(ctx context.Context, l NamedLocation) error
	GetNamedLocation(ctx context.Context, tenantID, id string) (NamedLocation, error)
	// ListNamedLocations pages oldest first unless ordered otherwise.
	// Filterable and orderable: id, displayName (case-insensitive),
	// createdDateTime, modifiedDateTime.
	ListNamedLocations(ctx context.Context, tenantID string, q ListQuery) (Page[NamedLocation], error)
	// UpdateNamedLocation applies fn in one transaction; id, tenant, kind
	// and creation time cannot change.
	UpdateNamedLocation(ctx context.Context, tenantID, id string, fn func(*NamedLocation) error) (NamedLocation, error)
	// DeleteNamedLocation removes a location; one that a policy names is
	// ErrConflict.
	DeleteNamedLocation(ctx context.Context, tenantID, id string) error
	CountNamedLocations(ctx context.Context, tenantID string) (int, error)
}
