package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// The push steps of the sign-in page: the number to type into the
// authenticator while its request waits, and the authenticator's set-up
// in the registration interrupt. The page learns the answer without a
// reload from /assets/web/push.js, which long-polls pushStatus and then
// loads the sign-in page again; without JavaScript a <noscript> refresh
// (and an "I've approved it" button) does the same. Either way the answer
// is acted on by the engine's PollPush when the page is loaded, so the
// status endpoint itself changes nothing.

// pushStatusWait bounds one long poll from the page, below common proxy
// idle timeouts.
const pushStatusWait = 25 * time.Second

// live is what the layout needs to follow a push: the status address the
// script polls, the page it then loads, and the status that means "keep
// waiting". The same page is the refresh target without JavaScript.
type live struct {
	StatusURL string
	Next      string
	Waiting   string
	Refresh   string // the meta refresh's content
}

func liveFor(statusURL, next, waiting string, every int) *live {
	return &live{StatusURL: statusURL, Next: next, Waiting: waiting, Refresh: strconv.Itoa(every) + ";url=" + next}
}

// signinLive follows the sign-in page's push.
func signinLive(rq *request, waiting string, every int) *live {
	return liveFor(rq.base+"/signin/push/status", rq.base+"/signin", waiting, every)
}

// enrolCookie keeps the enrolment link of a started authenticator set-up
// for its flow, so the QR code survives the page being loaded again (by
// the script, the refresh or the person) until a device has used it. The
// server keeps only the link's hash. HttpOnly, and gone with the link.
const enrolCookie = "vakt_enrol"

func (p *Pages) setEnrolLink(w http.ResponseWriter, flowID, link string, until time.Time) {
	age := int(time.Until(until).Seconds())
	if age <= 0 || age > 3600 {
		age = 600
	}
	http.SetCookie(w, &http.Cookie{Name: enrolCookie, Value: flowID + "." + enc(link), Path: "/", MaxAge: age, HttpOnly: true,
		Secure: p.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// enrolLink reads the link kept for this flow. Only a link of the
// enrolment endpoint's shape is shown back.
func enrolLink(r *http.Request, flowID string) string {
	c, err := r.Cookie(enrolCookie)
	if err != nil {
		return ""
	}
	id, raw, ok := strings.Cut(c.Value, ".")
	link := dec(raw)
	if !ok || id != flowID || len(link) > 512 || !validEnrolLink(link) {
		return ""
	}
	return link
}

func validEnrolLink(link string) bool {
	u, err := url.Parse(link)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		strings.HasSuffix(u.Path, "/api/authenticator/enroll") && u.Fragment != "" && u.RawQuery == ""
}

// pushFlow reports whether loading the page should let the engine look at
// a push: the sign-in's push was sent, or an authenticator set-up may be
// under way in the registration interrupt.
func pushFlow(v signin.View) bool {
	switch v.State {
	case signin.StateMFA:
		return v.MFA != nil && v.MFA.Selected == method.OptionPush && v.MFA.Push != nil
	case signin.StateRegister:
		return v.Register != nil && containsPush(v.Register.Options)
	}
	return false
}

func containsPush(os []method.Option) bool {
	for _, o := range os {
		if o == method.OptionPush {
			return true
		}
	}
	return false
}

// checkPush shows a flow whose push may have been answered: the engine
// acts on the answer (signing in, blocking, or saving the new device),
// and the page follows. cur is the flow as it stands, shown again when
// there is nothing to check.
func (p *Pages) checkPush(w http.ResponseWriter, r *http.Request, rq *request, f flowRef, cur signin.View, asked bool) {
	ctx := r.Context()
	// What the answer was, to say it plainly if it ends the sign-in.
	status, serr := p.Engine.PushStatus(ctx, rq.tenant.ID, f.FlowID, 0)
	if serr != nil {
		if asked { // the button was pressed although nothing waits
			msg, code := p.message(r, rq, serr)
			p.renderFlow(w, r, rq, code, cur, f, []fieldError{{Message: msg}})
			return
		}
		p.renderFlow(w, r, rq, http.StatusOK, cur, f, nil)
		return
	}
	v, err := p.Engine.PollPush(ctx, rq.tenant.ID, f.FlowID, 0)
	if err != nil {
		msg, code := p.message(r, rq, err)
		now, gerr := p.Engine.Get(ctx, rq.tenant.ID, f.FlowID)
		if gerr != nil {
			p.expired(w, r, rq)
			return
		}
		p.renderFlow(w, r, rq, code, now, f, []fieldError{{Message: msg}})
		return
	}
	if p.finish(w, r, rq, v, f) {
		return
	}
	if v.State == signin.StateBlocked {
		p.renderBlocked(w, r, rq, v, f, status)
		return
	}
	var notice []fieldError
	switch {
	case asked && status == string(push.Pending):
		notice = []fieldError{{Message: rq.tr.T("push.notYet")}}
	case asked && status == signin.PushWaitingForDevice:
		notice = []fieldError{{Message: rq.tr.T("push.notConnected")}}
	}
	p.renderFlow(w, r, rq, http.StatusOK, v, f, notice)
}

// renderBlocked shows a sign-in the push's answer ended, saying which
// answer it was.
func (p *Pages) renderBlocked(w http.ResponseWriter, r *http.Request, rq *request, v signin.View, f flowRef, status string) {
	p.clearFlow(w)
	key := map[string]string{string(push.Denied): "blocked.pushDenied", string(push.Reported): "blocked.pushReported",
		string(push.WrongNumber): "blocked.pushWrongNumber", string(push.Expired): "blocked.pushExpired"}[status]
	if key == "" {
		key = blockKey(v.Blocked.Code)
		if key == "blocked.callDenied" { // the answer came between two reads; it was not a call
			key = "blocked.generic"
		}
	}
	d := flowData{Username: f.Username, BlockKey: key, BlockCode: v.Blocked.Code, CorrelationID: v.Blocked.CorrelationID}
	p.render(w, r, rq, http.StatusOK, "signin-blocked", p.newView(r, rq, "signin.title", d))
}

// pushStatus answers the sign-in page's script: GET
// {base}/signin/push/status?wait=N → {"status": "pending"} and the like,
// after waiting while the push is pending. It reads the flow from the
// sign-in cookie and changes nothing, so it needs no form token.
func (p *Pages) pushStatus(w http.ResponseWriter, r *http.Request) {
	p.serveStatus(w, r, func(t store.Tenant, wait time.Duration) (string, int, string) {
		f, ok := readFlow(r)
		if !ok {
			return "", http.StatusNotFound, "flowExpired"
		}
		status, err := p.Engine.PushStatus(r.Context(), t.ID, f.FlowID, wait)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok {
				p.Log.ErrorContext(r.Context(), "web: push status", "err", err)
				return "", http.StatusInternalServerError, "serverError"
			}
			code := map[apperr.Kind]int{apperr.NotFound: 404, apperr.Conflict: 409}[ae.Kind]
			if code == 0 {
				code = http.StatusBadRequest
			}
			return "", code, ae.Code
		}
		return status, 0, ""
	})
}

// serveStatus is what both status endpoints share: GET only, the
// tenant, the wait (at most 25 s), and small JSON answers — the status,
// or an error code with its 4xx. The script loads its page on any error.
func (p *Pages) serveStatus(w http.ResponseWriter, r *http.Request, status func(t store.Tenant, wait time.Duration) (string, int, string)) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		jsonError(w, http.StatusMethodNotAllowed, "methodNotAllowed")
		return
	}
	t, err := p.ResolveTenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		jsonError(w, http.StatusNotFound, "tenantNotFound")
		return
	}
	var wait time.Duration
	if s := r.URL.Query().Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > int(pushStatusWait/time.Second) || len(s) > 3 {
			jsonError(w, http.StatusBadRequest, "invalidWait")
			return
		}
		wait = time.Duration(n) * time.Second
	}
	st, code, errCode := status(t, wait)
	if errCode != "" {
		jsonError(w, code, errCode)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": st})
}

func jsonError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pushData fills the page data of a push step.
func (p *Pages) pushData(r *http.Request, rq *request, f flowRef, v signin.View, d *flowData) (name string, lv *live) {
	switch v.State {
	case signin.StateMFA:
		if v.MFA.Push == nil {
			return "mfa-push", nil
		}
		d.PushNumber = v.MFA.Push.Number
		if c := v.MFA.Push.Context; c != nil {
			d.PushApp, d.PushWhere = c.App, c.Location
			switch {
			case c.IPAddress != "" && c.Location != "":
				d.PushWhere += " (" + c.IPAddress + ")"
			case c.IPAddress != "":
				d.PushWhere = c.IPAddress
			}
		}
		return "mfa-push", signinLive(rq, string(push.Pending), 3)
	case signin.StateRegister:
		en := v.Register.Enrolment
		if en.Number != 0 {
			d.PushNumber = en.Number
			return "signin-register-push", signinLive(rq, string(push.Pending), 3)
		}
		if !en.ExpiresAt.IsZero() && !en.ExpiresAt.After(p.now()) {
			return "signin-register-push", nil // the link was never used: start again
		}
		link := en.Link
		if link == "" {
			link = enrolLink(r, f.FlowID)
		}
		if link != "" {
			if png, err := totp.QRPNG(link, 256); err == nil {
				d.Link, d.QR = link, pngDataURL(png)
			}
		}
		return "signin-register-push", signinLive(rq, signin.PushWaitingForDevice, 5)
	}
	return "", nil
}
