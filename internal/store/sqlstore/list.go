package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

// column describes a field a collection can be filtered or ordered by.
type column struct {
	expr   string // SQL expression; "lower:" prefix compares case-insensitively
	isInt  bool   // stored as an integer (timestamps in micros)
	isBool bool
}

// listSpec describes one pageable collection.
type listSpec struct {
	from         string // table
	cols         string // select list
	where        string // base condition with ? placeholders, tenant-scoped
	args         []any
	fields       map[string]column // filterable/orderable fields by API name
	defaultOrder string            // field name; "" = id
	defaultDesc  bool
}

const maxPage = 1000

// cursor is the keyset position after the last row of a page.
type cursor struct {
	Field string `json:"f"`
	Desc  bool   `json:"d,omitempty"`
	Value string `json:"v"`
	ID    string `json:"i"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 2048 {
		return c, fmt.Errorf("%w: page token too long", store.ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: malformed page token", store.ErrInvalid)
	}
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return c, fmt.Errorf("%w: malformed page token", store.ErrInvalid)
	}
	return c, nil
}

// list runs a keyset-paged query. scan reads one row and returns the
// value of the order column (as text) and the row id for the cursor.
func list[T any](ctx context.Context, db *DB, spec listSpec, q store.ListQuery, scan func(*sql.Rows) (T, string, string, error)) (store.Page[T], error) {
	var page store.Page[T]
	field := q.OrderBy
	desc := q.Desc
	if field == "" {
		field, desc = spec.defaultOrder, spec.defaultDesc
	}
	orderCol := column{expr: "id"}
	if field != "" {
		c, ok := spec.fields[field]
		if !ok {
			return page, fmt.Errorf("%w: cannot order by %q", store.ErrInvalid, field)
		}
		orderCol = c
	}
	limit := q.Limit
	if limit <= 0 || limit > maxPage {
		limit = 100
	}

	where := spec.where
	args := append([]any(nil), spec.args...)
	if q.Filter != nil {
		fsql, fargs, err := filterSQL(q.Filter, spec.fields)
		if err != nil {
			return page, err
		}
		where += " AND (" + fsql + ")"
		args = append(args, fargs...)
	}

	if q.WantCount {
		if err := db.queryRow(ctx, "SELECT count(*) FROM "+spec.from+" WHERE "+where, args...).Scan(&page.Count); err != nil {
			return page, db.d.MapError(err)
		}
	}

	// Case-insensitive fields are stored pre-lowered (x_lower columns), so
	// ordering uses the raw column and the cursor compares like for like.
	ocol := strings.TrimPrefix(orderCol.expr, "lower:")
	if q.After != "" {
		c, err := decodeCursor(q.After)
		if err != nil {
			return page, err
		}
		if c.Field != field || c.Desc != desc {
			return page, fmt.Errorf("%w: page token does not belong to this query", store.ErrInvalid)
		}
		var v any = c.Value
		if orderCol.isInt {
			n, err := strconv.ParseInt(c.Value, 10, 64)
			if err != nil {
				return page, fmt.Errorf("%w: malformed page token", store.ErrInvalid)
			}
			v = n
		}
		cmp := ">"
		if desc {
			cmp = "<"
		}
		if field == "" {
			where += " AND id " + cmp + " ?"
			args = append(args, c.ID)
		} else {
			where += fmt.Sprintf(" AND (%s %s ? OR (%s = ? AND id %s ?))", ocol, cmp, ocol, cmp)
			args = append(args, v, v, c.ID)
		}
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	order := "id " + dir
	if field != "" {
		order = ocol + " " + dir + ", id " + dir
	}
	query := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT %d", spec.cols, spec.from, where, order, limit+1)
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	var lastVal, lastID string
	for rows.Next() {
		if len(page.Items) == limit {
			page.Next = encodeCursor(cursor{Field: field, Desc: desc, Value: lastVal, ID: lastID})
			break
		}
		item, v, id, err := scan(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, item)
		lastVal, lastID = v, id
	}
	if err := rows.Err(); err != nil {
		return page, db.d.MapError(err)
	}
	return page, nil
}
