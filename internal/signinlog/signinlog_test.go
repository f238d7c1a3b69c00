package signinlog_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vakt-id/vakt/internal/signinlog"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// counting wraps a store, counts AppendSignIns calls and records the
// largest batch; delay slows every call down, fail decides whether a
// call fails (before reaching the store).
type counting struct {
	store.SignIns
	calls   atomic.Int64
	entries atomic.Int64
	largest atomic.Int64
	delay   time.Duration
	fail    func(call int64) error
	gate    chan struct{} // when set, every call waits for a receive from it... or ctx
}

func (c *counting) AppendSignIns(ctx context.Context, entries []store.SignIn) error {
	n := c.calls.Add(1)
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c.fail != nil {
		if err := c.fail(n); err != nil {
			return err
		}
	}
	for {
		l := c.largest.Load()
		if int64(len(entries)) <= l || c.largest.CompareAndSwap(l, int64(len(entries))) {
			break
		}
	}
	if c.SignIns == nil {
		c.entries.Add(int64(len(entries)))
		return nil
	}
	err := c.SignIns.AppendSignIns(ctx, entries)
	if err == nil {
		c.entries.Add(int64(len(entries)))
	}
	return err
}

func entry(tenantID string, i int) store.SignIn {
	return store.SignIn{TenantID: tenantID, UserID: fmt.Sprintf("user-%d", i%50), UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i%50),
		AppID: "app", AppDisplayName: "Portal", IPAddress: "192.0.2.7", ClientAppUsed: "Browser", CorrelationID: uuid.NewString(),
		IsInteractive: true, ConditionalAccessStatus: "notApplied", UserAgent: "Mozilla/5.0",
		Device: store.SignInDevice{Browser: "Firefox 128", OperatingSystem: "Linux"}}
}

func count(t testing.TB, st store.SignIns, tenantID string) int {
	t.Helper()
	p, err := st.ListSignIns(context.Background(), tenantID, store.ListQuery{Limit: 1, WantCount: true})
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func closeWriter(t testing.TB, w *signinlog.Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestConcurrentWritesAllLand: 10,000 entries from 32 goroutines are all
// in the store after Close, on every backend, and were batched.
func TestConcurrentWritesAllLand(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			tn := storetest.NewTenant(t, st)
			cs := &counting{SignIns: st}
			reg := prometheus.NewRegistry()
			w := signinlog.New(cs, signinlog.Options{Log: quiet, Metrics: reg})
			const goroutines, each = 32, 10_000 / 32
			total := goroutines * each
			rest := 10_000 - total
			var wg sync.WaitGroup
			var refused atomic.Int64
			for g := range goroutines {
				n := each
				if g == 0 {
					n += rest
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range n {
						if !w.Write(entry(tn.ID, g*1000+i)) {
							refused.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			closeWriter(t, w)
			if refused.Load() != 0 {
				t.Fatalf("%d writes refused", refused.Load())
			}
			if got := count(t, st, tn.ID); got != 10_000 {
				t.Fatalf("%d entries in the store, want 10000", got)
			}
			s := w.Stats()
			if s.Written != 10_000 || s.Dropped != 0 || s.Queued != 0 {
				t.Fatalf("stats %+v", s)
			}
			calls := cs.calls.Load()
			t.Logf("%s: 10000 entries in %d AppendSignIns calls (largest batch %d)", b.Name, calls, cs.largest.Load())
			if calls*10 > 10_000 {
				t.Errorf("%d AppendSignIns calls for 10000 entries: not batched", calls)
			}
			if l := cs.largest.Load(); l > signinlog.DefaultBatchSize {
				t.Errorf("largest batch %d > BatchSize", l)
			}
			if got := counter(t, reg, "vakt_signinlog_written_total", ""); got != 10_000 {
				t.Errorf("vakt_signinlog_written_total = %v", got)
			}
			if got := histogramCount(t, reg, "vakt_signinlog_batch_seconds"); got != uint64(calls) {
				t.Errorf("vakt_signinlog_batch_seconds count = %d, want %d", got, calls)
			}
		})
	}
}

// TestBatching: entries written in quick succession share transactions,
// and no batch exceeds BatchSize.
func TestBatching(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	cs := &counting{SignIns: st}
	w := signinlog.New(cs, signinlog.Options{Log: quiet, BatchSize: 100, FlushInterval: time.Second})
	const n = 2000
	for i := range n {
		if !w.Write(entry(tn.ID, i)) {
			t.Fatal("write refused")
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, st, tn.ID); got != n {
		t.Fatalf("after Flush: %d entries, want %d", got, n)
	}
	calls := cs.calls.Load()
	if calls > n/50 || calls < n/100 {
		t.Errorf("%d calls for %d entries in batches of 100", calls, n)
	}
	if cs.largest.Load() != 100 {
		t.Errorf("largest batch %d, want 100", cs.largest.Load())
	}
	closeWriter(t, w)
}

// TestFlushInterval: a lone entry is written after FlushInterval without
// any Flush.
func TestFlushInterval(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	w := signinlog.New(st, signinlog.Options{Log: quiet, FlushInterval: 20 * time.Millisecond})
	defer closeWriter(t, w)
	e := entry(tn.ID, 1)
	e.ID = uuid.NewString()
	start := time.Now()
	w.Write(e)
	for count(t, st, tn.ID) != 1 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("entry not written within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := st.GetSignIn(context.Background(), tn.ID, e.ID)
	if err != nil || got.CorrelationID != e.CorrelationID || got.CreatedAt.IsZero() {
		t.Fatalf("GetSignIn: %+v %v", got, err)
	}
}

// TestDefaults: an entry without ID or CreatedAt gets both.
func TestDefaults(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	w := signinlog.New(st, signinlog.Options{Log: quiet})
	before := time.Now().Add(-time.Second)
	w.Write(store.SignIn{TenantID: tn.ID, UserID: "u"})
	closeWriter(t, w)
	p, err := st.ListSignIns(context.Background(), tn.ID, store.ListQuery{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("%v %v", p, err)
	}
	if p.Items[0].ID == "" || p.Items[0].CreatedAt.Before(before) {
		t.Fatalf("entry %+v", p.Items[0])
	}
}

// TestCloseSlowStore: Close waits for a slow store to take every entry.
func TestCloseSlowStore(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	cs := &counting{SignIns: st, delay: 30 * time.Millisecond}
	w := signinlog.New(cs, signinlog.Options{Log: quiet, BatchSize: 50})
	const n = 1500 // 30 batches: about a second of writing after the last Write
	for i := range n {
		if !w.Write(entry(tn.ID, i)) {
			t.Fatal("write refused")
		}
	}
	if q := w.Stats().Queued; q < n/2 {
		t.Logf("only %d of %d still queued at Close", q, n)
	}
	closeWriter(t, w)
	if got := count(t, st, tn.ID); got != n {
		t.Fatalf("%d entries after Close, want %d", got, n)
	}
	if s := w.Stats(); s.Written != n || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestWriteAfterClose: refused and counted.
func TestWriteAfterClose(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	reg := prometheus.NewRegistry()
	w := signinlog.New(st, signinlog.Options{Log: quiet, Metrics: reg})
	if !w.Write(entry(tn.ID, 1)) {
		t.Fatal("write before Close refused")
	}
	closeWriter(t, w)
	closeWriter(t, w) // a second Close is harmless
	if w.Write(entry(tn.ID, 2)) {
		t.Fatal("Write after Close accepted")
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
	if s := w.Stats(); s.Written != 1 || s.Dropped != 1 {
		t.Fatalf("stats %+v", s)
	}
	if got := counter(t, reg, "vakt_signinlog_dropped_total", "closed"); got != 1 {
		t.Fatalf("dropped{closed} = %v", got)
	}
	if got := count(t, st, tn.ID); got != 1 {
		t.Fatalf("%d entries", got)
	}
}

// TestQueueFull: with the store stuck, Write blocks about 100 ms once the
// queue is full and then drops; nothing blocks longer; what was accepted
// is written once the store recovers.
func TestQueueFull(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	cs := &counting{SignIns: st, gate: make(chan struct{})}
	reg := prometheus.NewRegistry()
	w := signinlog.New(cs, signinlog.Options{Log: quiet, Metrics: reg, QueueSize: 10, BatchSize: 5, FlushInterval: time.Millisecond})
	accepted := 0
	// A first batch is taken off the queue and gets stuck in the store;
	// then the queue fills.
	for i := range 5 {
		if w.Write(entry(tn.ID, i)) {
			accepted++
		}
	}
	for cs.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	room := 10 - w.Stats().Queued
	for i := range room {
		start := time.Now()
		if !w.Write(entry(tn.ID, 100+i)) {
			t.Fatalf("write %d into a queue with room refused", i)
		}
		accepted++
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Fatalf("write with room took %v", d)
		}
	}
	var wg sync.WaitGroup
	var refused atomic.Int64
	start := time.Now()
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !w.Write(entry(tn.ID, 200+i)) {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if refused.Load() != 8 {
		t.Fatalf("%d of 8 writes to a full queue refused", refused.Load())
	}
	if d < 90*time.Millisecond || d > time.Second {
		t.Fatalf("writes to a full queue took %v, want about 100ms", d)
	}
	if got := counter(t, reg, "vakt_signinlog_dropped_total", "queue_full"); got != 8 {
		t.Fatalf("dropped{queue_full} = %v", got)
	}
	close(cs.gate) // the store recovers
	closeWriter(t, w)
	if got := count(t, st, tn.ID); got != accepted {
		t.Fatalf("%d entries written, want the %d accepted", got, accepted)
	}
	if s := w.Stats(); s.Written != uint64(accepted) || s.Dropped != 8 {
		t.Fatalf("stats %+v", s)
	}
}

// TestWriteBlockedUntilRoom: a Write into a full queue succeeds if room
// appears within the wait.
func TestWriteBlockedUntilRoom(t *testing.T) {
	cs := &counting{gate: make(chan struct{})}
	w := signinlog.New(cs, signinlog.Options{Log: quiet, QueueSize: 2, BatchSize: 1, FlushInterval: time.Millisecond})
	w.Write(entry("t", 0))
	for cs.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	w.Write(entry("t", 1))
	w.Write(entry("t", 2)) // queue full now
	go func() {
		time.Sleep(20 * time.Millisecond)
		cs.gate <- struct{}{} // one batch completes: room for one
	}()
	if !w.Write(entry("t", 3)) {
		t.Fatal("write refused although room appeared within 100ms")
	}
	close(cs.gate)
	closeWriter(t, w)
	if s := w.Stats(); s.Written != 4 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestRetry: a batch that fails twice is written on the third attempt; one
// that keeps failing is tried 1+3 times, then dropped.
func TestRetry(t *testing.T) {
	st := storetest.SQLite(t)
	tn := storetest.NewTenant(t, st)
	boom := errors.New("connection reset")
	cs := &counting{SignIns: st, fail: func(call int64) error {
		if call <= 2 {
			return boom
		}
		return nil
	}}
	w := signinlog.New(cs, signinlog.Options{Log: quiet, RetryBackoff: time.Millisecond})
	for i := range 10 {
		w.Write(entry(tn.ID, i))
	}
	closeWriter(t, w)
	if got := count(t, st, tn.ID); got != 10 || cs.calls.Load() != 3 {
		t.Fatalf("%d entries after %d calls", got, cs.calls.Load())
	}

	reg := prometheus.NewRegistry()
	cs = &counting{SignIns: st, fail: func(int64) error { return boom }}
	w = signinlog.New(cs, signinlog.Options{Log: quiet, Metrics: reg, RetryBackoff: time.Millisecond})
	for i := range 10 {
		w.Write(entry(tn.ID, i))
	}
	closeWriter(t, w)
	if cs.calls.Load() != 4 {
		t.Fatalf("%d attempts, want 4", cs.calls.Load())
	}
	if s := w.Stats(); s.Written != 0 || s.Dropped != 10 {
		t.Fatalf("stats %+v", s)
	}
	if got := counter(t, reg, "vakt_signinlog_dropped_total", "write_failed"); got != 10 {
		t.Fatalf("dropped{write_failed} = %v", got)
	}
}

// TestBadEntryIsolated: a batch the store refuses for one entry (a
// duplicate id) still writes the others, on every backend.
func TestBadEntryIsolated(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			tn := storetest.NewTenant(t, st)
			dup := entry(tn.ID, 0)
			dup.ID = uuid.NewString()
			if err := st.AppendSignIns(context.Background(), []store.SignIn{dup}); err != nil {
				t.Fatal(err)
			}
			w := signinlog.New(st, signinlog.Options{Log: quiet, FlushInterval: time.Hour, RetryBackoff: time.Millisecond})
			for i := range 20 {
				e := entry(tn.ID, i)
				if i == 7 {
					e.ID = dup.ID
				}
				w.Write(e)
			}
			closeWriter(t, w)
			if got := count(t, st, tn.ID); got != 20 {
				t.Fatalf("%d entries, want 20 (19 new and the original)", got)
			}
			if s := w.Stats(); s.Written != 19 || s.Dropped != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestCloseDeadline: when Close's context ends before a stuck store takes
// the queue, Close returns the context's error promptly, counts the rest
// as dropped and leaves no goroutine writing.
func TestCloseDeadline(t *testing.T) {
	cs := &counting{gate: make(chan struct{})}
	w := signinlog.New(cs, signinlog.Options{Log: quiet, BatchSize: 10, RetryBackoff: time.Millisecond})
	for i := range 50 {
		w.Write(entry("t", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	s := w.Stats()
	if s.Written != 0 || s.Dropped != 50 {
		t.Fatalf("stats %+v", s)
	}
	calls := cs.calls.Load()
	time.Sleep(20 * time.Millisecond)
	if cs.calls.Load() != calls {
		t.Fatal("store still called after Close returned")
	}
}

// TestNoTenant: an entry without a tenant is refused.
func TestNoTenant(t *testing.T) {
	cs := &counting{}
	w := signinlog.New(cs, signinlog.Options{Log: quiet})
	if w.Write(store.SignIn{UserID: "u"}) {
		t.Fatal("entry without tenant accepted")
	}
	closeWriter(t, w)
	if s := w.Stats(); s.Dropped != 1 || cs.calls.Load() != 0 {
		t.Fatalf("stats %+v, %d calls", s, cs.calls.Load())
	}
}

// TestSharedRegistry: two writers may register with one registry.
func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := signinlog.New(&counting{}, signinlog.Options{Log: quiet, Metrics: reg})
	b := signinlog.New(&counting{}, signinlog.Options{Log: quiet, Metrics: reg})
	a.Write(entry("t", 1))
	b.Write(entry("t", 2))
	closeWriter(t, a)
	closeWriter(t, b)
	if got := counter(t, reg, "vakt_signinlog_written_total", ""); got != 2 {
		t.Fatalf("written_total = %v", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, n := range []string{"vakt_signinlog_written_total", "vakt_signinlog_dropped_total", "vakt_signinlog_queue_length", "vakt_signinlog_batch_seconds"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}
}

func metric(t testing.TB, reg *prometheus.Registry, name, reason string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if match {
				return m
			}
		}
	}
	return nil
}

func counter(t testing.TB, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	m := metric(t, reg, name, reason)
	if m == nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

func histogramCount(t testing.TB, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	m := metric(t, reg, name, "")
	if m == nil {
		return 0
	}
	return m.GetHistogram().GetSampleCount()
}

// BenchmarkWrite measures the cost a sign-in pays to log: the enqueue,
// with the background writer draining into a store that discards. The
// entry has its id already, so the writer's own uuid is not counted.
func BenchmarkWrite(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		cs := &counting{}
		w := signinlog.New(cs, signinlog.Options{Log: quiet, QueueSize: 1 << 16})
		e := entry("tenant", 1)
		e.ID = uuid.NewString()
		b.ReportAllocs()
		b.ResetTimer()
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w.Write(e)
				}
			})
		} else {
			for b.Loop() {
				w.Write(e)
			}
		}
		b.StopTimer()
		closeWriter(b, w)
		if s := w.Stats(); s.Dropped != 0 {
			b.Fatalf("%d dropped", s.Dropped)
		}
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// BenchmarkThroughput measures entries per second reaching SQLite.
func BenchmarkThroughput(b *testing.B) {
	st := storetest.SQLite(b)
	tn := storetest.NewTenant(b, st)
	w := signinlog.New(st, signinlog.Options{Log: quiet})
	e := entry(tn.ID, 1)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		e.ID = "" // a fresh id for each
		for !w.Write(e) {
		}
	}
	closeWriter(b, w)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
	if s := w.Stats(); s.Written != uint64(b.N) {
		b.Fatalf("stats %+v, want %d written", s, b.N)
	}
}
