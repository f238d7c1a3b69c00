package store

import (
	"context"
	"time"
)

// AppliedCAPolicy is one conditional-access policy's result in a sign-in.
type AppliedCAPolicy struct {
	ID                      string   `json:"id"`
	DisplayName             string   `json:"displayName"`
	EnforcedGrantControls   []string `json:"enforcedGrantControls"`
	EnforcedSessionControls []string `json:"enforcedSessionControls"`
	// Result: success, failure, notApplied, notEnabled, unknown,
	// reportOnlySuccess, reportOnlyFailure, reportOnlyNotApplied,
	// reportOnlyInterrupted.
	Result string `json:"result"`
}

// AuthDetail is one authentication step of a sign-in (beta
// authenticationDetails).
type AuthDetail struct {
	Method          string    `json:"authenticationMethod"`
	MethodDetail    string    `json:"authenticationMethodDetail"`
	At              time.Time `json:"authenticationStepDateTime"`
	StepRequirement string    `json:"authenticationStepRequirement"`
	ResultDetail    string    `json:"authenticationStepResultDetail"`
	Succeeded       bool      `json:"succeeded"`
}

// SignInLocation is where a sign-in came from.
type SignInLocation struct {
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
}

// SignInDevice describes the device of a sign-in.
type SignInDevice struct {
	DeviceID        string `json:"deviceId,omitempty"`
	DisplayName     string `json:"displayName,omitempty"`
	OperatingSystem string `json:"operatingSystem,omitempty"`
	Browser         string `json:"browser,omitempty"`
	IsCompliant     bool   `json:"isCompliant"`
	IsManaged       bool   `json:"isManaged"`
	TrustType       string `json:"trustType,omitempty"`
}

// SignIn is one sign-in attempt (P-12.1) in the shape of Graph's signIn.
type SignIn struct {
	ID                string
	TenantID          string
	CreatedAt         time.Time
	UserID            string
	UserDisplayName   string
	UserPrincipalName string
	AppID             string
	AppDisplayName    string
	IPAddress         string
	// ClientAppUsed: Browser, Mobile Apps and Desktop clients,
	// Exchange ActiveSync, Other clients (legacy).
	ClientAppUsed string
	CorrelationID string
	IsInteractive bool
	UserAgent     string
	// ConditionalAccessStatus: success, failure, notApplied.
	ConditionalAccessStatus string
	AppliedCAPolicies       []AppliedCAPolicy
	// ErrorCode is 0 on success; FailureReason and AdditionalDetails say
	// why not.
	ErrorCode         int
	FailureReason     string
	AdditionalDetails string
	Location          SignInLocation
	Device            SignInDevice
	// Risk: levels none, low, medium, high, hidden; states as in Graph.
	RiskLevelDuringSignIn string
	RiskLevelAggregated   string
	RiskState             string
	RiskDetail            string
	RiskEventTypes        []string
	AuthDetails           []AuthDetail
	// AuthenticationRequirement: singleFactorAuthentication or
	// multiFactorAuthentication.
	AuthenticationRequirement string
}

// SignIns stores the sign-in log.
type SignIns interface {
	// AppendSignIns writes a batch in one transaction.
	AppendSignIns(ctx context.Context, entries []SignIn) error
	GetSignIn(ctx context.Context, tenantID, id string) (SignIn, error)
	// ListSignIns pages newest first unless ordered otherwise. Filterable:
	// id, createdDateTime, userId, userPrincipalName, userDisplayName,
	// appId, appDisplayName, ipAddress, clientAppUsed, correlationId,
	// conditionalAccessStatus, status/errorCode (as "errorCode"),
	// isInteractive.
	ListSignIns(ctx context.Context, tenantID string, q ListQuery) (Page[SignIn], error)
}

// FlowState is where an interactive sign-in stands; internal/signin owns
// the states and their transitions, the store only keeps them.
type Flow struct {
	ID       string
	TenantID string
	State    string
	UserID   string
	// Data is the flow's own JSON (internal/signin decides its shape).
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
	// Version increments on every update; UpdateFlow refuses a stale one,
	// so two requests cannot both advance the same step.
	Version int
}

// Session is a signed-in browser or client session (P-6.5). The client
// holds only a random token whose hash is the session's key.
type Session struct {
	ID         string // hash of the token
	TenantID   string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// AuthAt is when the user last proved a password or passwordless
	// method; MFAAt when they last passed a second factor (nil: never).
	AuthAt     time.Time
	MFAAt      *time.Time
	Methods    []string // amr-style values of the methods used
	Persistent bool     // "stay signed in"
	RevokedAt  *time.Time
	// Data holds device and client facts for later decisions (JSON).
	Data []byte
}

// Flows stores sign-in flows.
type Flows interface {
	CreateFlow(ctx context.Context, f Flow) error
	// GetFlow returns ErrNotFound for an unknown or expired flow.
	GetFlow(ctx context.Context, tenantID, id string, now time.Time) (Flow, error)
	// UpdateFlow stores f if the stored version is still f.Version; the
	// stored version becomes f.Version+1. A stale version is ErrConflict.
	UpdateFlow(ctx context.Context, f Flow) error
	DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error)
}

// Sessions stores sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns ErrNotFound for unknown, expired or revoked ones.
	GetSession(ctx context.Context, tenantID, id string, now time.Time) (Session, error)
	UpdateSession(ctx context.Context, tenantID, id string, fn func(*Session) error) (Session, error)
	// RevokeUserSessions revokes every session of a user; it returns how
	// many were live.
	RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time) (int, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// Lockout is one user's failure record for one scope (P-6.6): familiar
// and unfamiliar locations are counted apart, so that an attacker far away
// cannot lock the user out at the office.
type Lockout struct {
	TenantID string
	UserID   string
	Scope    string
	// Failures since the last success or lock.
	Failures int
	// Consecutive failures since the last success, across locks (the
	// hard-lock ceiling of NIST SP 800-63B).
	Consecutive int
	// Locks so far without a success in between (the lock grows).
	Locks       int
	LockedUntil *time.Time
	// HardLocked: only an administrator can unlock.
	HardLocked bool
	UpdatedAt  time.Time
}

// Lockouts stores failure records.
type Lockouts interface {
	// GetLockout returns a zero record (not an error) for a clean user.
	GetLockout(ctx context.Context, tenantID, userID, scope string) (Lockout, error)
	// UpdateLockout applies fn atomically; concurrent failures are counted
	// one after another, never lost.
	UpdateLockout(ctx context.Context, tenantID, userID, scope string, fn func(*Lockout) error) (Lockout, error)
	// ClearLockouts removes a user's records: of one scope (a success
	// there), or of every scope when scope is "" (an administrator's unlock).
	ClearLockouts(ctx context.Context, tenantID, userID, scope string) error
}
