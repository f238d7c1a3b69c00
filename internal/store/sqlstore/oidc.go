package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// scanAppPlatforms reads the columns migration 00006 added to apps.
func scanAppPlatforms(a *store.App, spa, public, passwords string) error {
	if err := json.Unmarshal([]byte(spa), &a.SPARedirectURIs); err != nil {
		return fmt.Errorf("app %s spa redirect uris: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(public), &a.PublicClientRedirectURIs); err != nil {
		return fmt.Errorf("app %s public client redirect uris: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(passwords), &a.Passwords); err != nil {
		return fmt.Errorf("app %s password credentials: %w", a.ID, err)
	}
	return nil
}

func passwordsJSON(p []store.PasswordCredential) string {
	if p == nil {
		p = []store.PasswordCredential{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // plain strings and times only
	}
	return string(b)
}

// AppByID reads an app by its object id.
func (db *DB) AppByID(ctx context.Context, tenantID, id string) (store.App, error) {
	a, err := scanApp(db.queryRow(ctx, `SELECT `+appCols+` FROM apps WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, notFound(err)
}

// UpdateApp changes an app inside a transaction; the ids and the creation
// time cannot change.
func (db *DB) UpdateApp(ctx context.Context, tenantID, id string, fn func(*store.App) error) (store.App, error) {
	var out store.App
	err := db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "app:"+tenantID+":"+id); err != nil {
			return err
		}
		a, err := tx.AppByID(ctx, tenantID, id)
		if err != nil {
			return err
		}
		keep := a
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.TenantID, a.AppID, a.CreatedAt = keep.ID, keep.TenantID, keep.AppID, keep.CreatedAt
		if err := tx.execOne(ctx, `UPDATE apps SET display_name = ?, secret_hash = ?, redirect_uris = ?, permissions = ?,
			spa_redirect_uris = ?, public_client_redirect_uris = ?, password_credentials = ? WHERE tenant_id = ? AND id = ?`,
			a.DisplayName, a.SecretHash, jsonText(nonNil(a.RedirectURIs)), jsonText(nonNil(a.Permissions)),
			jsonText(nonNil(a.SPARedirectURIs)), jsonText(nonNil(a.PublicClientRedirectURIs)), passwordsJSON(a.Passwords),
			tenantID, id); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// DeleteApp removes an app and the refresh tokens issued to it.
func (db *DB) DeleteApp(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *DB) error {
		a, err := tx.AppByID(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM oidc_refresh_tokens WHERE tenant_id = ? AND client_id = ?`, tenantID, a.AppID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM oidc_auth_requests WHERE tenant_id = ? AND client_id = ?`, tenantID, a.AppID); err != nil {
			return err
		}
		return tx.execOne(ctx, `DELETE FROM apps WHERE tenant_id = ? AND id = ?`, tenantID, id)
	})
}

const authRequestCols = `id, tenant_id, client_id, data, code_hash, created_at, expires_at`

func scanAuthRequest(r rowScanner) (store.AuthRequest, error) {
	var a store.AuthRequest
	var data string
	var code sql.NullString
	var created, expires int64
	if err := r.Scan(&a.ID, &a.TenantID, &a.ClientID, &data, &code, &created, &expires); err != nil {
		return a, notFound(err)
	}
	a.Data, a.CodeHash, a.CreatedAt, a.ExpiresAt = []byte(data), code.String, fromMicros(created), fromMicros(expires)
	return a, nil
}

// CreateAuthRequest stores a new authorization request.
func (db *DB) CreateAuthRequest(ctx context.Context, r store.AuthRequest) error {
	_, err := db.exec(ctx, `INSERT INTO oidc_auth_requests (`+authRequestCols+`) VALUES (?, ?, ?, ?, NULL, ?, ?)`,
		r.ID, r.TenantID, r.ClientID, string(r.Data), toMicros(r.CreatedAt), toMicros(r.ExpiresAt))
	return err
}

// GetAuthRequest reads a live authorization request.
func (db *DB) GetAuthRequest(ctx context.Context, tenantID, id string, now time.Time) (store.AuthRequest, error) {
	return scanAuthRequest(db.queryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests
		WHERE tenant_id = ? AND id = ? AND expires_at > ?`, tenantID, id, toMicros(now)))
}

// RedeemAuthCode takes a live authorization request by its code's hash:
// it is deleted as it is read, so a code is redeemed at most once.
func (db *DB) RedeemAuthCode(ctx context.Context, tenantID, codeHash string, now time.Time) (store.AuthRequest, error) {
	if codeHash == "" {
		return store.AuthRequest{}, store.ErrNotFound
	}
	var out store.AuthRequest
	err := db.inTx(ctx, func(tx *DB) error {
		r, err := scanAuthRequest(tx.queryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests
			WHERE tenant_id = ? AND code_hash = ? AND expires_at > ?`, tenantID, codeHash, toMicros(now)))
		if err != nil {
			return err
		}
		// A concurrent redemption that deleted it first leaves 0 rows.
		if err := tx.execOne(ctx, `DELETE FROM oidc_auth_requests WHERE tenant_id = ? AND id = ?`, tenantID, r.ID); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// SetAuthRequestData replaces a request's data.
func (db *DB) SetAuthRequestData(ctx context.Context, tenantID, id string, data []byte) error {
	return db.execOne(ctx, `UPDATE oidc_auth_requests SET data = ? WHERE tenant_id = ? AND id = ?`, string(data), tenantID, id)
}

// SetAuthCode records the code of a request that has none yet.
func (db *DB) SetAuthCode(ctx context.Context, tenantID, id, codeHash string) error {
	err := db.execOne(ctx, `UPDATE oidc_auth_requests SET code_hash = ? WHERE tenant_id = ? AND id = ? AND code_hash IS NULL`,
		codeHash, tenantID, id)
	if err == store.ErrNotFound {
		// Either no such request or it already has a code.
		if _, gerr := db.GetAuthRequest(ctx, tenantID, id, time.UnixMicro(0)); gerr == nil {
			return store.ErrConflict
		}
	}
	return err
}

// DeleteAuthRequest removes a request (and with it its code).
func (db *DB) DeleteAuthRequest(ctx context.Context, tenantID, id string) error {
	return db.execOne(ctx, `DELETE FROM oidc_auth_requests WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

const refreshCols = `hash, tenant_id, family_id, client_id, user_id, data, created_at, expires_at, used_at, revoked_at`

// CreateRefreshToken stores a new refresh token.
func (db *DB) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	_, err := db.exec(ctx, `INSERT INTO oidc_refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.TenantID, t.FamilyID, t.ClientID, t.UserID, string(t.Data), toMicros(t.CreatedAt), toMicros(t.ExpiresAt),
		nullMicros(t.UsedAt), nullMicros(t.RevokedAt))
	return err
}

// RefreshTokenByHash reads an unexpired refresh token, used or not.
func (db *DB) RefreshTokenByHash(ctx context.Context, tenantID, hash string, now time.Time) (store.RefreshToken, error) {
	var t store.RefreshToken
	var data string
	var created, expires int64
	var used, revoked sql.NullInt64
	err := db.queryRow(ctx, `SELECT `+refreshCols+` FROM oidc_refresh_tokens WHERE tenant_id = ? AND hash = ? AND expires_at > ?`,
		tenantID, hash, toMicros(now)).Scan(&t.Hash, &t.TenantID, &t.FamilyID, &t.ClientID, &t.UserID, &data, &created, &expires, &used, &revoked)
	if err != nil {
		return t, notFound(err)
	}
	t.Data, t.CreatedAt, t.ExpiresAt = []byte(data), fromMicros(created), fromMicros(expires)
	t.UsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return t, nil
}

// RotateRefreshToken marks old used and stores next, atomically: of two
// requests racing with one token, one wins and the other sees ErrConflict.
func (db *DB) RotateRefreshToken(ctx context.Context, tenantID, oldHash string, next store.RefreshToken, now time.Time) error {
	return db.inTx(ctx, func(tx *DB) error {
		err := tx.execOne(ctx, `UPDATE oidc_refresh_tokens SET used_at = ? WHERE tenant_id = ? AND hash = ?
			AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, toMicros(now), tenantID, oldHash, toMicros(now))
		if err == store.ErrNotFound {
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		return tx.CreateRefreshToken(ctx, next)
	})
}

// RevokeRefreshFamily revokes every live token of a family.
func (db *DB) RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) (int, error) {
	res, err := db.exec(ctx, `UPDATE oidc_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND family_id = ? AND revoked_at IS NULL`,
		toMicros(now), tenantID, familyID)
	return affected(res, err)
}

// RevokeUserRefreshTokens revokes a user's live tokens (of one client
// unless clientID is empty).
func (db *DB) RevokeUserRefreshTokens(ctx context.Context, tenantID, userID, clientID string, now time.Time) (int, error) {
	if clientID == "" {
		return affected(db.exec(ctx, `UPDATE oidc_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?
			AND revoked_at IS NULL`, toMicros(now), tenantID, userID))
	}
	return affected(db.exec(ctx, `UPDATE oidc_refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?
		AND client_id = ? AND revoked_at IS NULL`, toMicros(now), tenantID, userID, clientID))
}

// DeleteExpiredOIDC removes expired authorization requests and tokens.
func (db *DB) DeleteExpiredOIDC(ctx context.Context, now time.Time) (int, error) {
	n1, err := affected(db.exec(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at <= ?`, toMicros(now)))
	if err != nil {
		return n1, err
	}
	n2, err := affected(db.exec(ctx, `DELETE FROM oidc_refresh_tokens WHERE expires_at <= ?`, toMicros(now)))
	return n1 + n2, err
}

func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
