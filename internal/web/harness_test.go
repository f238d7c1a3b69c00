package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apptest"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
	"github.com/vakt-id/vakt/internal/web/webtest"
)

var operator = directory.Actor{Operator: true}

const userPassword = "Lila-Kor-Flyger-88"

// site is a running vakt (app.New on a real store) behind a loopback
// server, with a clock the test moves.
type site struct {
	t      testing.TB
	ctx    context.Context
	a      *app.App
	srv    *httptest.Server
	tenant store.Tenant
	outbox string
	url    string // the public URL (srv.URL, or localhost for keys)
	run    *apptest.Server
}

func (s *site) clock() time.Time { return s.run.Now() }

func (s *site) advance(d time.Duration) { s.run.Advance(d) }

func newSite(t testing.TB, newStore storetest.NewStore) *site { return newSiteAt(t, newStore, false) }

// newSiteAt with localhost names the server http://localhost:<port> in its
// public URL: WebAuthn refuses IP addresses, so the key tests need it.
func newSiteAt(t testing.TB, newStore storetest.NewStore, localhost bool) *site {
	r := apptest.Start(t, newStore(t), apptest.Options{Localhost: localhost})
	s := &site{t: t, ctx: context.Background(), a: r.App, srv: r.Srv, tenant: r.Tenant, outbox: r.Outbox, url: r.URL, run: r}
	s.a.Authenticator.Now = s.clock
	return s
}

func (s *site) user(upn string) store.User {
	s.t.Helper()
	u, err := s.a.Admin.CreateUser(s.ctx, operator, s.tenant.ID, admin.NewUser{UPN: upn, DisplayName: "Anna Test", Password: userPassword})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// code is the authenticator app's current code for a key shown on a page.
func (s *site) code(key string) string {
	s.t.Helper()
	sec, err := totp.DecodeSecret(strings.ReplaceAll(key, " ", ""))
	if err != nil {
		s.t.Fatal(err)
	}
	return totp.Code(sec, totp.Step(s.clock(), totp.AppParams()), totp.AppParams())
}

// sentCode reads the newest code sent to an address from the file outbox.
func (s *site) sentCode(to string) string {
	s.t.Helper()
	m, ok, err := delivery.LatestTo(s.outbox, to)
	if err != nil || !ok {
		s.t.Fatalf("no message to %s in the outbox: %v", to, err)
	}
	return m.Code
}

// client is a plain HTTP client with cookies that reads forms' tokens
// from the last page, like a browser without JavaScript (webtest.Browser;
// the fields mirror its last answer for the tests here).
type client struct {
	t      testing.TB
	s      *site
	c      *http.Client
	b      *webtest.Browser
	last   string // the last page's body
	status int
	lang   string
}

func (s *site) client() *client {
	b := webtest.New(s.t, s.srv.URL)
	return &client{t: s.t, s: s, c: b.HTTP, b: b}
}

func (c *client) sync(f func()) *client {
	c.t.Helper()
	c.b.Lang = c.lang
	f()
	c.last, c.status = c.b.Page, c.b.Status
	return c
}

func (c *client) do(req *http.Request) *client {
	c.t.Helper()
	return c.sync(func() { c.b.Do(req) })
}

func (c *client) get(path string) *client {
	c.t.Helper()
	return c.sync(func() { c.b.Get(path) })
}

// token is the form token of the last page that had a form.
func (c *client) token() string { c.t.Helper(); return c.b.Token() }

// post submits fields with the last page's token (unless fields has one).
func (c *client) post(path string, fields url.Values) *client {
	c.t.Helper()
	return c.sync(func() { c.b.Post(path, fields) })
}

// expect checks the last answer's status and that its page shows each
// of contains; it returns the page.
func (c *client) expect(want int, contains ...string) string {
	c.t.Helper()
	return c.b.Expect(want, contains...)
}

var keyRE = regexp.MustCompile(`id="secret-key" data-key="([A-Z2-7]+)"`)

func secretKeyOn(t *testing.T, page string) string {
	t.Helper()
	m := keyRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret key on the page:\n%s", page)
	}
	return m[1]
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func sqliteStore(t testing.TB) store.Store { return storetest.SQLite(t) }

func signinClient() signin.Client { return signin.Client{Kind: policy.ClientBrowser} }
