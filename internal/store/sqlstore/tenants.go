package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

// CreateTenant inserts a tenant and its domains in one transaction.
func (db *DB) CreateTenant(ctx context.Context, t store.Tenant) error {
	return db.inTx(ctx, func(tx *DB) error {
		if _, err := tx.exec(ctx, `INSERT INTO tenants (id, display_name, banned_passwords, created_at) VALUES (?, ?, ?, ?)`,
			t.ID, t.DisplayName, jsonText(nonNil(t.BannedPasswords)), toMicros(t.CreatedAt)); err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		for i, d := range t.Domains {
			if _, err := tx.exec(ctx, `INSERT INTO tenant_domains (domain, tenant_id, position) VALUES (?, ?, ?)`,
				strings.ToLower(d), t.ID, i); err != nil {
				return fmt.Errorf("insert domain %q: %w", d, err)
			}
		}
		return nil
	})
}

// GetTenant reads a tenant by id.
func (db *DB) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	var banned string
	err := db.queryRow(ctx, `SELECT id, display_name, banned_passwords, created_at FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.DisplayName, &banned, &created)
	if err != nil {
		return t, notFound(err)
	}
	t.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(banned), &t.BannedPasswords); err != nil {
		return t, fmt.Errorf("tenant %s banned passwords: %w", id, err)
	}
	t.Domains, err = db.tenantDomains(ctx, id)
	return t, err
}

func (db *DB) tenantDomains(ctx context.Context, id string) ([]string, error) {
	rows, err := db.query(ctx, `SELECT domain FROM tenant_domains WHERE tenant_id = ? ORDER BY position, domain`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TenantByDomain finds the tenant that owns a domain.
func (db *DB) TenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	var id string
	if err := db.queryRow(ctx, `SELECT tenant_id FROM tenant_domains WHERE domain = ?`, strings.ToLower(domain)).Scan(&id); err != nil {
		return store.Tenant{}, notFound(err)
	}
	return db.GetTenant(ctx, id)
}

// ListTenants lists every tenant, oldest first. Only the local operator
// sees this list.
func (db *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := db.query(ctx, `SELECT id FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]store.Tenant, 0, len(ids))
	for _, id := range ids {
		t, err := db.GetTenant(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// AddTenantDomain adds a domain; a domain taken by any tenant conflicts.
func (db *DB) AddTenantDomain(ctx context.Context, tenantID, domain string) error {
	return db.inTx(ctx, func(tx *DB) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM tenant_domains WHERE tenant_id = ?`, tenantID).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO tenant_domains (domain, tenant_id, position) VALUES (?, ?, ?)`,
			strings.ToLower(domain), tenantID, n)
		return err
	})
}

// UpdateTenant applies fn to the tenant in one transaction.
func (db *DB) UpdateTenant(ctx context.Context, id string, fn func(*store.Tenant) error) (store.Tenant, error) {
	var out store.Tenant
	err := db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "tenant:"+id); err != nil {
			return err
		}
		t, err := tx.GetTenant(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE tenants SET display_name = ?, banned_passwords = ? WHERE id = ?`,
			t.DisplayName, jsonText(nonNil(t.BannedPasswords)), id); err != nil {
			return err
		}
		out, err = tx.GetTenant(ctx, id)
		return err
	})
	return out, err
}
