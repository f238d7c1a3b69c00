package webauthn

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	gowa "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
)

// Graph's attestationLevel values.
const (
	Attested    = "attested"
	NotAttested = "notAttested"
)

// UniqueKey is the method's unique key for a credential id: a credential
// is registered once per tenant, and a passkey's assertion finds its
// method through it.
func UniqueKey(credentialID []byte) string {
	return "fido2:" + base64.RawURLEncoding.EncodeToString(credentialID)
}

var b64 = base64.RawURLEncoding

// recordOf turns a credential go-webauthn verified at registration into
// what vakt stores.
func recordOf(c *gowa.Credential, passkey bool) store.Fido2Props {
	p := store.Fido2Props{
		CredentialID:       b64.EncodeToString(c.ID),
		PublicKey:          b64.EncodeToString(c.PublicKey),
		PublicKeyAlgorithm: c.Attestation.PublicKeyAlgorithm,
		AAGUID:             formatAAGUID(c.Authenticator.AAGUID),
		AttestationFormat:  c.AttestationFormat,
		AttestationType:    c.AttestationType,
		AttestationLevel:   attestationLevel(c.AttestationType),
		Discoverable:       passkey,
		UserVerified:       c.Flags.UserVerified,
		BackupEligible:     c.Flags.BackupEligible,
		BackupState:        c.Flags.BackupState,
		Attachment:         string(c.Authenticator.Attachment),
	}
	if p.PublicKeyAlgorithm == 0 {
		p.PublicKeyAlgorithm = coseAlgorithm(c.PublicKey)
	}
	for _, t := range c.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	if p.AttestationLevel == Attested {
		p.AttestationCertificates = thumbprints(c.Attestation.Object)
	}
	return p
}

// attestationLevel: attested when the statement was verified with an
// attestation certificate (a full or CA-issued attestation); self
// attestation and none prove nothing about the make and model.
func attestationLevel(typ string) string {
	switch metadata.AuthenticatorAttestationType(typ) {
	case metadata.BasicFull, metadata.AttCA, metadata.AnonCA:
		return Attested
	}
	return NotAttested
}

// coseAlgorithm reads the algorithm (label 3) of a COSE key, which
// browsers do not always report beside it.
func coseAlgorithm(key []byte) int64 {
	var k struct {
		Alg int64 `cbor:"3,keyasint"`
	}
	if err := cbor.Unmarshal(key, &k); err != nil {
		return 0
	}
	return k.Alg
}

// thumbprints are the SHA-1 thumbprints of the statement's x5c chain.
// go-webauthn verified the statement already; this only re-reads it.
func thumbprints(object []byte) []string {
	var obj struct {
		AttStmt struct {
			X5C [][]byte `cbor:"x5c"`
		} `cbor:"attStmt"`
	}
	if err := cbor.Unmarshal(object, &obj); err != nil {
		return nil
	}
	var out []string
	for _, der := range obj.AttStmt.X5C {
		if _, err := x509.ParseCertificate(der); err != nil {
			continue
		}
		sum := sha1.Sum(der)
		out = append(out, strings.ToUpper(hex.EncodeToString(sum[:])))
	}
	return out
}

// formatAAGUID is the canonical GUID form; an absent AAGUID is all zeros.
func formatAAGUID(b []byte) string {
	id, err := uuid.FromBytes(b)
	if err != nil {
		return uuid.Nil.String()
	}
	return id.String()
}

// credentialOf rebuilds go-webauthn's credential record from what vakt
// stores, with the stored sign counter.
func credentialOf(p store.Fido2Props, counter uint32) (gowa.Credential, error) {
	id, err := b64.DecodeString(p.CredentialID)
	if err != nil {
		return gowa.Credential{}, fmt.Errorf("webauthn: stored credential id: %w", err)
	}
	pk, err := b64.DecodeString(p.PublicKey)
	if err != nil {
		return gowa.Credential{}, fmt.Errorf("webauthn: stored public key: %w", err)
	}
	aaguid, err := uuid.Parse(p.AAGUID)
	if err != nil {
		aaguid = uuid.Nil
	}
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	c := gowa.Credential{ID: id, PublicKey: pk, AttestationType: p.AttestationType, AttestationFormat: p.AttestationFormat,
		Flags: gowa.NewCredentialFlags(flags), Authenticator: gowa.Authenticator{AAGUID: aaguid[:], SignCount: counter,
			Attachment: protocol.AuthenticatorAttachment(p.Attachment)}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c, nil
}
