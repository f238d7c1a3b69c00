package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vakt-id/vakt/internal/store"
)

const appCols = `id, tenant_id, app_id, display_name, secret_hash, redirect_uris, permissions, created_at, spa_redirect_uris, public_client_redirect_uris, password_credentials`

func scanApp(r rowScanner) (store.App, error) {
	var a store.App
	var uris, perms, spa, public, passwords string
	var created int64
	if err := r.Scan(&a.ID, &a.TenantID, &a.AppID, &a.DisplayName, &a.SecretHash, &uris, &perms, &created, &spa, &public, &passwords); err != nil {
		return a, err
	}
	if err := scanAppPlatforms(&a, spa, public, passwords); err != nil {
		return a, err
	}
	a.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(uris), &a.RedirectURIs); err != nil {
		return a, fmt.Errorf("app %s redirect uris: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(perms), &a.Permissions); err != nil {
		return a, fmt.Errorf("app %s permissions: %w", a.ID, err)
	}
	return a, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with string slices and maps of strings
	}
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateApp inserts an app registration.
func (db *DB) CreateApp(ctx context.Context, a store.App) error {
	_, err := db.exec(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TenantID, a.AppID, a.DisplayName, a.SecretHash, jsonText(nonNil(a.RedirectURIs)),
		jsonText(nonNil(a.Permissions)), toMicros(a.CreatedAt), jsonText(nonNil(a.SPARedirectURIs)),
		jsonText(nonNil(a.PublicClientRedirectURIs)), passwordsJSON(a.Passwords))
	return err
}

// AppByAppID reads an app by its client id.
func (db *DB) AppByAppID(ctx context.Context, tenantID, appID string) (store.App, error) {
	a, err := scanApp(db.queryRow(ctx, `SELECT `+appCols+` FROM apps WHERE tenant_id = ? AND app_id = ?`, tenantID, appID))
	return a, notFound(err)
}

// ListApps lists a tenant's apps.
func (db *DB) ListApps(ctx context.Context, tenantID string) ([]store.App, error) {
	rows, err := db.query(ctx, `SELECT `+appCols+` FROM apps WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddSigningKey stores a new signing key.
func (db *DB) AddSigningKey(ctx context.Context, k store.SigningKey) error {
	_, err := db.exec(ctx, `INSERT INTO signing_keys (tenant_id, key_id, algorithm, private_sealed, public_jwk, created_at, not_after)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, k.TenantID, k.KeyID, k.Algorithm, k.PrivateSealed, string(k.PublicJWK),
		toMicros(k.CreatedAt), nullMicros(k.NotAfter))
	return err
}

// SigningKeys lists a tenant's keys, newest first.
func (db *DB) SigningKeys(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	rows, err := db.query(ctx, `SELECT tenant_id, key_id, algorithm, private_sealed, public_jwk, created_at, not_after
		FROM signing_keys WHERE tenant_id = ? ORDER BY created_at DESC, key_id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.SigningKey{}
	for rows.Next() {
		var k store.SigningKey
		var jwk string
		var created int64
		var notAfter sql.NullInt64
		if err := rows.Scan(&k.TenantID, &k.KeyID, &k.Algorithm, &k.PrivateSealed, &jwk, &created, &notAfter); err != nil {
			return nil, err
		}
		k.PublicJWK, k.CreatedAt, k.NotAfter = []byte(jwk), fromMicros(created), fromNullMicros(notAfter)
		out = append(out, k)
	}
	return out, rows.Err()
}
