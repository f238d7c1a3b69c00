package odata

import (
	"errors"
	"strings"
	"testing"
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
			t.Skip()
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
		for _, ph := range []func(int) string{qmark, dollar} {
			sql, args, err := ToSQL(flt, userColumns, ph, 1)
			if err != nil {
				t.Fatalf("ParseFilter(%q) accepted but ToSQL failed: %v", expr, err)
			}
			if n := strings.Count(sql, ph(0)[:1]); n != len(args) {
				t.Fatalf("%q: %d placeholders, %d args: %s", expr, n, len(args), sql)
			}
			if len(args) > MaxFilterComparisons {
				t.Fatalf("%q: %d args", expr, len(args))
			}
		}
	})
}
