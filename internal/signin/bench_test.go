package signin_test

import (
	"net/http"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// The cost of a whole interactive sign-in with a second factor, through
// the JSON API on SQLite, next to the one argon2id verification it is
// built around, at the DEFAULT password parameters (m=19 MiB, t=2, p=1).
//
//	go test -run '^$' -bench 'SignInPasswordTOTP|RawArgon2id' -cpu 1 ./internal/signin

// benchParams are the shipped argon2id parameters, as the app reads them.
func benchParams(b *testing.B) (config.PasswordConfig, password.Params) {
	cfg := config.Default().Password
	p := password.DefaultParams()
	if cfg.Memory != p.Memory || cfg.Time != p.Time || cfg.Threads != p.Threads {
		b.Fatalf("config defaults %+v differ from password.DefaultParams %+v", cfg, p)
	}
	return cfg, p
}

// BenchmarkSignInPasswordTOTP: start, password, verify (a TOTP code) —
// three requests, one argon2id verification. ns/op is the sign-in alone.
// Each iteration also computes one bare argon2id hash (not timed in
// ns/op) right before its sign-in, and overhead-% is the median of
// (sign-in − argon2id) / argon2id over the pairs: neighbours' load on a
// shared machine hits both halves of a pair alike. cpu-overhead-% is the
// same ratio in CPU time used by the whole process (user + system, so
// the HTTP client, the collector and the sign-in log writer count too),
// which waiting for a busy machine's cores does not inflate.
func BenchmarkSignInPasswordTOTP(b *testing.B) {
	cfg, p := benchParams(b)
	e := newAPIEnv(b, storetest.SQLite(b), cfg)
	tid := e.tenant.ID
	e.securityDefaults(tid, false)
	const upn = "bench@contoso.com"
	u := e.user(tid, upn)
	sec := e.registerTOTP(tid, u)
	e.perUserMFA(tid, u)

	signIn := func() {
		// A code is accepted once: each sign-in of the user is in a new
		// 30-second step of the (fake) clock.
		e.clock.Advance(30 * time.Second)
		id := e.start(upn, "")
		r := e.step(id, "password", map[string]any{"password": apiPassword}, "")
		if r.Status != http.StatusOK || r.View.State != "mfa" {
			b.Fatalf("password: %s", r)
		}
		r = e.step(id, "verify", map[string]any{"code": e.code(sec)}, "")
		if r.Status != http.StatusOK || r.View.State != "done" || r.View.Session == nil {
			b.Fatalf("verify: %s", r)
		}
	}
	signIn() // warm up: connections, statement caches

	pw, salt := []byte(apiPassword), make([]byte, p.SaltLen)
	var overhead, cpuOverhead, raws, fulls []float64
	for b.Loop() {
		// Both halves start from a collected heap: otherwise whichever
		// runs first pays for faulting in fresh memory for its 19 MiB
		// and the second reuses it, which skews the ratio either way.
		b.StopTimer()
		runtime.GC()
		t0, c0 := time.Now(), processCPU(b)
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		raw, rawCPU := time.Since(t0), processCPU(b)-c0
		runtime.GC()
		b.StartTimer()
		t1, c1 := time.Now(), processCPU(b)
		signIn()
		full, fullCPU := time.Since(t1), processCPU(b)-c1
		overhead = append(overhead, float64(full-raw)/float64(raw)*100)
		cpuOverhead = append(cpuOverhead, float64(fullCPU-rawCPU)/float64(rawCPU)*100)
		raws, fulls = append(raws, float64(raw)), append(fulls, float64(full))
	}
	b.ReportMetric(benchMedian(overhead), "overhead-%")
	b.ReportMetric(benchMedian(cpuOverhead), "cpu-overhead-%")
	b.ReportMetric(benchMedian(raws), "argon2-median-ns")
	b.ReportMetric(benchMedian(fulls), "signin-median-ns")
}

// BenchmarkRawArgon2id is the bare argon2id computation at the same
// parameters.
func BenchmarkRawArgon2id(b *testing.B) {
	_, p := benchParams(b)
	pw, salt := []byte(apiPassword), make([]byte, p.SaltLen)
	for b.Loop() {
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}

// processCPU is the CPU time the process has used (user + system).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
