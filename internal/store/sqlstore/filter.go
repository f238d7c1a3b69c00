package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

// filterSQL translates a filter tree into a parameterised SQL condition.
// Only whitelisted fields reach SQL, and values only ever travel as
// arguments. It lives here rather than in the OData parser because only
// the store knows how each field is stored (pre-lowered text, micros,
// booleans).
func filterSQL(f *store.Filter, fields map[string]column) (string, []any, error) {
	var b strings.Builder
	var args []any
	if err := writeFilter(&b, &args, f, fields); err != nil {
		return "", nil, err
	}
	return b.String(), args, nil
}

func writeFilter(b *strings.Builder, args *[]any, f *store.Filter, fields map[string]column) error {
	switch f.Op {
	case store.FilterAnd, store.FilterOr:
		if len(f.Args) == 0 {
			return fmt.Errorf("%w: empty %s", store.ErrInvalid, f.Op)
		}
		b.WriteByte('(')
		for i := range f.Args {
			if i > 0 {
				b.WriteString(" " + strings.ToUpper(string(f.Op)) + " ")
			}
			if err := writeFilter(b, args, &f.Args[i], fields); err != nil {
				return err
			}
		}
		b.WriteByte(')')
		return nil
	case store.FilterNot:
		if len(f.Args) != 1 {
			return fmt.Errorf("%w: not takes one operand", store.ErrInvalid)
		}
		b.WriteString("(NOT ")
		if err := writeFilter(b, args, &f.Args[0], fields); err != nil {
			return err
		}
		b.WriteByte(')')
		return nil
	}
	col, ok := fields[f.Field]
	if !ok {
		return fmt.Errorf("%w: cannot filter on %q", store.ErrInvalid, f.Field)
	}
	expr, lowered := strings.CutPrefix(col.expr, "lower:")
	var v any = f.Value
	switch {
	case col.isInt:
		t, err := time.Parse(time.RFC3339Nano, f.Value)
		if err != nil {
			return fmt.Errorf("%w: %q is not a date and time", store.ErrInvalid, f.Value)
		}
		v = toMicros(t)
	case col.isBool:
		switch f.Value {
		case "true":
			v = true
		case "false":
			v = false
		default:
			return fmt.Errorf("%w: %q is not true or false", store.ErrInvalid, f.Value)
		}
	case lowered:
		v = strings.ToLower(f.Value)
	}
	switch f.Op {
	case store.FilterEq, store.FilterNe, store.FilterGe, store.FilterLe, store.FilterGt, store.FilterLt:
		op := map[store.FilterOp]string{store.FilterEq: "=", store.FilterNe: "<>", store.FilterGe: ">=",
			store.FilterLe: "<=", store.FilterGt: ">", store.FilterLt: "<"}[f.Op]
		b.WriteString(expr + " " + op + " ?")
		*args = append(*args, v)
	case store.FilterStartsWith:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%w: startswith needs a text field", store.ErrInvalid)
		}
		// LIKE with an explicit escape character so %, _ and \ in the
		// value match literally.
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		b.WriteString(expr + ` LIKE ? ESCAPE '\'`)
		*args = append(*args, r.Replace(s)+"%")
	default:
		return fmt.Errorf("%w: unsupported operator %q", store.ErrInvalid, f.Op)
	}
	return nil
}
