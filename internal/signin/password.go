// Package signin holds the steps of a sign-in. This file is the password
// step; the flow state machine, MFA and sessions build on it.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/store"
)

// Errors of the password step. ErrInvalidCredentials is the one answer
// for an unknown user, a user without a password and a wrong password.
var (
	ErrInvalidCredentials = errors.New("invalid user name or password")
	ErrAccountDisabled    = errors.New("account disabled")
)

// PasswordStore is the slice of the store the password step uses.
type PasswordStore interface {
	UserByUPN(ctx context.Context, tenantID, upn string) (store.User, error)
	UpdateUser(ctx context.Context, tenantID, id string, fn func(*store.User) error) (store.User, error)
}

// Passwords checks a user's password.
type Passwords struct {
	Store  PasswordStore
	Hasher *password.Hasher
	Log    *slog.Logger
}

// Check verifies upn's password. Every path runs exactly one hash
// verification, so its timing does not reveal whether the account exists.
// A correct password on a hash with old parameters (or an imported bcrypt
// hash) is rehashed with the current ones.
func (p *Passwords) Check(ctx context.Context, tenantID, upn, pw string) (store.User, error) {
	u, err := p.Store.UserByUPN(ctx, tenantID, upn)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	return p.CheckUser(ctx, tenantID, u, err == nil, pw)
}

// CheckUser is Check for a user the caller has already looked up; found
// is false for an unknown name, which costs the same one hash.
func (p *Passwords) CheckUser(ctx context.Context, tenantID string, u store.User, found bool, pw string) (store.User, error) {
	if !found || u.PasswordHash == "" {
		if err := p.Hasher.DummyVerify(ctx, pw); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrInvalidCredentials
	}
	ok, rehash, err := p.Hasher.Verify(ctx, pw, u.PasswordHash)
	if errors.Is(err, password.ErrMalformedHash) {
		p.Log.ErrorContext(ctx, "stored password hash is unusable", "tenant", tenantID, "user", u.ID)
		return store.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, ErrInvalidCredentials
	}
	// Only after a correct password does the caller learn the account is
	// disabled, so the state of accounts cannot be probed without it.
	if !u.AccountEnabled {
		return u, ErrAccountDisabled
	}
	if rehash {
		if u, err = p.rehash(ctx, u, pw); err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

func (p *Passwords) rehash(ctx context.Context, u store.User, pw string) (store.User, error) {
	old := u.PasswordHash
	h, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return u, fmt.Errorf("rehash: %w", err)
	}
	return p.Store.UpdateUser(ctx, u.TenantID, u.ID, func(cur *store.User) error {
		// A password changed meanwhile wins over the rehash.
		if cur.PasswordHash == old {
			cur.PasswordHash = h
		}
		return nil
	})
}
