package store

import (
	"context"
	"time"
)

// PasswordCredential is one client secret of an app (Graph's
// passwordCredential); only a hash of the secret is kept.
type PasswordCredential struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	Hint        string    `json:"hint"` // the first characters, to tell secrets apart
	Hash        string    `json:"hash"`
	StartAt     time.Time `json:"startDateTime"`
	EndAt       time.Time `json:"endDateTime"`
}

// AppRegistry reads, changes and removes app registrations by object id.
type AppRegistry interface {
	AppByID(ctx context.Context, tenantID, id string) (App, error)
	// UpdateApp runs fn on the app inside one transaction and stores it.
	UpdateApp(ctx context.Context, tenantID, id string, fn func(*App) error) (App, error)
	DeleteApp(ctx context.Context, tenantID, id string) error
}

// AuthRequest is a pending OpenID Connect authorization request. Data is
// the provider's own JSON; CodeHash is the hash of the authorization code
// once one was issued ("" before).
type AuthRequest struct {
	ID        string
	TenantID  string
	ClientID  string
	Data      []byte
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// RefreshToken is an issued refresh token, kept by the hash of its value.
// Tokens that replace one another by rotation share a FamilyID; a token
// is used once (UsedAt set), and presenting a used one revokes the family.
type RefreshToken struct {
	Hash      string
	TenantID  string
	FamilyID  string
	ClientID  string
	UserID    string
	Data      []byte // the grant: scopes, amr, acr, auth time (JSON)
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// OIDC keeps the OpenID Connect provider's authorization requests, codes
// and refresh tokens.
type OIDC interface {
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	// GetAuthRequest returns ErrNotFound for unknown and expired requests.
	GetAuthRequest(ctx context.Context, tenantID, id string, now time.Time) (AuthRequest, error)
	// RedeemAuthCode returns the request of a code and deletes it, in one
	// transaction: of two redemptions of one code, one gets ErrNotFound.
	RedeemAuthCode(ctx context.Context, tenantID, codeHash string, now time.Time) (AuthRequest, error)
	// SetAuthRequestData replaces a request's data.
	SetAuthRequestData(ctx context.Context, tenantID, id string, data []byte) error
	// SetAuthCode records the code's hash; a request gets one code only
	// (ErrConflict for a second).
	SetAuthCode(ctx context.Context, tenantID, id, codeHash string) error
	DeleteAuthRequest(ctx context.Context, tenantID, id string) error

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshTokenByHash returns the token whether used or revoked, so the
	// caller can tell reuse from an unknown token; ErrNotFound when unknown
	// or expired.
	RefreshTokenByHash(ctx context.Context, tenantID, hash string, now time.Time) (RefreshToken, error)
	// RotateRefreshToken marks old used and stores next in one transaction;
	// ErrConflict when old was already used or revoked (a replay).
	RotateRefreshToken(ctx context.Context, tenantID, oldHash string, next RefreshToken, now time.Time) error
	// RevokeRefreshFamily revokes every token of a family.
	RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) (int, error)
	// RevokeUserRefreshTokens revokes a user's tokens, of one client or
	// (clientID "") of all.
	RevokeUserRefreshTokens(ctx context.Context, tenantID, userID, clientID string, now time.Time) (int, error)
	// DeleteExpiredOIDC removes expired requests and refresh tokens.
	DeleteExpiredOIDC(ctx context.Context, now time.Time) (int, error)
}
