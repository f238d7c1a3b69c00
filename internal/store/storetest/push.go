package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

func newPushChallenge(tenantID, userID string, at time.Time, ttl time.Duration) store.PushChallenge {
	return store.PushChallenge{ID: id(), TenantID: tenantID, UserID: userID, Purpose: "signin", Nonce: id(), Number: 42,
		AppName: "App", Location: "SE", IPAddress: "192.0.2.1", CorrelationID: "corr", Status: "pending", CreatedAt: at, ExpiresAt: at.Add(ttl)}
}

func testPush(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	u := NewUser(t, s, tn.ID, "push@"+tn.Domains[0])
	at := now()

	// Enrolment links: single use, before expiry, by token hash.
	en := store.PushEnrolment{ID: id(), TenantID: tn.ID, UserID: u.ID, TokenHash: "hash-1", CreatedAt: at, ExpiresAt: at.Add(time.Minute)}
	must(t, s.CreatePushEnrolment(ctx, en))
	_, err := s.UsePushEnrolment(ctx, tn.ID, "hash-1", at.Add(2*time.Minute))
	wantErr(t, err, store.ErrNotFound) // expired
	_, err = s.UsePushEnrolment(ctx, "other-tenant", "hash-1", at)
	wantErr(t, err, store.ErrNotFound)
	got, err := s.UsePushEnrolment(ctx, tn.ID, "hash-1", at)
	must(t, err)
	if got.ID != en.ID || got.UsedAt == nil {
		t.Fatalf("used link: %+v", got)
	}
	_, err = s.UsePushEnrolment(ctx, tn.ID, "hash-1", at)
	wantErr(t, err, store.ErrNotFound) // used
	must(t, s.SetPushEnrolmentResult(ctx, tn.ID, en.ID, "m", "d", "c"))
	if got, _ = s.GetPushEnrolment(ctx, tn.ID, en.ID); got.MethodID != "m" || got.DeviceID != "d" || got.ChallengeID != "c" {
		t.Fatalf("result: %+v", got)
	}

	// Devices live as long as their method.
	m := newMethod(tn.ID, u.ID, "microsoftAuthenticator")
	must(t, s.CreateMethod(ctx, m))
	dev := store.PushDevice{ID: id(), TenantID: tn.ID, UserID: u.ID, MethodID: m.ID, PublicKey: "key", CreatedAt: at}
	must(t, s.CreatePushDevice(ctx, dev))
	wantErr(t, s.CreatePushDevice(ctx, store.PushDevice{ID: id(), TenantID: tn.ID, UserID: u.ID, MethodID: "no-such-method", PublicKey: "k", CreatedAt: at}), store.ErrInvalid)
	gd, err := s.GetPushDevice(ctx, tn.ID, dev.ID)
	must(t, err)
	if gd.PublicKey != "key" || gd.MethodID != m.ID || !gd.CreatedAt.Equal(at) {
		t.Fatalf("device: %+v", gd)
	}
	_, err = s.GetPushDevice(ctx, "other-tenant", dev.ID)
	wantErr(t, err, store.ErrNotFound)
	ok, err := s.UsePushNonce(ctx, tn.ID, dev.ID, "nonce-1", at.Add(time.Minute))
	if err != nil || !ok {
		t.Fatalf("first nonce: %v %v", ok, err)
	}
	if ok, err = s.UsePushNonce(ctx, tn.ID, dev.ID, "nonce-1", at.Add(time.Minute)); err != nil || ok {
		t.Fatalf("replayed nonce: %v %v", ok, err)
	}
	must(t, s.DeleteMethod(ctx, tn.ID, m.ID))
	_, err = s.GetPushDevice(ctx, tn.ID, dev.ID)
	wantErr(t, err, store.ErrNotFound)

	// Challenges: one pending per user; an expired one makes room.
	c1 := newPushChallenge(tn.ID, u.ID, at, time.Minute)
	must(t, s.CreatePushChallenge(ctx, c1, at))
	wantErr(t, s.CreatePushChallenge(ctx, newPushChallenge(tn.ID, u.ID, at, time.Minute), at), store.ErrConflict)
	gc, err := s.GetPushChallenge(ctx, tn.ID, c1.ID)
	must(t, err)
	if gc.Number != 42 || gc.Status != "pending" || gc.AppName != "App" || gc.CorrelationID != "corr" || !gc.ExpiresAt.Equal(c1.ExpiresAt) {
		t.Fatalf("challenge: %+v", gc)
	}
	pend, err := s.PendingPushChallenges(ctx, tn.ID, u.ID, at)
	must(t, err)
	if len(pend) != 1 || pend[0].ID != c1.ID {
		t.Fatalf("pending: %+v", pend)
	}
	if pend, _ = s.PendingPushChallenges(ctx, tn.ID, u.ID, at.Add(2*time.Minute)); len(pend) != 0 {
		t.Fatalf("expired challenge listed: %+v", pend)
	}
	later := at.Add(2 * time.Minute)
	c2 := newPushChallenge(tn.ID, u.ID, later, time.Minute)
	must(t, s.CreatePushChallenge(ctx, c2, later))
	if gc, _ = s.GetPushChallenge(ctx, tn.ID, c1.ID); gc.Status != "expired" {
		t.Fatalf("old challenge: %s", gc.Status)
	}
	// Answers are single use, even when racing.
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.FinishPushChallenge(ctx, tn.ID, c2.ID, "approved", "dev", later)
			if err != nil {
				t.Error(err)
			}
			wins <- ok
		}()
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d answers won", n)
	}
	if gc, _ = s.GetPushChallenge(ctx, tn.ID, c2.ID); gc.Status != "approved" || gc.DeviceID != "dev" || gc.AnsweredAt == nil {
		t.Fatalf("answered: %+v", gc)
	}
	// A new push may follow an answered one at once.
	must(t, s.CreatePushChallenge(ctx, newPushChallenge(tn.ID, u.ID, later, time.Minute), later))

	// Clean-up removes ended rows.
	if n, err := s.DeleteExpiredPush(ctx, later.Add(time.Hour), later.Add(time.Hour)); err != nil || n < 4 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	_, err = s.GetPushChallenge(ctx, tn.ID, c1.ID)
	wantErr(t, err, store.ErrNotFound)

	// Risk detections.
	must(t, s.AddRiskDetection(ctx, store.RiskDetection{ID: id(), TenantID: tn.ID, UserID: u.ID, EventType: "userReportedSuspiciousActivity",
		Source: "push", IPAddress: "192.0.2.1", DetectedAt: at}))
	rs, err := s.ListRiskDetections(ctx, tn.ID, u.ID)
	must(t, err)
	if len(rs) != 1 || rs[0].EventType != "userReportedSuspiciousActivity" || !rs[0].DetectedAt.Equal(at) {
		t.Fatalf("risk: %+v", rs)
	}
	if rs, _ = s.ListRiskDetections(ctx, "other-tenant", u.ID); len(rs) != 0 {
		t.Fatal("risk detection leaked across tenants")
	}
}
