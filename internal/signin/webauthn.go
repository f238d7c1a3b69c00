package signin

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/store"
)

// Security keys and passkeys in the sign-in (FIDO2). The assertion
// ceremony of a step lives in the flow (flowData.Key) and is taken out —
// the flow saved without it, compare-and-set — before the answer is
// checked, so an answer is good once; a failed answer gets a fresh
// ceremony for the next try. A registration's ceremony lives with its
// pending method (securityinfo); the flow keeps only its options.

// keysReady hides FIDO2 from the decision when this server cannot run
// ceremonies (no relying party: the public URL is an IP address).
func (e *Engine) keysReady(allowed map[method.Option]bool) map[method.Option]bool {
	if e.Methods.WebAuthn == nil {
		delete(allowed, method.OptionFido2)
	}
	return allowed
}

// prepareKey opens an assertion ceremony for the user's keys when the
// security key is the selected second factor.
func (e *Engine) prepareKey(ctx context.Context, tenantID string, d *flowData, u store.User) error {
	d.Key = nil
	if d.Selected != method.OptionFido2 {
		return nil
	}
	c, err := e.Methods.BeginFido2Assertion(ctx, tenantID, u.ID)
	if err != nil {
		return err
	}
	d.Key = &c
	return nil
}

// takeKey removes the flow's ceremony and saves the flow, so that of two
// answers to one ceremony only one is ever checked.
func (e *Engine) takeKey(ctx context.Context, f store.Flow, d flowData) (store.Flow, flowData, webauthn.Ceremony, error) {
	if d.Key == nil || d.Key.Session.Challenge == "" {
		return f, d, webauthn.Ceremony{}, apperr.Invalidf("There is no security key request to answer. Choose the security key again.").WithCode("noKeyRequest")
	}
	c := *d.Key
	d.Key = nil
	f, err := e.save(ctx, f, d, State(f.State))
	return f, d, c, err
}

// rearm gives a flow whose answer failed a fresh ceremony for the retry;
// userID "" is a passkey sign-in.
func (e *Engine) rearm(ctx context.Context, f store.Flow, d flowData, userID string) {
	c, err := e.Methods.BeginFido2Assertion(ctx, f.TenantID, userID)
	if err != nil {
		return // the client starts again
	}
	d.Key = &c
	_, _ = e.save(ctx, f, d, State(f.State))
}

// StartPasskey opens a sign-in without a user name: the view carries the
// request options (no allowCredentials), and the passkey's answer names
// the user.
func (e *Engine) StartPasskey(ctx context.Context, tenantID string, c Client) (View, error) {
	c.App, c.AppName, c.UserAgent, c.DeviceID = sanitize(c.App, 64), sanitize(c.AppName, 256), sanitize(c.UserAgent, 512), sanitize(c.DeviceID, 128)
	if c.Kind == "" {
		c.Kind = policy.ClientBrowser
	}
	if c.CorrelationID == "" {
		c.CorrelationID = uuid.NewString()
	}
	cer, err := e.Methods.BeginFido2Assertion(ctx, tenantID, "")
	if err != nil {
		return View{}, err
	}
	now := e.now()
	d := flowData{Client: c, Key: &cer}
	f := store.Flow{ID: newToken(), TenantID: tenantID, State: string(StatePasskey), CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(e.FlowTTL)}
	if f.Data, err = json.Marshal(d); err != nil {
		return View{}, err
	}
	if err := e.Store.CreateFlow(ctx, f); err != nil {
		return View{}, err
	}
	return e.view(f, d), nil
}

// Passkey checks the answer of a sign-in without a user name. A passkey
// with user verification is phishing-resistant multi-factor on its own
// (P-2); the decision then runs as after any first factor.
func (e *Engine) Passkey(ctx context.Context, tenantID, flowID string, credential []byte) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActPasskey)
	if err != nil {
		return View{}, err
	}
	f, d, c, err := e.takeKey(ctx, f, d)
	if err != nil {
		return View{}, err
	}
	m, err := e.Methods.VerifyFido2(ctx, tenantID, "", c, credential)
	if err != nil {
		if _, ok := apperr.As(err); ok {
			// No lockout: nobody is named yet, and a signature cannot be
			// guessed; the log still shows the attempt and its reason.
			e.logSignIn(tenantID, d, store.User{}, CodeInvalidCredentials, keyReason(err))
			e.rearm(ctx, f, d, "")
		}
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, m.UserID)
	if err != nil {
		return View{}, err
	}
	d.Username = u.UPN
	e.familiar(ctx, tenantID, &d)
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		return View{}, err
	}
	if !u.AccountEnabled {
		d.Decision = policy.Decision{Outcome: policy.Block, Code: policy.CodeAccountDisabled, Message: "Your account is disabled. Contact your administrator."}
		e.logSignIn(tenantID, d, u, policy.CodeAccountDisabled, "User account is disabled.")
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	}
	d.FirstFactor = method.OptionFido2
	d.Auth = append(d.Auth, store.AuthDetail{Method: "Passkey", At: e.now(), StepRequirement: "Primary authentication",
		ResultDetail: keyDetail(m), Succeeded: true})
	f.UserID = u.ID
	return e.advance(ctx, f, d, u)
}

// VerifyKey checks a security key's answer as the second factor.
func (e *Engine) VerifyKey(ctx context.Context, tenantID, flowID string, credential []byte) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActVerify)
	if err != nil {
		return View{}, err
	}
	if d.Selected != method.OptionFido2 || !slices.Contains(d.Decision.Options, method.OptionFido2) {
		return View{}, apperr.Invalidf("Choose the security key first.").WithCode("noMethodSelected")
	}
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	f, d, c, err := e.takeKey(ctx, f, d)
	if err != nil {
		return View{}, err
	}
	m, err := e.Methods.VerifyFido2(ctx, tenantID, u.ID, c, credential)
	if err != nil {
		if _, ok := apperr.As(err); !ok {
			return View{}, err
		}
		if ferr := e.failed(ctx, tenantID, d, u, "", CodeMFAFailed, keyReason(err)); ferr != nil {
			return View{}, ferr
		}
		e.rearm(ctx, f, d, u.ID)
		return View{}, err
	}
	d.MFADone = &policy.MFADone{Option: method.OptionFido2, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: authMethodName(method.OptionFido2), At: e.now(), StepRequirement: "Multi-factor authentication",
		ResultDetail: keyDetail(m), Succeeded: true})
	return e.advance(ctx, f, d, u)
}

// RegisterKeyBegin starts registering a passkey or security key inside
// the sign-in (P-6.3), where the decision offers FIDO2.
func (e *Engine) RegisterKeyBegin(ctx context.Context, tenantID, flowID string, passkey bool) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterBegin)
	if err != nil {
		return View{}, err
	}
	if !slices.Contains(d.Decision.RegisterOptions, method.OptionFido2) {
		return View{}, apperr.Invalidf("A security key cannot be registered here.").WithCode("methodNotOffered")
	}
	en, err := e.Methods.BeginFido2(ctx, tenantID, f.UserID, passkey)
	if err != nil {
		return View{}, err
	}
	// Only the options: the ceremony itself stays with the pending key.
	d.EnrolmentID, d.Key = en.ID, &webauthn.Ceremony{Options: en.Options}
	f, err = e.save(ctx, f, d, StateRegister)
	return e.view(f, d), err
}

// RegisterKeyFinish stores the new key from the browser's answer; like an
// app registered here, it also passes this sign-in's second factor.
func (e *Engine) RegisterKeyFinish(ctx context.Context, tenantID, flowID string, credential []byte, displayName string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterFinish)
	if err != nil {
		return View{}, err
	}
	if d.EnrolmentID == "" || d.Key == nil {
		return View{}, apperr.Invalidf("Start the registration first.").WithCode("registrationNotStarted")
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	self := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: addrString(d.Client.IP)}
	enrolment := d.EnrolmentID
	d.EnrolmentID, d.Key = "", nil // the ceremony is spent either way
	m, err := e.Methods.FinishFido2(ctx, self, tenantID, u.ID, enrolment, displayName, credential)
	if err != nil {
		if _, ok := apperr.As(err); !ok {
			return View{}, err
		}
		if _, serr := e.save(ctx, f, d, StateRegister); serr != nil {
			return View{}, serr
		}
		return View{}, err
	}
	if u, err = e.enforceAfterRegistration(ctx, tenantID, u, self); err != nil {
		return View{}, err
	}
	d.MFADone = &policy.MFADone{Option: method.OptionFido2, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: authMethodName(method.OptionFido2), At: e.now(), StepRequirement: "Multi-factor authentication",
		ResultDetail: "Registered and verified (" + keyDetail(m) + ")", Succeeded: true})
	return e.advance(ctx, f, d, u)
}

// keyReason is the sign-in log's failure reason for a refused key.
func keyReason(err error) string {
	if r, ok := webauthn.AsRefusal(err); ok {
		return "Security key or passkey refused: " + r.Reason + " (" + r.Detail + ")."
	}
	if ae, ok := apperr.As(err); ok {
		return "Security key or passkey refused: " + ae.Message
	}
	return "Security key or passkey refused."
}

// keyDetail describes the key for the log's authentication details.
func keyDetail(m store.Method) string {
	if m.Props.Fido2 == nil {
		return m.DisplayName
	}
	kind := "device-bound"
	if m.Props.Fido2.BackupEligible {
		kind = "synced"
	}
	return m.DisplayName + ", AAGUID " + m.Props.Fido2.AAGUID + ", " + kind
}
