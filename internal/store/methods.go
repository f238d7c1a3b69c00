package store

import (
	"context"
	"time"
)

// MethodState is where a registered method stands.
type MethodState string

const (
	// MethodPending: enrolment started; the user has not yet proven it.
	MethodPending MethodState = "pending"
	// MethodActive: usable.
	MethodActive MethodState = "active"
	// MethodUnassigned: a hardware token imported without a user.
	MethodUnassigned MethodState = "unassigned"
	// MethodAssigned: a hardware token assigned to a user, not yet
	// activated with a code.
	MethodAssigned MethodState = "assigned"
)

// MethodProps are a method's non-secret properties; which are set depends
// on the kind.
type MethodProps struct {
	PhoneNumber string `json:"phoneNumber,omitempty"` // E.164
	PhoneType   string `json:"phoneType,omitempty"`   // mobile, alternateMobile, office
	Email       string `json:"email,omitempty"`

	// OATH (software and hardware).
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Algorithm    string `json:"algorithm,omitempty"`
	Digits       int    `json:"digits,omitempty"`
	Period       int    `json:"period,omitempty"`

	// Temporary Access Pass.
	StartsAt        *time.Time `json:"startsAt,omitempty"`
	LifetimeMinutes int        `json:"lifetimeMinutes,omitempty"`
	UsableOnce      bool       `json:"usableOnce,omitempty"`
	Used            bool       `json:"used,omitempty"`

	// Security questions: the ids of the answered questions.
	Questions []string `json:"questions,omitempty"`

	// Authenticator devices.
	DeviceTag  string `json:"deviceTag,omitempty"`
	AppVersion string `json:"appVersion,omitempty"`
	Platform   string `json:"platform,omitempty"`

	// FIDO2 security keys and passkeys.
	Fido2 *Fido2Props `json:"fido2,omitempty"`
}

// Method is one registered authentication method of a user, or an
// unassigned hardware token (UserID empty).
type Method struct {
	ID          string
	TenantID    string
	UserID      string
	Kind        string // internal/method Kind values
	State       MethodState
	IsDefault   bool
	DisplayName string
	Props       MethodProps
	// Secret is sealed (TOTP seeds, device keys) or hashed (TAP,
	// security answers) before it reaches the store.
	Secret string
	// UniqueKey enforces "one per" rules: one phone of each type and one
	// email per user, one TAP per user, a hardware serial once per tenant.
	// Empty means no rule.
	UniqueKey string
	// LastStep is the last accepted TOTP time step (replay protection).
	LastStep   int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// OTPChallenge is a one-time code sent by SMS, voice or email.
type OTPChallenge struct {
	ID          string
	TenantID    string
	UserID      string
	MethodID    string
	Channel     string // sms, voice, email
	Purpose     string // e.g. mfa, sspr, register
	Destination string
	CodeHash    string
	// Outcome of a voice call the user answered in the call: approved,
	// denied or fraud (the user reported the call); empty until then.
	Outcome    string
	Attempts   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}

// Methods stores users' authentication methods.
type Methods interface {
	CreateMethod(ctx context.Context, m Method) error
	GetMethod(ctx context.Context, tenantID, id string) (Method, error)
	// ListMethods lists a user's methods in every state, oldest first.
	ListMethods(ctx context.Context, tenantID, userID string) ([]Method, error)
	// MethodByUniqueKey finds the method holding a unique key.
	MethodByUniqueKey(ctx context.Context, tenantID, key string) (Method, error)
	// ListMethodsByKind pages through a tenant's methods of one kind
	// (hardware tokens for their administrators).
	ListMethodsByKind(ctx context.Context, tenantID, kind string, q ListQuery) (Page[Method], error)
	UpdateMethod(ctx context.Context, tenantID, id string, fn func(*Method) error) (Method, error)
	DeleteMethod(ctx context.Context, tenantID, id string) error
	// SetDefaultMethod makes methodID the user's only default ("" clears).
	SetDefaultMethod(ctx context.Context, tenantID, userID, methodID string) error
	// AdvanceStep records step as the method's last accepted TOTP step if
	// it is newer than the stored one, atomically; false means the step
	// (or a later one) was already used.
	AdvanceStep(ctx context.Context, tenantID, id string, step int64, usedAt time.Time) (bool, error)
	// DeleteExpiredMethods removes pending enrolments past their expiry.
	DeleteExpiredMethods(ctx context.Context, now time.Time) (int, error)
	// LockUser serialises changes to one user's methods inside InTx, so
	// limits such as "five authenticators" hold under concurrency.
	LockUser(ctx context.Context, tenantID, userID string) error
}

// OTPs stores one-time code challenges.
type OTPs interface {
	CreateOTP(ctx context.Context, c OTPChallenge) error
	GetOTP(ctx context.Context, tenantID, id string) (OTPChallenge, error)
	// AttemptOTP counts one verification attempt, atomically, and returns
	// the challenge as it now is. It fails with ErrNotFound for an unknown,
	// consumed or expired challenge, and ErrExhausted when maxAttempts
	// were already used.
	AttemptOTP(ctx context.Context, tenantID, id string, now time.Time, maxAttempts int) (OTPChallenge, error)
	// ConsumeOTP marks the challenge used; false if it already was.
	ConsumeOTP(ctx context.Context, tenantID, id string, now time.Time) (bool, error)
	// SetOTPOutcome records the outcome of a call and consumes the
	// challenge; false if it was already consumed or has expired.
	SetOTPOutcome(ctx context.Context, tenantID, id, outcome string, now time.Time) (bool, error)
	DeleteExpiredOTPs(ctx context.Context, before time.Time) (int, error)
}

// Counters are fixed-window counters shared by every node (send limits,
// failure counts).
type Counters interface {
	// Hit adds n to the counter key in the window containing now and
	// returns the new total and when the window ends.
	Hit(ctx context.Context, tenantID, key string, window time.Duration, now time.Time, n int) (count int, resetAt time.Time, err error)
	// Count reads a counter without changing it.
	Count(ctx context.Context, tenantID, key string, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
	DeleteExpiredCounters(ctx context.Context, before time.Time) (int, error)
}

// Settings are per-tenant documents (JSON) owned by the features that
// define them, e.g. security questions or the methods policy.
type Settings interface {
	// GetSetting returns ErrNotFound when the tenant never set the key.
	GetSetting(ctx context.Context, tenantID, key string) ([]byte, error)
	// UpdateSetting applies fn to the current value (nil if unset) in one
	// transaction and stores its result.
	UpdateSetting(ctx context.Context, tenantID, key string, fn func(old []byte) ([]byte, error)) ([]byte, error)
}
