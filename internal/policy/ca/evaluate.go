package ca

import (
	"net/netip"
	"time"

	"github.com/vakt-id/vakt/internal/policy"
)

// Input is one sign-in (or a What If question) as conditional access sees
// it.
type Input struct {
	UserID string
	// Groups are the user's group ids, transitive (nested groups
	// included).
	Groups []string
	// Roles are the template ids of the user's directory roles.
	Roles []string
	// Guest: the user is a guest or external user.
	Guest bool
	// AppID is the application signed in to ("" for vakt's own pages).
	AppID string
	// AdminSurface: the sign-in is for vakt's admin tools; it matches
	// MicrosoftAdminPortals (AdminPortalAppID) whatever AppID says.
	AdminSurface bool
	// UserAction is a user action (UserActionRegisterSecurityInfo,
	// UserActionRegisterDevice) or "". Policies that target user actions
	// apply only when it is one of theirs; policies that target
	// applications apply by AppID either way.
	UserAction string
	// Client is the client app type; "" counts as a browser.
	Client policy.ClientApp
	// IP is the client's address; the zero Addr matches no IP location.
	IP netip.Addr
	// Country is the ISO 3166 alpha-2 code of IP, "" when unknown (see
	// LookupCountry).
	Country string
	// Platform: android, iOS, windows, windowsPhone, macOS, linux (any
	// case), or "" when unknown.
	Platform string
	// Compliant and TrustType describe the device for device filters.
	Compliant bool
	TrustType string
	// SignInRisk and UserRisk are the current risk levels (P-8).
	SignInRisk, UserRisk policy.Level
}

// CountryLookup resolves an IP address to an ISO 3166 alpha-2 country.
// internal/policy/ca/geoip provides one backed by a MaxMind database.
type CountryLookup interface {
	Country(ip netip.Addr) (iso string, ok bool)
}

// LookupCountry returns the country of ip, or "" when l is nil, ip is not
// valid or the country is unknown.
func LookupCountry(l CountryLookup, ip netip.Addr) string {
	if l == nil || !ip.IsValid() {
		return ""
	}
	iso, ok := l.Country(ip)
	if !ok || countryIndex(iso) < 0 {
		return ""
	}
	return iso
}

// Conditions that can fail, as Result.FailedCondition names them.
const (
	FailedState               = "state"
	FailedUsers               = "users"
	FailedUsersExcluded       = "users.excluded"
	FailedApplications        = "applications"
	FailedApplicationsExclude = "applications.excluded"
	FailedUserActions         = "userActions"
	FailedClientAppTypes      = "clientAppTypes"
	FailedLocations           = "locations"
	FailedLocationsExcluded   = "locations.excluded"
	FailedPlatforms           = "platforms"
	FailedPlatformsExcluded   = "platforms.excluded"
	FailedDevices             = "devices"
	FailedSignInRisk          = "signInRiskLevels"
	FailedUserRisk            = "userRiskLevels"
)

// Result is one policy's result for a sign-in.
type Result struct {
	PolicyID    string
	DisplayName string
	State       State
	// Applied: every condition matched (also for report-only policies).
	Applied bool
	// ReportOnly: the policy is enabledForReportingButNotEnforced; it
	// never adds grants or session controls to the Outcome.
	ReportOnly bool
	// FailedCondition names the first condition that did not match (the
	// Failed… constants), "" when the policy applied. Conditions are
	// checked in the order users, applications or user actions, client
	// app types, locations, platforms, devices, sign-in risk, user risk;
	// a disabled policy is not evaluated and says FailedState.
	FailedCondition string
	// Grant is the policy's grant controls (zero when it has none).
	Grant policy.Grant
	// GrantControls and SessionControls are the policy's controls in the
	// spelling of the sign-in log (Block, Mfa, RequireCompliantDevice,
	// PasswordChange, AuthenticationStrength; SignInFrequency,
	// PersistentBrowserSessionMode). They are shared with the Set: do not
	// modify them.
	GrantControls   []string
	SessionControls []string
}

// Outcome is what the enforced policies that applied ask of the sign-in.
type Outcome struct {
	// Grants of the enforced policies that applied and have grant
	// controls, for policy.Decide.
	Grants []policy.Grant
	// Block: one of those grants blocks.
	Block bool
	// SignInFrequency is the shortest time-based sign-in frequency (0:
	// none); SignInEveryTime: a policy asks for a fresh sign-in every
	// time, which is stricter than any period.
	SignInFrequency time.Duration
	SignInEveryTime bool
	// PersistentBrowser: "" (no control), "always" or "never"; never wins.
	PersistentBrowser string
}

// Evaluate evaluates every policy for in. It reuses results (pass the
// previous call's slice, or nil) and returns it with one entry per policy
// in the Set's order. It allocates nothing per policy: at most the
// results slice when its capacity is too small and the Outcome's grant
// slice when a grant applies (see EvaluateTo to avoid that too).
func (s *Set) Evaluate(in Input, results []Result) (Outcome, []Result) {
	return s.EvaluateTo(in, results, nil)
}

// EvaluateTo is Evaluate with the Outcome's grants appended to grants[:0],
// so a caller that keeps both buffers evaluates without allocating.
func (s *Set) EvaluateTo(in Input, results []Result, grants []policy.Grant) (Outcome, []Result) {
	out := Outcome{Grants: grants[:0]}
	results = results[:0]
	if s == nil || len(s.policies) == 0 {
		return out, results
	}
	if cap(results) < len(s.policies) {
		results = make([]Result, 0, len(s.policies))
	}

	var st evalState
	// Membership: one bit per interned user, group and role id, set for
	// the user's own; the buffers cover typical tenants on the stack.
	var membBuf [64]uint64
	var locBuf [16]uint64
	if n := (s.nmemb + 63) / 64; n > len(membBuf) {
		st.memb = make([]uint64, n)
	} else {
		st.memb = membBuf[:n]
	}
	if n := (len(s.locs) + 63) / 64; 2*n > len(locBuf) {
		st.locKnown, st.locHit = make([]uint64, n), make([]uint64, n)
	} else {
		st.locKnown, st.locHit = locBuf[:n], locBuf[n:2*n]
	}
	s.prepare(&st, &in)
	nGrants := 0

	for i := range s.policies {
		p := &s.policies[i]
		results = append(results, Result{PolicyID: p.id, DisplayName: p.name, State: p.state, ReportOnly: p.reportOnly,
			Grant: p.grant, GrantControls: p.grantNames, SessionControls: p.sessionNames})
		r := &results[len(results)-1]
		if !p.enforced && !p.reportOnly {
			r.FailedCondition = FailedState
			continue
		}
		r.FailedCondition = s.match(p, &st)
		r.Applied = r.FailedCondition == ""
		if !r.Applied || !p.enforced {
			continue
		}
		if p.hasGrant {
			nGrants++
			out.Block = out.Block || p.grant.Block
		}
		if p.everyTime {
			out.SignInEveryTime = true
		}
		if p.freq > 0 && (out.SignInFrequency == 0 || p.freq < out.SignInFrequency) {
			out.SignInFrequency = p.freq
		}
		if p.persistent == "never" || p.persistent == "always" && out.PersistentBrowser == "" {
			out.PersistentBrowser = p.persistent
		}
	}
	if nGrants > 0 {
		// Gathered afterwards, so that the grants take one allocation of
		// the right size when the caller's buffer is too small.
		if cap(out.Grants) < nGrants {
			out.Grants = make([]policy.Grant, 0, nGrants)
		}
		for i := range results {
			if r := &results[i]; r.Applied && !r.ReportOnly && s.policies[i].hasGrant {
				out.Grants = append(out.Grants, r.Grant)
			}
		}
	}
	return out, results
}

// evalState is what one evaluation knows about the sign-in, computed once
// and shared by every policy.
type evalState struct {
	memb             []uint64
	app              [2]int32
	napp             int
	locKnown, locHit []uint64
	ipKind           uint8 // 0 none, 4, 6
	ip4              uint32
	ip6              u128
	trusted          int8 // 0 not computed, 1 yes, -1 no
	country          int  // -1 unknown
	platform         uint16
	client           uint8
	action           uint8
	signInRisk       uint8
	userRisk         uint8
	guest            bool
	compliant        bool
	trustType        string
}

func (s *Set) prepare(st *evalState, in *Input) {
	if len(s.users) > 0 {
		if v, ok := lookupID(s.users, in.UserID); ok {
			setBit(st.memb, v)
		}
	}
	if len(s.groups) > 0 {
		for _, g := range in.Groups {
			if v, ok := lookupID(s.groups, g); ok {
				setBit(st.memb, v)
			}
		}
	}
	if len(s.roles) > 0 {
		for _, r := range in.Roles {
			if v, ok := lookupID(s.roles, r); ok {
				setBit(st.memb, v)
			}
		}
	}
	if v, ok := lookupID(s.apps, in.AppID); ok {
		st.app[st.napp] = v
		st.napp++
	}
	if in.AdminSurface && !eqFold(in.AppID, AdminPortalAppID) {
		if v, ok := s.apps[AdminPortalAppID]; ok {
			st.app[st.napp] = v
			st.napp++
		}
	}
	if ip := in.IP.Unmap(); ip.Is4() {
		st.ipKind, st.ip4 = 4, v4of(ip)
	} else if ip.Is6() {
		st.ipKind, st.ip6 = 6, v6of(ip)
	}
	st.country = countryIndex(in.Country)
	st.platform = platformOf(in.Platform)
	switch in.Client {
	case "", policy.ClientBrowser:
		st.client = clientBrowser
	case policy.ClientMobileDesktop:
		st.client = clientMobile
	case policy.ClientExchangeActiveSync:
		st.client = clientEAS
	case policy.ClientOther:
		st.client = clientOther
	}
	switch {
	case eqFold(in.UserAction, UserActionRegisterSecurityInfo):
		st.action = userActions[UserActionRegisterSecurityInfo]
	case eqFold(in.UserAction, UserActionRegisterDevice):
		st.action = userActions[UserActionRegisterDevice]
	}
	st.signInRisk, st.userRisk = riskBit(in.SignInRisk), riskBit(in.UserRisk)
	st.guest, st.compliant, st.trustType = in.Guest, in.Compliant, in.TrustType
}

// match returns the first condition of p that the sign-in does not meet,
// or "".
func (s *Set) match(p *compiled, st *evalState) string {
	if !p.usersAll && !(p.incGuests && st.guest) && !anyBit(st.memb, p.inc) {
		return FailedUsers
	}
	if p.excGuests && st.guest || anyBit(st.memb, p.exc) {
		return FailedUsersExcluded
	}
	if p.actions != 0 {
		if p.actions&st.action == 0 {
			return FailedUserActions
		}
	} else {
		if !p.appsAll && !st.appIn(p.appsInc) {
			return FailedApplications
		}
		if st.appIn(p.appsExc) {
			return FailedApplicationsExclude
		}
	}
	if p.clients != 0 && p.clients&st.client == 0 {
		return FailedClientAppTypes
	}
	if p.locCond {
		if !p.locAll && !(p.locAllTrusted && s.isTrusted(st)) && !s.anyLocation(st, p.locInc) {
			return FailedLocations
		}
		if p.excAllTrusted && s.isTrusted(st) || s.anyLocation(st, p.locExc) {
			return FailedLocationsExcluded
		}
	}
	if p.platCond {
		if !p.platIncAll && p.platInc&st.platform == 0 {
			return FailedPlatforms
		}
		if p.platExc&st.platform != 0 {
			return FailedPlatformsExcluded
		}
	}
	if p.dev != nil && p.dev.eval(p.dev.root, st.compliant, st.trustType) == p.devExclude {
		return FailedDevices
	}
	if p.signInRisk != 0 && p.signInRisk&st.signInRisk == 0 {
		return FailedSignInRisk
	}
	if p.userRisk != 0 && p.userRisk&st.userRisk == 0 {
		return FailedUserRisk
	}
	return ""
}

func (st *evalState) appIn(list []int32) bool {
	for _, v := range list {
		for _, a := range st.app[:st.napp] {
			if v == a {
				return true
			}
		}
	}
	return false
}

func (s *Set) isTrusted(st *evalState) bool {
	if st.trusted == 0 {
		st.trusted = -1
		if st.ipKind == 4 && s.trusted.has4(st.ip4) || st.ipKind == 6 && s.trusted.has6(st.ip6) {
			st.trusted = 1
		}
	}
	return st.trusted > 0
}

// anyLocation reports whether the sign-in is in any of the locations;
// each location is looked up at most once per evaluation.
func (s *Set) anyLocation(st *evalState, list []int32) bool {
	for _, i := range list {
		w, b := i/64, uint64(1)<<(i%64)
		if st.locKnown[w]&b == 0 {
			st.locKnown[w] |= b
			if s.locs[i].contains(st) {
				st.locHit[w] |= b
			}
		}
		if st.locHit[w]&b != 0 {
			return true
		}
	}
	return false
}

func (l *location) contains(st *evalState) bool {
	if l.kind == LocationCountry {
		if st.country < 0 {
			return l.unknown
		}
		return l.countries[st.country/64]&(1<<(st.country%64)) != 0
	}
	switch st.ipKind {
	case 4:
		return l.ips.has4(st.ip4)
	case 6:
		return l.ips.has6(st.ip6)
	}
	return false
}

func setBit(bits []uint64, i int32) { bits[i/64] |= 1 << (i % 64) }

func anyBit(bits []uint64, list []int32) bool {
	for _, i := range list {
		if bits[i/64]&(1<<(i%64)) != 0 {
			return true
		}
	}
	return false
}

// lookupID finds an id in a map of lower-cased ids without allocating.
func lookupID(m map[string]int32, id string) (int32, bool) {
	if v, ok := m[id]; ok {
		return v, true
	}
	if len(id) > 64 || !hasUpper(id) {
		return 0, false
	}
	var buf [64]byte
	b := buf[:len(id)]
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	v, ok := m[string(b)]
	return v, ok
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func platformOf(p string) uint16 {
	switch {
	case p == "":
		return 0
	case eqFold(p, "android"):
		return platAndroid
	case eqFold(p, "iOS"):
		return platIOS
	case eqFold(p, "windows"):
		return platWindows
	case eqFold(p, "windowsPhone"):
		return platWindowsPhone
	case eqFold(p, "macOS"):
		return platMacOS
	case eqFold(p, "linux"):
		return platLinux
	}
	return 0
}

func riskBit(l policy.Level) uint8 {
	switch {
	case l <= policy.RiskNone:
		return riskNone
	case l == policy.RiskLow:
		return riskLow
	case l == policy.RiskMedium:
		return riskMedium
	}
	return riskHigh
}
