package signin

import (
	"context"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"

	"github.com/vakt-id/vakt/internal/store"
)

// LockoutPolicy is smart lockout (P-6.6).
type LockoutPolicy struct {
	// Threshold failures lock the account for Duration, doubling with
	// each lock until a success.
	Threshold int
	Duration  time.Duration
	MaxLock   time.Duration
	// HardLockAfter consecutive failures of one user lock it until an
	// administrator unlocks it (NIST SP 800-63B: at most 100).
	HardLockAfter int
}

// DefaultLockoutPolicy is what a tenant starts with.
func DefaultLockoutPolicy() LockoutPolicy {
	return LockoutPolicy{Threshold: 10, Duration: 60 * time.Second, MaxLock: 24 * time.Hour, HardLockAfter: 100}
}

// lockedFor says whether l locks sign-ins at now and until when.
func lockedFor(l store.Lockout, now time.Time) (bool, time.Duration) {
	if l.HardLocked {
		return true, 0
	}
	if l.LockedUntil != nil && now.Before(*l.LockedUntil) {
		return true, l.LockedUntil.Sub(now)
	}
	return false, 0
}

// fail counts one failure into l (pure; the store applies it atomically).
func (p LockoutPolicy) fail(l *store.Lockout, now time.Time) {
	l.Consecutive++
	l.UpdatedAt = now
	if l.Consecutive >= p.HardLockAfter {
		l.HardLocked = true
	}
	// A failure that raced past the lock check while a lock is already in
	// force (parallel guesses) counts toward the hard lock, but does not
	// lock again: one burst must not stack locks and multiply the wait.
	if locked, _ := lockedFor(*l, now); locked {
		return
	}
	l.Failures++
	if l.Failures >= p.Threshold {
		l.Locks++
		d := p.Duration << min(l.Locks-1, 20)
		if d > p.MaxLock || d <= 0 {
			d = p.MaxLock
		}
		until := now.Add(d)
		l.LockedUntil, l.Failures = &until, 0
	}
}

// Unlock lifts every lock of a user name, hard locks included (P-11.3);
// the change is audited.
func (e *Engine) Unlock(ctx context.Context, actor directory.Actor, tenantID string, u store.User) error {
	if !directory.Allowed(actor, directory.ActionPasswordReset) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return e.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.ClearLockouts(ctx, tenantID, lockKey(u.UPN), ""); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, actor, tenantID, e.now(), audit.Entry{Activity: "Unlock user account",
			Category: "UserManagement", Operation: "Update", Targets: []store.AuditTarget{audit.UserTarget(u)}}))
	})
}
