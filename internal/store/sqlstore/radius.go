package sqlstore

import (
	"context"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

const radiusClientCols = `tenant_id, id, name, address, secret_sealed, created_at`

func (db *DB) radiusClients(ctx context.Context, query string, args ...any) ([]store.RadiusClient, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.RadiusClient{}
	for rows.Next() {
		var c store.RadiusClient
		var created int64
		if err := rows.Scan(&c.TenantID, &c.ID, &c.Name, &c.Address, &c.SecretSealed, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMicros(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateRadiusClient inserts a RADIUS client.
func (db *DB) CreateRadiusClient(ctx context.Context, c store.RadiusClient) error {
	_, err := db.exec(ctx, `INSERT INTO radius_clients (`+radiusClientCols+`, name_lower) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.TenantID, c.ID, c.Name, c.Address, c.SecretSealed, toMicros(c.CreatedAt), strings.ToLower(c.Name))
	return err
}

// ListRadiusClients lists a tenant's RADIUS clients, oldest first.
func (db *DB) ListRadiusClients(ctx context.Context, tenantID string) ([]store.RadiusClient, error) {
	return db.radiusClients(ctx, `SELECT `+radiusClientCols+` FROM radius_clients WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

// DeleteRadiusClient removes a tenant's RADIUS client.
func (db *DB) DeleteRadiusClient(ctx context.Context, tenantID, id string) error {
	return db.execOne(ctx, `DELETE FROM radius_clients WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// AllRadiusClients lists the clients of every tenant (the listener's
// address table).
func (db *DB) AllRadiusClients(ctx context.Context) ([]store.RadiusClient, error) {
	return db.radiusClients(ctx, `SELECT `+radiusClientCols+` FROM radius_clients ORDER BY created_at, id`)
}
