package ca

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/policy"
)

// Set is a tenant's compiled policies and named locations. It is
// immutable and safe for concurrent use; build a new one when a policy or
// location changes.
type Set struct {
	policies []compiled
	locs     []location
	trusted  ipTable

	// Interned ids: users, groups and roles share one index space (the
	// bits of the per-call membership set); apps have their own.
	users, groups, roles map[string]int32
	nmemb                int
	apps                 map[string]int32

	needsCountry bool
}

type location struct {
	id        string
	kind      LocationKind
	ips       ipTable
	trusted   bool
	countries [11]uint64 // 676 bits, one per two-letter code
	unknown   bool
}

type compiled struct {
	id, name   string
	state      State
	enforced   bool
	reportOnly bool

	usersAll, incGuests, excGuests bool
	inc, exc                       []int32

	appsAll          bool
	appsInc, appsExc []int32
	actions          uint8

	clients uint8 // 0: any client

	locCond, locAll, locAllTrusted, excAllTrusted bool
	locInc, locExc                                []int32

	platCond, platIncAll bool
	platInc, platExc     uint16

	dev        *DeviceRule
	devExclude bool

	signInRisk, userRisk uint8 // 0: any level

	hasGrant     bool
	grant        policy.Grant
	grantNames   []string
	sessionNames []string
	freq         time.Duration
	everyTime    bool
	persistent   string
}

// Compile validates the policies and named locations and builds a Set.
// Any invalid policy or location, a duplicate location id or a reference
// to an unknown location is an error (all of them are reported, joined):
// the admin API validates on write, so a failure here means the stored
// configuration is broken, and a Set that silently skipped a policy would
// enforce less than the administrator asked for.
func Compile(policies []Policy, locations []NamedLocation) (*Set, error) {
	s := &Set{
		users: map[string]int32{}, groups: map[string]int32{}, roles: map[string]int32{},
		apps: map[string]int32{},
	}
	var errs []error
	locIdx := make(map[string]int32, len(locations))
	for i := range locations {
		l := &locations[i]
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("named location %q (%s): %w", l.DisplayName, l.ID, err))
			continue
		}
		id := strings.ToLower(l.ID)
		if id == "" {
			errs = append(errs, fmt.Errorf("named location %q has no id", l.DisplayName))
			continue
		}
		if _, dup := locIdx[id]; dup {
			errs = append(errs, fmt.Errorf("named location id %s is used twice", l.ID))
			continue
		}
		cl := location{id: id, kind: l.Kind(), trusted: l.IsTrusted, unknown: l.IncludeUnknownCountriesAndRegions}
		for _, r := range l.IPRanges {
			p, _ := r.Prefix() // validated above
			cl.ips.add(p)
		}
		cl.ips.finish()
		for _, c := range l.CountriesAndRegions {
			k := countryIndex(c)
			cl.countries[k/64] |= 1 << (k % 64)
		}
		if cl.kind == LocationCountry {
			s.needsCountry = true
		}
		if cl.trusted {
			s.trusted.merge(&cl.ips)
		}
		locIdx[id] = int32(len(s.locs))
		s.locs = append(s.locs, cl)
	}
	s.trusted.finish()

	for i := range policies {
		p := &policies[i]
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("policy %q (%s): %w", p.DisplayName, p.ID, err))
			continue
		}
		c, err := s.compile(p, locIdx)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %q (%s): %w", p.DisplayName, p.ID, err))
			continue
		}
		s.policies = append(s.policies, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Len is the number of policies in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.policies)
}

// NeedsCountry reports whether any named location is a country location,
// so that a caller can skip the country lookup when none is.
func (s *Set) NeedsCountry() bool { return s != nil && s.needsCountry }

func intern(m map[string]int32, next *int, id string) int32 {
	id = strings.ToLower(id)
	if v, ok := m[id]; ok {
		return v
	}
	v := int32(*next)
	*next++
	m[id] = v
	return v
}

func (s *Set) compile(p *Policy, locIdx map[string]int32) (compiled, error) {
	c := compiled{id: p.ID, name: p.DisplayName, state: p.State,
		enforced: p.State == StateEnabled, reportOnly: p.State == StateReportOnly}
	cond := &p.Conditions

	u := cond.Users
	for _, v := range u.IncludeUsers {
		switch {
		case eqFold(v, All):
			c.usersAll = true
		case eqFold(v, None):
		case eqFold(v, GuestsOrExternalUsers):
			c.incGuests = true
		default:
			c.inc = append(c.inc, intern(s.users, &s.nmemb, v))
		}
	}
	for _, v := range u.ExcludeUsers {
		if eqFold(v, GuestsOrExternalUsers) {
			c.excGuests = true
		} else {
			c.exc = append(c.exc, intern(s.users, &s.nmemb, v))
		}
	}
	for _, v := range u.IncludeGroups {
		c.inc = append(c.inc, intern(s.groups, &s.nmemb, v))
	}
	for _, v := range u.ExcludeGroups {
		c.exc = append(c.exc, intern(s.groups, &s.nmemb, v))
	}
	for _, v := range u.IncludeRoles {
		c.inc = append(c.inc, intern(s.roles, &s.nmemb, v))
	}
	for _, v := range u.ExcludeRoles {
		c.exc = append(c.exc, intern(s.roles, &s.nmemb, v))
	}

	a := cond.Applications
	napps := len(s.apps)
	appRefs := func(list []string) []int32 {
		var out []int32
		for _, v := range list {
			switch {
			case eqFold(v, All):
				c.appsAll = true
			case eqFold(v, None), eqFold(v, Office365):
				// None matches nothing; no vakt application is part of
				// Office 365.
			case eqFold(v, MicrosoftAdminPortals):
				out = append(out, intern(s.apps, &napps, AdminPortalAppID))
			default:
				out = append(out, intern(s.apps, &napps, v))
			}
		}
		return out
	}
	c.appsInc = appRefs(a.IncludeApplications)
	c.appsExc = appRefs(a.ExcludeApplications)
	for _, v := range a.IncludeUserActions {
		c.actions |= userActions[strings.ToLower(v)]
	}

	for _, v := range cond.ClientAppTypes {
		c.clients |= clientAppTypes[strings.ToLower(v)]
	}
	if c.clients == clientAll {
		c.clients = 0
	}

	if l := cond.Locations; l != nil && len(l.IncludeLocations) > 0 {
		c.locCond = true
		refs := func(list []string, field string) ([]int32, error) {
			var out []int32
			for _, v := range list {
				switch {
				case eqFold(v, All):
					c.locAll = true
				case eqFold(v, AllTrusted):
					if field == "includeLocations" {
						c.locAllTrusted = true
					} else {
						c.excAllTrusted = true
					}
				default:
					i, ok := locIdx[strings.ToLower(v)]
					if !ok {
						return nil, &FieldError{Field: "conditions.locations." + field, Message: fmt.Sprintf("no named location has the id %s", v)}
					}
					out = append(out, i)
				}
			}
			return out, nil
		}
		var err error
		if c.locInc, err = refs(l.IncludeLocations, "includeLocations"); err != nil {
			return c, err
		}
		if c.locExc, err = refs(l.ExcludeLocations, "excludeLocations"); err != nil {
			return c, err
		}
	}

	if pl := cond.Platforms; pl != nil && len(pl.IncludePlatforms) > 0 {
		c.platCond = true
		for _, v := range pl.IncludePlatforms {
			b := platformBits[strings.ToLower(v)]
			if b == platformAll {
				c.platIncAll = true
			}
			c.platInc |= b
		}
		for _, v := range pl.ExcludePlatforms {
			c.platExc |= platformBits[strings.ToLower(v)]
		}
	}

	if d := cond.Devices; d != nil && d.DeviceFilter != nil {
		r, err := ParseDeviceRule(d.DeviceFilter.Rule)
		if err != nil { // validated above
			return c, err
		}
		c.dev, c.devExclude = r, eqFold(d.DeviceFilter.Mode, "exclude")
	}

	for _, v := range cond.SignInRiskLevels {
		c.signInRisk |= riskBits[strings.ToLower(v)]
	}
	for _, v := range cond.UserRiskLevels {
		c.userRisk |= riskBits[strings.ToLower(v)]
	}

	if g := p.GrantControls; g != nil && len(g.BuiltInControls)+btoi(g.AuthenticationStrength != nil) > 0 {
		c.hasGrant = true
		c.grant = policy.Grant{PolicyID: p.ID, Or: strings.EqualFold(g.Operator, "OR")}
		add := func(name string) {
			for _, n := range c.grantNames {
				if n == name {
					return
				}
			}
			c.grantNames = append(c.grantNames, name)
		}
		for _, v := range g.BuiltInControls {
			switch strings.ToLower(v) {
			case "block":
				c.grant.Block = true
				add("Block")
			case "mfa":
				c.grant.MFA = true
				add("Mfa")
			case "compliantdevice":
				c.grant.Compliant = true
				add("RequireCompliantDevice")
			case "passwordchange":
				c.grant.PasswordChange = true
				add("PasswordChange")
			}
		}
		if st := g.AuthenticationStrength; st != nil {
			switch strings.ToLower(st.ID) {
			case StrengthMFAID:
				c.grant.Strength = policy.StrengthMFA
			case StrengthPasswordlessID:
				c.grant.Strength = policy.StrengthPasswordless
			case StrengthPhishingResistantID:
				c.grant.Strength = policy.StrengthPhishingResistant
			}
			add("AuthenticationStrength")
		}
		if len(c.grantNames) == 1 {
			// With one control AND and OR mean the same.
			c.grant.Or = false
		}
		c.grantNames = c.grantNames[:len(c.grantNames):len(c.grantNames)]
	}
	if sc := p.SessionControls; sc != nil {
		if f := sc.SignInFrequency; f != nil && f.IsEnabled {
			c.sessionNames = append(c.sessionNames, "SignInFrequency")
			if eqFold(f.FrequencyInterval, "everyTime") {
				c.everyTime = true
			} else if eqFold(f.Type, "days") {
				c.freq = time.Duration(f.Value) * 24 * time.Hour
			} else {
				c.freq = time.Duration(f.Value) * time.Hour
			}
		}
		if b := sc.PersistentBrowser; b != nil && b.IsEnabled {
			c.sessionNames = append(c.sessionNames, "PersistentBrowserSessionMode")
			c.persistent = strings.ToLower(b.Mode)
		}
		c.sessionNames = c.sessionNames[:len(c.sessionNames):len(c.sessionNames)]
	}
	if c.grantNames == nil {
		c.grantNames = []string{}
	}
	if c.sessionNames == nil {
		c.sessionNames = []string{}
	}
	return c, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
