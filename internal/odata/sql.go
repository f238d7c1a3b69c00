package odata

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// ErrUntranslatable is wrapped by every ToSQL error: the filter names a
// field the backend does not map, or is not a well-formed tree.
var ErrUntranslatable = errors.New("odata: filter cannot be translated to SQL")

// Column mapping prefixes understood by ToSQL. A mapping value is a
// trusted SQL expression, optionally behind one of these prefixes.
const (
	// ColumnLower compares case-insensitively: lower(expr) against the
	// value lower-cased with strings.ToLower (eq, ne, startswith and the
	// ordering operators). SQLite's lower() folds ASCII only, so for
	// non-ASCII text to match there the column should hold text already
	// lowered with strings.ToLower; lower() is then a no-op. An index
	// only helps if it is on lower(expr).
	ColumnLower = "lower:"
	// ColumnText always binds the value as a string.
	ColumnText = "text:"
	// ColumnTime binds the value as a time.Time in UTC; the value must be
	// RFC 3339. startswith is refused.
	ColumnTime = "time:"
	// ColumnBool binds the value as a bool; the value must be "true" or
	// "false" and only eq and ne are allowed.
	ColumnBool = "bool:"
)

// maxSQLDepth bounds recursion on hand-built trees; ParseFilter's own
// limit is far lower.
const maxSQLDepth = 100

type colKind int

const (
	colAuto colKind = iota
	colText
	colLower
	colTime
	colBool
)

func parseColumn(v string) (expr string, kind colKind) {
	for _, p := range []struct {
		prefix string
		kind   colKind
	}{{ColumnLower, colLower}, {ColumnText, colText}, {ColumnTime, colTime}, {ColumnBool, colBool}} {
		if e, ok := strings.CutPrefix(v, p.prefix); ok {
			return e, p.kind
		}
	}
	return v, colAuto
}

var sqlOps = map[store.FilterOp]string{
	store.FilterEq: "=",
	store.FilterNe: "<>",
	store.FilterGe: ">=",
	store.FilterLe: "<=",
	store.FilterGt: ">",
	store.FilterLt: "<",
}

// ToSQL translates a filter into a parameterised SQL condition. columns
// whitelists the fields: it maps each field name (the canonical names
// ParseFilter returns) to a trusted SQL expression, optionally prefixed
// by ColumnLower, ColumnText, ColumnTime or ColumnBool. Values are only
// ever bound as arguments, never written into the SQL. placeholder(n)
// renders the n-th argument ("?" for SQLite, "$n" for PostgreSQL; nil
// means "?"); the first argument is number startArg. A nil filter yields
// "" and no arguments.
//
// Arguments are typed by the column prefix. For an unprefixed column the
// type is inferred from the value, matching how ParseFilter normalises
// it: an RFC 3339 UTC timestamp in time.RFC3339Nano form becomes a
// time.Time, "true" and "false" become bools, anything else stays a
// string. A String property whose value happens to look like a timestamp
// or a bool is then bound with the wrong type, so prefer the explicit
// prefixes for text columns.
//
// startswith becomes "expr LIKE ? ESCAPE '\'" with %, _ and \ escaped in
// the value and % appended. Note that SQLite's LIKE ignores ASCII case
// while PostgreSQL's does not; use ColumnLower where case must not
// matter on both. Comparisons follow SQL's three-valued logic: ne and
// not do not match rows whose column is NULL.
func ToSQL(f *store.Filter, columns map[string]string, placeholder func(n int) string, startArg int) (sql string, args []any, err error) {
	if f == nil {
		return "", nil, nil
	}
	if placeholder == nil {
		placeholder = func(int) string { return "?" }
	}
	t := &translator{columns: columns, placeholder: placeholder, n: startArg}
	var b strings.Builder
	if err := t.write(&b, f, 0); err != nil {
		return "", nil, err
	}
	return b.String(), t.args, nil
}

type translator struct {
	columns     map[string]string
	placeholder func(int) string
	n           int
	args        []any
}

func (t *translator) bind(v any) string {
	t.args = append(t.args, v)
	p := t.placeholder(t.n)
	t.n++
	return p
}

func (t *translator) write(b *strings.Builder, f *store.Filter, depth int) error {
	if depth > maxSQLDepth {
		return fmt.Errorf("%w: filter nested deeper than %d", ErrUntranslatable, maxSQLDepth)
	}
	switch f.Op {
	case store.FilterAnd, store.FilterOr:
		if len(f.Args) == 0 {
			return fmt.Errorf("%w: %s without operands", ErrUntranslatable, f.Op)
		}
		sep := " AND "
		if f.Op == store.FilterOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i := range f.Args {
			if i > 0 {
				b.WriteString(sep)
			}
			if err := t.write(b, &f.Args[i], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(')')
		return nil
	case store.FilterNot:
		if len(f.Args) != 1 {
			return fmt.Errorf("%w: not with %d operands", ErrUntranslatable, len(f.Args))
		}
		b.WriteString("NOT (")
		if err := t.write(b, &f.Args[0], depth+1); err != nil {
			return err
		}
		b.WriteByte(')')
		return nil
	case store.FilterStartsWith:
		return t.startsWith(b, f)
	}
	if _, ok := sqlOps[f.Op]; ok {
		return t.compare(b, f)
	}
	return fmt.Errorf("%w: unknown operator %q", ErrUntranslatable, f.Op)
}

func (t *translator) column(f *store.Filter) (string, colKind, error) {
	if len(f.Args) != 0 {
		return "", 0, fmt.Errorf("%w: comparison %s with operands", ErrUntranslatable, f.Op)
	}
	v, ok := t.columns[f.Field]
	if !ok {
		return "", 0, fmt.Errorf("%w: unknown field %q", ErrUntranslatable, f.Field)
	}
	expr, kind := parseColumn(v)
	if strings.TrimSpace(expr) == "" {
		return "", 0, fmt.Errorf("%w: empty column for field %q", ErrUntranslatable, f.Field)
	}
	return expr, kind, nil
}

func (t *translator) compare(b *strings.Builder, f *store.Filter) error {
	expr, kind, err := t.column(f)
	if err != nil {
		return err
	}
	op := sqlOps[f.Op]
	var arg any
	switch kind {
	case colLower:
		expr = "lower(" + expr + ")"
		arg = strings.ToLower(f.Value)
	case colText:
		arg = f.Value
	case colTime:
		tm, err := time.Parse(time.RFC3339Nano, f.Value)
		if err != nil {
			return fmt.Errorf("%w: field %q needs an RFC 3339 value: %w", ErrUntranslatable, f.Field, err)
		}
		arg = tm.UTC()
	case colBool:
		if f.Op != store.FilterEq && f.Op != store.FilterNe {
			return fmt.Errorf("%w: operator %s on bool field %q", ErrUntranslatable, f.Op, f.Field)
		}
		switch f.Value {
		case "true":
			arg = true
		case "false":
			arg = false
		default:
			return fmt.Errorf("%w: field %q needs true or false", ErrUntranslatable, f.Field)
		}
	default:
		arg = inferArg(f.Value)
	}
	b.WriteString(expr)
	b.WriteString(" " + op + " ")
	b.WriteString(t.bind(arg))
	return nil
}

// inferArg types the value of an unprefixed column (see ToSQL).
func inferArg(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	// Only the exact form ParseFilter produces, so that strings which
	// merely parse as times stay strings.
	if tm, err := time.Parse(time.RFC3339Nano, v); err == nil && tm.UTC().Format(time.RFC3339Nano) == v {
		return tm.UTC()
	}
	return v
}

func (t *translator) startsWith(b *strings.Builder, f *store.Filter) error {
	expr, kind, err := t.column(f)
	if err != nil {
		return err
	}
	v := f.Value
	switch kind {
	case colTime, colBool:
		return fmt.Errorf("%w: startswith on non-text field %q", ErrUntranslatable, f.Field)
	case colLower:
		expr = "lower(" + expr + ")"
		v = strings.ToLower(v)
	}
	b.WriteString(expr)
	b.WriteString(" LIKE ")
	b.WriteString(t.bind(escapeLike(v) + "%"))
	b.WriteString(` ESCAPE '\'`)
	return nil
}

// escapeLike makes every character of s match itself in a LIKE pattern
// whose escape character is backslash.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `%_\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
