package sqlstore

import (
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

var userKinds = map[string]odata.FieldKind{
	"id": odata.String, "userPrincipalName": odata.String, "displayName": odata.String, "mail": odata.String,
	"accountEnabled": odata.Bool, "userType": odata.Enum, "createdDateTime": odata.DateTime,
}

func TestFilterSQL(t *testing.T) {
	cases := []struct {
		expr, sql string
		args      []any
	}{
		{`userPrincipalName eq 'Anna@X.com'`, `upn_lower = ?`, []any{"anna@x.com"}},
		{`startswith(displayName,'50%_\')`, `display_name_lower LIKE ? ESCAPE '\'`, []any{`50\%\_\\%`}},
		{`accountEnabled eq false and createdDateTime ge 2024-01-02T03:04:05Z`, `(account_enabled = ? AND created_at >= ?)`, []any{false, int64(1704164645000000)}},
		{`not (userType eq 'Member' or mail ne 'X')`, `(NOT (user_type = ? OR lower(mail) <> ?))`, []any{"member", "x"}},
	}
	for _, c := range cases {
		f, err := odata.ParseFilter(c.expr, userKinds)
		if err != nil {
			t.Fatal(err)
		}
		sql, args, err := filterSQL(f, userFields)
		if err != nil || sql != c.sql || len(args) != len(c.args) {
			t.Fatalf("%s: %q %v %v", c.expr, sql, args, err)
		}
		for i := range args {
			if args[i] != c.args[i] {
				t.Fatalf("%s: arg %d = %#v, want %#v", c.expr, i, args[i], c.args[i])
			}
		}
	}
	if _, _, err := filterSQL(&store.Filter{Op: store.FilterEq, Field: "password_hash", Value: "x"}, userFields); err == nil {
		t.Fatal("unlisted field translated")
	}
}

// FuzzFilterSQL: whatever the OData parser accepts, the store translates
// into SQL whose placeholders match its arguments, and no value text ever
// reaches the SQL.
func FuzzFilterSQL(f *testing.F) {
	f.Add(`displayName eq 'Alice' or startswith(userPrincipalName,'a_%\')`)
	f.Add(`createdDateTime ge 2024-01-02T03:04:05.123+02:00 and accountEnabled ne true`)
	f.Add(`not not (mail eq 'O''Brien')`)
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > odata.MaxFilterLen {
			return
		}
		flt, err := odata.ParseFilter(expr, userKinds)
		if err != nil {
			return
		}
		sql, args, err := filterSQL(flt, userFields)
		if err != nil {
			t.Fatalf("%q accepted by the parser but not translated: %v", expr, err)
		}
		if n := strings.Count(sql, "?"); n != len(args) {
			t.Fatalf("%q: %d placeholders, %d args: %s", expr, n, len(args), sql)
		}
		if strings.ContainsAny(strings.ReplaceAll(sql, `ESCAPE '\'`, ""), `'"`) {
			t.Fatalf("%q: quote in SQL: %s", expr, sql)
		}
	})
}
