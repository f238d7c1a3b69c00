// Package radius is vakt's RADIUS server (RFC 2865) for VPN gateways and
// other network access servers: a PAP Access-Request goes through the one
// sign-in engine, so every policy holds, and a second factor is asked for
// in an Access-Challenge round (P-10.2). layeh.com/radius encodes and
// decodes packets.
//
// The listener loop is our own rather than layeh's PacketServer: we need
// the client (and its tenant) chosen by source address with a reason
// logged and counted for every drop, the Message-Authenticator checked
// before anything else, and retransmissions answered from a cache —
// PacketServer only discards a duplicate while the original is in flight.
package radius

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"

	"github.com/vakt-id/vakt/internal/store"
)

// Defaults of the Server's tunables.
const (
	DefaultClientsTTL  = 5 * time.Second
	DefaultReplayTTL   = 30 * time.Second
	DefaultPushTimeout = 45 * time.Second // below the 60 s gateways are told to wait (docs/radius.md)
	DefaultMaxInFlight = 256
	maxReplayEntries   = 65536
)

// Server answers RADIUS Access-Requests on one UDP socket.
type Server struct {
	Engine  Engine
	Clients ClientSource
	Keys    Sealer
	// Push sends a push approval and waits for it (the sign-in engine's
	// PushAndWait); nil: a push is never sent, and a user whose first
	// method is push is asked for the authenticator app's code instead.
	Push        Pusher
	PushTimeout time.Duration
	// ClientsTTL is how stale the per-node copy of the clients may be.
	ClientsTTL time.Duration
	// ReplayTTL is how long an answer is kept for retransmissions.
	ReplayTTL time.Duration
	// MaxInFlight bounds the requests evaluated at once; more are dropped
	// (the gateway retransmits).
	MaxInFlight int
	Metrics     prometheus.Registerer
	Log         *slog.Logger
	Now         func() time.Time

	once    sync.Once
	clients *table
	replay  *replayCache
	m       *metrics
	sem     chan struct{}
}

// ClientSource lists every tenant's RADIUS clients (the store).
type ClientSource interface {
	AllRadiusClients(ctx context.Context) ([]store.RadiusClient, error)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		ttl := s.ClientsTTL
		if ttl <= 0 {
			ttl = DefaultClientsTTL
		}
		s.clients = &table{store: s.Clients, keys: s.Keys, ttl: ttl, now: s.now, log: s.Log}
		rt := s.ReplayTTL
		if rt <= 0 {
			rt = DefaultReplayTTL
		}
		s.replay = newReplayCache(rt, maxReplayEntries, s.now)
		s.m = newMetrics(s.Metrics)
		n := s.MaxInFlight
		if n <= 0 {
			n = DefaultMaxInFlight
		}
		s.sem = make(chan struct{}, n)
		if s.PushTimeout <= 0 {
			s.PushTimeout = DefaultPushTimeout
		}
	})
}

// Serve reads requests from conn until ctx ends, then stops reading,
// waits up to grace for the requests in flight (their context is
// cancelled once grace is over) and returns.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn, grace time.Duration) error {
	s.init()
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
		case <-stopped:
		}
	}()
	// One octet more than the largest packet, to tell an oversize
	// datagram from one that fits exactly.
	buf := make([]byte, radius.MaxPacketLength+1)
	var err error
	for {
		var n int
		var from net.Addr
		n, from, err = conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			break
		}
		s.m.requests.Inc()
		src, ok := addrPort(from)
		if !ok {
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.m.dropped(dropOverload)
			s.Log.Warn("radius: request dropped", "reason", dropOverload, "from", src.String())
			continue
		}
		raw := append([]byte(nil), buf[:n]...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.sem }()
			if out := s.handle(work, raw, src); out != nil {
				if _, err := conn.WriteTo(out, net.UDPAddrFromAddrPort(src)); err != nil && ctx.Err() == nil {
					s.Log.Warn("radius: cannot send the answer", "to", src.String(), "err", err)
				}
			}
		}()
	}
	close(stopped)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cancel()
		<-done
	}
	return err
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// handle turns one datagram into the bytes to send back, or nil to drop it.
func (s *Server) handle(ctx context.Context, raw []byte, src netip.AddrPort) []byte {
	s.init()
	c, ok := s.clients.lookup(ctx, src.Addr())
	if !ok {
		s.m.dropped(dropUnknownClient)
		s.Log.WarnContext(ctx, "radius: request dropped", "reason", dropUnknownClient, "from", src.String())
		return nil
	}
	req, err := decodeRequest(raw, c.secret)
	if err != nil {
		s.m.dropped(dropReason(err))
		s.Log.WarnContext(ctx, "radius: request dropped", "reason", dropReason(err), "from", src.String(), "client", c.name, "err", err)
		return nil
	}
	key := replayKey{src: src, id: req.Identifier, auth: req.Authenticator}
	cached, state := s.replay.begin(key)
	switch state {
	case replayAnswered:
		s.m.duplicates.Inc()
		return cached
	case replayInFlight:
		s.m.dropped(dropDuplicate)
		return nil
	}
	resp, err := s.respond(ctx, c, req, src.Addr())
	var out []byte
	if err == nil {
		out, err = encodeResponse(resp)
	}
	if err != nil {
		s.replay.abandon(key)
		s.m.dropped(dropReason(err))
		s.Log.ErrorContext(ctx, "radius: request dropped", "reason", dropReason(err), "from", src.String(), "client", c.name, "err", err)
		return nil
	}
	s.replay.finish(key, out)
	s.m.answered(resp.Code)
	return out
}

// replayCache remembers recent answers by request (RFC 5080 §2.2.2): a
// gateway that did not hear an answer sends the same packet again, and
// must get the same answer rather than a second evaluation — which would
// reuse a one-time code, or count a wrong password twice.
type replayCache struct {
	mu  sync.Mutex
	m   map[replayKey]*replayEntry
	ttl time.Duration
	max int
	now func() time.Time
}

type replayKey struct {
	src  netip.AddrPort
	id   byte
	auth [16]byte
}

type replayEntry struct {
	out     []byte // nil while in flight
	expires time.Time
}

type replayState int

const (
	replayNew replayState = iota
	replayInFlight
	replayAnswered
)

func newReplayCache(ttl time.Duration, max int, now func() time.Time) *replayCache {
	return &replayCache{m: map[replayKey]*replayEntry{}, ttl: ttl, max: max, now: now}
}

// begin claims key for a new evaluation, or reports it is being
// evaluated or was answered (with the answer).
func (c *replayCache) begin(k replayKey) ([]byte, replayState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if e, ok := c.m[k]; ok {
		switch {
		case e.out == nil:
			return nil, replayInFlight
		case now.Before(e.expires):
			return e.out, replayAnswered
		}
	}
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if e.out != nil && !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			// Still full of live answers: forget answered ones at random
			// (map order) rather than refuse new requests.
			for k, e := range c.m {
				if e.out != nil {
					delete(c.m, k)
				}
				if len(c.m) < c.max*3/4 {
					break
				}
			}
		}
	}
	c.m[k] = &replayEntry{}
	return nil, replayNew
}

func (c *replayCache) finish(k replayKey, out []byte) {
	c.mu.Lock()
	c.m[k] = &replayEntry{out: out, expires: c.now().Add(c.ttl)}
	c.mu.Unlock()
}

// abandon forgets a request that got no answer, so a retransmission is
// evaluated afresh.
func (c *replayCache) abandon(k replayKey) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

type metrics struct {
	requests   prometheus.Counter
	duplicates prometheus.Counter
	responses  *prometheus.CounterVec
	drops      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "vakt_radius_requests_total",
			Help: "RADIUS datagrams received."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "vakt_radius_retransmissions_total",
			Help: "Retransmitted RADIUS requests answered from the cache."}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vakt_radius_responses_total",
			Help: "RADIUS answers sent, by type (accept, reject, challenge)."}, []string{"type"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vakt_radius_dropped_total",
			Help: "RADIUS requests dropped without an answer, by reason."}, []string{"reason"}),
	}
	for _, t := range []string{"accept", "reject", "challenge"} {
		m.responses.WithLabelValues(t)
	}
	for _, r := range []string{dropMalformed, dropOversize, dropUnknownClient, dropCode, dropAuthenticator, dropDuplicate, dropOverload, dropInternal} {
		m.drops.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duplicates, m.responses, m.drops)
	}
	return m
}

func (m *metrics) dropped(reason string) { m.drops.WithLabelValues(reason).Inc() }

func (m *metrics) answered(c radius.Code) {
	switch c {
	case radius.CodeAccessAccept:
		m.responses.WithLabelValues("accept").Inc()
	case radius.CodeAccessReject:
		m.responses.WithLabelValues("reject").Inc()
	case radius.CodeAccessChallenge:
		m.responses.WithLabelValues("challenge").Inc()
	}
}
