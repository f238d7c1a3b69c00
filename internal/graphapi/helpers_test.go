package graphapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/tokens"
)

// Well-known role template ids (graph-api.md §9).
const (
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	roleSecurityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	roleGlobalReader  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	adminPassword     = "a-Strong-Passphrase-42"
)

// scriptPerms are what a typical admin script is granted.
var scriptPerms = []string{"User.ReadWrite.All", "Group.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "AuditLog.Read.All"}

// env is the whole HTTP surface of vakt over one store backend.
type env struct {
	t    *testing.T
	app  *app.App
	srv  *httptest.Server
	base string // http://host:port, the configured public URL
	ctx  context.Context
}

// tenantFix is a tenant made by Init, with its Global Administrator.
type tenantFix struct {
	id, domain, adminUPN, adminID string
}

// forEachBackend runs fn on every store backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, newEnv(t, b.New))
		})
	}
}

func newEnv(t *testing.T, newStore storetest.NewStore) *env {
	t.Helper()
	st := newStore(t)
	key := bytes.Repeat([]byte{0x42}, 32)
	keys, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	cfg.Data = t.TempDir()
	cfg.Password.Memory = 8 * 1024
	cfg.Password.Time = 1
	cfg.Password.Threads = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := app.New(cfg, st, keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, srv: srv, base: cfg.PublicURL, ctx: context.Background()}
}

// tenant creates a tenant with its Global Administrator.
func (e *env) tenant(domain string) tenantFix {
	e.t.Helper()
	upn := "admin@" + domain
	tn, _, err := e.app.Admin.Init(e.ctx, domain, upn, adminPassword)
	if err != nil {
		e.t.Fatalf("init %s: %v", domain, err)
	}
	u, err := e.app.Store.UserByUPN(e.ctx, tn.ID, upn)
	if err != nil {
		e.t.Fatal(err)
	}
	return tenantFix{id: tn.ID, domain: domain, adminUPN: upn, adminID: u.ID}
}

// appToken registers an app with perms and returns its app id and a token.
func (e *env) appToken(tenantID, name string, perms ...string) (appID, token string) {
	e.t.Helper()
	ap, sec, err := e.app.Admin.CreateApp(e.ctx, directory.Actor{Operator: true}, tenantID,
		admin.NewApp{DisplayName: name, Permissions: perms}, tokens.NewClientSecret)
	if err != nil {
		e.t.Fatalf("create app: %v", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ap.AppID}, "client_secret": {sec},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, err := e.srv.Client().Post(e.base+"/"+tenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		e.t.Fatalf("token response: %v", err)
	}
	return ap.AppID, tr.AccessToken
}

// req is one API request.
type req struct {
	method string
	path   string // "/v1.0/…" or an absolute URL (nextLink)
	body   string // raw body; empty means none
	ctype  string // Content-Type; application/json when body is set and ctype is empty
	header map[string]string
	chunk  bool // send the body without Content-Length
}

// resp is a read response.
type resp struct {
	status int
	header http.Header
	raw    []byte
	obj    map[string]any
}

// do sends r with the bearer token (none when token is empty). No
// response may be a 500.
func (e *env) do(t *testing.T, token string, r req) *resp {
	t.Helper()
	target := r.path
	if !strings.HasPrefix(target, "http") {
		target = e.base + target
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if r.chunk {
			body = io.MultiReader(body) // hides the length: chunked
		}
	}
	hr, err := http.NewRequest(r.method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			hr.Header.Set("Content-Type", ct)
		}
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	hresp, err := e.srv.Client().Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(hresp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &resp{status: hresp.StatusCode, header: hresp.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		_ = json.Unmarshal(raw, &out.obj)
	}
	if out.status >= 500 {
		t.Errorf("%s %s: status %d (no response may be a 500): %s", r.method, r.path, out.status, raw)
	}
	return out
}

// get is a GET with the token.
func (e *env) get(t *testing.T, token, path string, hdr ...string) *resp {
	t.Helper()
	r := req{method: http.MethodGet, path: path}
	if len(hdr) > 0 {
		r.header = map[string]string{}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.header[hdr[i]] = hdr[i+1]
		}
	}
	return e.do(t, token, r)
}

// send is a request with a JSON body.
func (e *env) send(t *testing.T, token, method, path, body string) *resp {
	t.Helper()
	return e.do(t, token, req{method: method, path: path, body: body})
}

// want fails unless the status is one of statuses.
func (r *resp) want(t *testing.T, what string, statuses ...int) *resp {
	t.Helper()
	for _, s := range statuses {
		if r.status == s {
			return r
		}
	}
	t.Fatalf("%s: status %d, want %v; body %s", what, r.status, statuses, r.raw)
	return r
}

// expect is want without stopping the test: for checks that later steps
// do not depend on.
func (r *resp) expect(t *testing.T, what string, statuses ...int) bool {
	t.Helper()
	if slices.Contains(statuses, r.status) {
		return true
	}
	t.Errorf("%s: status %d, want %v; body %s", what, r.status, statuses, r.raw)
	return false
}

// checkGraphError asserts the Graph error body every error response
// must carry: error.code, error.message, innerError.request-id and
// innerError.date, all non-empty; and the status among statuses. It
// returns error.code.
func checkGraphError(t *testing.T, what string, r *resp, statuses ...int) string {
	t.Helper()
	ok := false
	for _, s := range statuses {
		ok = ok || r.status == s
	}
	if !ok {
		t.Errorf("%s: status %d, want %v; body %s", what, r.status, statuses, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: error Content-Type %q, want application/json", what, ct)
	}
	errObj, _ := r.obj["error"].(map[string]any)
	if errObj == nil {
		t.Errorf("%s: no Graph error object in body %s", what, r.raw)
		return ""
	}
	code, _ := errObj["code"].(string)
	msg, _ := errObj["message"].(string)
	if code == "" {
		t.Errorf("%s: empty error.code in %s", what, r.raw)
	}
	if msg == "" {
		t.Errorf("%s: empty error.message in %s", what, r.raw)
	}
	inner, _ := errObj["innerError"].(map[string]any)
	if inner == nil {
		t.Errorf("%s: no error.innerError in %s", what, r.raw)
		return code
	}
	if id, _ := inner["request-id"].(string); id == "" {
		t.Errorf("%s: empty innerError.request-id in %s", what, r.raw)
	} else if h := r.header.Get("request-id"); h != "" && h != id {
		t.Errorf("%s: innerError.request-id %q differs from the request-id header %q", what, id, h)
	}
	if d, _ := inner["date"].(string); d == "" {
		t.Errorf("%s: empty innerError.date in %s", what, r.raw)
	} else if _, err := time.Parse("2006-01-02T15:04:05", d); err != nil {
		t.Errorf("%s: innerError.date %q is not a date: %v", what, d, err)
	}
	return code
}

// values returns the "value" array of a collection response.
func (r *resp) values(t *testing.T) []map[string]any {
	t.Helper()
	raw, ok := r.obj["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("value[%d] is not an object: %s", i, r.raw)
		}
		out[i] = m
	}
	return out
}

// ids returns the ids of a collection's items.
func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, m := range items {
		out[i], _ = m["id"].(string)
	}
	return out
}

// str reads a string property.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// pageAll follows @odata.nextLink from path and returns every item and
// the number of pages.
func (e *env) pageAll(t *testing.T, token, path string, hdr ...string) (items []map[string]any, pages int) {
	t.Helper()
	next := path
	for next != "" {
		pages++
		if pages > 50 {
			t.Fatalf("paging %s: too many pages", path)
		}
		r := e.get(t, token, next, hdr...).want(t, "GET "+next, http.StatusOK)
		items = append(items, r.values(t)...)
		next = str(r.obj, "@odata.nextLink")
		if next != "" && !strings.HasPrefix(next, e.base+"/v1.0/") {
			t.Fatalf("nextLink %q is not an absolute URL under %s/v1.0/", next, e.base)
		}
	}
	return items, pages
}

// q builds a path with query options.
func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// counts are the rows of one tenant that a refused request must not change.
type counts struct {
	users, groups, audits, roleAssignments int
	members                                map[string]int
}

func (e *env) counts(t *testing.T, tenantID string, groupIDs ...string) counts {
	t.Helper()
	all := store.ListQuery{Limit: 1, WantCount: true}
	u, err := e.app.Store.ListUsers(e.ctx, tenantID, all)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.app.Store.ListGroups(e.ctx, tenantID, all)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.app.Store.ListAudits(e.ctx, tenantID, all)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := e.app.Store.ListRoleAssignments(e.ctx, tenantID, "")
	if err != nil {
		t.Fatal(err)
	}
	c := counts{users: u.Count, groups: g.Count, audits: a.Count, roleAssignments: len(ra), members: map[string]int{}}
	for _, id := range groupIDs {
		m, err := e.app.Store.ListMembers(e.ctx, tenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		c.members[id] = len(m)
	}
	return c
}

func (c counts) equal(o counts) bool {
	if c.users != o.users || c.groups != o.groups || c.audits != o.audits || c.roleAssignments != o.roleAssignments ||
		len(c.members) != len(o.members) {
		return false
	}
	for k, v := range c.members {
		if o.members[k] != v {
			return false
		}
	}
	return true
}

// latestAudit returns the newest directory audit entry.
func (e *env) latestAudit(t *testing.T, token string) map[string]any {
	t.Helper()
	r := e.get(t, token, q("/v1.0/auditLogs/directoryAudits", "$top", "1")).want(t, "latest audit", http.StatusOK)
	v := r.values(t)
	if len(v) != 1 {
		t.Fatalf("latest audit: %d entries", len(v))
	}
	return v[0]
}

// checkAudit asserts that the newest audit entry records activity by the
// app on target, with the named modified properties on that target.
func (e *env) checkAudit(t *testing.T, token, appID, activity, targetID string, props ...string) map[string]any {
	t.Helper()
	a := e.latestAudit(t, token)
	if got := str(a, "activityDisplayName"); got != activity {
		t.Errorf("newest audit activity %q, want %q (%v)", got, activity, a)
	}
	if str(a, "id") == "" || str(a, "activityDateTime") == "" || str(a, "result") != "success" || str(a, "correlationId") == "" {
		t.Errorf("audit %q lacks id, activityDateTime, result=success or correlationId: %v", activity, a)
	}
	by, _ := a["initiatedBy"].(map[string]any)
	ap, _ := by["app"].(map[string]any)
	if ap == nil || str(ap, "appId") != appID {
		t.Errorf("audit %q initiatedBy.app = %v, want appId %s", activity, by["app"], appID)
	}
	targets, _ := a["targetResources"].([]any)
	var target map[string]any
	for _, x := range targets {
		if m, _ := x.(map[string]any); str(m, "id") == targetID {
			target = m
		}
	}
	if target == nil {
		t.Errorf("audit %q has no target %s: %v", activity, targetID, targets)
		return a
	}
	mp, ok := target["modifiedProperties"].([]any)
	if !ok {
		t.Errorf("audit %q target has no modifiedProperties array: %v", activity, target)
		return a
	}
	for _, want := range props {
		found := false
		for _, x := range mp {
			if m, _ := x.(map[string]any); str(m, "displayName") == want {
				found = true
			}
		}
		if !found {
			t.Errorf("audit %q: modifiedProperties %v lack %q", activity, mp, want)
		}
	}
	return a
}

// editClaims re-encodes a JWT's payload with edit applied and keeps the
// original signature.
func editClaims(t *testing.T, token string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	edit(claims)
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
