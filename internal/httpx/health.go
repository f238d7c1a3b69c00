package httpx

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds a readiness check so a hung dependency turns into a
// 503 before the orchestrator's probe gives up.
const readyTimeout = 5 * time.Second

// Health is the liveness endpoint: 200 {"status":"ok"} while the process
// serves HTTP at all.
func Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready is the readiness endpoint: 200 {"status":"ok"} when check (a store
// ping) succeeds, else 503 {"status":"unavailable","error":"store
// unreachable"}. The cause is not disclosed: the endpoint is
// unauthenticated and DSN-bearing driver errors must not leak. check
// should log its own failures. A nil check is always ready.
func Ready(check func(ctx context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			err := check(ctx)
			cancel()
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{
					"status": "unavailable",
					"error":  "store unreachable",
				})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
