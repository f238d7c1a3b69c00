// Package signinlog writes the sign-in log (P-12.1) off the sign-in
// request path.
//
// A sign-in hands its entry to Writer.Write, which only puts it on an
// in-memory queue. One background goroutine takes entries off the queue
// and writes them to the store in batches (store.SignIns.AppendSignIns,
// one transaction per batch): a batch is written as soon as it holds
// Options.BatchSize entries, or Options.FlushInterval after its first
// entry arrived, whichever comes first.
//
// What happens under pressure, in order:
//   - The queue is full (the database is slower than sign-ins arrive, or
//     down): Write waits up to 100 ms for room, then gives up, counts the
//     entry as dropped (vakt_signinlog_dropped_total{reason="queue_full"})
//     and returns false. A sign-in is never held up for longer than that:
//     the log loses entries rather than the service losing availability.
//   - A batch write fails: it is retried 3 times with exponential backoff
//     (Options.RetryBackoff, doubling), then its entries are logged and
//     counted as dropped (reason "write_failed"). A batch refused for its
//     content (store.ErrConflict or store.ErrInvalid, say a duplicate id)
//     is not retried as a whole: each entry is written on its own, so one
//     bad entry does not take 255 good ones with it.
//   - Shutdown: Close stops accepting entries (Write returns false, reason
//     "closed") and writes everything still queued before it returns, so
//     a clean shutdown loses nothing.
//
// Entries live only in memory until written: a crash loses at most the
// queue (Options.QueueSize entries) and the batch in flight. The queue
// holds pointers: a buffer of entries by value (some 5.5 MB at the default
// size) would be scanned by every garbage collection, and each password
// hash triggers one, which cost sign-ins more than one small allocation
// per Write does.
package signinlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vakt-id/vakt/internal/store"
)

// Defaults for Options fields left zero.
const (
	DefaultBatchSize     = 256
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultQueueSize     = 10_000
	DefaultRetryBackoff  = 100 * time.Millisecond
)

const (
	// fullWait is how long Write waits for room in a full queue.
	fullWait = 100 * time.Millisecond
	// retries is how often a failed batch is tried again.
	retries = 3
	// attemptTimeout bounds one AppendSignIns call, so a hung connection
	// cannot stop the log for good.
	attemptTimeout = 30 * time.Second
	// dropLogEvery rate-limits the warning about a full queue.
	dropLogEvery = 10 * time.Second
)

// Reasons an entry is dropped (the reason label of
// vakt_signinlog_dropped_total).
const (
	ReasonQueueFull   = "queue_full"
	ReasonClosed      = "closed"
	ReasonWriteFailed = "write_failed"
	ReasonInvalid     = "invalid" // an entry without a tenant
)

// Options tune a Writer. Zero values take the defaults.
type Options struct {
	// BatchSize is the most entries written in one transaction (256).
	BatchSize int
	// FlushInterval is the longest an entry waits for its batch to fill
	// (200ms).
	FlushInterval time.Duration
	// QueueSize is how many entries may wait to be written (10,000).
	QueueSize int
	// RetryBackoff is the wait before the first retry of a failed batch;
	// it doubles for each further retry (100ms).
	RetryBackoff time.Duration
	// Log receives write failures and drops; slog.Default() when nil.
	Log *slog.Logger
	// Metrics, when set, registers the writer's metrics. Registering a
	// second writer with the same registry shares the collectors.
	Metrics prometheus.Registerer
}

// Stats are a writer's counts since New.
type Stats struct {
	Written uint64 // entries the store accepted
	Dropped uint64 // entries given up on, for any reason
	Queued  int    // entries in the queue now (not the batch being written)
}

// Writer batches sign-in log entries to the store. It is safe for
// concurrent use. Make one with New and Close it on shutdown.
type Writer struct {
	st  store.SignIns
	opt Options
	log *slog.Logger

	// mu guards closed and the queue's closing: Write sends under the
	// read lock, Close closes the queue under the write lock, so no send
	// can hit a closed channel and no accepted entry is missed.
	mu     sync.RWMutex
	closed bool
	queue  chan *store.SignIn

	flushes chan chan struct{}
	done    chan struct{} // closed when the background goroutine ends

	// ctx is what store calls run under; cancel aborts them when Close's
	// context ends before the queue is written.
	ctx    context.Context
	cancel context.CancelFunc

	written     atomic.Uint64
	dropped     atomic.Uint64
	lastDropLog atomic.Int64 // unix nanoseconds

	m metrics
}

type metrics struct {
	written    prometheus.Counter
	dropped    map[string]prometheus.Counter
	queueLen   prometheus.Gauge
	batchTimes prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) metrics {
	written := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vakt_signinlog_written_total",
		Help: "Sign-in log entries written to the store.",
	})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vakt_signinlog_dropped_total",
		Help: "Sign-in log entries given up on, by reason (queue_full, closed, write_failed, invalid).",
	}, []string{"reason"})
	queueLen := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vakt_signinlog_queue_length",
		Help: "Sign-in log entries waiting to be written.",
	})
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vakt_signinlog_batch_seconds",
		Help:    "Duration of one attempt to write a batch of sign-in log entries.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	if reg != nil {
		written = register(reg, written)
		dropped = register(reg, dropped)
		queueLen = register(reg, queueLen)
		batch = register(reg, batch)
	}
	m := metrics{written: written, dropped: map[string]prometheus.Counter{}, queueLen: queueLen, batchTimes: batch}
	for _, r := range []string{ReasonQueueFull, ReasonClosed, ReasonWriteFailed, ReasonInvalid} {
		m.dropped[r] = dropped.WithLabelValues(r)
	}
	return m
}

// register registers c, or returns the collector already registered
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error, like MustRegister
	}
	return c
}

// New starts a writer to st.
func New(st store.SignIns, opt Options) *Writer {
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = DefaultFlushInterval
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueueSize
	}
	if opt.RetryBackoff <= 0 {
		opt.RetryBackoff = DefaultRetryBackoff
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{
		st: st, opt: opt, log: log,
		queue:   make(chan *store.SignIn, opt.QueueSize),
		flushes: make(chan chan struct{}),
		done:    make(chan struct{}),
		ctx:     ctx, cancel: cancel,
		m: newMetrics(opt.Metrics),
	}
	go w.run()
	return w
}

// Write queues e to be written and reports whether it was accepted. It
// does not wait for the store: when the queue has room it returns at
// once; when the queue is full it waits up to 100 ms for room and then
// drops the entry. After Close it drops every entry. Dropped entries are
// counted (vakt_signinlog_dropped_total) and Write returns false; the
// caller need not do anything about it.
//
// A zero CreatedAt is set to now; an empty ID is filled in before the
// entry is written. An entry without a TenantID is dropped.
func (w *Writer) Write(e store.SignIn) bool {
	if e.TenantID == "" {
		w.drop(ReasonInvalid, 1)
		w.log.Error("sign-in log entry without a tenant dropped", "user_id", e.UserID, "correlation_id", e.CorrelationID)
		return false
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.drop(ReasonClosed, 1)
		return false
	}
	select {
	case w.queue <- &e:
		return true
	default:
	}
	t := time.NewTimer(fullWait)
	defer t.Stop()
	select {
	case w.queue <- &e:
		return true
	case <-t.C:
		w.drop(ReasonQueueFull, 1)
		if now, last := time.Now().UnixNano(), w.lastDropLog.Load(); now-last >= int64(dropLogEvery) && w.lastDropLog.CompareAndSwap(last, now) {
			w.log.Warn("sign-in log queue full: entries are being dropped", "queue_size", w.opt.QueueSize,
				"dropped_total", w.dropped.Load())
		}
		return false
	}
}

// Flush writes every entry queued before it was called, and returns when
// they are written (or given up on) or when ctx ends. Meant for tests and
// for callers that need their entries visible now.
func (w *Writer) Flush(ctx context.Context) error {
	req := make(chan struct{})
	select {
	case w.flushes <- req:
	case <-w.done:
		return nil // closed: everything was written
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, writes everything queued, and returns
// when that is done. If ctx ends first, the writes in progress are
// aborted, what is left is counted as dropped, and Close returns ctx's
// error once the background goroutine has stopped. Calling Close again
// waits for the first one to finish.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return ctx.Err()
	}
}

// Stats returns the writer's counts.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Dropped: w.dropped.Load(), Queued: len(w.queue)}
}

func (w *Writer) drop(reason string, n int) {
	w.dropped.Add(uint64(n))
	w.m.dropped[reason].Add(float64(n))
}

// run is the background goroutine: it gathers batches and writes them.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]store.SignIn, 0, w.opt.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	flush := func() {
		if armed {
			timer.Stop()
			armed = false
		}
		w.write(batch)
		clear(batch) // let the entries be collected
		batch = batch[:0]
		w.m.queueLen.Set(float64(len(w.queue)))
	}
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				// Closed and drained: a closed channel yields what it
				// holds before reporting closed.
				flush()
				return
			}
			batch = append(batch, *e)
			// Take what is already waiting, without blocking.
		fill:
			for len(batch) < w.opt.BatchSize {
				select {
				case e, ok := <-w.queue:
					if !ok {
						flush()
						return
					}
					batch = append(batch, *e)
				default:
					break fill
				}
			}
			w.m.queueLen.Set(float64(len(w.queue)))
			if len(batch) >= w.opt.BatchSize {
				flush()
			} else if !armed {
				timer.Reset(w.opt.FlushInterval)
				armed = true
			}
		case <-timer.C:
			armed = false
			flush()
		case req := <-w.flushes:
			closed := w.drain(&batch, flush)
			close(req)
			if closed {
				return
			}
		}
	}
}

// drain writes the batch and everything queued now, in batches. It
// reports whether the queue turned out to be closed.
func (w *Writer) drain(batch *[]store.SignIn, flush func()) bool {
	for {
		select {
		case e, ok := <-w.queue:
			if !ok {
				flush()
				return true
			}
			*batch = append(*batch, *e)
			if len(*batch) >= w.opt.BatchSize {
				flush()
			}
		default:
			flush()
			return false
		}
	}
}

// write stores one batch, with retries; the store must not keep the slice.
func (w *Writer) write(batch []store.SignIn) {
	if len(batch) == 0 {
		return
	}
	for i := range batch {
		if batch[i].ID == "" {
			batch[i].ID = uuid.NewString()
		}
	}
	backoff := w.opt.RetryBackoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = w.attempt(batch); err == nil {
			w.written.Add(uint64(len(batch)))
			w.m.written.Add(float64(len(batch)))
			return
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
			// The content is refused, not the database: isolate the bad
			// entries rather than retrying all of them.
			if len(batch) > 1 {
				w.log.Warn("sign-in log batch refused; writing its entries one by one", "entries", len(batch), "err", err)
				for i := range batch {
					w.write(batch[i : i+1])
				}
				return
			}
			break
		}
		if attempt == retries || w.ctx.Err() != nil {
			break
		}
		w.log.Warn("sign-in log batch write failed; retrying", "entries", len(batch), "attempt", attempt+1,
			"backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-w.ctx.Done():
		}
		backoff *= 2
	}
	w.drop(ReasonWriteFailed, len(batch))
	w.log.Error("sign-in log entries dropped: the store refused them", "entries", len(batch),
		"first_id", batch[0].ID, "tenant_id", batch[0].TenantID, "err", err)
}

func (w *Writer) attempt(batch []store.SignIn) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, attemptTimeout)
	defer cancel()
	start := time.Now()
	err := w.st.AppendSignIns(ctx, batch)
	w.m.batchTimes.Observe(time.Since(start).Seconds())
	return err
}
