// Package secret encrypts small values at rest (signing keys and other
// secrets the server must read back) with AES-256-GCM under a ring of
// master keys.
//
// A sealed value is a printable string
//
//	v1:<kid>:<base64url(nonce | ciphertext | tag)>
//
// where the base64url encoding is unpadded, the nonce is 12 random bytes
// and kid names the master key that sealed it. The kid is the first 8 hex
// characters (4 bytes) of the SHA-256 of the raw key: it identifies a key
// without revealing anything useful about it, and lets a ring hold several
// keys so the master key can rotate without re-encrypting every row at
// once. The first key of a ring is the primary and seals; every key opens.
//
// The additional authenticated data (aad) given to Seal must be given
// again to Open. Callers pass the context of the value (tenant id, object
// id, column) so a sealed value copied into another row does not open.
//
// Master keys live in a key file: text, one key per line in standard
// base64 (32 bytes decoded), the first key line being the primary; blank
// lines and lines starting with '#' are ignored. LoadKeyFile reads it,
// GenerateKeyFile and LoadOrGenerate create it, AddPrimaryKey rotates.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors returned (wrapped) by Open; test them with errors.Is.
var (
	// ErrUnknownKey: the value was sealed with a key that is not in the
	// ring (a key file from another installation, or a removed old key).
	ErrUnknownKey = errors.New("secret: sealed with an unknown key")
	// ErrDecrypt: the value is malformed, was tampered with, or was
	// sealed with a different aad.
	ErrDecrypt = errors.New("secret: cannot decrypt sealed value")
)

const (
	// KeySize is the size of a master key in bytes (AES-256).
	KeySize = 32

	version  = "v1"
	kidLen   = 8 // hex characters
	nonceLen = 12
	tagLen   = 16
)

// b64 is the payload encoding. Strict decoding (plus isB64URL) rejects
// non-canonical encodings so every sealed value has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Keyring holds the master keys. It is safe for concurrent use; the zero
// value is an empty ring that cannot seal or open anything.
type Keyring struct {
	keys []ringKey // keys[0] is the primary
	// derive is a subkey of the primary for Derive, so the raw key itself
	// is never kept outside the cipher.
	derive []byte
}

type ringKey struct {
	kid  string
	aead cipher.AEAD
}

// KeyID returns the key id of a raw key: the first 8 hex characters of
// its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])[:kidLen]
}

// NewKeyring builds a ring from raw 32-byte keys; the first is primary.
// Two keys with the same key id (the same key twice) are refused, since
// Open could not tell them apart.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no keys")
	}
	k := &Keyring{keys: make([]ringKey, 0, len(keys))}
	for i, raw := range keys {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes, want %d", i+1, len(raw), KeySize)
		}
		kid := KeyID(raw)
		if k.lookup(kid) != nil {
			return nil, fmt.Errorf("secret: key %d duplicates key id %s", i+1, kid)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		k.keys = append(k.keys, ringKey{kid: kid, aead: aead})
		if i == 0 {
			m := hmac.New(sha256.New, raw)
			m.Write([]byte("vakt derive v1"))
			k.derive = m.Sum(nil)
		}
	}
	return k, nil
}

// Derive returns a 32-byte key for one purpose (label), derived from the
// primary key: the same on every node that shares the key file, different
// per label, and revealing nothing about the master key.
func (k *Keyring) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.derive)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// PrimaryKeyID returns the id of the key that seals, or "" for an empty ring.
func (k *Keyring) PrimaryKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].kid
}

// KeyIDs returns the ids of all keys, primary first.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, rk := range k.keys {
		ids[i] = rk.kid
	}
	return ids
}

func (k *Keyring) lookup(kid string) *ringKey {
	for i := range k.keys {
		if k.keys[i].kid == kid {
			return &k.keys[i]
		}
	}
	return nil
}

// Seal encrypts plaintext with the primary key, binding it to aad.
func (k *Keyring) Seal(plaintext, aad []byte) (string, error) {
	if k == nil || len(k.keys) == 0 {
		return "", errors.New("secret: empty keyring")
	}
	pk := k.keys[0]
	buf := make([]byte, nonceLen, nonceLen+len(plaintext)+tagLen)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	// Random 96-bit nonces are safe for far more seals than a directory
	// will ever make under one key (NIST's 2^32 bound).
	buf = pk.aead.Seal(buf, buf[:nonceLen], plaintext, aad)
	return version + ":" + pk.kid + ":" + b64.EncodeToString(buf), nil
}

// Open decrypts a value made by Seal with the same aad. It returns an
// error wrapping ErrUnknownKey when no key of the ring has the value's key
// id, and one wrapping ErrDecrypt for anything else that is wrong.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, version+":")
	if !ok {
		return nil, fmt.Errorf("%w: unsupported format", ErrDecrypt)
	}
	kid, payload, ok := strings.Cut(rest, ":")
	if !ok || !validKID(kid) {
		return nil, fmt.Errorf("%w: malformed key id", ErrDecrypt)
	}
	var rk *ringKey
	if k != nil {
		rk = k.lookup(kid)
	}
	if rk == nil {
		return nil, fmt.Errorf("%w: key id %s", ErrUnknownKey, kid)
	}
	raw, err := b64.DecodeString(payload)
	if err != nil || !isB64URL(payload) {
		return nil, fmt.Errorf("%w: malformed payload", ErrDecrypt)
	}
	if len(raw) < nonceLen+tagLen {
		return nil, fmt.Errorf("%w: payload too short", ErrDecrypt)
	}
	pt, err := rk.aead.Open(nil, raw[:nonceLen], raw[nonceLen:], aad)
	if err != nil {
		// The GCM error says nothing more useful than "authentication
		// failed"; ErrDecrypt is the contract.
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return pt, nil
}

// isB64URL reports whether s holds only base64url characters: the
// decoder skips CR and LF, and a sealed value should have one spelling.
func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validKID reports whether s looks like a key id (8 lower-case hex
// characters), so garbage is reported as ErrDecrypt, not ErrUnknownKey.
func validKID(s string) bool {
	if len(s) != kidLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
