package signin

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Error codes of failed steps, as the sign-in log records them.
const (
	CodeInvalidCredentials = 50126
	CodeLocked             = 50053
	CodeMFAFailed          = 500121
)

func invalidCredentials() error {
	return apperr.Invalidf("Your user name or password is incorrect.").WithCode("invalidCredentials")
}

// Password checks the password; the flow then goes wherever the decision
// sends it.
func (e *Engine) Password(ctx context.Context, tenantID, flowID, pw string, staySignedIn bool) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActPassword)
	if err != nil {
		return View{}, err
	}
	known, err := e.familiar(ctx, tenantID, &d)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return View{}, err
	}
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == "accountLocked" { // not a store error
			e.logSignIn(tenantID, d, store.User{}, CodeLocked, "Account is locked.")
		}
		return View{}, err
	}
	if len(pw) > 1024 {
		return View{}, invalidCredentials()
	}
	u, err := e.Passwords.CheckUser(ctx, tenantID, known, err == nil, pw)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		if err := e.failed(ctx, tenantID, d, store.User{}, e.fingerprint(d.Username, pw), CodeInvalidCredentials, "Invalid username or password."); err != nil {
			return View{}, err
		}
		return View{}, invalidCredentials()
	case errors.Is(err, ErrAccountDisabled):
		d.Decision = policy.Decision{Outcome: policy.Block, Code: policy.CodeAccountDisabled, Message: "Your account is disabled. Contact your administrator."}
		e.logSignIn(tenantID, d, u, policy.CodeAccountDisabled, "User account is disabled.")
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	case err != nil:
		return View{}, err
	}
	d.StaySignedIn = staySignedIn
	d.Auth = append(d.Auth, store.AuthDetail{Method: "Password", At: e.now(), StepRequirement: "Primary authentication", ResultDetail: "Correct password", Succeeded: true})
	f.UserID = u.ID
	return e.advance(ctx, f, d, u)
}

// TemporaryAccessPass signs in with a TAP instead of a password; it counts
// as multi-factor (P-2).
func (e *Engine) TemporaryAccessPass(ctx context.Context, tenantID, flowID, pass string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActTAP)
	if err != nil {
		return View{}, err
	}
	u, err := e.familiar(ctx, tenantID, &d)
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		return View{}, err
	}
	if errors.Is(err, store.ErrNotFound) {
		_ = e.Passwords.Hasher.DummyVerify(ctx, pass)
		if err := e.failed(ctx, tenantID, d, store.User{}, "", CodeInvalidCredentials, "Invalid Temporary Access Pass."); err != nil {
			return View{}, err
		}
		return View{}, invalidCredentials()
	}
	if err != nil {
		return View{}, err
	}
	facts, err := e.Policy.TenantFacts(ctx, tenantID, u, nil)
	if err != nil {
		return View{}, err
	}
	if !facts.Allowed[method.OptionTAP] {
		// Refused like a wrong pass — the same work, the same count toward
		// lockout — or a disabled method would tell a real name from an
		// unknown one (which is counted above).
		_ = e.Passwords.Hasher.DummyVerify(ctx, pass)
		if err := e.failed(ctx, tenantID, d, u, "", CodeInvalidCredentials, "Temporary Access Pass is disabled by policy."); err != nil {
			return View{}, err
		}
		return View{}, invalidCredentials()
	}
	if _, err := e.Methods.VerifyTAP(ctx, tenantID, u.ID, pass); err != nil {
		if _, ok := apperr.As(err); !ok {
			return View{}, err
		}
		if err := e.failed(ctx, tenantID, d, u, "", CodeInvalidCredentials, "Invalid Temporary Access Pass."); err != nil {
			return View{}, err
		}
		return View{}, invalidCredentials()
	}
	if !u.AccountEnabled {
		d.Decision = policy.Decision{Outcome: policy.Block, Code: policy.CodeAccountDisabled, Message: "Your account is disabled. Contact your administrator."}
		e.logSignIn(tenantID, d, u, policy.CodeAccountDisabled, "User account is disabled.")
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	}
	d.FirstFactor = method.OptionTAP
	d.Auth = append(d.Auth, store.AuthDetail{Method: "Temporary Access Pass", At: e.now(), StepRequirement: "Primary authentication", Succeeded: true})
	f.UserID = u.ID
	return e.advance(ctx, f, d, u)
}

// facts gathers what the decision needs about the user.
func (e *Engine) facts(ctx context.Context, tenantID string, u store.User) (policy.User, []string, []string, error) {
	groups, roles, err := e.Store.Memberships(ctx, tenantID, u.ID)
	if err != nil {
		return policy.User{}, nil, nil, err
	}
	// The user is in hand: read the methods directly (the service's
	// Methods would look the user up again).
	ms, err := e.Store.ListMethods(ctx, tenantID, u.ID)
	if err != nil {
		return policy.User{}, nil, nil, err
	}
	pu := policy.User{Enabled: u.AccountEnabled, PerUserMFA: policy.PerUserMFA(u.PerUserMFA), Preferred: method.Option(u.PreferredMFA),
		MustChangePassword: u.ForceChangePassword, GraceStartedAt: u.MFAGraceStartedAt, CampaignSnoozedUntil: u.RegistrationSnoozedUntil}
	for _, r := range roles {
		pu.IsAdmin = pu.IsAdmin || directory.IsAdminRole(r)
	}
	for _, m := range ms {
		if m.State == store.MethodActive {
			pu.Methods = append(pu.Methods, securityinfo.Registered(m, e.now()))
		}
	}
	return pu, groups, roles, nil
}

// advance asks the decision where the flow goes next and goes there.
func (e *Engine) advance(ctx context.Context, f store.Flow, d flowData, u store.User) (View, error) {
	pu, groups, roles, err := e.facts(ctx, f.TenantID, u)
	if err != nil {
		return View{}, err
	}
	tf, err := e.Policy.TenantFacts(ctx, f.TenantID, u, groups)
	if err != nil {
		return View{}, err
	}
	tf.Allowed = e.keysReady(verifiable(tf.Allowed, e.Push != nil))
	req := policy.Request{Client: d.Client.Kind, AdminSurface: d.Client.AdminSurface, Familiar: d.Familiar, StepUp: d.Client.StepUp,
		RADIUS: d.Client.RADIUS, FirstFactor: d.FirstFactor, MFADone: d.MFADone, PasswordChanged: d.PasswordChanged,
		RegistrationSkipped: d.RegistrationSkipped}
	var grants []policy.Grant
	if e.CA != nil {
		grants, d.Applied, err = e.CA.Evaluate(ctx, f.TenantID, CAInput{User: u, Groups: groups, Roles: roles, AppID: d.Client.App,
			Client: d.Client.Kind, IP: d.Client.IP, Platform: ca.PlatformFromUserAgent(d.Client.UserAgent), Request: req})
		if err != nil {
			return View{}, err
		}
		tf.PoliciesApply = tf.PoliciesApply || len(d.Applied) > 0
	}
	dec := policy.Decide(pu, req, tf, grants, e.now())
	d.Decision = dec
	for _, w := range dec.Warnings {
		e.Logger.WarnContext(ctx, "sign-in policy warning", "tenant", f.TenantID, "user", u.ID, "warning", w)
	}
	if dec.StartGrace {
		if _, err := e.Store.UpdateUser(ctx, f.TenantID, u.ID, func(x *store.User) error {
			if x.MFAGraceStartedAt == nil || x.MFAGraceStartedAt.Before(tf.SecurityDefaultsEnabledAt) {
				now := e.now()
				x.MFAGraceStartedAt = &now
			}
			return nil
		}); err != nil {
			return View{}, err
		}
	}
	d.Key = nil // a step opens its own ceremony, if any
	switch dec.Outcome {
	case policy.Allow:
		return e.complete(ctx, f, d, u)
	case policy.Block:
		e.logSignIn(f.TenantID, d, u, dec.Code, dec.Message)
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	case policy.Register:
		e.logSignIn(f.TenantID, d, u, dec.Code, "The user must register a verification method.")
		f, err = e.save(ctx, f, d, StateRegister)
		return e.view(f, d), err
	case policy.ChangePassword:
		e.logSignIn(f.TenantID, d, u, dec.Code, "The user must change their password.")
		f, err = e.save(ctx, f, d, StateChangePassword)
		return e.view(f, d), err
	}
	if d.MFADone == nil && d.Selected == "" {
		e.logSignIn(f.TenantID, d, u, dec.Code, "Strong authentication is required.")
	}
	// A second factor: select the first offered; a text or call goes out
	// on its own unless the client lets the user choose first (P-2.4).
	d.Selected, d.ChallengeID, d.Destination = dec.OfferFirst, "", ""
	if err := e.prepareKey(ctx, f.TenantID, &d, u); err != nil {
		return View{}, err
	}
	if !d.Client.LetUserChoose && isTelephony(d.Selected) {
		if err := e.sendCode(ctx, f.TenantID, &d, u); err != nil {
			return View{}, err
		}
	}
	// RADIUS sends its push when it starts holding the request
	// (PushAndWait), and not at all when it asks for a code instead.
	if d.Selected == method.OptionPush && !d.Client.RADIUS {
		if err := e.autoPush(ctx, f, &d); err != nil {
			return View{}, err
		}
	}
	f, err = e.save(ctx, f, d, StateMFA)
	return e.view(f, d), err
}

func isTelephony(o method.Option) bool {
	return o == method.OptionSMS || o == method.OptionVoiceMobile || o == method.OptionVoiceAlternateMobile || o == method.OptionVoiceOffice
}

// sendCode sends a text or starts a call for the selected option.
func (e *Engine) sendCode(ctx context.Context, tenantID string, d *flowData, u store.User) error {
	ms, err := e.Methods.Methods(ctx, tenantID, u.ID)
	if err != nil {
		return err
	}
	want := map[method.Option]string{method.OptionSMS: method.PhoneMobile, method.OptionVoiceMobile: method.PhoneMobile,
		method.OptionVoiceAlternateMobile: method.PhoneAlternateMobile, method.OptionVoiceOffice: method.PhoneOffice}[d.Selected]
	for _, m := range ms {
		if m.Kind != string(method.KindPhone) || m.Props.PhoneType != want {
			continue
		}
		ch := delivery.ChannelVoice
		if d.Selected == method.OptionSMS {
			ch = delivery.ChannelSMS
		}
		id, err := e.Methods.SendCode(ctx, tenantID, securityinfo.CodeRequest{UserID: u.ID, MethodID: m.ID, Channel: ch,
			Destination: m.Props.PhoneNumber, Purpose: "mfa", Locale: d.Client.Locale})
		if err != nil {
			return err
		}
		d.ChallengeID, d.Destination = id, delivery.MaskDestination(m.Props.PhoneNumber)
		return nil
	}
	return apperr.Invalidf("That method is not registered.")
}

// Select chooses another of the offered options ("sign in another way").
func (e *Engine) Select(ctx context.Context, tenantID, flowID string, o method.Option) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActSelect)
	if err != nil {
		return View{}, err
	}
	if !slices.Contains(d.Decision.Options, o) {
		return View{}, apperr.Invalidf("That method cannot be used here. Choose one of the options offered.").WithTarget("option")
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	d.Selected, d.ChallengeID, d.Destination = o, "", ""
	if err := e.prepareKey(ctx, tenantID, &d, u); err != nil {
		return View{}, err
	}
	if isTelephony(o) {
		if err := e.sendCode(ctx, tenantID, &d, u); err != nil {
			return View{}, err
		}
	}
	if o == method.OptionPush {
		if err := e.sendPush(ctx, f, &d); err != nil {
			return View{}, err
		}
	}
	f, err = e.save(ctx, f, d, StateMFA)
	return e.view(f, d), err
}

// Verify checks the second factor: a code (app, token, text) or, for a
// call, whether the user confirmed it (code empty).
func (e *Engine) Verify(ctx context.Context, tenantID, flowID, code string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActVerify)
	if err != nil {
		return View{}, err
	}
	if err := e.checkLock(ctx, tenantID, &d); err != nil {
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	switch o := d.Selected; {
	case o == method.OptionPush:
		return e.pushOutcome(ctx, f, d, u)
	case isCode(o):
		m, err := e.Methods.VerifyTOTP(ctx, tenantID, u.ID, code)
		if err == nil && !slices.Contains(d.Decision.Options, optionOf(m)) {
			err = apperr.Invalidf("The code is not correct. Check it and try again.").WithCode(securityinfo.CodeInvalid)
		}
		if err != nil {
			return View{}, e.mfaFailed(ctx, tenantID, d, u, o, err)
		}
		return e.mfaPassed(ctx, f, d, u, optionOf(m))
	case o == method.OptionSMS || isTelephony(o) && code != "":
		if d.ChallengeID == "" {
			return View{}, apperr.Invalidf("No code was sent yet. Choose how to receive it.").WithCode("noCodeSent")
		}
		c, err := e.Methods.VerifyCode(ctx, tenantID, d.ChallengeID, code)
		if err == nil && c.UserID != u.ID {
			err = apperr.Invalidf("The code is not correct.").WithCode(securityinfo.CodeInvalid)
		}
		if err != nil {
			return View{}, e.mfaFailed(ctx, tenantID, d, u, o, err)
		}
		return e.mfaPassed(ctx, f, d, u, o)
	case isTelephony(o):
		outcome, err := e.Methods.CallOutcome(ctx, tenantID, d.ChallengeID)
		if err != nil {
			return View{}, err
		}
		switch outcome {
		case "":
			return e.view(f, d), nil // still ringing
		case securityinfo.OutcomeApproved:
			return e.mfaPassed(ctx, f, d, u, o)
		}
		d.Decision = policy.Decision{Outcome: policy.Block, Code: CodeMFAFailed, Message: "The call was not approved, so the sign-in was stopped."}
		e.logSignIn(tenantID, d, u, CodeMFAFailed, "The user declined the call or reported it as fraud.")
		f, err = e.save(ctx, f, d, StateBlocked)
		return e.view(f, d), err
	}
	return View{}, apperr.Invalidf("Choose how to verify first.").WithCode("noMethodSelected")
}

func isCode(o method.Option) bool {
	return o == method.OptionAppCode || o == method.OptionSoftwareOath || o == method.OptionHardwareOath
}

func optionOf(m store.Method) method.Option {
	switch method.Kind(m.Kind) {
	case method.KindHardwareOath:
		return method.OptionHardwareOath
	case method.KindAuthenticator:
		return method.OptionAppCode
	}
	return method.OptionSoftwareOath
}

func authMethodName(o method.Option) string {
	switch {
	case o == method.OptionSMS:
		return "Text message"
	case isTelephony(o):
		return "Phone call"
	case o == method.OptionHardwareOath:
		return "OATH hardware token"
	case o == method.OptionAppCode:
		return "Mobile app verification code"
	case o == method.OptionFido2:
		return "FIDO2 security key"
	case o == method.OptionPush:
		return "Mobile app notification"
	}
	return "OATH verification code"
}

func (e *Engine) mfaFailed(ctx context.Context, tenantID string, d flowData, u store.User, o method.Option, cause error) error {
	if _, ok := apperr.As(cause); !ok {
		return cause
	}
	if _, throttled := securityinfo.RetryAfter(cause); !throttled {
		if err := e.failed(ctx, tenantID, d, u, "", CodeMFAFailed, "Strong authentication failed."); err != nil {
			return err
		}
	}
	return cause
}

func (e *Engine) mfaPassed(ctx context.Context, f store.Flow, d flowData, u store.User, o method.Option) (View, error) {
	d.MFADone = &policy.MFADone{Option: o, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: authMethodName(o), At: e.now(), StepRequirement: "Multi-factor authentication", Succeeded: true})
	return e.advance(ctx, f, d, u)
}

// RegisterBegin starts registering an authenticator app inside the
// sign-in (P-6.3).
func (e *Engine) RegisterBegin(ctx context.Context, tenantID, flowID string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterBegin)
	if err != nil {
		return View{}, err
	}
	if !slices.Contains(d.Decision.RegisterOptions, method.OptionSoftwareOath) && !slices.Contains(d.Decision.RegisterOptions, method.OptionPush) {
		return View{}, apperr.Invalidf("An authenticator app cannot be registered here.")
	}
	en, err := e.Methods.BeginTOTP(ctx, tenantID, f.UserID, "")
	if err != nil {
		return View{}, err
	}
	d.EnrolmentID, d.PushEnrolment, d.ContactChallenge = en.MethodID, "", ""
	f, err = e.save(ctx, f, d, StateRegister)
	if err != nil {
		return View{}, err
	}
	v := e.view(f, d)
	v.Register.Enrolment = &Enrolment{SecretKey: en.SecretKey, URI: en.URI, QRPNG: en.QRPNG}
	return v, nil
}

// RegisterFinish completes the registration with a code from the new app;
// proving it also passes the second factor of this sign-in.
func (e *Engine) RegisterFinish(ctx context.Context, tenantID, flowID, code string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterFinish)
	if err != nil {
		return View{}, err
	}
	if d.PushEnrolment != "" && code == "" {
		return e.registerPushFinish(ctx, f, d)
	}
	if d.ContactChallenge != "" {
		return e.registerPhoneFinish(ctx, f, d, code)
	}
	if d.EnrolmentID == "" {
		return View{}, apperr.Invalidf("Start the registration first.").WithCode("registrationNotStarted")
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	self := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: addrString(d.Client.IP)}
	if _, err := e.Methods.FinishTOTP(ctx, self, tenantID, u.ID, d.EnrolmentID, code, true); err != nil {
		return View{}, e.mfaFailed(ctx, tenantID, d, u, method.OptionSoftwareOath, err)
	}
	if u, err = e.enforceAfterRegistration(ctx, tenantID, u, self); err != nil {
		return View{}, err
	}
	d.EnrolmentID = ""
	d.MFADone = &policy.MFADone{Option: method.OptionSoftwareOath, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: "OATH verification code", At: e.now(), StepRequirement: "Multi-factor authentication", ResultDetail: "Registered and verified", Succeeded: true})
	return e.advance(ctx, f, d, u)
}

// enforceAfterRegistration: per-user MFA Enabled becomes Enforced once
// the user has registered (P-3.1) — a change of the user's state, so it
// is audited.
func (e *Engine) enforceAfterRegistration(ctx context.Context, tenantID string, u store.User, self directory.Actor) (store.User, error) {
	if u.PerUserMFA != store.PerUserMFAEnabled {
		return u, nil
	}
	err := e.Store.InTx(ctx, func(tx store.Store) error {
		var err error
		if u, err = tx.UpdateUser(ctx, tenantID, u.ID, func(x *store.User) error {
			x.PerUserMFA = store.PerUserMFAEnforced
			return nil
		}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, self, tenantID, e.now(), audit.Entry{Activity: "Update per-user multifactor authentication state",
			Category: "UserManagement", Operation: "Update", Details: map[string]string{"reason": "The user completed MFA registration."},
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("StrongAuthenticationRequirement", "enabled", "enforced"))}}))
	})
	return u, err
}

// Skip postpones a skippable registration.
func (e *Engine) Skip(ctx context.Context, tenantID, flowID string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActSkip)
	if err != nil {
		return View{}, err
	}
	if !d.Decision.Skippable {
		return View{}, apperr.Invalidf("Registration cannot be skipped any longer.").WithCode("registrationRequired")
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	if slices.Contains(d.Decision.Reasons, policy.ReasonCampaign) {
		tf, err := e.Policy.TenantFacts(ctx, tenantID, u, nil)
		if err != nil {
			return View{}, err
		}
		if u, err = e.Store.UpdateUser(ctx, tenantID, u.ID, func(x *store.User) error {
			until := e.now().Add(tf.CampaignSnooze)
			x.RegistrationSnoozedUntil = &until
			return nil
		}); err != nil {
			return View{}, err
		}
	}
	d.RegistrationSkipped = true
	return e.advance(ctx, f, d, u)
}

// ChangePassword sets the new password a policy or an administrator asked
// for; the user's other sessions end.
func (e *Engine) ChangePassword(ctx context.Context, tenantID, flowID, newPassword string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActChangePassword)
	if err != nil {
		return View{}, err
	}
	u, err := e.Store.GetUser(ctx, tenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	t, err := e.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return View{}, err
	}
	pol := password.DefaultPolicy()
	pol.Custom = t.BannedPasswords
	local, _, _ := strings.Cut(u.UPN, "@")
	if err := password.Check(newPassword, pol, local, u.DisplayName); err != nil {
		var re *password.RuleError
		if errors.As(err, &re) {
			return View{}, apperr.Invalidf("%s", re.Message).WithTarget("newPassword").WithCode(re.Code)
		}
		return View{}, err
	}
	if ok, _, _ := e.Passwords.Hasher.Verify(ctx, newPassword, u.PasswordHash); ok {
		return View{}, apperr.Invalidf("Choose a password you have not used before.").WithTarget("newPassword")
	}
	hash, err := e.Passwords.Hasher.Hash(ctx, newPassword)
	if err != nil {
		return View{}, err
	}
	if u, err = e.Store.UpdateUser(ctx, tenantID, u.ID, func(x *store.User) error {
		x.PasswordHash, x.ForceChangePassword = hash, false
		return nil
	}); err != nil {
		return View{}, err
	}
	if _, err := e.Store.RevokeUserSessions(ctx, tenantID, u.ID, e.now()); err != nil {
		return View{}, err
	}
	d.PasswordChanged = true
	return e.advance(ctx, f, d, u)
}

// complete issues the session and records a successful sign-in.
func (e *Engine) complete(ctx context.Context, f store.Flow, d flowData, u store.User) (View, error) {
	if d.Inherited != nil {
		return e.completeInherited(ctx, f, d, u)
	}
	now := e.now()
	token := newToken()
	ttl := e.SessionTTL
	if d.StaySignedIn {
		ttl = e.PersistentTTL
	}
	s := store.Session{ID: hashToken(token), TenantID: f.TenantID, UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(ttl), AuthAt: now, Persistent: d.StaySignedIn, Methods: amr(d)}
	if d.Decision.MFAUsed {
		s.MFAAt = &now
	}
	d.Session = &SessionView{Token: token, ExpiresAt: s.ExpiresAt, Persistent: s.Persistent}
	// The flow's compare-and-set and the session commit together: of two
	// steps racing on one flow, the loser gets flowChanged and leaves no
	// session (nor a second success in the log) behind.
	err := e.Store.InTx(ctx, func(tx store.Store) error {
		in := *e
		in.Store = tx
		var err error
		if f, err = in.save(ctx, f, d, StateDone); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		return tx.SetLastSignIn(ctx, f.TenantID, u.ID, now)
	})
	if err != nil {
		return View{}, err
	}
	// A success clears the failures of its own scope only: signing in at
	// the office must not lift a lock an attacker ran into elsewhere.
	if d.LockDirty {
		if err := e.Store.ClearLockouts(ctx, f.TenantID, lockKey(d.Username), scope(d.Familiar)); err != nil {
			return View{}, err
		}
	}
	e.remember(ctx, f.TenantID, u.ID, d)
	e.logSignIn(f.TenantID, d, u, 0, "")
	return e.view(f, d), nil
}

// amr lists how the user signed in, in RFC 8176 terms.
func amr(d flowData) []string {
	var out []string
	switch d.FirstFactor {
	case "":
		out = append(out, "pwd")
	case method.OptionTAP:
		out = append(out, "otp")
	case method.OptionFido2:
		out = append(out, "hwk", "pin")
	}
	if d.MFADone != nil {
		switch o := d.MFADone.Option; {
		case o == method.OptionSMS:
			out = append(out, "sms")
		case isTelephony(o):
			out = append(out, "tel")
		case isCode(o):
			out = append(out, "otp")
		case o == method.OptionFido2:
			out = append(out, "hwk")
		case o == method.OptionPush:
			out = append(out, "swk")
		}
	}
	if d.Decision.MFAUsed {
		out = append(out, "mfa")
	}
	return out
}

// familiar: this device or network was seen at a successful sign-in of
// the user in the last 90 days (security defaults, lockout scope). It
// returns the user it looked up (store.ErrNotFound for an unknown name),
// so that the step does not read it again.
func (e *Engine) familiar(ctx context.Context, tenantID string, d *flowData) (store.User, error) {
	d.Familiar, d.Seen = false, nil
	u, err := e.Store.UserByUPN(ctx, tenantID, d.Username)
	if err != nil {
		return u, err
	}
	keys := seenKeys(u.ID, d.Client)
	for _, k := range keys {
		if n, _, err := e.Store.Count(ctx, tenantID, k, 30*24*time.Hour, e.now()); err == nil && n > 0 {
			d.Familiar, d.Seen = true, append(d.Seen, k)
		}
	}
	if d.Familiar {
		return u, nil
	}
	for _, k := range keys {
		for _, back := range []time.Duration{-30 * 24 * time.Hour, -60 * 24 * time.Hour} {
			if n, _, err := e.Store.Count(ctx, tenantID, k, 30*24*time.Hour, e.now().Add(back)); err == nil && n > 0 {
				d.Familiar = true
				return u, nil
			}
		}
	}
	return u, nil
}

func (e *Engine) remember(ctx context.Context, tenantID, userID string, d flowData) {
	for _, k := range seenKeys(userID, d.Client) {
		if slices.Contains(d.Seen, k) {
			continue // already recorded in this window
		}
		if _, _, err := e.Store.Hit(ctx, tenantID, k, 30*24*time.Hour, e.now(), 1); err != nil {
			e.Logger.WarnContext(ctx, "remember sign-in location", "err", err)
		}
	}
}

// seenKeys are the network (a /24 or /48) and the device of a sign-in.
func seenKeys(userID string, c Client) []string {
	var ks []string
	if c.IP.IsValid() {
		bits := 24
		if c.IP.Is6() && !c.IP.Is4In6() {
			bits = 48
		}
		if p, err := c.IP.Unmap().Prefix(bits); err == nil {
			ks = append(ks, "seen-net:"+userID+":"+p.String())
		}
	}
	if c.DeviceID != "" && len(c.DeviceID) <= 128 {
		ks = append(ks, "seen-dev:"+userID+":"+c.DeviceID)
	}
	return ks
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// logSignIn writes one sign-in log entry (P-12.1).
func (e *Engine) logSignIn(tenantID string, d flowData, u store.User, code int, reason string) {
	if e.Log == nil {
		return
	}
	client := map[policy.ClientApp]string{policy.ClientBrowser: "Browser", policy.ClientMobileDesktop: "Mobile Apps and Desktop clients",
		policy.ClientExchangeActiveSync: "Exchange ActiveSync", policy.ClientOther: "Other clients"}[d.Client.Kind]
	upn := u.UPN
	if upn == "" {
		upn = d.Username
	}
	entry := store.SignIn{ID: uuid.NewString(), TenantID: tenantID, CreatedAt: e.now(), UserID: u.ID, UserDisplayName: u.DisplayName,
		UserPrincipalName: upn, AppID: d.Client.App, AppDisplayName: d.Client.AppName, IPAddress: addrString(d.Client.IP),
		ClientAppUsed: client, CorrelationID: d.Client.CorrelationID, IsInteractive: !d.Client.RADIUS, UserAgent: d.Client.UserAgent,
		ErrorCode: code, FailureReason: reason, AppliedCAPolicies: d.Applied, AuthDetails: d.Auth, RiskEventTypes: d.Risk,
		Device:                    store.SignInDevice{DeviceID: d.Client.DeviceID},
		AuthenticationRequirement: "singleFactorAuthentication", ConditionalAccessStatus: caStatus(d.Applied)}
	if d.Decision.MFAUsed || d.MFADone != nil {
		entry.AuthenticationRequirement = "multiFactorAuthentication"
	}
	if len(d.Decision.Reasons) > 0 {
		reasons := make([]string, len(d.Decision.Reasons))
		for i, r := range d.Decision.Reasons {
			reasons[i] = string(r)
		}
		entry.AdditionalDetails = "MFA required by: " + strings.Join(reasons, ", ")
	}
	e.Log.Write(entry)
}

// caStatus summarises conditional access for the log: failure if an
// enforced policy failed, success if one applied, else notApplied.
func caStatus(applied []store.AppliedCAPolicy) string {
	status := "notApplied"
	for _, a := range applied {
		switch a.Result {
		case "failure":
			return "failure"
		case "success":
			status = "success"
		}
	}
	return status
}

// canVerify lists the second factors this engine can check itself; push
// is added when the authenticator is wired (Engine.Push), and security
// keys also need a relying party (keysReady). Offering a method that
// cannot be finished would strand the user.
var canVerify = map[method.Option]bool{
	method.OptionAppCode: true, method.OptionSoftwareOath: true, method.OptionHardwareOath: true,
	method.OptionSMS: true, method.OptionVoiceMobile: true, method.OptionVoiceAlternateMobile: true, method.OptionVoiceOffice: true,
	method.OptionTAP: true, method.OptionEmail: true, method.OptionSecurityQuestions: true,
	method.OptionFido2: true,
}

// verifiable masks the policy's allowed options down to what can be
// verified (a copy: the map may be shared); push needs the authenticator.
func verifiable(allowed map[method.Option]bool, push bool) map[method.Option]bool {
	out := make(map[method.Option]bool, len(allowed))
	for o, ok := range allowed {
		out[o] = ok && (canVerify[o] || o == method.OptionPush && push)
	}
	return out
}
