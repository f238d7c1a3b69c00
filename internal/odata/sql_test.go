package odata

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

var userColumns = map[string]string{
	"displayName":       "display_name",
	"userPrincipalName": "lower:upn",
	"mail":              "text:mail",
	"createdDateTime":   "time:created_at",
	"accountEnabled":    "bool:account_enabled",
	"userType":          "user_type",
}

func qmark(int) string    { return "?" }
func dollar(n int) string { return fmt.Sprintf("$%d", n) }

func mustParse(t *testing.T, expr string) *store.Filter {
	t.Helper()
	f, err := ParseFilter(expr, userFields)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", expr, err)
	}
	return f
}

func TestToSQL(t *testing.T) {
	ts := time.Date(2024, 1, 2, 1, 4, 5, 123e6, time.UTC)
	cases := []struct {
		filter string
		ph     func(int) string
		start  int
		sql    string
		args   []any
	}{
		{`displayName eq 'Alice'`, qmark, 1, `display_name = ?`, []any{"Alice"}},
		{`displayName ne 'O''Brien'`, dollar, 1, `display_name <> $1`, []any{"O'Brien"}},
		{`userPrincipalName eq 'Alice@Example.COM'`, dollar, 1, `lower(upn) = $1`, []any{"alice@example.com"}},
		{`userPrincipalName ne 'X'`, qmark, 1, `lower(upn) <> ?`, []any{"x"}},
		{`startswith(userPrincipalName,'Al_')`, qmark, 1, `lower(upn) LIKE ? ESCAPE '\'`, []any{`al\_%`}},
		{`startswith(displayName,'50%_a\b')`, qmark, 1, `display_name LIKE ? ESCAPE '\'`, []any{`50\%\_a\\b%`}},
		{`startswith(displayName,'')`, qmark, 1, `display_name LIKE ? ESCAPE '\'`, []any{`%`}},
		{`createdDateTime ge 2024-01-02T03:04:05.123+02:00`, dollar, 7, `created_at >= $7`, []any{ts}},
		{`accountEnabled eq true`, qmark, 1, `account_enabled = ?`, []any{true}},
		{`accountEnabled ne false`, qmark, 1, `account_enabled <> ?`, []any{false}},
		{`userType eq 'Guest'`, qmark, 1, `user_type = ?`, []any{"Guest"}},
		// The text: prefix keeps look-alike values strings.
		{`mail eq 'true'`, qmark, 1, `mail = ?`, []any{"true"}},
		{`mail eq '2024-01-02T01:04:05.123Z'`, qmark, 1, `mail = ?`, []any{"2024-01-02T01:04:05.123Z"}},
		// Placeholder numbering follows the order of the SQL text.
		{
			`displayName eq 'a' and (mail ne 'b' or not startswith(userPrincipalName,'C%'))`, dollar, 3,
			`(display_name = $3 AND (mail <> $4 OR NOT (lower(upn) LIKE $5 ESCAPE '\')))`,
			[]any{"a", "b", `c\%%`},
		},
		{
			`mail eq 'a' or mail eq 'b' and mail eq 'c'`, dollar, 1,
			`(mail = $1 OR (mail = $2 AND mail = $3))`,
			[]any{"a", "b", "c"},
		},
		{
			`(mail eq 'a' or mail eq 'b') and mail eq 'c'`, nil, 1,
			`((mail = ? OR mail = ?) AND mail = ?)`,
			[]any{"a", "b", "c"},
		},
	}
	for _, tc := range cases {
		sql, args, err := ToSQL(mustParse(t, tc.filter), userColumns, tc.ph, tc.start)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if sql != tc.sql || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("%s\n got  %s %#v\n want %s %#v", tc.filter, sql, args, tc.sql, tc.args)
		}
	}
}

func TestToSQLNeverInterpolates(t *testing.T) {
	evil := `x'); DROP TABLE users; --`
	f := mustParse(t, `displayName eq 'x''); DROP TABLE users; --' or startswith(mail,'x''); DROP TABLE users; --')`)
	sql, args, err := ToSQL(f, userColumns, qmark, 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sql, "DROP") || strings.Contains(sql, "x'") {
		t.Fatalf("value leaked into SQL: %s", sql)
	}
	if args[0] != evil || args[1] != evil+"%" {
		t.Fatalf("args = %q", args)
	}
}

func TestToSQLInference(t *testing.T) {
	// Unprefixed columns type the value the way ParseFilter normalises it.
	cols := map[string]string{"createdDateTime": "created_at", "accountEnabled": "enabled", "displayName": "name", "mail": "mail"}
	cases := []struct {
		filter string
		arg    any
	}{
		{`createdDateTime lt 2024-01-02T03:04:05Z`, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{`accountEnabled eq false`, false},
		{`displayName eq 'Alice'`, "Alice"},
		// Parses as a time but is not in normalised form: stays a string.
		{`displayName eq '2024-01-02T03:04:05+00:00'`, "2024-01-02T03:04:05+00:00"},
		{`startswith(mail,'true')`, "true%"},
	}
	for _, tc := range cases {
		_, args, err := ToSQL(mustParse(t, tc.filter), cols, nil, 1)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if len(args) != 1 || !reflect.DeepEqual(args[0], tc.arg) {
			t.Errorf("%s: args = %#v, want %#v", tc.filter, args, tc.arg)
		}
	}
}

func TestToSQLNil(t *testing.T) {
	sql, args, err := ToSQL(nil, userColumns, qmark, 1)
	if sql != "" || args != nil || err != nil {
		t.Fatalf("ToSQL(nil) = %q, %v, %v", sql, args, err)
	}
}

func TestToSQLErrors(t *testing.T) {
	eq := func(field, v string) store.Filter { return store.Filter{Op: store.FilterEq, Field: field, Value: v} }
	cases := map[string]store.Filter{
		"unknown field":       eq("password", "x"),
		"empty column":        eq("empty", "x"),
		"unknown op":          {Op: "like", Field: "displayName", Value: "x"},
		"empty and":           {Op: store.FilterAnd},
		"empty or":            {Op: store.FilterOr},
		"not with two":        {Op: store.FilterNot, Args: []store.Filter{eq("mail", "a"), eq("mail", "b")}},
		"comparison args":     {Op: store.FilterEq, Field: "mail", Value: "a", Args: []store.Filter{eq("mail", "b")}},
		"bad time":            eq("createdDateTime", "yesterday"),
		"bad bool":            eq("accountEnabled", "yes"),
		"ordering on bool":    {Op: store.FilterGt, Field: "accountEnabled", Value: "true"},
		"startswith on time":  {Op: store.FilterStartsWith, Field: "createdDateTime", Value: "2024"},
		"startswith on bool":  {Op: store.FilterStartsWith, Field: "accountEnabled", Value: "t"},
		"unknown field deep":  {Op: store.FilterOr, Args: []store.Filter{eq("mail", "a"), {Op: store.FilterNot, Args: []store.Filter{eq("nope", "b")}}}},
		"zero-value operator": {},
	}
	cols := map[string]string{"empty": "lower: "}
	for k, v := range userColumns {
		cols[k] = v
	}
	for name, f := range cases {
		sql, args, err := ToSQL(&f, cols, qmark, 1)
		if !errors.Is(err, ErrUntranslatable) {
			t.Errorf("%s: ToSQL = %q, %v, %v; want ErrUntranslatable", name, sql, args, err)
		}
	}

	// Hand-built trees deeper than the limit are refused, not recursed.
	deep := eq("mail", "a")
	for range maxSQLDepth + 1 {
		deep = store.Filter{Op: store.FilterNot, Args: []store.Filter{deep}}
	}
	if _, _, err := ToSQL(&deep, cols, qmark, 1); !errors.Is(err, ErrUntranslatable) {
		t.Errorf("deep tree: %v", err)
	}
}

func TestEscapeLike(t *testing.T) {
	for in, want := range map[string]string{
		"":         "",
		"plain":    "plain",
		"%":        `\%`,
		"_":        `\_`,
		`\`:        `\\`,
		`a%b_c\d`:  `a\%b\_c\\d`,
		`\%`:       `\\\%`,
		"日本%":      `日本\%`,
		"100% off": `100\% off`,
	} {
		if got := escapeLike(in); got != want {
			t.Errorf("escapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}
