package capolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// Impact replay: evaluate one policy, as if it were enforced, against the
// sign-ins the log recorded over the last days, so that an administrator
// sees whom a policy would block or prompt before turning it on. It is
// the report-only state run backwards: every log entry is classified as
// the sign-in log classifies a report-only policy (ca.LogResults) when the
// sign-in is decided after the first factor.

// Replay limits.
const (
	ReplayDefaultDays = 7
	ReplayMaxDays     = 30
	// ReplaySampleSize is the most sample entries a replay returns.
	ReplaySampleSize = 20
	replayPage       = 500
)

// Replay results of one sign-in (ReplaySample.Result).
const (
	ReplayWouldBlock        = "wouldBlock"
	ReplayWouldRequireMFA   = "wouldRequireMfa"
	ReplayWouldRequireOther = "wouldRequireOther"
	ReplayWouldSucceed      = "wouldSucceed"
	ReplayNotApplied        = "notApplied"
)

// Sign-in log error codes of sign-ins that ended before conditional access
// was evaluated (internal/signin, internal/policy); replay skips them.
var replayBeforeCA = map[int]bool{
	50126: true, // invalid credentials
	50053: true, // account locked
	50057: true, // account disabled
}

// ReplayPolicy names the policy replayed.
type ReplayPolicy struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	State       string `json:"state"`
}

// ReplaySignIns counts log entries. Total is every entry evaluated:
// WouldBlock + WouldRequireMFA + WouldRequireOther + WouldSucceed +
// NotApplied. Skipped entries (no user, a user deleted since, or a
// sign-in that failed before conditional access) are not in Total.
type ReplaySignIns struct {
	Total int `json:"total"`
	// WouldBlock: the policy applies and the sign-in could not have met
	// it: a block control, a device that was not compliant where a
	// compliant one is required, or a prompt a legacy client cannot show
	// (the log's reportOnlyFailure).
	WouldBlock int `json:"wouldBlock"`
	// WouldRequireMFA: the policy applies and would have asked for a
	// second factor or an authentication strength (reportOnlyInterrupted).
	WouldRequireMFA int `json:"wouldRequireMfa"`
	// WouldRequireOther: the policy applies and would have asked for
	// something else the user can do there, a password change
	// (reportOnlyInterrupted without a second factor).
	WouldRequireOther int `json:"wouldRequireOther"`
	// WouldSucceed: the policy applies and asks nothing the sign-in did
	// not meet (no grant controls, or a compliant device where one of
	// several controls is one; reportOnlySuccess).
	WouldSucceed int `json:"wouldSucceed"`
	// NotApplied: a condition did not match (reportOnlyNotApplied).
	NotApplied int `json:"notApplied"`
	Skipped    int `json:"skipped"`
}

// ReplayUsers counts distinct users among the evaluated entries.
type ReplayUsers struct {
	Total           int `json:"total"`
	WouldBlock      int `json:"wouldBlock"`
	WouldRequireMFA int `json:"wouldRequireMfa"`
}

// ReplaySample is one affected sign-in.
type ReplaySample struct {
	SignInID          string    `json:"signInId"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	UserPrincipalName string    `json:"userPrincipalName"`
	AppID             string    `json:"appId"`
	IPAddress         string    `json:"ipAddress"`
	ClientAppUsed     string    `json:"clientAppUsed"`
	Result            string    `json:"result"`
}

// MarshalJSON writes empty strings as null, as the admin API does.
func (s ReplaySample) MarshalJSON() ([]byte, error) {
	type plain ReplaySample
	return nullEmpty(plain(s), "userPrincipalName", "appId", "ipAddress", "clientAppUsed")
}

// ReplayResult is a replay's answer.
type ReplayResult struct {
	Policy ReplayPolicy `json:"policy"`
	Days   int          `json:"days"`
	// From and To bound the sign-ins replayed (createdDateTime >= From).
	From    time.Time     `json:"fromDateTime"`
	To      time.Time     `json:"toDateTime"`
	SignIns ReplaySignIns `json:"signIns"`
	Users   ReplayUsers   `json:"users"`
	// Sample: up to ReplaySampleSize entries the policy applies to, those
	// it would block or prompt first, newest first within each.
	Sample []ReplaySample `json:"sample"`
}

// clientOfLog maps the sign-in log's clientAppUsed back to a client app
// type.
func clientOfLog(s string) policy.ClientApp {
	switch strings.ToLower(s) {
	case "mobile apps and desktop clients":
		return policy.ClientMobileDesktop
	case "exchange activesync":
		return policy.ClientExchangeActiveSync
	case "other clients":
		return policy.ClientOther
	}
	return policy.ClientBrowser
}

// Replay evaluates policy id against the tenant's sign-ins of the last
// days (0 means ReplayDefaultDays; 1 to ReplayMaxDays). Each entry is
// evaluated with its user's current groups and roles, and the entry's
// app, address (its recorded country, or the lookup's), client app,
// platform (from the user agent), device and sign-in risk. It does not
// authorize: callers check directory.ActionPolicyRead.
func (s *Service) Replay(ctx context.Context, tenantID, id string, days int) (ReplayResult, error) {
	if days == 0 {
		days = ReplayDefaultDays
	}
	if days < 1 || days > ReplayMaxDays {
		return ReplayResult{}, invalid("days", "'days' must be between 1 and %d.", ReplayMaxDays)
	}
	stored, err := s.Policy(ctx, tenantID, id)
	if err != nil {
		return ReplayResult{}, err
	}
	var p ca.Policy
	if err := json.Unmarshal(stored.Doc, &p); err != nil {
		return ReplayResult{}, fmt.Errorf("conditional access policy %s: %w", stored.ID, err)
	}
	_, _, ls, err := definitions(ctx, s.Store, tenantID)
	if err != nil {
		return ReplayResult{}, err
	}
	// Evaluated as report-only: it matches exactly as when enforced, and
	// its log result says what enforcing it would have done.
	p.State = ca.StateReportOnly
	set, err := ca.Compile([]ca.Policy{p}, ls)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("capolicy: policy %s does not compile: %w", stored.ID, err)
	}
	now := s.now()
	res := ReplayResult{Policy: ReplayPolicy{ID: stored.ID, DisplayName: stored.DisplayName, State: stored.State}, Days: days,
		From: now.Add(-time.Duration(days) * 24 * time.Hour), To: now, Sample: []ReplaySample{}}

	type userFacts struct {
		ok         bool
		sb         subject
		block, mfa bool
		counted    bool
	}
	users := map[string]*userFacts{}
	var results []ca.Result
	var prompts, others []ReplaySample
	filter := &store.Filter{Op: store.FilterGe, Field: "createdDateTime", Value: res.From.Format(time.RFC3339Nano)}
	q := store.ListQuery{Filter: filter, Limit: replayPage}
	for {
		if err := ctx.Err(); err != nil {
			return ReplayResult{}, err
		}
		page, err := s.Store.ListSignIns(ctx, tenantID, q)
		if err != nil {
			return ReplayResult{}, err
		}
		for i := range page.Items {
			e := &page.Items[i]
			if e.UserID == "" || replayBeforeCA[e.ErrorCode] {
				res.SignIns.Skipped++
				continue
			}
			uf := users[e.UserID]
			if uf == nil {
				uf = &userFacts{}
				users[e.UserID] = uf
				u, err := s.Store.GetUser(ctx, tenantID, e.UserID)
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					return ReplayResult{}, err
				default:
					if uf.sb, err = loadSubject(ctx, s.Store, tenantID, u); err != nil {
						return ReplayResult{}, err
					}
					uf.ok = true
				}
			}
			if !uf.ok {
				res.SignIns.Skipped++
				continue
			}
			in := uf.sb.input()
			in.AppID, in.Client, in.Platform = e.AppID, clientOfLog(e.ClientAppUsed), ca.PlatformFromUserAgent(e.UserAgent)
			in.AdminSurface = strings.EqualFold(e.AppID, ca.AdminPortalAppID)
			in.Compliant, in.TrustType = e.Device.IsCompliant, e.Device.TrustType
			in.SignInRisk = policy.ParseLevel(e.RiskLevelDuringSignIn)
			if ip, err := netip.ParseAddr(e.IPAddress); err == nil {
				in.IP = ip.Unmap()
			}
			if c := strings.ToUpper(e.Location.CountryOrRegion); isCountry(c) {
				in.Country = c
			} else if set.NeedsCountry() {
				in.Country = ca.LookupCountry(s.Country, in.IP)
			}
			_, results = set.Evaluate(in, results)
			req := policy.Request{Client: in.Client, AdminSurface: in.AdminSurface, Compliant: in.Compliant, SignInRisk: in.SignInRisk}
			logged := ca.LogResults(results, func(g policy.Grant) bool { return g.SatisfiedBy(req) }, !in.Client.Legacy())
			var outcome string
			switch logged[0].Result {
			case ca.ResultReportOnlyNotApplied:
				outcome = ReplayNotApplied
				res.SignIns.NotApplied++
			case ca.ResultReportOnlySuccess:
				outcome = ReplayWouldSucceed
				res.SignIns.WouldSucceed++
			case ca.ResultReportOnlyInterrupted:
				if grantStrength(results[0].Grant) > policy.StrengthNone {
					outcome = ReplayWouldRequireMFA
					res.SignIns.WouldRequireMFA++
					uf.mfa = true
				} else {
					outcome = ReplayWouldRequireOther
					res.SignIns.WouldRequireOther++
				}
			default:
				outcome = ReplayWouldBlock
				res.SignIns.WouldBlock++
				uf.block = true
			}
			res.SignIns.Total++
			uf.counted = true
			if outcome == ReplayNotApplied {
				continue
			}
			sample := ReplaySample{SignInID: e.ID, CreatedDateTime: e.CreatedAt, UserPrincipalName: e.UserPrincipalName,
				AppID: e.AppID, IPAddress: e.IPAddress, ClientAppUsed: e.ClientAppUsed, Result: outcome}
			if outcome == ReplayWouldSucceed {
				if len(others) < ReplaySampleSize {
					others = append(others, sample)
				}
			} else if len(prompts) < ReplaySampleSize {
				prompts = append(prompts, sample)
			}
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	for _, uf := range users {
		if !uf.counted {
			continue
		}
		res.Users.Total++
		if uf.block {
			res.Users.WouldBlock++
		}
		if uf.mfa {
			res.Users.WouldRequireMFA++
		}
	}
	res.Sample = append(res.Sample, prompts...)
	for _, o := range others {
		if len(res.Sample) == ReplaySampleSize {
			break
		}
		res.Sample = append(res.Sample, o)
	}
	return res, nil
}
