package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

const userCols = `id, tenant_id, upn, display_name, mail, mobile_phone, account_enabled, password_hash,
	force_change_password, per_user_mfa, user_type, created_at, updated_at, last_sign_in_at, preferred_mfa,
	system_preferred_mfa, mfa_grace_started_at, registration_snoozed_until`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner) (store.User, error) {
	var u store.User
	var created, updated int64
	var last, grace, snooze sql.NullInt64
	var sysPref sql.NullBool
	var mfa string
	err := r.Scan(&u.ID, &u.TenantID, &u.UPN, &u.DisplayName, &u.Mail, &u.MobilePhone, &u.AccountEnabled,
		&u.PasswordHash, &u.ForceChangePassword, &mfa, &u.UserType, &created, &updated, &last, &u.PreferredMFA,
		&sysPref, &grace, &snooze)
	if err != nil {
		return u, err
	}
	if sysPref.Valid {
		u.SystemPreferredMFA = &sysPref.Bool
	}
	u.MFAGraceStartedAt, u.RegistrationSnoozedUntil = fromNullMicros(grace), fromNullMicros(snooze)
	u.PerUserMFA = store.PerUserMFAState(mfa)
	u.CreatedAt, u.UpdatedAt, u.LastSignInAt = fromMicros(created), fromMicros(updated), fromNullMicros(last)
	return u, nil
}

// CreateUser inserts a user; a UPN taken in the tenant (any case) conflicts.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	if u.PerUserMFA == "" {
		u.PerUserMFA = store.PerUserMFADisabled
	}
	if u.UserType == "" {
		u.UserType = "member"
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	_, err := db.exec(ctx, `INSERT INTO users (id, tenant_id, upn, upn_lower, display_name, display_name_lower, mail,
		mobile_phone, account_enabled, password_hash, force_change_password, per_user_mfa, user_type, created_at,
		updated_at, last_sign_in_at, preferred_mfa, system_preferred_mfa, mfa_grace_started_at, registration_snoozed_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.UPN, strings.ToLower(u.UPN), u.DisplayName, strings.ToLower(u.DisplayName), u.Mail,
		u.MobilePhone, u.AccountEnabled, u.PasswordHash, u.ForceChangePassword, string(u.PerUserMFA), u.UserType,
		toMicros(u.CreatedAt), toMicros(u.UpdatedAt), nullMicros(u.LastSignInAt), u.PreferredMFA, nullBool(u.SystemPreferredMFA),
		nullMicros(u.MFAGraceStartedAt), nullMicros(u.RegistrationSnoozedUntil))
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// GetUser reads a user by id within a tenant.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return u, notFound(err)
}

// UserByUPN reads a user by UPN, case-insensitively.
func (db *DB) UserByUPN(ctx context.Context, tenantID, upn string) (store.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND upn_lower = ?`,
		tenantID, strings.ToLower(upn)))
	return u, notFound(err)
}

var userFields = map[string]column{
	"id":                {expr: "id"},
	"userPrincipalName": {expr: "lower:upn_lower"},
	"displayName":       {expr: "lower:display_name_lower"},
	"mail":              {expr: "lower:lower(mail)"},
	"accountEnabled":    {expr: "account_enabled", isBool: true},
	"userType":          {expr: "lower:user_type"},
	"createdDateTime":   {expr: "created_at", isInt: true},
}

// ListUsers pages through a tenant's users.
func (db *DB) ListUsers(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.User], error) {
	spec := listSpec{from: "users", cols: userCols, where: "tenant_id = ?", args: []any{tenantID}, fields: userFields}
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.User, string, string, error) {
		u, err := scanUser(rows)
		return u, orderValue(q.OrderBy, u), u.ID, err
	})
}

func orderValue(field string, u store.User) string {
	switch field {
	case "userPrincipalName":
		return strings.ToLower(u.UPN)
	case "displayName":
		return strings.ToLower(u.DisplayName)
	case "mail":
		return u.Mail
	case "createdDateTime":
		return fmt.Sprint(toMicros(u.CreatedAt))
	}
	return u.ID
}

// UpdateUser applies fn to the user inside one transaction. The id and
// tenant cannot be changed by fn.
func (db *DB) UpdateUser(ctx context.Context, tenantID, id string, fn func(*store.User) error) (store.User, error) {
	var out store.User
	err := db.inTx(ctx, func(tx *DB) error {
		u, err := scanUser(tx.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		if err := fn(&u); err != nil {
			return err
		}
		u.ID, u.TenantID = id, tenantID
		u.UpdatedAt = time.Now().UTC()
		_, err = tx.exec(ctx, `UPDATE users SET upn = ?, upn_lower = ?, display_name = ?, display_name_lower = ?,
			mail = ?, mobile_phone = ?, account_enabled = ?, password_hash = ?, force_change_password = ?,
			per_user_mfa = ?, user_type = ?, updated_at = ?, last_sign_in_at = ?, preferred_mfa = ?, system_preferred_mfa = ?,
			mfa_grace_started_at = ?, registration_snoozed_until = ? WHERE tenant_id = ? AND id = ?`,
			u.UPN, strings.ToLower(u.UPN), u.DisplayName, strings.ToLower(u.DisplayName), u.Mail, u.MobilePhone,
			u.AccountEnabled, u.PasswordHash, u.ForceChangePassword, string(u.PerUserMFA), u.UserType,
			toMicros(u.UpdatedAt), nullMicros(u.LastSignInAt), u.PreferredMFA, nullBool(u.SystemPreferredMFA),
			nullMicros(u.MFAGraceStartedAt), nullMicros(u.RegistrationSnoozedUntil), tenantID, id)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		out = u
		return nil
	})
	return out, err
}

// SetLastSignIn writes last_sign_in_at alone: a sign-in is not a change
// of the user object, and one column spares the read-modify-write of the
// whole row.
func (db *DB) SetLastSignIn(ctx context.Context, tenantID, id string, at time.Time) error {
	return db.execOne(ctx, `UPDATE users SET last_sign_in_at = ? WHERE tenant_id = ? AND id = ?`, toMicros(at), tenantID, id)
}

// DeleteUser removes a user with its memberships and role assignments.
func (db *DB) DeleteUser(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *DB) error {
		if err := tx.execOne(ctx, `DELETE FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return err
		}
		// Hardware tokens are the organisation's and go back to the pool;
		// every other method and session of the user goes with them.
		for _, q := range []string{
			`UPDATE auth_methods SET user_id = NULL, state = 'unassigned', is_default = FALSE WHERE tenant_id = ? AND user_id = ? AND kind = 'hardwareOath'`,
			`DELETE FROM auth_methods WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?`,
		} {
			if _, err := tx.exec(ctx, q, tenantID, id); err != nil {
				return err
			}
		}
		return tx.deletePrincipalRefs(ctx, tenantID, id)
	})
}

// deletePrincipalRefs removes the rows that point at a user or group but
// cannot carry a foreign key (members and principals span two tables).
func (db *DB) deletePrincipalRefs(ctx context.Context, tenantID, id string) error {
	if _, err := db.exec(ctx, `DELETE FROM group_members WHERE tenant_id = ? AND member_id = ?`, tenantID, id); err != nil {
		return err
	}
	_, err := db.exec(ctx, `DELETE FROM role_assignments WHERE tenant_id = ? AND principal_id = ?`, tenantID, id)
	return err
}
