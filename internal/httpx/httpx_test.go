package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// logBuffer is a goroutine-safe sink for a JSON slog logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes every JSON log line.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func ok() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
}

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { order = append(order, "h") }),
		mw("a"), mw("b"), mw("c"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := strings.Join(order, ","); got != "a,b,c,h" {
		t.Fatalf("order = %s", got)
	}
	if Chain(ok()) == nil {
		t.Fatal("empty chain")
	}
}

func TestRequestID(t *testing.T) {
	const valid = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
	tests := []struct {
		name, header string
		keep         bool
	}{
		{"valid upper-case", valid, true},
		{"absent", "", false},
		{"garbage", "hello; DROP TABLE", false},
		{"urn form", "urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff", false},
		{"braced", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}", false},
		{"log injection", "6f9619ff-8b86-d011-b42d-00c04fc964ff\nx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctxReq, ctxClient string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctxReq, ctxClient = RequestIDFrom(r.Context()), ClientRequestIDFrom(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				req.Header.Set("client-request-id", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			reqID, clientID := rec.Header().Get("request-id"), rec.Header().Get("client-request-id")
			if reqID != ctxReq || clientID != ctxClient {
				t.Errorf("headers (%s, %s) differ from context (%s, %s)", reqID, clientID, ctxReq, ctxClient)
			}
			u, err := uuid.Parse(reqID)
			if err != nil || u.Version() != 4 {
				t.Errorf("request-id %q is not a v4 UUID", reqID)
			}
			if tt.keep {
				if clientID != strings.ToLower(tt.header) {
					t.Errorf("client-request-id = %q, want %q echoed", clientID, tt.header)
				}
				return
			}
			if clientID == tt.header {
				t.Errorf("invalid client-request-id %q echoed", clientID)
			}
			if u, err := uuid.Parse(clientID); err != nil || u.Version() != 4 || len(clientID) != 36 {
				t.Errorf("generated client-request-id %q is not a v4 UUID", clientID)
			}
			if clientID == reqID {
				t.Error("client and server ids equal")
			}
		})
	}
}

func TestRequestIDUniquePerRequest(t *testing.T) {
	h := RequestID(ok())
	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		id := rec.Header().Get("request-id")
		if seen[id] {
			t.Fatalf("duplicate request id %s", id)
		}
		seen[id] = true
	}
	if RequestIDFrom(context.Background()) != "" || ClientRequestIDFrom(context.Background()) != "" {
		t.Error("ids outside middleware")
	}
}

func TestClientIP(t *testing.T) {
	policy := ProxyPolicy{Trusted: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("fd00::/8"),
	}}
	tests := []struct {
		name   string
		policy ProxyPolicy
		remote string
		xff    []string
		want   string
	}{
		{"no proxies, direct", ProxyPolicy{}, "203.0.113.5:4711", nil, "203.0.113.5"},
		{"no proxies ignores xff", ProxyPolicy{}, "203.0.113.5:4711", []string{"1.2.3.4"}, "203.0.113.5"},
		{"untrusted peer spoofing", policy, "203.0.113.5:4711", []string{"10.0.0.1, 1.2.3.4"}, "203.0.113.5"},
		{"untrusted peer claims trusted", policy, "203.0.113.5:4711", []string{"192.0.2.1"}, "203.0.113.5"},
		{"trusted proxy", policy, "10.0.0.2:4711", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client-prepended spoof ignored", policy, "10.0.0.2:4711", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"spoof trusted address on the left", policy, "10.0.0.2:4711", []string{"10.9.9.9, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted hops", policy, "10.0.0.2:4711", []string{"198.51.100.7, 192.0.2.1, 10.1.1.1"}, "198.51.100.7"},
		{"multiple header lines", policy, "10.0.0.2:4711", []string{"6.6.6.6, 198.51.100.7", "10.1.1.1"}, "198.51.100.7"},
		{"trusted, no xff", policy, "10.0.0.2:4711", nil, "10.0.0.2"},
		{"all hops trusted", policy, "10.0.0.2:4711", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3"},
		{"malformed stops at last good hop", policy, "10.0.0.2:4711", []string{"198.51.100.7, unknown, 10.0.0.3"}, "10.0.0.3"},
		{"malformed first entry", policy, "10.0.0.2:4711", []string{"1.2.3.4, garbage"}, "10.0.0.2"},
		{"empty entry is malformed", policy, "10.0.0.2:4711", []string{"1.2.3.4,,"}, "10.0.0.2"},
		{"entry with port", policy, "10.0.0.2:4711", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"ipv6 remote untrusted", policy, "[2001:db8::1]:4711", []string{"1.2.3.4"}, "2001:db8::1"},
		{"ipv6 trusted proxy", policy, "[fd00::1]:4711", []string{"2001:db8::beef"}, "2001:db8::beef"},
		{"ipv6 bracketed with port", policy, "[fd00::1]:4711", []string{"[2001:db8::beef]:443"}, "2001:db8::beef"},
		{"ipv6 bracketed", policy, "[fd00::1]:4711", []string{"[2001:db8::beef]"}, "2001:db8::beef"},
		{"ipv4-mapped remote is trusted", policy, "[::ffff:10.0.0.2]:4711", []string{"198.51.100.7"}, "198.51.100.7"},
		{"ipv4-mapped remote untrusted", policy, "[::ffff:203.0.113.5]:4711", nil, "203.0.113.5"},
		{"zoned remote", policy, "[fe80::1%eth0]:4711", nil, "fe80::1"},
		{"unix socket", policy, "@", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.policy.ClientIP(r).String(); got != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClientIPMiddleware(t *testing.T) {
	p := ProxyPolicy{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	var got netip.Addr
	srv := httptest.NewServer(p.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = ClientIPFrom(r.Context())
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != netip.MustParseAddr("198.51.100.9") {
		t.Errorf("ClientIPFrom = %v", got)
	}
	if ClientIPFrom(context.Background()).IsValid() {
		t.Error("valid address without middleware")
	}
}

func TestLogging(t *testing.T) {
	log, buf := newLogger()
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	}), RequestID, ProxyPolicy{}.Middleware, Logging(log))

	req := httptest.NewRequest("POST", "/token?code=SECRETCODE&password=hunter2", strings.NewReader("client_secret=BODYSECRET"))
	req.RemoteAddr = "198.51.100.1:1234"
	req.Header.Set("Authorization", "Bearer HEADERSECRET")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	out := buf.String()
	for _, secret := range []string{"SECRETCODE", "hunter2", "BODYSECRET", "HEADERSECRET", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q: %s", secret, out)
		}
	}
	lines := buf.lines(t)
	if len(lines) != 1 {
		t.Fatalf("want 1 line, got %d: %s", len(lines), out)
	}
	l := lines[0]
	want := map[string]any{
		"level": "INFO", "method": "POST", "path": "/token", "status": 201.0, "bytes": 5.0,
		"request_id": rec.Header().Get("request-id"), "client_ip": "198.51.100.1",
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v, want %v", k, l[k], v)
		}
	}
	if _, ok := l["duration"]; !ok {
		t.Error("no duration")
	}
}

func TestLoggingImplicitStatusAndPanic(t *testing.T) {
	log, buf := newLogger()
	Logging(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/empty", nil))

	func() {
		defer func() { _ = recover() }()
		Logging(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
		t.Error("panic swallowed by Logging")
	}()

	lines := buf.lines(t)
	if len(lines) != 2 || lines[0]["status"] != 200.0 || lines[1]["status"] != 500.0 || lines[1]["level"] != "WARN" {
		t.Fatalf("lines = %v", lines)
	}
}

// gather returns the vakt_http_requests_total values by (method, route,
// code) and the number of series in each metric family.
func gather(t *testing.T, reg *prometheus.Registry) (counts map[[3]string]float64, series map[string]int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, series = map[[3]string]float64{}, map[string]int{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			series[mf.GetName()]++
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if mf.GetName() == "vakt_http_requests_total" {
				counts[[3]string{l["method"], l["route"], l["code"]}] = m.GetCounter().GetValue()
			}
		}
	}
	return counts, series
}

func TestMetricsUsesPattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/users/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	log, _ := newLogger()
	// The recommended stack: context-replacing middlewares above Metrics.
	h := Chain(mux, RequestID, ProxyPolicy{}.Middleware, Logging(log), m.Middleware, Recover(log), MaxBody(1024))

	do := func(method, path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
	}
	for i := range 3 {
		do("GET", "/v1.0/users/"+uuid.NewString()+"?x="+string(rune('a'+i)))
	}
	do("POST", "/token")
	do("GET", "/boom")
	do("GET", "/no/such/path")
	do("GET", "/token") // wrong method: 405, unmatched
	do("BREW", "/token")

	want := map[[3]string]float64{
		{"GET", "GET /v1.0/users/{id}", "200"}: 3,
		{"POST", "POST /token", "400"}:         1,
		{"GET", "GET /boom", "500"}:            1,
		{"GET", "unmatched", "404"}:            1,
		{"GET", "unmatched", "405"}:            1,
		{"OTHER", "unmatched", "405"}:          1,
	}
	// Exactly these series: no raw path or odd method became a label.
	counts, series := gather(t, reg)
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("requests_total series:\n got %v\nwant %v", counts, want)
	}
	if n := series["vakt_http_request_duration_seconds"]; n != 5 {
		t.Errorf("duration series = %d, want 5", n)
	}
}

func TestNewMetricsTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	mux := http.NewServeMux()
	mux.Handle("GET /x", ok())
	a.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	b.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	if counts, _ := gather(t, reg); counts[[3]string{"GET", "GET /x", "200"}] != 2 {
		t.Errorf("shared counter = %v, want 2", counts)
	}
	NewMetrics(nil).Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
}

func TestRecover(t *testing.T) {
	log, buf := newLogger()
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "half-made"})
		panic("secret internal detail: db password hunter2")
	}), RequestID, Recover(log))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "hunter2") || strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Errorf("body leaks internals: %s", body)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "internalServerError" {
		t.Errorf("body = %s (%v)", body, err)
	}
	if rec.Header().Get("Set-Cookie") != "" {
		t.Error("staged cookie sent with the 500")
	}
	reqID := rec.Header().Get("request-id")
	if reqID == "" {
		t.Error("request-id dropped")
	}
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["request_id"] != reqID ||
		!strings.Contains(lines[0]["panic"].(string), "hunter2") || !strings.Contains(lines[0]["stack"].(string), "goroutine") {
		t.Errorf("log = %v", lines)
	}
}

func TestRecoverAfterResponseStartedAborts(t *testing.T) {
	log, _ := newLogger()
	h := Recover(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		panic("late")
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestRecoverPassesAbortHandler(t *testing.T) {
	log, buf := newLogger()
	h := Recover(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v", p)
		}
		if buf.String() != "" {
			t.Errorf("abort logged: %s", buf.String())
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMaxBody(t *testing.T) {
	var readErr error
	h := MaxBody(8)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader("12345678")))
	if rec.Code != 200 || readErr != nil {
		t.Errorf("at limit: %d %v", rec.Code, readErr)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader("123456789")))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared length over limit: %d", rec.Code)
	}

	// Unknown length (chunked): the reader enforces the limit.
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("123456789")))
	req.ContentLength = -1
	readErr = nil
	h.ServeHTTP(httptest.NewRecorder(), req)
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) {
		t.Errorf("read err = %v, want *http.MaxBytesError", readErr)
	}
}

func TestHealth(t *testing.T) {
	rec := httptest.NewRecorder()
	Health().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %s", ct)
	}
}

func TestReady(t *testing.T) {
	rec := httptest.NewRecorder()
	Ready(func(context.Context) error { return nil }).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("ready: %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	Ready(func(context.Context) error {
		return errors.New("dial tcp db.internal:5432: password authentication failed for user vakt")
	}).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body["status"] != "unavailable" || body["error"] != "store unreachable" {
		t.Errorf("body = %v", body)
	}
	if strings.Contains(rec.Body.String(), "db.internal") {
		t.Error("internal cause leaked")
	}

	// The check gets a bounded context.
	var hasDeadline bool
	Ready(func(ctx context.Context) error { _, hasDeadline = ctx.Deadline(); return nil }).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/readyz", nil))
	if !hasDeadline {
		t.Error("check context has no deadline")
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	reqCtxErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		reqCtxErr <- r.Context().Err()
		_, _ = io.WriteString(w, "finished")
	})
	log, _ := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, ServerConfig{ShutdownTimeout: 5 * time.Second}, log) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()

	<-started
	cancel() // shutdown begins while the request is in flight
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	close(release)

	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-reqCtxErr; err != nil {
		t.Errorf("request context cancelled during graceful shutdown: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-release:
		case <-r.Context().Done(): // the forced close cancels it
		}
	})
	log, _ := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, ServerConfig{ShutdownTimeout: 100 * time.Millisecond}, log) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve = %v, want deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
}

func TestServeListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Serve must report, not hang
	log, _ := newLogger()
	err = Serve(context.Background(), ln, ok(), ServerConfig{}, log)
	if err == nil {
		t.Fatal("no error from a closed listener")
	}
}
