package push

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"time"
)

// Status is where a challenge stands. Pending is the only state that
// accepts an answer; every other state is final.
type Status string

const (
	Pending     Status = "pending"
	Approved    Status = "approved"
	Denied      Status = "denied"
	Reported    Status = "reported" // "this wasn't me"
	Expired     Status = "expired"
	WrongNumber Status = "wrongNumber"
)

// Final reports whether s is a final state.
func (s Status) Final() bool { return s != Pending }

// Valid reports whether s is a known state.
func (s Status) Valid() bool {
	switch s {
	case Pending, Approved, Denied, Reported, Expired, WrongNumber:
		return true
	}
	return false
}

// Errors of Answer.
var (
	// ErrAnswered: the challenge already has a final state (an answer is
	// single use).
	ErrAnswered = errors.New("push: the request was already answered or has expired")
	// ErrBadAnswer: the decision is unknown, or an approval carries no
	// number where the challenge asks for one (or one where it does not).
	ErrBadAnswer = errors.New("push: the answer must approve with the 2-digit number (none when the request shows no number), deny or report")
)

// Answer moves a pending challenge to its final state: an approval with
// the number shown at sign-in is Approved, with any other number
// WrongNumber (number matching: one try, so a guessing attacker gets one
// chance in ninety); deny and report end it as such. A challenge past its
// expiry is Expired whatever the answer.
//
// want 0 is a challenge without number matching (NoNumber: a RADIUS
// sign-in, where no page can show a number): it is approved with number
// 0 and nothing else, so an answer made for a numbered challenge never
// passes one without, nor the other way round.
func Answer(cur Status, expires, now time.Time, want int, d Decision, got int) (Status, error) {
	if cur != Pending {
		return cur, ErrAnswered
	}
	if !now.Before(expires) {
		return Expired, nil
	}
	switch d {
	case Approve:
		if want == NoNumber || got == NoNumber {
			if want != got {
				return cur, ErrBadAnswer
			}
			return Approved, nil
		}
		if !ValidNumber(got) {
			return cur, ErrBadAnswer
		}
		if subtle.ConstantTimeEq(int32(want), int32(got)) == 1 {
			return Approved, nil
		}
		return WrongNumber, nil
	case Deny:
		return Denied, nil
	case Report:
		return Reported, nil
	}
	return cur, ErrBadAnswer
}

// Current is the state of a challenge as of now: a pending challenge past
// its expiry is Expired even before anything records it.
func Current(s Status, expires, now time.Time) Status {
	if s == Pending && !now.Before(expires) {
		return Expired
	}
	return s
}

// MaxTTL bounds a challenge's lifetime whatever the configuration says.
const MaxTTL = 10 * time.Minute

// DefaultTTL is how long a challenge waits for an answer.
const DefaultTTL = 60 * time.Second

// ClampTTL applies the default and the bound to a configured lifetime.
func ClampTTL(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return DefaultTTL
	case d > MaxTTL:
		return MaxTTL
	}
	return d
}

// AnswerRequest is the body of a device's answer.
type AnswerRequest struct {
	ChallengeID string   `json:"challengeId"`
	Decision    Decision `json:"decision"`
	Number      int      `json:"number"`
	// Signature over AnswerBytes(ChallengeID, the challenge nonce, Number,
	// Decision).
	Signature string `json:"signature"`
}

// MaxAnswer bounds an answer body.
const MaxAnswer = 1024

// ParseAnswer reads and checks an answer body.
func ParseAnswer(body []byte) (AnswerRequest, error) {
	var a AnswerRequest
	if len(body) > MaxAnswer {
		return a, ErrBadAnswer
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, ErrBadAnswer
	}
	if !Token(a.ChallengeID, 64) || !a.Decision.Valid() || !Token(a.Signature, 128) {
		return a, ErrBadAnswer
	}
	if a.Decision == Approve && a.Number != NoNumber && !ValidNumber(a.Number) || a.Decision != Approve && a.Number != 0 {
		return a, ErrBadAnswer
	}
	return a, nil
}

// Challenge is what a device is shown of a pending challenge.
type Challenge struct {
	ID    string `json:"id"`
	Nonce string `json:"nonce"`
	// Purpose: "signin", or "test" for the test notification of a new
	// device.
	Purpose   string    `json:"purpose"`
	User      string    `json:"userPrincipalName"`
	App       string    `json:"app,omitempty"`
	Location  string    `json:"location,omitempty"`
	IP        string    `json:"ipAddress,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// NumberMatching: the user types the number shown at sign-in to
	// approve; false (a VPN sign-in over RADIUS) asks only approve or deny.
	NumberMatching bool `json:"numberMatching"`
}
