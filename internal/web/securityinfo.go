package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// The kinds a person can add from the security-info page, in the order
// the page lists them. Push and security keys arrive with their own
// features and add a line here and a step template then.
var addable = []method.Kind{method.KindSoftwareOath, method.KindFido2, method.KindPhone, method.KindEmail, method.KindSecurityQuestions}

// notices after a change, shown once the page reloads.
var siNotices = map[string]string{"added": "si.notice.added", "deleted": "si.notice.deleted", "default": "si.notice.default",
	"reported": "si.notice.reported"}

type methodItem struct {
	ID        string
	KindKey   string
	Detail    string
	IsDefault bool
	Added     string // security keys: the date added, and the model (keys.go)
	Model     string
}

type signInItem struct {
	ID      string
	When    string
	App     string
	IP      string
	Success bool
}

type siData struct {
	User       string
	Methods    []methodItem
	DefaultKey string
	Detail     string
	SignIns    []signInItem
	// sub-pages
	Kinds        []string // add: the kinds' values
	Choices      []choiceItem
	Method       methodItem
	MethodID     string
	SecretKey    string
	KeyGroups    string
	URI          string
	QR           any
	PhoneType    string
	Number       string
	Channel      string
	ChallengeID  string
	Email        string
	Destination  string
	Questions    []securityinfo.Question
	Required     int
	Answers      map[string]string
	LimitReached bool
	Key          keyView
	// Authenticator (push): the enrolment link, then the test's number
	Link       string
	PushNumber int
}

type choiceItem struct {
	Value    string
	LabelKey string
	Detail   string
	Current  bool
}

func (p *Pages) actor(r *http.Request, u store.User) directory.Actor {
	return directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: clientIP(r)}
}

// securityInfo is the security-info page (P-9.1).
func (p *Pages) securityInfo(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	here := rq.base + "/mysecurityinfo"
	if r.Method == http.MethodGet && r.URL.Query().Get("view") == "pushStatus" {
		p.siPushStatus(w, r) // JSON for push.js, not a page
		return
	}
	s, u, ok := p.requireSession(w, r, rq, here)
	if !ok {
		return
	}
	ms, err := p.Methods.Methods(ctx, rq.tenant.ID, u.ID)
	if err != nil {
		p.fail(w, r, rq, err)
		return
	}
	// With a second factor registered, changing security info takes a
	// fresh one: a stolen session alone must not be able to add the
	// thief's phone.
	check := ms
	if q := r.URL.Query(); r.Method == http.MethodGet && q.Get("view") == "push" {
		en, _, _ := p.enrolment(ctx, rq.tenant.ID, u.ID, q.Get("id"))
		check = withoutMethod(ms, en.MethodID)
	}
	if hasMFAMethod(check, p.now()) && (s.MFAAt == nil || p.now().Sub(*s.MFAAt) > p.recentMFA()) {
		redirect(w, r, rq.base+"/signin?stepUp=1&returnUrl="+url.QueryEscape(here))
		return
	}
	d := siData{User: u.UPN}
	vw := p.newView(r, rq, "si.title", &d)
	vw.SignedIn, vw.Nav = true, "security"
	if r.Method == http.MethodPost {
		p.securityInfoPost(w, r, rq, s, u, ms, vw, &d)
		return
	}
	switch r.URL.Query().Get("view") {
	case "add":
		d.Kinds = p.addableKinds(r, rq, u)
		p.render(w, r, rq, http.StatusOK, "si-add", vw)
		return
	case "push":
		p.siPushPage(w, r, rq, s, u, vw, &d)
		return
	case "default":
		d.Choices = defaultChoices(ms, u, p.now())
		p.render(w, r, rq, http.StatusOK, "si-default", vw)
		return
	case "delete":
		m, ok := findMethod(ms, r.URL.Query().Get("id"))
		if !ok {
			p.renderError(w, r, rq, http.StatusNotFound, rq.tr.T("err.methodGone"))
			return
		}
		d.Method = describe(m)
		p.render(w, r, rq, http.StatusOK, "si-delete", vw)
		return
	}
	if key, ok := siNotices[r.URL.Query().Get("done")]; ok {
		vw.Notice = rq.tr.T(key)
	}
	p.fillList(r, rq, u, ms, &d)
	p.render(w, r, rq, http.StatusOK, "si-list", vw)
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	msg, status := p.message(r, rq, err)
	p.renderError(w, r, rq, status, msg)
}

func hasMFAMethod(ms []store.Method, now time.Time) bool {
	for _, m := range ms {
		if m.State != store.MethodActive {
			continue
		}
		for _, o := range method.Options(securityinfo.Registered(m, now)) {
			if method.UsableForMFA(o) && o != method.OptionTAP {
				return true
			}
		}
	}
	return false
}

func findMethod(ms []store.Method, id string) (store.Method, bool) {
	for _, m := range ms {
		if m.ID == id && id != "" {
			return m, true
		}
	}
	return store.Method{}, false
}

func describe(m store.Method) methodItem {
	it := methodItem{ID: m.ID, KindKey: "kind." + m.Kind, IsDefault: m.IsDefault}
	switch method.Kind(m.Kind) {
	case method.KindPhone:
		it.KindKey = "kind.phone." + m.Props.PhoneType
		it.Detail = securityinfo.DisplayPhone(m.Props.PhoneNumber)
	case method.KindEmail:
		it.Detail = m.Props.Email
	case method.KindSoftwareOath, method.KindAuthenticator:
		if m.DisplayName != "Authenticator app" { // the stored default name says nothing the kind does not
			it.Detail = m.DisplayName
		}
		if p := m.Props.Platform; p != "" && m.Kind == string(method.KindAuthenticator) {
			it.Detail += " (" + p + ")"
		}
	case method.KindHardwareOath:
		it.Detail = m.Props.Serial
	case method.KindFido2:
		it = describeKey(m, it)
	}
	return it
}

func (p *Pages) fillList(r *http.Request, rq *request, u store.User, ms []store.Method, d *siData) {
	now := p.now()
	for _, m := range ms {
		if m.State != store.MethodActive {
			continue
		}
		d.Methods = append(d.Methods, describe(m))
	}
	// The default is the option sign-in offers first: the person's own
	// choice when it is still registered, else the default method's
	// strongest option.
	for _, c := range defaultChoices(ms, u, now) {
		if c.Current {
			d.DefaultKey, d.Detail = c.LabelKey, c.Detail
		}
	}
	page, err := p.Store.ListSignIns(r.Context(), rq.tenant.ID, store.ListQuery{Limit: 10,
		Filter: &store.Filter{Op: store.FilterEq, Field: "userId", Value: u.ID}})
	if err != nil {
		p.Log.WarnContext(r.Context(), "web: recent sign-ins", "err", err)
		return
	}
	for _, e := range page.Items {
		d.SignIns = append(d.SignIns, signInItem{ID: e.ID, When: e.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"),
			App: e.AppDisplayName, IP: e.IPAddress, Success: e.ErrorCode == 0})
	}
}

// defaultChoices are the options of the person's registered methods that
// can be the default (the seed's list: app or token code, phone text,
// phone call); the current one is marked.
func defaultChoices(ms []store.Method, u store.User, now time.Time) []choiceItem {
	var out []choiceItem
	cur := -1
	for _, m := range ms {
		if m.State != store.MethodActive {
			continue
		}
		it := describe(m)
		for _, o := range method.Options(securityinfo.Registered(m, now)) {
			if !method.UsableForMFA(o) || o == method.OptionTAP {
				continue
			}
			c := choiceItem{Value: m.ID + "|" + string(o), LabelKey: "method." + string(o), Detail: it.Detail}
			if string(o) == u.PreferredMFA {
				cur = len(out)
			} else if cur < 0 && m.IsDefault && u.PreferredMFA == "" {
				cur = len(out)
			}
			out = append(out, c)
		}
	}
	if cur < 0 {
		for i, c := range out {
			if strings.HasPrefix(c.Value, defaultID(ms)+"|") {
				cur = i
				break
			}
		}
	}
	if cur >= 0 {
		out[cur].Current = true
	}
	return out
}

func defaultID(ms []store.Method) string {
	for _, m := range ms {
		if m.IsDefault {
			return m.ID
		}
	}
	return "\x00"
}

// addableKinds is what the methods policy lets this person add (P-2.5).
func (p *Pages) addableKinds(r *http.Request, rq *request, u store.User) []string {
	allowed := map[method.Kind]bool{}
	if p.Methods.Allowed != nil {
		var err error
		if allowed, err = p.Methods.Allowed(r.Context(), rq.tenant.ID, u.ID); err != nil {
			p.Log.WarnContext(r.Context(), "web: allowed methods", "err", err)
			return nil
		}
	}
	var out []string
	for _, k := range addable {
		ok := p.Methods.Allowed == nil || allowed[k]
		if k == method.KindSoftwareOath && p.Methods.Allowed != nil {
			// Any authenticator app can show codes where the Authenticator
			// is allowed, even if third-party apps are not.
			ok = allowed[method.KindSoftwareOath] || allowed[method.KindAuthenticator]
		}
		if ok && p.keyKindReady(k) {
			out = append(out, string(k))
		}
	}
	return out
}

func (p *Pages) securityInfoPost(w http.ResponseWriter, r *http.Request, rq *request, sess store.Session, u store.User, ms []store.Method, vw *view, d *siData) {
	ctx := r.Context()
	tid := rq.tenant.ID
	self := p.actor(r, u)
	back := rq.base + "/mysecurityinfo"
	fieldErr := func(status int, field string, err error, page string) {
		msg, st := p.message(r, rq, err)
		if st != 0 {
			status = st // the error's own status; the default is for errors without one
		}
		vw.Errors = []fieldError{{Field: field, Message: msg}}
		p.render(w, r, rq, status, page, vw)
	}
	switch form(r, "action") {
	case "add":
		kind := form(r, "kind")
		allowed := false
		for _, k := range p.addableKinds(r, rq, u) {
			allowed = allowed || k == kind
		}
		if !allowed {
			d.Kinds = p.addableKinds(r, rq, u)
			vw.Errors = []fieldError{{Field: "kind-" + string(method.KindSoftwareOath), Message: rq.tr.T("err.methodNotAllowed")}}
			p.render(w, r, rq, http.StatusBadRequest, "si-add", vw)
			return
		}
		switch method.Kind(kind) {
		case method.KindSoftwareOath:
			// The authenticator with push where allowed; any code app
			// when the person asks for a different app.
			if form(r, "app") != "other" && p.pushAddable(r, rq, u) {
				if err := p.siPushBegin(w, r, rq, u); err != nil {
					d.Kinds = p.addableKinds(r, rq, u)
					fieldErr(http.StatusConflict, "kind-"+kind, err, "si-add")
				}
				return
			}
			en, err := p.Methods.BeginTOTP(ctx, tid, u.ID, "")
			if err != nil {
				d.Kinds = p.addableKinds(r, rq, u)
				fieldErr(http.StatusConflict, "kind-"+kind, err, "si-add")
				return
			}
			d.MethodID, d.SecretKey, d.KeyGroups, d.URI, d.QR = en.MethodID, en.SecretKey, groupKey(en.SecretKey), en.URI, pngDataURL(en.QRPNG)
			p.render(w, r, rq, http.StatusOK, "si-app", vw)
		case method.KindPhone:
			d.PhoneType, d.Channel = method.PhoneMobile, "sms"
			p.render(w, r, rq, http.StatusOK, "si-phone", vw)
		case method.KindEmail:
			p.render(w, r, rq, http.StatusOK, "si-email", vw)
		case method.KindSecurityQuestions:
			p.questionsPage(w, r, rq, vw, d, http.StatusOK)
		case method.KindFido2:
			p.keyAdd(w, r, rq, sess, u, vw, d)
		}
	case "appFinish":
		d.MethodID = form(r, "methodId")
		if _, err := p.Methods.FinishTOTP(ctx, self, tid, u.ID, d.MethodID, strings.ReplaceAll(form(r, "code"), " ", ""), true); err != nil {
			if en := redisplayEnrolment(r); en != nil {
				d.SecretKey, d.KeyGroups, d.URI, d.QR = en.SecretKey, groupKey(en.SecretKey), en.URI, pngDataURL(en.QRPNG)
			}
			fieldErr(http.StatusBadRequest, "code", err, "si-app")
			return
		}
		p.provedSecondFactor(r, rq, sess)
		redirect(w, r, back+"?done=added")
	case "phoneSend":
		d.PhoneType, d.Number, d.Channel = form(r, "phoneType"), form(r, "number"), form(r, "channel")
		if d.PhoneType != method.PhoneMobile && d.PhoneType != method.PhoneAlternateMobile && d.PhoneType != method.PhoneOffice {
			d.PhoneType = method.PhoneMobile
		}
		ch := delivery.ChannelSMS
		if d.Channel == "voice" || d.PhoneType != method.PhoneMobile {
			ch, d.Channel = delivery.ChannelVoice, "voice"
		}
		e164, _, err := securityinfo.NormalizePhone(d.Number, d.PhoneType == method.PhoneOffice)
		if err == nil {
			d.ChallengeID, err = p.Methods.SendCode(ctx, tid, securityinfo.CodeRequest{UserID: u.ID, Channel: ch, Destination: e164,
				Purpose: "register", Locale: rq.lang})
		}
		if err != nil {
			fieldErr(http.StatusBadRequest, "number", err, "si-phone")
			return
		}
		d.Destination = securityinfo.DisplayPhone(e164)
		p.render(w, r, rq, http.StatusOK, "si-verify", vw)
	case "emailSend":
		d.Email = form(r, "email")
		var err error
		if d.ChallengeID, err = p.Methods.SendCode(ctx, tid, securityinfo.CodeRequest{UserID: u.ID, Channel: delivery.ChannelEmail,
			Destination: d.Email, Purpose: "register", Locale: rq.lang}); err != nil {
			fieldErr(http.StatusBadRequest, "email", err, "si-email")
			return
		}
		d.Destination, d.Channel = d.Email, "email"
		p.render(w, r, rq, http.StatusOK, "si-verify", vw)
	case "verifyContact":
		d.ChallengeID, d.PhoneType, d.Channel, d.Destination = form(r, "challengeId"), form(r, "phoneType"), form(r, "channel"), form(r, "destination")
		c, err := p.Methods.VerifyCode(ctx, tid, d.ChallengeID, strings.ReplaceAll(form(r, "code"), " ", ""))
		if err == nil && (c.UserID != u.ID || c.Purpose != "register") {
			err = apperr.Invalidf("wrong challenge").WithCode(securityinfo.CodeInvalid)
		}
		if err == nil {
			// What is saved is what the code went to, never what the form
			// says now.
			if c.Channel == string(delivery.ChannelEmail) {
				_, err = p.Methods.SetEmail(ctx, self, tid, u.ID, c.Destination)
			} else {
				pt := d.PhoneType
				if pt != method.PhoneAlternateMobile && pt != method.PhoneOffice {
					pt = method.PhoneMobile
				}
				_, err = p.Methods.SetPhone(ctx, self, tid, u.ID, pt, c.Destination)
			}
		}
		if err != nil {
			fieldErr(http.StatusBadRequest, "code", err, "si-verify")
			return
		}
		if c.Channel != string(delivery.ChannelEmail) {
			p.provedSecondFactor(r, rq, sess)
		}
		redirect(w, r, back+"?done=added")
	case "questions":
		qs, _, err := p.Methods.Questions(ctx, tid, rq.lang)
		if err != nil {
			p.fail(w, r, rq, err)
			return
		}
		answers := map[string]string{}
		d.Answers = map[string]string{}
		for _, q := range qs {
			if a := form(r, "q-"+q.ID); a != "" {
				answers[q.ID] = a
				d.Answers[q.ID] = a
			}
		}
		if _, err := p.Methods.RegisterAnswers(ctx, self, tid, u.ID, answers); err != nil {
			msg, _ := p.message(r, rq, err)
			if ae, ok := apperr.As(err); ok && ae.Kind == apperr.Invalid {
				msg = rq.tr.T("err.answers") // the service's reasons are all about the answers
			}
			vw.Errors = []fieldError{{Field: "questions", Message: msg}}
			p.questionsPage(w, r, rq, vw, d, http.StatusBadRequest)
			return
		}
		redirect(w, r, back+"?done=added")
	case "default":
		id, opt, _ := strings.Cut(form(r, "choice"), "|")
		valid := false
		for _, c := range defaultChoices(ms, u, p.now()) {
			valid = valid || c.Value == id+"|"+opt
		}
		if !valid {
			d.Choices = defaultChoices(ms, u, p.now())
			vw.Errors = []fieldError{{Field: "choices", Message: rq.tr.T("err.chooseOne")}}
			p.render(w, r, rq, http.StatusBadRequest, "si-default", vw)
			return
		}
		if err := p.Methods.SetDefault(ctx, self, tid, u.ID, id); err != nil {
			p.fail(w, r, rq, err)
			return
		}
		if err := p.setPreferred(r, rq, u, opt); err != nil {
			p.fail(w, r, rq, err)
			return
		}
		redirect(w, r, back+"?done=default")
	case "delete":
		if _, ok := findMethod(ms, form(r, "id")); !ok {
			p.renderError(w, r, rq, http.StatusNotFound, rq.tr.T("err.methodGone"))
			return
		}
		if err := p.Methods.Delete(ctx, self, tid, u.ID, form(r, "id")); err != nil {
			p.fail(w, r, rq, err)
			return
		}
		redirect(w, r, back+"?done=deleted")
	case "keyBegin", "keyFinish":
		p.keyAdd(w, r, rq, sess, u, vw, d)
	case "notme":
		if err := p.reportSignIn(r, rq, u, form(r, "id")); err != nil {
			p.fail(w, r, rq, err)
			return
		}
		redirect(w, r, back+"?done=reported")
	default:
		p.errorPage(w, r, rq, http.StatusBadRequest, "error.badRequest")
	}
}

func (p *Pages) questionsPage(w http.ResponseWriter, r *http.Request, rq *request, vw *view, d *siData, status int) {
	qs, req, err := p.Methods.Questions(r.Context(), rq.tenant.ID, rq.lang)
	if err != nil {
		p.fail(w, r, rq, err)
		return
	}
	d.Questions, d.Required = qs, req
	if d.Answers == nil {
		d.Answers = map[string]string{}
	}
	p.render(w, r, rq, status, "si-questions", vw)
}

// setPreferred records the chosen option as the person's preferred
// second factor (what sign-in offers first), audited like an
// administrator's change of the same setting.
func (p *Pages) setPreferred(r *http.Request, rq *request, u store.User, opt string) error {
	ctx := r.Context()
	if u.PreferredMFA == opt {
		return nil
	}
	return p.Store.InTx(ctx, func(tx store.Store) error {
		nu, err := tx.UpdateUser(ctx, rq.tenant.ID, u.ID, func(x *store.User) error { x.PreferredMFA = opt; return nil })
		if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, p.actor(r, u), rq.tenant.ID, p.now(), audit.Entry{Activity: "Update user sign-in preferences",
			Category: "UserManagement", Operation: "Update", Service: audit.AuthenticationMethods,
			Targets: []store.AuditTarget{audit.UserTarget(nu, audit.Prop("UserPreferredMethodForSecondaryAuthentication", u.PreferredMFA, opt))}}))
	})
}

// reportSignIn records a person's "this wasn't me" about one of their
// own sign-ins: an audit entry an administrator can find and act on (the
// risk detections of P-8 can build on it).
func (p *Pages) reportSignIn(r *http.Request, rq *request, u store.User, id string) error {
	ctx := r.Context()
	if id == "" || len(id) > 64 {
		return apperr.NotFoundf("no such sign-in")
	}
	e, err := p.Store.GetSignIn(ctx, rq.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && e.UserID != u.ID {
		return apperr.NotFoundf("no such sign-in").WithCode("signInGone")
	}
	if err != nil {
		return err
	}
	return p.Store.AppendAudit(ctx, audit.New(ctx, p.actor(r, u), rq.tenant.ID, p.now(), audit.Entry{
		Activity: "User reported suspicious sign-in", Category: "IdentityProtection", Operation: "Update",
		Details: map[string]string{"signInId": e.ID, "signInIpAddress": e.IPAddress, "signInDateTime": e.CreatedAt.UTC().Format(time.RFC3339),
			"correlationId": e.CorrelationID, "riskEventType": "userReportedSuspiciousSignIn"},
		Targets: []store.AuditTarget{audit.UserTarget(u)}}))
}

// provedSecondFactor records on the session that the person just proved
// a second factor by registering it (a code from the new app or phone),
// as the sign-in engine counts a registration inside sign-in as passing
// MFA. Without it, a person adding their first method would be sent
// straight to a step-up sign-in for the method they just proved.
func (p *Pages) provedSecondFactor(r *http.Request, rq *request, s store.Session) {
	now := p.now()
	if _, err := p.Store.UpdateSession(r.Context(), rq.tenant.ID, s.ID, func(x *store.Session) error {
		if x.MFAAt == nil || x.MFAAt.Before(now) {
			x.MFAAt = &now
		}
		return nil
	}); err != nil {
		p.Log.WarnContext(r.Context(), "web: record second factor on session", "err", err)
	}
}
