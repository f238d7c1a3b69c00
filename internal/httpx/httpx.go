// Package httpx is the HTTP plumbing shared by every vakt handler: request
// ids, client IP resolution behind trusted proxies, access logging,
// Prometheus metrics, panic recovery, body limits, health endpoints and a
// server with graceful shutdown.
//
// The middlewares are meant to be stacked in this order (outermost first):
//
//	h := httpx.Chain(mux,
//		httpx.RequestID,               // ids first: everything below logs them
//		proxies.Middleware,            // client IP for logs and handlers
//		httpx.Logging(log),            // sees the final status, incl. recovered panics
//		metrics.Middleware,            // must be the last one that is not in-place (see Metrics)
//		httpx.Recover(log),
//		httpx.MaxBody(cfg.HTTP.MaxBodyBytes),
//	)
package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Chain wraps h in mws so that mws[0] is the outermost: a request passes
// through mws[0], mws[1], … and then reaches h.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// MaxBody limits request bodies to n bytes. A declared Content-Length over
// the limit is refused with 413 before the handler runs; otherwise reads
// past the limit fail with *http.MaxBytesError.
func MaxBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				writeError(w, r, http.StatusRequestEntityTooLarge, "Request_EntityTooLarge", fmt.Sprintf("The request body is larger than %d bytes.", n))
				return
			}
			// Replaced in place rather than on a clone: a clone would hide
			// the mux-set r.Pattern from the Metrics middleware above.
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// writeJSON writes v as a JSON response that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

// writeError writes a Graph-style error body with generic, client-safe text.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message, "target": nil, "details": []any{},
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        RequestIDFrom(r.Context()),
			"client-request-id": ClientRequestIDFrom(r.Context()),
		},
	}})
}

// statusWriter records the status and body size for logging and metrics.
// Unwrap lets http.ResponseController reach the underlying writer's
// Flush, Hijack and deadline methods.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx responses are informational and may precede the real status.
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush keeps streaming handlers working that type-assert http.Flusher.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the response status, 200 if the handler wrote nothing (as
// net/http then sends).
func (w *statusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// wrap returns w as a *statusWriter, reusing one from an outer middleware
// so stacked middlewares share a single wrapper.
func wrap(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}
