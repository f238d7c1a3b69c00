package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

const (
	// secretBytes random bytes encode to exactly 40 base64url characters
	// (240 bits, the most 40 URL-safe characters can carry).
	secretBytes = 30
	hashPrefix  = "sha256$"
)

// NewClientSecret returns a new random client secret, to be shown to the
// caller once, and the hash to store in place of it.
//
// The hash is a single unsalted SHA-256 on purpose: a slow password hash
// protects low-entropy, human-chosen secrets against guessing, but 240
// random bits cannot be guessed however fast the hash is, and a fast hash
// keeps the token endpoint cheap for legitimate callers and attackers alike.
func NewClientSecret() (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("tokens: client secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashClientSecret(secret), nil
}

func hashClientSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// dummySecretHash is what an unknown client's secret is checked against,
// so that unknown clients and wrong secrets take the same time.
var dummySecretHash = hashClientSecret("vakt-dummy-client-secret")

// CheckClientSecret reports whether secret matches a hash made by
// NewClientSecret. The comparison is constant-time, and a malformed hash
// does the same work as a well-formed one before it reports false.
func CheckClientSecret(secret, hash string) bool {
	want := make([]byte, sha256.Size)
	hexDigest, ok := strings.CutPrefix(hash, hashPrefix)
	if ok && hex.DecodedLen(len(hexDigest)) == sha256.Size {
		if _, err := hex.Decode(want, []byte(hexDigest)); err != nil {
			ok = false
		}
	} else {
		ok = false
	}
	got := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(got[:], want) == 1
	return match && ok
}
