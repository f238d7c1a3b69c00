package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

const groupCols = `id, tenant_id, display_name, description, mail_nickname, created_at`

func scanGroup(r rowScanner) (store.Group, error) {
	var g store.Group
	var created int64
	err := r.Scan(&g.ID, &g.TenantID, &g.DisplayName, &g.Description, &g.MailNickname, &created)
	g.CreatedAt = fromMicros(created)
	return g, err
}

// CreateGroup inserts a group.
func (db *DB) CreateGroup(ctx context.Context, g store.Group) error {
	return db.inTx(ctx, func(tx *DB) error {
		if err := tx.idFree(ctx, g.TenantID, g.ID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO groups (id, tenant_id, display_name, display_name_lower, description,
			mail_nickname, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.TenantID, g.DisplayName, strings.ToLower(g.DisplayName), g.Description, g.MailNickname, toMicros(g.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		return nil
	})
}

// idFree makes sure users and groups never share an id, since members and
// role principals name either by id alone.
func (db *DB) idFree(ctx context.Context, tenantID, id string) error {
	_, err := db.DirectoryObject(ctx, tenantID, id)
	switch {
	case err == nil:
		return fmt.Errorf("%w: id %s is taken", store.ErrConflict, id)
	case err == store.ErrNotFound:
		return nil
	}
	return err
}

// GetGroup reads a group by id.
func (db *DB) GetGroup(ctx context.Context, tenantID, id string) (store.Group, error) {
	g, err := scanGroup(db.queryRow(ctx, `SELECT `+groupCols+` FROM groups WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return g, notFound(err)
}

var groupFields = map[string]column{
	"id":              {expr: "id"},
	"displayName":     {expr: "lower:display_name_lower"},
	"mailNickname":    {expr: "lower:lower(mail_nickname)"},
	"createdDateTime": {expr: "created_at", isInt: true},
}

// ListGroups pages through a tenant's groups.
func (db *DB) ListGroups(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.Group], error) {
	spec := listSpec{from: "groups", cols: groupCols, where: "tenant_id = ?", args: []any{tenantID}, fields: groupFields}
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.Group, string, string, error) {
		g, err := scanGroup(rows)
		v := g.ID
		switch q.OrderBy {
		case "displayName":
			v = strings.ToLower(g.DisplayName)
		case "mailNickname":
			v = g.MailNickname
		case "createdDateTime":
			v = fmt.Sprint(toMicros(g.CreatedAt))
		}
		return g, v, g.ID, err
	})
}

// UpdateGroup applies fn to the group in one transaction.
func (db *DB) UpdateGroup(ctx context.Context, tenantID, id string, fn func(*store.Group) error) (store.Group, error) {
	var out store.Group
	err := db.inTx(ctx, func(tx *DB) error {
		g, err := scanGroup(tx.queryRow(ctx, `SELECT `+groupCols+` FROM groups WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		if err := fn(&g); err != nil {
			return err
		}
		g.ID, g.TenantID = id, tenantID
		_, err = tx.exec(ctx, `UPDATE groups SET display_name = ?, display_name_lower = ?, description = ?, mail_nickname = ?
			WHERE tenant_id = ? AND id = ?`, g.DisplayName, strings.ToLower(g.DisplayName), g.Description, g.MailNickname, tenantID, id)
		out = g
		return err
	})
	return out, err
}

// DeleteGroup removes a group, its own member rows (by foreign key), its
// memberships in other groups and its role assignments.
func (db *DB) DeleteGroup(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *DB) error {
		if err := tx.execOne(ctx, `DELETE FROM groups WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return err
		}
		return tx.deletePrincipalRefs(ctx, tenantID, id)
	})
}

// DirectoryObject resolves an id to a user or a group of the tenant.
func (db *DB) DirectoryObject(ctx context.Context, tenantID, id string) (store.DirectoryObject, error) {
	var o store.DirectoryObject
	err := db.queryRow(ctx, `SELECT id, 'user', display_name, upn FROM users WHERE tenant_id = ? AND id = ?
		UNION ALL SELECT id, 'group', display_name, '' FROM groups WHERE tenant_id = ? AND id = ?`,
		tenantID, id, tenantID, id).Scan(&o.ID, &o.Kind, &o.DisplayName, &o.UPN)
	return o, notFound(err)
}

// AddMember adds a user or a group to a group, refusing cycles.
func (db *DB) AddMember(ctx context.Context, tenantID, groupID, memberID string) error {
	return db.inTx(ctx, func(tx *DB) error {
		if err := tx.d.Lock(ctx, tx.tx, "groups:"+tenantID); err != nil {
			return err
		}
		if _, err := tx.GetGroup(ctx, tenantID, groupID); err != nil {
			return err
		}
		m, err := tx.DirectoryObject(ctx, tenantID, memberID)
		if err != nil {
			if err == store.ErrNotFound {
				return fmt.Errorf("%w: member %s does not exist", store.ErrInvalid, memberID)
			}
			return err
		}
		if m.Kind == store.KindGroup {
			if memberID == groupID {
				return fmt.Errorf("%w: a group cannot contain itself", store.ErrCycle)
			}
			// Adding child C to parent P closes a loop exactly when C
			// already contains P.
			ancestors, err := tx.TransitiveGroupIDs(ctx, tenantID, groupID)
			if err != nil {
				return err
			}
			if slices.Contains(ancestors, memberID) {
				return fmt.Errorf("%w: group %s already contains group %s", store.ErrCycle, memberID, groupID)
			}
		}
		_, err = tx.exec(ctx, `INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) VALUES (?, ?, ?, ?)`,
			tenantID, groupID, memberID, string(m.Kind))
		return err
	})
}

// RemoveMember removes a direct member.
func (db *DB) RemoveMember(ctx context.Context, tenantID, groupID, memberID string) error {
	return db.execOne(ctx, `DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id = ?`,
		tenantID, groupID, memberID)
}

const memberObjects = `SELECT u.id, 'user', u.display_name, u.upn FROM users u WHERE u.tenant_id = ? AND u.id IN (%[1]s)
	UNION ALL SELECT g.id, 'group', g.display_name, '' FROM groups g WHERE g.tenant_id = ? AND g.id IN (%[1]s)
	ORDER BY 3, 1`

func (db *DB) objects(ctx context.Context, query string, args ...any) ([]store.DirectoryObject, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.DirectoryObject{}
	for rows.Next() {
		var o store.DirectoryObject
		if err := rows.Scan(&o.ID, &o.Kind, &o.DisplayName, &o.UPN); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ListMembers lists a group's direct members.
func (db *DB) ListMembers(ctx context.Context, tenantID, groupID string) ([]store.DirectoryObject, error) {
	if _, err := db.GetGroup(ctx, tenantID, groupID); err != nil {
		return nil, err
	}
	sub := `SELECT member_id FROM group_members WHERE tenant_id = ? AND group_id = ?`
	return db.objects(ctx, fmt.Sprintf(memberObjects, sub), tenantID, tenantID, groupID, tenantID, tenantID, groupID)
}

const downCTE = `WITH RECURSIVE down(id) AS (
	SELECT member_id FROM group_members WHERE tenant_id = ? AND group_id = ?
	UNION
	SELECT gm.member_id FROM down CROSS JOIN group_members gm WHERE gm.tenant_id = ? AND gm.group_id = down.id
) `

// ListTransitiveMembers lists every user and group inside a group, at any depth.
func (db *DB) ListTransitiveMembers(ctx context.Context, tenantID, groupID string) ([]store.DirectoryObject, error) {
	if _, err := db.GetGroup(ctx, tenantID, groupID); err != nil {
		return nil, err
	}
	return db.objects(ctx, downCTE+fmt.Sprintf(memberObjects, "SELECT id FROM down"),
		tenantID, groupID, tenantID, tenantID, tenantID)
}

// MemberOf lists the groups that directly contain the object.
func (db *DB) MemberOf(ctx context.Context, tenantID, objectID string) ([]store.DirectoryObject, error) {
	if _, err := db.DirectoryObject(ctx, tenantID, objectID); err != nil {
		return nil, err
	}
	return db.objects(ctx, `SELECT g.id, 'group', g.display_name, '' FROM groups g JOIN group_members m
		ON m.tenant_id = g.tenant_id AND m.group_id = g.id WHERE m.tenant_id = ? AND m.member_id = ? ORDER BY 3, 1`,
		tenantID, objectID)
}

// upCTE walks membership upwards; UNION (not UNION ALL) keeps diamonds
// from multiplying rows. CROSS JOIN fixes the join order in SQLite, whose
// planner would otherwise scan all memberships once per step instead of
// looking each new group up in the index; PostgreSQL plans it the same
// either way.
const upCTE = `WITH RECURSIVE up(id) AS (
	SELECT group_id FROM group_members WHERE tenant_id = ? AND member_id = ?
	UNION
	SELECT gm.group_id FROM up CROSS JOIN group_members gm WHERE gm.tenant_id = ? AND gm.member_id = up.id
) `

// TransitiveGroupIDs returns every group containing the object at any depth.
func (db *DB) TransitiveGroupIDs(ctx context.Context, tenantID, objectID string) ([]string, error) {
	rows, err := db.query(ctx, upCTE+`SELECT id FROM up`, tenantID, objectID, tenantID)
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
