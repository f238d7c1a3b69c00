package webauthn

import (
	"strings"

	"github.com/google/uuid"
)

// Policy is the tenant's FIDO2 method configuration (graph-api.md §1,
// fido2AuthenticationMethodConfiguration) as far as keys are concerned;
// whether the method is enabled for a user is the methods policy's
// business elsewhere.
type Policy struct {
	// SelfService: users may register keys themselves
	// (isSelfServiceRegistrationAllowed).
	SelfService bool
	// AttestationEnforced: a key must present a verified attestation
	// (isAttestationEnforced).
	AttestationEnforced bool
	// Restricted: the AAGUID list is enforced (keyRestrictions.isEnforced);
	// Allow makes it an allow list, otherwise a block list.
	Restricted bool
	Allow      bool
	AAGUIDs    []string
}

// Refusal reasons that the policy gives.
const (
	ReasonAttestationRequired = "attestationRequired"
	ReasonAAGUIDBlocked       = "aaguidBlocked"
	ReasonAAGUIDNotAllowed    = "aaguidNotAllowed"
)

// CheckRegistration refuses a key the policy does not let a user register.
func (p Policy) CheckRegistration(aaguid, attestationLevel string) error {
	if p.AttestationEnforced && attestationLevel != Attested {
		return refuse(ReasonAttestationRequired, "attestation is enforced and the key presented none that could be verified",
			"Your organisation requires a security key that proves its make and model. This key does not.")
	}
	return p.CheckUse(aaguid)
}

// CheckUse refuses a key whose make and model (AAGUID) the key
// restrictions exclude; it applies to keys registered before the
// restriction too.
func (p Policy) CheckUse(aaguid string) error {
	if !p.Restricted {
		return nil
	}
	listed := false
	for _, g := range p.AAGUIDs {
		if sameGUID(g, aaguid) {
			listed = true
			break
		}
	}
	switch {
	case p.Allow && !listed:
		return refuse(ReasonAAGUIDNotAllowed, "AAGUID "+aaguid+" is not on the allow list",
			"Your organisation does not allow this type of security key or passkey.")
	case !p.Allow && listed:
		return refuse(ReasonAAGUIDBlocked, "AAGUID "+aaguid+" is on the block list",
			"Your organisation does not allow this type of security key or passkey.")
	}
	return nil
}

func sameGUID(a, b string) bool {
	x, errA := uuid.Parse(strings.TrimSpace(a))
	y, errB := uuid.Parse(strings.TrimSpace(b))
	return errA == nil && errB == nil && x == y
}
