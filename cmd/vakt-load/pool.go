package main

import (
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/method/totp"
)

// loadUser is one test user: its password is shared (see usersFile), its
// TOTP secret is its own.
type loadUser struct {
	UPN      string `json:"upn"`
	Secret   string `json:"secret,omitempty"` // Base32; empty until registered
	LastStep int64  `json:"lastStep,omitempty"`
	secret   []byte
}

// pool hands out users in a fixed round, oldest use first, so that a
// user comes back as late as possible: a TOTP code is accepted once per
// user per 30-second step.
type pool struct {
	mu    sync.Mutex
	queue []*loadUser // FIFO: take from the front, give back at the end
	cond  *sync.Cond
}

func newPool(users []*loadUser) *pool {
	p := &pool{queue: append([]*loadUser(nil), users...)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// take blocks until a user is free (one is always free when there are
// more users than clients).
func (p *pool) take() *loadUser {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) == 0 {
		p.cond.Wait()
	}
	u := p.queue[0]
	p.queue = p.queue[1:]
	return u
}

func (p *pool) give(u *loadUser) {
	p.mu.Lock()
	p.queue = append(p.queue, u)
	p.mu.Unlock()
	p.cond.Signal()
}

// waitForStep is how long a user whose last accepted code was in step
// last must wait at now before a code of a new step exists: zero when
// the current step is already later.
func waitForStep(now time.Time, last int64) time.Duration {
	p := totp.AppParams()
	if totp.Step(now, p) > last {
		return 0
	}
	next := time.Unix((last+1)*int64(p.Period), 0)
	return next.Sub(now)
}
