package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

func testUserSignInFields(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "prefs@contoso.com")
	if u.PreferredMFA != "" || u.SystemPreferredMFA != nil || u.MFAGraceStartedAt != nil {
		t.Fatalf("new user %+v", u)
	}
	grace, off := now(), false
	_, err := s.UpdateUser(ctx, tn.ID, u.ID, func(u *store.User) error {
		u.PreferredMFA, u.SystemPreferredMFA, u.MFAGraceStartedAt, u.RegistrationSnoozedUntil = "sms", &off, &grace, &grace
		return nil
	})
	must(t, err)
	got, _ := s.GetUser(ctx, tn.ID, u.ID)
	if got.PreferredMFA != "sms" || got.SystemPreferredMFA == nil || *got.SystemPreferredMFA || !got.MFAGraceStartedAt.Equal(grace) || got.RegistrationSnoozedUntil == nil {
		t.Fatalf("after update %+v", got)
	}
}

func testFlows(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	f := store.Flow{ID: id(), TenantID: tn.ID, State: "identify", CreatedAt: now(), UpdatedAt: now(), ExpiresAt: now().Add(10 * time.Minute)}
	must(t, s.CreateFlow(ctx, f))
	got, err := s.GetFlow(ctx, tn.ID, f.ID, now())
	must(t, err)
	if got.State != "identify" || got.Version != 0 || string(got.Data) != "{}" {
		t.Fatalf("GetFlow %+v", got)
	}
	// Two requests read version 0; only one may advance it.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := got
			g.State, g.Data, g.UpdatedAt = "password", []byte(fmt.Sprintf(`{"n":%d}`, i)), now()
			errs[i] = s.UpdateFlow(ctx, g)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent updates of one version succeeded", ok)
	}
	got, _ = s.GetFlow(ctx, tn.ID, f.ID, now())
	if got.Version != 1 || got.State != "password" {
		t.Fatalf("after update %+v", got)
	}
	_, err = s.GetFlow(ctx, tn.ID, f.ID, now().Add(time.Hour))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetFlow(ctx, NewTenant(t, s).ID, f.ID, now())
	wantErr(t, err, store.ErrNotFound)
	n, err := s.DeleteExpiredFlows(ctx, now().Add(time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteExpiredFlows = %d", n)
	}
}

func testSessions(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "sess@contoso.com")
	mk := func() store.Session {
		return store.Session{ID: id(), TenantID: tn.ID, UserID: u.ID, CreatedAt: now(), LastSeenAt: now(), AuthAt: now(),
			ExpiresAt: now().Add(time.Hour), Methods: []string{"pwd"}}
	}
	a, b := mk(), mk()
	must(t, s.CreateSession(ctx, a))
	must(t, s.CreateSession(ctx, b))
	mfa := now()
	upd, err := s.UpdateSession(ctx, tn.ID, a.ID, func(x *store.Session) error {
		x.MFAAt, x.Methods = &mfa, append(x.Methods, "otp", "mfa")
		return nil
	})
	must(t, err)
	got, err := s.GetSession(ctx, tn.ID, a.ID, now())
	must(t, err)
	if got.MFAAt == nil || len(got.Methods) != 3 || len(upd.Methods) != 3 {
		t.Fatalf("session %+v", got)
	}
	n, err := s.RevokeUserSessions(ctx, tn.ID, u.ID, now())
	must(t, err)
	if n != 2 {
		t.Fatalf("revoked %d", n)
	}
	_, err = s.GetSession(ctx, tn.ID, a.ID, now())
	wantErr(t, err, store.ErrNotFound)
	d, err := s.DeleteExpiredSessions(ctx, now())
	must(t, err)
	if d != 2 {
		t.Fatalf("DeleteExpiredSessions = %d", d)
	}
}

func testSignIns(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	base := now()
	var batch []store.SignIn
	for i := range 25 {
		e := store.SignIn{ID: id(), TenantID: tn.ID, CreatedAt: base.Add(time.Duration(i) * time.Second), UserID: "u1",
			UserPrincipalName: "Anna@Contoso.com", AppID: "app", IPAddress: "192.0.2.1", ClientAppUsed: "Browser",
			CorrelationID: id(), IsInteractive: true, ConditionalAccessStatus: "notApplied",
			AuthDetails:               []store.AuthDetail{{Method: "Password", Succeeded: true, At: base}},
			AuthenticationRequirement: "singleFactorAuthentication", Device: store.SignInDevice{Browser: "Firefox"}}
		if i%5 == 0 {
			e.ErrorCode, e.FailureReason = 50126, "Invalid username or password."
		}
		batch = append(batch, e)
	}
	must(t, s.AppendSignIns(ctx, batch))
	p, err := s.ListSignIns(ctx, tn.ID, store.ListQuery{Limit: 10})
	must(t, err)
	if len(p.Items) != 10 || p.Next == "" || !p.Items[0].CreatedAt.Equal(batch[24].CreatedAt) {
		t.Fatalf("first page: %d items", len(p.Items))
	}
	got := p.Items[0]
	if got.Device.Browser != "Firefox" || len(got.AuthDetails) != 1 || got.AuthenticationRequirement != "singleFactorAuthentication" {
		t.Fatalf("details lost: %+v", got)
	}
	f := store.Filter{Op: store.FilterAnd, Args: []store.Filter{
		{Op: store.FilterEq, Field: "userPrincipalName", Value: "anna@contoso.com"},
		{Op: store.FilterNe, Field: "errorCode", Value: "0"},
	}}
	p, err = s.ListSignIns(ctx, tn.ID, store.ListQuery{Filter: &f, WantCount: true})
	must(t, err)
	if p.Count != 5 {
		t.Fatalf("failed sign-ins = %d", p.Count)
	}
	one, err := s.GetSignIn(ctx, tn.ID, batch[3].ID)
	must(t, err)
	if one.CorrelationID != batch[3].CorrelationID {
		t.Fatal("GetSignIn")
	}
	_, err = s.GetSignIn(ctx, NewTenant(t, s).ID, batch[3].ID)
	wantErr(t, err, store.ErrNotFound)
}

func testLockouts(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	l, err := s.GetLockout(ctx, tn.ID, "u", "familiar")
	must(t, err)
	if l.Failures != 0 || l.LockedUntil != nil {
		t.Fatalf("clean record %+v", l)
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateLockout(ctx, tn.ID, "u", "familiar", func(l *store.Lockout) error {
				l.Failures++
				l.Consecutive++
				l.UpdatedAt = now()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, _ = s.GetLockout(ctx, tn.ID, "u", "familiar")
	other, _ := s.GetLockout(ctx, tn.ID, "u", "unfamiliar")
	if l.Failures != 40 || l.Consecutive != 40 || other.Failures != 0 {
		t.Fatalf("after 40 parallel failures: %+v / %+v", l, other)
	}
	until := now().Add(time.Minute)
	_, err = s.UpdateLockout(ctx, tn.ID, "u", "familiar", func(l *store.Lockout) error { l.LockedUntil, l.HardLocked = &until, true; return nil })
	must(t, err)
	l, _ = s.GetLockout(ctx, tn.ID, "u", "familiar")
	if l.LockedUntil == nil || !l.HardLocked {
		t.Fatalf("lock not stored %+v", l)
	}
	_, err = s.UpdateLockout(ctx, tn.ID, "u", "unfamiliar", func(l *store.Lockout) error { l.Failures = 3; return nil })
	must(t, err)
	must(t, s.ClearLockouts(ctx, tn.ID, "u", "familiar"))
	if l, _ := s.GetLockout(ctx, tn.ID, "u", "unfamiliar"); l.Failures != 3 {
		t.Fatal("clearing one scope cleared another")
	}
	must(t, s.ClearLockouts(ctx, tn.ID, "u", ""))
	l, _ = s.GetLockout(ctx, tn.ID, "u", "familiar")
	if l.Failures != 0 || l.HardLocked {
		t.Fatal("ClearLockouts")
	}
}
