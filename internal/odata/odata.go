// Package odata parses the OData query options of vakt's Graph-compatible
// admin API ($filter, $select, $top, $orderby, $count, $search,
// $skiptoken) from untrusted query strings, and translates filters into
// parameterised SQL for the SQL backends.
//
// Parsing produces the backend-neutral store.Filter tree. Every property a
// client may name is whitelisted by the caller (a Spec or a fields map),
// inputs are bounded in size, and every error a client can cause is an
// *Error whose Message is safe to return in an API response: it never
// repeats arbitrary client text, only whitelisted names, keywords and
// positions.
package odata

import "fmt"

// Error is a client error in a query option. Message is meant for the
// API response (Graph's error.message).
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// FieldKind is the type of a filterable property; it decides which
// literals and operators a comparison on it accepts.
type FieldKind int

const (
	// String properties compare with eq, ne and startswith against a
	// quoted string literal.
	String FieldKind = iota
	// DateTime properties compare with eq, ne, ge, le, gt and lt against
	// an unquoted ISO 8601 / RFC 3339 timestamp with a zone
	// (2024-01-02T03:04:05Z); the parsed Value is RFC 3339 in UTC.
	DateTime
	// Bool properties compare with eq and ne against true or false.
	Bool
	// Enum properties compare with eq and ne against a quoted string;
	// the value is not checked against a set of members.
	Enum
	// Int properties compare with eq, ne, ge, le, gt and lt against an
	// unquoted non-negative 32-bit integer (0, 50126); the parsed Value is
	// its decimal form without leading zeros.
	Int
)

func (k FieldKind) String() string {
	switch k {
	case String:
		return "String"
	case DateTime:
		return "DateTime"
	case Bool:
		return "Bool"
	case Enum:
		return "Enum"
	case Int:
		return "Int"
	}
	return fmt.Sprintf("FieldKind(%d)", int(k))
}

// Limits on a $filter expression. They bound parsing and the SQL it turns
// into, whatever a client sends.
const (
	MaxFilterLen         = 2000 // bytes
	MaxFilterDepth       = 20   // nested parentheses and not operators
	MaxFilterComparisons = 50
)

// isIdent reports whether s is a plain ASCII identifier, so it may be
// echoed in an error message.
func isIdent(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isIdentByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}
