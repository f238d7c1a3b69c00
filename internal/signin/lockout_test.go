package signin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// Smart lockout (P-6.6, docs/signin-flow.md "Smart lockout"), through the
// JSON sign-in API on every store.

const (
	lkAnna     = "anna@contoso.com"
	lkOffice   = ""             // 127.0.0.1: the test client itself
	lkAttacker = "198.51.100.7" // never used in a successful sign-in
)

// apiWantLocked checks the answer to a locked account: 429 accountLocked
// with Retry-After = wait seconds.
func apiWantLocked(t testing.TB, r apiResp, wait int) {
	t.Helper()
	apiWantError(t, r, http.StatusTooManyRequests, "accountLocked")
	if got := r.Header.Get("Retry-After"); got != fmt.Sprint(wait) {
		t.Fatalf("Retry-After %q, want %d: %s", got, wait, r)
	}
}

// apiWantWrong checks the answer to a wrong password.
func apiWantWrong(t testing.TB, r apiResp) {
	t.Helper()
	apiWantError(t, r, http.StatusBadRequest, "invalidCredentials")
	if r.Err.Message != "Your user name or password is incorrect." {
		t.Fatalf("message %q", r.Err.Message)
	}
}

// apiWantDone checks a completed sign-in with a session.
func apiWantDone(t testing.TB, r apiResp) {
	t.Helper()
	if r.Status != http.StatusOK || r.View.State != "done" || r.View.Session == nil || r.View.Session.Token == "" {
		t.Fatalf("sign-in not done: %s", r)
	}
}

// fail sends n distinct wrong passwords for upn from ip and expects each
// to be answered as a wrong password.
func (e *apiEnv) fail(upn, ip, tag string, n int) {
	e.t.Helper()
	for i := range n {
		apiWantWrong(e.t, e.password(upn, fmt.Sprintf("wrong-%s-%d", tag, i), ip))
	}
}

// wantLock checks a record's lock.
func (e *apiEnv) wantLock(l store.Lockout, locks int, d time.Duration) {
	e.t.Helper()
	if l.Locks != locks || l.LockedUntil == nil || !l.LockedUntil.Equal(e.clock.Now().Add(d)) || l.HardLocked {
		e.t.Fatalf("lockout record %+v, want %d locks until now+%v (now %v)", l, locks, d, e.clock.Now())
	}
}

func TestLockout(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			// plain: security defaults off, so a right password signs in.
			plain := func(t *testing.T) *apiEnv {
				t.Parallel()
				e := newAPIEnv(t, b.New(t))
				e.securityDefaults(e.tenant.ID, false)
				e.user(e.tenant.ID, lkAnna)
				return e
			}

			t.Run("ten failures lock for 60s, the next lock for 120s", func(t *testing.T) {
				e := plain(t)
				e.fail(lkAnna, lkAttacker, "a", 10)
				apiWantLocked(t, e.password(lkAnna, "wrong-a-x", lkAttacker), 60)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 60) // even the right one
				l := e.lockout(lkAnna, "unfamiliar")
				e.wantLock(l, 1, 60*time.Second)
				if l.Failures != 0 || l.Consecutive != 10 {
					t.Fatalf("record %+v", l)
				}
				e.clock.Advance(59 * time.Second)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 1)

				e.clock.Advance(time.Second) // the lock ends
				e.fail(lkAnna, lkAttacker, "b", 10)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 120)
				e.wantLock(e.lockout(lkAnna, "unfamiliar"), 2, 120*time.Second)
				e.clock.Advance(120 * time.Second)
				apiWantDone(t, e.password(lkAnna, apiPassword, lkAttacker))
				if l := e.lockout(lkAnna, "unfamiliar"); l.Failures != 0 || l.Locks != 0 || l.LockedUntil != nil {
					t.Fatalf("not cleared by the sign-in: %+v", l)
				}

				codes := e.logCodes(lkAnna)
				if codes[signin.CodeInvalidCredentials] != 20 || codes[signin.CodeLocked] != 4 || codes[0] != 1 {
					t.Fatalf("sign-in log by error code: %v", codes)
				}
			})

			t.Run("the same wrong password counts once", func(t *testing.T) {
				e := plain(t)
				for range 15 {
					apiWantWrong(t, e.password(lkAnna, "Sommar2024!", lkAttacker))
				}
				if l := e.lockout(lkAnna, "unfamiliar"); l.Failures != 1 || l.Consecutive != 1 {
					t.Fatalf("a repeated password counted again: %+v", l)
				}
				e.fail(lkAnna, lkAttacker, "a", 8)
				apiWantWrong(t, e.password(lkAnna, "Sommar2024!", lkAttacker)) // still once: 9 failures
				if l := e.lockout(lkAnna, "unfamiliar"); l.Failures != 9 || l.LockedUntil != nil {
					t.Fatalf("record %+v", l)
				}
				e.fail(lkAnna, lkAttacker, "b", 1) // the tenth distinct one locks
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 60)
				// Every attempt is logged, repeated ones too.
				if codes := e.logCodes(lkAnna); codes[signin.CodeInvalidCredentials] != 25 || codes[signin.CodeLocked] != 1 {
					t.Fatalf("sign-in log by error code: %v", codes)
				}
			})

			t.Run("familiar and unfamiliar networks lock apart", func(t *testing.T) {
				e := plain(t)
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice)) // 127.0.0.0/24 becomes familiar

				// An lkAttacker elsewhere locks only the unfamiliar scope...
				e.fail(lkAnna, lkAttacker, "a", 10)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 60)
				apiWantLocked(t, e.password(lkAnna, apiPassword, "198.51.100.200"), 60) // the whole unfamiliar scope
				if l := e.lockout(lkAnna, "familiar"); l.Failures != 0 || l.LockedUntil != nil {
					t.Fatalf("familiar scope touched by unfamiliar failures: %+v", l)
				}
				// ...so the user at the lkOffice still signs in, and doing so
				// does not lift the lock the attacker ran into elsewhere.
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice))
				if l := e.lockout(lkAnna, "unfamiliar"); l.LockedUntil == nil || !e.clock.Now().Before(*l.LockedUntil) {
					t.Fatalf("a success at the office lifted the lock elsewhere: %+v", l)
				}
				e.clock.Advance(61 * time.Second)

				// And the other way round: failures at the lkOffice do not
				// lock the user out of a new network.
				e.fail(lkAnna, lkOffice, "b", 10)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkOffice), 60)
				if l := e.lockout(lkAnna, "unfamiliar"); l.LockedUntil != nil && e.clock.Now().Before(*l.LockedUntil) {
					t.Fatalf("unfamiliar scope locked by familiar failures: %+v", l)
				}
				apiWantDone(t, e.password(lkAnna, apiPassword, "203.0.113.9"))
			})

			t.Run("an unknown name locks exactly like a known one", func(t *testing.T) {
				e := plain(t)
				for i := range 12 {
					pw := fmt.Sprintf("guess-%d", i)
					known := e.password(lkAnna, pw, lkAttacker)
					unknown := e.password("nobody@contoso.com", pw, lkAttacker)
					if known.Status != unknown.Status || known.Err != unknown.Err ||
						known.Header.Get("Retry-After") != unknown.Header.Get("Retry-After") {
						t.Fatalf("attempt %d: known %s (Retry-After %q), unknown %s (Retry-After %q)", i+1,
							known, known.Header.Get("Retry-After"), unknown, unknown.Header.Get("Retry-After"))
					}
					if i < 10 {
						apiWantWrong(t, known)
					} else {
						apiWantLocked(t, known, 60)
					}
				}
				// The account's right password is refused like any guess.
				known := e.password(lkAnna, apiPassword, lkAttacker)
				unknown := e.password("NOBODY@contoso.com", apiPassword, lkAttacker)
				apiWantLocked(t, known, 60)
				if known.Err != unknown.Err {
					t.Fatalf("known %s, unknown %s", known, unknown)
				}
				k, u := e.lockout(lkAnna, "unfamiliar"), e.lockout("nobody@contoso.com", "unfamiliar")
				if k.Locks != 1 || u.Locks != 1 || k.Consecutive != u.Consecutive || !k.LockedUntil.Equal(*u.LockedUntil) {
					t.Fatalf("records differ: known %+v, unknown %+v", k, u)
				}
			})

			t.Run("100 consecutive failures lock until an administrator unlocks", func(t *testing.T) {
				e := plain(t)
				for round := range 10 {
					e.fail(lkAnna, lkAttacker, fmt.Sprint(round), 10)
					r := e.password(lkAnna, apiPassword, lkAttacker)
					lock := 60 << round // seconds: 60, 120, 240, …
					if round < 9 {
						apiWantLocked(t, r, lock)
						e.wantLock(e.lockout(lkAnna, "unfamiliar"), round+1, time.Duration(lock)*time.Second)
					} else {
						apiWantError(t, r, http.StatusForbidden, "accountLocked")
					}
					e.clock.Advance(time.Duration(lock)*time.Second + time.Second)
				}
				// Long after the last timed lock, still refused, without a
				// time to come back.
				e.clock.Advance(48 * time.Hour)
				r := e.password(lkAnna, apiPassword, lkAttacker)
				apiWantError(t, r, http.StatusForbidden, "accountLocked")
				if r.Header.Get("Retry-After") != "" {
					t.Fatalf("Retry-After on a hard lock: %q", r.Header.Get("Retry-After"))
				}
				l := e.lockout(lkAnna, "unfamiliar")
				if !l.HardLocked || l.Consecutive != 100 {
					t.Fatalf("record %+v", l)
				}
				if err := e.st.ClearLockouts(e.ctx, e.tenant.ID, apiLockKey(lkAnna), ""); err != nil {
					t.Fatal(err)
				}
				apiWantDone(t, e.password(lkAnna, apiPassword, lkAttacker))
				if codes := e.logCodes(lkAnna); codes[signin.CodeInvalidCredentials] != 100 || codes[signin.CodeLocked] != 11 {
					t.Fatalf("sign-in log by error code: %v", codes)
				}
			})

			t.Run("a successful sign-in clears the failures and the lock growth", func(t *testing.T) {
				e := plain(t)
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice)) // failures below are all "familiar"
				e.fail(lkAnna, lkOffice, "a", 9)
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice))
				if l := e.lockout(lkAnna, "familiar"); l != (store.Lockout{TenantID: l.TenantID, UserID: l.UserID, Scope: l.Scope}) {
					t.Fatalf("not cleared: %+v", l)
				}
				e.fail(lkAnna, lkOffice, "b", 9) // 9 + 9 would lock, had the first 9 stayed
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice))

				e.fail(lkAnna, lkOffice, "c", 10)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkOffice), 60)
				e.clock.Advance(61 * time.Second)
				apiWantDone(t, e.password(lkAnna, apiPassword, lkOffice))
				e.fail(lkAnna, lkOffice, "d", 10)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkOffice), 60) // 60 again, not 120
			})

			t.Run("wrong codes at the second factor count too", func(t *testing.T) {
				e := plain(t)
				u, err := e.st.UserByUPN(e.ctx, e.tenant.ID, lkAnna)
				if err != nil {
					t.Fatal(err)
				}
				sec := e.registerTOTP(e.tenant.ID, u)
				e.perUserMFA(e.tenant.ID, u)

				flow := e.start(lkAnna, lkAttacker)
				r := e.step(flow, "password", map[string]any{"password": apiPassword}, lkAttacker)
				if r.Status != http.StatusOK || r.View.State != "mfa" || r.View.MFA == nil || r.View.MFA.Selected != "oath" {
					t.Fatalf("password: %s", r)
				}
				for i := range 10 {
					r := e.step(flow, "verify", map[string]any{"code": e.wrongCode(sec, i)}, lkAttacker)
					apiWantError(t, r, http.StatusBadRequest, "invalidCode")
				}
				apiWantLocked(t, e.step(flow, "verify", map[string]any{"code": e.code(sec)}, lkAttacker), 60)
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 60)
				e.wantLock(e.lockout(lkAnna, "unfamiliar"), 1, 60*time.Second)
				if codes := e.logCodes(lkAnna); codes[signin.CodeMFAFailed] != 10 {
					t.Fatalf("sign-in log by error code: %v", codes)
				}

				// Password and code failures add up: 5 + 5 lock again.
				e.clock.Advance(16 * time.Minute) // past the lock and the code throttle
				e.fail(lkAnna, lkAttacker, "a", 5)
				flow = e.start(lkAnna, lkAttacker)
				if r := e.step(flow, "password", map[string]any{"password": apiPassword}, lkAttacker); r.View.State != "mfa" {
					t.Fatalf("password: %s", r)
				}
				for i := range 5 {
					r := e.step(flow, "verify", map[string]any{"code": e.wrongCode(sec, 100+i)}, lkAttacker)
					apiWantError(t, r, http.StatusBadRequest, "invalidCode")
				}
				apiWantLocked(t, e.step(flow, "verify", map[string]any{"code": e.code(sec)}, lkAttacker), 120)
			})

			t.Run("TAP guesses lock an unknown name like a known one", func(t *testing.T) {
				e := plain(t)
				tap := func(upn, pass string) apiResp {
					return e.step(e.start(upn, lkAttacker), "tap", map[string]any{"temporaryAccessPass": pass}, lkAttacker)
				}
				for _, disabled := range []bool{false, true} {
					if disabled {
						e.clock.Advance(time.Hour) // past the locks of the first round
						e.disableTAP()
					}
					for i := range 12 {
						pass := fmt.Sprintf("GUESS%d-%v", i, disabled)
						known, unknown := tap(lkAnna, pass), tap("nobody@contoso.com", pass)
						if known.Status != unknown.Status || known.Err != unknown.Err ||
							known.Header.Get("Retry-After") != unknown.Header.Get("Retry-After") {
							t.Fatalf("TAP disabled=%v, attempt %d: known %s, unknown %s", disabled, i+1, known, unknown)
						}
						if i < 10 {
							apiWantWrong(t, known)
						} else {
							apiWantLocked(t, known, 60<<btoi(disabled))
						}
					}
				}
			})

			t.Run("a store failure is not logged as a lockout", func(t *testing.T) {
				t.Parallel()
				st := &brokenLockouts{Store: b.New(t)}
				e := newAPIEnv(t, st)
				e.securityDefaults(e.tenant.ID, false)
				e.user(e.tenant.ID, lkAnna)
				e.allow5xx = true
				st.broken.Store(true)
				if r := e.password(lkAnna, apiPassword, lkOffice); r.Status != http.StatusInternalServerError {
					t.Fatalf("with the lockout table down: %s", r)
				}
				if codes := e.logCodes(lkAnna); codes[signin.CodeLocked] != 0 {
					t.Fatalf("a database error was logged as a locked account: %v", codes)
				}
			})

			t.Run("parallel failures are all counted and lock once", func(t *testing.T) {
				e := plain(t)
				const n = 50
				flows := make([]string, n)
				for i := range flows {
					flows[i] = e.start(lkAnna, lkAttacker)
				}
				results := make([]apiResp, n)
				var wg sync.WaitGroup
				gate := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-gate
						results[i] = e.step(flows[i], "password", map[string]any{"password": fmt.Sprintf("parallel-%d", i)}, lkAttacker)
					})
				}
				close(gate)
				wg.Wait()
				wrong, locked := 0, 0
				for _, r := range results {
					switch {
					case r.Status == http.StatusBadRequest && r.Err.Code == "invalidCredentials":
						wrong++
					case r.Status == http.StatusTooManyRequests && r.Err.Code == "accountLocked":
						locked++
					default:
						t.Errorf("unexpected answer %s", r)
					}
				}
				l := e.lockout(lkAnna, "unfamiliar")
				t.Logf("%d wrong, %d locked; record %+v", wrong, locked, l)
				if wrong < 10 {
					t.Fatalf("only %d of %d failures answered", wrong, n)
				}
				if l.Consecutive != wrong {
					t.Errorf("counter lost failures: %d counted, %d answered as wrong", l.Consecutive, wrong)
				}
				if l.Locks != 1 || l.LockedUntil == nil || !l.LockedUntil.Equal(e.clock.Now().Add(time.Minute)) || l.Failures >= 10 || l.HardLocked {
					t.Errorf("parallel failures left %d locks (want exactly one of 60 s): %+v", l.Locks, l)
				}
				apiWantLocked(t, e.password(lkAnna, apiPassword, lkAttacker), 60)
				codes := e.logCodes(lkAnna)
				if codes[signin.CodeInvalidCredentials] != wrong || codes[signin.CodeLocked] != locked+1 {
					t.Errorf("sign-in log by error code: %v (answers: %d wrong, %d locked)", codes, wrong, locked)
				}
			})
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// brokenLockouts is a store whose lockout records cannot be read while
// broken is set.
type brokenLockouts struct {
	store.Store
	broken atomic.Bool
}

func (s *brokenLockouts) GetLockout(ctx context.Context, tenantID, userID, scope string) (store.Lockout, error) {
	if s.broken.Load() {
		return store.Lockout{}, errors.New("lockouts: connection refused")
	}
	return s.Store.GetLockout(ctx, tenantID, userID, scope)
}
