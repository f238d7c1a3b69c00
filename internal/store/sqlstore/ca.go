package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

var _ store.ConditionalAccess = (*DB)(nil)

// LockConditionalAccess serialises a tenant's conditional access changes
// within a transaction.
func (db *DB) LockConditionalAccess(ctx context.Context, tenantID string) error {
	if db.tx == nil {
		return errors.New("sqlstore: LockConditionalAccess outside a transaction")
	}
	return db.d.Lock(ctx, db.tx, "conditionalAccess:"+tenantID)
}

func checkDoc(what string, doc []byte) error {
	if !json.Valid(doc) || !strings.HasPrefix(strings.TrimSpace(string(doc)), "{") {
		return fmt.Errorf("%s: document is not a JSON object", what)
	}
	return nil
}

// caOrderValue is the cursor value of a row for the order field.
func caOrderValue(field, id, displayName string, created, modified int64) string {
	switch field {
	case "displayName":
		return strings.ToLower(displayName)
	case "createdDateTime":
		return fmt.Sprint(created)
	case "modifiedDateTime":
		return fmt.Sprint(modified)
	case "state":
		return ""
	}
	return id
}

// ---- Policies ----

const caPolicyCols = `id, tenant_id, display_name, state, created_at, modified_at, doc`

func scanCAPolicy(r rowScanner) (store.CAPolicy, error) {
	var p store.CAPolicy
	var created, modified int64
	var doc string
	err := r.Scan(&p.ID, &p.TenantID, &p.DisplayName, &p.State, &created, &modified, &doc)
	p.CreatedAt, p.ModifiedAt, p.Doc = fromMicros(created), fromMicros(modified), []byte(doc)
	return p, err
}

// locationIDs reads the location references of policies, by policy id.
func (db *DB) locationIDs(ctx context.Context, tenantID string, policies []store.CAPolicy) error {
	if len(policies) == 0 {
		return nil
	}
	args := []any{tenantID}
	marks := make([]string, len(policies))
	idx := make(map[string]int, len(policies))
	for i, p := range policies {
		marks[i] = "?"
		args = append(args, p.ID)
		idx[p.ID] = i
		policies[i].LocationIDs = []string{}
	}
	rows, err := db.query(ctx, `SELECT policy_id, location_id FROM ca_policy_locations WHERE tenant_id = ? AND policy_id IN (`+
		strings.Join(marks, ", ")+`) ORDER BY policy_id, location_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid, lid string
		if err := rows.Scan(&pid, &lid); err != nil {
			return err
		}
		if i, ok := idx[pid]; ok {
			policies[i].LocationIDs = append(policies[i].LocationIDs, lid)
		}
	}
	return rows.Err()
}

// setLocations replaces a policy's location references.
func (db *DB) setLocations(ctx context.Context, tenantID, policyID string, ids []string) error {
	if _, err := db.exec(ctx, `DELETE FROM ca_policy_locations WHERE tenant_id = ? AND policy_id = ?`, tenantID, policyID); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, lid := range ids {
		if seen[lid] {
			continue
		}
		seen[lid] = true
		if _, err := db.exec(ctx, `INSERT INTO ca_policy_locations (tenant_id, policy_id, location_id) VALUES (?, ?, ?)`,
			tenantID, policyID, lid); err != nil {
			if errors.Is(err, store.ErrInvalid) {
				return fmt.Errorf("%w: named location %s does not exist", store.ErrInvalid, lid)
			}
			return err
		}
	}
	return nil
}

// CreateCAPolicy inserts a policy with its location references.
func (db *DB) CreateCAPolicy(ctx context.Context, p store.CAPolicy) error {
	if err := checkDoc("policy "+p.ID, p.Doc); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *DB) error {
		_, err := tx.exec(ctx, `INSERT INTO ca_policies (id, tenant_id, display_name, display_name_lower, state, created_at,
			modified_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.TenantID, p.DisplayName, strings.ToLower(p.DisplayName), p.State, toMicros(p.CreatedAt),
			toMicros(p.ModifiedAt), string(p.Doc))
		if err != nil {
			return fmt.Errorf("insert conditional access policy: %w", err)
		}
		return tx.setLocations(ctx, p.TenantID, p.ID, p.LocationIDs)
	})
}

// GetCAPolicy reads one policy.
func (db *DB) GetCAPolicy(ctx context.Context, tenantID, id string) (store.CAPolicy, error) {
	p, err := scanCAPolicy(db.queryRow(ctx, `SELECT `+caPolicyCols+` FROM ca_policies WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return p, notFound(err)
	}
	ps := []store.CAPolicy{p}
	if err := db.locationIDs(ctx, tenantID, ps); err != nil {
		return p, err
	}
	return ps[0], nil
}

var caPolicyFields = map[string]column{
	"id":               {expr: "id"},
	"displayName":      {expr: "lower:display_name_lower"},
	"state":            {expr: "state"},
	"createdDateTime":  {expr: "created_at", isInt: true},
	"modifiedDateTime": {expr: "modified_at", isInt: true},
}

// ListCAPolicies pages through a tenant's policies.
func (db *DB) ListCAPolicies(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.CAPolicy], error) {
	spec := listSpec{from: "ca_policies", cols: caPolicyCols, where: "tenant_id = ?", args: []any{tenantID},
		fields: caPolicyFields, defaultOrder: "createdDateTime"}
	field := q.OrderBy
	if field == "" {
		field = spec.defaultOrder
	}
	if field == "state" {
		return store.Page[store.CAPolicy]{}, fmt.Errorf("%w: cannot order by %q", store.ErrInvalid, field)
	}
	page, err := list(ctx, db, spec, q, func(rows *sql.Rows) (store.CAPolicy, string, string, error) {
		p, err := scanCAPolicy(rows)
		return p, caOrderValue(field, p.ID, p.DisplayName, toMicros(p.CreatedAt), toMicros(p.ModifiedAt)), p.ID, err
	})
	if err != nil {
		return page, err
	}
	return page, db.locationIDs(ctx, tenantID, page.Items)
}

// UpdateCAPolicy applies fn to a policy in one transaction.
func (db *DB) UpdateCAPolicy(ctx context.Context, tenantID, id string, fn func(*store.CAPolicy) error) (store.CAPolicy, error) {
	var out store.CAPolicy
	err := db.inTx(ctx, func(tx *DB) error {
		p, err := scanCAPolicy(tx.queryRow(ctx, `SELECT `+caPolicyCols+` FROM ca_policies WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		ps := []store.CAPolicy{p}
		if err := tx.locationIDs(ctx, tenantID, ps); err != nil {
			return err
		}
		p = ps[0]
		created := p.CreatedAt
		if err := fn(&p); err != nil {
			return err
		}
		p.ID, p.TenantID, p.CreatedAt = id, tenantID, created
		if err := checkDoc("policy "+id, p.Doc); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE ca_policies SET display_name = ?, display_name_lower = ?, state = ?, modified_at = ?, doc = ?
			WHERE tenant_id = ? AND id = ?`, p.DisplayName, strings.ToLower(p.DisplayName), p.State, toMicros(p.ModifiedAt),
			string(p.Doc), tenantID, id); err != nil {
			return err
		}
		if err := tx.setLocations(ctx, tenantID, id, p.LocationIDs); err != nil {
			return err
		}
		out = p
		if out.LocationIDs == nil {
			out.LocationIDs = []string{}
		}
		return nil
	})
	return out, err
}

// DeleteCAPolicy removes a policy and (by foreign key) its references.
func (db *DB) DeleteCAPolicy(ctx context.Context, tenantID, id string) error {
	return db.execOne(ctx, `DELETE FROM ca_policies WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// CountCAPolicies counts policies, of one state or all.
func (db *DB) CountCAPolicies(ctx context.Context, tenantID, state string) (int, error) {
	var n int
	var err error
	if state == "" {
		err = db.queryRow(ctx, `SELECT count(*) FROM ca_policies WHERE tenant_id = ?`, tenantID).Scan(&n)
	} else {
		err = db.queryRow(ctx, `SELECT count(*) FROM ca_policies WHERE tenant_id = ? AND state = ?`, tenantID, state).Scan(&n)
	}
	return n, db.d.MapError(err)
}

// CAPoliciesUsingLocation lists the policies naming a location.
func (db *DB) CAPoliciesUsingLocation(ctx context.Context, tenantID, locationID string) ([]store.CAPolicy, error) {
	rows, err := db.query(ctx, `SELECT `+caPolicyCols+` FROM ca_policies WHERE tenant_id = ? AND id IN
		(SELECT policy_id FROM ca_policy_locations WHERE tenant_id = ? AND location_id = ?) ORDER BY created_at, id`,
		tenantID, tenantID, locationID)
	if err != nil {
		return nil, err
	}
	out := []store.CAPolicy{}
	for rows.Next() {
		p, err := scanCAPolicy(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, db.d.MapError(err)
	}
	return out, db.locationIDs(ctx, tenantID, out)
}

// ---- Named locations ----

const namedLocationCols = `id, tenant_id, display_name, kind, created_at, modified_at, doc`

func scanNamedLocation(r rowScanner) (store.NamedLocation, error) {
	var l store.NamedLocation
	var created, modified int64
	var doc string
	err := r.Scan(&l.ID, &l.TenantID, &l.DisplayName, &l.Kind, &created, &modified, &doc)
	l.CreatedAt, l.ModifiedAt, l.Doc = fromMicros(created), fromMicros(modified), []byte(doc)
	return l, err
}

func validKind(k string) error {
	if !slices.Contains([]string{store.NamedLocationIP, store.NamedLocationCountry}, k) {
		return fmt.Errorf("%w: named location kind %q", store.ErrInvalid, k)
	}
	return nil
}

// CreateNamedLocation inserts a named location.
func (db *DB) CreateNamedLocation(ctx context.Context, l store.NamedLocation) error {
	if err := validKind(l.Kind); err != nil {
		return err
	}
	if err := checkDoc("named location "+l.ID, l.Doc); err != nil {
		return err
	}
	_, err := db.exec(ctx, `INSERT INTO ca_named_locations (id, tenant_id, display_name, display_name_lower, kind, created_at,
		modified_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.TenantID, l.DisplayName, strings.ToLower(l.DisplayName), l.Kind, toMicros(l.CreatedAt), toMicros(l.ModifiedAt), string(l.Doc))
	if err != nil {
		return fmt.Errorf("insert named location: %w", err)
	}
	return nil
}

// GetNamedLocation reads one named location.
func (db *DB) GetNamedLocation(ctx context.Context, tenantID, id string) (store.NamedLocation, error) {
	l, err := scanNamedLocation(db.queryRow(ctx, `SELECT `+namedLocationCols+` FROM ca_named_locations WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return l, notFound(err)
}

var namedLocationFields = map[string]column{
	"id":               {expr: "id"},
	"displayName":      {expr: "lower:display_name_lower"},
	"createdDateTime":  {expr: "created_at", isInt: true},
	"modifiedDateTime": {expr: "modified_at", isInt: true},
}

// ListNamedLocations pages through a tenant's named locations.
func (db *DB) ListNamedLocations(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.NamedLocation], error) {
	spec := listSpec{from: "ca_named_locations", cols: namedLocationCols, where: "tenant_id = ?", args: []any{tenantID},
		fields: namedLocationFields, defaultOrder: "createdDateTime"}
	field := q.OrderBy
	if field == "" {
		field = spec.defaultOrder
	}
	return list(ctx, db, spec, q, func(rows *sql.Rows) (store.NamedLocation, string, string, error) {
		l, err := scanNamedLocation(rows)
		return l, caOrderValue(field, l.ID, l.DisplayName, toMicros(l.CreatedAt), toMicros(l.ModifiedAt)), l.ID, err
	})
}

// UpdateNamedLocation applies fn to a named location in one transaction.
func (db *DB) UpdateNamedLocation(ctx context.Context, tenantID, id string, fn func(*store.NamedLocation) error) (store.NamedLocation, error) {
	var out store.NamedLocation
	err := db.inTx(ctx, func(tx *DB) error {
		l, err := scanNamedLocation(tx.queryRow(ctx, `SELECT `+namedLocationCols+` FROM ca_named_locations WHERE tenant_id = ? AND id = ?`+tx.d.ForUpdate(), tenantID, id))
		if err != nil {
			return notFound(err)
		}
		kind, created := l.Kind, l.CreatedAt
		if err := fn(&l); err != nil {
			return err
		}
		l.ID, l.TenantID, l.Kind, l.CreatedAt = id, tenantID, kind, created
		if err := checkDoc("named location "+id, l.Doc); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE ca_named_locations SET display_name = ?, display_name_lower = ?, modified_at = ?, doc = ?
			WHERE tenant_id = ? AND id = ?`, l.DisplayName, strings.ToLower(l.DisplayName), toMicros(l.ModifiedAt), string(l.Doc), tenantID, id)
		out = l
		return err
	})
	return out, err
}

// DeleteNamedLocation removes a named location no policy names.
func (db *DB) DeleteNamedLocation(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *DB) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM ca_policy_locations WHERE tenant_id = ? AND location_id = ?`, tenantID, id).Scan(&n); err != nil {
			return tx.d.MapError(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: named location %s is used by %d conditional access policies", store.ErrConflict, id, n)
		}
		err := tx.execOne(ctx, `DELETE FROM ca_named_locations WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if errors.Is(err, store.ErrInvalid) {
			// A policy took the location between the check and the delete.
			return fmt.Errorf("%w: named location %s is in use", store.ErrConflict, id)
		}
		return err
	})
}

// CountNamedLocations counts a tenant's named locations.
func (db *DB) CountNamedLocations(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT count(*) FROM ca_named_locations WHERE tenant_id = ?`, tenantID).Scan(&n)
	return n, db.d.MapError(err)
}
