package signin

import (
	"context"
	"time"

	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/push"
)

// PushWaitingForDevice is PushStatus's answer while a new device has not
// yet used its enrolment link (so there is no test push yet).
const PushWaitingForDevice = "waitingForDevice"

// PushStatus reports where the flow's push stands — the sign-in's push
// in the MFA step, or the new device's test push while registering —
// without acting on the answer: "waitingForDevice", or the challenge's
// status (push.Pending, push.Approved, …). With wait it long-polls while
// the push is pending. The sign-in pages use it to learn, without a
// reload, that it is time to let PollPush act on the answer; keeping it
// read-only means the page can ask with a plain GET.
func (e *Engine) PushStatus(ctx context.Context, tenantID, flowID string, wait time.Duration) (string, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActPushPoll)
	if err != nil {
		return "", err
	}
	if e.Push == nil {
		return "", errNoPush()
	}
	id := d.ChallengeID
	if State(f.State) == StateRegister {
		if d.PushEnrolment == "" {
			return "", errNoPush()
		}
		en, err := e.Push.Enrolment(ctx, tenantID, d.PushEnrolment)
		if err != nil {
			return "", errNoPush()
		}
		if en.ChallengeID == "" {
			if !en.ExpiresAt.After(e.now()) {
				return string(push.Expired), nil // the link was never used
			}
			return PushWaitingForDevice, nil
		}
		id = en.ChallengeID
	} else if d.Selected != method.OptionPush {
		return "", errNoPush()
	}
	if id == "" {
		return "", errNoPush()
	}
	c, err := e.Push.Challenge(ctx, tenantID, id)
	if err != nil {
		return "", errNoPush()
	}
	if wait > 0 && c.Status == string(push.Pending) {
		e.Push.Wait(ctx, tenantID, id, min(wait, MaxPushWait, c.ExpiresAt.Sub(e.now())+100*time.Millisecond))
		if c, err = e.Push.Challenge(ctx, tenantID, id); err != nil {
			return "", errNoPush()
		}
	}
	return c.Status, nil
}
