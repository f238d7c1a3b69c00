package signin

import (
	"context"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Registering a mobile phone inside the sign-in (P-6.3), where the
// decision accepts a text or a call: a code goes to the number typed, and
// the phone is saved only when that code comes back — as security info
// does it (internal/securityinfo), whose code sending, limits and
// contact rules are used unchanged. Proving the phone also passes the
// second factor of this sign-in.

// PhoneCodeSent is a phone registration's enrolment status once its code
// went out.
const PhoneCodeSent = "codeSent"

// RegisterPhoneBegin sends the verification code for a new mobile phone
// by text (method.OptionSMS) or call (method.OptionVoiceMobile).
func (e *Engine) RegisterPhoneBegin(ctx context.Context, tenantID, flowID string, o method.Option, number string) (View, error) {
	f, d, err := e.load(ctx, tenantID, flowID, ActRegisterBegin)
	if err != nil {
		return View{}, err
	}
	ch := delivery.ChannelSMS
	switch o {
	case method.OptionSMS:
	case method.OptionVoiceMobile:
		ch = delivery.ChannelVoice
	default:
		return View{}, apperr.Invalidf("option must be sms or voiceMobile for a phone.").WithTarget("option").WithCode("invalidRequest")
	}
	if !containsOption(d.Decision.RegisterOptions, o) {
		return View{}, apperr.Invalidf("A phone cannot be registered here.").WithCode("methodNotAllowed")
	}
	e164, _, err := securityinfo.NormalizePhone(number, false)
	if err != nil {
		return View{}, err
	}
	id, err := e.Methods.SendCode(ctx, tenantID, securityinfo.CodeRequest{UserID: f.UserID, Channel: ch, Destination: e164,
		Purpose: "register", Locale: d.Client.Locale})
	if err != nil {
		return View{}, err
	}
	d.ContactChallenge, d.ContactOption, d.EnrolmentID, d.PushEnrolment = id, o, "", ""
	if f, err = e.save(ctx, f, d, StateRegister); err != nil {
		return View{}, err
	}
	v := e.view(f, d)
	v.Register.Enrolment = &Enrolment{Status: PhoneCodeSent, Destination: securityinfo.DisplayPhone(e164)}
	return v, nil
}

// registerPhoneFinish checks the code sent to the new phone, saves the
// phone (the number the code went to, nothing else) and continues.
func (e *Engine) registerPhoneFinish(ctx context.Context, f store.Flow, d flowData, code string) (View, error) {
	u, err := e.Store.GetUser(ctx, f.TenantID, f.UserID)
	if err != nil {
		return View{}, err
	}
	c, err := e.Methods.VerifyCode(ctx, f.TenantID, d.ContactChallenge, code)
	if err == nil && (c.UserID != u.ID || c.Purpose != "register" || c.Channel == string(delivery.ChannelEmail)) {
		err = apperr.Invalidf("The code is not correct.").WithCode(securityinfo.CodeInvalid)
	}
	if err != nil {
		return View{}, e.mfaFailed(ctx, f.TenantID, d, u, d.ContactOption, err)
	}
	self := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: addrString(d.Client.IP)}
	if _, err := e.Methods.SetPhone(ctx, self, f.TenantID, u.ID, method.PhoneMobile, c.Destination); err != nil {
		return View{}, err
	}
	if u, err = e.enforceAfterRegistration(ctx, f.TenantID, u, self); err != nil {
		return View{}, err
	}
	o := d.ContactOption
	d.ContactChallenge, d.ContactOption = "", ""
	d.MFADone = &policy.MFADone{Option: o, At: e.now()}
	d.Auth = append(d.Auth, store.AuthDetail{Method: authMethodName(o), At: e.now(), StepRequirement: "Multi-factor authentication",
		ResultDetail: "Registered and verified", Succeeded: true})
	return e.advance(ctx, f, d, u)
}
