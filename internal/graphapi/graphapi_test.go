package graphapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// entityContext is the @odata.context of a single entity of set.
func (e *env) entityContext(set string) string {
	return e.base + "/v1.0/$metadata#" + set + "/$entity"
}

func wantNoContent(t *testing.T, what string, r *resp) {
	t.Helper()
	r.want(t, what, http.StatusNoContent)
	if len(r.raw) != 0 {
		t.Errorf("%s: 204 with a body: %s", what, r.raw)
	}
}

func refBody(e *env, id string) string {
	return fmt.Sprintf(`{"@odata.id": %q}`, e.base+"/v1.0/directoryObjects/"+id)
}

// TestGraphHappyPaths drives users, groups, membership, roles and the
// audit log the way an admin script does, checking the wire shapes and
// that every change is audited as the app.
func TestGraphHappyPaths(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		appID, tok := e.appToken(tn.id, "scripts", scriptPerms...)

		newUser := func(t *testing.T, upn, name string) string {
			t.Helper()
			r := e.send(t, tok, "POST", "/v1.0/users",
				fmt.Sprintf(`{"accountEnabled": true, "displayName": %q, "mailNickname": "x", "userPrincipalName": %q}`, name, upn))
			r.want(t, "create "+upn, http.StatusCreated)
			return str(r.obj, "id")
		}
		newGroup := func(t *testing.T, name string) string {
			t.Helper()
			r := e.send(t, tok, "POST", "/v1.0/groups",
				fmt.Sprintf(`{"displayName": %q, "mailEnabled": false, "mailNickname": "n", "securityEnabled": true}`, name))
			r.want(t, "create group "+name, http.StatusCreated)
			return str(r.obj, "id")
		}

		t.Run("users", func(t *testing.T) {
			r := e.send(t, tok, "POST", "/v1.0/users", `{
				"accountEnabled": true, "displayName": "Alice Smith", "mailNickname": "alice",
				"userPrincipalName": "alice@contoso.com", "mail": "alice@contoso.com",
				"passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "Correct-Horse-Battery-7"}}`)
			r.want(t, "POST /users", http.StatusCreated)
			if got := str(r.obj, "@odata.context"); got != e.entityContext("users") {
				t.Errorf("@odata.context %q, want %q", got, e.entityContext("users"))
			}
			id := str(r.obj, "id")
			if id == "" || str(r.obj, "userPrincipalName") != "alice@contoso.com" || str(r.obj, "displayName") != "Alice Smith" ||
				r.obj["accountEnabled"] != true {
				t.Fatalf("created user: %s", r.raw)
			}
			if _, ok := r.obj["passwordProfile"]; ok || strings.Contains(string(r.raw), "Correct-Horse") {
				t.Errorf("the password came back: %s", r.raw)
			}
			e.checkAudit(t, tok, appID, "Add user", id, "DisplayName", "UserPrincipalName", "AccountEnabled")

			for _, ref := range []string{id, "alice@contoso.com", "Alice@Contoso.COM"} {
				g := e.get(t, tok, "/v1.0/users/"+ref)
				if g.expect(t, "GET user "+ref, http.StatusOK) && (str(g.obj, "id") != id || str(g.obj, "userPrincipalName") != "alice@contoso.com" ||
					str(g.obj, "displayName") != "Alice Smith" || g.obj["accountEnabled"] != true ||
					str(g.obj, "@odata.context") != e.entityContext("users")) {
					t.Errorf("GET user %s: %s", ref, g.raw)
				}
				if _, ok := g.obj["passwordProfile"]; ok {
					t.Errorf("GET user returns passwordProfile: %s", g.raw)
				}
			}

			wantNoContent(t, "PATCH user", e.send(t, tok, "PATCH", "/v1.0/users/"+id,
				`{"displayName": "Alice Jones", "accountEnabled": false, "mobilePhone": "+1 555 0100"}`))
			e.checkAudit(t, tok, appID, "Update user", id, "DisplayName", "AccountEnabled", "MobilePhone")
			g := e.get(t, tok, "/v1.0/users/"+id)
			if g.expect(t, "GET patched", http.StatusOK) && str(g.obj, "displayName") != "Alice Jones" || g.obj["accountEnabled"] != false || str(g.obj, "mobilePhone") != "+1 555 0100" {
				t.Errorf("PATCH not visible: %s", g.raw)
			}
			// PATCH by UPN works too.
			wantNoContent(t, "PATCH by UPN", e.send(t, tok, "PATCH", "/v1.0/users/alice@contoso.com", `{"accountEnabled": true}`))
			if g := e.get(t, tok, "/v1.0/users/"+id); g.expect(t, "GET after PATCH by UPN", http.StatusOK) && g.obj["accountEnabled"] != true {
				t.Errorf("PATCH by UPN not visible: %s", g.raw)
			}

			list := e.get(t, tok, "/v1.0/users").want(t, "GET /users", http.StatusOK)
			if got := str(list.obj, "@odata.context"); got != e.base+"/v1.0/$metadata#users" {
				t.Errorf("list @odata.context %q", got)
			}
			if !slices.Contains(ids(list.values(t)), id) || !slices.Contains(ids(list.values(t)), tn.adminID) {
				t.Errorf("list lacks alice or the admin: %s", list.raw)
			}

			wantNoContent(t, "DELETE user", e.do(t, tok, req{method: "DELETE", path: "/v1.0/users/" + id}))
			e.checkAudit(t, tok, appID, "Delete user", id)
			checkGraphError(t, "GET deleted user", e.get(t, tok, "/v1.0/users/"+id), http.StatusNotFound)
			checkGraphError(t, "GET deleted user by UPN", e.get(t, tok, "/v1.0/users/alice@contoso.com"), http.StatusNotFound)
			checkGraphError(t, "DELETE again", e.do(t, tok, req{method: "DELETE", path: "/v1.0/users/" + id}), http.StatusNotFound)
		})

		t.Run("groups", func(t *testing.T) {
			r := e.send(t, tok, "POST", "/v1.0/groups", `{"displayName": "Engineering", "description": "All engineers",
				"mailEnabled": false, "mailNickname": "eng", "securityEnabled": true, "groupTypes": []}`)
			r.want(t, "POST /groups", http.StatusCreated)
			outer := str(r.obj, "id")
			if str(r.obj, "@odata.context") != e.entityContext("groups") || outer == "" ||
				str(r.obj, "displayName") != "Engineering" || str(r.obj, "description") != "All engineers" ||
				r.obj["securityEnabled"] != true || r.obj["mailEnabled"] != false {
				t.Fatalf("created group: %s", r.raw)
			}
			e.checkAudit(t, tok, appID, "Add group", outer, "DisplayName")
			g := e.get(t, tok, "/v1.0/groups/"+outer)
			if g.expect(t, "GET group", http.StatusOK) && str(g.obj, "id") != outer || str(g.obj, "@odata.context") != e.entityContext("groups") {
				t.Errorf("GET group: %s", g.raw)
			}
			wantNoContent(t, "PATCH group", e.send(t, tok, "PATCH", "/v1.0/groups/"+outer, `{"description": "Builders"}`))
			e.checkAudit(t, tok, appID, "Update group", outer, "Description")
			if g := e.get(t, tok, "/v1.0/groups/"+outer); g.expect(t, "GET patched group", http.StatusOK) && str(g.obj, "description") != "Builders" {
				t.Errorf("group PATCH not visible: %s", g.raw)
			}

			u1 := newUser(t, "bob@contoso.com", "Bob")
			u2 := newUser(t, "carol@contoso.com", "Carol")
			inner := newGroup(t, "Backend")

			wantNoContent(t, "add u1 to outer", e.send(t, tok, "POST", "/v1.0/groups/"+outer+"/members/$ref", refBody(e, u1)))
			e.checkAudit(t, tok, appID, "Add member to group", outer, "Member")
			// /users/{id} references are accepted as well.
			wantNoContent(t, "add u2 to inner", e.send(t, tok, "POST", "/v1.0/groups/"+inner+"/members/$ref",
				fmt.Sprintf(`{"@odata.id": %q}`, e.base+"/v1.0/users/"+u2)))
			wantNoContent(t, "add inner to outer", e.send(t, tok, "POST", "/v1.0/groups/"+outer+"/members/$ref", refBody(e, inner)))
			e.checkAudit(t, tok, appID, "Add member to group", inner)

			type listCase struct {
				path string
				want []string
			}
			check := func(t *testing.T, cases []listCase) {
				t.Helper()
				for _, c := range cases {
					r := e.get(t, tok, c.path).want(t, c.path, http.StatusOK)
					if got := str(r.obj, "@odata.context"); got != e.base+"/v1.0/$metadata#directoryObjects" {
						t.Errorf("%s: @odata.context %q", c.path, got)
					}
					items := r.values(t)
					got := ids(items)
					slices.Sort(got)
					want := slices.Clone(c.want)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s: ids %v, want %v", c.path, got, want)
					}
					for _, it := range items {
						typ := str(it, "@odata.type")
						switch str(it, "id") {
						case u1, u2:
							if typ != "#microsoft.graph.user" || str(it, "userPrincipalName") == "" {
								t.Errorf("%s: user item %v", c.path, it)
							}
						default:
							if typ != "#microsoft.graph.group" {
								t.Errorf("%s: group item %v", c.path, it)
							}
						}
						if str(it, "displayName") == "" {
							t.Errorf("%s: item without displayName %v", c.path, it)
						}
					}
				}
			}
			check(t, []listCase{
				{"/v1.0/groups/" + outer + "/members", []string{u1, inner}},
				{"/v1.0/groups/" + outer + "/transitiveMembers", []string{u1, inner, u2}},
				{"/v1.0/groups/" + inner + "/members", []string{u2}},
				{"/v1.0/groups/" + inner + "/memberOf", []string{outer}},
				{"/v1.0/users/" + u2 + "/memberOf", []string{inner}},
				{"/v1.0/users/" + u2 + "/transitiveMemberOf", []string{inner, outer}},
				{"/v1.0/users/carol@contoso.com/transitiveMemberOf", []string{inner, outer}},
				{"/v1.0/users/" + u1 + "/memberOf", []string{outer}},
			})

			wantNoContent(t, "remove u1", e.do(t, tok, req{method: "DELETE", path: "/v1.0/groups/" + outer + "/members/" + u1 + "/$ref"}))
			e.checkAudit(t, tok, appID, "Remove member from group", outer, "Member")
			wantNoContent(t, "DELETE inner", e.do(t, tok, req{method: "DELETE", path: "/v1.0/groups/" + inner}))
			e.checkAudit(t, tok, appID, "Delete group", inner)
			checkGraphError(t, "GET deleted group", e.get(t, tok, "/v1.0/groups/"+inner), http.StatusNotFound)
			check(t, []listCase{
				{"/v1.0/groups/" + outer + "/members", nil},
				{"/v1.0/groups/" + outer + "/transitiveMembers", nil},
				{"/v1.0/users/" + u2 + "/transitiveMemberOf", nil},
				{"/v1.0/users/" + u1 + "/memberOf", nil},
			})
		})

		t.Run("roles", func(t *testing.T) {
			r := e.get(t, tok, "/v1.0/directoryRoles").want(t, "directoryRoles", http.StatusOK)
			roles := r.values(t)
			if len(roles) != 12 {
				t.Errorf("%d directory roles, want 12", len(roles))
			}
			names := map[string]string{}
			for _, x := range roles {
				names[str(x, "id")] = str(x, "displayName")
				if str(x, "roleTemplateId") != str(x, "id") {
					t.Errorf("directoryRole %v: roleTemplateId != id", x)
				}
			}
			if names[roleGlobalAdmin] != "Global Administrator" || names[roleSecurityAdmin] != "Security Administrator" {
				t.Errorf("directoryRoles: %v", names)
			}
			r = e.get(t, tok, "/v1.0/roleManagement/directory/roleDefinitions").want(t, "roleDefinitions", http.StatusOK)
			defs := r.values(t)
			if len(defs) != 12 || !slices.Contains(ids(defs), roleSecurityAdmin) {
				t.Errorf("roleDefinitions: %s", r.raw)
			}
			for _, d := range defs {
				if d["isBuiltIn"] != true || str(d, "templateId") != str(d, "id") {
					t.Errorf("roleDefinition %v", d)
				}
			}
			if g := e.get(t, tok, "/v1.0/roleManagement/directory/roleDefinitions/"+roleSecurityAdmin); g.expect(t, "GET roleDefinition", http.StatusOK) &&
				str(g.obj, "displayName") != "Security Administrator" {
				t.Errorf("GET roleDefinition: %s", g.raw)
			}
			if g := e.get(t, tok, "/v1.0/directoryRoles/"+roleGlobalAdmin); g.expect(t, "GET directoryRole", http.StatusOK) &&
				str(g.obj, "displayName") != "Global Administrator" {
				t.Errorf("GET directoryRole: %s", g.raw)
			}

			dave := newUser(t, "dave@contoso.com", "Dave")
			r = e.send(t, tok, "POST", "/v1.0/roleManagement/directory/roleAssignments",
				fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": "/"}`, dave, roleSecurityAdmin))
			r.want(t, "POST roleAssignments", http.StatusCreated)
			raID := str(r.obj, "id")
			if str(r.obj, "@odata.context") != e.entityContext("roleManagement/directory/roleAssignments") || raID == "" ||
				str(r.obj, "principalId") != dave || str(r.obj, "roleDefinitionId") != roleSecurityAdmin || str(r.obj, "directoryScopeId") != "/" {
				t.Fatalf("created role assignment: %s", r.raw)
			}
			e.checkAudit(t, tok, appID, "Add member to role", roleSecurityAdmin, "Role.DisplayName")

			l := e.get(t, tok, q("/v1.0/roleManagement/directory/roleAssignments", "$filter", "principalId eq '"+dave+"'")).want(t, "list by principal", http.StatusOK)
			if got := ids(l.values(t)); !slices.Equal(got, []string{raID}) {
				t.Errorf("assignments of dave: %v, want [%s]", got, raID)
			}
			l = e.get(t, tok, q("/v1.0/roleManagement/directory/roleAssignments", "$filter", "roleDefinitionId eq '"+roleGlobalAdmin+"'")).want(t, "list by role", http.StatusOK)
			if v := l.values(t); len(v) != 1 || str(v[0], "principalId") != tn.adminID {
				t.Errorf("Global Administrator assignments: %s", l.raw)
			}
			g := e.get(t, tok, "/v1.0/roleManagement/directory/roleAssignments/"+raID)
			if g.expect(t, "GET assignment", http.StatusOK) && str(g.obj, "principalId") != dave {
				t.Errorf("GET assignment: %s", g.raw)
			}
			m := e.get(t, tok, "/v1.0/directoryRoles/"+roleSecurityAdmin+"/members").want(t, "role members", http.StatusOK)
			if got := ids(m.values(t)); !slices.Equal(got, []string{dave}) {
				t.Errorf("Security Administrator members %v, want [%s]", got, dave)
			}

			wantNoContent(t, "DELETE assignment", e.do(t, tok, req{method: "DELETE", path: "/v1.0/roleManagement/directory/roleAssignments/" + raID}))
			e.checkAudit(t, tok, appID, "Remove member from role", dave)
			checkGraphError(t, "GET deleted assignment", e.get(t, tok, "/v1.0/roleManagement/directory/roleAssignments/"+raID), http.StatusNotFound)
			l = e.get(t, tok, q("/v1.0/roleManagement/directory/roleAssignments", "$filter", "principalId eq '"+dave+"'")).want(t, "list after delete", http.StatusOK)
			if v := l.values(t); len(v) != 0 {
				t.Errorf("assignments after delete: %s", l.raw)
			}
		})

		// A filtered, paged list of role assignments must keep its filter
		// on every page: the nextLink repeats the query.
		t.Run("roles/filtered paging", func(t *testing.T) {
			erin := newUser(t, "erin@contoso.com", "Erin")
			var want []string
			for _, role := range []string{roleSecurityAdmin, roleGlobalReader} {
				r := e.send(t, tok, "POST", "/v1.0/roleManagement/directory/roleAssignments",
					fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": "/"}`, erin, role))
				r.want(t, "assign", http.StatusCreated)
				want = append(want, str(r.obj, "id"))
			}
			path := q("/v1.0/roleManagement/directory/roleAssignments", "$filter", "principalId eq '"+erin+"'", "$top", "1")
			first := e.get(t, tok, path).want(t, "first page", http.StatusOK)
			if next := str(first.obj, "@odata.nextLink"); !strings.Contains(next, "filter") {
				t.Errorf("nextLink of a filtered list drops $filter: %q", next)
			}
			items, _ := e.pageAll(t, tok, path)
			got := ids(items)
			for _, it := range items {
				if str(it, "principalId") != erin {
					t.Errorf("page item of another principal: %v", it)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("paged assignments of erin: %v, want %v", got, want)
			}
		})

		t.Run("audit", func(t *testing.T) {
			items, _ := e.pageAll(t, tok, q("/v1.0/auditLogs/directoryAudits", "$top", "7"))
			if len(items) < 15 {
				t.Fatalf("only %d audit entries", len(items))
			}
			for i := 1; i < len(items); i++ {
				if str(items[i-1], "activityDateTime") < str(items[i], "activityDateTime") {
					t.Errorf("audit not newest first at %d: %s before %s", i, str(items[i-1], "activityDateTime"), str(items[i], "activityDateTime"))
				}
			}
			seen := map[string]bool{}
			for _, it := range items {
				if seen[str(it, "id")] {
					t.Errorf("audit entry %s listed twice", str(it, "id"))
				}
				seen[str(it, "id")] = true
			}
			// The newest entry is the last change made above.
			if got := str(items[0], "activityDisplayName"); got != "Add member to role" {
				t.Errorf("newest audit entry %q, want the last role assignment", got)
			}
			id := str(items[0], "id")
			g := e.get(t, tok, "/v1.0/auditLogs/directoryAudits/"+id)
			if g.expect(t, "GET audit", http.StatusOK) && (str(g.obj, "id") != id || str(g.obj, "@odata.context") != e.entityContext("auditLogs/directoryAudits")) {
				t.Errorf("GET audit: %s", g.raw)
			}
			checkGraphError(t, "GET unknown audit", e.get(t, tok, "/v1.0/auditLogs/directoryAudits/00000000-0000-0000-0000-000000000000"), http.StatusNotFound)
		})
	})
}
