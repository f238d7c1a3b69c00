package signin

import (
	"context"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authenticator"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/store"
)

// PushService is the authenticator (internal/authenticator) as the engine
// uses it: sending a push bound to a flow, reading its outcome, and
// registering a device from the registration interrupt.
type PushService interface {
	Send(ctx context.Context, tenantID, userID string, in authenticator.SendInput) (store.PushChallenge, error)
	Challenge(ctx context.Context, tenantID, id string) (store.PushChallenge, error)
	Wait(ctx context.Context, tenantID, challengeID string, d time.Duration)
	Expire(ctx context.Context, tenantID, challengeID string) error
	BeginEnrolment(ctx context.Context, tenantID, userID, flowID string) (authenticator.Link, error)
	Enrolment(ctx context.Context, tenantID, id string) (store.PushEnrolment, error)
}

// PushView is the push waiting for an answer: the number the user types
// into the app (number matching) and until when it waits.
type PushView struct {
	Number    int          `json:"number"`
	ExpiresAt time.Time    `json:"expiresAt"`
	Context   *PushContext `json:"context,omitempty"`
}

// PushContext is what the device shows with the request, as the
// methods policy's feature settings allow (app; coarse location and
// address), so the sign-in page can say what to expect there.
type PushContext struct {
	App       string `json:"app,omitempty"`
	Location  string `json:"location,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
}

// RiskUserReported is logged with a sign-in the user reported.
const RiskUserReported = authenticator.RiskUserReported

// MaxPushWait bounds one long poll of a push's outcome.
const MaxPushWait = 30 * time.Second

func errNoPush() error {
	return apperr.Invalidf("No notification was sent yet. Choose to approve a request on your authenticator app.").WithCode("noPushSent")
}

// sendPush sends the flow's push notification.
func (e *Engine) sendPush(ctx context.Context, f store.Flow, d *flowData) error {
	if e.Push == nil {
		return apperr.Invalidf("That method cannot be used here.")
	}
	c, err := e.Push.Send(ctx, f.TenantID, f.UserID, authenticator.SendInput{FlowID: f.ID, AppName: d.Client.AppName, IP: d.Client.IP,
		CorrelationID: d.Client.CorrelationID, NoNumber: d.Client.RADIUS})
	if err != nil {
		return err
	}
	d.ChallengeID, d.PushNumber, d.PushExpires = c.ID, c.Number, c.ExpiresAt
	d.PushContext = nil
	if c.AppName != "" || c.Location != "" || c.IPAddress != "" {
		d.PushContext = &PushContext{App: c.AppName, Location: c.Location, IPAddress: c.IPAddress}
	}
	return nil
}

// autoPush sends the push when it is offered first (P-2.4). A push that
// cannot go out now (another is waiting, the hourly limit) leaves the
// option selected and unsent: the user may retry or choose another way,
// and the password step does not fail for it.
func (e *Engine) autoPush(ctx context.Context, f store.Flow, d *flowData) error {
	err := e.sendPush(ctx, f, d)
	if _, ok := apperr.As(err); ok {
		e.Logger.InfoContext(ctx, "push not sent automatically", "tenant", f.TenantID, "user", f.UserID, "reason", err)
		return nil
	}
	return err
}

// PollPush reports a push's outcome: in the MFA step, the sign-in's push;
// in the registration step, the test push of a new device. With wait it
// long-polls until the answer arrives, the push expires or wait passes.
func (e *Engine) PollPush(ctx context.Context, tenantID, flowID string, wait time.Duration) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActPushPoll)
	if err != nil {
		return View{}, err
	}
	if e.Push == nil {
		return View{}, errNoPush()
	}
	if wait > 0 {
		id := d.ChallengeID
		if State(f.State) == StateRegister {
			id = ""
			if d.PushEnrolment != "" {
				if en, err := e.Push.Enrolment(ctx, tenantID, d.PushEnrolment); err == nil {
					id = en.ChallengeID
				}
			}
		}
		if id != "" {
			if c, err := e.Push.Challenge(ctx, tenantID, id); err == nil && c.Status == string(push.Pending) {
				e.Push.Wait(ctx, tenantID, id, min(wait, MaxPushWait, c.ExpiresAt.Sub(e.now())+100*time.Millisecond))
			}
		}
		if f, d, err = e.load(ctx, tenantID, flowID, ActPushPoll); err != nil {
			return View{}, err
		}
	}
	if State(f.State) == StateRegister {
		return e.registerPushFinish(ctx, f, d)
	}
	if d.Selected != method.OptionPush {
		return View{}, errNoPush()
	}
	// As for a code: while the name is locked, no second factor passes.
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	return e.pushOutcome(ctx, f, d, u)
}

// pushOutcome acts on the answer to the flow's push.
func (e *Engine) pushOutcome(ctx context.Context, f store.Flow, d flowData, u store.User) (View, error) {
	if d.ChallengeID == "" {
		return View{}, errNoPush()
	}
	c, err := e.Push.Challenge(ctx, f.TenantID, d.ChallengeID)
	if err != nil || c.FlowID != f.ID || c.UserID != u.ID {
		return View{}, errNoPush()
	}
	var why, msg string
	switch push.Status(c.Status) {
	case push.Pending:
		return e.view(f, d), nil
	case push.Approved:
		return e.mfaPassed(ctx, f, d, u, method.OptionPush)
	case push.WrongNumber:
		// A wrong number is a failed second factor: it counts toward
		// lockout like a wrong code.
		d.Auth = append(d.Auth, pushFailure(e.now(), "User entered the wrong number"))
		if err := e.failed(ctx, f.TenantID, d, u, "", CodeMFAFailed, "MFA denied; the number entered in the authenticator app did not match."); err != nil {
			return View{}, err
		}
		d.Decision = policy.Decision{Outcome: policy.Block, Code: CodeMFAFailed, Message: "The number you entered in your authenticator app did not match, so the sign-in was stopped. Start again."}
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	case push.Denied:
		why, msg = "MFA denied; user declined the authentication in the authenticator app.", "The request was denied in your authenticator app, so the sign-in was stopped."
	case push.Reported:
		d.Risk = append(d.Risk, RiskUserReported)
		why, msg = "MFA denied; user reported suspicious activity (this wasn't me).", "You reported this sign-in as not yours, so it was blocked. Your administrator has been told."
	default: // expired
		why, msg = "MFA denied; the authenticator notification expired without an answer.", "The request to your authenticator app expired without an answer. Start again."
	}
	d.Auth = append(d.Auth, pushFailure(e.now(), why))
	d.Decision = policy.Decision{Outcome: policy.Block, Code: CodeMFAFailed, Message: msg}
	e.logSignIn(f.TenantID, d, u, CodeMFAFailed, why)
	f, err = e.save(ctx, f, d, StateBlocked)
	return e.view(f, d), err
}

func pushFailure(at time.Time, detail string) store.AuthDetail {
	return store.AuthDetail{Method: authMethodName(method.OptionPush), At: at, StepRequirement: "Multi-factor authentication",
		ResultDetail: detail, Succeeded: false}
}

// RegisterPushBegin starts registering the authenticator (push) inside
// the sign-in: the view carries the one-time enrolment link and its QR
// code for the companion app.
func (e *Engine) RegisterPushBegin(ctx context.Context, tenantID, flowID string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterBegin)
	if err != nil {
		return View{}, err
	}
	if e.Push == nil || !containsOption(d.Decision.RegisterOptions, method.OptionPush) {
		return View{}, apperr.Invalidf("The authenticator app cannot be registered here.")
	}
	l, err := e.Push.BeginEnrolment(ctx, tenantID, f.UserID, f.ID)
	if err != nil {
		return View{}, err
	}
	d.PushEnrolment, d.EnrolmentID, d.ContactChallenge = l.ID, "", ""
	if f, err = e.save(ctx, f, d, StateRegister); err != nil {
		return View{}, err
	}
	v := e.view(f, d)
	v.Register.Enrolment = &Enrolment{Link: l.URL, QRPNG: l.QRPNG, ExpiresAt: l.ExpiresAt, Status: "waitingForDevice"}
	return v, nil
}

func containsOption(os []method.Option, o method.Option) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

// registerPushFinish follows the new device's test push: the number to
// show while it waits, and on approval the registration also passes the
// second factor of this sign-in.
func (e *Engine) registerPushFinish(ctx context.Context, f store.Flow, d flowData) (View, error) {
	if d.PushEnrolment == "" {
		return View{}, apperr.Invalidf("Start the registration first.").WithCode("registrationNotStarted")
	}
	en, err := e.Push.Enrolment(ctx, f.TenantID, d.PushEnrolment)
	if err != nil {
		return View{}, apperr.Invalidf("Start the registration again.").WithCode("registrationNotStarted")
	}
	v := e.view(f, d)
	if en.ChallengeID == "" {
		v.Register.Enrolment = &Enrolment{ExpiresAt: en.ExpiresAt, Status: "waitingForDevice"}
		return v, nil
	}
	c, err := e.Push.Challenge(ctx, f.TenantID, en.ChallengeID)
	if err != nil {
		return View{}, err
	}
	switch push.Status(c.Status) {
	case push.Pending:
		v.Register.Enrolment = &Enrolment{Number: c.Number, ExpiresAt: c.ExpiresAt, Status: string(push.Pending)}
		return v, nil
	case push.Approved:
	default:
		d.PushEnrolment = ""
		if _, err := e.save(ctx, f, d, StateRegister); err != nil {
			return View{}, err
		}
		return View{}, apperr.Conflictf("The test notification was not approved (%s), so the app was not registered. Start again.", c.Status).WithCode("testPushFailed")
	}
	u, err := e.Store.GetUser(ctx, f.TenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	self := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: addrString(d.Client.IP)}
	if u, err = e.enforceAfterRegistration(ctx, f.TenantID, u, self); err != nil {
		return View{}, err
	}
	d.PushEnrolment = ""
	d.MFADone = &policy.MFADone{Option: method.OptionPush, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: authMethodName(method.OptionPush), At: e.now(), StepRequirement: "Multi-factor authentication",
		ResultDetail: "Registered and verified", Succeeded: true})
	return e.advance(ctx, f, d, u)
}
