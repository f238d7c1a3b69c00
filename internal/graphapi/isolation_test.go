package graphapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// TestGraphTenantIsolation checks that an app of tenant A, holding every
// permission, gets 404 — never 403 and never data — for every object of
// tenant B it names, that nothing is written in either tenant, and that
// lists never show B's rows.
func TestGraphTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ta := e.tenant("contoso.com")
		tb := e.tenant("fabrikam.com")
		_, tokA := e.appToken(ta.id, "all-powerful", directory.KnownPermissions...)
		op := directory.Actor{Operator: true}

		// Tenant A's own objects.
		ua, err := e.app.Admin.CreateUser(e.ctx, op, ta.id, admin.NewUser{UPN: "alice@contoso.com", DisplayName: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		ga, err := e.app.Admin.CreateGroup(e.ctx, op, ta.id, admin.NewGroup{DisplayName: "A group"})
		if err != nil {
			t.Fatal(err)
		}

		// Tenant B's objects, with names that must never show up in A.
		const secret = "Zanzibar"
		ub, err := e.app.Admin.CreateUser(e.ctx, op, tb.id, admin.NewUser{UPN: "bob@fabrikam.com", DisplayName: "Bob " + secret})
		if err != nil {
			t.Fatal(err)
		}
		gb, err := e.app.Admin.CreateGroup(e.ctx, op, tb.id, admin.NewGroup{DisplayName: "Group " + secret, Description: secret})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.Admin.AddMember(e.ctx, op, tb.id, gb.ID, ub.ID); err != nil {
			t.Fatal(err)
		}
		rb, err := e.app.Admin.AssignRole(e.ctx, op, tb.id, ub.ID, roleSecurityAdmin)
		if err != nil {
			t.Fatal(err)
		}
		audB, err := e.app.Store.ListAudits(e.ctx, tb.id, store.ListQuery{Limit: 1})
		if err != nil || len(audB.Items) != 1 {
			t.Fatalf("B audit: %v", err)
		}
		auditB := audB.Items[0].ID
		bIDs := []string{tb.id, tb.adminID, ub.ID, gb.ID, rb.ID, auditB}

		// noLeak fails if a response shows any of B's data.
		noLeak := func(t *testing.T, what string, r *resp, named ...string) {
			t.Helper()
			body := string(r.raw)
			if strings.Contains(body, secret) || strings.Contains(body, "fabrikam") && !slices.Contains(named, "fabrikam") {
				t.Errorf("%s: response shows tenant B's data: %s", what, body)
			}
			for _, id := range bIDs {
				if strings.Contains(body, id) && !slices.Contains(named, id) {
					t.Errorf("%s: response shows B's id %s: %s", what, id, body)
				}
			}
		}

		beforeA := e.counts(t, ta.id, ga.ID)
		beforeB := e.counts(t, tb.id, gb.ID)

		type isoCase struct {
			name     string
			r        req
			statuses []int
			named    []string // B's ids or domain the request itself names (may be echoed)
		}
		notFound := []int{http.StatusNotFound}
		refused := []int{http.StatusBadRequest, http.StatusNotFound}
		get := func(p string) req { return req{method: "GET", path: p} }
		del := func(p string) req { return req{method: "DELETE", path: p} }
		patch := func(p, body string) req { return req{method: "PATCH", path: p, body: body} }
		post := func(p, body string) req { return req{method: "POST", path: p, body: body} }
		ra := "/v1.0/roleManagement/directory/roleAssignments"
		cases := []isoCase{
			{"GET user by id", get("/v1.0/users/" + ub.ID), notFound, []string{ub.ID}},
			{"GET user by UPN", get("/v1.0/users/bob@fabrikam.com"), notFound, []string{"fabrikam"}},
			{"GET B admin by UPN", get("/v1.0/users/" + tb.adminUPN), notFound, []string{"fabrikam"}},
			{"PATCH user by id", patch("/v1.0/users/"+ub.ID, `{"displayName": "pwned"}`), notFound, []string{ub.ID}},
			{"PATCH user by UPN", patch("/v1.0/users/bob@fabrikam.com", `{"accountEnabled": false}`), notFound, []string{"fabrikam"}},
			{"DELETE user by id", del("/v1.0/users/" + ub.ID), notFound, []string{ub.ID}},
			{"DELETE user by UPN", del("/v1.0/users/bob@fabrikam.com"), notFound, []string{"fabrikam"}},
			{"GET user memberOf", get("/v1.0/users/" + ub.ID + "/memberOf"), notFound, []string{ub.ID}},
			{"GET user transitiveMemberOf", get("/v1.0/users/" + ub.ID + "/transitiveMemberOf"), notFound, []string{ub.ID}},
			{"GET group", get("/v1.0/groups/" + gb.ID), notFound, []string{gb.ID}},
			{"PATCH group", patch("/v1.0/groups/"+gb.ID, `{"displayName": "pwned"}`), notFound, []string{gb.ID}},
			{"DELETE group", del("/v1.0/groups/" + gb.ID), notFound, []string{gb.ID}},
			{"GET group members", get("/v1.0/groups/" + gb.ID + "/members"), notFound, []string{gb.ID}},
			{"GET group transitiveMembers", get("/v1.0/groups/" + gb.ID + "/transitiveMembers"), notFound, []string{gb.ID}},
			{"GET group memberOf", get("/v1.0/groups/" + gb.ID + "/memberOf"), notFound, []string{gb.ID}},
			{"add B user to A group", post("/v1.0/groups/"+ga.ID+"/members/$ref", refBody(e, ub.ID)), refused, []string{ub.ID}},
			{"add B group to A group", post("/v1.0/groups/"+ga.ID+"/members/$ref", refBody(e, gb.ID)), refused, []string{gb.ID}},
			{"add A user to B group", post("/v1.0/groups/"+gb.ID+"/members/$ref", refBody(e, ua.ID)), notFound, []string{gb.ID}},
			{"remove B member from B group", del("/v1.0/groups/" + gb.ID + "/members/" + ub.ID + "/$ref"), notFound, []string{gb.ID, ub.ID}},
			{"remove B user from A group", del("/v1.0/groups/" + ga.ID + "/members/" + ub.ID + "/$ref"), notFound, []string{ub.ID}},
			{"assign role to B user", post(ra, fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": "/"}`, ub.ID, roleGlobalAdmin)),
				notFound, []string{ub.ID}},
			{"assign role to B group", post(ra, fmt.Sprintf(`{"principalId": %q, "roleDefinitionId": %q, "directoryScopeId": "/"}`, gb.ID, roleGlobalAdmin)),
				notFound, []string{gb.ID}},
			{"GET B role assignment", get(ra + "/" + rb.ID), notFound, []string{rb.ID}},
			{"DELETE B role assignment", del(ra + "/" + rb.ID), notFound, []string{rb.ID}},
			{"GET B audit entry", get("/v1.0/auditLogs/directoryAudits/" + auditB), notFound, []string{auditB}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(t, tokA, c.r)
				checkGraphError(t, c.name, r, c.statuses...)
				noLeak(t, c.name, r, c.named...)
				if a, b := e.counts(t, ta.id, ga.ID), e.counts(t, tb.id, gb.ID); !a.equal(beforeA) || !b.equal(beforeB) {
					t.Errorf("%s wrote: A %+v -> %+v, B %+v -> %+v", c.name, beforeA, a, beforeB, b)
				}
			})
		}

		t.Run("lists", func(t *testing.T) {
			for _, path := range []string{
				"/v1.0/users",
				q("/v1.0/users", "$filter", "userPrincipalName eq 'bob@fabrikam.com'"),
				q("/v1.0/users", "$filter", "startswith(displayName,'Bob')"),
				q("/v1.0/users", "$count", "true"),
				"/v1.0/groups",
				ra,
				"/v1.0/auditLogs/directoryAudits",
				"/v1.0/directoryRoles/" + roleSecurityAdmin + "/members",
				"/v1.0/directoryRoles/" + roleGlobalAdmin + "/members",
				"/v1.0/groups/" + ga.ID + "/members",
				"/v1.0/users/" + ua.ID + "/transitiveMemberOf",
			} {
				var hdr []string
				if strings.Contains(path, "count") {
					hdr = []string{"ConsistencyLevel", "eventual"}
				}
				items, _ := e.pageAll(t, tokA, path, hdr...)
				for _, it := range items {
					if slices.Contains(bIDs, str(it, "id")) || slices.Contains(bIDs, str(it, "principalId")) {
						t.Errorf("%s lists B's object %v", path, it)
					}
				}
				r := e.get(t, tokA, path, hdr...)
				noLeak(t, path, r)
				if strings.Contains(path, "count") {
					if c, _ := r.obj["@odata.count"].(float64); int(c) != beforeA.users {
						t.Errorf("A counts %v users, want %d", r.obj["@odata.count"], beforeA.users)
					}
				}
			}
			r := e.get(t, tokA, q(ra, "$filter", "principalId eq '"+ub.ID+"'")).want(t, "B principal filter", http.StatusOK)
			if v := r.values(t); len(v) != 0 {
				t.Errorf("A sees B's role assignments: %s", r.raw)
			}
		})

		t.Run("token with edited tid", func(t *testing.T) {
			for _, tid := range []string{tb.id, uuid.NewString()} {
				forged := editClaims(t, tokA, func(c map[string]any) { c["tid"] = tid })
				for _, path := range []string{"/v1.0/users", "/v1.0/users/" + ub.ID, "/v1.0/auditLogs/directoryAudits"} {
					r := e.get(t, forged, path)
					if code := checkGraphError(t, "forged tid "+path, r, http.StatusUnauthorized); code != "InvalidAuthenticationToken" {
						t.Errorf("forged tid: code %q", code)
					}
					if r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("forged tid: no WWW-Authenticate")
					}
					noLeak(t, "forged tid", r, ub.ID)
				}
				r := e.send(t, forged, "POST", "/v1.0/users", `{"displayName": "x", "userPrincipalName": "x@fabrikam.com"}`)
				checkGraphError(t, "forged tid POST", r, http.StatusUnauthorized)
			}
			if a, b := e.counts(t, ta.id, ga.ID), e.counts(t, tb.id, gb.ID); !a.equal(beforeA) || !b.equal(beforeB) {
				t.Errorf("forged tokens wrote: A %+v -> %+v, B %+v -> %+v", beforeA, a, beforeB, b)
			}
		})
	})
}
