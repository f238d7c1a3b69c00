package web

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// flowCookie carries the sign-in in progress: the flow id (a 256-bit
// secret the engine checks), the return address and the name typed, so
// the pages can be reloaded or the language switched mid-way. Nothing in
// it is trusted: the return address is checked again before use.
const flowCookie = "vakt_signin"

// deviceCookie is a long-lived random id that lets sign-in recognise a
// browser it has seen before (familiar sign-ins, P-4.1, P-6.6).
const deviceCookie = "vakt_device"

type flowRef struct {
	FlowID    string
	ReturnURL string
	Username  string
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func dec(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

func (p *Pages) setFlow(w http.ResponseWriter, f flowRef) {
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: f.FlowID + "." + enc(f.ReturnURL) + "." + enc(f.Username),
		Path: "/", HttpOnly: true, Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func (p *Pages) clearFlow(w http.ResponseWriter) {
	for _, name := range []string{flowCookie, enrolCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.SecureCookies,
			SameSite: http.SameSiteLaxMode})
	}
}

func readFlow(r *http.Request) (flowRef, bool) {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return flowRef{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || parts[0] == "" {
		return flowRef{}, false
	}
	f := flowRef{FlowID: parts[0], Username: dec(parts[2])}
	if ret, ok := safeReturnURL(dec(parts[1])); ok {
		f.ReturnURL = ret
	}
	return f, true
}

// deviceID returns the browser's device id, setting one when missing.
func (p *Pages) deviceID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(deviceCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 24)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: v, Path: "/", MaxAge: 400 * 24 * 3600, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
	return v
}

// session is the browser's live session in this tenant, if any.
func (p *Pages) session(r *http.Request, rq *request) (store.Session, bool) {
	c, err := r.Cookie(signin.SessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, false
	}
	s, err := p.Engine.Session(r.Context(), rq.tenant.ID, c.Value)
	return s, err == nil
}

func (p *Pages) defaultReturn(rq *request) string { return rq.base + "/myapps" }

// signinParams are the query parameters apps (and the OIDC provider)
// send: where to go afterwards, which app asks, whether it wants a fresh
// second factor, and whether an existing session may be reused.
type signinParams struct {
	ReturnURL string
	AppID     string
	StepUp    bool
	Prompt    string
}

type usernameData struct {
	Params   signinParams
	Username string
}

func (p *Pages) signin(w http.ResponseWriter, r *http.Request, rq *request) {
	if r.Method == http.MethodPost {
		p.signinPost(w, r, rq)
		return
	}
	q := r.URL.Query()
	sp := signinParams{AppID: q.Get("appId"), StepUp: q.Get("stepUp") == "1", Prompt: q.Get("prompt")}
	if q.Has("returnUrl") {
		ret, ok := safeReturnURL(q.Get("returnUrl"))
		if !ok {
			p.errorPage(w, r, rq, http.StatusBadRequest, "error.returnUrl")
			return
		}
		sp.ReturnURL = ret
	}
	if len(sp.AppID) > 64 || len(sp.Prompt) > 32 {
		p.errorPage(w, r, rq, http.StatusBadRequest, "error.tooLong")
		return
	}
	fresh := q.Has("returnUrl") || q.Has("appId") || q.Has("stepUp") || q.Has("prompt")
	if f, ok := readFlow(r); ok && !fresh {
		if v, err := p.Engine.Get(r.Context(), rq.tenant.ID, f.FlowID); err == nil && v.State != signin.StateDone {
			if pushFlow(v) { // the push may have been answered meanwhile
				p.checkPush(w, r, rq, f, v, false)
				return
			}
			p.renderFlow(w, r, rq, http.StatusOK, v, f, nil)
			return
		}
		p.clearFlow(w)
	}
	d := usernameData{Params: sp}
	if s, ok := p.session(r, rq); ok {
		if sp.Prompt != "login" && !sp.StepUp {
			redirect(w, r, orDefault(sp.ReturnURL, p.defaultReturn(rq)))
			return
		}
		if sp.StepUp { // the same person proves themselves again
			if u, err := p.Store.GetUser(r.Context(), rq.tenant.ID, s.UserID); err == nil {
				d.Username = u.UPN
			}
		}
	}
	p.render(w, r, rq, http.StatusOK, "signin-username", p.newView(r, rq, "signin.title", d))
}

// stepUpSession returns the session token when a step-up continues the
// browser's live session: stepUp=1 without prompt=login, and the name on
// the form is the session's own user. The engine then asks only for the
// second factor (Engine.StartStepUp; with step-up set it never ends a
// flow at once, so the step it returns is rendered like Start's). Another
// name, or prompt=login, is a full sign-in.
func (p *Pages) stepUpSession(r *http.Request, rq *request, sp signinParams, name string) (string, bool) {
	if !sp.StepUp || sp.Prompt == "login" {
		return "", false
	}
	s, ok := p.session(r, rq)
	if !ok {
		return "", false
	}
	u, err := p.Store.GetUser(r.Context(), rq.tenant.ID, s.UserID)
	if err != nil || !u.AccountEnabled || !strings.EqualFold(u.UPN, name) {
		return "", false
	}
	c, _ := r.Cookie(signin.SessionCookie)
	return c.Value, true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (p *Pages) signinPost(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	step := form(r, "step")
	if step == "username" || step == "passkeyStart" {
		sp := signinParams{AppID: form(r, "appId"), StepUp: form(r, "stepUp") == "1", Prompt: form(r, "prompt")}
		if raw := r.PostFormValue("returnUrl"); raw != "" {
			ret, ok := safeReturnURL(raw)
			if !ok {
				p.errorPage(w, r, rq, http.StatusBadRequest, "error.returnUrl")
				return
			}
			sp.ReturnURL = ret
		}
		if step == "passkeyStart" {
			p.passkeyStart(w, r, rq, sp)
			return
		}
		name := form(r, "username")
		c := signin.Client{App: sp.AppID, Kind: policy.ClientBrowser, IP: httpx.ClientIPFrom(ctx), UserAgent: r.UserAgent(),
			DeviceID: p.deviceID(w, r), StepUp: sp.StepUp, CorrelationID: httpx.RequestIDFrom(ctx), Locale: rq.lang}
		var v signin.View
		var err error
		if tok, ok := p.stepUpSession(r, rq, sp, name); ok {
			v, err = p.Engine.StartStepUp(ctx, rq.tenant.ID, tok, c)
		} else {
			v, err = p.Engine.Start(ctx, rq.tenant.ID, name, c)
		}
		if err != nil {
			msg, _ := p.message(r, rq, err)
			vw := p.newView(r, rq, "signin.title", usernameData{Params: sp, Username: name})
			vw.Errors = []fieldError{{Field: "username", Message: msg}}
			p.render(w, r, rq, http.StatusBadRequest, "signin-username", vw)
			return
		}
		f := flowRef{FlowID: v.FlowID, ReturnURL: sp.ReturnURL, Username: name}
		p.setFlow(w, f)
		p.renderFlow(w, r, rq, http.StatusOK, v, f, nil)
		return
	}
	f, ok := readFlow(r)
	if !ok {
		p.expired(w, r, rq)
		return
	}
	if step == "restart" {
		p.clearFlow(w)
		redirect(w, r, rq.base+"/signin")
		return
	}
	var v signin.View
	var err error
	var en *signin.Enrolment
	tenantID := rq.tenant.ID
	field := "code"
	switch step {
	case "password":
		field = "password"
		v, err = p.Engine.Password(ctx, tenantID, f.FlowID, r.PostFormValue("password"), form(r, "stay") == "yes")
	case "tap":
		field = "tap"
		v, err = p.Engine.TemporaryAccessPass(ctx, tenantID, f.FlowID, form(r, "tap"))
	case "select":
		field = ""
		v, err = p.Engine.Select(ctx, tenantID, f.FlowID, method.Option(form(r, "option")))
	case "verify":
		v, err = p.Engine.Verify(ctx, tenantID, f.FlowID, strings.ReplaceAll(form(r, "code"), " ", ""))
	case "registerBegin":
		field = ""
		if form(r, "option") == string(method.OptionPush) {
			if v, err = p.Engine.RegisterPushBegin(ctx, tenantID, f.FlowID); err == nil && v.Register.Enrolment != nil {
				p.setEnrolLink(w, f.FlowID, v.Register.Enrolment.Link, v.Register.Enrolment.ExpiresAt)
			}
			break
		}
		v, err = p.Engine.RegisterBegin(ctx, tenantID, f.FlowID)
	case "pushPoll":
		cur, gerr := p.Engine.Get(ctx, tenantID, f.FlowID)
		if gerr != nil {
			p.expired(w, r, rq)
			return
		}
		p.checkPush(w, r, rq, f, cur, true)
		return
	case "registerPhone":
		field = "number"
		o := method.OptionSMS
		if form(r, "channel") == "voice" {
			o = method.OptionVoiceMobile
		}
		v, err = p.Engine.RegisterPhoneBegin(ctx, tenantID, f.FlowID, o, form(r, "number"))
	case "registerFinish":
		v, err = p.Engine.RegisterFinish(ctx, tenantID, f.FlowID, strings.ReplaceAll(form(r, "code"), " ", ""))
		if err != nil {
			en = redisplayEnrolment(r)
			if dest := form(r, "destination"); en == nil && dest != "" && len(dest) <= 64 {
				// A mistyped code keeps the person on the code page.
				en = &signin.Enrolment{Status: phoneCodeSent, Destination: dest}
			}
		}
	case "skip":
		field = ""
		v, err = p.Engine.Skip(ctx, tenantID, f.FlowID)
	case "changePassword":
		field = "newPassword"
		np := r.PostFormValue("newPassword")
		if np != r.PostFormValue("confirmPassword") {
			err = apperr.Invalidf("mismatch").WithCode("passwordMismatch")
			break
		}
		v, err = p.Engine.ChangePassword(ctx, tenantID, f.FlowID, np)
	default:
		var ok bool
		if v, err, ok = p.keyStep(r, rq, f, step); !ok {
			p.errorPage(w, r, rq, http.StatusBadRequest, "error.badRequest")
			return
		}
		field = ""
	}
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == "flowExpired" {
			p.expired(w, r, rq)
			return
		}
		msg, status := p.message(r, rq, err)
		cur, gerr := p.Engine.Get(ctx, tenantID, f.FlowID)
		if gerr != nil {
			p.expired(w, r, rq)
			return
		}
		if en != nil && cur.Register != nil {
			cur.Register.Enrolment = en
		}
		p.renderFlow(w, r, rq, status, cur, f, []fieldError{{Field: field, Message: msg}})
		return
	}
	if p.finish(w, r, rq, v, f) {
		return
	}
	var notice []fieldError
	if step == "verify" && form(r, "code") == "" && v.State == signin.StateMFA {
		// A call not answered yet leaves the flow as it was: say so.
		notice = []fieldError{{Message: rq.tr.T("mfa.voice.waiting")}}
	}
	p.renderFlow(w, r, rq, http.StatusOK, v, f, notice)
}

const phoneCodeSent = signin.PhoneCodeSent

// finish ends a signed-in flow: the session cookie, then the return
// address. It reports whether v was such a flow.
func (p *Pages) finish(w http.ResponseWriter, r *http.Request, rq *request, v signin.View, f flowRef) bool {
	if v.State != signin.StateDone || v.Session == nil {
		return false
	}
	c := &http.Cookie{Name: signin.SessionCookie, Value: v.Session.Token, Path: "/", HttpOnly: true, Secure: p.SecureCookies,
		SameSite: http.SameSiteLaxMode}
	if v.Session.Persistent {
		c.Expires = v.Session.ExpiresAt
	}
	http.SetCookie(w, c)
	p.clearFlow(w)
	redirect(w, r, orDefault(f.ReturnURL, p.defaultReturn(rq)))
	return true
}

// redisplayEnrolment rebuilds the QR code and key of a started
// registration from the form, so a mistyped code does not lose the page
// the person is scanning from. Only what the page itself showed comes
// back; the stored secret is what the code is checked against.
func redisplayEnrolment(r *http.Request) *signin.Enrolment {
	uri, key := form(r, "uri"), form(r, "secretKey")
	if !strings.HasPrefix(uri, "otpauth://totp/") || len(uri) > 512 || len(key) > 128 {
		return nil
	}
	png, err := totp.QRPNG(uri, 256)
	if err != nil {
		return nil
	}
	return &signin.Enrolment{SecretKey: key, URI: uri, QRPNG: png}
}

func (p *Pages) expired(w http.ResponseWriter, r *http.Request, rq *request) {
	p.clearFlow(w)
	vw := p.newView(r, rq, "signin.title", usernameData{})
	vw.Errors = []fieldError{{Field: "username", Message: rq.tr.T("err.flowExpired")}}
	p.render(w, r, rq, http.StatusBadRequest, "signin-username", vw)
}

// Templates of the second-factor step, by option. A method that arrives
// later (push with number matching, security keys) adds its template and
// a line here; until then an offered option this page cannot complete is
// shown as not available in this browser yet.
var mfaSteps = map[method.Option]string{
	method.OptionAppCode:              "mfa-code",
	method.OptionSoftwareOath:         "mfa-code",
	method.OptionHardwareOath:         "mfa-code",
	method.OptionSMS:                  "mfa-phone",
	method.OptionVoiceMobile:          "mfa-phone",
	method.OptionVoiceAlternateMobile: "mfa-phone",
	method.OptionVoiceOffice:          "mfa-phone",
	method.OptionFido2:                "mfa-fido2",
	method.OptionPush:                 "mfa-push",
}

func mfaTemplate(o method.Option) string {
	if t, ok := mfaSteps[o]; ok {
		return t
	}
	return "mfa-unavailable"
}

type optionItem struct {
	Value string
	Label string // a message key
}

type flowData struct {
	Username    string
	Selected    string
	SelectedKey string
	IsSMS       bool
	IsVoice     bool
	CodeSent    bool
	Destination string
	Others      []optionItem
	// Registration
	Skippable bool
	DaysLeft  int
	CanApp    bool
	CanPush   bool // the authenticator (push) may be set up
	CanTOTP   bool // any app that shows codes may be set up instead
	CanSMS    bool // a mobile phone may be set up, checked by a text
	CanVoice  bool // … or by a call
	Number    string
	// Push: the number to type into the app; the enrolment link
	PushNumber int
	PushApp    string // what the app shows with the request
	PushWhere  string
	Link       string
	AnotherKey string // the heading of the other ways, when not "Sign in another way"
	SecretKey  string
	KeyGroups  string
	URI        string
	QR         template.URL
	// Blocked
	BlockKey      string
	BlockCode     int
	CorrelationID string
	MinLength     int
	Key           keyView // security keys and passkeys (keys.go)
}

func optionKey(o method.Option) string { return "option." + string(o) }

// renderFlow shows the step a flow is at.
func (p *Pages) renderFlow(w http.ResponseWriter, r *http.Request, rq *request, status int, v signin.View, f flowRef, errs []fieldError) {
	d := flowData{Username: f.Username, MinLength: 8}
	name := ""
	var lv *live
	switch v.State {
	case signin.StatePassword:
		name = "signin-password"
	case signin.StateMFA:
		d.Selected, d.SelectedKey = string(v.MFA.Selected), optionKey(v.MFA.Selected)
		d.IsSMS = v.MFA.Selected == method.OptionSMS
		d.IsVoice = mfaSteps[v.MFA.Selected] == "mfa-phone" && !d.IsSMS
		d.CodeSent, d.Destination = v.MFA.CodeSent, v.MFA.Destination
		for _, o := range v.MFA.Options {
			if o != v.MFA.Selected {
				d.Others = append(d.Others, optionItem{Value: string(o), Label: optionKey(o)})
			}
		}
		name = mfaTemplate(v.MFA.Selected)
		if name == "mfa-push" {
			d.AnotherKey = "mfa.push.cantUse"
			_, lv = p.pushData(r, rq, f, v, &d)
		}
	case signin.StateRegister:
		d.Skippable, d.DaysLeft = v.Register.Skippable, v.Register.GraceDaysLeft
		for _, o := range v.Register.Options {
			d.CanApp = d.CanApp || o == method.OptionSoftwareOath || o == method.OptionPush
			d.CanPush = d.CanPush || o == method.OptionPush && p.Engine.Push != nil
			d.CanSMS = d.CanSMS || o == method.OptionSMS
			d.CanVoice = d.CanVoice || o == method.OptionVoiceMobile
		}
		// Any app that shows codes is the alternative the engine accepts
		// wherever an authenticator app is asked for.
		d.CanTOTP = d.CanApp
		name = "signin-register"
		d.Number = form(r, "number")
		if en := v.Register.Enrolment; en != nil && en.Status == phoneCodeSent {
			d.Destination, d.IsVoice = en.Destination, form(r, "channel") == "voice"
			name = "signin-register-phone"
		} else if en != nil && en.SecretKey == "" {
			name, lv = p.pushData(r, rq, f, v, &d)
		} else if en != nil {
			d.SecretKey, d.KeyGroups, d.URI = en.SecretKey, groupKey(en.SecretKey), en.URI
			d.QR = pngDataURL(en.QRPNG)
			name = "signin-register-app"
		}
	case signin.StatePasskey: // keyFlow below picks the page
	case signin.StateChangePassword:
		name = "signin-changepassword"
	case signin.StateBlocked:
		d.BlockKey, d.BlockCode, d.CorrelationID = blockKey(v.Blocked.Code), v.Blocked.Code, v.Blocked.CorrelationID
		name = "signin-blocked"
		p.clearFlow(w)
	default:
		p.expired(w, r, rq)
		return
	}
	if t := keyFlow(v, &d); t != "" {
		name = t
	}
	vw := p.newView(r, rq, "signin.title", d)
	vw.Errors = errs
	if len(errs) == 0 || errs[0].Field == "" && status == http.StatusOK {
		vw.Live = lv // an error stays on screen until the person acts
	}
	p.render(w, r, rq, status, name, vw)
}

// pngDataURL embeds a PNG the server made itself (the QR code); the
// content security policy allows data: images for exactly this.
func pngDataURL(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// groupKey spaces a Base32 key in fours, as people type it from a screen.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func blockKey(code int) string {
	switch code {
	case policy.CodeAccountDisabled:
		return "blocked.disabled"
	case policy.CodeBlockedByPolicy:
		return "blocked.policy"
	case policy.CodeLegacyBlocked:
		return "blocked.legacy"
	case policy.CodeCannotSatisfy:
		return "blocked.cannotSatisfy"
	case policy.CodeRegistrationRequired:
		return "blocked.registration"
	case signin.CodeMFAFailed:
		return "blocked.callDenied"
	}
	return "blocked.generic"
}

// message turns an error from the engine or the services into a
// translated sentence and a status. Unexpected errors are logged with the
// request id and shown as a generic problem.
func (p *Pages) message(r *http.Request, rq *request, err error) (string, int) {
	ae, ok := apperr.As(err)
	if !ok {
		p.Log.ErrorContext(r.Context(), "web page", "err", err, "request_id", httpx.RequestIDFrom(r.Context()))
		return rq.tr.T("error.serverRef", httpx.RequestIDFrom(r.Context())), http.StatusInternalServerError
	}
	status := map[apperr.Kind]int{apperr.Invalid: 400, apperr.NotFound: 404, apperr.Conflict: 409, apperr.Forbidden: 403,
		apperr.Unauthenticated: 401, apperr.TooLarge: 413, apperr.RateLimited: 429}[ae.Kind]
	if status == 0 {
		status = http.StatusBadRequest
	}
	if wait, ok := securityinfo.RetryAfter(err); ok {
		secs := int(wait.Seconds() + 0.999)
		if ae.Code == "accountLocked" {
			return rq.tr.T("err.accountLockedWait", secs), status
		}
		return rq.tr.T("err.tryAgainIn", secs), status
	}
	switch ae.Code {
	case "tooShort":
		return rq.tr.T("err.tooShort", 8), status
	case "authenticatorLimitReached":
		return (&method.LimitError{}).Message(rq.lang), status
	}
	if key := "err." + ae.Code; ae.Code != "" && hasMessage(key) {
		return rq.tr.T(key), status
	}
	if key := "err.target." + ae.Target; ae.Target != "" && hasMessage(key) {
		return rq.tr.T(key), status
	}
	return rq.tr.T("err.generic"), status
}

func hasMessage(key string) bool { _, ok := messagesEN[key]; return ok }
