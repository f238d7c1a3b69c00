package admin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var ctx = context.Background()

var op = directory.Actor{Operator: true}

// testPasswords applies the real rules with cheap hashing.
type testPasswords struct{ h *password.Hasher }

func (p testPasswords) Hash(ctx context.Context, pw string) (string, error) { return p.h.Hash(ctx, pw) }
func (p testPasswords) Check(pw string, banned []string, userContext ...string) error {
	pol := password.DefaultPolicy()
	pol.Custom = banned
	if err := password.Check(pw, pol, userContext...); err != nil {
		var re *password.RuleError
		if errors.As(err, &re) {
			return apperr.Invalidf("%s", re.Message)
		}
		return err
	}
	return nil
}

func newService(t *testing.T, s store.Store) (*admin.Service, store.Tenant) {
	svc := &admin.Service{Store: s, Passwords: testPasswords{password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)}}
	tn, _, err := svc.Init(ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
	if err != nil {
		t.Fatal(err)
	}
	return svc, tn
}

func eachStore(t *testing.T, fn func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := b.New(t)
			svc, tn := newService(t, s)
			fn(t, svc, tn, s)
		})
	}
}

func countUsers(t *testing.T, s store.Store, tenantID string) int {
	p, err := s.ListUsers(ctx, tenantID, store.ListQuery{WantCount: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func countAudits(t *testing.T, s store.Store, tenantID string) int {
	n := 0
	q := store.ListQuery{Limit: 1000}
	for {
		p, err := s.ListAudits(ctx, tenantID, q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
		if p.Next == "" {
			return n
		}
		q.After = p.Next
	}
}

const goodCSV = `userPrincipalName,displayName,password,accountEnabled
anna@contoso.com,Anna Berg,Tjugo-Fyra-Kaniner-7,true
bo@contoso.com,Bo Ek,,false
`

func TestImportUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		rows, perr, err := admin.ParseUserCSV(strings.NewReader(goodCSV))
		if err != nil || len(perr) != 0 || len(rows) != 2 {
			t.Fatalf("parse: %v %v %d", err, perr, len(rows))
		}
		var progress int
		rep, err := svc.ImportUsers(ctx, op, tn.ID, rows, perr, admin.ImportOptions{Progress: func(d, _ int) { progress = d }})
		if err != nil || rep.Imported != 2 || len(rep.Errors) != 0 || progress != 2 {
			t.Fatalf("import: %+v %v progress %d", rep, err, progress)
		}
		bo, _ := s.UserByUPN(ctx, tn.ID, "bo@contoso.com")
		if bo.AccountEnabled || bo.PasswordHash != "" {
			t.Fatalf("bo = %+v", bo)
		}
	})
}

func TestImportUsersBadRowsWriteNothing(t *testing.T) {
	bad := `userPrincipalName,displayName,password,accountEnabled
ok1@contoso.com,OK One,,true
wrong@elsewhere.com,Wrong Domain,,true
ok2@contoso.com,OK Two,password,true
ok1@CONTOSO.com,Duplicate,,true
admin@contoso.com,Exists,,true
ok3@contoso.com,Bad Bool,,perhaps
only-two-fields@contoso.com,x
ok4@contoso.com,OK Four,,true
`
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		users, audits := countUsers(t, s, tn.ID), countAudits(t, s, tn.ID)
		rows, perr, err := admin.ParseUserCSV(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := svc.ImportUsers(ctx, op, tn.ID, rows, perr, admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lines := []int{}
		for _, e := range rep.Errors {
			lines = append(lines, e.Line)
		}
		want := []int{3, 4, 5, 6, 7, 8}
		if rep.Imported != 0 || len(lines) != len(want) {
			t.Fatalf("report %+v", rep)
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Fatalf("error lines %v, want %v", lines, want)
			}
		}
		if !strings.Contains(rep.Errors[0].Message, "domain") || !strings.Contains(rep.Errors[2].Message, "duplicate of line 2") {
			t.Fatalf("messages: %+v", rep.Errors)
		}
		if countUsers(t, s, tn.ID) != users || countAudits(t, s, tn.ID) != audits {
			t.Fatal("a failed import wrote something")
		}
		rep, err = svc.ImportUsers(ctx, op, tn.ID, rows, perr, admin.ImportOptions{ContinueOnError: true})
		if err != nil || rep.Imported != 2 || countUsers(t, s, tn.ID) != users+2 {
			t.Fatalf("continue-on-error: %+v %v", rep, err)
		}
	})
}

func TestParseUserCSVHeader(t *testing.T) {
	for _, in := range []string{"", "displayName\nx\n", "userPrincipalName,shoeSize\n", "userPrincipalName,userPrincipalName\n", "\"unterminated\n"} {
		if _, _, err := admin.ParseUserCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		} else if !strings.HasPrefix(err.Error(), "line 1:") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestPerUserMFABulk(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		for _, upn := range []string{"a@contoso.com", "b@contoso.com"} {
			if _, err := svc.CreateUser(ctx, op, tn.ID, admin.NewUser{UPN: upn}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := svc.SetPerUserMFA(ctx, op, tn.ID, []string{"a@contoso.com", "ghost@contoso.com"}, store.PerUserMFAEnabled)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.NotFound {
			t.Fatalf("unknown UPN: %v", err)
		}
		if a, _ := s.UserByUPN(ctx, tn.ID, "a@contoso.com"); a.PerUserMFA != store.PerUserMFADisabled {
			t.Fatal("partial bulk change")
		}
		changed, err := svc.SetPerUserMFA(ctx, op, tn.ID, []string{"a@contoso.com", "b@contoso.com"}, store.PerUserMFAEnforced)
		if err != nil || len(changed) != 2 {
			t.Fatalf("bulk: %v %d", err, len(changed))
		}
		if _, err := svc.SetPerUserMFA(ctx, op, tn.ID, []string{"a@contoso.com"}, "sometimes"); err == nil {
			t.Fatal("invalid state accepted")
		}
		reader := directory.Actor{AppID: "x", Permissions: []string{"User.Read.All"}}
		if _, err := svc.SetPerUserMFA(ctx, reader, tn.ID, []string{"a@contoso.com"}, store.PerUserMFADisabled); err == nil {
			t.Fatal("a reader changed per-user MFA")
		}
	})
}

func TestRoleGuards(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		all, _ := s.ListRoleAssignments(ctx, tn.ID, "")
		if len(all) != 1 {
			t.Fatalf("init made %d assignments", len(all))
		}
		err := svc.RemoveRoleAssignment(ctx, op, tn.ID, all[0].ID)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Conflict {
			t.Fatalf("removing the last Global Administrator: %v", err)
		}
		if _, err := svc.AssignRole(ctx, op, tn.ID, all[0].PrincipalID, "Chief Wizard"); err == nil {
			t.Fatal("unknown role accepted")
		}
		// A User Administrator may not change an administrator.
		ua := directory.Actor{UserID: "x", Roles: []string{directory.RoleUserAdmin}}
		name := "Hacked"
		if _, err := svc.UpdateUser(ctx, ua, tn.ID, "admin@contoso.com", admin.UserPatch{DisplayName: &name}); err == nil {
			t.Fatal("user admin changed a global admin")
		}
	})
}

func TestPasswordRules(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		if _, err := svc.SetBannedPasswords(ctx, op, tn.ID, []string{"Contoso"}); err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"short", "password1", "Contoso2024!", "anna.berg-rocks-9"} {
			_, err := svc.CreateUser(ctx, op, tn.ID, admin.NewUser{UPN: "anna.berg@contoso.com", Password: pw})
			if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid {
				t.Errorf("password %q: %v", pw, err)
			}
		}
		if countUsers(t, s, tn.ID) != 1 {
			t.Fatal("refused users were written")
		}
	})
}

// TestPasswordResetPermission: the helpdesk roles and the methods
// permission reset passwords of ordinary users, not of administrators.
func TestPasswordResetPermission(t *testing.T) {
	eachStore(t, func(t *testing.T, svc *admin.Service, tn store.Tenant, s store.Store) {
		if _, err := svc.CreateUser(ctx, op, tn.ID, admin.NewUser{UPN: "bo@contoso.com"}); err != nil {
			t.Fatal(err)
		}
		pw := "Tre-Gula-Cyklar-41"
		app := directory.Actor{AppID: "a", Permissions: []string{"UserAuthenticationMethod.ReadWrite.All"}}
		if _, err := svc.UpdateUser(ctx, app, tn.ID, "bo@contoso.com", admin.UserPatch{Password: &pw}); err != nil {
			t.Fatalf("reset by an app with the methods permission: %v", err)
		}
		name := "Bo"
		if _, err := svc.UpdateUser(ctx, app, tn.ID, "bo@contoso.com", admin.UserPatch{Password: &pw, DisplayName: &name}); err == nil {
			t.Fatal("the methods permission changed a display name")
		}
		helpdesk := directory.Actor{UserID: "h", Roles: []string{directory.RolePasswordAdmin}}
		if _, err := svc.UpdateUser(ctx, helpdesk, tn.ID, "admin@contoso.com", admin.UserPatch{Password: &pw}); err == nil {
			t.Fatal("a Password Administrator reset a Global Administrator's password")
		}
	})
}
