// Package store defines vakt's persistence contract: the entity types, the
// sentinel errors, and the Store interface that every backend (SQLite,
// PostgreSQL) implements and that storetest checks.
//
// Every method that reads or writes tenant data takes the tenant id and
// every backend query is scoped by it, so no call can reach another
// tenant's rows (P-1.1).
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors at the store boundary. Callers test them with errors.Is.
var (
	// ErrNotFound: no such object in this tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule was broken (duplicate UPN, domain,
	// membership, role assignment, app id).
	ErrConflict = errors.New("conflict")
	// ErrCycle: a group membership change would make a group contain itself.
	ErrCycle = errors.New("group membership cycle")
	// ErrInvalid: the request names objects that cannot be combined (a
	// member of the wrong kind, a reference to another tenant's object).
	ErrInvalid = errors.New("invalid reference")
	// ErrExhausted: a one-time code has had all its attempts.
	ErrExhausted = errors.New("attempts exhausted")
)

// PerUserMFAState is the legacy per-user MFA state (P-3.1).
type PerUserMFAState string

const (
	PerUserMFADisabled PerUserMFAState = "disabled"
	PerUserMFAEnabled  PerUserMFAState = "enabled"
	PerUserMFAEnforced PerUserMFAState = "enforced"
)

// Valid reports whether s is one of the three states.
func (s PerUserMFAState) Valid() bool {
	switch s {
	case PerUserMFADisabled, PerUserMFAEnabled, PerUserMFAEnforced:
		return true
	}
	return false
}

// Tenant is an organisation. Domains are lower-case and unique across
// all tenants, since a domain names a tenant in URLs.
type Tenant struct {
	ID          string
	DisplayName string
	Domains     []string
	// BannedPasswords is the tenant's own list, checked besides the
	// built-in one (lower-case words).
	BannedPasswords []string
	CreatedAt       time.Time
}

// ObjectKind distinguishes the directory objects that share one id space.
type ObjectKind string

const (
	KindUser  ObjectKind = "user"
	KindGroup ObjectKind = "group"
)

// User is a directory user (P-1.2). UPN uniqueness is case-insensitive
// within a tenant; the stored UPN keeps the case it was created with.
type User struct {
	ID                  string
	TenantID            string
	UPN                 string
	DisplayName         string
	Mail                string
	MobilePhone         string
	AccountEnabled      bool
	PasswordHash        string // PHC string; empty when the user has no password
	ForceChangePassword bool
	PerUserMFA          PerUserMFAState
	UserType            string // "member" or "guest"
	CreatedAt           time.Time
	UpdatedAt           time.Time
	LastSignInAt        *time.Time
	// PreferredMFA is the user's own choice of second factor
	// (signInPreferences.userPreferredMethodForSecondaryAuthentication);
	// empty when they made none.
	PreferredMFA string
	// SystemPreferredMFA is the per-user switch of system-preferred MFA
	// (isSystemPreferredAuthenticationMethodEnabled): nil follows the
	// tenant's setting.
	SystemPreferredMFA *bool
	// MFAGraceStartedAt is the user's first sign-in after security
	// defaults were turned on: the 14-day registration grace counts from
	// here (P-4.2). Nil until then.
	MFAGraceStartedAt *time.Time
	// RegistrationSnoozedUntil is when the registration campaign may nudge
	// the user again (P-5.2).
	RegistrationSnoozedUntil *time.Time
}

// Group is a directory group; members are users or groups (P-1.3).
type Group struct {
	ID           string
	TenantID     string
	DisplayName  string
	Description  string
	MailNickname string
	CreatedAt    time.Time
}

// DirectoryObject is a user or a group reduced to what lists of members need.
type DirectoryObject struct {
	ID          string
	Kind        ObjectKind
	DisplayName string
	UPN         string // users only
}

// RoleAssignment grants a directory role (by its template id) to a user or
// a group, tenant-wide (directory scope "/").
type RoleAssignment struct {
	ID               string
	TenantID         string
	PrincipalID      string
	RoleDefinitionID string
	DirectoryScopeID string
	CreatedAt        time.Time
}

// App is an application registration. The client secret is stored only as
// a hash; Permissions are the granted application permissions (the roles
// claim of app-only tokens).
type App struct {
	ID           string // object id
	TenantID     string
	AppID        string // client id
	DisplayName  string
	SecretHash   string
	RedirectURIs []string
	Permissions  []string
	CreatedAt    time.Time
	// SPARedirectURIs and PublicClientRedirectURIs are the redirect URIs
	// of public clients (RedirectURIs are the web platform's); Passwords
	// are secrets added through Graph's addPassword.
	SPARedirectURIs          []string
	PublicClientRedirectURIs []string
	Passwords                []PasswordCredential
}

// SigningKey is a tenant's token signing key; the private key is sealed
// with the master key (internal/secret) before it reaches the store.
type SigningKey struct {
	TenantID      string
	KeyID         string
	Algorithm     string
	PrivateSealed string
	PublicJWK     []byte
	CreatedAt     time.Time
	NotAfter      *time.Time // nil while current; set when rotated out
}

// ModifiedProperty is one old/new pair of an audit entry.
type ModifiedProperty struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

// AuditTarget is an object an admin change touched.
type AuditTarget struct {
	ID                 string             `json:"id"`
	DisplayName        string             `json:"displayName"`
	Type               string             `json:"type"`
	UserPrincipalName  string             `json:"userPrincipalName,omitempty"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
}

// AuditInitiator is who made an admin change: a user, an app, or the
// local operator on the command line.
type AuditInitiator struct {
	UserID    string `json:"userId,omitempty"`
	UserUPN   string `json:"userPrincipalName,omitempty"`
	UserName  string `json:"userDisplayName,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
	AppID     string `json:"appId,omitempty"`
	AppName   string `json:"appDisplayName,omitempty"`
}

// AuditEntry is one directory audit record (P-11.4).
type AuditEntry struct {
	ID                string
	TenantID          string
	ActivityAt        time.Time
	Activity          string // activityDisplayName, e.g. "Add user"
	Category          string // e.g. "UserManagement"
	OperationType     string // Add, Update, Delete, Assign, Unassign
	Result            string // success, failure
	ResultReason      string
	CorrelationID     string
	LoggedByService   string
	InitiatedBy       AuditInitiator
	Targets           []AuditTarget
	AdditionalDetails map[string]string
}

// Filter is a backend-neutral boolean expression over named fields, built
// by internal/odata from $filter. Fields are whitelisted by the backend.
type Filter struct {
	Op    FilterOp
	Field string   // for comparisons
	Value string   // for comparisons
	Args  []Filter // for And, Or, Not
}

// FilterOp is the kind of a Filter node.
type FilterOp string

const (
	FilterEq         FilterOp = "eq"
	FilterNe         FilterOp = "ne"
	FilterStartsWith FilterOp = "startswith"
	FilterGe         FilterOp = "ge"
	FilterLe         FilterOp = "le"
	FilterGt         FilterOp = "gt"
	FilterLt         FilterOp = "lt"
	FilterAnd        FilterOp = "and"
	FilterOr         FilterOp = "or"
	FilterNot        FilterOp = "not"
)

// ListQuery selects one page of a collection. Paging is keyset-based:
// After is the opaque cursor of the last row of the previous page.
type ListQuery struct {
	Filter    *Filter
	OrderBy   string // a whitelisted field; "" means the natural order
	Desc      bool
	Limit     int
	After     string
	WantCount bool
}

// Page is one page of results; Next is empty on the last page.
type Page[T any] struct {
	Items []T
	Next  string
	Count int // total matching rows, when WantCount was set
}

// Tenants manages organisations and their domains.
type Tenants interface {
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// TenantByDomain finds the tenant owning a domain (case-insensitive).
	TenantByDomain(ctx context.Context, domain string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	AddTenantDomain(ctx context.Context, tenantID, domain string) error
	// UpdateTenant applies fn in one transaction; domains are not
	// changed through it.
	UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (Tenant, error)
}

// Users manages directory users.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	UserByUPN(ctx context.Context, tenantID, upn string) (User, error)
	ListUsers(ctx context.Context, tenantID string, q ListQuery) (Page[User], error)
	// UpdateUser reads the user, applies fn and writes the result in one
	// transaction; fn's error aborts without writing.
	UpdateUser(ctx context.Context, tenantID, id string, fn func(*User) error) (User, error)
	// SetLastSignIn records a successful sign-in's time, and nothing
	// else: every sign-in writes it, inside the commit of its session.
	SetLastSignIn(ctx context.Context, tenantID, id string, at time.Time) error
	DeleteUser(ctx context.Context, tenantID, id string) error
}

// Groups manages groups and nested membership.
type Groups interface {
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, tenantID, id string) (Group, error)
	ListGroups(ctx context.Context, tenantID string, q ListQuery) (Page[Group], error)
	UpdateGroup(ctx context.Context, tenantID, id string, fn func(*Group) error) (Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string) error
	// AddMember adds a user or group to a group. Adding a group that
	// (transitively) contains the target returns ErrCycle.
	AddMember(ctx context.Context, tenantID, groupID, memberID string) error
	RemoveMember(ctx context.Context, tenantID, groupID, memberID string) error
	ListMembers(ctx context.Context, tenantID, groupID string) ([]DirectoryObject, error)
	ListTransitiveMembers(ctx context.Context, tenantID, groupID string) ([]DirectoryObject, error)
	// MemberOf lists the groups that directly contain the object.
	MemberOf(ctx context.Context, tenantID, objectID string) ([]DirectoryObject, error)
	// TransitiveGroupIDs returns the ids of every group that contains the
	// object directly or through other groups. It runs on every sign-in.
	TransitiveGroupIDs(ctx context.Context, tenantID, objectID string) ([]string, error)
	// DirectoryObject resolves an id to a user or group of the tenant.
	DirectoryObject(ctx context.Context, tenantID, id string) (DirectoryObject, error)
}

// Roles manages directory role assignments.
type Roles interface {
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) error
	GetRoleAssignment(ctx context.Context, tenantID, id string) (RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, tenantID, id string) error
	// ListRoleAssignments lists all assignments, or those of one principal
	// when principalID is set.
	ListRoleAssignments(ctx context.Context, tenantID, principalID string) ([]RoleAssignment, error)
	// EffectiveRoleIDs returns the role template ids a user holds directly
	// or through any group it transitively belongs to.
	EffectiveRoleIDs(ctx context.Context, tenantID, userID string) ([]string, error)
	// Memberships is TransitiveGroupIDs and EffectiveRoleIDs of a user in
	// one round trip, for the sign-in path that needs both.
	Memberships(ctx context.Context, tenantID, userID string) (groups, roles []string, err error)
}

// Apps manages application registrations.
type Apps interface {
	CreateApp(ctx context.Context, a App) error
	AppByAppID(ctx context.Context, tenantID, appID string) (App, error)
	ListApps(ctx context.Context, tenantID string) ([]App, error)
}

// Keys holds per-tenant token signing keys.
type Keys interface {
	AddSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys lists the tenant's keys, newest first.
	SigningKeys(ctx context.Context, tenantID string) ([]SigningKey, error)
}

// Audit appends and reads directory audit entries.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	GetAudit(ctx context.Context, tenantID, id string) (AuditEntry, error)
	ListAudits(ctx context.Context, tenantID string, q ListQuery) (Page[AuditEntry], error)
}

// Store gathers every repository. Consumers should accept the narrow
// interface they use.
type Store interface {
	Tenants
	Users
	Groups
	Roles
	Apps
	Keys
	Audit
	Methods
	OTPs
	Counters
	Settings
	SignIns
	Flows
	Sessions
	Lockouts
	ConditionalAccess
	RadiusClients
	Push
	AppRegistry
	OIDC
	// InTx runs fn in one transaction; the Store passed to fn is bound to
	// it. A nested InTx joins the outer transaction. fn's error rolls back.
	InTx(ctx context.Context, fn func(Store) error) error
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// All follows a list's pages from q to the end and returns every item.
func All[T any](q ListQuery, list func(ListQuery) (Page[T], error)) ([]T, error) {
	var out []T
	for {
		p, err := list(q)
		if err != nil {
			return out, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		q.After = p.Next
	}
}
