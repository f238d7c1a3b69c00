package odata

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

var userFields = map[string]FieldKind{
	"displayName":       String,
	"userPrincipalName": String,
	"mail":              String,
	"createdDateTime":   DateTime,
	"accountEnabled":    Bool,
	"userType":          Enum,
}

// show renders a filter compactly for comparison in tests.
func show(f store.Filter) string {
	switch f.Op {
	case store.FilterAnd, store.FilterOr, store.FilterNot:
		args := make([]string, len(f.Args))
		for i, a := range f.Args {
			args[i] = show(a)
		}
		return string(f.Op) + "(" + strings.Join(args, ",") + ")"
	}
	return fmt.Sprintf("%s(%s,%q)", f.Op, f.Field, f.Value)
}

func TestParseFilterValid(t *testing.T) {
	cases := []struct{ in, want string }{
		{`displayName eq 'Alice'`, `eq(displayName,"Alice")`},
		{`DISPLAYNAME EQ 'Alice'`, `eq(displayName,"Alice")`},
		{`userprincipalname ne 'a@b.c'`, `ne(userPrincipalName,"a@b.c")`},
		{`startswith(displayName,'Al')`, `startswith(displayName,"Al")`},
		{`startsWith(displayName, 'Al')`, `startswith(displayName,"Al")`},
		{`STARTSWITH ( mail , 'a' )`, `startswith(mail,"a")`},
		// Quote escaping.
		{`displayName eq 'O''Brien'`, `eq(displayName,"O'Brien")`},
		{`displayName eq ''''`, `eq(displayName,"'")`},
		{`displayName eq ''`, `eq(displayName,"")`},
		{`displayName eq 'a''''b'`, `eq(displayName,"a''b")`},
		{`displayName eq 'Zoë 日本 ) and ('`, `eq(displayName,"Zoë 日本 ) and (")`},
		// DateTime normalisation.
		{`createdDateTime ge 2024-01-02T03:04:05Z`, `ge(createdDateTime,"2024-01-02T03:04:05Z")`},
		{`createdDateTime lt 2024-01-02T03:04:05.123+02:00`, `lt(createdDateTime,"2024-01-02T01:04:05.123Z")`},
		{`createdDateTime gt 2024-01-02T03:04:05.000Z`, `gt(createdDateTime,"2024-01-02T03:04:05Z")`},
		{`createdDateTime le 2024-01-01T00:30:00-01:00`, `le(createdDateTime,"2024-01-01T01:30:00Z")`},
		{`createdDateTime eq 2024-01-02T03:04:05Z`, `eq(createdDateTime,"2024-01-02T03:04:05Z")`},
		{`createdDateTime ne 2024-01-02T03:04:05Z`, `ne(createdDateTime,"2024-01-02T03:04:05Z")`},
		// Bool and Enum.
		{`accountEnabled eq true`, `eq(accountEnabled,"true")`},
		{`accountEnabled ne FALSE`, `ne(accountEnabled,"false")`},
		{`userType eq 'Guest'`, `eq(userType,"Guest")`},
		// Precedence: not > and > or.
		{`mail eq 'a' or mail eq 'b' and mail eq 'c'`, `or(eq(mail,"a"),and(eq(mail,"b"),eq(mail,"c")))`},
		{`mail eq 'a' and mail eq 'b' or mail eq 'c'`, `or(and(eq(mail,"a"),eq(mail,"b")),eq(mail,"c"))`},
		{`not mail eq 'a' and mail eq 'b'`, `and(not(eq(mail,"a")),eq(mail,"b"))`},
		{`not (mail eq 'a' or mail eq 'b')`, `not(or(eq(mail,"a"),eq(mail,"b")))`},
		{`not(mail eq 'a')`, `not(eq(mail,"a"))`},
		{`not not mail eq 'a'`, `not(not(eq(mail,"a")))`},
		{`(mail eq 'a' or mail eq 'b') and mail eq 'c'`, `and(or(eq(mail,"a"),eq(mail,"b")),eq(mail,"c"))`},
		{`mail eq 'a' and mail eq 'b' and mail eq 'c'`, `and(eq(mail,"a"),eq(mail,"b"),eq(mail,"c"))`},
		{`mail eq 'a' or mail eq 'b' or mail eq 'c' and mail eq 'd'`, `or(eq(mail,"a"),eq(mail,"b"),and(eq(mail,"c"),eq(mail,"d")))`},
		{`((mail eq 'a'))`, `eq(mail,"a")`},
		{`not startswith(mail,'x') OR accountEnabled eq true`, `or(not(startswith(mail,"x")),eq(accountEnabled,"true"))`},
		// White space is flexible.
		{"\tmail  eq\n'a'\r\n", `eq(mail,"a")`},
		{`(mail eq 'a')or(mail eq'b')`, `or(eq(mail,"a"),eq(mail,"b"))`},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.in, userFields)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if got := show(*f); got != tc.want {
			t.Errorf("ParseFilter(%q)\n got  %s\n want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseFilterInvalid(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, `Invalid filter clause: the expression is empty`},
		{"  \t", `Invalid filter clause: the expression is empty`},
		{`foo eq 'x'`, `Invalid filter clause: unknown property 'foo'`},
		{`startswith(foo,'x')`, `Invalid filter clause: unknown property 'foo'`},
		{`displayName gt 'a'`, `Unsupported operator 'gt' for property 'displayName'`},
		{`DisplayName GT 'a'`, `Unsupported operator 'gt' for property 'displayName'`},
		{`startswith(createdDateTime,'2024')`, `Unsupported operator 'startswith' for property 'createdDateTime'`},
		{`startswith(accountEnabled,'t')`, `Unsupported operator 'startswith' for property 'accountEnabled'`},
		{`startswith(userType,'G')`, `Unsupported operator 'startswith' for property 'userType'`},
		{`accountEnabled ge true`, `Unsupported operator 'ge' for property 'accountEnabled'`},
		{`userType lt 'a'`, `Unsupported operator 'lt' for property 'userType'`},
		{`displayName in ('a','b')`, `Unsupported operator 'in' for property 'displayName'`},
		{`displayName eq`, `Syntax error at position 14`},
		{`displayName eq 'abc`, `Syntax error at position 15`},
		{`displayName 'a'`, `Syntax error at position 12`},
		{`displayName foo 'a'`, `Syntax error at position 12`},
		{`displayName eq 'a' and`, `Syntax error at position 22`},
		{`displayName eq 'a' and not`, `Syntax error at position 26`},
		{`(displayName eq 'a'`, `Syntax error at position 19`},
		{`displayName eq 'a')`, `Syntax error at position 18`},
		{`()`, `Syntax error at position 1`},
		{`displayName eq 'a' xor mail eq 'b'`, `Syntax error at position 19`},
		{`displayName eq 'a' & mail eq 'b'`, `Syntax error at position 19`},
		{`displayName eq "a"`, `Syntax error at position 15`},
		{`and eq 'x'`, `Syntax error at position 0`},
		{`proxyAddresses/any(x:x eq 'a')`, `Syntax error at position 14`},
		{`startswith(displayName)`, `Syntax error at position 22`},
		{`startswith(displayName,'a'`, `Syntax error at position 26`},
		{`startswith(displayName,'a') eq true`, `Syntax error at position 28`},
		{"displayName eq 'a\x00'", `Syntax error at position 17`},
		{"displayName eq 'a\xff'", `Syntax error at position 17`},
		{`displayName eq 5`, `Invalid filter clause: property 'displayName' requires a string literal`},
		{`displayName eq true`, `Invalid filter clause: property 'displayName' requires a string literal`},
		{`displayName eq mail`, `Invalid filter clause: property 'displayName' requires a string literal`},
		{`userType eq Guest`, `Invalid filter clause: property 'userType' requires a string literal`},
		{`startswith(displayName,x)`, `Invalid filter clause: property 'displayName' requires a string literal`},
		{`displayName eq null`, `Invalid filter clause: null is not supported for property 'displayName'`},
		{`createdDateTime ge '2024-01-02T03:04:05Z'`, `Invalid filter clause: property 'createdDateTime' requires a DateTime literal`},
		{`createdDateTime ge 2024`, `Invalid filter clause: invalid DateTime literal at position 19`},
		{`createdDateTime ge 1714000000`, `Invalid filter clause: invalid DateTime literal at position 19`},
		{`createdDateTime ge 2024-01-02`, `Invalid filter clause: invalid DateTime literal at position 19`},
		{`createdDateTime ge 2024-13-02T03:04:05Z`, `Invalid filter clause: invalid DateTime literal at position 19`},
		{`createdDateTime ge 2024-01-02T03:04:05`, `Invalid filter clause: invalid DateTime literal at position 19`},
		{`accountEnabled eq 'true'`, `Invalid filter clause: property 'accountEnabled' requires a Boolean literal`},
		{`accountEnabled eq 1`, `Invalid filter clause: property 'accountEnabled' requires a Boolean literal`},
		{`endswith(displayName,'x')`, `Invalid filter clause: unsupported function 'endswith'`},
		{`contains(displayName,'x')`, `Invalid filter clause: unsupported function 'contains'`},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.in, userFields)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseFilter(%q) = %v, %v; want *Error", tc.in, f, err)
			continue
		}
		if e.Message != tc.want {
			t.Errorf("ParseFilter(%q)\n got  %s\n want %s", tc.in, e.Message, tc.want)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	expectErr := func(in, want string) {
		t.Helper()
		_, err := ParseFilter(in, userFields)
		if err == nil || err.Error() != want {
			t.Errorf("len %d: err = %v, want %q", len(in), err, want)
		}
	}
	expectOK := func(in string) {
		t.Helper()
		if _, err := ParseFilter(in, userFields); err != nil {
			t.Errorf("len %d: %v", len(in), err)
		}
	}

	// Length.
	base := `displayName eq ''`
	exact := `displayName eq '` + strings.Repeat("a", MaxFilterLen-len(base)) + `'`
	expectOK(exact)
	expectErr(exact+" ", "Invalid filter clause: the expression is longer than 2000 bytes")

	// Depth: parentheses and not both count.
	paren := func(n int) string {
		return strings.Repeat("(", n) + "mail eq 'a'" + strings.Repeat(")", n)
	}
	expectOK(paren(MaxFilterDepth))
	expectErr(paren(MaxFilterDepth+1), "Invalid filter clause: nesting deeper than 20 levels")
	expectOK(strings.Repeat("not ", MaxFilterDepth) + "mail eq 'a'")
	expectErr(strings.Repeat("not ", MaxFilterDepth+1)+"mail eq 'a'", "Invalid filter clause: nesting deeper than 20 levels")
	expectErr(strings.Repeat("not (", 11)+"mail eq 'a'"+strings.Repeat(")", 11), "Invalid filter clause: nesting deeper than 20 levels")
	// Sibling groups do not add up.
	expectOK(paren(MaxFilterDepth) + " and " + paren(MaxFilterDepth))

	// Comparisons.
	chain := func(n int) string {
		return strings.TrimSuffix(strings.Repeat("mail eq 'a' or ", n), " or ")
	}
	expectOK(chain(MaxFilterComparisons))
	expectErr(chain(MaxFilterComparisons+1), "Invalid filter clause: more than 50 comparisons")
	expectErr(strings.TrimSuffix(strings.Repeat("startswith(mail,'a') or ", 51), " or "), "Invalid filter clause: more than 50 comparisons")
}

func TestParseFilterCanonicalNames(t *testing.T) {
	// Exact case wins; otherwise names differing only in case resolve
	// deterministically.
	fields := map[string]FieldKind{"Name": String, "name": Enum}
	for range 20 {
		f, err := ParseFilter(`name eq 'x' and NAME eq 'y' and Name eq 'z'`, fields)
		if err != nil {
			t.Fatal(err)
		}
		if got := show(*f); got != `and(eq(name,"x"),eq(Name,"y"),eq(Name,"z"))` {
			t.Fatalf("got %s", got)
		}
	}
	// A field named like a keyword can still be used when declared.
	f, err := ParseFilter(`null eq 'x'`, map[string]FieldKind{"null": String})
	if err != nil || show(*f) != `eq(null,"x")` {
		t.Fatalf("%v %v", f, err)
	}
}

func TestParseFilterPathsAndInts(t *testing.T) {
	fields := map[string]FieldKind{
		"status/errorCode": Int,
		"status":           String, // a plain field that is a prefix of the path
		"isInteractive":    Bool,
		"a/b":              String,
		"a/b/c":            String,
	}
	valid := []struct{ in, want string }{
		{`status/errorCode eq 0`, `eq(status/errorCode,"0")`},
		{`Status/ErrorCode ne 0`, `ne(status/errorCode,"0")`},
		{`status/errorCode eq 50126`, `eq(status/errorCode,"50126")`},
		{`status/errorCode ge 007`, `ge(status/errorCode,"7")`},
		{`status/errorCode lt 2147483647`, `lt(status/errorCode,"2147483647")`},
		{`(status/errorCode eq 0)`, `eq(status/errorCode,"0")`},
		{`not status/errorCode gt 0 and isInteractive eq true`, `and(not(gt(status/errorCode,"0")),eq(isInteractive,"true"))`},
		{`status eq 'x'`, `eq(status,"x")`},
		{`a/b eq 'x'`, `eq(a/b,"x")`},
		{`a/b/c eq 'x'`, `eq(a/b/c,"x")`},
		{`startswith(a/b,'x')`, `startswith(a/b,"x")`},
	}
	for _, tc := range valid {
		f, err := ParseFilter(tc.in, fields)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if got := show(*f); got != tc.want {
			t.Errorf("ParseFilter(%q)\n got  %s\n want %s", tc.in, got, tc.want)
		}
	}
	invalid := []struct{ in, want string }{
		{`status/errorCodeX eq 0`, `Syntax error at position 6`},
		{`status/other eq 0`, `Syntax error at position 6`},
		{`a/b/d eq 'x'`, `Syntax error at position 3`},
		{`status /errorCode eq 0`, `Syntax error at position 7`},
		{`status/errorCode eq '0'`, `Invalid filter clause: property 'status/errorCode' requires an Int32 literal`},
		{`status/errorCode eq true`, `Invalid filter clause: property 'status/errorCode' requires an Int32 literal`},
		{`status/errorCode eq -1`, `Syntax error at position 20`},
		{`status/errorCode eq 1.5`, `Invalid filter clause: invalid Int32 literal at position 20`},
		{`status/errorCode eq 2147483648`, `Invalid filter clause: invalid Int32 literal at position 20`},
		{`status/errorCode eq 2024-01-01T00:00:00Z`, `Invalid filter clause: invalid Int32 literal at position 20`},
		{`status/errorCode eq null`, `Invalid filter clause: null is not supported for property 'status/errorCode'`},
		{`startswith(status/errorCode,'0')`, `Unsupported operator 'startswith' for property 'status/errorCode'`},
	}
	for _, tc := range invalid {
		_, err := ParseFilter(tc.in, fields)
		var e *Error
		if !errors.As(err, &e) || e.Message != tc.want {
			t.Errorf("ParseFilter(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	// Without the path whitelisted, "/" stays a syntax error.
	if _, err := ParseFilter(`status/errorCode eq 0`, userFields); err == nil || err.Error() != `Syntax error at position 6` {
		t.Errorf("unlisted path: %v", err)
	}
	if Int.String() != "Int" {
		t.Errorf("Int.String() = %q", Int.String())
	}
}
