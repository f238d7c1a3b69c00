package odata

import (
	"errors"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`displayName eq 'Alice'`,
		`startswith(userPrincipalName,'a_%\') and not (accountEnabled eq false)`,
		`createdDateTime ge 2024-01-02T03:04:05.123+02:00 or userType ne 'Guest'`,
		`(mail eq 'O''Brien' or mail eq '') and DISPLAYNAME NE 'x'`,
		`not not not mail eq 'a'`,
		`displayName eq 'a' and`,
		`((((`,
		`'unterminated`,
		"displayName eq '\xff'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > MaxFilterLen+1 {
			// Only the length check sees these; skipping them keeps the
			// fuzzer from spending minutes minimising huge inputs.
			return
		}
		flt, err := ParseFilter(expr, userFields)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("ParseFilter(%q): error %v is not an *Error", expr, err)
			}
			return
		}
		if flt == nil {
			t.Fatalf("ParseFilter(%q): nil filter without error", expr)
		}
		// Every node of an accepted filter names a whitelisted field with
		// an operator its kind allows, or combines such nodes; the store's
		// SQL translation (fuzzed in sqlstore) relies on that.
		var check func(f *store.Filter, depth int)
		check = func(f *store.Filter, depth int) {
			if depth > MaxFilterDepth+1 {
				t.Fatalf("%q: depth %d", expr, depth)
			}
			switch f.Op {
			case store.FilterAnd, store.FilterOr, store.FilterNot:
				if len(f.Args) == 0 || (f.Op == store.FilterNot && len(f.Args) != 1) {
					t.Fatalf("%q: %s with %d operands", expr, f.Op, len(f.Args))
				}
				for i := range f.Args {
					check(&f.Args[i], depth+1)
				}
			default:
				k, ok := userFields[f.Field]
				if !ok || !allowed(k, f.Op) {
					t.Fatalf("%q: %s %s accepted", expr, f.Field, f.Op)
				}
			}
		}
		check(flt, 0)
	})
}
