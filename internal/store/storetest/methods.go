package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

func newMethod(tenantID, userID, kind string) store.Method {
	return store.Method{ID: id(), TenantID: tenantID, UserID: userID, Kind: kind, State: store.MethodActive, CreatedAt: now()}
}

func testMethods(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "m@contoso.com")
	phone := newMethod(tn.ID, u.ID, "phone")
	phone.Props = store.MethodProps{PhoneNumber: "+46701234567", PhoneType: "mobile"}
	phone.UniqueKey = "phone:" + u.ID + ":mobile"
	must(t, s.CreateMethod(ctx, phone))
	dup := newMethod(tn.ID, u.ID, "phone")
	dup.UniqueKey = phone.UniqueKey
	wantErr(t, s.CreateMethod(ctx, dup), store.ErrConflict)

	exp := now().Add(10 * time.Minute)
	totp := newMethod(tn.ID, u.ID, "softwareOath")
	totp.State, totp.Secret, totp.ExpiresAt = store.MethodPending, "v1:sealed", &exp
	totp.Props = store.MethodProps{Algorithm: "SHA1", Digits: 6, Period: 30}
	must(t, s.CreateMethod(ctx, totp))
	got, err := s.GetMethod(ctx, tn.ID, totp.ID)
	must(t, err)
	if got.Secret != "v1:sealed" || got.Props.Digits != 6 || got.State != store.MethodPending || got.ExpiresAt == nil {
		t.Fatalf("GetMethod = %+v", got)
	}
	byKey, err := s.MethodByUniqueKey(ctx, tn.ID, phone.UniqueKey)
	must(t, err)
	if byKey.ID != phone.ID || byKey.Props.PhoneNumber != "+46701234567" {
		t.Fatalf("MethodByUniqueKey = %+v", byKey)
	}
	list, err := s.ListMethods(ctx, tn.ID, u.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != phone.ID {
		t.Fatalf("ListMethods = %+v", list)
	}
	upd, err := s.UpdateMethod(ctx, tn.ID, totp.ID, func(m *store.Method) error {
		m.State, m.ExpiresAt, m.LastStep = store.MethodActive, nil, 999 // LastStep is ignored
		return nil
	})
	must(t, err)
	if upd.State != store.MethodActive || upd.ExpiresAt != nil || upd.LastStep != 0 {
		t.Fatalf("UpdateMethod = %+v", upd)
	}

	must(t, s.SetDefaultMethod(ctx, tn.ID, u.ID, phone.ID))
	must(t, s.SetDefaultMethod(ctx, tn.ID, u.ID, totp.ID))
	list, _ = s.ListMethods(ctx, tn.ID, u.ID)
	if list[0].IsDefault || !list[1].IsDefault {
		t.Fatal("two defaults, or the wrong one")
	}
	other := NewUser(t, s, tn.ID, "other@contoso.com")
	wantErr(t, s.SetDefaultMethod(ctx, tn.ID, other.ID, totp.ID), store.ErrInvalid)

	ok, err := s.AdvanceStep(ctx, tn.ID, totp.ID, 100, now())
	must(t, err)
	again, _ := s.AdvanceStep(ctx, tn.ID, totp.ID, 100, now())
	older, _ := s.AdvanceStep(ctx, tn.ID, totp.ID, 99, now())
	newer, _ := s.AdvanceStep(ctx, tn.ID, totp.ID, 101, now())
	if !ok || again || older || !newer {
		t.Fatalf("AdvanceStep: %v %v %v %v", ok, again, older, newer)
	}

	past := now().Add(-time.Minute)
	stale := newMethod(tn.ID, u.ID, "softwareOath")
	stale.State, stale.ExpiresAt = store.MethodPending, &past
	must(t, s.CreateMethod(ctx, stale))
	n, err := s.DeleteExpiredMethods(ctx, now())
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteExpiredMethods = %d", n)
	}

	// Unassigned hardware tokens have no user and page by kind.
	for range 5 {
		hw := newMethod(tn.ID, "", "hardwareOath")
		hw.State = store.MethodUnassigned
		hw.UniqueKey = "serial:" + hw.ID
		must(t, s.CreateMethod(ctx, hw))
	}
	p, err := s.ListMethodsByKind(ctx, tn.ID, "hardwareOath", store.ListQuery{Limit: 3})
	must(t, err)
	p2, err := s.ListMethodsByKind(ctx, tn.ID, "hardwareOath", store.ListQuery{Limit: 3, After: p.Next})
	must(t, err)
	if len(p.Items) != 3 || len(p2.Items) != 2 || p2.Next != "" || p.Items[0].UserID != "" {
		t.Fatalf("ListMethodsByKind pages %d %d", len(p.Items), len(p2.Items))
	}

	must(t, s.DeleteMethod(ctx, tn.ID, phone.ID))
	wantErr(t, s.DeleteMethod(ctx, tn.ID, phone.ID), store.ErrNotFound)
	// Another tenant sees none of it.
	b := NewTenant(t, s)
	_, err = s.GetMethod(ctx, b.ID, totp.ID)
	wantErr(t, err, store.ErrNotFound)
	if ms, _ := s.ListMethods(ctx, b.ID, u.ID); len(ms) != 0 {
		t.Fatal("ListMethods crossed tenants")
	}
	if ok, _ := s.AdvanceStep(ctx, b.ID, totp.ID, 1000, now()); ok {
		t.Fatal("AdvanceStep crossed tenants")
	}
}

// testConcurrentStep fires the same step from 50 goroutines: exactly one
// may win (a TOTP code is single-use, P-2.6).
func testConcurrentStep(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "race@contoso.com")
	m := newMethod(tn.ID, u.ID, "softwareOath")
	must(t, s.CreateMethod(ctx, m))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AdvanceStep(ctx, tn.ID, m.ID, 57000000, now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of 50 identical steps accepted", wins.Load())
	}
}

// testUserLock: a limit checked under LockUser holds under concurrency.
func testUserLock(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "lock@contoso.com")
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Store) error {
				if err := tx.LockUser(ctx, tn.ID, u.ID); err != nil {
					return err
				}
				ms, err := tx.ListMethods(ctx, tn.ID, u.ID)
				if err != nil {
					return err
				}
				if len(ms) >= 5 {
					return errLimit
				}
				return tx.CreateMethod(ctx, newMethod(tn.ID, u.ID, "softwareOath"))
			})
			if err != nil && !errors.Is(err, errLimit) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ms, _ := s.ListMethods(ctx, tn.ID, u.ID)
	if len(ms) != 5 {
		t.Fatalf("%d methods after racing to a limit of 5", len(ms))
	}
	if err := s.LockUser(ctx, tn.ID, u.ID); err == nil {
		t.Fatal("LockUser outside a transaction must fail")
	}
}

var errLimit = errors.New("limit")

func testOTP(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "otp@contoso.com")
	c := store.OTPChallenge{ID: id(), TenantID: tn.ID, UserID: u.ID, Channel: "sms", Purpose: "mfa",
		Destination: "+46701234567", CodeHash: "h", CreatedAt: now(), ExpiresAt: now().Add(10 * time.Minute)}
	must(t, s.CreateOTP(ctx, c))
	for i := 1; i <= 5; i++ {
		got, err := s.AttemptOTP(ctx, tn.ID, c.ID, now(), 5)
		must(t, err)
		if got.Attempts != i {
			t.Fatalf("attempt %d counted as %d", i, got.Attempts)
		}
	}
	_, err := s.AttemptOTP(ctx, tn.ID, c.ID, now(), 5)
	wantErr(t, err, store.ErrExhausted)

	c2 := c
	c2.ID = id()
	must(t, s.CreateOTP(ctx, c2))
	ok, err := s.ConsumeOTP(ctx, tn.ID, c2.ID, now())
	must(t, err)
	again, _ := s.ConsumeOTP(ctx, tn.ID, c2.ID, now())
	if !ok || again {
		t.Fatalf("ConsumeOTP %v %v", ok, again)
	}
	_, err = s.AttemptOTP(ctx, tn.ID, c2.ID, now(), 5)
	wantErr(t, err, store.ErrNotFound) // consumed
	_, err = s.AttemptOTP(ctx, tn.ID, c.ID, now().Add(time.Hour), 5)
	wantErr(t, err, store.ErrNotFound) // expired

	// Parallel guesses never exceed the limit.
	c3 := c
	c3.ID = id()
	must(t, s.CreateOTP(ctx, c3))
	var counted atomic.Int32
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AttemptOTP(ctx, tn.ID, c3.ID, now(), 5); err == nil {
				counted.Add(1)
			} else if !errors.Is(err, store.ErrExhausted) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if counted.Load() != 5 {
		t.Fatalf("%d parallel attempts counted, limit 5", counted.Load())
	}
	c4 := c
	c4.ID = id()
	must(t, s.CreateOTP(ctx, c4))
	set, err := s.SetOTPOutcome(ctx, tn.ID, c4.ID, "approved", now())
	must(t, err)
	setAgain, _ := s.SetOTPOutcome(ctx, tn.ID, c4.ID, "denied", now())
	got4, _ := s.GetOTP(ctx, tn.ID, c4.ID)
	if !set || setAgain || got4.Outcome != "approved" || got4.ConsumedAt == nil {
		t.Fatalf("SetOTPOutcome: %v %v %+v", set, setAgain, got4)
	}
	n, err := s.DeleteExpiredOTPs(ctx, now().Add(time.Hour))
	must(t, err)
	if n != 4 {
		t.Fatalf("DeleteExpiredOTPs = %d", n)
	}
}

func testCounters(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Hit(ctx, tn.ID, "send:user", time.Minute, base.Add(10*time.Second), 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, reset, err := s.Count(ctx, tn.ID, "send:user", time.Minute, base.Add(30*time.Second))
	must(t, err)
	if n != 20 || !reset.Equal(base.Add(time.Minute)) {
		t.Fatalf("Count = %d, %v", n, reset)
	}
	n, _, _ = s.Hit(ctx, tn.ID, "send:user", time.Minute, base.Add(61*time.Second), 1)
	if n != 1 {
		t.Fatalf("new window starts at %d", n)
	}
	other := NewTenant(t, s)
	if n, _, _ := s.Count(ctx, other.ID, "send:user", time.Minute, base); n != 0 {
		t.Fatal("counter crossed tenants")
	}
	d, err := s.DeleteExpiredCounters(ctx, base.Add(time.Hour))
	must(t, err)
	if d != 2 {
		t.Fatalf("DeleteExpiredCounters = %d", d)
	}
}

func testSettings(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	_, err := s.GetSetting(ctx, tn.ID, "securityQuestions")
	wantErr(t, err, store.ErrNotFound)
	v, err := s.UpdateSetting(ctx, tn.ID, "securityQuestions", func(old []byte) ([]byte, error) {
		if old != nil {
			t.Fatal("old value for a new setting")
		}
		return []byte(`{"required":3}`), nil
	})
	must(t, err)
	got, _ := s.GetSetting(ctx, tn.ID, "securityQuestions")
	if string(got) != string(v) {
		t.Fatalf("GetSetting = %s", got)
	}
	_, err = s.UpdateSetting(ctx, tn.ID, "x", func([]byte) ([]byte, error) { return []byte("not json"), nil })
	if err == nil {
		t.Fatal("non-JSON setting stored")
	}
	other := NewTenant(t, s)
	_, err = s.GetSetting(ctx, other.ID, "securityQuestions")
	wantErr(t, err, store.ErrNotFound)
}
