package authenticator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// API serves the device endpoints under /{tenant}/api/authenticator/
// (docs/authenticator.md).
type API struct {
	Service *Service
	// Heartbeat is how often an idle stream sends a comment (keeping
	// proxies from closing it) and re-checks that the device still
	// exists; 20 s by default.
	Heartbeat time.Duration
	// MaxWait bounds a long poll; 30 s by default.
	MaxWait time.Duration
}

const maxEnrolBody = 4 << 10

// allow is the method of each endpoint.
var allow = map[string]string{"enroll": http.MethodPost, "challenges": http.MethodGet, "stream": http.MethodGet, "answer": http.MethodPost}

// Serve routes one device request; rest is the path after
// /{tenant}/api/authenticator/.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, tenant store.Tenant, rest string) {
	var err error
	switch {
	case rest == "enroll" && r.Method == http.MethodPost:
		err = a.enroll(w, r, tenant)
	case rest == "challenges" && r.Method == http.MethodGet:
		err = a.poll(w, r, tenant)
	case rest == "stream" && r.Method == http.MethodGet:
		err = a.stream(w, r, tenant)
	case rest == "answer" && r.Method == http.MethodPost:
		err = a.answer(w, r, tenant)
	case allow[rest] != "":
		w.Header().Set("Allow", allow[rest])
		writeJSON(w, http.StatusMethodNotAllowed, errBody(&apperr.Error{Code: "methodNotAllowed", Message: "Use " + allow[rest] + " here."}))
		return
	default:
		err = apperr.NotFoundf("No such authenticator endpoint.").WithCode("notFound")
	}
	if err != nil {
		a.fail(w, r, err)
	}
}

// body reads at most limit bytes; more is refused whole.
func body(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, apperr.Invalidf("The request body could not be read.").WithCode("invalidRequest")
	}
	if int64(len(b)) > limit {
		return nil, apperr.TooLargef("The request body is too large (at most %d bytes).", limit)
	}
	return b, nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return apperr.Invalidf("The request body must be one JSON object with the documented fields.").WithCode("invalidRequest")
	}
	return nil
}

func (a *API) enroll(w http.ResponseWriter, r *http.Request, tenant store.Tenant) error {
	b, err := body(r, maxEnrolBody)
	if err != nil {
		return err
	}
	var in EnrollRequest
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	out, err := a.Service.Enroll(r.Context(), tenant.ID, in, httpx.ClientIPFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// device authenticates a signed request.
func (a *API) device(r *http.Request, tenant store.Tenant, b []byte) (Device, error) {
	return a.Service.Authenticate(r.Context(), tenant.ID, r.Header.Get("Authorization"), r.Method, r.URL.Path, b)
}

func (a *API) poll(w http.ResponseWriter, r *http.Request, tenant store.Tenant) error {
	d, err := a.device(r, tenant, nil)
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > a.maxWait() {
			return apperr.Invalidf("wait must be a number of seconds from 0 to %d.", int(a.maxWait().Seconds())).WithCode("invalidRequest")
		}
		wait = time.Duration(n) * time.Second
		// A long poll may outlast the server's write timeout.
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		_ = rc.SetReadDeadline(time.Now().Add(wait + 10*time.Second))
	}
	ch, cancel := a.Service.hub.subscribe(userTopic(d.TenantID, d.UserID))
	defer cancel()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		cs, err := a.Service.Pending(r.Context(), d)
		if err != nil {
			return err
		}
		if len(cs) > 0 || wait == 0 {
			if cs == nil {
				cs = []push.Challenge{}
			}
			writeJSON(w, http.StatusOK, map[string]any{"challenges": cs})
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			wait = 0
		case <-r.Context().Done():
			return nil
		}
	}
}

func (a *API) maxWait() time.Duration {
	if a.MaxWait > 0 {
		return a.MaxWait
	}
	return 30 * time.Second
}

func (a *API) heartbeat() time.Duration {
	if a.Heartbeat > 0 {
		return a.Heartbeat
	}
	return 20 * time.Second
}

// stream sends the device's pending challenges as Server-Sent Events:
// each challenge once, as soon as it is created on any node.
func (a *API) stream(w http.ResponseWriter, r *http.Request, tenant store.Tenant) error {
	ctx := r.Context()
	d, err := a.device(r, tenant, nil)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// An HTTP/1.1 stream takes its connection over and runs on a goroutine
	// of its own: net/http's per-connection buffers, its serving
	// goroutine and its background reader are then freed, which is most
	// of what a connected device costs (a node holds thousands).
	if conn, brw, err := rc.Hijack(); err == nil {
		if brw.Reader.Buffered() > 0 { // a request pipelined behind a stream: refuse both
			conn.Close()
			return nil
		}
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			defer cancel()
			defer conn.Close()
			out := &connStream{c: conn}
			if _, err := io.WriteString(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"+
				"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n"); err != nil {
				return
			}
			a.run(sctx, out, d)
		}()
		return nil
	}
	// HTTP/2 (no hijacking): the stream stays on the request.
	// A stream outlives the server's timeouts by design.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	a.run(ctx, responseStream{w, rc}, d)
	return nil
}

// eventWriter is where a stream's events go.
type eventWriter interface {
	io.Writer
	Flush() error
}

type responseStream struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (s responseStream) Flush() error { return s.rc.Flush() }

// connStream writes straight to a taken-over connection; a peer that
// stops reading fails the write after a while instead of holding the
// stream forever.
type connStream struct{ c net.Conn }

func (s *connStream) Write(p []byte) (int, error) {
	_ = s.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return s.c.Write(p)
}

func (s *connStream) Flush() error { return nil }

// run sends the device's pending challenges, then each new one as it is
// signalled, with a heartbeat that also notices a revoked device.
func (a *API) run(ctx context.Context, w eventWriter, d Device) {
	ch, cancel := a.Service.hub.subscribe(userTopic(d.TenantID, d.UserID))
	defer cancel()
	if _, err := io.WriteString(w, "retry: 3000\n\n"); err != nil {
		return
	}
	_ = w.Flush()
	sent := map[string]bool{}
	send := func() bool {
		cs, err := a.Service.Pending(ctx, d)
		if err != nil {
			return ctx.Err() == nil // a failed read is retried on the next signal
		}
		now := make(map[string]bool, len(cs))
		for _, c := range cs {
			now[c.ID] = true
			if sent[c.ID] {
				continue
			}
			data, _ := json.Marshal(c)
			if _, err := fmt.Fprintf(w, "id: %s\nevent: challenge\ndata: %s\n\n", c.ID, data); err != nil {
				return false
			}
		}
		sent = now
		return w.Flush() == nil
	}
	if !send() {
		return
	}
	tick := time.NewTicker(a.heartbeat())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if !send() {
				return
			}
		case <-tick.C:
			if !a.Service.StillValid(ctx, d) {
				_, _ = io.WriteString(w, "event: revoked\ndata: {}\n\n")
				_ = w.Flush()
				return
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			// Also a fallback for a notification lost while a node
			// reconnected to the database.
			if !send() {
				return
			}
		}
	}
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, tenant store.Tenant) error {
	b, err := body(r, push.MaxAnswer)
	if err != nil {
		return err
	}
	d, err := a.device(r, tenant, b)
	if err != nil {
		return err
	}
	in, err := push.ParseAnswer(b)
	if err != nil {
		return apperr.Invalidf("%s", err.Error()).WithCode("invalidAnswer")
	}
	st, err := a.Service.Answer(r.Context(), d, in, httpx.ClientIPFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"challengeId": in.ChallengeID, "status": st})
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errBody(ae *apperr.Error) map[string]any {
	return map[string]any{"error": map[string]string{"code": ae.Code, "message": ae.Message}}
}

var statusOf = map[apperr.Kind]int{apperr.Invalid: 400, apperr.NotFound: 404, apperr.Conflict: 409, apperr.Forbidden: 403,
	apperr.Unauthenticated: 401, apperr.TooLarge: 413, apperr.RateLimited: 429}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := apperr.As(err)
	status := 0
	if ok {
		status = statusOf[ae.Kind]
	}
	if status == 0 {
		if a.Service.Log != nil && !isCanceled(r.Context()) {
			a.Service.Log.ErrorContext(r.Context(), "authenticator API", "err", err, "request_id", httpx.RequestIDFrom(r.Context()))
		}
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "serverError",
			"message": "Something went wrong. Try again; quote " + httpx.RequestIDFrom(r.Context()) + " if it keeps happening."}})
		return
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", push.Scheme)
	}
	if wait, ok := securityinfo.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
	}
	if ae.Code == "" {
		ae.Code = "invalidRequest"
	}
	writeJSON(w, status, errBody(ae))
}

func isCanceled(ctx context.Context) bool { return ctx.Err() != nil }
