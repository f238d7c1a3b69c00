package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/vakt-id/vakt/internal/store"
)

const roleCols = `id, tenant_id, principal_id, role_definition_id, directory_scope_id, created_at`

func scanRole(r rowScanner) (store.RoleAssignment, error) {
	var a store.RoleAssignment
	var created int64
	err := r.Scan(&a.ID, &a.TenantID, &a.PrincipalID, &a.RoleDefinitionID, &a.DirectoryScopeID, &created)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// CreateRoleAssignment assigns a role to an existing user or group.
func (db *DB) CreateRoleAssignment(ctx context.Context, a store.RoleAssignment) error {
	return db.inTx(ctx, func(tx *DB) error {
		if _, err := tx.DirectoryObject(ctx, a.TenantID, a.PrincipalID); err != nil {
			if err == store.ErrNotFound {
				return fmt.Errorf("%w: principal %s does not exist", store.ErrInvalid, a.PrincipalID)
			}
			return err
		}
		if a.DirectoryScopeID == "" {
			a.DirectoryScopeID = "/"
		}
		_, err := tx.exec(ctx, `INSERT INTO role_assignments (`+roleCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.PrincipalID, a.RoleDefinitionID, a.DirectoryScopeID, toMicros(a.CreatedAt))
		return err
	})
}

// GetRoleAssignment reads one assignment.
func (db *DB) GetRoleAssignment(ctx context.Context, tenantID, id string) (store.RoleAssignment, error) {
	a, err := scanRole(db.queryRow(ctx, `SELECT `+roleCols+` FROM role_assignments WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, notFound(err)
}

// DeleteRoleAssignment removes one assignment.
func (db *DB) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	return db.execOne(ctx, `DELETE FROM role_assignments WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// ListRoleAssignments lists a tenant's assignments, optionally of one principal.
func (db *DB) ListRoleAssignments(ctx context.Context, tenantID, principalID string) ([]store.RoleAssignment, error) {
	query, args := `SELECT `+roleCols+` FROM role_assignments WHERE tenant_id = ?`, []any{tenantID}
	if principalID != "" {
		query += ` AND principal_id = ?`
		args = append(args, principalID)
	}
	rows, err := db.query(ctx, query+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.RoleAssignment{}
	for rows.Next() {
		a, err := scanRole(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// EffectiveRoleIDs returns the roles a user holds directly or through groups.
func (db *DB) EffectiveRoleIDs(ctx context.Context, tenantID, userID string) ([]string, error) {
	rows, err := db.query(ctx, upCTE+`SELECT DISTINCT role_definition_id FROM role_assignments
		WHERE tenant_id = ? AND (principal_id = ? OR principal_id IN (SELECT id FROM up)) ORDER BY 1`,
		tenantID, userID, tenantID, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Memberships walks the user's groups once and reads the roles held
// directly or through them, tagging each row with what it is.
func (db *DB) Memberships(ctx context.Context, tenantID, userID string) (groups, roles []string, err error) {
	rows, err := db.query(ctx, upCTE+`SELECT 'g', id FROM up
		UNION ALL
		SELECT DISTINCT 'r', role_definition_id FROM role_assignments
		WHERE tenant_id = ? AND (principal_id = ? OR principal_id IN (SELECT id FROM up))`,
		tenantID, userID, tenantID, tenantID, userID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	groups, roles = []string{}, []string{}
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, nil, err
		}
		if kind == "g" {
			groups = append(groups, id)
		} else {
			roles = append(roles, id)
		}
	}
	slices.Sort(roles)
	return groups, roles, rows.Err()
}
