// Package push is vakt's authenticator protocol without I/O: the bytes a
// device signs, device public keys, the Authorization header of device
// requests, the 2-digit numbers of number matching and the life of a push
// challenge. The store-backed service (internal/authenticator) and the
// command-line companion both build on it, so the two ends cannot drift.
//
// Every device request is signed with the device's ECDSA P-256 key over
// RequestBytes (method, path, a timestamp, a random nonce and the body's
// hash): the server refuses a stale timestamp and a nonce it has seen, so
// a captured request cannot be sent again. An answer is further signed
// over AnswerBytes (challenge id, the challenge's own nonce, the number
// and the decision), so it cannot be moved to another challenge.
package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Scheme is the Authorization scheme of device requests.
const Scheme = "VaktDevice"

// Limits on what a device sends.
const (
	// MaxPublicKey bounds an encoded public key (a P-256 SubjectPublicKeyInfo
	// is 91 bytes, 122 in base64).
	MaxPublicKey = 256
	// MaxHeader bounds the Authorization header.
	MaxHeader = 512
	// NonceBytes is the size of request and challenge nonces.
	NonceBytes = 16
	// MaxSkew is how far a request's timestamp may be from the server's
	// clock; nonces are remembered for twice as long.
	MaxSkew = 60 * time.Second
)

// ErrBadKey: not a P-256 public key in the expected encoding.
var ErrBadKey = errors.New("push: the public key must be an ECDSA P-256 key (base64url of its DER SubjectPublicKeyInfo)")

// ParsePublicKey reads a device key: base64url (padding optional) of the
// DER SubjectPublicKeyInfo of an ECDSA P-256 key. The point is checked to
// lie on the curve by the parser.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	if s == "" || len(s) > MaxPublicKey {
		return nil, ErrBadKey
	}
	der, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, ErrBadKey
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, ErrBadKey
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, ErrBadKey
	}
	return ec, nil
}

// EncodePublicKey is the inverse of ParsePublicKey.
func EncodePublicKey(k *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(der), nil
}

// RequestBytes are what a device signs for one HTTP request. The body is
// included by its SHA-256 so that the server can verify before it reads
// a large body twice.
func RequestBytes(method, path string, ts int64, nonce string, body []byte) []byte {
	h := sha256.Sum256(body)
	return []byte("vakt-device-request-v1\n" + method + "\n" + path + "\n" + strconv.FormatInt(ts, 10) + "\n" + nonce + "\n" + hex.EncodeToString(h[:]))
}

// Decision is a device's answer to a challenge.
type Decision string

const (
	Approve Decision = "approve"
	Deny    Decision = "deny"
	// Report is "this wasn't me": deny and report suspicious activity.
	Report Decision = "report"
)

// Valid reports whether d is one of the three decisions.
func (d Decision) Valid() bool { return d == Approve || d == Deny || d == Report }

// AnswerBytes are what a device signs to answer a challenge: the
// challenge id and nonce bind it to that challenge, the number to what
// the user typed. A deny or report carries number 0.
func AnswerBytes(challengeID, nonce string, number int, d Decision) []byte {
	return []byte("vakt-push-answer-v1\n" + challengeID + "\n" + nonce + "\n" + strconv.Itoa(number) + "\n" + string(d))
}

// Sign signs msg with the device key (ASN.1 DER, base64url).
func Sign(rand io.Reader, k *ecdsa.PrivateKey, msg []byte) (string, error) {
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand, k, h[:])
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// Verify checks a signature made by Sign.
func Verify(k *ecdsa.PublicKey, msg []byte, sig string) bool {
	if k == nil || sig == "" || len(sig) > 128 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	h := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(k, h[:], raw)
}

// Auth is a parsed device Authorization header.
type Auth struct {
	DeviceID  string
	Timestamp int64 // Unix seconds
	Nonce     string
	Signature string
}

// ErrBadAuth: the Authorization header is not a device signature.
var ErrBadAuth = errors.New("push: the Authorization header must be: " + Scheme + " id=…, ts=…, nonce=…, sig=…")

// Header formats a device Authorization header.
func (a Auth) Header() string {
	return fmt.Sprintf("%s id=%s, ts=%d, nonce=%s, sig=%s", Scheme, a.DeviceID, a.Timestamp, a.Nonce, a.Signature)
}

// ParseAuth reads a device Authorization header. Every part must be
// present once; ids and nonces are restricted to token characters so that
// nothing odd reaches a query or a log.
func ParseAuth(h string) (Auth, error) {
	var a Auth
	if len(h) > MaxHeader {
		return a, ErrBadAuth
	}
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || scheme != Scheme {
		return a, ErrBadAuth
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] || v == "" {
			return a, ErrBadAuth
		}
		seen[k] = true
		switch k {
		case "id":
			if !Token(v, 64) {
				return a, ErrBadAuth
			}
			a.DeviceID = v
		case "ts":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return a, ErrBadAuth
			}
			a.Timestamp = n
		case "nonce":
			if !Token(v, 64) || len(v) < 16 {
				return a, ErrBadAuth
			}
			a.Nonce = v
		case "sig":
			if !Token(v, 128) {
				return a, ErrBadAuth
			}
			a.Signature = v
		default:
			return a, ErrBadAuth
		}
	}
	if len(seen) != 4 {
		return a, ErrBadAuth
	}
	return a, nil
}

// Token reports whether s is 1..max characters of [A-Za-z0-9_-].
func Token(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrStale: the request's timestamp is too far from the server's clock.
var ErrStale = errors.New("push: the request timestamp is too old or in the future; check the device clock")

// CheckTime refuses a timestamp more than MaxSkew from now.
func CheckTime(ts int64, now time.Time) error {
	d := now.Sub(time.Unix(ts, 0))
	if d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	return nil
}

// NewNonce returns NonceBytes random bytes from r, base64url.
func NewNonce(r io.Reader) (string, error) {
	b := make([]byte, NonceBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewNumber returns a uniformly chosen number from 10 to 99 (two digits,
// as the sign-in page shows it), read from r by rejection sampling.
func NewNumber(r io.Reader) (int, error) {
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		// 90 numbers; 180 is the largest multiple of 90 below 256.
		if b[0] < 180 {
			return 10 + int(b[0])%90, nil
		}
	}
}

// NoNumber is the number of a challenge without number matching.
const NoNumber = 0

// ValidNumber reports whether n can be a challenge number.
func ValidNumber(n int) bool { return n >= 10 && n <= 99 }
