package webauthn

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/protocol"
	gowa "github.com/go-webauthn/webauthn/webauthn"

	"github.com/vakt-id/vakt/internal/store"
)

// Registration is a verified registration, ready to store: the credential
// id (also its UniqueKey), the record and the initial sign counter.
type Registration struct {
	CredentialID []byte
	Props        store.Fido2Props
	Counter      uint32
}

// FinishRegistration verifies the browser's answer (a
// RegistrationResponseJSON) to a registration ceremony for u. The
// ceremony must already have been taken out of storage: it is good once.
func (rp *RP) FinishRegistration(u User, c Ceremony, body []byte, now time.Time) (Registration, error) {
	if c.Expired(now) {
		return Registration{}, refuse(ReasonExpired, "the registration was started more than "+CeremonyTTL.String()+" ago", "This registration has expired. Start again.")
	}
	parsed, err := parseCreation(body)
	if err != nil {
		return Registration{}, err
	}
	if err := rp.precheck(c.Session, parsed.Response.CollectedClientData, parsed.Response.AttestationObject.AuthData, protocol.CreateCeremony); err != nil {
		return Registration{}, err
	}
	w, err := adapt(u)
	if err != nil {
		return Registration{}, err
	}
	cred, err := rp.wa.CreateCredential(w, c.Session, parsed)
	if err != nil {
		return Registration{}, refusef(ReasonVerificationFailed, err, "%s", describe(err))
	}
	return Registration{CredentialID: cred.ID, Props: recordOf(cred, c.Passkey), Counter: cred.Authenticator.SignCount}, nil
}

// ParseRegistration parses an answer to a registration ceremony without
// verifying it; malformed input gives a Refusal with ReasonMalformed.
func ParseRegistration(body []byte) error {
	_, err := parseCreation(body)
	return err
}

// ParseAssertion parses an answer to an assertion ceremony without
// verifying it; malformed input gives a Refusal with ReasonMalformed.
func ParseAssertion(body []byte) error {
	_, err := parseAssertion(body)
	return err
}

func parseCreation(body []byte) (*protocol.ParsedCredentialCreationData, error) {
	return parse(body, "registration response", protocol.ParseCredentialCreationResponseBytes)
}

func parseAssertion(body []byte) (*protocol.ParsedCredentialAssertionData, error) {
	return parse(body, "assertion", protocol.ParseCredentialRequestResponseBytes)
}

// parse runs one of go-webauthn's parsers on a browser's answer; every
// failure is a malformed refusal.
func parse[T any](body []byte, what string, fn func([]byte) (*T, error)) (p *T, err error) {
	if len(body) == 0 || len(body) > MaxResponseBytes {
		return nil, refuse(ReasonMalformed, "empty or oversized "+what, "")
	}
	// go-webauthn parses CBOR from the network; a panic in it must not
	// take the request (or a fuzz run) down with it.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, refuse(ReasonMalformed, what+" could not be parsed", "")
		}
	}()
	if p, err = fn(body); err != nil {
		return nil, refusef(ReasonMalformed, err, "%s: %s", what, describe(err))
	}
	return p, nil
}

// precheck repeats, before go-webauthn's full verification, the checks
// whose failure an operator most needs named (the library reports them in
// free text): ceremony type, challenge, origin, relying party id, user
// presence and user verification.
func (rp *RP) precheck(s gowa.SessionData, cd protocol.CollectedClientData, ad protocol.AuthenticatorData, typ protocol.CeremonyType) error {
	if cd.Type != typ {
		return refuse(ReasonWrongCeremony, "client data type "+clip(string(cd.Type))+", expected "+string(typ), "")
	}
	if subtle.ConstantTimeCompare([]byte(cd.Challenge), []byte(s.Challenge)) != 1 {
		return refuse(ReasonChallengeMismatch, "the answer signs another challenge than this ceremony's", "")
	}
	if !strings.EqualFold(cd.Origin, rp.Origin) {
		return refuse(ReasonOriginMismatch, "origin "+clip(cd.Origin)+", expected "+rp.Origin, "")
	}
	want := sha256.Sum256([]byte(rp.ID))
	if !bytes.Equal(ad.RPIDHash, want[:]) {
		return refuse(ReasonRPIDMismatch, "the authenticator data is for another relying party id than "+rp.ID, "")
	}
	if !ad.Flags.UserPresent() {
		return refuse(ReasonUserNotPresent, "the authenticator did not report user presence (UP)", "")
	}
	if !ad.Flags.UserVerified() {
		return refuse(ReasonUserNotVerified, "the authenticator did not verify the user (UV: no PIN or biometric)",
			"Your security key or passkey must check your PIN or biometric. Set a PIN on the key and try again.")
	}
	return nil
}

// Assertion is a verified sign-in with a key.
type Assertion struct {
	MethodID string
	// UserHandle is the user handle the authenticator returned (passkeys).
	UserHandle  []byte
	Counter     uint32
	BackupState bool
}

// FindUser resolves the user of a passkey assertion from the credential
// id and the user handle the authenticator returned. It must check that
// the credential belongs to that user.
type FindUser func(credentialID, userHandle []byte) (User, error)

// FinishLogin verifies the browser's answer (an
// AuthenticationResponseJSON) to an assertion ceremony. For a second
// factor u is the user, whose credentials the ceremony listed; for a
// passkey sign-in u is nil and find names the user. The ceremony must
// already have been taken out of storage.
func (rp *RP) FinishLogin(c Ceremony, body []byte, u *User, find FindUser, now time.Time) (User, Assertion, error) {
	if c.Expired(now) {
		return User{}, Assertion{}, refuse(ReasonExpired, "the sign-in was started more than "+CeremonyTTL.String()+" ago", "This request has expired. Start again.")
	}
	parsed, err := parseAssertion(body)
	if err != nil {
		return User{}, Assertion{}, err
	}
	if err := rp.precheck(c.Session, parsed.Response.CollectedClientData, parsed.Response.AuthenticatorData, protocol.AssertCeremony); err != nil {
		return User{}, Assertion{}, err
	}
	var user User
	switch {
	case u != nil:
		user = *u
	case len(parsed.Response.UserHandle) == 0:
		return User{}, Assertion{}, refuse(ReasonUnknownCredential, "a sign-in without a user name needs a passkey, and the authenticator returned no user handle", "This security key holds no passkey for this site. Enter your user name first.")
	default:
		if user, err = find(parsed.RawID, parsed.Response.UserHandle); err != nil {
			if r, ok := AsRefusal(err); ok {
				return User{}, Assertion{}, r
			}
			return User{}, Assertion{}, err
		}
	}
	var stored *Stored
	for i := range user.Credentials {
		if id, err := b64.DecodeString(user.Credentials[i].Props.CredentialID); err == nil && bytes.Equal(id, parsed.RawID) {
			stored = &user.Credentials[i]
		}
	}
	if stored == nil {
		return User{}, Assertion{}, refuse(ReasonUnknownCredential, "the credential is not registered for this user (deleted, or another account's)",
			"This security key or passkey is not registered for your account.")
	}
	w, err := adapt(user)
	if err != nil {
		return User{}, Assertion{}, err
	}
	var cred *gowa.Credential
	if u != nil {
		cred, err = rp.wa.ValidateLogin(w, c.Session, parsed)
	} else {
		cred, err = rp.wa.ValidateDiscoverableLogin(func([]byte, []byte) (gowa.User, error) { return w, nil }, c.Session, parsed)
	}
	if err != nil {
		return User{}, Assertion{}, refusef(ReasonVerificationFailed, err, "%s", describe(err))
	}
	if cred.Authenticator.CloneWarning {
		return User{}, Assertion{}, refusef(ReasonCounterRegressed, nil, "sign counter %d is not above the stored %d: the key may have been cloned",
			parsed.Response.AuthenticatorData.Counter, stored.Counter)
	}
	return user, Assertion{MethodID: stored.MethodID, UserHandle: parsed.Response.UserHandle, Counter: cred.Authenticator.SignCount,
		BackupState: parsed.Response.AuthenticatorData.Flags.HasBackupState()}, nil
}

// describe gives go-webauthn's account of an error for the log.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		s := pe.Details
		if pe.DevInfo != "" {
			s += " (" + pe.DevInfo + ")"
		}
		return clip(s)
	}
	return clip(err.Error())
}

// clip keeps what the client sent printable and short in a log line.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
