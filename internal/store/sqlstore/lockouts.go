package sqlstore

import (
	"context"
	"database/sql"

	"github.com/vakt-id/vakt/internal/store"
)

func (db *DB) getLockout(ctx context.Context, tenantID, userID, scope, suffix string) (store.Lockout, error) {
	l := store.Lockout{TenantID: tenantID, UserID: userID, Scope: scope}
	var until sql.NullInt64
	var updated int64
	err := db.queryRow(ctx, `SELECT failures, consecutive, locks, locked_until, hard_locked, updated_at FROM lockouts
		WHERE tenant_id = ? AND user_id = ? AND scope = ?`+suffix, tenantID, userID, scope).
		Scan(&l.Failures, &l.Consecutive, &l.Locks, &until, &l.HardLocked, &updated)
	if err == sql.ErrNoRows {
		return l, nil
	}
	l.LockedUntil, l.UpdatedAt = fromNullMicros(until), fromMicros(updated)
	return l, err
}

// GetLockout reads a user's record for a scope (zero if none).
func (db *DB) GetLockout(ctx context.Context, tenantID, userID, scope string) (store.Lockout, error) {
	return db.getLockout(ctx, tenantID, userID, scope, "")
}

// UpdateLockout serialises changes to one record with a lock, so parallel
// wrong guesses are all counted.
func (db *DB) UpdateLockout(ctx context.Context, tenantID, userID, scope string, fn func(*store.Lockout) error) (store.Lockout, error) {
	var out store.Lockout
	err := db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "lockout:"+tenantID+":"+userID+":"+scope); err != nil {
			return err
		}
		l, err := tx.getLockout(ctx, tenantID, userID, scope, "")
		if err != nil {
			return err
		}
		if err := fn(&l); err != nil {
			return err
		}
		l.TenantID, l.UserID, l.Scope = tenantID, userID, scope
		_, err = tx.exec(ctx, `INSERT INTO lockouts (tenant_id, user_id, scope, failures, consecutive, locks, locked_until, hard_locked, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, user_id, scope) DO UPDATE SET failures = excluded.failures,
			consecutive = excluded.consecutive, locks = excluded.locks, locked_until = excluded.locked_until,
			hard_locked = excluded.hard_locked, updated_at = excluded.updated_at`,
			tenantID, userID, scope, l.Failures, l.Consecutive, l.Locks, nullMicros(l.LockedUntil), l.HardLocked, toMicros(l.UpdatedAt))
		out = l
		return err
	})
	return out, err
}

// ClearLockouts forgets a user's failures in one scope, or in all.
func (db *DB) ClearLockouts(ctx context.Context, tenantID, userID, scope string) error {
	if scope == "" {
		_, err := db.exec(ctx, `DELETE FROM lockouts WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
		return err
	}
	_, err := db.exec(ctx, `DELETE FROM lockouts WHERE tenant_id = ? AND user_id = ? AND scope = ?`, tenantID, userID, scope)
	return err
}
