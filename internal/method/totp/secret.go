package totp

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// SecretSize is the size of a new secret: 160 bits, the HMAC-SHA1 output
// size that RFC 4226 §4 recommends.
const SecretSize = 20

// MinSecretSize is the shortest secret accepted: RFC 4226 §4 requires at
// least 128 bits but allows 80 bits in practice, and 80 is what many
// hardware tokens ship with.
const MinSecretSize = 10

// Errors wrapped by DecodeSecret.
var (
	ErrInvalidSecret  = errors.New("secret is not valid Base32")
	ErrSecretTooShort = errors.New("secret is too short")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns SecretSize random bytes from crypto/rand.
func NewSecret() ([]byte, error) {
	s := make([]byte, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("totp: new secret: %w", err)
	}
	return s, nil
}

// EncodeSecret returns secret in Base32 without padding, the form that
// otpauth URIs and authenticator apps' manual entry use.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// DecodeSecret decodes a Base32 secret as people and token vendors write
// it: in either case, with spaces (keys are often shown in groups of four)
// and with or without '=' padding. It refuses invalid Base32 and secrets
// shorter than MinSecretSize bytes.
func DecodeSecret(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t':
			return -1
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	clean = strings.TrimRight(clean, "=")
	if clean == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	// A truncated or mistyped key can leave a length no encoding produces;
	// encoding/base32 would decode some of those anyway.
	switch len(clean) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: %d characters is not a possible length", ErrInvalidSecret, len(clean))
	}
	secret, err := b32.DecodeString(clean)
	if err != nil {
		// err names the offending position only; never echo the secret.
		return nil, fmt.Errorf("%w: %w", ErrInvalidSecret, err)
	}
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("%w: %d bits, at least %d required", ErrSecretTooShort, len(secret)*8, MinSecretSize*8)
	}
	return secret, nil
}
