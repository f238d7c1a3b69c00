package signin

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/store"
)

// inheritedSession is the session a CheckSession flow stands on.
type inheritedSession struct {
	ID     string     `json:"id"`
	AuthAt time.Time  `json:"authAt"`
	MFAAt  *time.Time `json:"mfaAt,omitempty"`
}

// fromSession opens a flow for the user of a live session; the session
// stands in for the password.
func (e *Engine) fromSession(ctx context.Context, tenantID, sessionToken string, c Client) (store.Flow, flowData, store.User, store.Session, error) {
	var d flowData
	s, err := e.Session(ctx, tenantID, sessionToken)
	if errors.Is(err, store.ErrNotFound) {
		return store.Flow{}, d, store.User{}, s, apperr.Unauthenticatedf("No signed-in session.").WithCode("noSession")
	}
	if err != nil {
		return store.Flow{}, d, store.User{}, s, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Flow{}, d, store.User{}, s, apperr.Unauthenticatedf("No signed-in session.").WithCode("noSession")
	}
	if err != nil {
		return store.Flow{}, d, store.User{}, s, err
	}
	c.App, c.AppName, c.UserAgent, c.DeviceID = sanitize(c.App, 64), sanitize(c.AppName, 256), sanitize(c.UserAgent, 512), sanitize(c.DeviceID, 128)
	if c.Kind == "" {
		c.Kind = policy.ClientBrowser
	}
	if c.CorrelationID == "" {
		c.CorrelationID = uuid.NewString()
	}
	now := e.now()
	d = flowData{Username: u.UPN, Client: c, StaySignedIn: s.Persistent,
		Auth: []store.AuthDetail{{Method: "Previous session", At: s.AuthAt, StepRequirement: "Primary authentication",
			ResultDetail: "First factor satisfied by the session", Succeeded: true}}}
	f := store.Flow{ID: newToken(), TenantID: tenantID, State: string(StatePassword), UserID: u.ID, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(e.FlowTTL)}
	if f.Data, err = json.Marshal(d); err != nil {
		return f, d, u, s, err
	}
	if err := e.Store.CreateFlow(ctx, f); err != nil {
		return f, d, u, s, err
	}
	e.familiar(ctx, tenantID, &d)
	return f, d, u, s, nil
}

// StartStepUp opens a flow for the user of a live session that asks only
// for what the policy still wants with step-up set (P-10.1): an app asked
// for MFA (acr_values), or its conditional access wants more than the
// session has. The password is not asked again — the session proves it —
// but the second factor, the policy, conditional access for c.App and
// the sign-in log all run as in any sign-in. On success the engine issues
// a new session.
func (e *Engine) StartStepUp(ctx context.Context, tenantID, sessionToken string, c Client) (View, error) {
	c.StepUp = true
	f, d, u, _, err := e.fromSession(ctx, tenantID, sessionToken, c)
	if err != nil {
		return View{}, err
	}
	return e.advance(ctx, f, d, u)
}

// CheckSession decides whether a live session may sign the user in to
// c.App without asking anything (single sign-on): the tenant's policy and
// conditional access for the app run with what the session has proven,
// and the sign-in log records the result with the app. The flow ends
// done (no new session is issued; the caller keeps using this one),
// blocked, or in a state that needs the user (mfa, register,
// changePassword), which the caller sends to the sign-in pages as a
// step-up. Nothing is sent to the user from here.
func (e *Engine) CheckSession(ctx context.Context, tenantID, sessionToken string, c Client) (View, error) {
	c.StepUp, c.LetUserChoose = false, true
	f, d, u, s, err := e.fromSession(ctx, tenantID, sessionToken, c)
	if err != nil {
		return View{}, err
	}
	d.Inherited = &inheritedSession{ID: s.ID, AuthAt: s.AuthAt, MFAAt: s.MFAAt}
	// A registration the user could skip was offered when the session
	// began; single sign-on does not nag again.
	d.RegistrationSkipped = true
	if s.MFAAt != nil {
		// The session's second factor still counts; its strength follows
		// the methods it recorded.
		o := method.OptionSoftwareOath
		if slices.Contains(s.Methods, "hwk") {
			o = method.OptionFido2
		}
		d.MFADone = &policy.MFADone{Option: o, At: *s.MFAAt}
	}
	return e.advance(ctx, f, d, u)
}

// completeInherited ends a CheckSession flow that the policy allows: it
// records the sign-in and issues nothing.
func (e *Engine) completeInherited(ctx context.Context, f store.Flow, d flowData, u store.User) (View, error) {
	f, err := e.save(ctx, f, d, StateDone)
	if err != nil {
		return View{}, err
	}
	e.logSignIn(f.TenantID, d, u, 0, "")
	return e.view(f, d), nil
}
