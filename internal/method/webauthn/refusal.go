package webauthn

import (
	"errors"
	"fmt"
)

// Refusal is a ceremony refused for a reason the sign-in log and the
// operator should see: Reason is a stable code (originMismatch, …),
// Detail the specifics for the log, Message what the user may be told.
// None of them hold secrets.
type Refusal struct {
	Reason  string
	Detail  string
	Message string
	Err     error
}

func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "webauthn: " + r.Reason
	}
	return "webauthn: " + r.Reason + ": " + r.Detail
}

func (r *Refusal) Unwrap() error { return r.Err }

// AsRefusal finds a Refusal in err's chain.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// Reasons for refusing a ceremony's answer.
const (
	ReasonMalformed          = "malformed"
	ReasonWrongCeremony      = "wrongCeremonyType"
	ReasonChallengeMismatch  = "challengeMismatch"
	ReasonOriginMismatch     = "originMismatch"
	ReasonRPIDMismatch       = "rpIdMismatch"
	ReasonUserNotPresent     = "userNotPresent"
	ReasonUserNotVerified    = "userNotVerified"
	ReasonExpired            = "ceremonyExpired"
	ReasonUnknownCredential  = "unknownCredential"
	ReasonCounterRegressed   = "signCounterRegressed"
	ReasonVerificationFailed = "verificationFailed"
)

const msgGeneric = "Your security key or passkey could not be verified. Try again."

func refuse(reason, detail, message string) *Refusal {
	if message == "" {
		message = msgGeneric
	}
	return &Refusal{Reason: reason, Detail: detail, Message: message}
}

func refusef(reason string, err error, format string, args ...any) *Refusal {
	r := refuse(reason, fmt.Sprintf(format, args...), "")
	r.Err = err
	return r
}
