package graphapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// TestGraphAuthorization checks application permissions (403
// Authorization_RequestDenied, nothing written) and authentication (401
// with WWW-Authenticate).
func TestGraphAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		op := directory.Actor{Operator: true}
		u, err := e.app.Admin.CreateUser(e.ctx, op, tn.id, admin.NewUser{UPN: "alice@contoso.com", DisplayName: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		g, err := e.app.Admin.CreateGroup(e.ctx, op, tn.id, admin.NewGroup{DisplayName: "G"})
		if err != nil {
			t.Fatal(err)
		}
		auditID := func() string {
			t.Helper()
			a, err := e.app.Store.ListAudits(e.ctx, tn.id, store.ListQuery{Limit: 1})
			if err != nil || len(a.Items) == 0 {
				t.Fatalf("audits: %v", err)
			}
			return a.Items[0].ID
		}()
		ras, err := e.app.Store.ListRoleAssignments(e.ctx, tn.id, tn.adminID)
		if err != nil || len(ras) != 1 {
			t.Fatalf("admin role assignments: %v %v", ras, err)
		}
		gaAssignment := ras[0].ID

		_, reader := e.appToken(tn.id, "reader", "User.Read.All")
		_, userRW := e.appToken(tn.id, "user-writer", "User.ReadWrite.All")
		_, groupRW := e.appToken(tn.id, "group-writer", "Group.ReadWrite.All")
		_, noPerms := e.appToken(tn.id, "nothing")
		_, dirRW := e.appToken(tn.id, "directory-writer", "Directory.ReadWrite.All")

		newUserBody := `{"accountEnabled": true, "displayName": "New", "mailNickname": "new", "userPrincipalName": "new@contoso.com"}`
		assignBody := fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": "/"}`, u.ID, roleGlobalAdmin)
		ra := "/v1.0/roleManagement/directory/roleAssignments"

		type authzCase struct {
			name   string
			token  string
			r      req
			status int
			code   string // for errors
		}
		get := func(p string) req { return req{method: "GET", path: p} }
		cases := []authzCase{
			{"reader lists users", reader, get("/v1.0/users"), 200, ""},
			{"reader gets a user", reader, get(q("/v1.0/users/"+u.ID, "$select", "displayName")), 200, ""},
			{"reader filters users", reader, get(q("/v1.0/users", "$filter", "displayName eq 'Alice'")), 200, ""},
			{"reader reads memberOf", reader, get("/v1.0/users/" + u.ID + "/memberOf"), 200, ""},
			{"reader creates a user", reader, req{method: "POST", path: "/v1.0/users", body: newUserBody}, 403, "Authorization_RequestDenied"},
			{"reader patches a user", reader, req{method: "PATCH", path: "/v1.0/users/" + u.ID, body: `{"displayName": "X"}`}, 403, "Authorization_RequestDenied"},
			{"reader patches by UPN", reader, req{method: "PATCH", path: "/v1.0/users/alice@contoso.com", body: `{"accountEnabled": false}`}, 403, "Authorization_RequestDenied"},
			{"reader deletes a user", reader, req{method: "DELETE", path: "/v1.0/users/" + u.ID}, 403, "Authorization_RequestDenied"},
			{"reader lists groups", reader, get("/v1.0/groups"), 403, "Authorization_RequestDenied"},
			{"reader creates a group", reader, req{method: "POST", path: "/v1.0/groups", body: `{"displayName": "X"}`}, 403, "Authorization_RequestDenied"},
			{"reader adds a member", reader, req{method: "POST", path: "/v1.0/groups/" + g.ID + "/members/$ref", body: refBody(e, u.ID)}, 403, "Authorization_RequestDenied"},
			{"reader lists roles", reader, get("/v1.0/directoryRoles"), 403, "Authorization_RequestDenied"},
			{"reader assigns a role", reader, req{method: "POST", path: ra, body: assignBody}, 403, "Authorization_RequestDenied"},
			{"reader lists audits", reader, get("/v1.0/auditLogs/directoryAudits"), 403, "Authorization_RequestDenied"},
			{"reader gets an audit", reader, get("/v1.0/auditLogs/directoryAudits/" + auditID), 403, "Authorization_RequestDenied"},
			{"user writer lists audits", userRW, get("/v1.0/auditLogs/directoryAudits"), 403, "Authorization_RequestDenied"},
			{"user writer assigns a role", userRW, req{method: "POST", path: ra, body: assignBody}, 403, "Authorization_RequestDenied"},
			{"user writer removes the GA assignment", userRW, req{method: "DELETE", path: ra + "/" + gaAssignment}, 403, "Authorization_RequestDenied"},
			{"user writer patches the Global Administrator", userRW, req{method: "PATCH", path: "/v1.0/users/" + tn.adminID, body: `{"accountEnabled": false}`}, 403, "Authorization_RequestDenied"},
			{"user writer resets the GA password", userRW, req{method: "PATCH", path: "/v1.0/users/" + tn.adminUPN,
				body: `{"passwordProfile": {"password": "Another-Strong-Pass-99"}}`}, 403, "Authorization_RequestDenied"},
			{"user writer deletes the Global Administrator", userRW, req{method: "DELETE", path: "/v1.0/users/" + tn.adminID}, 403, "Authorization_RequestDenied"},
			{"user writer adds a member", userRW, req{method: "POST", path: "/v1.0/groups/" + g.ID + "/members/$ref", body: refBody(e, u.ID)}, 403, "Authorization_RequestDenied"},
			{"group writer creates a user", groupRW, req{method: "POST", path: "/v1.0/users", body: newUserBody}, 403, "Authorization_RequestDenied"},
			{"group writer deletes a user", groupRW, req{method: "DELETE", path: "/v1.0/users/" + u.ID}, 403, "Authorization_RequestDenied"},
			{"directory writer assigns a role", dirRW, req{method: "POST", path: ra, body: assignBody}, 403, "Authorization_RequestDenied"},
			{"no permissions lists users", noPerms, get("/v1.0/users"), 403, "Authorization_RequestDenied"},
			{"no permissions gets a user", noPerms, get("/v1.0/users/" + u.ID), 403, "Authorization_RequestDenied"},
			{"no token", "", get("/v1.0/users"), 401, "InvalidAuthenticationToken"},
			{"no token POST", "", req{method: "POST", path: "/v1.0/users", body: newUserBody}, 401, "InvalidAuthenticationToken"},
			{"garbage token", "garbage", get("/v1.0/users"), 401, "InvalidAuthenticationToken"},
			{"garbage JWT", "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.AAAA", get("/v1.0/users"), 401, "InvalidAuthenticationToken"},
			{"garbage token DELETE", "garbage", req{method: "DELETE", path: "/v1.0/users/" + u.ID}, 401, "InvalidAuthenticationToken"},
			{"token with edited roles", editClaims(t, reader, func(c map[string]any) { c["roles"] = []string{"Directory.ReadWrite.All"} }),
				req{method: "DELETE", path: "/v1.0/users/" + u.ID}, 401, "InvalidAuthenticationToken"},
			{"Basic scheme", "", req{method: "GET", path: "/v1.0/users", header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "InvalidAuthenticationToken"},
			{"empty Bearer", "", req{method: "GET", path: "/v1.0/users", header: map[string]string{"Authorization": "Bearer "}}, 401, "InvalidAuthenticationToken"},
		}
		before := e.counts(t, tn.id, g.ID)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(t, c.token, c.r)
				if c.status < 400 {
					r.expect(t, c.name, c.status)
				} else {
					if code := checkGraphError(t, c.name, r, c.status); code != c.code {
						t.Errorf("%s: code %q, want %q", c.name, code, c.code)
					}
					if c.status == http.StatusUnauthorized {
						if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
							t.Errorf("%s: WWW-Authenticate %q", c.name, h)
						}
					}
					if c.status == http.StatusForbidden && strings.Contains(string(r.raw), "alice@contoso.com") && c.r.method == "GET" {
						t.Errorf("%s: a 403 carries data: %s", c.name, r.raw)
					}
				}
				if after := e.counts(t, tn.id, g.ID); !after.equal(before) {
					t.Errorf("%s wrote: %+v -> %+v", c.name, before, after)
				}
			})
		}
		if got, err := e.app.Store.GetUser(e.ctx, tn.id, tn.adminID); err != nil || !got.AccountEnabled {
			t.Errorf("the Global Administrator changed: %+v %v", got, err)
		}
	})
}
