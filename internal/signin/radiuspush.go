package signin

import (
	"context"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/method"
)

// expireGrace bounds the clean-up after a held push timed out, which
// runs on a context of its own (the request's has ended).
const expireGrace = 5 * time.Second

// PushAndWait is the push of a RADIUS sign-in (internal/radius.Pusher):
// it sends the flow's push — without number matching, as no page shows
// the user a number — and holds until the answer is in, the push
// expires, or ctx ends. Waiting is not polling: each round sleeps on the
// authenticator's notification of the challenge (in this process, and
// from other nodes through PostgreSQL), and reads the store only when
// woken or after MaxPushWait.
//
// The view is the flow after the answer: done, or blocked (denied,
// reported, expired). When ctx ends first the push is expired at once,
// so nothing is left waiting on the user's devices, the sign-in log
// records it, and ctx's error is returned; any other error also expires
// the push.
func (e *Engine) PushAndWait(ctx context.Context, tenantID, flowID string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActPushPoll)
	if err != nil {
		return View{}, err
	}
	if !d.Client.RADIUS || d.Selected != method.OptionPush || State(f.State) != StateMFA {
		return View{}, apperr.Conflictf("This sign-in is not waiting for a push.").WithCode("stepOutOfOrder")
	}
	if d.ChallengeID == "" {
		if err := e.sendPush(ctx, f, &d); err != nil {
			return View{}, err
		}
		if _, err := e.save(ctx, f, d, StateMFA); err != nil {
			return View{}, err
		}
	}
	for {
		v, err := e.PollPush(ctx, tenantID, flowID, MaxPushWait)
		switch {
		case ctx.Err() != nil:
			// Record the outcome too: a failed second factor, "expired
			// without an answer".
			if e.expirePush(ctx, tenantID, flowID, d.ChallengeID) {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), expireGrace)
				if _, err := e.PollPush(cctx, tenantID, flowID, 0); err != nil {
					e.Logger.WarnContext(ctx, "radius push: cannot record the expired push", "tenant", tenantID, "flow", flowID, "err", err)
				}
				cancel()
			}
			return View{}, ctx.Err()
		case err != nil:
			// The request ends here (locked out, the store failed): its
			// push must not stay open to an approval that leads nowhere.
			e.expirePush(ctx, tenantID, flowID, d.ChallengeID)
			return View{}, err
		case v.State != StateMFA:
			return v, nil
		}
	}
}

// expirePush expires the push of a sign-in whose request stopped
// waiting, so it leaves the user's devices at once.
func (e *Engine) expirePush(ctx context.Context, tenantID, flowID, challengeID string) bool {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), expireGrace)
	defer cancel()
	if err := e.Push.Expire(cctx, tenantID, challengeID); err != nil {
		e.Logger.WarnContext(ctx, "radius push: cannot expire the push", "tenant", tenantID, "flow", flowID, "err", err)
		return false
	}
	return true
}
