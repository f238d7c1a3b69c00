package signin

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/store"
)

// StartStepUp opens a flow for the user of a live session that asks only
// for what the policy still wants with step-up set (P-10.1): an app asked
// for MFA (acr_values) and the session has none. The password is not
// asked again — the session proves it — but the second factor, the
// policy, conditional access for c.App and the sign-in log all run as in
// any sign-in. On success the engine issues a new session.
func (e *Engine) StartStepUp(ctx context.Context, tenantID, sessionToken string, c Client) (View, error) {
	s, err := e.Session(ctx, tenantID, sessionToken)
	if errors.Is(err, store.ErrNotFound) {
		return View{}, apperr.Unauthenticatedf("No signed-in session to step up.").WithCode("noSession")
	}
	if err != nil {
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return View{}, apperr.Unauthenticatedf("No signed-in session to step up.").WithCode("noSession")
	}
	if err != nil {
		return View{}, err
	}
	c.App, c.AppName, c.UserAgent, c.DeviceID = sanitize(c.App, 64), sanitize(c.AppName, 256), sanitize(c.UserAgent, 512), sanitize(c.DeviceID, 128)
	if c.Kind == "" {
		c.Kind = policy.ClientBrowser
	}
	if c.CorrelationID == "" {
		c.CorrelationID = uuid.NewString()
	}
	c.StepUp = true
	now := e.now()
	d := flowData{Username: u.UPN, Client: c, StaySignedIn: s.Persistent,
		Auth: []store.AuthDetail{{Method: "Previous session", At: s.AuthAt, StepRequirement: "Primary authentication",
			ResultDetail: "First factor satisfied by the session", Succeeded: true}}}
	f := store.Flow{ID: newToken(), TenantID: tenantID, State: string(StatePassword), UserID: u.ID, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(e.FlowTTL)}
	if f.Data, err = json.Marshal(d); err != nil {
		return View{}, err
	}
	if err := e.Store.CreateFlow(ctx, f); err != nil {
		return View{}, err
	}
	e.familiar(ctx, tenantID, &d)
	return e.advance(ctx, f, d, u)
}
