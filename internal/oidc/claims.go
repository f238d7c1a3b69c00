package oidc

import (
	"slices"
	"time"
)

// The acr values vakt issues and accepts in acr_values, weakest first.
// docs/oidc.md documents them for app developers.
const (
	// ACRSingleFactor: one factor (a password, or a pass that counts as
	// one).
	ACRSingleFactor = "urn:vakt:acr:sfa"
	// ACRMFA: two factors.
	ACRMFA = "urn:vakt:acr:mfa"
	// ACRPhishingResistant: two factors, one of them a FIDO2 security key
	// or passkey bound to the origin.
	ACRPhishingResistant = "urn:vakt:acr:phr"
)

// rfc8176 are the amr values vakt may put in a token (RFC 8176 §2).
var rfc8176 = []string{"pwd", "mfa", "otp", "sms", "tel", "hwk", "swk", "pin", "user"}

// AMR turns a session's recorded methods into the token's amr claim:
// registered values only, each once, with "mfa" when a second factor was
// passed (mfaAt set) even if the methods did not say so.
func AMR(methods []string, mfa bool) []string {
	out := make([]string, 0, len(methods)+1)
	for _, m := range methods {
		if slices.Contains(rfc8176, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if mfa && !slices.Contains(out, "mfa") {
		out = append(out, "mfa")
	}
	return out
}

// ACR says how strong a sign-in with these amr values was.
func ACR(amr []string) string {
	switch {
	case slices.Contains(amr, "mfa") && slices.Contains(amr, "hwk"):
		return ACRPhishingResistant
	case slices.Contains(amr, "mfa"):
		return ACRMFA
	}
	return ACRSingleFactor
}

// acrRank orders the acr values; unknown values rank 0 (not asked for).
func acrRank(v string) int {
	switch v {
	case ACRSingleFactor:
		return 1
	case ACRMFA, "mfa":
		return 2
	case ACRPhishingResistant:
		return 3
	}
	return 0
}

// wantsMFA: acr_values name an MFA level. OpenID Connect makes acr_values
// a voluntary request; vakt honours the lowest MFA level it recognises
// and reports what was achieved in acr.
func wantsMFA(acrValues []string) bool {
	for _, v := range acrValues {
		if acrRank(v) >= 2 {
			return true
		}
	}
	return false
}

// SessionFacts is what the login decision knows of the browser's session.
type SessionFacts struct {
	Present bool
	AuthAt  time.Time // last primary authentication
	MFA     bool      // a second factor was passed in this session
}

// RequestFacts is what the login decision knows of the authorization
// request.
type RequestFacts struct {
	CreatedAt   time.Time
	PromptLogin bool
	PromptNone  bool
	MaxAge      *uint // seconds; nil when not asked
	ACRValues   []string
}

// Next is where the login endpoint sends the browser.
type Next int

const (
	// Complete: the session is good enough; finish the request.
	Complete Next = iota
	// SignIn: no usable session; send the user to sign in.
	SignIn
	// ReAuthenticate: prompt=login or max_age passed; sign in again.
	ReAuthenticate
	// StepUp: the session lacks the second factor the app asked for.
	StepUp
	// LoginRequired: prompt=none but the user would have to interact.
	LoginRequired
)

// Decide is the login decision: pure, from the session, the request and
// now. A sign-in made after the request satisfies prompt=login and any
// max_age (even 0), so that coming back from the sign-in page completes
// instead of looping.
func Decide(s SessionFacts, r RequestFacts, now time.Time) Next {
	next := Complete
	fresh := !s.AuthAt.Before(r.CreatedAt)
	tooOld := r.MaxAge != nil && now.Sub(s.AuthAt) > time.Duration(*r.MaxAge)*time.Second
	switch {
	case !s.Present:
		next = SignIn
	case (r.PromptLogin || tooOld) && !fresh:
		next = ReAuthenticate
	case wantsMFA(r.ACRValues) && !s.MFA:
		next = StepUp
	}
	if next != Complete && r.PromptNone {
		return LoginRequired
	}
	return next
}
