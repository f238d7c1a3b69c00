package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// ---- enrolment links ----

const pushEnrolCols = `id, tenant_id, user_id, token_hash, flow_id, created_at, expires_at, used_at, method_id, device_id, challenge_id`

func scanPushEnrolment(r rowScanner) (store.PushEnrolment, error) {
	var e store.PushEnrolment
	var created, expires int64
	var used sql.NullInt64
	err := r.Scan(&e.ID, &e.TenantID, &e.UserID, &e.TokenHash, &e.FlowID, &created, &expires, &used, &e.MethodID, &e.DeviceID, &e.ChallengeID)
	e.CreatedAt, e.ExpiresAt, e.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return e, err
}

// CreatePushEnrolment stores an enrolment link.
func (db *DB) CreatePushEnrolment(ctx context.Context, e store.PushEnrolment) error {
	_, err := db.exec(ctx, `INSERT INTO push_enrolments (`+pushEnrolCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TenantID, e.UserID, e.TokenHash, e.FlowID, toMicros(e.CreatedAt), toMicros(e.ExpiresAt), nullMicros(e.UsedAt),
		e.MethodID, e.DeviceID, e.ChallengeID)
	return err
}

// GetPushEnrolment reads an enrolment link.
func (db *DB) GetPushEnrolment(ctx context.Context, tenantID, id string) (store.PushEnrolment, error) {
	e, err := scanPushEnrolment(db.queryRow(ctx, `SELECT `+pushEnrolCols+` FROM push_enrolments WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return e, notFound(err)
}

// UsePushEnrolment consumes a link with one conditional UPDATE, so two
// devices racing on one link cannot both register.
func (db *DB) UsePushEnrolment(ctx context.Context, tenantID, tokenHash string, now time.Time) (store.PushEnrolment, error) {
	var out store.PushEnrolment
	err := db.inTx(ctx, func(tx *DB) error {
		res, err := tx.exec(ctx, `UPDATE push_enrolments SET used_at = ? WHERE tenant_id = ? AND token_hash = ? AND used_at IS NULL AND expires_at > ?`,
			toMicros(now), tenantID, tokenHash, toMicros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		out, err = scanPushEnrolment(tx.queryRow(ctx, `SELECT `+pushEnrolCols+` FROM push_enrolments WHERE tenant_id = ? AND token_hash = ?`, tenantID, tokenHash))
		return notFound(err)
	})
	return out, err
}

// SetPushEnrolmentResult records what a used link created.
func (db *DB) SetPushEnrolmentResult(ctx context.Context, tenantID, id, methodID, deviceID, challengeID string) error {
	return db.execOne(ctx, `UPDATE push_enrolments SET method_id = ?, device_id = ?, challenge_id = ? WHERE tenant_id = ? AND id = ?`,
		methodID, deviceID, challengeID, tenantID, id)
}

// ---- devices ----

// CreatePushDevice stores a device; its method must exist.
func (db *DB) CreatePushDevice(ctx context.Context, d store.PushDevice) error {
	_, err := db.exec(ctx, `INSERT INTO push_devices (tenant_id, id, user_id, method_id, public_key, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.TenantID, d.ID, d.UserID, d.MethodID, d.PublicKey, toMicros(d.CreatedAt), nullMicros(d.LastSeenAt))
	return err
}

// GetPushDevice reads a device whose method row still exists: the join
// makes revocation immediate even before the cascade is considered.
func (db *DB) GetPushDevice(ctx context.Context, tenantID, id string) (store.PushDevice, error) {
	var d store.PushDevice
	var created int64
	var seen sql.NullInt64
	err := db.queryRow(ctx, `SELECT d.tenant_id, d.id, d.user_id, d.method_id, d.public_key, d.created_at, d.last_seen_at
		FROM push_devices d JOIN auth_methods m ON m.tenant_id = d.tenant_id AND m.id = d.method_id AND m.user_id = d.user_id
		WHERE d.tenant_id = ? AND d.id = ?`, tenantID, id).Scan(&d.TenantID, &d.ID, &d.UserID, &d.MethodID, &d.PublicKey, &created, &seen)
	d.CreatedAt, d.LastSeenAt = fromMicros(created), fromNullMicros(seen)
	return d, notFound(err)
}

// UsePushNonce inserts the nonce; a duplicate key means a replay.
func (db *DB) UsePushNonce(ctx context.Context, tenantID, deviceID, nonce string, expires time.Time) (bool, error) {
	_, err := db.exec(ctx, `INSERT INTO push_nonces (tenant_id, device_id, nonce, expires_at) VALUES (?, ?, ?, ?)`,
		tenantID, deviceID, nonce, toMicros(expires))
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// ---- challenges ----

const pushChallengeCols = `tenant_id, id, user_id, purpose, flow_id, method_id, nonce, number, app_name, location, ip_address, correlation_id, status, created_at, expires_at, answered_at, device_id`

func scanPushChallenge(r rowScanner) (store.PushChallenge, error) {
	var c store.PushChallenge
	var created, expires int64
	var answered sql.NullInt64
	err := r.Scan(&c.TenantID, &c.ID, &c.UserID, &c.Purpose, &c.FlowID, &c.MethodID, &c.Nonce, &c.Number, &c.AppName, &c.Location,
		&c.IPAddress, &c.CorrelationID, &c.Status, &created, &expires, &answered, &c.DeviceID)
	c.CreatedAt, c.ExpiresAt, c.AnsweredAt = fromMicros(created), fromMicros(expires), fromNullMicros(answered)
	return c, err
}

// CreatePushChallenge retires the user's expired pending challenges and
// adds the new one under the user's lock; the partial unique index on
// pending challenges backs the rule up.
func (db *DB) CreatePushChallenge(ctx context.Context, c store.PushChallenge, now time.Time) error {
	return db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "push:"+c.TenantID+":"+c.UserID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE push_challenges SET status = 'expired' WHERE tenant_id = ? AND user_id = ? AND status = 'pending' AND expires_at <= ?`,
			c.TenantID, c.UserID, toMicros(now)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO push_challenges (`+pushChallengeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.TenantID, c.ID, c.UserID, c.Purpose, c.FlowID, c.MethodID, c.Nonce, c.Number, c.AppName, c.Location, c.IPAddress,
			c.CorrelationID, c.Status, toMicros(c.CreatedAt), toMicros(c.ExpiresAt), nullMicros(c.AnsweredAt), c.DeviceID)
		return err
	})
}

// GetPushChallenge reads a challenge.
func (db *DB) GetPushChallenge(ctx context.Context, tenantID, id string) (store.PushChallenge, error) {
	c, err := scanPushChallenge(db.queryRow(ctx, `SELECT `+pushChallengeCols+` FROM push_challenges WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, notFound(err)
}

// PendingPushChallenges lists a user's pending, unexpired challenges.
func (db *DB) PendingPushChallenges(ctx context.Context, tenantID, userID string, now time.Time) ([]store.PushChallenge, error) {
	rows, err := db.query(ctx, `SELECT `+pushChallengeCols+` FROM push_challenges WHERE tenant_id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?
		ORDER BY created_at`, tenantID, userID, toMicros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PushChallenge
	for rows.Next() {
		c, err := scanPushChallenge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FinishPushChallenge ends a pending challenge, once.
func (db *DB) FinishPushChallenge(ctx context.Context, tenantID, id, status, deviceID string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE push_challenges SET status = ?, device_id = ?, answered_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'`,
		status, deviceID, toMicros(now), tenantID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteExpiredPush removes what can no longer be used.
func (db *DB) DeleteExpiredPush(ctx context.Context, now, challengesBefore time.Time) (int, error) {
	total := 0
	for _, q := range []struct {
		sql    string
		before time.Time
	}{
		{`DELETE FROM push_enrolments WHERE expires_at < ?`, now},
		{`DELETE FROM push_nonces WHERE expires_at < ?`, now},
		{`DELETE FROM push_challenges WHERE expires_at < ?`, challengesBefore},
	} {
		res, err := db.exec(ctx, q.sql, toMicros(q.before))
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
	}
	return total, nil
}

// ---- risk detections ----

// AddRiskDetection records a risk event.
func (db *DB) AddRiskDetection(ctx context.Context, r store.RiskDetection) error {
	_, err := db.exec(ctx, `INSERT INTO risk_detections (tenant_id, id, user_id, event_type, source, ip_address, correlation_id, detected_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.TenantID, r.ID, r.UserID, r.EventType, r.Source, r.IPAddress, r.CorrelationID, toMicros(r.DetectedAt))
	return err
}

// ListRiskDetections lists a user's risk events, oldest first.
func (db *DB) ListRiskDetections(ctx context.Context, tenantID, userID string) ([]store.RiskDetection, error) {
	rows, err := db.query(ctx, `SELECT tenant_id, id, user_id, event_type, source, ip_address, correlation_id, detected_at FROM risk_detections
		WHERE tenant_id = ? AND user_id = ? ORDER BY detected_at, id`, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RiskDetection
	for rows.Next() {
		var r store.RiskDetection
		var at int64
		if err := rows.Scan(&r.TenantID, &r.ID, &r.UserID, &r.EventType, &r.Source, &r.IPAddress, &r.CorrelationID, &at); err != nil {
			return nil, err
		}
		r.DetectedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- notification between nodes ----

// PushChannel is the PostgreSQL notification channel of the authenticator.
const PushChannel = "vakt_push"

// listener is implemented by dialects whose database can notify other
// connections (PostgreSQL LISTEN/NOTIFY). SQLite is one process: its
// notifications stay in memory (internal/authenticator).
type listener interface {
	Listen(ctx context.Context, db *sql.DB, channel string, ready func(), fn func(payload string)) error
}

// CanNotify reports whether the database carries notifications between
// nodes.
func (db *DB) CanNotify() bool {
	_, ok := db.d.(listener)
	return ok
}

// Notify sends payload to every listening node; inside a transaction it
// is delivered on commit. A no-op where the database cannot notify.
func (db *DB) Notify(ctx context.Context, payload string) error {
	if !db.CanNotify() {
		return nil
	}
	_, err := db.exec(ctx, `SELECT pg_notify(?, ?)`, PushChannel, payload)
	return err
}

// Listen calls fn with every payload sent by Notify on any node until ctx
// ends or the connection fails; ready runs once listening has begun.
func (db *DB) Listen(ctx context.Context, ready func(), fn func(payload string)) error {
	l, ok := db.d.(listener)
	if !ok {
		return errors.ErrUnsupported
	}
	return l.Listen(ctx, db.w, PushChannel, ready, fn)
}
