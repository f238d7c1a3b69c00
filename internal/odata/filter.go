package odata

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vakt-id/vakt/internal/store"
)

// The $filter grammar accepted here (keywords case-insensitive):
//
//	expr       = andExpr *( "or" andExpr )
//	andExpr    = unary *( "and" unary )
//	unary      = "not" unary / primary
//	primary    = "(" expr ")" / comparison / startswith
//	comparison = property ( "eq" / "ne" / "ge" / "le" / "gt" / "lt" ) literal
//	startswith = "startswith" "(" property "," string ")"
//	property   = identifier / path
//	path       = identifier 1*( "/" identifier ) ; only a whitelisted one
//	literal    = string / "true" / "false" / datetime / integer
//	string     = "'" *( char / "''" ) "'"
//
// A path such as "status/errorCode" (a property of a complex property)
// is one property token, recognised only when the fields map names it:
// any other "/" is a syntax error, so there is no general navigation.
//
// Unlike strict OData, "not" applies to the comparison after it, so
// "not displayName eq 'x'" means "not (displayName eq 'x')".

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString // text holds the unescaped value
	tBare   // unquoted literal starting with a digit (datetime, number)
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	pos  int // byte offset in the expression, from 0
	text string
}

// syntaxError reports a position only: the text there is the client's
// and is not repeated.
func syntaxError(pos int) *Error {
	return errorf("Syntax error at position %d", pos)
}

// lex splits s into tokens. paths are the whitelisted property names
// containing "/"; where one of them (case-insensitively) starts at an
// identifier and is not followed by more identifier bytes, it is read as
// one identifier token, the longest such path winning.
func lex(s string, paths []string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, i, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, i, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tComma, i, ","})
			i++
		case c == '\'':
			start := i
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, syntaxError(start) // unterminated string
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				// Invalid UTF-8 and NUL would reach the database, which
				// may reject them (PostgreSQL text) with a server error.
				r, size := utf8.DecodeRuneInString(s[i:])
				if r == 0 || (r == utf8.RuneError && size == 1) {
					return nil, syntaxError(i)
				}
				b.WriteString(s[i : i+size])
				i += size
			}
			toks = append(toks, token{tString, start, b.String()})
		case isIdentByte(c, true):
			start := i
			if n := matchPath(s[i:], paths); n > 0 {
				i += n
				toks = append(toks, token{tIdent, start, s[start:i]})
				continue
			}
			for i < len(s) && isIdentByte(s[i], false) {
				i++
			}
			toks = append(toks, token{tIdent, start, s[start:i]})
		case c >= '0' && c <= '9':
			start := i
			for i < len(s) && isBareByte(s[i]) {
				i++
			}
			toks = append(toks, token{tBare, start, s[start:i]})
		default:
			return nil, syntaxError(i)
		}
	}
	return append(toks, token{tEOF, len(s), ""}), nil
}

// matchPath returns the length of the longest of paths that s starts
// with (ignoring case) as a whole property name, or 0.
func matchPath(s string, paths []string) int {
	best := 0
	for _, p := range paths {
		if len(p) > best && len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) &&
			(len(s) == len(p) || !isIdentByte(s[len(p)], false)) {
			best = len(p)
		}
	}
	return best
}

func isBareByte(c byte) bool {
	return isIdentByte(c, false) || c == ':' || c == '.' || c == '+' || c == '-'
}

// compareOps are the binary comparison operators, by lower-case keyword.
var compareOps = map[string]store.FilterOp{
	"eq": store.FilterEq,
	"ne": store.FilterNe,
	"ge": store.FilterGe,
	"le": store.FilterLe,
	"gt": store.FilterGt,
	"lt": store.FilterLt,
}

// otherOps are OData operators vakt does not implement; naming them gets
// a clearer message than a syntax error.
var otherOps = map[string]bool{"in": true, "has": true, "add": true, "sub": true, "mul": true, "div": true, "mod": true}

// reserved words cannot be property names unless the fields map has them.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "true": true, "false": true, "null": true,
	"eq": true, "ne": true, "ge": true, "le": true, "gt": true, "lt": true,
}

// allowed reports whether a property of kind k supports op.
func allowed(k FieldKind, op store.FilterOp) bool {
	switch k {
	case String:
		return op == store.FilterEq || op == store.FilterNe || op == store.FilterStartsWith
	case DateTime, Int:
		switch op {
		case store.FilterEq, store.FilterNe, store.FilterGe, store.FilterLe, store.FilterGt, store.FilterLt:
			return true
		}
	case Bool, Enum:
		return op == store.FilterEq || op == store.FilterNe
	}
	return false
}

func literalName(k FieldKind) string {
	switch k {
	case DateTime:
		return "a DateTime"
	case Bool:
		return "a Boolean"
	case Int:
		return "an Int32"
	}
	return "a string"
}

// ParseFilter parses a $filter expression into a store.Filter over the
// properties of fields. Property names match case-insensitively (as in
// Graph) and the Field of each comparison is the canonical name from
// fields. Chains of one operator ("a and b and c") become one node with
// several Args. Comparison values are normalised: DateTime to RFC 3339
// in UTC (time.RFC3339Nano), Bool to "true" or "false", Int to its
// decimal form, strings unescaped. A field name containing "/" (such as
// "status/errorCode") is a property path the expression may name as is.
//
// Every error is an *Error. The expression is limited to MaxFilterLen
// bytes, MaxFilterDepth levels of parentheses and not, and
// MaxFilterComparisons comparisons. Positions in syntax errors are byte
// offsets from 0.
func ParseFilter(expr string, fields map[string]FieldKind) (*store.Filter, error) {
	if len(expr) > MaxFilterLen {
		return nil, errorf("Invalid filter clause: the expression is longer than %d bytes", MaxFilterLen)
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errorf("Invalid filter clause: the expression is empty")
	}
	var paths []string
	for name := range fields {
		if strings.Contains(name, "/") {
			paths = append(paths, name)
		}
	}
	toks, err := lex(expr, paths)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, fields: fields, fold: make(map[string]string, len(fields))}
	for name := range fields {
		// Two names differing only in case would be ambiguous; keep the
		// smaller so the choice does not depend on map order.
		l := strings.ToLower(name)
		if prev, ok := p.fold[l]; !ok || name < prev {
			p.fold[l] = name
		}
	}
	f, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, syntaxError(t.pos)
	}
	return &f, nil
}

type parser struct {
	toks        []token
	i           int
	fields      map[string]FieldKind
	fold        map[string]string // lower-case name → canonical name
	depth       int
	comparisons int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isKeyword(t token, kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) expect(k tokKind) error {
	if t := p.next(); t.kind != k {
		return syntaxError(t.pos)
	}
	return nil
}

// enter and leave track nesting; the limit also bounds the recursion.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return errorf("Invalid filter clause: nesting deeper than %d levels", MaxFilterDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) countComparison() error {
	p.comparisons++
	if p.comparisons > MaxFilterComparisons {
		return errorf("Invalid filter clause: more than %d comparisons", MaxFilterComparisons)
	}
	return nil
}

func (p *parser) parseOr() (store.Filter, error) {
	return p.parseChain("or", store.FilterOr, p.parseAnd)
}

func (p *parser) parseAnd() (store.Filter, error) {
	return p.parseChain("and", store.FilterAnd, p.parseUnary)
}

// parseChain parses operand *( kw operand ) into one n-ary node.
func (p *parser) parseChain(kw string, op store.FilterOp, operand func() (store.Filter, error)) (store.Filter, error) {
	first, err := operand()
	if err != nil {
		return first, err
	}
	if !isKeyword(p.peek(), kw) {
		return first, nil
	}
	args := []store.Filter{first}
	for isKeyword(p.peek(), kw) {
		p.next()
		f, err := operand()
		if err != nil {
			return f, err
		}
		args = append(args, f)
	}
	return store.Filter{Op: op, Args: args}, nil
}

func (p *parser) parseUnary() (store.Filter, error) {
	if !isKeyword(p.peek(), "not") {
		return p.parsePrimary()
	}
	p.next()
	if err := p.enter(); err != nil {
		return store.Filter{}, err
	}
	defer p.leave()
	inner, err := p.parseUnary()
	if err != nil {
		return inner, err
	}
	return store.Filter{Op: store.FilterNot, Args: []store.Filter{inner}}, nil
}

func (p *parser) parsePrimary() (store.Filter, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if err := p.enter(); err != nil {
			return store.Filter{}, err
		}
		defer p.leave()
		f, err := p.parseOr()
		if err != nil {
			return f, err
		}
		return f, p.expect(tRParen)
	case tIdent:
		if p.peek().kind == tLParen {
			return p.parseFunction(t)
		}
		return p.parseComparison(t)
	}
	return store.Filter{}, syntaxError(t.pos)
}

// resolve maps a property token to its canonical name and kind.
func (p *parser) resolve(t token) (string, FieldKind, error) {
	if t.kind != tIdent {
		return "", 0, syntaxError(t.pos)
	}
	name, ok := t.text, false
	if _, ok = p.fields[name]; !ok {
		name, ok = p.fold[strings.ToLower(t.text)]
	}
	if !ok {
		if reserved[strings.ToLower(t.text)] {
			return "", 0, syntaxError(t.pos)
		}
		// t.text is an ASCII identifier (the lexer saw to it): safe to echo.
		return "", 0, errorf("Invalid filter clause: unknown property '%s'", t.text)
	}
	return name, p.fields[name], nil
}

func (p *parser) parseComparison(prop token) (store.Filter, error) {
	name, kind, err := p.resolve(prop)
	if err != nil {
		return store.Filter{}, err
	}
	opTok := p.next()
	if opTok.kind != tIdent {
		return store.Filter{}, syntaxError(opTok.pos)
	}
	opName := strings.ToLower(opTok.text)
	op, ok := compareOps[opName]
	if !ok {
		if otherOps[opName] {
			return store.Filter{}, errorf("Unsupported operator '%s' for property '%s'", opName, name)
		}
		return store.Filter{}, syntaxError(opTok.pos)
	}
	if !allowed(kind, op) {
		return store.Filter{}, errorf("Unsupported operator '%s' for property '%s'", opName, name)
	}
	value, err := p.literal(name, kind)
	if err != nil {
		return store.Filter{}, err
	}
	if err := p.countComparison(); err != nil {
		return store.Filter{}, err
	}
	return store.Filter{Op: op, Field: name, Value: value}, nil
}

// literal reads the literal of a comparison on property name of kind k.
func (p *parser) literal(name string, k FieldKind) (string, error) {
	t := p.next()
	switch {
	case (k == String || k == Enum) && t.kind == tString:
		return t.text, nil
	case k == DateTime && t.kind == tBare:
		tm, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return "", errorf("Invalid filter clause: invalid DateTime literal at position %d", t.pos)
		}
		return tm.UTC().Format(time.RFC3339Nano), nil
	case k == Bool && (isKeyword(t, "true") || isKeyword(t, "false")):
		return strings.ToLower(t.text), nil
	case k == Int && t.kind == tBare:
		n, err := strconv.ParseInt(t.text, 10, 32)
		if err != nil {
			return "", errorf("Invalid filter clause: invalid Int32 literal at position %d", t.pos)
		}
		return strconv.FormatInt(n, 10), nil
	}
	switch t.kind {
	case tIdent:
		if isKeyword(t, "null") {
			return "", errorf("Invalid filter clause: null is not supported for property '%s'", name)
		}
		fallthrough
	case tString, tBare:
		return "", errorf("Invalid filter clause: property '%s' requires %s literal", name, literalName(k))
	}
	return "", syntaxError(t.pos)
}

func (p *parser) parseFunction(fn token) (store.Filter, error) {
	if !strings.EqualFold(fn.text, "startswith") {
		return store.Filter{}, errorf("Invalid filter clause: unsupported function '%s'", fn.text)
	}
	if err := p.expect(tLParen); err != nil {
		return store.Filter{}, err
	}
	name, kind, err := p.resolve(p.next())
	if err != nil {
		return store.Filter{}, err
	}
	if !allowed(kind, store.FilterStartsWith) {
		return store.Filter{}, errorf("Unsupported operator 'startswith' for property '%s'", name)
	}
	if err := p.expect(tComma); err != nil {
		return store.Filter{}, err
	}
	lit := p.next()
	switch lit.kind {
	case tString:
	case tIdent, tBare:
		return store.Filter{}, errorf("Invalid filter clause: property '%s' requires a string literal", name)
	default:
		return store.Filter{}, syntaxError(lit.pos)
	}
	if err := p.expect(tRParen); err != nil {
		return store.Filter{}, err
	}
	if err := p.countComparison(); err != nil {
		return store.Filter{}, err
	}
	return store.Filter{Op: store.FilterStartsWith, Field: name, Value: lit.text}, nil
}
