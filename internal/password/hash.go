// Package password hashes, verifies and vets user passwords.
//
// New hashes are argon2id in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, unpadded standard base64).
// Verification also accepts bcrypt hashes ($2a$, $2b$, $2y$) so that users
// imported from other directories can sign in; those, and argon2id hashes
// made with other parameters, are reported as needing a rehash so the caller
// can upgrade them transparently on a successful sign-in.
//
// Hashing is deliberately expensive (19 MiB of memory per call by default),
// so a Hasher bounds how many hashes run at once: a burst of sign-ins queues
// instead of exhausting memory.
//
// Check vets a new password against length rules, a built-in list of 30,000
// common passwords, a tenant's own list and the user's names.
//
// Nothing in this package logs, and no error it returns contains a password
// or a stored hash.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrMalformedHash is wrapped by every error caused by a stored hash that
// cannot be parsed, uses an unsupported scheme, or carries parameters outside
// the accepted bounds.
var ErrMalformedHash = errors.New("password: malformed hash")

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns the OWASP-recommended argon2id baseline:
// 19 MiB of memory, 2 passes, 1 lane, 16-byte salt, 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds applied both to a Hasher's own parameters and to parameters read
// back from a stored string. The upper bounds exist because a stored string
// is data: a corrupted or planted "m=4294967295" must not make a sign-in
// allocate 4 TiB or spin for hours.
const (
	maxMemory  = 4 << 20 // KiB, i.e. 4 GiB
	maxTime    = 100
	minSaltLen = 8 // RFC 9106 minimum
	maxSaltLen = 64
	minKeyLen  = 16 // a shorter tag is more likely a truncated string than a real hash
	maxKeyLen  = 64

	// maxEncodedLen is comfortably above the longest string the bounds
	// allow (about 210 bytes); longer input is rejected before any parsing.
	maxEncodedLen = 256

	// bcrypt costs above this take many seconds per attempt; such a hash is
	// treated as hostile rather than as something to compute.
	maxBcryptCost = 16
)

// Validate reports whether p is within the bounds this package accepts.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB outside [8*threads, %d]", p.Memory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d outside [1, %d]", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// kdfFunc has the signature of argon2.IDKey.
type kdfFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes and verifies passwords with a bounded number of concurrent
// computations. It is safe for concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{} // one token per running hash
	dummy  string        // hash DummyVerify checks against; never matches
	kdf    kdfFunc       // argon2.IDKey; tests swap it to observe concurrency
}

// New returns a Hasher producing hashes with p and running at most
// maxConcurrent hashes (argon2id or bcrypt) at a time; maxConcurrent <= 0
// means runtime.GOMAXPROCS(0), since more would only add memory, not
// throughput. New panics if p is invalid (see Params.Validate): parameters
// are configuration, and a bad one must stop start-up, not a sign-in.
func New(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic("password: invalid params: " + err.Error())
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent), kdf: argon2.IDKey}
	// The dummy is a well-formed hash with the live parameters but a random
	// key, so DummyVerify walks exactly the same path as Verify.
	salt, key := make([]byte, p.SaltLen), make([]byte, p.KeyLen)
	rand.Read(salt) // crypto/rand.Read never returns an error (it crashes instead)
	rand.Read(key)
	h.dummy = encodeArgon2id(p, salt, key)
	return h
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id PHC string for password with a fresh random salt.
// If ctx ends while waiting for a free slot, Hash returns ctx.Err().
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	p := h.params
	key := h.kdf([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	return encodeArgon2id(p, salt, key), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// (with whatever parameters it carries) or a bcrypt hash. needsRehash is true
// when ok and the hash is bcrypt or its parameters differ from h's: the
// caller should then store the result of Hash. A mismatch is ok == false with
// a nil error; an unusable encoded string gives an error wrapping
// ErrMalformedHash; if ctx ends while waiting for a free slot, the error is
// ctx.Err().
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	ph, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()

	if ph.bcrypt {
		// bcrypt only reads the first 72 bytes of the password, as every
		// other implementation does, so imported hashes keep working.
		switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
		}
	}

	p := ph.params
	key := h.kdf([]byte(password), ph.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(key, ph.key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// DummyVerify does the work of a Verify against a hash made with h's
// parameters, and discards the result. Call it when the user does not exist
// so that the response takes as long as for a wrong password, and timing
// does not reveal which accounts exist. (Users still on imported bcrypt
// hashes take bcrypt's time; they disappear as they sign in and are rehashed.)
// The only error is ctx.Err() if ctx ends while waiting for a slot.
func (h *Hasher) DummyVerify(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// acquire takes a hashing slot, or returns ctx.Err() if ctx ends first.
// ctx is checked up front so that a dead request never starts a hash even
// when a slot happens to be free (select picks randomly among ready cases).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

var b64 = base64.RawStdEncoding

func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsedHash is a stored hash after validation.
type parsedHash struct {
	bcrypt    bool   // if set, the remaining fields are unused
	params    Params // argon2id parameters, SaltLen and KeyLen included
	salt, key []byte
}

// parseHash validates encoded strictly: the argon2id form must be canonical
// (fixed field order, no leading zeros, strict unpadded base64), so that
// re-encoding a parsed hash gives back the same string.
func parseHash(encoded string) (parsedHash, error) {
	if len(encoded) > maxEncodedLen {
		return parsedHash{}, fmt.Errorf("%w: too long", ErrMalformedHash)
	}
	const argonPrefix = "$argon2id$"
	switch {
	case strings.HasPrefix(encoded, argonPrefix):
		return parseArgon2id(encoded[len(argonPrefix):])
	case strings.HasPrefix(encoded, "$2"):
		if err := checkBcrypt(encoded); err != nil {
			return parsedHash{}, err
		}
		return parsedHash{bcrypt: true}, nil
	case encoded == "":
		return parsedHash{}, fmt.Errorf("%w: empty", ErrMalformedHash)
	default:
		return parsedHash{}, fmt.Errorf("%w: unsupported scheme", ErrMalformedHash)
	}
}

// parseArgon2id parses "v=19$m=M,t=T,p=P$salt$key".
func parseArgon2id(s string) (parsedHash, error) {
	fields := strings.Split(s, "$")
	if len(fields) != 4 {
		return parsedHash{}, fmt.Errorf("%w: argon2id: want 4 fields after the scheme, got %d", ErrMalformedHash, len(fields))
	}
	if fields[0] != "v="+strconv.Itoa(argon2.Version) {
		return parsedHash{}, fmt.Errorf("%w: argon2id: unsupported version", ErrMalformedHash)
	}

	kv := strings.Split(fields[1], ",")
	if len(kv) != 3 {
		return parsedHash{}, fmt.Errorf("%w: argon2id: want m,t,p parameters", ErrMalformedHash)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, found := strings.CutPrefix(kv[i], name)
		if !found {
			return parsedHash{}, fmt.Errorf("%w: argon2id: parameter %d is not %s", ErrMalformedHash, i+1, name[:1])
		}
		v, err := parseCanonicalUint(num)
		if err != nil {
			return parsedHash{}, fmt.Errorf("%w: argon2id: parameter %s: %w", ErrMalformedHash, name[:1], err)
		}
		vals[i] = v
	}
	// Range-check before narrowing so that a huge value cannot wrap into
	// a valid one.
	if vals[0] > maxMemory || vals[1] > maxTime || vals[2] > 255 {
		return parsedHash{}, fmt.Errorf("%w: argon2id: parameters out of range", ErrMalformedHash)
	}

	salt, err := decodeB64(fields[2])
	if err != nil {
		return parsedHash{}, fmt.Errorf("%w: argon2id: salt: %w", ErrMalformedHash, err)
	}
	key, err := decodeB64(fields[3])
	if err != nil {
		return parsedHash{}, fmt.Errorf("%w: argon2id: key: %w", ErrMalformedHash, err)
	}
	p := Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.Validate(); err != nil {
		return parsedHash{}, fmt.Errorf("%w: argon2id: %w", ErrMalformedHash, err)
	}
	return parsedHash{params: p, salt: salt, key: key}, nil
}

// decodeB64 decodes unpadded standard base64 strictly. The alphabet is
// checked first because encoding/base64 skips '\r' and '\n' even in strict
// mode, which would let two different strings denote one hash (found by
// FuzzVerify).
func decodeB64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("invalid base64 character at offset %d", i)
		}
	}
	return b64.Strict().DecodeString(s)
}

// parseCanonicalUint accepts only plain decimal without sign or leading
// zeros and at most 10 digits (the bounds checks come after).
func parseCanonicalUint(s string) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical decimal")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a canonical decimal")
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// checkBcrypt validates the modular-crypt bcrypt form
// $2a$NN$<22 chars salt><31 chars hash>; x/crypto/bcrypt itself is lenient
// about the minor version and the length of the hash part.
func checkBcrypt(s string) error {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if len(s) != 60 {
		return fmt.Errorf("%w: bcrypt: wrong length", ErrMalformedHash)
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return fmt.Errorf("%w: unsupported scheme", ErrMalformedHash)
	}
	if s[6] != '$' || s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return fmt.Errorf("%w: bcrypt: bad cost", ErrMalformedHash)
	}
	if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < bcrypt.MinCost || cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt: cost %d outside [%d, %d]", ErrMalformedHash, cost, bcrypt.MinCost, maxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return fmt.Errorf("%w: bcrypt: bad character in salt or hash", ErrMalformedHash)
		}
	}
	return nil
}
