package graphapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
)

// TestGraphBadInput sends malformed and refused requests: each gets a 4xx
// with the Graph error body, and nothing is written.
func TestGraphBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "scripts", append([]string{"Directory.ReadWrite.All"}, scriptPerms...)...)
		op := directory.Actor{Operator: true}
		alice, err := e.app.Admin.CreateUser(e.ctx, op, tn.id, admin.NewUser{UPN: "alice@contoso.com", DisplayName: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		g1, err := e.app.Admin.CreateGroup(e.ctx, op, tn.id, admin.NewGroup{DisplayName: "Outer"})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := e.app.Admin.CreateGroup(e.ctx, op, tn.id, admin.NewGroup{DisplayName: "Inner"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{g2.ID, alice.ID} {
			if err := e.app.Admin.AddMember(e.ctx, op, tn.id, g1.ID, m); err != nil {
				t.Fatal(err)
			}
		}
		sa, err := e.app.Admin.AssignRole(e.ctx, op, tn.id, alice.ID, roleSecurityAdmin)
		if err != nil {
			t.Fatal(err)
		}
		_ = sa
		ras, err := e.app.Store.ListRoleAssignments(e.ctx, tn.id, tn.adminID)
		if err != nil || len(ras) != 1 {
			t.Fatalf("admin role assignments: %v %v", ras, err)
		}
		lastGA := ras[0].ID

		user := func(extra string) string {
			return `{"accountEnabled": true, "displayName": "New", "mailNickname": "new", "userPrincipalName": "new@contoso.com"` + extra + `}`
		}
		valid := user("")
		userAs := func(upn string) string {
			return fmt.Sprintf(`{"displayName": "New", "userPrincipalName": %q}`, upn)
		}
		huge := `{"displayName": "` + strings.Repeat("x", 1<<20) + `", "userPrincipalName": "big@contoso.com"}`
		post := func(path, body string) req { return req{method: "POST", path: path, body: body} }
		patch := func(path, body string) req { return req{method: "PATCH", path: path, body: body} }
		get := func(path string) req { return req{method: "GET", path: path} }
		bad := []int{http.StatusBadRequest}
		ra := "/v1.0/roleManagement/directory/roleAssignments"
		assign := func(principal, role, scope string) string {
			return fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": %q}`, principal, role, scope)
		}

		type badCase struct {
			name     string
			r        req
			statuses []int
			check    func(t *testing.T, r *resp)
		}
		cases := []badCase{
			// Bodies.
			{"malformed JSON", post("/v1.0/users", `{"displayName": "x",`), bad, nil},
			{"not JSON", post("/v1.0/users", `displayName=x`), bad, nil},
			{"JSON array", post("/v1.0/users", "["+valid+"]"), bad, nil},
			{"JSON string", post("/v1.0/users", `"x"`), bad, nil},
			{"JSON null", post("/v1.0/users", `null`), bad, nil},
			{"trailing garbage", post("/v1.0/users", userAs("garbage@contoso.com")+" xyz"), bad, nil},
			{"trailing second object", post("/v1.0/users", valid+` {"displayName": "y"}`), bad, nil},
			{"trailing brace", post("/v1.0/users", userAs("brace@contoso.com")+"}"), bad, nil},
			{"trailing bracket", post("/v1.0/users", userAs("bracket@contoso.com")+"]"), bad, nil},
			{"unknown property", post("/v1.0/users", user(`, "favouriteColour": "red"`)), bad, nil},
			{"unknown nested property", post("/v1.0/users", user(`, "passwordProfile": {"password": "Correct-Horse-Battery-7", "hint": "x"}`)), bad, nil},
			{"accountEnabled string", post("/v1.0/users", `{"accountEnabled": "yes", "displayName": "New", "userPrincipalName": "new@contoso.com"}`), bad, nil},
			{"accountEnabled null", post("/v1.0/users", `{"accountEnabled": null, "displayName": "New", "userPrincipalName": "new@contoso.com"}`), bad, nil},
			{"displayName number", post("/v1.0/users", `{"displayName": 5, "userPrincipalName": "new@contoso.com"}`), bad, nil},
			{"userPrincipalName object", post("/v1.0/users", `{"displayName": "New", "userPrincipalName": {"a": 1}}`), bad, nil},
			{"passwordProfile string", post("/v1.0/users", user(`, "passwordProfile": "secret"`)), bad, nil},
			{"wrong @odata.type", post("/v1.0/users", user(`, "@odata.type": "#microsoft.graph.group"`)), bad, nil},
			{"missing displayName", post("/v1.0/users", `{"userPrincipalName": "new@contoso.com"}`), bad, nil},
			{"empty displayName", post("/v1.0/users", `{"displayName": "", "userPrincipalName": "new@contoso.com"}`), bad, nil},
			{"missing userPrincipalName", post("/v1.0/users", `{"displayName": "New"}`), bad, nil},
			{"UPN of another domain", post("/v1.0/users", `{"displayName": "New", "userPrincipalName": "new@fabrikam.com"}`), bad, nil},
			{"UPN without domain", post("/v1.0/users", `{"displayName": "New", "userPrincipalName": "new"}`), bad, nil},
			{"UPN with spaces", post("/v1.0/users", `{"displayName": "New", "userPrincipalName": "n ew@contoso.com"}`), bad, nil},
			{"weak password", post("/v1.0/users", user(`, "passwordProfile": {"password": "password"}`)), bad, nil},
			{"duplicate UPN other case", post("/v1.0/users", `{"displayName": "Alice 2", "userPrincipalName": "ALICE@Contoso.com"}`),
				[]int{http.StatusConflict}, nil},
			{"body over 1 MiB", post("/v1.0/users", huge), []int{http.StatusRequestEntityTooLarge}, nil},
			{"body over 1 MiB, chunked", req{method: "POST", path: "/v1.0/users", body: huge, chunk: true},
				[]int{http.StatusRequestEntityTooLarge}, nil},
			{"Content-Type text/plain", req{method: "POST", path: "/v1.0/users", body: valid, ctype: "text/plain"}, bad, nil},
			{"Content-Type form", req{method: "POST", path: "/v1.0/users", body: valid, ctype: "application/x-www-form-urlencoded"}, bad, nil},
			{"no Content-Type", req{method: "POST", path: "/v1.0/users", body: valid, ctype: "-"}, bad, nil},
			{"no body", req{method: "POST", path: "/v1.0/users", ctype: "application/json"}, bad, nil},
			{"PATCH unknown property", patch("/v1.0/users/"+alice.ID, `{"favouriteColour": "red"}`), bad, nil},
			{"PATCH wrong type", patch("/v1.0/users/"+alice.ID, `{"accountEnabled": "no"}`), bad, nil},
			{"PATCH empty displayName", patch("/v1.0/users/"+alice.ID, `{"displayName": ""}`), bad, nil},
			{"PATCH UPN of another domain", patch("/v1.0/users/"+alice.ID, `{"userPrincipalName": "alice@fabrikam.com"}`), bad, nil},
			{"PATCH UPN taken", patch("/v1.0/users/"+alice.ID, `{"userPrincipalName": "ADMIN@contoso.com"}`),
				[]int{http.StatusConflict}, nil},
			{"PATCH array", patch("/v1.0/users/"+alice.ID, `[]`), bad, nil},
			{"group mailEnabled", post("/v1.0/groups", `{"displayName": "M", "mailEnabled": true}`), bad, nil},
			{"group Unified", post("/v1.0/groups", `{"displayName": "M", "groupTypes": ["Unified"]}`), bad, nil},
			{"group without displayName", post("/v1.0/groups", `{"description": "d"}`), bad, nil},
			{"group unknown property", post("/v1.0/groups", `{"displayName": "M", "visibility": "Private"}`), bad, nil},
			{"group PATCH wrong type", patch("/v1.0/groups/"+g1.ID, `{"description": 7}`), bad, nil},

			// OData options.
			{"$filter unknown field", get(q("/v1.0/users", "$filter", "foo eq 'x'")), bad, nil},
			{"$filter incomplete", get(q("/v1.0/users", "$filter", "displayName eq")), bad, nil},
			{"$filter unterminated string", get(q("/v1.0/users", "$filter", "displayName eq 'x")), bad, nil},
			{"$filter bool on string", get(q("/v1.0/users", "$filter", "accountEnabled eq 'x'")), bad, nil},
			{"$filter on groups", get(q("/v1.0/groups", "$filter", "foo eq 'x'")), bad, nil},
			{"$filter on role assignments", get(q(ra, "$filter", "foo eq 'x'")), bad, nil},
			{"$filter on audits", get(q("/v1.0/auditLogs/directoryAudits", "$filter", "foo eq 'x'")), bad, nil},
			{"$top=0", get(q("/v1.0/users", "$top", "0")), bad, nil},
			{"$top=abc", get(q("/v1.0/users", "$top", "abc")), bad, nil},
			{"$top=-1", get(q("/v1.0/users", "$top", "-1")), bad, nil},
			{"$top=1000", get(q("/v1.0/users", "$top", "1000")), bad, nil},
			{"$top twice", get("/v1.0/users?$top=1&$top=2"), bad, nil},
			{"$top=0 on members", get(q("/v1.0/groups/"+g1.ID+"/members", "$top", "0")), bad, nil},
			{"$expand", get(q("/v1.0/users", "$expand", "x")), bad, nil},
			{"$expand on an entity", get(q("/v1.0/users/"+alice.ID, "$expand", "memberOf")), bad, nil},
			{"$skip", get(q("/v1.0/users", "$skip", "5")), bad, nil},
			{"$search", get(q("/v1.0/users", "$search", `"displayName:a"`)), bad, nil},
			{"$skiptoken garbage", get(q("/v1.0/users", "$skiptoken", "garbage")), bad, nil},
			{"$skiptoken not base64", get(q("/v1.0/users", "$skiptoken", "!!!")), bad, nil},
			{"$skiptoken garbage on groups", get(q("/v1.0/groups", "$skiptoken", "garbage")), bad, nil},
			{"$skiptoken garbage on audits", get(q("/v1.0/auditLogs/directoryAudits", "$skiptoken", "garbage")), bad, nil},
			{"$skiptoken garbage on members", get(q("/v1.0/groups/"+g1.ID+"/members", "$skiptoken", "garbage")), bad, nil},
			{"$skiptoken garbage on role assignments", get(q(ra, "$skiptoken", "garbage")), bad, nil},
			{"$skiptoken out of range", get(q("/v1.0/groups/"+g1.ID+"/members", "$skiptoken", "WyI5OTkiXQ")), bad, nil},
			{"$select unknown", get(q("/v1.0/users", "$select", "password")), bad, nil},
			{"$select unknown on an entity", get(q("/v1.0/users/"+alice.ID, "$select", "passwordHash")), bad, nil},
			{"$select empty item", get(q("/v1.0/users", "$select", "displayName,")), bad, nil},
			{"$orderby unknown", get(q("/v1.0/users", "$orderby", "mobilePhone")), bad, nil},
			{"$orderby two fields", get(q("/v1.0/users", "$orderby", "displayName,userPrincipalName")), bad, nil},
			{"$orderby bad direction", get(q("/v1.0/users", "$orderby", "displayName up")), bad, nil},
			{"$count=maybe", get(q("/v1.0/users", "$count", "maybe")), bad, nil},
			{"$count without ConsistencyLevel", get(q("/v1.0/users", "$count", "true")), bad, func(t *testing.T, r *resp) {
				if code := str(r.obj["error"].(map[string]any), "code"); code != "Request_BadRequest" {
					t.Errorf("code %q, want Request_BadRequest", code)
				}
			}},

			// Membership.
			{"group cycle", post("/v1.0/groups/"+g2.ID+"/members/$ref", refBody(e, g1.ID)), bad, nil},
			{"group contains itself", post("/v1.0/groups/"+g1.ID+"/members/$ref", refBody(e, g1.ID)), bad, nil},
			{"member twice", post("/v1.0/groups/"+g1.ID+"/members/$ref", refBody(e, alice.ID)),
				[]int{http.StatusBadRequest, http.StatusConflict}, nil},
			{"group member twice", post("/v1.0/groups/"+g1.ID+"/members/$ref", refBody(e, g2.ID)),
				[]int{http.StatusBadRequest, http.StatusConflict}, nil},
			{"$ref without @odata.id", post("/v1.0/groups/"+g1.ID+"/members/$ref", `{}`), bad, nil},
			{"$ref @odata.id not a reference", post("/v1.0/groups/"+g1.ID+"/members/$ref", `{"@odata.id": "hello"}`), bad, nil},
			{"$ref @odata.id of another kind", post("/v1.0/groups/"+g1.ID+"/members/$ref",
				fmt.Sprintf(`{"@odata.id": %q}`, e.base+"/v1.0/applications/"+alice.ID)), bad, nil},
			{"$ref @odata.id number", post("/v1.0/groups/"+g1.ID+"/members/$ref", `{"@odata.id": 5}`), bad, nil},
			{"$ref unknown property", post("/v1.0/groups/"+g1.ID+"/members/$ref", `{"@odata.id": "x", "id": "y"}`), bad, nil},
			{"$ref to an unknown object", post("/v1.0/groups/"+g1.ID+"/members/$ref", refBody(e, "00000000-0000-0000-0000-000000000000")),
				[]int{http.StatusBadRequest, http.StatusNotFound}, nil},
			{"$ref to an unknown group", post("/v1.0/groups/00000000-0000-0000-0000-000000000000/members/$ref", refBody(e, alice.ID)),
				[]int{http.StatusNotFound}, nil},
			{"remove a non-member", req{method: "DELETE", path: "/v1.0/groups/" + g2.ID + "/members/" + alice.ID + "/$ref"},
				[]int{http.StatusNotFound}, nil},

			// Roles.
			{"unknown role definition", post(ra, assign(alice.ID, "00000000-0000-0000-0000-000000000001", "/")), bad, nil},
			{"role by display name", post(ra, assign(alice.ID, "Global Administrator", "/")), bad, nil},
			{"role assignment scoped", post(ra, assign(alice.ID, roleGlobalReader, "/administrativeUnits/x")), bad, nil},
			{"role assignment without principal", post(ra, fmt.Sprintf(`{"roleDefinitionId": %q}`, roleGlobalReader)), bad, nil},
			{"role assignment principal number", post(ra, fmt.Sprintf(`{"principalId": 5, "roleDefinitionId": %q}`, roleGlobalReader)), bad, nil},
			{"role assignment unknown property", post(ra, `{"principalId": "x", "roleDefinitionId": "y", "condition": "z"}`), bad, nil},
			{"role assignment unknown principal", post(ra, assign("00000000-0000-0000-0000-000000000000", roleGlobalReader, "/")),
				[]int{http.StatusBadRequest, http.StatusNotFound}, nil},
			{"role assigned twice", post(ra, assign(alice.ID, roleSecurityAdmin, "/")), []int{http.StatusConflict}, nil},
			{"remove the last Global Administrator", req{method: "DELETE", path: ra + "/" + lastGA}, []int{http.StatusConflict}, nil},
			{"unknown role assignment", req{method: "DELETE", path: ra + "/nope"}, []int{http.StatusNotFound}, nil},
			{"unknown directory role", get("/v1.0/directoryRoles/nope"), []int{http.StatusNotFound}, nil},

			// Methods and paths.
			{"PUT /users", req{method: "PUT", path: "/v1.0/users", body: valid}, []int{http.StatusMethodNotAllowed}, func(t *testing.T, r *resp) {
				allow := r.header.Get("Allow")
				if !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") || strings.Contains(allow, "PUT") {
					t.Errorf("Allow %q, want GET and POST", allow)
				}
			}},
			{"DELETE /users", req{method: "DELETE", path: "/v1.0/users"}, []int{http.StatusMethodNotAllowed}, nil},
			{"POST /users/{id}", post("/v1.0/users/"+alice.ID, valid), []int{http.StatusMethodNotAllowed}, func(t *testing.T, r *resp) {
				if allow := r.header.Get("Allow"); !strings.Contains(allow, "PATCH") || !strings.Contains(allow, "DELETE") {
					t.Errorf("Allow %q, want GET, PATCH, DELETE", allow)
				}
			}},
			{"PUT on a directoryRole", req{method: "PUT", path: "/v1.0/directoryRoles", body: `{}`}, []int{http.StatusMethodNotAllowed}, nil},
			{"unknown path", get("/v1.0/nothing"), []int{http.StatusNotFound}, nil},
			{"unknown nested path", get("/v1.0/users/" + alice.ID + "/nothing"), []int{http.StatusNotFound}, nil},
			{"unknown beta path", get("/beta/nothing"), []int{http.StatusNotFound}, nil},
			{"unknown user", get("/v1.0/users/00000000-0000-0000-0000-000000000000"), []int{http.StatusNotFound}, nil},
			{"unknown UPN", get("/v1.0/users/nobody@contoso.com"), []int{http.StatusNotFound}, nil},
			{"PATCH unknown user", patch("/v1.0/users/nobody@contoso.com", `{"displayName": "x"}`), []int{http.StatusNotFound}, nil},
			{"unknown group", get("/v1.0/groups/nope"), []int{http.StatusNotFound}, nil},
			{"PATCH unknown group", patch("/v1.0/groups/nope", `{"displayName": "x"}`), []int{http.StatusNotFound}, nil},

			// Last: deleting the only Global Administrator would also drop
			// the last Global Administrator assignment, which the admin
			// service refuses to remove directly (409 above).
			{"delete the last Global Administrator user", req{method: "DELETE", path: "/v1.0/users/" + tn.adminID},
				[]int{http.StatusConflict, http.StatusBadRequest}, nil},
		}
		groups := []string{g1.ID, g2.ID}
		before := e.counts(t, tn.id, groups...)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(t, tok, c.r)
				checkGraphError(t, c.name, r, c.statuses...)
				if c.check != nil && r.obj != nil {
					c.check(t, r)
				}
				if after := e.counts(t, tn.id, groups...); !after.equal(before) {
					t.Errorf("%s wrote: %+v -> %+v", c.name, before, after)
					before = after
				}
			})
		}
		if u, err := e.app.Store.GetUser(e.ctx, tn.id, alice.ID); err != nil || u.DisplayName != "Alice" || u.UPN != "alice@contoso.com" || !u.AccountEnabled {
			t.Errorf("alice changed: %+v %v", u, err)
		}
	})
}
