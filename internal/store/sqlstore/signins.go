package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// signInDetails is the part of a sign-in kept as JSON: everything that is
// shown but never filtered on.
type signInDetails struct {
	UserAgent                 string                  `json:"userAgent,omitempty"`
	AppliedCAPolicies         []store.AppliedCAPolicy `json:"appliedConditionalAccessPolicies,omitempty"`
	FailureReason             string                  `json:"failureReason,omitempty"`
	AdditionalDetails         string                  `json:"additionalDetails,omitempty"`
	Location                  store.SignInLocation    `json:"location"`
	Device                    store.SignInDevice      `json:"deviceDetail"`
	RiskLevelAggregated       string                  `json:"riskLevelAggregated,omitempty"`
	RiskState                 string                  `json:"riskState,omitempty"`
	RiskDetail                string                  `json:"riskDetail,omitempty"`
	RiskEventTypes            []string                `json:"riskEventTypes,omitempty"`
	AuthDetails               []store.AuthDetail      `json:"authenticationDetails,omitempty"`
	AuthenticationRequirement string                  `json:"authenticationRequirement,omitempty"`
}

const signInCols = `id, tenant_id, created_at, user_id, user_principal_name, user_display_name, app_id, app_display_name,
	ip_address, client_app_used, correlation_id, is_interactive, conditional_access_status, error_code, risk_level, details`

func scanSignIn(r rowScanner) (store.SignIn, error) {
	var s store.SignIn
	var created int64
	var details string
	if err := r.Scan(&s.ID, &s.TenantID, &created, &s.UserID, &s.UserPrincipalName, &s.UserDisplayName, &s.AppID,
		&s.AppDisplayName, &s.IPAddress, &s.ClientAppUsed, &s.CorrelationID, &s.IsInteractive, &s.ConditionalAccessStatus,
		&s.ErrorCode, &s.RiskLevelDuringSignIn, &details); err != nil {
		return s, err
	}
	s.CreatedAt = fromMicros(created)
	var d signInDetails
	if err := json.Unmarshal([]byte(details), &d); err != nil {
		return s, fmt.Errorf("sign-in %s details: %w", s.ID, err)
	}
	s.UserAgent, s.AppliedCAPolicies, s.FailureReason, s.AdditionalDetails = d.UserAgent, d.AppliedCAPolicies, d.FailureReason, d.AdditionalDetails
	s.Location, s.Device, s.RiskLevelAggregated, s.RiskState, s.RiskDetail = d.Location, d.Device, d.RiskLevelAggregated, d.RiskState, d.RiskDetail
	s.RiskEventTypes, s.AuthDetails, s.AuthenticationRequirement = d.RiskEventTypes, d.AuthDetails, d.AuthenticationRequirement
	return s, nil
}

// AppendSignIns writes a batch of sign-ins in one transaction.
func (db *DB) AppendSignIns(ctx context.Context, entries []store.SignIn) error {
	if len(entries) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *DB) error {
		for _, s := range entries {
			d := signInDetails{UserAgent: s.UserAgent, AppliedCAPolicies: s.AppliedCAPolicies, FailureReason: s.FailureReason,
				AdditionalDetails: s.AdditionalDetails, Location: s.Location, Device: s.Device, RiskLevelAggregated: s.RiskLevelAggregated,
				RiskState: s.RiskState, RiskDetail: s.RiskDetail, RiskEventTypes: s.RiskEventTypes, AuthDetails: s.AuthDetails,
				AuthenticationRequirement: s.AuthenticationRequirement}
			if _, err := tx.exec(ctx, `INSERT INTO sign_ins (id, tenant_id, created_at, user_id, user_principal_name, upn_lower,
				user_display_name, app_id, app_display_name, ip_address, client_app_used, correlation_id, is_interactive,
				conditional_access_status, error_code, risk_level, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				s.ID, s.TenantID, toMicros(s.CreatedAt), s.UserID, s.UserPrincipalName, strings.ToLower(s.UserPrincipalName),
				s.UserDisplayName, s.AppID, s.AppDisplayName, s.IPAddress, s.ClientAppUsed, s.CorrelationID, s.IsInteractive,
				s.ConditionalAccessStatus, s.ErrorCode, s.RiskLevelDuringSignIn, jsonText(d)); err != nil {
				return fmt.Errorf("insert sign-in: %w", err)
			}
		}
		return nil
	})
}

// GetSignIn reads one sign-in.
func (db *DB) GetSignIn(ctx context.Context, tenantID, id string) (store.SignIn, error) {
	s, err := scanSignIn(db.queryRow(ctx, `SELECT `+signInCols+` FROM sign_ins WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return s, notFound(err)
}

var signInFields = map[string]column{
	"id":                      {expr: "id"},
	"createdDateTime":         {expr: "created_at", isInt: true},
	"userId":                  {expr: "user_id"},
	"userPrincipalName":       {expr: "lower:upn_lower"},
	"userDisplayName":         {expr: "lower:lower(user_display_name)"},
	"appId":                   {expr: "app_id"},
	"appDisplayName":          {expr: "lower:lower(app_display_name)"},
	"ipAddress":               {expr: "ip_address"},
	"clientAppUsed":           {expr: "client_app_used"},
	"correlationId":           {expr: "correlation_id"},
	"conditionalAccessStatus": {expr: "conditional_access_status"},
	"errorCode":               {expr: "error_code"},
	"isInteractive":           {expr: "is_interactive", isBool: true},
	"riskLevelDuringSignIn":   {expr: "risk_level"},
}

// ListSignIns pages through the sign-in log, newest first by default.
func (db *DB) ListSignIns(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.SignIn], error) {
	spec := listSpec{from: "sign_ins", cols: signInCols, where: "tenant_id = ?", args: []any{tenantID},
		fields: signInFields, defaultOrder: "createdDateTime", defaultDesc: true}
	if q.OrderBy != "" && q.OrderBy != "createdDateTime" {
		return store.Page[store.SignIn]{}, fmt.Errorf("%w: sign-ins are ordered by createdDateTime", store.ErrInvalid)
	}
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.SignIn, string, string, error) {
		s, err := scanSignIn(rows)
		return s, fmt.Sprint(toMicros(s.CreatedAt)), s.ID, err
	})
}

// CreateFlow stores a new sign-in flow.
func (db *DB) CreateFlow(ctx context.Context, f store.Flow) error {
	if f.Data == nil {
		f.Data = []byte("{}")
	}
	_, err := db.exec(ctx, `INSERT INTO signin_flows (tenant_id, id, state, user_id, data, created_at, updated_at, expires_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.TenantID, f.ID, f.State, f.UserID, string(f.Data), toMicros(f.CreatedAt),
		toMicros(f.UpdatedAt), toMicros(f.ExpiresAt), f.Version)
	return err
}

// GetFlow reads a live flow.
func (db *DB) GetFlow(ctx context.Context, tenantID, id string, now time.Time) (store.Flow, error) {
	var f store.Flow
	var data string
	var created, updated, expires int64
	err := db.queryRow(ctx, `SELECT tenant_id, id, state, user_id, data, created_at, updated_at, expires_at, version
		FROM signin_flows WHERE tenant_id = ? AND id = ? AND expires_at > ?`, tenantID, id, toMicros(now)).
		Scan(&f.TenantID, &f.ID, &f.State, &f.UserID, &data, &created, &updated, &expires, &f.Version)
	if err != nil {
		return f, notFound(err)
	}
	f.Data, f.CreatedAt, f.UpdatedAt, f.ExpiresAt = []byte(data), fromMicros(created), fromMicros(updated), fromMicros(expires)
	return f, nil
}

// UpdateFlow is a compare-and-set on the version: of two requests that
// read the same flow, only the first may move it on.
func (db *DB) UpdateFlow(ctx context.Context, f store.Flow) error {
	res, err := db.exec(ctx, `UPDATE signin_flows SET state = ?, user_id = ?, data = ?, updated_at = ?, expires_at = ?,
		version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?`, f.State, f.UserID, string(f.Data),
		toMicros(f.UpdatedAt), toMicros(f.ExpiresAt), f.TenantID, f.ID, f.Version)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: the flow changed meanwhile", store.ErrConflict)
	}
	return nil
}

// DeleteExpiredFlows removes flows past their expiry.
func (db *DB) DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error) {
	return db.deleteWhere(ctx, `DELETE FROM signin_flows WHERE expires_at <= ?`, toMicros(now))
}

func (db *DB) deleteWhere(ctx context.Context, query string, args ...any) (int, error) {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const sessionCols = `tenant_id, id, user_id, created_at, last_seen_at, expires_at, auth_at, mfa_at, methods, persistent, revoked_at, data`

func scanSession(r rowScanner) (store.Session, error) {
	var s store.Session
	var created, seen, expires, auth int64
	var mfa, revoked sql.NullInt64
	var methods, data string
	if err := r.Scan(&s.TenantID, &s.ID, &s.UserID, &created, &seen, &expires, &auth, &mfa, &methods, &s.Persistent, &revoked, &data); err != nil {
		return s, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthAt = fromMicros(created), fromMicros(seen), fromMicros(expires), fromMicros(auth)
	s.MFAAt, s.RevokedAt, s.Data = fromNullMicros(mfa), fromNullMicros(revoked), []byte(data)
	return s, json.Unmarshal([]byte(methods), &s.Methods)
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	if s.Data == nil {
		s.Data = []byte("{}")
	}
	_, err := db.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.TenantID, s.ID, s.UserID, toMicros(s.CreatedAt), toMicros(s.LastSeenAt), toMicros(s.ExpiresAt), toMicros(s.AuthAt),
		nullMicros(s.MFAAt), jsonText(nonNil(s.Methods)), s.Persistent, nullMicros(s.RevokedAt), string(s.Data))
	return err
}

// GetSession reads a live session.
func (db *DB) GetSession(ctx context.Context, tenantID, id string, now time.Time) (store.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = ? AND id = ?
		AND expires_at > ? AND revoked_at IS NULL`, tenantID, id, toMicros(now)))
	return s, notFound(err)
}

// UpdateSession applies fn in one transaction.
func (db *DB) UpdateSession(ctx context.Context, tenantID, id string, fn func(*store.Session) error) (store.Session, error) {
	var out store.Session
	err := db.inTx(ctx, func(tx *DB) error {
		s, err := scanSession(tx.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		if err := fn(&s); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ?, auth_at = ?, mfa_at = ?, methods = ?,
			persistent = ?, revoked_at = ?, data = ? WHERE tenant_id = ? AND id = ?`, toMicros(s.LastSeenAt), toMicros(s.ExpiresAt),
			toMicros(s.AuthAt), nullMicros(s.MFAAt), jsonText(nonNil(s.Methods)), s.Persistent, nullMicros(s.RevokedAt),
			string(s.Data), tenantID, id)
		out = s
		return err
	})
	return out, err
}

// RevokeUserSessions revokes all of a user's live sessions.
func (db *DB) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time) (int, error) {
	return db.deleteWhere(ctx, `UPDATE sessions SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL
		AND expires_at > ?`, toMicros(now), tenantID, userID, toMicros(now))
}

// DeleteExpiredSessions removes expired and revoked sessions.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return db.deleteWhere(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR revoked_at IS NOT NULL`, toMicros(now))
}
