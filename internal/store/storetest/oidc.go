package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/store"
)

func testAppRegistry(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	a := store.App{ID: id(), TenantID: tn.ID, AppID: id(), DisplayName: "Portal", CreatedAt: now(),
		SPARedirectURIs: []string{"https://spa.example/cb"}}
	must(t, s.CreateApp(ctx, a))
	got, err := s.AppByID(ctx, tn.ID, a.ID)
	must(t, err)
	if !slices.Equal(got.SPARedirectURIs, a.SPARedirectURIs) || len(got.PublicClientRedirectURIs) != 0 || len(got.Passwords) != 0 {
		t.Fatalf("AppByID = %+v", got)
	}
	end := now().Add(time.Hour)
	upd, err := s.UpdateApp(ctx, tn.ID, a.ID, func(x *store.App) error {
		x.DisplayName, x.AppID = "Portal 2", "changed"
		x.PublicClientRedirectURIs = []string{"http://localhost/cb"}
		x.Passwords = append(x.Passwords, store.PasswordCredential{KeyID: id(), Hint: "abc", Hash: "h", StartAt: now(), EndAt: end})
		return nil
	})
	must(t, err)
	got, _ = s.AppByAppID(ctx, tn.ID, a.AppID)
	if upd.AppID != a.AppID || got.DisplayName != "Portal 2" || len(got.Passwords) != 1 || !got.Passwords[0].EndAt.Equal(end) ||
		!slices.Equal(got.PublicClientRedirectURIs, []string{"http://localhost/cb"}) {
		t.Fatalf("after update %+v", got)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateApp(ctx, tn.ID, a.ID, func(x *store.App) error { x.DisplayName = "no"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v", err)
	}
	other := NewTenant(t, s)
	wantErr(t, func() error { _, err := s.AppByID(ctx, other.ID, a.ID); return err }(), store.ErrNotFound)
	wantErr(t, s.DeleteApp(ctx, other.ID, a.ID), store.ErrNotFound)
	must(t, s.DeleteApp(ctx, tn.ID, a.ID))
	wantErr(t, s.DeleteApp(ctx, tn.ID, a.ID), store.ErrNotFound)
}

func testAuthRequests(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	r := store.AuthRequest{ID: id(), TenantID: tn.ID, ClientID: "c", Data: []byte(`{"a":1}`), CreatedAt: now(), ExpiresAt: now().Add(time.Minute)}
	must(t, s.CreateAuthRequest(ctx, r))
	got, err := s.GetAuthRequest(ctx, tn.ID, r.ID, now())
	must(t, err)
	if string(got.Data) != `{"a":1}` || got.CodeHash != "" || got.ClientID != "c" {
		t.Fatalf("GetAuthRequest %+v", got)
	}
	wantErr(t, func() error { _, err := s.GetAuthRequest(ctx, tn.ID, r.ID, now().Add(2*time.Minute)); return err }(), store.ErrNotFound)
	wantErr(t, func() error { _, err := s.GetAuthRequest(ctx, NewTenant(t, s).ID, r.ID, now()); return err }(), store.ErrNotFound)
	must(t, s.SetAuthRequestData(ctx, tn.ID, r.ID, []byte(`{"done":true}`)))
	must(t, s.SetAuthCode(ctx, tn.ID, r.ID, "codehash"))
	wantErr(t, s.SetAuthCode(ctx, tn.ID, r.ID, "second"), store.ErrConflict)
	wantErr(t, s.SetAuthCode(ctx, tn.ID, id(), "x"), store.ErrNotFound)
	wantErr(t, func() error { _, err := s.RedeemAuthCode(ctx, NewTenant(t, s).ID, "codehash", now()); return err }(), store.ErrNotFound)
	wantErr(t, func() error { _, err := s.RedeemAuthCode(ctx, tn.ID, "", now()); return err }(), store.ErrNotFound)
	// Racing redemptions of one code: exactly one gets the request.
	var wg sync.WaitGroup
	got2 := make([]store.AuthRequest, 6)
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); got2[i], errs[i] = s.RedeemAuthCode(ctx, tn.ID, "codehash", now()) }()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if got2[i].ID != r.ID || string(got2[i].Data) != `{"done":true}` {
				t.Fatalf("RedeemAuthCode %+v", got2[i])
			}
		case !errors.Is(err, store.ErrNotFound):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d redemptions won, want 1", won)
	}
	wantErr(t, s.DeleteAuthRequest(ctx, tn.ID, r.ID), store.ErrNotFound)
	// Expired requests are swept.
	old := r
	old.ID, old.ExpiresAt = id(), now().Add(-time.Second)
	must(t, s.CreateAuthRequest(ctx, old))
	n, err := s.DeleteExpiredOIDC(ctx, now())
	must(t, err)
	if n < 1 {
		t.Fatalf("DeleteExpiredOIDC = %d", n)
	}
}

func testRefreshTokens(t *testing.T, s store.Store) {
	tn := NewTenant(t, s)
	fam := id()
	rt := store.RefreshToken{Hash: "h1", TenantID: tn.ID, FamilyID: fam, ClientID: "c", UserID: "u", Data: []byte(`{}`),
		CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}
	must(t, s.CreateRefreshToken(ctx, rt))
	wantErr(t, s.CreateRefreshToken(ctx, rt), store.ErrConflict)
	// Many requests race to rotate one token: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := rt
			next.Hash = "h2-" + id()
			errs[i] = s.RotateRefreshToken(ctx, tn.ID, "h1", next, now())
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
		t.Fatalf("%d rotations won, want 1", ok)
	}
	got, err := s.RefreshTokenByHash(ctx, tn.ID, "h1", now())
	must(t, err)
	if got.UsedAt == nil || got.RevokedAt != nil || got.FamilyID != fam || got.UserID != "u" {
		t.Fatalf("rotated token %+v", got)
	}
	wantErr(t, func() error { _, err := s.RefreshTokenByHash(ctx, NewTenant(t, s).ID, "h1", now()); return err }(), store.ErrNotFound)
	n, err := s.RevokeRefreshFamily(ctx, tn.ID, fam, now())
	must(t, err)
	if n != 2 {
		t.Fatalf("revoked %d, want 2", n)
	}
	third := rt
	third.Hash, third.FamilyID = "h3", id()
	must(t, s.CreateRefreshToken(ctx, third))
	other := third
	other.Hash, other.ClientID = "h4", "d"
	must(t, s.CreateRefreshToken(ctx, other))
	if n, err := s.RevokeUserRefreshTokens(ctx, tn.ID, "u", "c", now()); err != nil || n != 1 {
		t.Fatalf("RevokeUserRefreshTokens(c) = %d, %v", n, err)
	}
	if n, err := s.RevokeUserRefreshTokens(ctx, tn.ID, "u", "", now()); err != nil || n != 1 {
		t.Fatalf("RevokeUserRefreshTokens = %d, %v", n, err)
	}
	wantErr(t, s.RotateRefreshToken(ctx, tn.ID, "h4", third, now()), store.ErrConflict)
	wantErr(t, func() error { _, err := s.RefreshTokenByHash(ctx, tn.ID, "h4", now().Add(2*time.Hour)); return err }(), store.ErrNotFound)
}
