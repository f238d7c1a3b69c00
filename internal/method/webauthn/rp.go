// Package webauthn is vakt's thin adapter over github.com/go-webauthn/webauthn
// for security keys and passkeys (FIDO2, PRODUCT.md P-2): it fixes the
// relying party from the public URL, asks for user verification on every
// ceremony, turns a verified registration into the record vakt stores
// (store.Fido2Props) and back, applies the tenant's key policy (attestation,
// AAGUID allow or block lists) and names why a ceremony was refused, so the
// sign-in log can say it. It keeps no state: callers store the Ceremony
// server-side between begin and finish and use it once.
package webauthn

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	gowa "github.com/go-webauthn/webauthn/webauthn"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/vakt-id/vakt/internal/store"
)

// CeremonyTTL bounds a ceremony: the browser's own timeout, and how long
// the server keeps its challenge.
const CeremonyTTL = 5 * time.Minute

// MaxResponseBytes bounds a browser's answer to a ceremony. Attestation
// statements with certificate chains are a few kilobytes; anything near
// this is not a credential.
const MaxResponseBytes = 32 << 10

// RP is vakt as a WebAuthn relying party: its id is the public URL's host
// and the only origin it accepts is the public URL's origin.
type RP struct {
	ID     string
	Origin string
	wa     *gowa.WebAuthn
}

// New derives the relying party from the public URL. Browsers refuse an IP
// address as relying party id, so such a URL gives an error (security keys
// then stay unavailable; use a host name, e.g. localhost, in development).
func New(publicURL, displayName string) (*RP, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, fmt.Errorf("webauthn: public URL %q is not an http(s) URL", publicURL)
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return nil, fmt.Errorf("webauthn: the public URL's host %s is an IP address, which browsers refuse as a relying party id; use a DNS name", host)
	}
	if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		// Browsers only run WebAuthn in a secure context.
		return nil, fmt.Errorf("webauthn: the public URL must use https (plain http works only for localhost)")
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	if displayName == "" {
		displayName = "vakt"
	}
	w, err := gowa.New(&gowa.Config{
		RPID:                  host,
		RPDisplayName:         displayName,
		RPOrigins:             []string{origin},
		AttestationPreference: protocol.PreferDirectAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: gowa.TimeoutsConfig{
			Login:        gowa.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: gowa.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &RP{ID: host, Origin: origin, wa: w}, nil
}

// User is the account a ceremony is for. Handle is the WebAuthn user
// handle: the user's id, which a passkey hands back at sign-in.
type User struct {
	Handle      []byte
	Name        string // the UPN
	DisplayName string
	Credentials []Stored
}

// Stored is one registered credential: the method's id, its record and
// its sign counter (the method's LastStep).
type Stored struct {
	MethodID string
	Props    store.Fido2Props
	Counter  uint32
}

// waUser adapts User to go-webauthn.
type waUser struct {
	u     User
	creds []gowa.Credential
}

func (w waUser) WebAuthnID() []byte                     { return w.u.Handle }
func (w waUser) WebAuthnName() string                   { return w.u.Name }
func (w waUser) WebAuthnDisplayName() string            { return w.u.DisplayName }
func (w waUser) WebAuthnCredentials() []gowa.Credential { return w.creds }

func adapt(u User) (waUser, error) {
	w := waUser{u: u}
	for _, s := range u.Credentials {
		c, err := credentialOf(s.Props, s.Counter)
		if err != nil {
			return w, err
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
}

// Ceremony is what the server keeps between begin and finish: the
// challenge and its parameters (go-webauthn's session data), the options
// sent to the browser (so a reloaded page can show them again) and when it
// expires. It must be used at most once.
type Ceremony struct {
	Session gowa.SessionData `json:"session"`
	Options json.RawMessage  `json:"options"` // the publicKey member of navigator.credentials.create/get
	Expires time.Time        `json:"expires"`
	// Passkey: a registration asked for a discoverable credential.
	Passkey bool `json:"passkey,omitempty"`
}

// Expired reports whether the ceremony is past its time at now.
func (c Ceremony) Expired(now time.Time) bool { return !now.Before(c.Expires) }

// BeginRegistration starts registering a passkey (discoverable, for
// sign-in without a user name) or a security key (non-discoverable, a
// second factor). The user's existing credentials are excluded, so an
// authenticator is not registered twice.
func (rp *RP) BeginRegistration(u User, passkey bool, now time.Time) (Ceremony, error) {
	w, err := adapt(u)
	if err != nil {
		return Ceremony{}, err
	}
	rk := protocol.ResidentKeyRequirementDiscouraged
	if passkey {
		rk = protocol.ResidentKeyRequirementRequired
	}
	opts := []gowa.RegistrationOption{
		gowa.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationRequired}),
		gowa.WithResidentKeyRequirement(rk),
		gowa.WithConveyancePreference(protocol.PreferDirectAttestation),
	}
	if len(w.creds) > 0 {
		opts = append(opts, gowa.WithExclusions(gowa.Credentials(w.creds).CredentialDescriptors()))
	}
	creation, session, err := rp.wa.BeginRegistration(w, opts...)
	if err != nil {
		return Ceremony{}, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	raw, err := json.Marshal(creation.Response)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Session: *session, Options: raw, Expires: now.Add(CeremonyTTL), Passkey: passkey}, nil
}

// BeginLogin starts an assertion. For a known user it is a second factor
// (allowCredentials lists the user's credentials); for nil, a passkey
// sign-in where the authenticator offers its discoverable credentials and
// the answer's user handle names the user.
func (rp *RP) BeginLogin(u *User, now time.Time) (Ceremony, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *gowa.SessionData
		err       error
	)
	if u == nil {
		assertion, session, err = rp.wa.BeginDiscoverableLogin()
	} else {
		var w waUser
		if w, err = adapt(*u); err != nil {
			return Ceremony{}, err
		}
		assertion, session, err = rp.wa.BeginLogin(w)
	}
	if err != nil {
		return Ceremony{}, fmt.Errorf("webauthn: begin login: %w", err)
	}
	raw, err := json.Marshal(assertion.Response)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Session: *session, Options: raw, Expires: now.Add(CeremonyTTL)}, nil
}
