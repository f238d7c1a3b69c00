package httpx

import (
	"log/slog"
	"net/http"
	"time"
)

// Logging writes one access-log line per request: method, path, status,
// bytes, duration, request id and client IP. The query string, headers and
// bodies are never logged: they carry codes, tokens and passwords.
// Server errors (5xx) are logged at Warn, everything else at Info.
func Logging(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := wrap(w)
			completed := false
			defer func() {
				// Deferred so the line is written even when a panic passes
				// through unrecovered; net/http then drops the connection,
				// which the client sees as a failure, logged as 500.
				status := sw.Status()
				if !completed && sw.status == 0 {
					status = http.StatusInternalServerError
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelWarn
				}
				ctx := r.Context()
				client := ""
				if ip := ClientIPFrom(ctx); ip.IsValid() {
					client = ip.String()
				}
				log.LogAttrs(ctx, level, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", sw.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestIDFrom(ctx)),
					slog.String("client_ip", client),
				)
			}()
			next.ServeHTTP(sw, r)
			completed = true
		})
	}
}
