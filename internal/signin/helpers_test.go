package signin_test

// Shared helpers of the black-box tests of the sign-in engine through the
// JSON API (lockout_test.go, badinput_test.go, bench_test.go): a whole
// vakt (app.New) behind an httptest server, on a fake clock the tests
// advance, with the client address set through X-Forwarded-For.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
)

// apiPassword is every test user's (right) password.
const apiPassword = "Grön-Tekopp-Regnar-31"

// apiOperator is the CLI operator: allowed everything.
var apiOperator = directory.Actor{Operator: true}

// apiClock is the fake clock shared by the engine and the services.
type apiClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *apiClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *apiClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// apiLog collects the server's log, shown when a test fails.
type apiLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *apiLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *apiLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// apiEnv is one vakt with one tenant, served over HTTP.
type apiEnv struct {
	t      testing.TB
	ctx    context.Context
	a      *app.App
	st     store.Store
	srv    *httptest.Server
	client *http.Client
	clock  *apiClock
	tenant store.Tenant
	outbox string
	// allow5xx: a test provokes server errors on purpose.
	allow5xx bool
}

// newAPIEnv builds vakt over st with weak password parameters (unless
// params is given) and creates the tenant contoso.com.
func newAPIEnv(t testing.TB, st store.Store, params ...config.PasswordConfig) *apiEnv {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	if len(params) > 0 {
		cfg.Password = params[0]
	}
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	logs := &apiLog{}
	a := app.New(cfg, st, kr, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	outbox := filepath.Join(t.TempDir(), "outbox")
	ob, err := delivery.NewFileOutbox(outbox)
	if err != nil {
		t.Fatal(err)
	}
	a.SecurityInfo.Sender = delivery.NewDevRouter(ob)
	clock := &apiClock{t: time.Now().UTC().Truncate(time.Second)}
	a.SignIn.Now, a.SecurityInfo.Now, a.Policies.Now, a.Admin.Now = clock.Now, clock.Now, clock.Now, clock.Now
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = a.SignInLog.Close(context.Background())
		if t.Failed() {
			if l := logs.String(); l != "" {
				t.Logf("server log:\n%s", l)
			}
		}
	})
	e := &apiEnv{t: t, ctx: ctx, a: a, st: st, srv: srv, client: srv.Client(), clock: clock, outbox: outbox}
	e.tenant = e.newTenant("contoso.com")
	return e
}

// newTenant creates a tenant with a Global Administrator.
func (e *apiEnv) newTenant(domain string) store.Tenant {
	e.t.Helper()
	tn, _, err := e.a.Admin.Init(e.ctx, domain, "admin@"+domain, "Blå-Fjäril-Hoppar-42")
	if err != nil {
		e.t.Fatal(err)
	}
	return tn
}

// securityDefaults turns the tenant's security defaults on or off.
func (e *apiEnv) securityDefaults(tenantID string, on bool) {
	e.t.Helper()
	if err := e.a.Policies.SetSecurityDefaults(e.ctx, apiOperator, tenantID, on, "test", true); err != nil {
		e.t.Fatal(err)
	}
}

// user creates an enabled user with apiPassword in the tenant.
func (e *apiEnv) user(tenantID, upn string) store.User {
	e.t.Helper()
	u, err := e.a.Admin.CreateUser(e.ctx, apiOperator, tenantID, admin.NewUser{UPN: upn, DisplayName: "Test User", Password: apiPassword})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// registerTOTP gives u an authenticator app (software OATH) and returns
// its secret; the clock moves on one step so the registration's code is
// not the one the next sign-in needs.
func (e *apiEnv) registerTOTP(tenantID string, u store.User) []byte {
	e.t.Helper()
	en, err := e.a.SecurityInfo.BeginTOTP(e.ctx, tenantID, u.ID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	sec, err := totp.DecodeSecret(en.SecretKey)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.a.SecurityInfo.FinishTOTP(e.ctx, apiOperator, tenantID, u.ID, en.MethodID, e.code(sec), true); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	return sec
}

// code is the app's current code.
func (e *apiEnv) code(sec []byte) string {
	p := totp.AppParams()
	return totp.Code(sec, totp.Step(e.clock.Now(), p), p)
}

// wrongCode is a well-formed code that is none of those the window
// accepts now.
func (e *apiEnv) wrongCode(sec []byte, n int) string {
	p := totp.AppParams()
	step := totp.Step(e.clock.Now(), p)
	for i := n; ; i++ {
		c := fmt.Sprintf("%06d", (i*7919+12345)%1000000)
		if c != totp.Code(sec, step-1, p) && c != totp.Code(sec, step, p) && c != totp.Code(sec, step+1, p) {
			return c
		}
	}
}

// perUserMFA enforces per-user MFA for u.
func (e *apiEnv) perUserMFA(tenantID string, u store.User) {
	e.t.Helper()
	if _, err := e.a.Admin.SetPerUserMFA(e.ctx, apiOperator, tenantID, []string{u.ID}, store.PerUserMFAEnforced); err != nil {
		e.t.Fatal(err)
	}
}

// apiResp is an answer of the API.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
	View   struct {
		FlowID string `json:"flowId"`
		State  string `json:"state"`
		MFA    *struct {
			Options  []string `json:"options"`
			Selected string   `json:"selected"`
			CodeSent bool     `json:"codeSent"`
		} `json:"mfa"`
		Register *struct {
			Options   []string `json:"options"`
			Skippable bool     `json:"skippable"`
		} `json:"register"`
		Blocked *struct {
			Code int `json:"code"`
		} `json:"blocked"`
		Session *struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	Err struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
}

func (r apiResp) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// apiReq is one request; the zero value is a POST of JSON from 127.0.0.1.
type apiReq struct {
	Method      string
	Path        string // after /{tenant}/api/
	Tenant      string // default: the env's tenant
	ContentType string // default: application/json when there is a body
	Body        any    // string and []byte are sent as they are; nil: no body
	IP          string // X-Forwarded-For
	Header      map[string]string
}

func (e *apiEnv) do(q apiReq) apiResp {
	e.t.Helper()
	if q.Method == "" {
		q.Method = http.MethodPost
	}
	if q.Tenant == "" {
		q.Tenant = e.tenant.ID
	}
	var body io.Reader
	switch b := q.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(q.Method, e.srv.URL+"/"+q.Tenant+"/api/"+q.Path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if q.ContentType != "" {
		req.Header.Set("Content-Type", q.ContentType)
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if q.IP != "" {
		req.Header.Set("X-Forwarded-For", q.IP)
	}
	for k, v := range q.Header {
		req.Header.Set(k, v)
	}
	// Errors are reported with Errorf, not Fatal: do runs in goroutines.
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Errorf("%s %s: %v", q.Method, q.Path, err)
		return apiResp{Status: -1}
	}
	defer resp.Body.Close()
	r := apiResp{Status: resp.StatusCode, Header: resp.Header}
	if r.Body, err = io.ReadAll(resp.Body); err != nil {
		e.t.Errorf("%s %s: %v", q.Method, q.Path, err)
		return apiResp{Status: -1}
	}
	if r.Status >= 500 && !e.allow5xx {
		e.t.Errorf("%s %s: server error %s", q.Method, q.Path, r)
	}
	if r.Status >= 400 {
		var env struct {
			Error *json.RawMessage `json:"error"`
		}
		if json.Unmarshal(r.Body, &env) == nil && env.Error != nil {
			_ = json.Unmarshal(*env.Error, &r.Err)
		}
	} else if len(r.Body) > 0 {
		_ = json.Unmarshal(r.Body, &r.View)
	}
	return r
}

// start opens a flow for upn from ip ("" is 127.0.0.1).
func (e *apiEnv) start(upn, ip string) string {
	e.t.Helper()
	r := e.do(apiReq{Path: "signin", Body: map[string]any{"username": upn}, IP: ip})
	if r.Status != http.StatusCreated || r.View.FlowID == "" || r.View.State != "password" {
		e.t.Fatalf("start %q: %s", upn, r)
	}
	return r.View.FlowID
}

// step posts a step of a flow.
func (e *apiEnv) step(flowID, step string, body any, ip string) apiResp {
	e.t.Helper()
	return e.do(apiReq{Path: "signin/" + flowID + "/" + step, Body: body, IP: ip})
}

// password starts a flow and sends pw.
func (e *apiEnv) password(upn, pw, ip string) apiResp {
	e.t.Helper()
	return e.step(e.start(upn, ip), "password", map[string]any{"password": pw}, ip)
}

// apiWantError checks an error answer: the status, the error code (unless
// code is ""), a message, and nothing but {"error": {"code", "message"}}.
func apiWantError(t testing.TB, r apiResp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %s", ct, r)
	}
	var shape map[string]map[string]any
	if err := json.Unmarshal(r.Body, &shape); err != nil || len(shape) != 1 || shape["error"] == nil {
		t.Fatalf("not an error object: %s", r)
	}
	if len(shape["error"]) != 2 || r.Err.Code == "" || r.Err.Message == "" {
		t.Fatalf("error without code and message: %s", r)
	}
	if code != "" && r.Err.Code != code {
		t.Fatalf("code %q, want %q: %s", r.Err.Code, code, r)
	}
}

// apiLockKey is how the engine keys lockout records: by the name typed.
func apiLockKey(upn string) string { return "name:" + strings.ToLower(upn) }

// lockout reads a lockout record.
func (e *apiEnv) lockout(upn, scope string) store.Lockout {
	e.t.Helper()
	l, err := e.st.GetLockout(e.ctx, e.tenant.ID, apiLockKey(upn), scope)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// flow reads a stored flow (zero if gone).
func (e *apiEnv) flow(tenantID, id string) store.Flow {
	e.t.Helper()
	f, err := e.st.GetFlow(e.ctx, tenantID, id, e.clock.Now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	return f
}

var apiErrRollback = errors.New("roll back")

// liveSessions counts u's live sessions without changing them: it revokes
// them in a transaction that is rolled back.
func (e *apiEnv) liveSessions(tenantID, userID string) int {
	e.t.Helper()
	var n int
	err := e.st.InTx(e.ctx, func(tx store.Store) error {
		var err error
		if n, err = tx.RevokeUserSessions(e.ctx, tenantID, userID, e.clock.Now()); err != nil {
			return err
		}
		return apiErrRollback
	})
	if !errors.Is(err, apiErrRollback) {
		e.t.Fatal(err)
	}
	return n
}

// signInLog returns the tenant's sign-in log, oldest first.
func (e *apiEnv) signInLog() []store.SignIn {
	e.t.Helper()
	if err := e.a.SignInLog.Flush(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	var all []store.SignIn
	q := store.ListQuery{Limit: 100}
	for {
		p, err := e.st.ListSignIns(e.ctx, e.tenant.ID, q)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// logCodes counts a user name's log entries by error code.
func (e *apiEnv) logCodes(upn string) map[int]int {
	e.t.Helper()
	out := map[int]int{}
	for _, s := range e.signInLog() {
		if strings.EqualFold(s.UserPrincipalName, upn) {
			out[s.ErrorCode]++
		}
	}
	return out
}
