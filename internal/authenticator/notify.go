package authenticator

import (
	"context"
	"sync"
	"time"
)

// hub wakes waiters in this process: a device stream waiting for its
// user's challenges, a sign-in waiting for an answer. Signals carry no
// data — a woken waiter reads the store — so a lost or doubled signal
// costs at most one extra read.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func (h *hub) subscribe(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan struct{}]struct{}{}
	}
	set := h.subs[topic]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		h.subs[topic] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		// The set ch joined stays in the map while ch is in it.
		cur := h.subs[topic]
		delete(cur, ch)
		if len(cur) == 0 {
			delete(h.subs, topic)
		}
		h.mu.Unlock()
	}
}

func (h *hub) publish(topic string) {
	h.mu.Lock()
	for ch := range h.subs[topic] {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
	h.mu.Unlock()
}

func userTopic(tenantID, userID string) string { return "u:" + tenantID + ":" + userID }

func challengeTopic(tenantID, id string) string { return "c:" + tenantID + ":" + id }

// Notifier is a store that carries notifications between nodes
// (PostgreSQL LISTEN/NOTIFY, internal/store/sqlstore).
type Notifier interface {
	CanNotify() bool
	Notify(ctx context.Context, payload string) error
	Listen(ctx context.Context, ready func(), fn func(payload string)) error
}

func (s *Service) notifier() Notifier {
	if n, ok := s.Store.(Notifier); ok && n.CanNotify() {
		return n
	}
	return nil
}

// notify wakes waiters here and, through the database, on other nodes.
func (s *Service) notify(ctx context.Context, topic string) {
	s.hub.publish(topic)
	if n := s.notifier(); n != nil {
		if err := n.Notify(context.WithoutCancel(ctx), topic); err != nil && s.Log != nil {
			s.Log.WarnContext(ctx, "authenticator: notify other nodes", "err", err)
		}
	}
}

// Run relays notifications from other nodes until ctx ends (a no-op
// wait on a single-node SQLite store). ready, if set, is called each
// time listening (re)starts.
func (s *Service) Run(ctx context.Context, ready func()) {
	n := s.notifier()
	if n == nil {
		if ready != nil {
			ready()
		}
		<-ctx.Done()
		return
	}
	backoff := time.Second
	for ctx.Err() == nil {
		err := n.Listen(ctx, ready, s.hub.publish)
		if ctx.Err() != nil {
			return
		}
		if s.Log != nil {
			s.Log.WarnContext(ctx, "authenticator: listening for other nodes failed; retrying", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
