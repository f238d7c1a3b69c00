package ca

import (
	"fmt"
	"strings"
)

// Limits of a device-filter rule.
const (
	MaxDeviceRuleLength = 3072
	maxRuleDepth        = 32
)

// DeviceRule is a parsed device-filter rule, ready to evaluate.
type DeviceRule struct {
	nodes []ruleNode
	kids  []int32
	root  int32
}

type ruleOp uint8

const (
	opCompare ruleOp = iota
	opAnd
	opOr
)

type ruleAttr uint8

const (
	attrIsCompliant ruleAttr = iota
	attrTrustType
)

type ruleNode struct {
	op ruleOp
	// opAnd, opOr: children kids[from:to].
	from, to int32
	// opCompare
	attr ruleAttr
	ne   bool
	bval bool
	sval string
}

// Device is what a device filter sees of the device.
type Device struct {
	Compliant bool
	// TrustType: AzureAD (joined), ServerAD (hybrid joined), Workplace
	// (registered), "" for an unknown or unregistered device. Compared
	// without regard to case.
	TrustType string
}

// ParseDeviceRule parses a device-filter rule in the dynamic-group syntax
// Graph uses, restricted to what vakt knows about a device:
//
//	rule       = or
//	or         = and { "-or" and }
//	and        = primary { "-and" primary }
//	primary    = "(" or ")" | comparison
//	comparison = attribute ("-eq" | "-ne") value
//	attribute  = "device.isCompliant" | "device.trustType"
//
// device.isCompliant takes True or False (bare or quoted), device.trustType
// a double-quoted string (AzureAD, ServerAD, Workplace). Keywords,
// attribute names and values are case-insensitive; -and binds tighter than
// -or. Any other attribute or operator is refused with an error that says
// what vakt supports.
func ParseDeviceRule(rule string) (*DeviceRule, error) {
	if len(rule) > MaxDeviceRuleLength {
		return nil, fmt.Errorf("the rule is %d characters long; at most %d are allowed", len(rule), MaxDeviceRuleLength)
	}
	toks, err := tokenize(rule)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("the rule is empty")
	}
	p := &ruleParser{toks: toks, r: &DeviceRule{}}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if t.kind == tokRParen {
			return nil, fmt.Errorf("unbalanced ')' at position %d", t.at+1)
		}
		return nil, fmt.Errorf("expected -and or -or at position %d, found %q", t.at+1, t.text)
	}
	p.r.root = root
	return p.r, nil
}

// Match evaluates the rule for a device.
func (r *DeviceRule) Match(d Device) bool {
	return r.eval(r.root, d.Compliant, d.TrustType)
}

func (r *DeviceRule) eval(i int32, compliant bool, trust string) bool {
	n := &r.nodes[i]
	switch n.op {
	case opAnd:
		for _, k := range r.kids[n.from:n.to] {
			if !r.eval(k, compliant, trust) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range r.kids[n.from:n.to] {
			if r.eval(k, compliant, trust) {
				return true
			}
		}
		return false
	}
	var eq bool
	switch n.attr {
	case attrIsCompliant:
		eq = compliant == n.bval
	default:
		eq = strings.EqualFold(trust, n.sval)
	}
	return eq != n.ne
}

type tokKind uint8

const (
	tokWord tokKind = iota
	tokString
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string
	at   int
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string starting at position %d", i+1)
			}
			toks = append(toks, token{tokString, s[i+1 : i+1+j], i})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], i})
			i = j
		}
	}
	return toks, nil
}

type ruleParser struct {
	toks []token
	pos  int
	r    *DeviceRule
}

func (p *ruleParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokWord && strings.EqualFold(p.toks[p.pos].text, w)
}

// list parses operands joined by the keyword sep.
func (p *ruleParser) list(depth int, sep string, op ruleOp, operand func(int) (int32, error)) (int32, error) {
	first, err := operand(depth)
	if err != nil {
		return 0, err
	}
	if !p.peekWord(sep) {
		return first, nil
	}
	items := []int32{first}
	for p.peekWord(sep) {
		p.pos++
		n, err := operand(depth)
		if err != nil {
			return 0, err
		}
		items = append(items, n)
	}
	from := int32(len(p.r.kids))
	p.r.kids = append(p.r.kids, items...)
	p.r.nodes = append(p.r.nodes, ruleNode{op: op, from: from, to: int32(len(p.r.kids))})
	return int32(len(p.r.nodes) - 1), nil
}

func (p *ruleParser) or(depth int) (int32, error) {
	return p.list(depth, "-or", opOr, p.and)
}

func (p *ruleParser) and(depth int) (int32, error) {
	return p.list(depth, "-and", opAnd, p.primary)
}

func (p *ruleParser) primary(depth int) (int32, error) {
	if p.pos >= len(p.toks) {
		return 0, fmt.Errorf("the rule ends where a condition was expected")
	}
	t := p.toks[p.pos]
	switch t.kind {
	case tokLParen:
		if depth >= maxRuleDepth {
			return 0, fmt.Errorf("parentheses nest more than %d deep", maxRuleDepth)
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return 0, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokRParen {
			return 0, fmt.Errorf("missing ')' for the '(' at position %d", t.at+1)
		}
		p.pos++
		return n, nil
	case tokRParen:
		return 0, fmt.Errorf("unexpected ')' at position %d", t.at+1)
	case tokString:
		return 0, fmt.Errorf("expected a device attribute at position %d, found the string %q", t.at+1, t.text)
	}
	return p.comparison()
}

func (p *ruleParser) comparison() (int32, error) {
	t := p.toks[p.pos]
	var attr ruleAttr
	switch {
	case strings.EqualFold(t.text, "device.isCompliant"):
		attr = attrIsCompliant
	case strings.EqualFold(t.text, "device.trustType"):
		attr = attrTrustType
	case strings.HasPrefix(t.text, "-"):
		return 0, fmt.Errorf("expected a device attribute at position %d, found the operator %q", t.at+1, t.text)
	case len(t.text) > 7 && strings.EqualFold(t.text[:7], "device."):
		return 0, fmt.Errorf("the device attribute %q is not supported: vakt filters on device.isCompliant and device.trustType", t.text)
	default:
		return 0, fmt.Errorf("expected device.isCompliant or device.trustType at position %d, found %q", t.at+1, t.text)
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return 0, fmt.Errorf("%s needs an operator (-eq or -ne)", t.text)
	}
	o := p.toks[p.pos]
	var ne bool
	switch {
	case o.kind == tokWord && strings.EqualFold(o.text, "-eq"):
	case o.kind == tokWord && strings.EqualFold(o.text, "-ne"):
		ne = true
	case o.kind == tokWord && strings.HasPrefix(o.text, "-"):
		return 0, fmt.Errorf("the operator %q at position %d is not supported: use -eq or -ne", o.text, o.at+1)
	default:
		return 0, fmt.Errorf("expected -eq or -ne after %s at position %d, found %q", t.text, o.at+1, o.text)
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return 0, fmt.Errorf("%s %s needs a value", t.text, o.text)
	}
	v := p.toks[p.pos]
	n := ruleNode{op: opCompare, attr: attr, ne: ne}
	switch attr {
	case attrIsCompliant:
		if v.kind != tokWord && v.kind != tokString {
			return 0, fmt.Errorf("device.isCompliant compares with True or False (position %d)", v.at+1)
		}
		switch {
		case strings.EqualFold(v.text, "true"):
			n.bval = true
		case strings.EqualFold(v.text, "false"):
		default:
			return 0, fmt.Errorf("device.isCompliant compares with True or False, not %q", v.text)
		}
	case attrTrustType:
		if v.kind != tokString {
			return 0, fmt.Errorf("device.trustType compares with a quoted string such as \"AzureAD\" (position %d)", v.at+1)
		}
		n.sval = v.text
	}
	p.pos++
	p.r.nodes = append(p.r.nodes, n)
	return int32(len(p.r.nodes) - 1), nil
}
