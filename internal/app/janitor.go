package app

import (
	"context"
	"time"
)

// janitor removes what has expired — pending registrations, one-time
// codes, sign-in flows, sessions, old counter windows — every interval
// until ctx ends. Several nodes may run it at once: the deletes are
// idempotent.
func (a *App) janitor(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.sweep(ctx)
		}
	}
}

func (a *App) sweep(ctx context.Context) {
	now := time.Now()
	jobs := []struct {
		name string
		run  func() (int, error)
	}{
		{"pending methods", func() (int, error) { return a.Store.DeleteExpiredMethods(ctx, now) }},
		// Codes are kept a day past expiry so a late "was this you?" can
		// still be matched to its challenge.
		{"one-time codes", func() (int, error) { return a.Store.DeleteExpiredOTPs(ctx, now.Add(-24*time.Hour)) }},
		{"sign-in flows", func() (int, error) { return a.Store.DeleteExpiredFlows(ctx, now) }},
		{"sessions", func() (int, error) { return a.Store.DeleteExpiredSessions(ctx, now) }},
		// Push challenges are kept a day so sign-in pages can still read
		// an outcome; links and request nonces go once expired.
		{"authenticator", func() (int, error) { return a.Store.DeleteExpiredPush(ctx, now, now.Add(-24*time.Hour)) }},
		{"oidc requests and refresh tokens", func() (int, error) { return a.Store.DeleteExpiredOIDC(ctx, now) }},
		// Familiar networks and devices are remembered in 30-day windows
		// looked at 90 days back; nothing older is read.
		{"counters", func() (int, error) { return a.Store.DeleteExpiredCounters(ctx, now.Add(-91*24*time.Hour)) }},
	}
	for _, j := range jobs {
		n, err := j.run()
		if err != nil {
			if ctx.Err() == nil {
				a.Log.WarnContext(ctx, "janitor", "job", j.name, "err", err)
			}
			continue
		}
		if n > 0 {
			a.Log.DebugContext(ctx, "janitor", "job", j.name, "deleted", n)
		}
	}
}
