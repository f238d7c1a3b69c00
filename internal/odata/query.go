package odata

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vakt-id/vakt/internal/store"
)

// DefaultMaxTop is the $top limit used when Spec.MaxTop is not set; it is
// Graph's limit for users and groups.
const DefaultMaxTop = 999

// MaxSearchLen bounds $search like $filter.
const MaxSearchLen = MaxFilterLen

// Spec describes what one collection supports.
type Spec struct {
	Fields     map[string]FieldKind // filterable properties
	Selectable []string             // properties $select may name ("id" is always allowed)
	Orderable  []string             // properties $orderby may name
	MaxTop     int                  // largest $top; DefaultMaxTop when <= 0
	DefaultTop int                  // page size without $top; 0 leaves it to the backend
}

// Options are the parsed query options of a collection request.
type Options struct {
	Filter    *store.Filter // nil without $filter
	Top       int           // Spec.DefaultTop without $top
	Skiptoken string        // raw $skiptoken, length-checked only
	Select    []string      // canonical names; nil without $select
	OrderBy   string        // canonical name; "" without $orderby
	Desc      bool
	Count     bool
	Search    string // raw $search, length- and encoding-checked only
}

// ParseQuery parses the OData system query options of a request.
//
// Only parameters starting with '$' are options ("top=5" is not $top and
// is ignored, left to the caller). Option names match case-insensitively.
// An option given twice, an option vakt does not support ($expand,
// $skip, ...) or an invalid value is an *Error. $skiptoken is returned
// as is for the caller to decode, since its content depends on the
// backend; it is only checked against MaxSkiptokenLen.
func ParseQuery(values url.Values, spec Spec) (Options, error) {
	o := Options{Top: spec.DefaultTop}
	maxTop := spec.MaxTop
	if maxTop <= 0 {
		maxTop = DefaultMaxTop
	}
	// Sorted so that, of several bad options, the same one is reported.
	keys := make([]string, 0, len(values))
	for k := range values {
		if strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	seen := make(map[string]bool, len(keys))
	for _, key := range keys {
		name := strings.ToLower(key)
		switch name {
		case "$filter", "$top", "$skiptoken", "$select", "$orderby", "$count", "$search":
		default:
			if isIdent(key[1:]) {
				return Options{}, errorf("Query option '%s' is not supported", key)
			}
			return Options{}, errorf("Unsupported query option")
		}
		vals := values[key]
		if seen[name] || len(vals) != 1 {
			return Options{}, errorf("Query option '%s' was specified more than once", name)
		}
		seen[name] = true
		v := vals[0]

		var err error
		switch name {
		case "$filter":
			o.Filter, err = ParseFilter(v, spec.Fields)
		case "$top":
			o.Top, err = ParseTop(v, maxTop)
		case "$skiptoken":
			if v == "" || len(v) > MaxSkiptokenLen {
				err = errInvalidSkiptoken()
			}
			o.Skiptoken = v
		case "$select":
			o.Select, err = ParseSelect(v, spec.Selectable)
		case "$orderby":
			o.OrderBy, o.Desc, err = ParseOrderBy(v, spec.Orderable)
		case "$count":
			switch {
			case strings.EqualFold(v, "true"):
				o.Count = true
			case strings.EqualFold(v, "false"):
				o.Count = false
			default:
				err = errorf("Invalid value for query option '$count': expected true or false")
			}
		case "$search":
			if len(v) > MaxSearchLen {
				err = errorf("Invalid value for query option '$search': longer than %d bytes", MaxSearchLen)
			} else if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				err = errorf("Invalid value for query option '$search': invalid characters")
			}
			o.Search = v
		}
		if err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

// ParseTop parses $top: an integer from 1 to maxTop.
func ParseTop(s string, maxTop int) (int, error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errorf("Invalid value for query option '$top': expected an integer between 1 and %d", maxTop)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > maxTop {
		return 0, errorf("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, maxTop)
	}
	return n, nil
}

// foldIndex maps lower-cased names to canonical ones; the first of
// names differing only in case wins.
func foldIndex(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		l := strings.ToLower(n)
		if _, ok := m[l]; !ok {
			m[l] = n
		}
	}
	return m
}

// ParseSelect parses $select: a comma-separated list of property names,
// matched case-insensitively against allowed (plus "id", which Select
// always keeps). It returns the canonical names, without duplicates, in
// request order.
func ParseSelect(s string, allowed []string) ([]string, error) {
	idx := foldIndex(allowed)
	if _, ok := idx["id"]; !ok {
		idx["id"] = "id"
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, errorf("Invalid value for query option '$select': expected a comma-separated list of properties")
		}
		canon, ok := idx[strings.ToLower(name)]
		if !ok {
			if isIdent(name) {
				return nil, errorf("Parsing OData Select and Expand failed: Could not find a property named '%s'.", name)
			}
			return nil, errorf("Parsing OData Select and Expand failed: invalid property name.")
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

// ParseOrderBy parses $orderby: one property of allowed (matched
// case-insensitively, returned canonical) optionally followed by asc or
// desc.
func ParseOrderBy(s string, allowed []string) (field string, desc bool, err error) {
	if strings.Contains(s, ",") {
		return "", false, errorf("Invalid value for query option '$orderby': ordering by more than one property is not supported")
	}
	parts := strings.Fields(s)
	if len(parts) == 0 || len(parts) > 2 {
		return "", false, errorf("Invalid value for query option '$orderby': expected a property name optionally followed by asc or desc")
	}
	canon, ok := foldIndex(allowed)[strings.ToLower(parts[0])]
	if !ok {
		if isIdent(parts[0]) {
			return "", false, errorf("Sorting by property '%s' is not supported", parts[0])
		}
		return "", false, errorf("Invalid value for query option '$orderby': invalid property name")
	}
	if len(parts) == 2 {
		switch strings.ToLower(parts[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return "", false, errorf("Invalid value for query option '$orderby': expected asc or desc after the property name")
		}
	}
	return canon, desc, nil
}

// Select projects a response object onto a $select list: it keeps the
// "@odata.*" annotations, "id" and the listed fields. A listed field
// missing from obj is set to nil, as Graph returns selected properties
// that have no value as null. With no fields (no $select) obj is
// returned unchanged.
func Select(obj map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return obj
	}
	out := make(map[string]any, len(fields)+2)
	for k, v := range obj {
		if k == "id" || strings.HasPrefix(k, "@odata.") {
			out[k] = v
		}
	}
	for _, f := range fields {
		out[f] = obj[f]
	}
	return out
}
