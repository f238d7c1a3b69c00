package capolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vakt-id/vakt/internal/apperr"
)

// The property trees of graph-api.md §3, as data: normalize checks a
// decoded JSON object against one and returns its canonical form, in
// which every property of the tree is present (absent strings and objects
// as null, absent lists as [], absent booleans and enums at their
// defaults). Stored documents are always canonical, so GET shows one
// shape whatever the client sent.

type kind int

const (
	kString  kind = iota // string or null
	kBool                // true or false
	kInt                 // an integer or null
	kStrings             // a list of strings; null reads as []
	kObject              // an object or null
)

// prop is one property of an object type.
type prop struct {
	name string
	kind kind
	// enum lists the allowed values of a string or of a list's items;
	// nil allows any. future lists the evolvable members (those after
	// unknownFutureValue), accepted on input and hidden on output from
	// clients that do not ask for them.
	enum, future []string
	obj          *objType
	// required: absent, null or (for strings and lists) empty is refused.
	required bool
	// def is the value when absent or null: nil is JSON null (a list's
	// default is always []).
	def any
	// maxLen bounds a string (in characters) or a list (in items).
	maxLen int
}

// objType is a Graph complex type.
type objType struct {
	name  string // e.g. microsoft.graph.conditionalAccessUsers
	props []prop
}

func (o *objType) prop(name string) (prop, bool) {
	for _, p := range o.props {
		if p.name == name {
			return p, true
		}
	}
	return prop{}, false
}

// Limits of strings and lists (Graph states none for most; these keep
// documents bounded).
const (
	maxNameLen        = 256
	maxDescriptionLen = 1024
	maxListLen        = 1000
	maxRuleLen        = 3072
)

var (
	riskLevels = []string{"low", "medium", "high", "hidden", "none"}

	usersType = &objType{name: "microsoft.graph.conditionalAccessUsers", props: []prop{
		{name: "includeUsers", kind: kStrings, maxLen: maxListLen},
		{name: "excludeUsers", kind: kStrings, maxLen: maxListLen},
		{name: "includeGroups", kind: kStrings, maxLen: maxListLen},
		{name: "excludeGroups", kind: kStrings, maxLen: maxListLen},
		{name: "includeRoles", kind: kStrings, maxLen: maxListLen},
		{name: "excludeRoles", kind: kStrings, maxLen: maxListLen},
	}}
	applicationsType = &objType{name: "microsoft.graph.conditionalAccessApplications", props: []prop{
		{name: "includeApplications", kind: kStrings, maxLen: maxListLen},
		{name: "excludeApplications", kind: kStrings, maxLen: maxListLen},
		{name: "includeUserActions", kind: kStrings, enum: []string{"urn:user:registersecurityinfo", "urn:user:registerdevice"}},
	}}
	locationsType = &objType{name: "microsoft.graph.conditionalAccessLocations", props: []prop{
		{name: "includeLocations", kind: kStrings, maxLen: maxListLen, required: true},
		{name: "excludeLocations", kind: kStrings, maxLen: maxListLen},
	}}
	platformList  = []string{"android", "iOS", "windows", "windowsPhone", "macOS", "all"}
	platformsType = &objType{name: "microsoft.graph.conditionalAccessPlatforms", props: []prop{
		{name: "includePlatforms", kind: kStrings, enum: platformList, future: []string{"linux"}, required: true},
		{name: "excludePlatforms", kind: kStrings, enum: platformList, future: []string{"linux"}},
	}}
	filterType = &objType{name: "microsoft.graph.conditionalAccessFilter", props: []prop{
		{name: "mode", kind: kString, enum: []string{"include", "exclude"}, required: true},
		{name: "rule", kind: kString, required: true, maxLen: maxRuleLen},
	}}
	devicesType = &objType{name: "microsoft.graph.conditionalAccessDevices", props: []prop{
		{name: "deviceFilter", kind: kObject, obj: filterType},
	}}
	conditionsType = &objType{name: "microsoft.graph.conditionalAccessConditionSet", props: []prop{
		{name: "users", kind: kObject, obj: usersType, required: true},
		{name: "applications", kind: kObject, obj: applicationsType, required: true},
		{name: "clientAppTypes", kind: kStrings, required: true,
			enum: []string{"all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"}},
		{name: "locations", kind: kObject, obj: locationsType},
		{name: "platforms", kind: kObject, obj: platformsType},
		{name: "devices", kind: kObject, obj: devicesType},
		{name: "signInRiskLevels", kind: kStrings, enum: riskLevels},
		{name: "userRiskLevels", kind: kStrings, enum: riskLevels},
	}}
	strengthType = &objType{name: "microsoft.graph.authenticationStrengthPolicy", props: []prop{
		{name: "id", kind: kString, required: true, enum: []string{StrengthMFA, StrengthPasswordlessMFA, StrengthPhishingResistantMFA}},
	}}
	grantType = &objType{name: "microsoft.graph.conditionalAccessGrantControls", props: []prop{
		{name: "operator", kind: kString, enum: []string{"AND", "OR"}, def: "OR"},
		{name: "builtInControls", kind: kStrings, future: []string{"riskRemediation"},
			enum: []string{"block", "mfa", "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication", "passwordChange"}},
		{name: "authenticationStrength", kind: kObject, obj: strengthType},
	}}
	signInFrequencyType = &objType{name: "microsoft.graph.signInFrequencySessionControl", props: []prop{
		{name: "isEnabled", kind: kBool, required: true},
		{name: "value", kind: kInt},
		{name: "type", kind: kString, enum: []string{"days", "hours"}},
		{name: "frequencyInterval", kind: kString, enum: []string{"timeBased", "everyTime"}, def: "timeBased"},
		{name: "authenticationType", kind: kString, enum: []string{"primaryAndSecondaryAuthentication", "secondaryAuthentication"},
			def: "primaryAndSecondaryAuthentication"},
	}}
	persistentBrowserType = &objType{name: "microsoft.graph.persistentBrowserSessionControl", props: []prop{
		{name: "isEnabled", kind: kBool, required: true},
		{name: "mode", kind: kString, enum: []string{"always", "never"}},
	}}
	sessionType = &objType{name: "microsoft.graph.conditionalAccessSessionControls", props: []prop{
		{name: "signInFrequency", kind: kObject, obj: signInFrequencyType},
		{name: "persistentBrowser", kind: kObject, obj: persistentBrowserType},
	}}
	// policyType holds the writable properties of a policy; id,
	// createdDateTime and modifiedDateTime are the server's.
	policyType = &objType{name: "microsoft.graph.conditionalAccessPolicy", props: []prop{
		{name: "displayName", kind: kString, required: true, maxLen: maxNameLen},
		{name: "description", kind: kString, maxLen: maxDescriptionLen},
		{name: "templateId", kind: kString, maxLen: 128},
		{name: "state", kind: kString, required: true, enum: []string{StateEnabled, StateDisabled, StateReportOnly}},
		{name: "conditions", kind: kObject, obj: conditionsType, required: true},
		{name: "grantControls", kind: kObject, obj: grantType},
		{name: "sessionControls", kind: kObject, obj: sessionType},
	}}

	ipLocationType = &objType{name: "microsoft.graph.ipNamedLocation", props: []prop{
		{name: "displayName", kind: kString, required: true, maxLen: maxNameLen},
		{name: "isTrusted", kind: kBool, def: false},
		// ipRanges items are checked by ipRanges: a list of objects.
	}}
	countryLocationType = &objType{name: "microsoft.graph.countryNamedLocation", props: []prop{
		{name: "displayName", kind: kString, required: true, maxLen: maxNameLen},
		{name: "countriesAndRegions", kind: kStrings, maxLen: 300},
		{name: "includeUnknownCountriesAndRegions", kind: kBool, def: false},
		{name: "countryLookupMethod", kind: kString, enum: []string{"clientIpAddress", "authenticatorAppGps"}, def: "clientIpAddress"},
	}}
)

// readOnly are the server-set properties of policies and named locations.
var readOnly = []string{"id", "createdDateTime", "modifiedDateTime"}

// invalid is a 400 naming the property at path.
func invalid(path, format string, args ...any) error {
	return apperr.Invalidf(format, args...).WithTarget(path)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// clip keeps client text in messages short.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

func typeErr(path, typeName, want string) error {
	return invalid(path, "Invalid value for property '%s' of type '%s': expected %s.", path, typeName, want)
}

// normalize checks v against o and returns its canonical form. extra
// names properties the caller checks itself (kept as they are).
func normalize(v any, o *objType, path string, extra ...string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if path == "" {
			return nil, apperr.Invalidf("The request body must be a JSON object.")
		}
		return nil, invalid(path, "Invalid value for property '%s': expected an object of type '%s'.", path, o.name)
	}
	out := make(map[string]any, len(o.props))
	for _, k := range sortedKeys(m) {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if _, ok := o.prop(k); ok {
			continue
		}
		if slices.Contains(extra, k) {
			out[k] = m[k]
			continue
		}
		return nil, invalid(join(path, clip(k)), "Property '%s' does not exist on type '%s'.", clip(k), o.name)
	}
	for _, p := range o.props {
		val, err := normalizeProp(p, m[p.name], join(path, p.name), o.name)
		if err != nil {
			return nil, err
		}
		out[p.name] = val
	}
	return out, nil
}

func normalizeProp(p prop, v any, path, typeName string) (any, error) {
	if v == nil {
		if p.required {
			return nil, invalid(path, "Property '%s' is required.", path)
		}
		if p.kind == kStrings {
			return []any{}, nil
		}
		return p.def, nil
	}
	switch p.kind {
	case kString:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr(path, typeName, "a string")
		}
		if p.required && strings.TrimSpace(s) == "" {
			return nil, invalid(path, "Property '%s' is required.", path)
		}
		if p.maxLen > 0 && utf8.RuneCountInString(s) > p.maxLen {
			return nil, invalid(path, "Property '%s' is longer than %d characters.", path, p.maxLen)
		}
		if err := checkEnum(p, s, path); err != nil {
			return nil, err
		}
		return s, nil
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return nil, typeErr(path, typeName, "true or false")
		}
		return b, nil
	case kInt:
		n, ok := toInt(v)
		if !ok {
			return nil, typeErr(path, typeName, "an integer")
		}
		return n, nil
	case kStrings:
		arr, ok := v.([]any)
		if !ok {
			return nil, typeErr(path, typeName, "a list of strings")
		}
		limit := p.maxLen
		if limit <= 0 {
			limit = maxListLen
		}
		if len(arr) > limit {
			return nil, invalid(path, "Property '%s' has more than %d values.", path, limit)
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, typeErr(fmt.Sprintf("%s[%d]", path, i), typeName, "a string")
			}
			if err := checkEnum(p, s, path); err != nil {
				return nil, err
			}
			out[i] = s
		}
		if p.required && len(out) == 0 {
			return nil, invalid(path, "Property '%s' needs at least one value.", path)
		}
		return out, nil
	case kObject:
		return normalize(v, p.obj, path)
	}
	return nil, fmt.Errorf("capolicy: property %s has no kind", path)
}

func checkEnum(p prop, s, path string) error {
	if p.enum == nil || slices.Contains(p.enum, s) || slices.Contains(p.future, s) {
		return nil
	}
	return invalid(path, "'%s' is not a valid value of '%s'; use one of %s.", clip(s), path, strings.Join(append(slices.Clone(p.enum), p.future...), ", "))
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			return 0, false
		}
		return i, true
	case float64:
		if n != math.Trunc(n) || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, false
		}
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseObject decodes a JSON object with numbers kept exact.
func parseObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, apperr.Invalidf("Unable to read JSON request payload: expected one JSON object.").WithCode("BadRequest")
	}
	if dec.More() {
		return nil, apperr.Invalidf("Unable to read JSON request payload: unexpected data after the JSON object.").WithCode("BadRequest")
	}
	return m, nil
}

// mergePatch applies a PATCH to a document as JSON merge patch (RFC 7396):
// objects merge property by property, anything else (lists included)
// replaces, and null removes (the property then takes its default).
func mergePatch(target, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target))
	for k, v := range target {
		out[k] = v
	}
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			tm, _ := out[k].(map[string]any)
			if tm == nil {
				tm = map[string]any{}
			}
			out[k] = mergePatch(tm, pm)
			continue
		}
		out[k] = pv
	}
	return out
}

// strList reads a canonical list property.
func strList(m map[string]any, k string) []string {
	arr, _ := m[k].([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func setList(m map[string]any, k string, vals []string) {
	arr := make([]any, len(vals))
	for i, s := range vals {
		arr[i] = s
	}
	m[k] = arr
}

// obj reads a canonical object property (nil when null).
func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func strProp(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
