package store

import (
	"context"
	"time"
)

// PushEnrolment is a one-time link that lets a new authenticator device
// register for a user. Only the hash of its random token is kept.
type PushEnrolment struct {
	ID        string
	TenantID  string
	UserID    string
	TokenHash string
	// FlowID is the sign-in flow that asked for it ("" elsewhere).
	FlowID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	// Set once a device used the link: the pending method, the device and
	// its test challenge.
	MethodID    string
	DeviceID    string
	ChallengeID string
}

// PushDevice is a registered authenticator device: the public key that
// signs its requests, and the method row it belongs to. Deleting the
// method deletes the device (and so revokes the key) in the same
// statement.
type PushDevice struct {
	ID         string
	TenantID   string
	UserID     string
	MethodID   string
	PublicKey  string // base64url DER SubjectPublicKeyInfo (internal/method/push)
	CreatedAt  time.Time
	LastSeenAt *time.Time
}

// PushChallenge is one push notification waiting for, or given, an
// answer (internal/method/push statuses).
type PushChallenge struct {
	ID       string
	TenantID string
	UserID   string
	// Purpose is "signin" or "test" (the test push of a new device).
	Purpose string
	// FlowID is the sign-in flow, or the enrolment of a test push.
	FlowID string
	// MethodID is the pending method a test push activates.
	MethodID  string
	Nonce     string
	Number    int
	AppName   string
	Location  string
	IPAddress string
	// CorrelationID is the sign-in's, as in its sign-in log entry.
	CorrelationID string
	Status        string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	AnsweredAt    *time.Time
	// DeviceID is the device that answered.
	DeviceID string
}

// RiskDetection is a risk event about a user, e.g. a push the user
// reported as "this wasn't me" (userReportedSuspiciousActivity).
type RiskDetection struct {
	ID            string
	TenantID      string
	UserID        string
	EventType     string
	Source        string
	IPAddress     string
	CorrelationID string
	DetectedAt    time.Time
}

// Push stores the authenticator's devices, enrolment links and
// challenges.
type Push interface {
	CreatePushEnrolment(ctx context.Context, e PushEnrolment) error
	GetPushEnrolment(ctx context.Context, tenantID, id string) (PushEnrolment, error)
	// UsePushEnrolment marks the link with tokenHash used, once and before
	// its expiry, and returns it; ErrNotFound for an unknown, used or
	// expired link.
	UsePushEnrolment(ctx context.Context, tenantID, tokenHash string, now time.Time) (PushEnrolment, error)
	// SetPushEnrolmentResult records what a used link created.
	SetPushEnrolmentResult(ctx context.Context, tenantID, id, methodID, deviceID, challengeID string) error

	CreatePushDevice(ctx context.Context, d PushDevice) error
	// GetPushDevice finds a device whose method still exists.
	GetPushDevice(ctx context.Context, tenantID, id string) (PushDevice, error)
	// UsePushNonce records a request nonce of a device until expires;
	// false when it was already used.
	UsePushNonce(ctx context.Context, tenantID, deviceID, nonce string, expires time.Time) (bool, error)

	// CreatePushChallenge stores a pending challenge; ErrConflict when the
	// user already has one pending and unexpired at now (at most one push
	// waits per user).
	CreatePushChallenge(ctx context.Context, c PushChallenge, now time.Time) error
	GetPushChallenge(ctx context.Context, tenantID, id string) (PushChallenge, error)
	// PendingPushChallenges lists the user's pending, unexpired challenges.
	PendingPushChallenges(ctx context.Context, tenantID, userID string, now time.Time) ([]PushChallenge, error)
	// FinishPushChallenge moves a pending challenge to status, once; false
	// when it was no longer pending.
	FinishPushChallenge(ctx context.Context, tenantID, id, status, deviceID string, now time.Time) (bool, error)
	// DeleteExpiredPush removes enrolment links and nonces expired at now
	// and challenges that expired before challengesBefore.
	DeleteExpiredPush(ctx context.Context, now, challengesBefore time.Time) (int, error)

	AddRiskDetection(ctx context.Context, r RiskDetection) error
	ListRiskDetections(ctx context.Context, tenantID, userID string) ([]RiskDetection, error)
}
