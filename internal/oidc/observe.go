package oidc

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// statusRecorder keeps the status the op package answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// grants are the grant types counted by name; anything else is "other"
// so that a caller cannot grow the metric's label set.
var grants = map[string]bool{"authorization_code": true, "refresh_token": true, "client_credentials": true}

type tokenMetrics struct {
	once     sync.Once
	requests *prometheus.CounterVec
}

// observeToken logs one line per token request and counts it. The client
// id is logged only for a success: before that it is untrusted input that
// may hold a secret pasted into the wrong field.
func (p *Provider) observeToken(ctx context.Context, tenantID, grant, clientID string, status int) {
	if !grants[grant] {
		grant = "other"
	}
	p.metrics.once.Do(func() {
		p.metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vakt_oidc_token_requests_total",
			Help: "Token endpoint requests by grant type and HTTP status."}, []string{"grant", "status"})
		if p.Metrics != nil {
			p.Metrics.MustRegister(p.metrics.requests)
		}
	})
	p.metrics.requests.WithLabelValues(grant, strconv.Itoa(status)).Inc()
	if status == http.StatusOK {
		p.log().InfoContext(ctx, "token issued", "tenant", tenantID, "grant", grant, "app_id", clientID)
		return
	}
	p.log().LogAttrs(ctx, slog.LevelInfo, "token request refused", slog.String("tenant", tenantID),
		slog.String("grant", grant), slog.Int("status", status))
}
