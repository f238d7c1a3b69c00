package capolicy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// Policy states.
const (
	StateEnabled    = "enabled"
	StateDisabled   = "disabled"
	StateReportOnly = "enabledForReportingButNotEnforced"
)

// Built-in authentication strengths (graph-api.md §3).
const (
	StrengthMFA                  = "00000000-0000-0000-0000-000000000002"
	StrengthPasswordlessMFA      = "00000000-0000-0000-0000-000000000003"
	StrengthPhishingResistantMFA = "00000000-0000-0000-0000-000000000004"
)

// Special values of the users, applications and locations conditions.
const (
	All                   = "All"
	None                  = "None"
	GuestsOrExternalUsers = "GuestsOrExternalUsers"
	Office365             = "Office365"
	MicrosoftAdminPortals = "MicrosoftAdminPortals"
	AllTrusted            = "AllTrusted"
)

// Limits of the modelled system (graph-api.md §3).
const (
	MaxPolicies       = 195
	MaxNamedLocations = 195
	MaxIPRanges       = 2000
	// MinPrefixLength: CIDR masks must be longer than /8.
	MinPrefixLength = 9
)

// canonicalID reads a GUID and returns it in lower case.
func canonicalID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// values canonicalises a list of special values (matched
// case-insensitively) and GUIDs. alone lists the specials that must be
// the only value.
func values(m map[string]any, k, path string, specials, alone []string, what string) ([]string, error) {
	in := strList(m, k)
	out := make([]string, 0, len(in))
	p := join(path, k)
	for _, s := range in {
		if i := slices.IndexFunc(specials, func(sp string) bool { return strings.EqualFold(sp, s) }); i >= 0 {
			out = append(out, specials[i])
			continue
		}
		id, ok := canonicalID(s)
		if !ok {
			msg := fmt.Sprintf("'%s' in '%s' is not %s id", clip(s), p, what)
			if len(specials) > 0 {
				msg += " or one of " + strings.Join(specials, ", ")
			}
			return nil, invalid(p, "%s.", msg)
		}
		out = append(out, id)
	}
	for _, a := range alone {
		if slices.Contains(out, a) && len(out) > 1 {
			return nil, invalid(p, "'%s' in '%s' cannot be combined with other values.", a, p)
		}
	}
	setList(m, k, out)
	return out, nil
}

// checkPolicy checks the rules of a canonical policy that need no store
// and canonicalises its special values and ids.
func checkPolicy(doc map[string]any) error {
	cond := obj(doc, "conditions")
	users := obj(cond, "users")
	const up = "conditions.users"
	if _, err := values(users, "includeUsers", up, []string{All, None, GuestsOrExternalUsers}, []string{All, None}, "a user"); err != nil {
		return err
	}
	if _, err := values(users, "excludeUsers", up, []string{GuestsOrExternalUsers}, nil, "a user"); err != nil {
		return err
	}
	for _, k := range []string{"includeGroups", "excludeGroups"} {
		if _, err := values(users, k, up, nil, nil, "a group"); err != nil {
			return err
		}
	}
	for _, k := range []string{"includeRoles", "excludeRoles"} {
		ids, err := values(users, k, up, nil, nil, "a directory role template")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := directory.RoleByID(id); !ok {
				return invalid(join(up, k), "'%s' in '%s.%s' is not the template id of a directory role.", id, up, k)
			}
		}
	}
	if len(strList(users, "includeUsers"))+len(strList(users, "includeGroups"))+len(strList(users, "includeRoles")) == 0 {
		return invalid(up, "The policy must include users: set includeUsers, includeGroups or includeRoles in '%s'.", up)
	}

	apps := obj(cond, "applications")
	const ap = "conditions.applications"
	incApps, err := values(apps, "includeApplications", ap, []string{All, None, Office365, MicrosoftAdminPortals}, []string{All, None}, "an application")
	if err != nil {
		return err
	}
	if _, err := values(apps, "excludeApplications", ap, []string{Office365, MicrosoftAdminPortals}, nil, "an application"); err != nil {
		return err
	}
	actions := strList(apps, "includeUserActions")
	switch {
	case len(incApps) == 0 && len(actions) == 0:
		return invalid(ap, "The policy must include applications or user actions: set includeApplications or includeUserActions in '%s'.", ap)
	case len(incApps) > 0 && len(actions) > 0:
		return invalid(ap, "A policy targets either applications or user actions: set only one of includeApplications and includeUserActions in '%s'.", ap)
	}

	if clients := strList(cond, "clientAppTypes"); slices.Contains(clients, "all") && len(clients) > 1 {
		return invalid("conditions.clientAppTypes", "'all' in 'conditions.clientAppTypes' cannot be combined with other values.")
	}
	if locs := obj(cond, "locations"); locs != nil {
		const lp = "conditions.locations"
		if _, err := values(locs, "includeLocations", lp, []string{All, AllTrusted}, []string{All}, "a named location"); err != nil {
			return err
		}
		if _, err := values(locs, "excludeLocations", lp, []string{AllTrusted}, nil, "a named location"); err != nil {
			return err
		}
	}
	if pl := obj(cond, "platforms"); pl != nil {
		if inc := strList(pl, "includePlatforms"); slices.Contains(inc, "all") && len(inc) > 1 {
			return invalid("conditions.platforms.includePlatforms", "'all' in 'conditions.platforms.includePlatforms' cannot be combined with other values.")
		}
		if slices.Contains(strList(pl, "excludePlatforms"), "all") {
			return invalid("conditions.platforms.excludePlatforms", "'all' can only be included, not excluded.")
		}
	}

	if g := obj(doc, "grantControls"); g != nil {
		controls := strList(g, "builtInControls")
		strength := obj(g, "authenticationStrength")
		switch {
		case len(controls) == 0 && strength == nil:
			return invalid("grantControls", "Grant controls must name at least one control in 'grantControls.builtInControls' or an 'authenticationStrength'.")
		case slices.Contains(controls, "block") && (len(controls) > 1 || strength != nil):
			return invalid("grantControls.builtInControls", "'block' cannot be combined with other grant controls.")
		}
		if slices.Contains(controls, "passwordChange") {
			switch {
			case strProp(g, "operator") != "AND" || !slices.Contains(controls, "mfa"):
				return invalid("grantControls.builtInControls", "'passwordChange' must be combined with 'mfa' under the operator 'AND'.")
			case len(strList(cond, "userRiskLevels")) == 0:
				return invalid("conditions.userRiskLevels", "A policy that requires 'passwordChange' must set 'conditions.userRiskLevels'.")
			case !slices.Equal(incApps, []string{All}) || len(strList(apps, "excludeApplications")) > 0:
				return invalid("conditions.applications.includeApplications", "A policy that requires 'passwordChange' must target all applications (includeApplications ['All'], no exclusions).")
			}
		}
	}
	if sc := obj(doc, "sessionControls"); sc != nil {
		if f := obj(sc, "signInFrequency"); f != nil {
			if err := checkFrequency(f); err != nil {
				return err
			}
		}
		if pb := obj(sc, "persistentBrowser"); pb != nil {
			if on, _ := pb["isEnabled"].(bool); on && strProp(pb, "mode") == "" {
				return invalid("sessionControls.persistentBrowser.mode", "Property 'sessionControls.persistentBrowser.mode' is required when persistent browser control is enabled.")
			}
		}
	}
	return nil
}

func checkFrequency(f map[string]any) error {
	const fp = "sessionControls.signInFrequency"
	value, hasValue := f["value"].(int64)
	typ := strProp(f, "type")
	if strProp(f, "frequencyInterval") == "everyTime" {
		if hasValue || typ != "" {
			return invalid(fp, "With frequencyInterval 'everyTime', 'value' and 'type' of '%s' must be null.", fp)
		}
		return nil
	}
	on, _ := f["isEnabled"].(bool)
	if !on && !hasValue && typ == "" {
		return nil
	}
	if !hasValue || typ == "" {
		return invalid(fp, "Properties 'value' and 'type' of '%s' are required together.", fp)
	}
	limit := map[string]int64{"hours": 23, "days": 365}[typ]
	if value < 1 || value > limit {
		return invalid(fp+".value", "Property '%s.value' must be between 1 and %d %s.", fp, limit, typ)
	}
	return nil
}

// locationIDs lists the named locations a canonical policy names.
func locationIDs(doc map[string]any) []string {
	locs := obj(obj(doc, "conditions"), "locations")
	var out []string
	for _, k := range []string{"includeLocations", "excludeLocations"} {
		for _, s := range strList(locs, k) {
			if s != All && s != AllTrusted && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// checkReferences checks that the users, groups and named locations a
// policy names exist in the tenant (in tx, under the conditional access
// lock).
func checkReferences(ctx context.Context, tx store.Store, tenantID string, doc map[string]any) error {
	users := obj(obj(doc, "conditions"), "users")
	const up = "conditions.users"
	seen := map[string]bool{}
	for _, c := range []struct {
		key  string
		kind store.ObjectKind
	}{{"includeUsers", store.KindUser}, {"excludeUsers", store.KindUser}, {"includeGroups", store.KindGroup}, {"excludeGroups", store.KindGroup}} {
		for _, id := range strList(users, c.key) {
			if _, ok := canonicalID(id); !ok || seen[string(c.kind)+id] {
				continue // a special value, or checked already
			}
			seen[string(c.kind)+id] = true
			o, err := tx.DirectoryObject(ctx, tenantID, id)
			if errors.Is(err, store.ErrNotFound) || (err == nil && o.Kind != c.kind) {
				return invalid(join(up, c.key), "'%s' in '%s.%s' is not a %s of this tenant.", id, up, c.key, c.kind)
			}
			if err != nil {
				return err
			}
		}
	}
	for _, id := range locationIDs(doc) {
		if _, err := tx.GetNamedLocation(ctx, tenantID, id); errors.Is(err, store.ErrNotFound) {
			return invalid("conditions.locations", "Named location '%s' named in 'conditions.locations' does not exist.", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// ---- Named locations ----

// Named location types.
const (
	IPNamedLocationType      = "#microsoft.graph.ipNamedLocation"
	CountryNamedLocationType = "#microsoft.graph.countryNamedLocation"
	ipv4RangeType            = "#microsoft.graph.iPv4CidrRange"
	ipv6RangeType            = "#microsoft.graph.iPv6CidrRange"
)

// locationKind maps a named location's @odata.type to its store kind.
func locationKind(fields map[string]any) (string, error) {
	v, ok := fields["@odata.type"]
	if !ok {
		return "", invalid("@odata.type", "The @odata.type property is required: '%s' or '%s'.", IPNamedLocationType, CountryNamedLocationType)
	}
	s, _ := v.(string)
	switch "#" + strings.TrimPrefix(s, "#") {
	case IPNamedLocationType:
		return store.NamedLocationIP, nil
	case CountryNamedLocationType:
		return store.NamedLocationCountry, nil
	}
	return "", invalid("@odata.type", "The @odata.type must be '%s' or '%s'.", IPNamedLocationType, CountryNamedLocationType)
}

func kindType(kind string) (string, *objType) {
	if kind == store.NamedLocationIP {
		return IPNamedLocationType, ipLocationType
	}
	return CountryNamedLocationType, countryLocationType
}

// normalizeLocation checks a named location document of a kind and
// returns it canonical, with its @odata.type.
func normalizeLocation(kind string, fields map[string]any) (map[string]any, error) {
	typ, ot := kindType(kind)
	var extra []string
	if kind == store.NamedLocationIP {
		extra = []string{"ipRanges"}
	}
	doc, err := normalize(fields, ot, "", extra...)
	if err != nil {
		return nil, err
	}
	doc["@odata.type"] = typ
	if kind == store.NamedLocationIP {
		ranges, err := ipRanges(fields["ipRanges"])
		if err != nil {
			return nil, err
		}
		doc["ipRanges"] = ranges
		var l ca.NamedLocation
		return doc, engineCheck(doc, &l, func() error { return l.Validate() })
	}
	codes := strList(doc, "countriesAndRegions")
	for i, c := range codes {
		u := strings.ToUpper(c)
		if !isCountry(u) {
			return nil, invalid("countriesAndRegions", "'%s' in 'countriesAndRegions' is not an ISO 3166-1 alpha-2 country or region code.", clip(c))
		}
		codes[i] = u
	}
	setList(doc, "countriesAndRegions", codes)
	if len(codes) == 0 && doc["includeUnknownCountriesAndRegions"] != true {
		return nil, invalid("countriesAndRegions", "Property 'countriesAndRegions' needs at least one country or region (or set includeUnknownCountriesAndRegions).")
	}
	var l ca.NamedLocation
	return doc, engineCheck(doc, &l, func() error { return l.Validate() })
}

// ipRanges checks the ranges of an IP named location.
func ipRanges(v any) ([]any, error) {
	const p = "ipRanges"
	if v == nil {
		return nil, invalid(p, "Property 'ipRanges' is required.")
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, invalid(p, "Invalid value for property 'ipRanges' of type 'microsoft.graph.ipNamedLocation': expected a list of ranges.")
	}
	if len(arr) == 0 {
		return nil, invalid(p, "Property 'ipRanges' needs at least one range.")
	}
	if len(arr) > MaxIPRanges {
		return nil, invalid(p, "A named location can hold at most %d IP ranges; this one has %d.", MaxIPRanges, len(arr))
	}
	out := make([]any, len(arr))
	for i, x := range arr {
		ip := fmt.Sprintf("%s[%d]", p, i)
		m, ok := x.(map[string]any)
		if !ok {
			return nil, invalid(ip, "Invalid value for '%s': expected an object with '@odata.type' and 'cidrAddress'.", ip)
		}
		for k := range m {
			if k != "@odata.type" && k != "cidrAddress" {
				return nil, invalid(ip+"."+clip(k), "Property '%s' does not exist on type 'microsoft.graph.ipRange'.", clip(k))
			}
		}
		typ, _ := m["@odata.type"].(string)
		typ = "#" + strings.TrimPrefix(typ, "#")
		if typ != ipv4RangeType && typ != ipv6RangeType {
			return nil, invalid(ip+".@odata.type", "Each IP range needs '@odata.type' '%s' or '%s' ('%s').", ipv4RangeType, ipv6RangeType, ip)
		}
		cidr, ok := m["cidrAddress"].(string)
		if !ok || cidr == "" {
			return nil, invalid(ip+".cidrAddress", "Property '%s.cidrAddress' is required (a CIDR range such as 203.0.113.0/24).", ip)
		}
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, invalid(ip+".cidrAddress", "'%s' in '%s' is not a CIDR range such as 203.0.113.0/24 or 2001:db8::/48.", clip(cidr), ip)
		}
		is4 := pfx.Addr().Is4()
		switch {
		case typ == ipv4RangeType && !is4:
			return nil, invalid(ip+".cidrAddress", "'%s' in '%s' is not an IPv4 range; use '%s' for IPv6.", clip(cidr), ip, ipv6RangeType)
		case typ == ipv6RangeType && (is4 || pfx.Addr().Is4In6()):
			return nil, invalid(ip+".cidrAddress", "'%s' in '%s' is not an IPv6 range; use '%s' for IPv4.", clip(cidr), ip, ipv4RangeType)
		case pfx.Bits() < MinPrefixLength:
			return nil, invalid(ip+".cidrAddress", "'%s' in '%s' is too wide: the mask must be longer than /8.", clip(cidr), ip)
		case pfx.Masked() != pfx:
			return nil, invalid(ip+".cidrAddress", "'%s' in '%s' has host bits set; the range is %s.", clip(cidr), ip, pfx.Masked())
		}
		out[i] = map[string]any{"@odata.type": typ, "cidrAddress": pfx.String()}
	}
	return out, nil
}

// conflict is a 409.
func conflict(format string, args ...any) error {
	return apperr.Conflictf(format, args...)
}
