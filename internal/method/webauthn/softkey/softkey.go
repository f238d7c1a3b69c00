// Package softkey is a software FIDO2 authenticator for tests: an ECDSA
// P-256 key that answers vakt's creation and request options the way a
// browser and a security key together would, and can be told to
// misbehave (another origin or relying party, no user verification, a
// counter that goes backwards, another challenge) so that each refusal
// can be tested. It follows WebAuthn §6.1 (authenticator data) and §8.2
// (packed attestation), written from the specification.
package softkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// Attestation formats the key can produce.
const (
	AttestNone   = "none"
	AttestSelf   = "packed-self" // packed, signed by the credential key
	AttestPacked = "packed"      // packed with an attestation certificate
)

// Key is one credential on a software authenticator.
type Key struct {
	AAGUID   uuid.UUID
	ID       []byte
	Counter  uint32
	Resident bool // a passkey: returns the user handle in assertions
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible, BackupState bool
	Attestation                 string
	Transports                  []string

	priv       *ecdsa.PrivateKey
	attKey     *ecdsa.PrivateKey
	attCert    []byte
	userHandle []byte
}

// New makes a key of the authenticator model aaguid.
func New(aaguid uuid.UUID, resident bool) *Key {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 32)
	rand.Read(id)
	return &Key{AAGUID: aaguid, ID: id, Resident: resident, priv: priv, Attestation: AttestNone, Transports: []string{"usb"}}
}

// Faults make an answer wrong in one way.
type Faults struct {
	Origin    string // client data origin (default: the one given)
	RPID      string // relying party id hashed into authenticator data
	NoUV      bool   // clear the user-verified flag
	NoUP      bool   // clear the user-present flag
	Challenge string // answer another challenge (base64url)
	Type      string // client data type
	// Counter, when set, is sent instead of the next counter value.
	Counter *uint32
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

type requestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

func (k *Key) flags(f Faults) byte {
	var b byte = flagUP | flagUV
	if f.NoUP {
		b &^= flagUP
	}
	if f.NoUV {
		b &^= flagUV
	}
	if k.BackupEligible {
		b |= flagBE
	}
	if k.BackupState {
		b |= flagBS
	}
	return b
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func pick(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// coseKey is the credential public key as a COSE_Key (EC2, ES256, P-256).
func (k *Key) coseKey() []byte {
	x := k.priv.PublicKey.X.FillBytes(make([]byte, 32))
	y := k.priv.PublicKey.Y.FillBytes(make([]byte, 32))
	em, _ := cbor.CTAP2EncOptions().EncMode()
	b, _ := em.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	return b
}

// Register answers creation options (the publicKey member, JSON) from
// origin, returning the RegistrationResponseJSON the browser would send.
func (k *Key) Register(options []byte, origin string, f Faults) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("softkey: creation options: %w", err)
	}
	if k.userHandle, _ = b64.DecodeString(o.User.ID); len(k.userHandle) == 0 {
		return nil, fmt.Errorf("softkey: creation options without user id")
	}
	rpHash := sha256.Sum256([]byte(pick(f.RPID, o.RP.ID)))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, k.flags(f)|flagAT)
	ad = binary.BigEndian.AppendUint32(ad, k.Counter)
	ad = append(ad, k.AAGUID[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.ID)))
	ad = append(ad, k.ID...)
	ad = append(ad, k.coseKey()...)
	cd := clientData(pick(f.Type, "webauthn.create"), pick(f.Challenge, o.Challenge), pick(f.Origin, origin))
	cdHash := sha256.Sum256(cd)
	stmt := map[string]any{}
	format := "packed"
	switch k.Attestation {
	case AttestNone, "":
		format = "none"
	case AttestSelf:
		stmt["alg"], stmt["sig"] = -7, sign(k.priv, append(append([]byte{}, ad...), cdHash[:]...))
	case AttestPacked:
		if err := k.attestationCert(); err != nil {
			return nil, err
		}
		stmt["alg"], stmt["sig"] = -7, sign(k.attKey, append(append([]byte{}, ad...), cdHash[:]...))
		stmt["x5c"] = [][]byte{k.attCert}
	}
	em, _ := cbor.CTAP2EncOptions().EncMode()
	obj, err := em.Marshal(map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(obj),
			"transports": k.Transports}})
}

// Assert answers request options (the publicKey member, JSON) from
// origin, returning the AuthenticationResponseJSON; the counter moves on.
func (k *Key) Assert(options []byte, origin string, f Faults) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("softkey: request options: %w", err)
	}
	if len(o.AllowCredentials) == 0 && !k.Resident {
		return nil, fmt.Errorf("softkey: a non-resident key cannot answer a request without allowCredentials")
	}
	k.Counter++
	counter := k.Counter
	if f.Counter != nil {
		counter = *f.Counter
	}
	rpHash := sha256.Sum256([]byte(pick(f.RPID, o.RPID)))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, k.flags(f))
	ad = binary.BigEndian.AppendUint32(ad, counter)
	cd := clientData(pick(f.Type, "webauthn.get"), pick(f.Challenge, o.Challenge), pick(f.Origin, origin))
	cdHash := sha256.Sum256(cd)
	resp := map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
		"signature": b64.EncodeToString(sign(k.priv, append(append([]byte{}, ad...), cdHash[:]...)))}
	if k.Resident {
		resp["userHandle"] = b64.EncodeToString(k.userHandle)
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(k.ID), "rawId": b64.EncodeToString(k.ID), "type": "public-key",
		"clientExtensionResults": map[string]any{}, "response": resp})
}

// SetUserHandle sets the handle a resident key returns (a key that was
// registered elsewhere).
func (k *Key) SetUserHandle(h []byte) { k.userHandle = h }

func sign(priv *ecdsa.PrivateKey, msg []byte) []byte {
	h := sha256.Sum256(msg)
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, h[:])
	return sig
}

// attestationCert makes a self-signed attestation certificate that meets
// the packed format's certificate requirements (§8.2.1).
func (k *Key) attestationCert() error {
	if k.attCert != nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{Country: []string{"SE"}, Organization: []string{"vakt test"}, OrganizationalUnit: []string{"Authenticator Attestation"},
			CommonName: "vakt soft key"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: false}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	k.attKey, k.attCert = key, der
	return nil
}
