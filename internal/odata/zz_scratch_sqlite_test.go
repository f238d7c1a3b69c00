package odata

import (
	"database/sql"
	"sort"
	"testing"

	_ "modernc.org/sqlite"
)

func TestScratchSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE u (id INTEGER PRIMARY KEY, display_name TEXT, upn TEXT, mail TEXT, user_type TEXT, account_enabled INTEGER, created_at TEXT)`); err != nil {
		t.Fatal(err)
	}
	rows := []struct{ name, upn string }{
		{"50% off", "A@X.com"}, {"50 off", "a_b@x.com"}, {`back\slash`, "ab@x.com"}, {"x_y", "AB@x.com"}, {"xzy", "Émile@x.com"}, {"O'Brien", "o@x.com"},
	}
	for i, r := range rows {
		if _, err := db.Exec(`INSERT INTO u VALUES (?,?,?,?,?,?,?)`, i, r.name, r.upn, "m", "Member", i%2, "2024-01-01"); err != nil {
			t.Fatal(err)
		}
	}
	q := func(filter string) []string {
		f := mustParse(t, filter)
		where, args, err := ToSQL(f, userColumns, qmark, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range args {
			if b, ok := a.(bool); ok {
				if b {
					args[i] = 1
				} else {
					args[i] = 0
				}
			}
		}
		rs, err := db.Query("SELECT display_name FROM u WHERE "+where, args...)
		if err != nil {
			t.Fatalf("%s: %s: %v", filter, where, err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			var s string
			rs.Scan(&s)
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}
	for _, tc := range []struct {
		f    string
		want []string
	}{
		{`startswith(displayName,'50%')`, []string{"50% off"}},
		{`startswith(displayName,'50')`, []string{"50 off", "50% off"}},
		{`startswith(displayName,'x_')`, []string{"x_y"}},
		{`startswith(displayName,'back\s')`, []string{`back\slash`}},
		{`displayName eq 'O''Brien'`, []string{"O'Brien"}},
		{`userPrincipalName eq 'ab@X.COM'`, []string{"x_y", `back\slash`}},
		{`startswith(userPrincipalName,'A_')`, []string{"50 off"}},
		{`startswith(userPrincipalName,'É')`, []string{"xzy"}},
		{`not (accountEnabled eq true) and startswith(displayName,'50')`, []string{"50% off"}},
	} {
		got := q(tc.f)
		sort.Strings(tc.want)
		if len(got) != len(tc.want) || (len(got) > 0 && !equal(got, tc.want)) {
			t.Errorf("%s: got %q want %q", tc.f, got, tc.want)
		}
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
