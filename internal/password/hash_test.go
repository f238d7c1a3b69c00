package password

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// testParams keep the suite fast; only the known vector uses the defaults.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashRoundTrip(t *testing.T) {
	h := New(testParams, 0)
	ctx := context.Background()
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	for _, pw := range []string{
		"",
		"correct horse battery staple",
		"pässwörd ✓ 密码",
		strings.Repeat("long", 300),
		"$argon2id$v=19$", // a password may look like a hash
	} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !phc.MatchString(enc) {
			t.Errorf("Hash(%q) = %q, not PHC argon2id", pw, enc)
		}
		if enc2, _ := h.Hash(ctx, pw); enc2 == enc {
			t.Errorf("Hash(%q) twice gave the same string: salt not random", pw)
		}
		ph, err := parseHash(enc)
		if err != nil {
			t.Fatalf("parseHash(Hash(%q)): %v", pw, err)
		}
		if ph.params != testParams {
			t.Errorf("parsed params %+v, want %+v", ph.params, testParams)
		}
		if got := encodeArgon2id(ph.params, ph.salt, ph.key); got != enc {
			t.Errorf("re-encoded %q, want %q", got, enc)
		}
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || rehash || err != nil {
			t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		ok, rehash, err = h.Verify(ctx, pw+"x", enc)
		if ok || rehash || err != nil {
			t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
	}
}

// knownVector was produced by the argon2 reference implementation (Debian's
// argon2 CLI, independent of x/crypto):
//
//	echo -n "correct horse battery staple" | argon2 vaktsalt-known1 -id -t 2 -k 19456 -p 1 -l 32
const (
	knownPassword = "correct horse battery staple"
	knownSalt     = "vaktsalt-known1"
	knownVector   = "$argon2id$v=19$m=19456,t=2,p=1$dmFrdHNhbHQta25vd24x$R4bg/erxKRy0AvfegQSuqLtGwG6/INN8tE/JOszZkrA"
)

func TestVerifyKnownVector(t *testing.T) {
	// Recompute with x/crypto directly: encoding and KDF agree with the reference.
	key := argon2.IDKey([]byte(knownPassword), []byte(knownSalt), 2, 19456, 1, 32)
	want := "$argon2id$v=19$m=19456,t=2,p=1$" + base64.RawStdEncoding.EncodeToString([]byte(knownSalt)) +
		"$" + base64.RawStdEncoding.EncodeToString(key)
	if want != knownVector {
		t.Fatalf("argon2.IDKey vector = %q, reference = %q", want, knownVector)
	}

	// Salt length 15 differs from the default 16, so even the default
	// hasher asks for a rehash; the small hasher must too (other m and t).
	for _, tc := range []struct {
		name   string
		params Params
	}{
		{"default", DefaultParams()},
		{"small", testParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(tc.params, 1)
			ok, rehash, err := h.Verify(context.Background(), knownPassword, knownVector)
			if !ok || !rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, _, err = h.Verify(context.Background(), "correct horse battery stapler", knownVector)
			if ok || err != nil {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}

	// Same vector with the default salt length: no rehash at defaults.
	salt := []byte("vaktsalt-known16")
	enc := encodeArgon2id(DefaultParams(), salt, argon2.IDKey([]byte(knownPassword), salt, 2, 19456, 1, 32))
	if ok, rehash, err := New(DefaultParams(), 1).Verify(context.Background(), knownPassword, enc); !ok || rehash || err != nil {
		t.Errorf("Verify(default-params vector) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestVerifyBcrypt(t *testing.T) {
	const pw = "Imported-Pa55"
	gen, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	g := string(gen) // $2a$04$...
	tests := []struct{ name, hash string }{
		{"2a", g},
		{"2b", "$2b$" + g[4:]},
		{"2y", "$2y$" + g[4:]},
		// Made by Apache htpasswd (htpasswd -bnBC 5 "" 'Imported-Pa55'), not x/crypto.
		{"htpasswd 2y", "$2y$05$TQwV/7LwsJZx6Kw9tDXJROYy.K4b8V44f9x4yen1S5u6ZKqClFnBa"},
	}
	h := New(testParams, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), pw, tc.hash)
			if !ok || !rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(context.Background(), "imported-pa55", tc.hash)
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestNeedsRehashOnParamChange(t *testing.T) {
	ctx := context.Background()
	base := New(testParams, 0)
	mod := func(f func(*Params)) Params { p := testParams; f(&p); return p }
	tests := []struct {
		name   string
		params Params
		rehash bool
	}{
		{"same", testParams, false},
		{"memory", mod(func(p *Params) { p.Memory = 128 }), true},
		{"time", mod(func(p *Params) { p.Time = 2 }), true},
		{"threads", mod(func(p *Params) { p.Threads = 2 }), true},
		{"salt length", mod(func(p *Params) { p.SaltLen = 24 }), true},
		{"key length", mod(func(p *Params) { p.KeyLen = 16 }), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := New(tc.params, 0).Hash(ctx, "hunter2-but-longer")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := base.Verify(ctx, "hunter2-but-longer", enc)
			if !ok || rehash != tc.rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.rehash)
			}
		})
	}
}

// validSmall is a well-formed hash at testParams (password "pw").
func validSmall(t testing.TB) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	return encodeArgon2id(testParams, salt, argon2.IDKey([]byte("pw"), salt, 1, 64, 1, 32))
}

func TestVerifyMalformed(t *testing.T) {
	valid := validSmall(t)
	const salt, key = "MDEyMzQ1Njc4OWFiY2RlZg", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk" // 16 and 32 bytes
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"dollar", "$"},
		{"scheme only", "$argon2id$"},
		{"truncated after version", "$argon2id$v=19$"},
		{"truncated after params", "$argon2id$v=19$m=64,t=1,p=1$"},
		{"truncated after salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"truncated key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$QUJD"},
		{"empty key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"extra field", valid + "$"},
		{"bad base64 salt", "$argon2id$v=19$m=64,t=1,p=1$MDEy!zQ1Njc4OWFiY2RlZg$" + key},
		{"bad base64 key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3OD*"},
		{"padded base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"non-canonical base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:21] + "h$" + key},
		{"newline in salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:10] + "\n" + salt[10:] + "$" + key},
		{"carriage return in key", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$\r" + key},
		{"url base64", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.ReplaceAll(key, "Y", "_")},
		{"wrong version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"param missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"param extra", "$argon2id$v=19$m=64,t=1,p=1,k=1$" + salt + "$" + key},
		{"param leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"param sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"param negative", "$argon2id$v=19$m=64,t=-1,p=1$" + salt + "$" + key},
		{"param empty", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"memory over 4 GiB", "$argon2id$v=19$m=4194305,t=1,p=1$" + salt + "$" + key},
		{"memory wraps uint32", "$argon2id$v=19$m=4294967360,t=1,p=1$" + salt + "$" + key},
		{"memory below 8p", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"time over 100", "$argon2id$v=19$m=64,t=101,p=1$" + salt + "$" + key},
		{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"threads over 255", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1$" + key},
		{"too long", valid + strings.Repeat("A", 300)},
		{"unknown scheme", "$pbkdf2-sha256$29000$abc$def"},
		{"plain text", "hunter2"},
		{"bcrypt 2x", "$2x$04$" + strings.Repeat("a", 53)},
		{"bcrypt 2", "$2$04$" + strings.Repeat("a", 54)},
		{"bcrypt truncated", "$2a$04$" + strings.Repeat("a", 52)},
		{"bcrypt too long", "$2a$04$" + strings.Repeat("a", 54)},
		{"bcrypt cost 03", "$2a$03$" + strings.Repeat("a", 53)},
		{"bcrypt cost 31", "$2a$31$" + strings.Repeat("a", 53)},
		{"bcrypt cost letters", "$2a$1x$" + strings.Repeat("a", 53)},
		{"bcrypt bad alphabet", "$2a$04$" + strings.Repeat("a", 52) + "+"},
		{"bcrypt no separator", "$2a$04a" + strings.Repeat("a", 53)},
	}
	h := New(testParams, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "pw", tc.enc)
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Errorf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
		})
	}

	// Every truncation of a valid hash is refused or at worst a mismatch
	// (a shortened key can still be valid base64 of >= 16 bytes).
	for i := range len(valid) {
		ok, _, err := h.Verify(context.Background(), "pw", valid[:i])
		if ok || (err != nil && !errors.Is(err, ErrMalformedHash)) {
			t.Errorf("Verify(valid[:%d]) = %v, %v", i, ok, err)
		}
	}
	if ok, _, err := h.Verify(context.Background(), "pw", valid); !ok || err != nil {
		t.Errorf("Verify(valid) = %v, %v", ok, err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(validSmall(f))
	f.Add(knownVector)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$2a$04$" + strings.Repeat("a", 53))
	f.Add("$2y$05$TQwV/7LwsJZx6Kw9tDXJROYy.K4b8V44f9x4yen1S5u6ZKqClFnBa")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$")
	f.Add("")
	h := New(testParams, 1)
	f.Fuzz(func(t *testing.T, enc string) {
		ph, err := parseHash(enc)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parseHash error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if ph.bcrypt {
			// Cost is bounded by checkBcrypt; verify only the cheap ones.
			if enc[4:6] == "04" {
				if _, _, err := h.Verify(context.Background(), "pw", enc); err != nil && !errors.Is(err, ErrMalformedHash) {
					t.Fatalf("Verify(bcrypt) error %v", err)
				}
			}
			return
		}
		if err := ph.params.Validate(); err != nil {
			t.Fatalf("parsed params %+v invalid: %v", ph.params, err)
		}
		if got := encodeArgon2id(ph.params, ph.salt, ph.key); got != enc {
			t.Fatalf("parse is not canonical: %q re-encodes as %q", enc, got)
		}
		if p := ph.params; p.Memory <= 1024 && p.Time <= 2 && p.Threads <= 4 {
			if _, _, err := h.Verify(context.Background(), "pw", enc); err != nil {
				t.Fatalf("Verify of parseable hash: %v", err)
			}
		}
	})
}

// observeKDF replaces h's KDF with one that tracks how many run at once.
type observeKDF struct {
	inFlight, maxInFlight, calls atomic.Int32
	hold                         func() // runs while "computing"
}

func (o *observeKDF) install(h *Hasher) {
	orig := h.kdf
	h.kdf = func(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
		o.calls.Add(1)
		cur := o.inFlight.Add(1)
		for {
			old := o.maxInFlight.Load()
			if cur <= old || o.maxInFlight.CompareAndSwap(old, cur) {
				break
			}
		}
		if o.hold != nil {
			o.hold()
		}
		defer o.inFlight.Add(-1)
		return orig(pw, salt, t, m, p, n)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		h := New(testParams, limit)
		o := &observeKDF{hold: func() { time.Sleep(2 * time.Millisecond) }}
		o.install(h)
		enc := validSmall(t)
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Go(func() {
				var err error
				switch i % 3 {
				case 0:
					_, err = h.Hash(context.Background(), "pw")
				case 1:
					_, _, err = h.Verify(context.Background(), "pw", enc)
				default:
					err = h.DummyVerify(context.Background(), "pw")
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := o.maxInFlight.Load(); got > int32(limit) || got < 1 {
			t.Errorf("limit %d: max in flight %d", limit, got)
		}
		if got := o.calls.Load(); got != 24 {
			t.Errorf("limit %d: %d KDF calls, want 24", limit, got)
		}
	}
}

func TestCancelWhileQueued(t *testing.T) {
	h := New(testParams, 1)
	entered, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	o := &observeKDF{hold: func() {
		once.Do(func() { close(entered); <-unblock })
	}}
	o.install(h)

	first := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "pw"); first <- err }()
	<-entered // the only slot is now taken

	enc := validSmall(t)
	ops := []struct {
		name string
		run  func(context.Context) error
	}{
		{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "pw"); return err }},
		{"Verify", func(ctx context.Context) error { _, _, err := h.Verify(ctx, "pw", enc); return err }},
		{"DummyVerify", func(ctx context.Context) error { return h.DummyVerify(ctx, "pw") }},
	}
	for _, op := range ops {
		t.Run(op.name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- op.run(ctx) }()
			time.Sleep(10 * time.Millisecond) // let it queue
			cancel()
			select {
			case err := <-done:
				if err != ctx.Err() || !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want ctx.Err() = %v", err, ctx.Err())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("queued call did not return after cancel")
			}
		})
		t.Run(op.name+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			if err := op.run(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
		})
	}
	if got := o.calls.Load(); got != 1 {
		t.Errorf("%d KDF calls while the slot was held, want 1", got)
	}

	close(unblock)
	if err := <-first; err != nil {
		t.Fatalf("first Hash: %v", err)
	}

	// A dead context never starts work, even with a free slot.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, op := range ops {
		if err := op.run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with cancelled ctx: %v", op.name, err)
		}
	}
	if got := o.calls.Load(); got != 1 {
		t.Errorf("%d KDF calls, want 1", got)
	}
}

func TestDummyVerifyMatchesRealWork(t *testing.T) {
	h := New(testParams, 0)
	var got []Params
	h.kdf = func(pw, salt []byte, tm, m uint32, p uint8, n uint32) []byte {
		got = append(got, Params{Memory: m, Time: tm, Threads: p, SaltLen: uint32(len(salt)), KeyLen: n})
		return argon2.IDKey(pw, salt, tm, m, p, n)
	}
	if err := h.DummyVerify(context.Background(), "anything"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != testParams {
		t.Errorf("DummyVerify KDF calls %+v, want one with %+v", got, testParams)
	}
}

func TestNew(t *testing.T) {
	if got, want := cap(New(testParams, 0).sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("maxConcurrent 0: capacity %d, want GOMAXPROCS %d", got, want)
	}
	if got := cap(New(testParams, -3).sem); got != runtime.GOMAXPROCS(0) {
		t.Errorf("maxConcurrent -3: capacity %d", got)
	}
	if got := cap(New(testParams, 5).sem); got != 5 {
		t.Errorf("maxConcurrent 5: capacity %d", got)
	}
	if p := DefaultParams(); p != (Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Errorf("DefaultParams() = %+v", p)
	}
	for _, bad := range []Params{{}, {Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}, {Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", bad)
				}
			}()
			New(bad, 1)
		}()
	}
}
