package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed webhook request or callback.
const (
	HeaderSignature = "X-Vakt-Signature"
	HeaderTimestamp = "X-Vakt-Timestamp"
)

// DefaultMaxSkew is how far a signed timestamp may be from now before
// VerifySignature refuses it, bounding how long a captured request can be
// replayed.
const DefaultMaxSkew = 5 * time.Minute

// maxRetryAfter caps a provider's Retry-After so a sign-in is not held up
// for minutes by one 429.
const maxRetryAfter = 30 * time.Second

// ErrBadSignature is returned by VerifySignature and VerifyCallback for a
// missing, malformed, wrong or stale signature.
var ErrBadSignature = errors.New("delivery: bad webhook signature")

// WebhookConfig configures the webhook sender.
type WebhookConfig struct {
	URL         string        // https, or http to a loopback host
	Secret      []byte        // HMAC key shared with the provider; at least 16 bytes
	Timeout     time.Duration // per attempt; default 10s
	MaxAttempts int           // default 4
	Backoff     time.Duration // first retry delay; default 500ms, doubles, with jitter
	// Client defaults to one that does not follow redirects: a redirect
	// would re-send the code and its signature somewhere not configured.
	Client *http.Client
}

// Webhook sends messages (typically SMS and voice) to a provider as signed
// JSON POSTs, retrying transient failures.
type Webhook struct {
	url         string
	secret      []byte
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	client      *http.Client
}

// webhookPayload is the provider-facing schema; it is fixed here rather
// than derived from Message so internal changes cannot alter it.
type webhookPayload struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenantId"`
	Channel     Channel   `json:"channel"`
	To          string    `json:"to"`
	Locale      string    `json:"locale"`
	Text        string    `json:"text"`
	Code        string    `json:"code"`
	CallbackURL string    `json:"callbackUrl"`
	CreatedAt   time.Time `json:"createdAt"`
}

// NewWebhook validates cfg and applies defaults.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("delivery: webhook url: %w", err)
	}
	if u.Host == "" {
		return nil, errors.New("delivery: webhook url has no host")
	}
	switch u.Scheme {
	case "https":
	case "http":
		// The body carries the code: clear text only on this machine.
		if !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("delivery: webhook url must be https (http only for loopback hosts): %s", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("delivery: webhook url scheme %q not supported", u.Scheme)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("delivery: webhook secret must be at least 16 bytes")
	}
	w := &Webhook{
		url:         u.String(),
		secret:      bytes.Clone(cfg.Secret),
		timeout:     cfg.Timeout,
		maxAttempts: cfg.MaxAttempts,
		backoff:     cfg.Backoff,
		client:      cfg.Client,
	}
	if w.timeout <= 0 {
		w.timeout = 10 * time.Second
	}
	if w.maxAttempts <= 0 {
		w.maxAttempts = 4
	}
	if w.backoff <= 0 {
		w.backoff = 500 * time.Millisecond
	}
	if w.client == nil {
		w.client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return w, nil
}

// Send POSTs m to the provider. Network errors, 429 and 5xx are retried
// with exponential backoff; other non-2xx statuses fail at once with an
// error wrapping ErrPermanent. Every attempt carries the same
// Idempotency-Key (the message id), so a provider that saw an attempt
// whose response was lost does not send the code twice.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	if err := validate(m); err != nil {
		return err
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	body, err := json.Marshal(webhookPayload{
		ID: m.ID, TenantID: m.TenantID, Channel: m.Channel, To: m.To, Locale: m.Locale,
		Text: m.Text, Code: m.Code, CallbackURL: m.CallbackURL, CreatedAt: created.UTC(),
	})
	if err != nil {
		return fmt.Errorf("delivery: encode webhook message %s: %w", m.ID, err)
	}
	for attempt := 1; ; attempt++ {
		retryAfter, err := w.attempt(ctx, m.ID, body)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrPermanent) {
			return fmt.Errorf("delivery: webhook %s: %w", m.ID, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("delivery: webhook %s: %w", m.ID, context.Cause(ctx))
		}
		if attempt >= w.maxAttempts {
			return fmt.Errorf("delivery: webhook %s: giving up after %d attempts: %w", m.ID, attempt, err)
		}
		delay := max(w.delay(attempt), retryAfter)
		// No point sleeping past the caller's deadline: fail now.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return fmt.Errorf("delivery: webhook %s: deadline before next attempt: %w", m.ID, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("delivery: webhook %s: %w (last attempt: %w)", m.ID, context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// delay is the backoff before retry number attempt: base·2^(attempt-1),
// of which the upper half is random ("equal jitter") so that many senders
// failing together do not retry in lockstep.
func (w *Webhook) delay(attempt int) time.Duration {
	d := w.backoff << min(attempt-1, 20)
	if d <= 0 { // overflow
		d = maxRetryAfter
	}
	half := d / 2
	return half + rand.N(half+1)
}

// attempt makes one POST. It returns the provider's Retry-After (for 429)
// and an error wrapping ErrPermanent when retrying cannot help. Error text
// never includes the response body, which might echo the code.
func (w *Webhook) attempt(ctx context.Context, id string, body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: build request: %w", ErrPermanent, err)
	}
	// Signed per attempt so a late retry still passes the receiver's skew check.
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(w.secret, now, body))

	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	// Drain a little so the connection can be reused; ignore the content.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return parseRetryAfter(resp.Header.Get("Retry-After"), now), fmt.Errorf("provider rate limited: %s", resp.Status)
	case resp.StatusCode >= 500:
		return 0, fmt.Errorf("provider error: %s", resp.Status)
	default:
		return 0, fmt.Errorf("%w: provider rejected message: %s", ErrPermanent, resp.Status)
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date, capped at
// maxRetryAfter; anything unparsable means "no hint".
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// Sign returns the X-Vakt-Signature value for body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, "<unix seconds>.<body>")). The
// timestamp is inside the MAC so it cannot be replaced to dodge the skew
// check.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks a signature header and timestamp header against
// body. The timestamp must be within maxSkew of now (DefaultMaxSkew if
// maxSkew <= 0), in either direction. Failures wrap ErrBadSignature.
func VerifySignature(secret []byte, header, tsHeader string, body []byte, now time.Time, maxSkew time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret configured", ErrBadSignature)
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrBadSignature)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("%w: missing sha256= prefix", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	if !hmac.Equal(got, mac(secret, strconv.FormatInt(ts, 10), body)) {
		return fmt.Errorf("%w: signature mismatch", ErrBadSignature)
	}
	// Checked after the MAC so the timestamp compared is authentic.
	skew := now.Sub(time.Unix(ts, 0))
	if skew > maxSkew || skew < -maxSkew {
		return fmt.Errorf("%w: timestamp outside allowed skew of %s", ErrBadSignature, maxSkew)
	}
	return nil
}

// VerifyCallback verifies a signed request to vakt's own endpoints (the
// voice provider reporting a call outcome) using the same headers and
// scheme as outgoing webhooks, with DefaultMaxSkew. body is the raw
// request body, which the caller has already read (with a size limit).
func VerifyCallback(secret []byte, r *http.Request, body []byte, now time.Time) error {
	return VerifySignature(secret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, now, DefaultMaxSkew)
}
