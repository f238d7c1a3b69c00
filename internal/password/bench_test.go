package password

import (
	"context"
	"crypto/subtle"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// BenchmarkVerify and BenchmarkRawArgon2id do the same argon2id work at the
// default parameters; the difference is the Hasher's overhead (parsing,
// semaphore, comparison). The parallel variants run GOMAXPROCS goroutines,
// which is also the Hasher's default bound.
//
//	go test -bench . -benchtime=20x -run '^$' ./internal/password/

const benchPassword = "correct horse battery staple"

func BenchmarkVerify(b *testing.B) {
	h := New(DefaultParams(), 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	verify := func(b *testing.B) {
		ok, rehash, err := h.Verify(ctx, benchPassword, enc)
		if !ok || rehash || err != nil {
			b.Fatalf("Verify = %v, %v, %v", ok, rehash, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			verify(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				verify(b)
			}
		})
	})
}

func BenchmarkRawArgon2id(b *testing.B) {
	p := DefaultParams()
	salt := []byte("0123456789abcdef")
	want := argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	raw := func(b *testing.B) {
		key := argon2.IDKey([]byte(benchPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		if subtle.ConstantTimeCompare(key, want) != 1 {
			b.Fatal("mismatch")
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				raw(b)
			}
		})
	})
}

// BenchmarkVerifyOverhead measures everything Verify does besides argon2
// itself (parsing, semaphore, constant-time compare) by stubbing the KDF:
// a noise-free upper bound on the overhead, which the 20-iteration
// comparison above cannot resolve on a shared 2-core machine.
func BenchmarkVerifyOverhead(b *testing.B) {
	h := New(DefaultParams(), 0)
	enc, err := h.Hash(context.Background(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	ph, err := parseHash(enc)
	if err != nil {
		b.Fatal(err)
	}
	h.kdf = func(_, _ []byte, _, _ uint32, _ uint8, _ uint32) []byte { return ph.key }
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), benchPassword, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkVerifyVsRaw interleaves one Verify and one raw argon2.IDKey per
// iteration (alternating which goes first) and reports the medians and the
// median per-pair overhead. Pairing and medians make the comparison robust
// to load changing during the run, which on a shared machine swamps a 2%
// difference between two separately run benchmarks.
func BenchmarkVerifyVsRaw(b *testing.B) {
	p := DefaultParams()
	h := New(p, 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	ph, err := parseHash(enc)
	if err != nil {
		b.Fatal(err)
	}
	timed := func(f func()) float64 {
		start := time.Now()
		f()
		return float64(time.Since(start).Nanoseconds())
	}
	verify := func() {
		if ok, _, err := h.Verify(ctx, benchPassword, enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	raw := func() {
		key := argon2.IDKey([]byte(benchPassword), ph.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		if subtle.ConstantTimeCompare(key, ph.key) != 1 {
			b.Fatal("mismatch")
		}
	}
	var tv, tr, ratio []float64
	for b.Loop() {
		var v, r float64
		if len(tv)%2 == 0 {
			v, r = timed(verify), timed(raw)
		} else {
			r, v = timed(raw), timed(verify)
		}
		tv, tr, ratio = append(tv, v), append(tr, r), append(ratio, v/r)
	}
	b.ReportMetric(median(tv), "verify-ns/op")
	b.ReportMetric(median(tr), "raw-ns/op")
	b.ReportMetric(100*(median(ratio)-1), "overhead-%")
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
