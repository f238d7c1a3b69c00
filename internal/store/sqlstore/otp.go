package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

const otpCols = `id, tenant_id, user_id, method_id, channel, purpose, destination, code_hash, outcome, attempts, created_at, expires_at, consumed_at`

func scanOTP(r rowScanner) (store.OTPChallenge, error) {
	var c store.OTPChallenge
	var created, expires int64
	var consumed sql.NullInt64
	err := r.Scan(&c.ID, &c.TenantID, &c.UserID, &c.MethodID, &c.Channel, &c.Purpose, &c.Destination, &c.CodeHash,
		&c.Outcome, &c.Attempts, &created, &expires, &consumed)
	c.CreatedAt, c.ExpiresAt, c.ConsumedAt = fromMicros(created), fromMicros(expires), fromNullMicros(consumed)
	return c, err
}

// CreateOTP stores a challenge.
func (db *DB) CreateOTP(ctx context.Context, c store.OTPChallenge) error {
	_, err := db.exec(ctx, `INSERT INTO otp_challenges (`+otpCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.UserID, c.MethodID, c.Channel, c.Purpose, c.Destination, c.CodeHash, c.Outcome, c.Attempts,
		toMicros(c.CreatedAt), toMicros(c.ExpiresAt), nullMicros(c.ConsumedAt))
	return err
}

// GetOTP reads a challenge.
func (db *DB) GetOTP(ctx context.Context, tenantID, id string) (store.OTPChallenge, error) {
	c, err := scanOTP(db.queryRow(ctx, `SELECT `+otpCols+` FROM otp_challenges WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, notFound(err)
}

// AttemptOTP counts an attempt with one conditional UPDATE, so parallel
// guesses can never exceed maxAttempts.
func (db *DB) AttemptOTP(ctx context.Context, tenantID, id string, now time.Time, maxAttempts int) (store.OTPChallenge, error) {
	var out store.OTPChallenge
	err := db.inTx(ctx, func(tx *DB) error {
		res, err := tx.exec(ctx, `UPDATE otp_challenges SET attempts = attempts + 1 WHERE tenant_id = ? AND id = ?
			AND consumed_at IS NULL AND expires_at > ? AND attempts < ?`, tenantID, id, toMicros(now), maxAttempts)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		c, err := tx.GetOTP(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			if c.ConsumedAt != nil || !c.ExpiresAt.After(now) {
				return store.ErrNotFound
			}
			return store.ErrExhausted
		}
		out = c
		return nil
	})
	return out, err
}

// ConsumeOTP marks a challenge used, once.
func (db *DB) ConsumeOTP(ctx context.Context, tenantID, id string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE otp_challenges SET consumed_at = ? WHERE tenant_id = ? AND id = ? AND consumed_at IS NULL`,
		toMicros(now), tenantID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetOTPOutcome records a call's outcome, once, before expiry.
func (db *DB) SetOTPOutcome(ctx context.Context, tenantID, id, outcome string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE otp_challenges SET outcome = ?, consumed_at = ? WHERE tenant_id = ? AND id = ?
		AND consumed_at IS NULL AND expires_at > ?`, outcome, toMicros(now), tenantID, id, toMicros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteExpiredOTPs removes challenges that expired before the time.
func (db *DB) DeleteExpiredOTPs(ctx context.Context, before time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM otp_challenges WHERE expires_at < ?`, toMicros(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Hit increments a fixed-window counter with one upsert.
func (db *DB) Hit(ctx context.Context, tenantID, key string, window time.Duration, now time.Time, n int) (int, time.Time, error) {
	start := now.UTC().Truncate(window)
	end := start.Add(window)
	var count int
	err := db.queryRowWrite(ctx, `INSERT INTO counters (tenant_id, key, window_start, window_end, count) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, key, window_start) DO UPDATE SET count = counters.count + excluded.count RETURNING count`,
		tenantID, key, toMicros(start), toMicros(end), n).Scan(&count)
	if err != nil {
		return 0, end, db.d.MapError(err)
	}
	return count, end, nil
}

// Count reads a counter.
func (db *DB) Count(ctx context.Context, tenantID, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	start := now.UTC().Truncate(window)
	end := start.Add(window)
	var count int
	err := db.queryRow(ctx, `SELECT count FROM counters WHERE tenant_id = ? AND key = ? AND window_start = ?`,
		tenantID, key, toMicros(start)).Scan(&count)
	if err == sql.ErrNoRows {
		return 0, end, nil
	}
	return count, end, err
}

// DeleteExpiredCounters removes windows that ended before the time.
func (db *DB) DeleteExpiredCounters(ctx context.Context, before time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM counters WHERE window_end < ?`, toMicros(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// GetSetting reads a tenant setting.
func (db *DB) GetSetting(ctx context.Context, tenantID, key string) ([]byte, error) {
	var v string
	if err := db.queryRow(ctx, `SELECT value FROM tenant_settings WHERE tenant_id = ? AND key = ?`, tenantID, key).Scan(&v); err != nil {
		return nil, notFound(err)
	}
	return []byte(v), nil
}

// UpdateSetting read-modify-writes a tenant setting in one transaction.
func (db *DB) UpdateSetting(ctx context.Context, tenantID, key string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	var out []byte
	err := db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "setting:"+tenantID+":"+key); err != nil {
			return err
		}
		old, err := tx.GetSetting(ctx, tenantID, key)
		if err != nil && err != store.ErrNotFound {
			return err
		}
		nv, err := fn(old)
		if err != nil {
			return err
		}
		if !json.Valid(nv) {
			return fmt.Errorf("setting %s: value is not JSON", key)
		}
		_, err = tx.exec(ctx, `INSERT INTO tenant_settings (tenant_id, key, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			tenantID, key, string(nv), toMicros(time.Now()))
		out = nv
		return err
	})
	return out, err
}
