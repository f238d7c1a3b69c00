package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vakt-id/vakt/internal/method/totp"
)

// result is one sign-in: when it ended, how long it and its steps took,
// and its error if it failed.
type result struct {
	node                      int
	end                       time.Time
	total, start, pass, verif time.Duration
	err                       *stepError
	extraSelect, ahead        bool
}

// runStats is what the clients collected.
type runStats struct {
	results      []result
	stalls       int           // times a client waited for a fresh TOTP step
	stalledFor   time.Duration // summed over clients
	extraSelects int           // sign-ins where "oath" was not preselected
	aheadCodes   int           // codes of the next step (ahead)
}

// drive runs c clients until ctx ends; client i talks to node i mod
// len(apis). Each takes the user longest unused, signs it in with its
// password and the current TOTP code, and gives it back.
func drive(ctx context.Context, apis []*api, users *pool, password string, c int, ahead bool) runStats {
	var mu sync.Mutex
	var all runStats
	var wg sync.WaitGroup
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine runStats
			node := i % len(apis)
			for ctx.Err() == nil {
				u := users.take()
				// With ahead, a user already used in this step may use
				// the next step's code: the server accepts codes one step
				// either side of its clock (an authenticator 30 s fast).
				last := u.LastStep
				if ahead {
					last--
				}
				if w := waitForStep(time.Now(), last); w > 0 {
					mine.stalls++
					t := time.Now()
					select {
					case <-time.After(w):
					case <-ctx.Done():
					}
					mine.stalledFor += time.Since(t)
					if ctx.Err() != nil {
						users.give(u)
						break
					}
				}
				r := signIn(context.WithoutCancel(ctx), apis[node], password, u, ahead)
				r.node = node
				if r.extraSelect {
					mine.extraSelects++
				}
				if r.ahead {
					mine.aheadCodes++
				}
				users.give(u)
				mine.results = append(mine.results, r)
			}
			mu.Lock()
			all.results = append(all.results, mine.results...)
			all.stalls += mine.stalls
			all.stalledFor += mine.stalledFor
			all.extraSelects += mine.extraSelects
			all.aheadCodes += mine.aheadCodes
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

// signIn is one interactive sign-in: start, password, verify. A sign-in
// begun is finished even when the run ends, so none is cut short.
func signIn(ctx context.Context, a *api, password string, u *loadUser, ahead bool) (r result) {
	fail := func(err error) result {
		var se *stepError
		if !errors.As(err, &se) {
			se = &stepError{kind: "client error", detail: err.Error()}
		}
		r.err, r.end = se, time.Now()
		return r
	}
	t0 := time.Now()
	v, err := a.call(ctx, "start", "", map[string]any{"username": u.UPN}, 201)
	r.start = time.Since(t0)
	if err != nil {
		return fail(err)
	}
	if err := expect("start", v, "password"); err != nil {
		return fail(err)
	}
	id := "/" + v.FlowID
	t1 := time.Now()
	v, err = a.call(ctx, "password", id+"/password", map[string]any{"password": password}, 200)
	r.pass = time.Since(t1)
	if err != nil {
		return fail(err)
	}
	if err := expect("password", v, "mfa"); err != nil {
		return fail(err)
	}
	t2 := time.Now()
	if v.MFA == nil || v.MFA.Selected != "oath" {
		r.extraSelect = true
		if v, err = a.call(ctx, "select", id+"/select", map[string]any{"option": "oath"}, 200); err != nil {
			return fail(err)
		}
	}
	p := totp.AppParams()
	step := totp.Step(time.Now(), p)
	if ahead && step <= u.LastStep {
		step, r.ahead = u.LastStep+1, true
	}
	v, err = a.call(ctx, "verify", id+"/verify", map[string]any{"code": totp.Code(u.secret, step, p)}, 200)
	r.verif = time.Since(t2)
	if err == nil {
		err = expect("verify", v, "done")
	}
	if err == nil && (v.Session == nil || v.Session.Token == "") {
		err = &stepError{kind: "verify: no session token", detail: "state done without a session"}
	}
	if err != nil {
		return fail(err)
	}
	u.LastStep = step
	r.end = time.Now()
	r.total = r.end.Sub(t0)
	return r
}
