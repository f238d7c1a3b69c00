package graphapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
)

// TestGraphODataQueries pages, filters, selects, counts and orders 250
// users made through the admin service (without passwords, for speed).
func TestGraphODataQueries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "scripts", scriptPerms...)
		op := directory.Actor{Operator: true}
		const n = 250
		annCount := 0
		for i := range n {
			in := admin.NewUser{UPN: fmt.Sprintf("user%03d@contoso.com", i), DisplayName: fmt.Sprintf("User %03d", i)}
			if i%25 == 0 {
				in = admin.NewUser{UPN: fmt.Sprintf("ann%03d@contoso.com", i), DisplayName: fmt.Sprintf("Ann %03d", i)}
				annCount++
			}
			if i == 7 {
				in.Mail = "Mixed.Case@Contoso.com"
			}
			if _, err := e.app.Admin.CreateUser(e.ctx, op, tn.id, in); err != nil {
				t.Fatal(err)
			}
		}
		total := n + 1 // and the administrator
		startsWithA := annCount + 1
		if _, err := e.app.Admin.CreateGroup(e.ctx, op, tn.id, admin.NewGroup{DisplayName: "Mixed", MailNickname: "MixedNick"}); err != nil {
			t.Fatal(err)
		}
		eventual := []string{"ConsistencyLevel", "eventual"}

		type pagedCase struct {
			name      string
			path      string
			hdr       []string
			wantItems int
			wantPages int // 0: not checked
			check     func(t *testing.T, items []map[string]any)
		}
		lowerName := func(m map[string]any) string { return strings.ToLower(str(m, "displayName")) }
		sortedBy := func(desc bool) func(t *testing.T, items []map[string]any) {
			return func(t *testing.T, items []map[string]any) {
				for i := 1; i < len(items); i++ {
					a, b := lowerName(items[i-1]), lowerName(items[i])
					if (!desc && a > b) || (desc && a < b) {
						t.Fatalf("out of order at %d: %q then %q", i, a, b)
					}
				}
			}
		}
		upnPrefix := func(p string) func(t *testing.T, items []map[string]any) {
			return func(t *testing.T, items []map[string]any) {
				for _, it := range items {
					if !strings.HasPrefix(str(it, "userPrincipalName"), p) {
						t.Errorf("item %v does not start with %q", it, p)
					}
				}
			}
		}
		for _, c := range []pagedCase{
			{name: "default page size", path: "/v1.0/users", wantItems: total, wantPages: 3},
			{name: "$top=100", path: q("/v1.0/users", "$top", "100"), wantItems: total, wantPages: 3},
			{name: "$top=7", path: q("/v1.0/users", "$top", "7"), wantItems: total, wantPages: 36},
			{name: "$top=999", path: q("/v1.0/users", "$top", "999"), wantItems: total, wantPages: 1},
			{name: "$orderby desc paged", path: q("/v1.0/users", "$orderby", "displayName desc", "$top", "60"),
				wantItems: total, wantPages: 5, check: sortedBy(true)},
			{name: "$orderby asc paged", path: q("/v1.0/users", "$orderby", "displayName", "$top", "100"),
				wantItems: total, wantPages: 3, check: sortedBy(false)},
			{name: "startswith a", path: q("/v1.0/users", "$filter", "startswith(userPrincipalName,'a')"),
				wantItems: startsWithA, wantPages: 1, check: upnPrefix("a")},
			{name: "startswith user, paged keeps the filter", path: q("/v1.0/users", "$filter", "startswith(userPrincipalName,'user')", "$top", "50"),
				wantItems: n - annCount, wantPages: 5, check: upnPrefix("user")},
			{name: "displayName eq", path: q("/v1.0/users", "$filter", "displayName eq 'User 042'"), wantItems: 1,
				check: upnPrefix("user042@")},
			{name: "displayName eq ignores case", path: q("/v1.0/users", "$filter", "displayName eq 'user 042'"), wantItems: 1,
				check: upnPrefix("user042@")},
			{name: "userPrincipalName eq ignores case", path: q("/v1.0/users", "$filter", "userPrincipalName eq 'USER042@contoso.com'"), wantItems: 1},
			{name: "no match", path: q("/v1.0/users", "$filter", "displayName eq 'nobody'"), wantItems: 0, wantPages: 1},
			{name: "mail eq (mixed case, same spelling)", path: q("/v1.0/users", "$filter", "mail eq 'Mixed.Case@Contoso.com'"), wantItems: 1,
				check: upnPrefix("user007@")},
			{name: "mail eq ignores case", path: q("/v1.0/users", "$filter", "mail eq 'mixed.case@contoso.com'"), wantItems: 1,
				check: upnPrefix("user007@")},
			{name: "group mailNickname eq", path: q("/v1.0/groups", "$filter", "mailNickname eq 'MixedNick'"), wantItems: 1},
			{name: "$count with filter", path: q("/v1.0/users", "$count", "true", "$filter", "startswith(userPrincipalName,'a')"), hdr: eventual,
				wantItems: startsWithA},
		} {
			t.Run(c.name, func(t *testing.T) {
				items, pages := e.pageAll(t, tok, c.path, c.hdr...)
				if len(items) != c.wantItems {
					t.Errorf("%d items, want %d", len(items), c.wantItems)
				}
				if c.wantPages != 0 && pages != c.wantPages {
					t.Errorf("%d pages, want %d", pages, c.wantPages)
				}
				seen := map[string]bool{}
				for _, id := range ids(items) {
					if id == "" || seen[id] {
						t.Errorf("id %q empty or listed twice", id)
					}
					seen[id] = true
				}
				if c.check != nil {
					c.check(t, items)
				}
			})
		}

		t.Run("$orderby desc first page", func(t *testing.T) {
			r := e.get(t, tok, q("/v1.0/users", "$orderby", "displayName desc", "$top", "3")).want(t, "orderby", http.StatusOK)
			var got []string
			for _, it := range r.values(t) {
				got = append(got, str(it, "displayName"))
			}
			if want := []string{"User 249", "User 248", "User 247"}; !slices.Equal(got, want) {
				t.Errorf("first names %v, want %v", got, want)
			}
		})

		t.Run("$select", func(t *testing.T) {
			r := e.get(t, tok, q("/v1.0/users", "$select", "displayName", "$top", "5")).want(t, "select", http.StatusOK)
			if ctx := str(r.obj, "@odata.context"); ctx != e.base+"/v1.0/$metadata#users(displayName)" {
				t.Errorf("@odata.context %q", ctx)
			}
			items := r.values(t)
			if len(items) != 5 {
				t.Fatalf("%d items", len(items))
			}
			for _, it := range items {
				for k := range it {
					if k != "id" && k != "displayName" && !strings.HasPrefix(k, "@odata.") {
						t.Errorf("$select=displayName returned %q: %v", k, it)
					}
				}
				if str(it, "id") == "" || str(it, "displayName") == "" {
					t.Errorf("$select item lacks id or displayName: %v", it)
				}
			}
			// On a single entity too.
			g := e.get(t, tok, q("/v1.0/users/"+tn.adminID, "$select", "displayName"))
			if g.expect(t, "entity $select", http.StatusOK) {
				for k := range g.obj {
					if k != "id" && k != "displayName" && !strings.HasPrefix(k, "@odata.") {
						t.Errorf("entity $select=displayName returned %q: %s", k, g.raw)
					}
				}
				if str(g.obj, "displayName") != "Administrator" {
					t.Errorf("entity $select: %s", g.raw)
				}
			}
		})

		t.Run("$count", func(t *testing.T) {
			r := e.get(t, tok, q("/v1.0/users", "$count", "true", "$top", "1"), eventual...).want(t, "count", http.StatusOK)
			if c, ok := r.obj["@odata.count"].(float64); !ok || int(c) != total {
				t.Errorf("@odata.count = %v, want %d", r.obj["@odata.count"], total)
			}
			if len(r.values(t)) != 1 {
				t.Errorf("$count with $top=1 returned %d items", len(r.values(t)))
			}
			r = e.get(t, tok, q("/v1.0/groups", "$count", "true"), eventual...).want(t, "group count", http.StatusOK)
			if c, ok := r.obj["@odata.count"].(float64); !ok || int(c) != 1 {
				t.Errorf("groups @odata.count = %v, want 1", r.obj["@odata.count"])
			}
			r = e.get(t, tok, q("/v1.0/users", "$top", "1")).want(t, "no count", http.StatusOK)
			if _, ok := r.obj["@odata.count"]; ok {
				t.Errorf("@odata.count without $count: %s", r.raw)
			}
			for _, path := range []string{q("/v1.0/users", "$count", "true"), q("/v1.0/groups", "$count", "true")} {
				r := e.get(t, tok, path)
				if code := checkGraphError(t, path+" without ConsistencyLevel", r, http.StatusBadRequest); code != "Request_BadRequest" {
					t.Errorf("%s without ConsistencyLevel: code %q, want Request_BadRequest", path, code)
				}
			}
		})
	})
}
