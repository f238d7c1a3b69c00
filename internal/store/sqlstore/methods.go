package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

const methodCols = `id, tenant_id, user_id, kind, state, is_default, display_name, props, secret, unique_key,
	last_step, created_at, last_used_at, expires_at`

func scanMethod(r rowScanner) (store.Method, error) {
	var m store.Method
	var userID, uniqueKey sql.NullString
	var props, state string
	var created int64
	var lastUsed, expires sql.NullInt64
	if err := r.Scan(&m.ID, &m.TenantID, &userID, &m.Kind, &state, &m.IsDefault, &m.DisplayName, &props, &m.Secret,
		&uniqueKey, &m.LastStep, &created, &lastUsed, &expires); err != nil {
		return m, err
	}
	m.UserID, m.UniqueKey, m.State = userID.String, uniqueKey.String, store.MethodState(state)
	m.CreatedAt, m.LastUsedAt, m.ExpiresAt = fromMicros(created), fromNullMicros(lastUsed), fromNullMicros(expires)
	if err := json.Unmarshal([]byte(props), &m.Props); err != nil {
		return m, fmt.Errorf("method %s props: %w", m.ID, err)
	}
	return m, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateMethod inserts a method; a taken unique key conflicts.
func (db *DB) CreateMethod(ctx context.Context, m store.Method) error {
	if m.State == "" {
		m.State = store.MethodActive
	}
	_, err := db.exec(ctx, `INSERT INTO auth_methods (`+methodCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.TenantID, nullString(m.UserID), m.Kind, string(m.State), m.IsDefault, m.DisplayName, jsonText(m.Props),
		m.Secret, nullString(m.UniqueKey), m.LastStep, toMicros(m.CreatedAt), nullMicros(m.LastUsedAt), nullMicros(m.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert method: %w", err)
	}
	return nil
}

// GetMethod reads one method.
func (db *DB) GetMethod(ctx context.Context, tenantID, id string) (store.Method, error) {
	m, err := scanMethod(db.queryRow(ctx, `SELECT `+methodCols+` FROM auth_methods WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return m, notFound(err)
}

// MethodByUniqueKey reads the method holding key.
func (db *DB) MethodByUniqueKey(ctx context.Context, tenantID, key string) (store.Method, error) {
	m, err := scanMethod(db.queryRow(ctx, `SELECT `+methodCols+` FROM auth_methods WHERE tenant_id = ? AND unique_key = ?`, tenantID, key))
	return m, notFound(err)
}

// ListMethods lists a user's methods, oldest first.
func (db *DB) ListMethods(ctx context.Context, tenantID, userID string) ([]store.Method, error) {
	rows, err := db.query(ctx, `SELECT `+methodCols+` FROM auth_methods WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id`, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Method{}
	for rows.Next() {
		m, err := scanMethod(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

var methodFields = map[string]column{
	"id":    {expr: "id"},
	"state": {expr: "state"},
}

// ListMethodsByKind pages through a tenant's methods of one kind.
func (db *DB) ListMethodsByKind(ctx context.Context, tenantID, kind string, q store.ListQuery) (store.Page[store.Method], error) {
	spec := listSpec{from: "auth_methods", cols: methodCols, where: "tenant_id = ? AND kind = ?", args: []any{tenantID, kind}, fields: methodFields}
	q.OrderBy = ""
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.Method, string, string, error) {
		m, err := scanMethod(rows)
		return m, m.ID, m.ID, err
	})
}

// UpdateMethod applies fn in one transaction. Id, tenant and the
// replay step cannot be changed through it (AdvanceStep owns the step).
func (db *DB) UpdateMethod(ctx context.Context, tenantID, id string, fn func(*store.Method) error) (store.Method, error) {
	var out store.Method
	err := db.inTx(ctx, func(tx *DB) error {
		m, err := scanMethod(tx.queryRow(ctx, `SELECT `+methodCols+` FROM auth_methods WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		step := m.LastStep
		if err := fn(&m); err != nil {
			return err
		}
		m.ID, m.TenantID, m.LastStep = id, tenantID, step
		_, err = tx.exec(ctx, `UPDATE auth_methods SET user_id = ?, kind = ?, state = ?, is_default = ?, display_name = ?,
			props = ?, secret = ?, unique_key = ?, last_used_at = ?, expires_at = ? WHERE tenant_id = ? AND id = ?`,
			nullString(m.UserID), m.Kind, string(m.State), m.IsDefault, m.DisplayName, jsonText(m.Props), m.Secret,
			nullString(m.UniqueKey), nullMicros(m.LastUsedAt), nullMicros(m.ExpiresAt), tenantID, id)
		out = m
		return err
	})
	return out, err
}

// DeleteMethod removes a method.
func (db *DB) DeleteMethod(ctx context.Context, tenantID, id string) error {
	return db.execOne(ctx, `DELETE FROM auth_methods WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// SetDefaultMethod marks one method as the user's default.
func (db *DB) SetDefaultMethod(ctx context.Context, tenantID, userID, methodID string) error {
	return db.inTx(ctx, func(tx *DB) error {
		if methodID != "" {
			m, err := tx.GetMethod(ctx, tenantID, methodID)
			if err != nil {
				return err
			}
			if m.UserID != userID {
				return fmt.Errorf("%w: method %s is not the user's", store.ErrInvalid, methodID)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE auth_methods SET is_default = FALSE WHERE tenant_id = ? AND user_id = ? AND is_default`, tenantID, userID); err != nil {
			return err
		}
		if methodID == "" {
			return nil
		}
		return tx.execOne(ctx, `UPDATE auth_methods SET is_default = TRUE WHERE tenant_id = ? AND id = ?`, tenantID, methodID)
	})
}

// AdvanceStep is one conditional UPDATE, so two requests with the same
// code cannot both succeed on any backend or node.
func (db *DB) AdvanceStep(ctx context.Context, tenantID, id string, step int64, usedAt time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE auth_methods SET last_step = ?, last_used_at = ? WHERE tenant_id = ? AND id = ? AND last_step < ?`,
		step, toMicros(usedAt), tenantID, id, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteExpiredMethods removes expired pending enrolments.
func (db *DB) DeleteExpiredMethods(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM auth_methods WHERE state = 'pending' AND expires_at < ?`, toMicros(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LockUser serialises changes to a user's methods within a transaction.
func (db *DB) LockUser(ctx context.Context, tenantID, userID string) error {
	if db.tx == nil {
		return errors.New("sqlstore: LockUser outside a transaction")
	}
	return db.d.Lock(ctx, db.tx, "user:"+tenantID+":"+userID)
}
