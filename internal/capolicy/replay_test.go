package capolicy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestReplay replays a policy against a recorded sign-in log: each entry
// is evaluated with its user's current groups, and its app, address and
// client app; entries older than the window, without a user or that
// failed before conditional access are left out; users are counted once.
func TestReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		f.svc.Now = func() time.Time { return now }
		carol := storetest.NewUser(t, f.st, f.tenant, "carol@contoso.com")
		bob := storetest.NewUser(t, f.st, f.tenant, "bob@contoso.com")
		gone := storetest.NewUser(t, f.st, f.tenant, "gone@contoso.com")
		f.addMember(t, f.group.ID, f.user.ID)
		f.addMember(t, f.group.ID, carol.ID)
		f.location(t, officeBody) // 203.0.113.0/24, trusted
		// Finance must be at the office; disabled, still replayable.
		block := f.policy(t, `{"displayName":"Finance at the office","state":"disabled","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeGroups":["`+f.group.ID+`"]},
			"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`)
		mfa := f.policy(t, `{"displayName":"MFA for everyone","state":"enabledForReportingButNotEnforced","conditions":{"clientAppTypes":["all"],
			"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"],"excludeUsers":["`+bob.ID+`"]}},
			"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`)

		var log []store.SignIn
		add := func(u store.User, ip, client string, code int, age time.Duration) {
			log = append(log, store.SignIn{ID: uuid.NewString(), TenantID: f.tenant, CreatedAt: now.Add(-age),
				UserID: u.ID, UserPrincipalName: u.UPN, IPAddress: ip, ClientAppUsed: client, ErrorCode: code,
				ConditionalAccessStatus: "notApplied", AppliedCAPolicies: []store.AppliedCAPolicy{}})
		}
		add(f.user, "203.0.113.7", "Browser", 0, time.Hour)                                                   // office: finance notApplied; MFA
		add(f.user, "198.51.100.1", "Browser", 0, 2*time.Hour)                                                // away: block; MFA
		add(carol, "198.51.100.2", "Exchange ActiveSync", 0, 3*time.Hour)                                     // away, legacy: block; MFA on legacy = block
		add(bob, "198.51.100.3", "Browser", 0, 4*time.Hour)                                                   // not finance; excluded from MFA
		add(f.user, "198.51.100.1", "Browser", 50126, 5*time.Hour)                                            // wrong password: skipped
		add(store.User{UPN: "nobody@contoso.com"}, "198.51.100.9", "Browser", 50126, 5*time.Hour+time.Minute) // unknown: skipped
		add(gone, "198.51.100.4", "Browser", 0, 6*time.Hour)                                                  // user deleted since: skipped
		add(f.user, "198.51.100.1", "Browser", 0, 10*24*time.Hour)                                            // older than 7 days
		if err := f.st.AppendSignIns(ctx, log); err != nil {
			t.Fatal(err)
		}
		if err := f.st.DeleteUser(ctx, f.tenant, gone.ID); err != nil {
			t.Fatal(err)
		}
		// Another tenant's sign-ins are not replayed.
		other := storetest.NewTenant(t, f.st)
		ou := storetest.NewUser(t, f.st, other.ID, "x@fabrikam.com")
		if err := f.st.AppendSignIns(ctx, []store.SignIn{{ID: uuid.NewString(), TenantID: other.ID, CreatedAt: now.Add(-time.Hour),
			UserID: ou.ID, UserPrincipalName: ou.UPN, IPAddress: "198.51.100.1", ClientAppUsed: "Browser"}}); err != nil {
			t.Fatal(err)
		}

		res, err := f.svc.Replay(ctx, f.tenant, block.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantSignIns := capolicy.ReplaySignIns{Total: 4, WouldBlock: 2, NotApplied: 2, Skipped: 3}
		if res.SignIns != wantSignIns || res.Users != (capolicy.ReplayUsers{Total: 3, WouldBlock: 2}) || res.Days != 7 ||
			res.Policy.State != "disabled" || !res.From.Equal(now.Add(-7*24*time.Hour)) || !res.To.Equal(now) {
			t.Errorf("block replay %+v", res)
		}
		if len(res.Sample) != 2 || res.Sample[0].UserPrincipalName != f.user.UPN || res.Sample[0].Result != capolicy.ReplayWouldBlock ||
			res.Sample[1].UserPrincipalName != carol.UPN || res.Sample[1].ClientAppUsed != "Exchange ActiveSync" {
			t.Errorf("block sample %+v", res.Sample)
		}

		res, err = f.svc.Replay(ctx, f.tenant, mfa.ID, 7)
		if err != nil {
			t.Fatal(err)
		}
		if want := (capolicy.ReplaySignIns{Total: 4, WouldRequireMFA: 2, WouldBlock: 1, NotApplied: 1, Skipped: 3}); res.SignIns != want ||
			res.Users != (capolicy.ReplayUsers{Total: 3, WouldBlock: 1, WouldRequireMFA: 1}) {
			t.Errorf("mfa replay %+v %+v", res.SignIns, res.Users)
		}

		// Thirty days include the old sign-in.
		res, err = f.svc.Replay(ctx, f.tenant, block.ID, 30)
		if err != nil || res.SignIns.Total != 5 || res.SignIns.WouldBlock != 3 || res.Users.WouldBlock != 2 {
			t.Errorf("30 days: %+v %v", res.SignIns, err)
		}

		// Bad input.
		for _, d := range []int{-1, 31, 365} {
			_, err := f.svc.Replay(ctx, f.tenant, block.ID, d)
			wantKind(t, fmt.Sprint("days ", d), err, apperr.Invalid, "days")
		}
		_, err = f.svc.Replay(ctx, f.tenant, uuid.NewString(), 7)
		wantKind(t, "unknown policy", err, apperr.NotFound, "")
		_, err = f.svc.Replay(ctx, other.ID, block.ID, 7)
		wantKind(t, "another tenant's policy", err, apperr.NotFound, "")
	})
}

// TestReplayPaging: a log of more than one page is replayed whole, and
// the sample holds the 20 newest affected sign-ins.
func TestReplayPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fix) {
		now := time.Now().UTC().Truncate(time.Second)
		f.svc.Now = func() time.Time { return now }
		p := f.policy(t, blockBody("Everyone", "enabledForReportingButNotEnforced", `{"includeUsers":["All"]}`, `["All"]`))
		bob := storetest.NewUser(t, f.st, f.tenant, "bob@contoso.com")
		const n = 1234
		log := make([]store.SignIn, n)
		for i := range log {
			u := f.user
			if i%2 == 1 {
				u = bob
			}
			log[i] = store.SignIn{ID: uuid.NewString(), TenantID: f.tenant, CreatedAt: now.Add(-time.Duration(i+1) * time.Minute),
				UserID: u.ID, UserPrincipalName: u.UPN, IPAddress: "198.51.100.1", ClientAppUsed: "Browser"}
		}
		if err := f.st.AppendSignIns(ctx, log); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Replay(ctx, f.tenant, p.ID, 7)
		if err != nil {
			t.Fatal(err)
		}
		if res.SignIns.Total != n || res.SignIns.WouldBlock != n || res.Users.Total != 2 || res.Users.WouldBlock != 2 {
			t.Errorf("paged replay %+v %+v", res.SignIns, res.Users)
		}
		if len(res.Sample) != capolicy.ReplaySampleSize || res.Sample[0].SignInID != log[0].ID || res.Sample[19].SignInID != log[19].ID {
			t.Errorf("sample %d, first %v", len(res.Sample), res.Sample[0])
		}
	})
}
