package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// Adding the authenticator (push) from security info: an enrolment link
// shown as a QR code and as text, then the test push's number, then the
// list. The enrolment's id is in the page's address; what it shows is
// read from the store and only for its own user. The live status works
// as on the sign-in page (push.js, or a refresh without JavaScript).

// pushAddable reports whether this person may add the authenticator with
// push here (the methods policy allows it and vakt runs the
// authenticator); otherwise "Authenticator app" means any code app.
func (p *Pages) pushAddable(r *http.Request, rq *request, u store.User) bool {
	if p.Engine == nil || p.Engine.Push == nil {
		return false
	}
	if p.Methods.Allowed == nil {
		return true
	}
	allowed, err := p.Methods.Allowed(r.Context(), rq.tenant.ID, u.ID)
	return err == nil && allowed[method.KindAuthenticator]
}

// siPushBegin issues the enrolment link and shows it (POST, then GET).
func (p *Pages) siPushBegin(w http.ResponseWriter, r *http.Request, rq *request, u store.User) error {
	l, err := p.Engine.Push.BeginEnrolment(r.Context(), rq.tenant.ID, u.ID, "")
	if err != nil {
		return err
	}
	p.setEnrolLink(w, l.ID, l.URL, l.ExpiresAt)
	redirect(w, r, rq.base+"/mysecurityinfo?view=push&id="+url.QueryEscape(l.ID))
	return nil
}

// enrolment reads the person's own enrolment and its test push, if any.
func (p *Pages) enrolment(ctx context.Context, tenantID, userID, id string) (store.PushEnrolment, *store.PushChallenge, bool) {
	if p.Engine == nil || p.Engine.Push == nil || id == "" || len(id) > 64 {
		return store.PushEnrolment{}, nil, false
	}
	en, err := p.Engine.Push.Enrolment(ctx, tenantID, id)
	if err != nil || en.UserID != userID || en.FlowID != "" {
		return store.PushEnrolment{}, nil, false
	}
	if en.ChallengeID == "" {
		return en, nil, true
	}
	c, err := p.Engine.Push.Challenge(ctx, tenantID, en.ChallengeID)
	if err != nil {
		return store.PushEnrolment{}, nil, false
	}
	return en, &c, true
}

// withoutMethod leaves out the method an enrolment just added: its own
// test push is the fresh second factor for the page that confirms it.
func withoutMethod(ms []store.Method, id string) []store.Method {
	if id == "" {
		return ms
	}
	out := make([]store.Method, 0, len(ms))
	for _, m := range ms {
		if m.ID != id {
			out = append(out, m)
		}
	}
	return out
}

// siPushPage shows an enrolment from security info as it stands.
func (p *Pages) siPushPage(w http.ResponseWriter, r *http.Request, rq *request, sess store.Session, u store.User, vw *view, d *siData) {
	id := r.URL.Query().Get("id")
	en, c, ok := p.enrolment(r.Context(), rq.tenant.ID, u.ID, id)
	if !ok {
		p.renderError(w, r, rq, http.StatusNotFound, rq.tr.T("err.enrolmentLinkInvalid"))
		return
	}
	here := rq.base + "/mysecurityinfo?view=push&id=" + url.QueryEscape(id)
	status := rq.base + "/mysecurityinfo?view=pushStatus&id=" + url.QueryEscape(id)
	switch {
	case c == nil:
		if en.ExpiresAt.Before(p.now()) {
			p.renderError(w, r, rq, http.StatusNotFound, rq.tr.T("err.enrolmentLinkInvalid"))
			return
		}
		if link := enrolLink(r, id); link != "" {
			if png, err := totp.QRPNG(link, 256); err == nil {
				d.Link, d.QR = link, pngDataURL(png)
			}
		}
		vw.Live = liveFor(status, here, signin.PushWaitingForDevice, 5)
	case c.Status == string(push.Pending):
		d.PushNumber = c.Number
		vw.Live = liveFor(status, here, string(push.Pending), 3)
	case c.Status == string(push.Approved):
		// The new device's own approval is a fresh second factor, once.
		if c.AnsweredAt != nil && p.now().Sub(*c.AnsweredAt) < p.recentMFA() {
			p.provedSecondFactor(r, rq, sess)
		}
		redirect(w, r, rq.base+"/mysecurityinfo?done=added")
		return
	default:
		vw.Errors = []fieldError{{Message: rq.tr.T("err.testPushFailed")}}
	}
	vw.Title = "push.setup.heading"
	p.render(w, r, rq, http.StatusOK, "si-push", vw)
}

// siPushStatus answers the security-info page's script: GET
// {base}/mysecurityinfo?view=pushStatus&id=ENROLMENT&wait=N (a view of
// the page's own address, which the interface contract lists).
func (p *Pages) siPushStatus(w http.ResponseWriter, r *http.Request) {
	p.serveStatus(w, r, func(t store.Tenant, wait time.Duration) (string, int, string) {
		ck, err := r.Cookie(signin.SessionCookie)
		if err != nil || ck.Value == "" {
			return "", http.StatusUnauthorized, "noSession"
		}
		s, err := p.Engine.Session(r.Context(), t.ID, ck.Value)
		if err != nil {
			return "", http.StatusUnauthorized, "noSession"
		}
		en, c, ok := p.enrolment(r.Context(), t.ID, s.UserID, r.URL.Query().Get("id"))
		if !ok {
			return "", http.StatusNotFound, "enrolmentNotFound"
		}
		if c == nil {
			if !en.ExpiresAt.After(p.now()) {
				return string(push.Expired), 0, ""
			}
			return signin.PushWaitingForDevice, 0, ""
		}
		if c.Status == string(push.Pending) && wait > 0 {
			p.Engine.Push.Wait(r.Context(), t.ID, en.ChallengeID, min(wait, c.ExpiresAt.Sub(p.now())+100*time.Millisecond))
			if _, c, ok = p.enrolment(r.Context(), t.ID, s.UserID, en.ID); !ok || c == nil {
				return "", http.StatusNotFound, "enrolmentNotFound"
			}
		}
		return c.Status, 0, ""
	})
}
