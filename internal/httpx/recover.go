package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a handler panic into a 500 with a generic body. The panic
// value and stack go to the log with the request id; nothing of them
// reaches the client. If the response had already started, the connection
// is aborted instead so the client cannot mistake a truncated response for
// a complete one. http.ErrAbortHandler is passed through untouched.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := wrap(w)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler { // net/http's own signal to abort quietly
					panic(p)
				}
				ctx := r.Context()
				log.ErrorContext(ctx, "panic in HTTP handler",
					slog.String("panic", fmt.Sprint(p)),
					slog.String("stack", string(debug.Stack())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", RequestIDFrom(ctx)),
				)
				if sw.status != 0 {
					panic(http.ErrAbortHandler)
				}
				// Drop whatever the handler staged (cookies, redirects)
				// except the ids the client needs to report the failure.
				h := sw.Header()
				for k := range h {
					if k != http.CanonicalHeaderKey(HeaderRequestID) && k != http.CanonicalHeaderKey(HeaderClientRequestID) {
						delete(h, k)
					}
				}
				writeError(sw, r, http.StatusInternalServerError, "internalServerError", "An internal server error occurred.")
			}()
			next.ServeHTTP(sw, r)
		})
	}
}
