package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef-test-secret")

func smsMsg() Message {
	return Message{
		ID:          "5f0c2b7e-2d1a-4c1b-8f7e-9a0b1c2d3e4f",
		TenantID:    "t1",
		Channel:     ChannelVoice,
		To:          "+46701234567",
		Locale:      "en",
		Text:        "Your Vakt code is 4 9 3 8 1 7.",
		Code:        "493817",
		CallbackURL: "https://id.example/voice/callback/5f0c2b7e",
		CreatedAt:   time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// hookServer verifies every request's signature and answers with the
// statuses in script, then 200.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	times    []time.Time
	script   []func(http.ResponseWriter)
	badSigs  int
	attempts int
}

func newHookServer(t *testing.T, script ...func(http.ResponseWriter)) *hookServer {
	t.Helper()
	hs := &hookServer{script: script}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hs.mu.Lock()
		n := hs.attempts
		hs.attempts++
		hs.bodies = append(hs.bodies, body)
		hs.headers = append(hs.headers, r.Header.Clone())
		hs.times = append(hs.times, time.Now())
		if err := VerifyCallback(testSecret, r, body, time.Now()); err != nil {
			hs.badSigs++
			hs.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		hs.mu.Unlock()
		if n < len(hs.script) {
			hs.script[n](w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func (hs *hookServer) count() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.attempts
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func newTestWebhook(t *testing.T, url string) *Webhook {
	t.Helper()
	w, err := NewWebhook(WebhookConfig{URL: url, Secret: testSecret, Backoff: time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookSuccess(t *testing.T) {
	hs := newHookServer(t)
	m := smsMsg()
	if err := newTestWebhook(t, hs.URL).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if hs.count() != 1 || hs.badSigs != 0 {
		t.Fatalf("attempts %d, bad signatures %d", hs.count(), hs.badSigs)
	}
	h := hs.headers[0]
	if h.Get("Content-Type") != "application/json" || h.Get("Idempotency-Key") != m.ID {
		t.Errorf("headers: %v", h)
	}
	if !strings.HasPrefix(h.Get(HeaderSignature), "sha256=") {
		t.Errorf("signature header %q", h.Get(HeaderSignature))
	}
	var got map[string]any
	if err := json.Unmarshal(hs.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": m.ID, "tenantId": m.TenantID, "channel": "voice", "to": m.To, "locale": "en",
		"text": m.Text, "code": m.Code, "callbackUrl": m.CallbackURL, "createdAt": "2026-03-01T12:00:00Z",
	}
	if len(got) != len(want) {
		t.Errorf("payload keys: %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("payload %s = %v, want %v", k, got[k], v)
		}
	}
}

func TestWebhookRetries5xx(t *testing.T) {
	hs := newHookServer(t, status(500), status(503))
	if err := newTestWebhook(t, hs.URL).Send(context.Background(), smsMsg()); err != nil {
		t.Fatal(err)
	}
	if hs.count() != 3 {
		t.Fatalf("attempts = %d, want 3", hs.count())
	}
	for _, h := range hs.headers {
		if h.Get("Idempotency-Key") != smsMsg().ID {
			t.Errorf("Idempotency-Key %q changed between attempts", h.Get("Idempotency-Key"))
		}
	}
}

func TestWebhookGivesUp(t *testing.T) {
	hs := newHookServer(t, status(500), status(500), status(500), status(500), status(500))
	err := newTestWebhook(t, hs.URL).Send(context.Background(), smsMsg())
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want a transient failure", err)
	}
	if hs.count() != 4 {
		t.Fatalf("attempts = %d, want default 4", hs.count())
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	if err := newTestWebhook(t, hs.URL).Send(context.Background(), smsMsg()); err != nil {
		t.Fatal(err)
	}
	if hs.count() != 2 {
		t.Fatalf("attempts = %d, want 2", hs.count())
	}
	if gap := hs.times[1].Sub(hs.times[0]); gap < 900*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After of 1s honoured", gap)
	}
}

func TestWebhookPermanent4xx(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter) {
		// A provider echoing the request must not put the code in our error.
		http.Error(w, `bad number; code 493817`, http.StatusBadRequest)
	})
	err := newTestWebhook(t, hs.URL).Send(context.Background(), smsMsg())
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if hs.count() != 1 {
		t.Errorf("attempts = %d, want 1", hs.count())
	}
	if strings.Contains(err.Error(), smsMsg().Code) {
		t.Errorf("error leaks the code: %v", err)
	}
}

func TestWebhookCancelDuringBackoff(t *testing.T) {
	hs := newHookServer(t, status(503), status(503), status(503), status(503))
	w, err := NewWebhook(WebhookConfig{URL: hs.URL, Secret: testSecret, Backoff: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for hs.count() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	err = w.Send(ctx, smsMsg())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send returned %v after start, want prompt return on cancel", d)
	}
	if hs.count() != 1 {
		t.Errorf("attempts = %d, want 1", hs.count())
	}
}

func TestWebhookDeadlineBeforeRetry(t *testing.T) {
	hs := newHookServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	w := newTestWebhook(t, hs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Send(ctx, smsMsg()); err == nil {
		t.Fatal("send succeeded")
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("waited %v for a retry past the deadline", d)
	}
}

func TestWebhookNetworkErrorRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Accept and drop connections: every attempt fails at the transport.
	var mu sync.Mutex
	conns := 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			mu.Unlock()
			_ = c.Close()
		}
	}()
	defer l.Close()
	w, err := NewWebhook(WebhookConfig{URL: "http://" + l.Addr().String() + "/hook", Secret: testSecret, Backoff: time.Millisecond, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Send(context.Background(), smsMsg())
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want transient failure", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns < 3 {
		t.Errorf("connections = %d, want 3 attempts", conns)
	}
}

func TestWebhookNoRedirect(t *testing.T) {
	target := newHookServer(t)
	hs := newHookServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	if err := newTestWebhook(t, hs.URL).Send(context.Background(), smsMsg()); !errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if target.count() != 0 {
		t.Error("redirect was followed")
	}
}

func TestNewWebhookConfig(t *testing.T) {
	for _, u := range []string{"http://sms.example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/", "https://", "::bad"} {
		if _, err := NewWebhook(WebhookConfig{URL: u, Secret: testSecret}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	for _, u := range []string{"https://sms.example.com/hook", "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/hook"} {
		if _, err := NewWebhook(WebhookConfig{URL: u, Secret: testSecret}); err != nil {
			t.Errorf("URL %q refused: %v", u, err)
		}
	}
	if _, err := NewWebhook(WebhookConfig{URL: "https://sms.example.com/", Secret: []byte("short")}); err == nil {
		t.Error("short secret accepted")
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_770_000_000, 0)
	body := []byte(`{"id":"x","code":"123456"}`)
	sig := Sign(testSecret, now, body)
	ts := strconv.FormatInt(now.Unix(), 10)

	if err := VerifySignature(testSecret, sig, ts, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	tamperedSig := sig[:len(sig)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", sig[len(sig)-1])+1)%16])
	oldTS := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	cases := map[string]struct {
		secret          []byte
		sig, ts         string
		body            []byte
		verifyAt        time.Time
		maxSkew         time.Duration
		wantErrContains string
	}{
		"tampered body":       {testSecret, sig, ts, []byte(`{"id":"x","code":"654321"}`), now, 0, "mismatch"},
		"tampered signature":  {testSecret, tamperedSig, ts, body, now, 0, "mismatch"},
		"other secret":        {[]byte("another-secret-of-16+"), sig, ts, body, now, 0, "mismatch"},
		"timestamp swapped":   {testSecret, sig, oldTS, body, now, 0, "mismatch"},
		"old timestamp":       {testSecret, Sign(testSecret, now.Add(-10*time.Minute), body), oldTS, body, now, 0, "skew"},
		"future timestamp":    {testSecret, sig, ts, body, now.Add(-6 * time.Minute), 0, "skew"},
		"custom skew":         {testSecret, sig, ts, body, now.Add(31 * time.Second), 30 * time.Second, "skew"},
		"missing prefix":      {testSecret, strings.TrimPrefix(sig, "sha256="), ts, body, now, 0, "prefix"},
		"not hex":             {testSecret, "sha256=zz", ts, body, now, 0, "malformed"},
		"missing timestamp":   {testSecret, sig, "", body, now, 0, "timestamp"},
		"no secret":           {nil, sig, ts, body, now, 0, "secret"},
		"empty signature hex": {testSecret, "sha256=", ts, body, now, 0, "mismatch"},
	}
	for name, c := range cases {
		err := VerifySignature(c.secret, c.sig, c.ts, c.body, c.verifyAt, c.maxSkew)
		if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), c.wantErrContains) {
			t.Errorf("%s: err = %v, want ErrBadSignature (%s)", name, err, c.wantErrContains)
		}
	}
}

func TestVerifyCallback(t *testing.T) {
	now := time.Now()
	body := `{"id":"5f0c2b7e","outcome":"confirmed"}`
	r := httptest.NewRequest(http.MethodPost, "/voice/callback", strings.NewReader(body))
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	r.Header.Set(HeaderSignature, Sign(testSecret, now, []byte(body)))
	if err := VerifyCallback(testSecret, r, []byte(body), now); err != nil {
		t.Fatalf("valid callback refused: %v", err)
	}
	if err := VerifyCallback(testSecret, r, []byte(`{"id":"5f0c2b7e","outcome":"rejected"}`), now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered callback: err = %v", err)
	}
	r.Header.Del(HeaderSignature)
	if err := VerifyCallback(testSecret, r, []byte(body), now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unsigned callback: err = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		"0":                             0,
		"-5":                            0,
		"3600":                          30 * time.Second,
		"soon":                          0,
		"Sun, 01 Mar 2026 12:00:05 GMT": 5 * time.Second,
		"Sun, 01 Mar 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
