// Package totp implements one-time codes for the authenticator app, software
// OATH apps and hardware OATH tokens: HOTP (RFC 4226) and TOTP (RFC 6238)
// codes, verification with a clock-skew window and replay refusal (P-2.6),
// secrets and their Base32 form, otpauth enrolment URIs with QR codes
// (P-2.3), and the administrators' hardware-token CSV (graph-api.md §4).
//
// The package is pure: it never reads the clock (times come in as
// arguments) and touches no database, file or network. The one source of
// outside input is crypto/rand in NewSecret.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Params are the parameters of a TOTP credential.
type Params struct {
	Algorithm string // SHA1, SHA256 or SHA512
	Digits    int    // 6 or 8
	Period    int    // 30 or 60 seconds
}

// The supported algorithms.
const (
	SHA1   = "SHA1"
	SHA256 = "SHA256"
	SHA512 = "SHA512"
)

// AppParams returns the parameters used for authenticator and software OATH
// apps: SHA1, 6 digits, 30 seconds, the only set that every app supports.
func AppParams() Params { return Params{Algorithm: SHA1, Digits: 6, Period: 30} }

// ErrParams is wrapped by every error about unsupported Params.
var ErrParams = errors.New("unsupported TOTP parameters")

// Validate reports whether p is supported: SHA1, SHA256 or SHA512, 6 or 8
// digits, a 30 or 60 second period. Hardware tokens may use any of these;
// apps use AppParams.
func (p Params) Validate() error {
	if newHash(p.Algorithm) == nil {
		return fmt.Errorf("%w: algorithm %q (want SHA1, SHA256 or SHA512)", ErrParams, p.Algorithm)
	}
	if p.Digits != 6 && p.Digits != 8 {
		return fmt.Errorf("%w: %d digits (want 6 or 8)", ErrParams, p.Digits)
	}
	if p.Period != 30 && p.Period != 60 {
		return fmt.Errorf("%w: period %d s (want 30 or 60)", ErrParams, p.Period)
	}
	return nil
}

func newHash(alg string) func() hash.Hash {
	switch alg {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Step returns the TOTP time step (RFC 6238's T) that contains t. A Period
// that is not positive counts as the RFC's default of 30 seconds.
func Step(t time.Time, p Params) int64 {
	period := int64(p.Period)
	if period <= 0 {
		period = 30
	}
	sec := t.Unix()
	s := sec / period
	if sec%period < 0 { // floor, for times before 1970
		s--
	}
	return s
}

// Code returns the HOTP code (RFC 4226) for counter step, which for TOTP is
// Step(t, p). It returns "" when p is not valid.
func Code(secret []byte, step int64, p Params) string {
	if p.Validate() != nil {
		return ""
	}
	return string(newHOTP(secret, p).digits(step))
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// hotp computes HOTP values for one secret. It keeps its buffers so that
// Verify can try every step of its window without allocating per step.
type hotp struct {
	mac  hash.Hash
	n    int
	buf  []byte // counter (8 bytes), then room for the MAC
	code [8]byte
}

func newHOTP(secret []byte, p Params) *hotp {
	return &hotp{mac: hmac.New(newHash(p.Algorithm), secret), n: p.Digits, buf: make([]byte, 8, 8+sha512.Size)}
}

// digits returns the code for counter step; the result is overwritten by
// the next call.
func (h *hotp) digits(step int64) []byte {
	binary.BigEndian.PutUint64(h.buf[:8], uint64(step))
	h.mac.Reset()
	h.mac.Write(h.buf[:8])
	sum := h.mac.Sum(h.buf[:8])[8:]
	// Dynamic truncation, RFC 4226 §5.3.
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	v %= pow10[h.n]
	out := h.code[:h.n]
	for i := h.n - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}

// FormatError says a code is not made of the expected number of digits. Its
// message is safe to show to the user.
type FormatError struct {
	Digits int
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("The code must be %d digits.", e.Digits)
}

// ErrReplay is returned by Verify when the code is right but belongs to a
// step at or before the last accepted one: a replayed or superseded code
// (P-2.6). Callers should log it; it is not shown differently to the user.
var ErrReplay = errors.New("totp: code already used")

// MaxSkew bounds the skew Verify accepts, and so the work one call can do.
const MaxSkew = 10

// Verify checks code against the steps from Step(now)-skew to
// Step(now)+skew (callers normally pass skew 1, one step either way, for
// drifting phone clocks).
//
// A step at or before lastStep is refused, so a code accepted once, or an
// older one, cannot be used again: when the code matches only such steps,
// Verify returns ok=false and ErrReplay. Pass 0 as lastStep before any code
// was accepted. On success it returns the matched step, which the caller
// must store as the new lastStep atomically with the sign-in (e.g. a
// conditional update "where last_step < step") so that two concurrent uses
// of one code cannot both succeed.
//
// A code that is not exactly p.Digits ASCII digits gives a *FormatError.
// Every step of the window is computed and compared in constant time, so the
// time taken does not depend on which step, if any, matched.
func Verify(secret []byte, code string, now time.Time, lastStep int64, skew int, p Params) (step int64, ok bool, err error) {
	if err := p.Validate(); err != nil {
		return 0, false, err
	}
	if len(secret) == 0 {
		return 0, false, errors.New("totp: empty secret")
	}
	if skew < 0 || skew > MaxSkew {
		return 0, false, fmt.Errorf("totp: skew %d out of range 0..%d", skew, MaxSkew)
	}
	if !allDigits(code, p.Digits) {
		return 0, false, &FormatError{Digits: p.Digits}
	}

	h := newHOTP(secret, p)
	given := []byte(code)
	now64 := Step(now, p)
	var (
		best     int64 // highest fresh matching step
		accepted int64 // 1 when some fresh step matched
		replayed int64 // 1 when some used step matched
	)
	for s := now64 - int64(skew); s <= now64+int64(skew); s++ {
		if s < 0 { // the HOTP counter is unsigned; no codes before 1970
			continue
		}
		// Steps are not secret; only whether and where the code matched is.
		eq := int64(subtle.ConstantTimeCompare(h.digits(s), given))
		var fresh int64
		if s > lastStep {
			fresh = 1
		}
		hit := eq & fresh
		// Keep the highest matching step: if a code happens to match two
		// steps, storing the later one leaves neither usable again.
		mask := -hit
		best = s&mask | best&^mask
		accepted |= hit
		replayed |= eq &^ fresh
	}
	switch {
	case accepted == 1:
		return best, true, nil
	case replayed == 1:
		return 0, false, ErrReplay
	}
	return 0, false, nil
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
