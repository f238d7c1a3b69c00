package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Self-service password reset (P-9.2). The reset is kept server-side as a
// store flow in states of its own ("sspr…", which the sign-in engine
// never accepts), keyed by a random id in the reset cookie.
//
// It never says whether an account exists: an unknown name gets the same
// pages, and every verification of it fails like a wrong code. The price
// is that the choices are the kinds the tenant offers, not the person's
// registered methods ("If you have registered a mobile phone, we sent a
// code to it").
const (
	resetCookie = "vakt_reset"
	// SSPRSetting is the tenant setting with the number of verification
	// methods a reset requires: {"numberOfMethodsRequired": 1 or 2}.
	SSPRSetting = "selfServicePasswordReset"

	resetTTL      = 15 * time.Minute
	resetAttempts = 5 // wrong answers in one reset before it must start again

	stateVerify   = "ssprVerify"
	statePassword = "ssprPassword"
	stateDone     = "ssprDone"
)

// SSPRConfig is the tenant's reset setting.
type SSPRConfig struct {
	NumberOfMethodsRequired int `json:"numberOfMethodsRequired"`
}

// DefaultSSPRConfig asks for one method, the modelled system's default.
func DefaultSSPRConfig() SSPRConfig { return SSPRConfig{NumberOfMethodsRequired: 1} }

func (p *Pages) ssprConfig(ctx context.Context, tenantID string) (SSPRConfig, error) {
	raw, err := p.Store.GetSetting(ctx, tenantID, SSPRSetting)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultSSPRConfig(), nil
	}
	if err != nil {
		return SSPRConfig{}, err
	}
	var c SSPRConfig
	if err := json.Unmarshal(raw, &c); err != nil || c.NumberOfMethodsRequired < 1 || c.NumberOfMethodsRequired > 2 {
		return DefaultSSPRConfig(), nil
	}
	return c, nil
}

// The reset choices, in the order shown.
const (
	resetEmail     = "email"
	resetSMS       = "sms"
	resetCall      = "voice"
	resetApp       = "appCode"
	resetQuestions = "questions"
)

var resetChoices = []string{resetEmail, resetSMS, resetCall, resetApp, resetQuestions}

type resetData struct {
	Username    string   `json:"username"`
	UserID      string   `json:"userId,omitempty"` // "" for a name that is no user
	Required    int      `json:"required"`
	Passed      []string `json:"passed,omitempty"`
	Choice      string   `json:"choice,omitempty"`
	ChallengeID string   `json:"challengeId,omitempty"`
	Questions   []string `json:"questions,omitempty"`
	Failures    int      `json:"failures,omitempty"`
}

type resetView struct {
	Username  string
	Step      int
	Required  int
	Choices   []string
	Choice    string
	Questions []securityinfo.Question
	MinLength int
	Strength  string // a message key, after "check"
	Rules     []ruleItem
}

type ruleItem struct {
	Key string
	OK  bool
}

func newResetID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *Pages) passwordReset(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	var f store.Flow
	var d resetData
	var have bool
	if c, err := r.Cookie(resetCookie); err == nil && len(c.Value) == 43 {
		if fl, err := p.Store.GetFlow(ctx, rq.tenant.ID, c.Value, p.now()); err == nil && strings.HasPrefix(fl.State, "sspr") &&
			json.Unmarshal(fl.Data, &d) == nil {
			f, have = fl, true
		}
	}
	if r.Method != http.MethodPost {
		if !have || f.State == stateDone {
			p.renderReset(w, r, rq, http.StatusOK, "reset-username", resetView{}, nil)
			return
		}
		p.resetStep(w, r, rq, f, d, http.StatusOK, nil)
		return
	}
	step := form(r, "step")
	if step == "username" {
		p.resetStart(w, r, rq)
		return
	}
	if !have || f.State == stateDone {
		p.clearReset(w)
		p.renderReset(w, r, rq, http.StatusBadRequest, "reset-username", resetView{},
			[]fieldError{{Field: "username", Message: rq.tr.T("err.resetExpired")}})
		return
	}
	switch {
	case step == "choose" && f.State == stateVerify:
		p.resetChoose(w, r, rq, f, d)
	case step == "verify" && f.State == stateVerify && d.Choice != "":
		p.resetVerify(w, r, rq, f, d)
	case step == "back" && f.State == stateVerify:
		d.Choice, d.ChallengeID, d.Questions = "", "", nil
		if f, err := p.saveReset(ctx, f, d, stateVerify); err != nil {
			p.resetError(w, r, rq, err)
		} else {
			p.resetStep(w, r, rq, f, d, http.StatusOK, nil)
		}
	case (step == "password" || step == "check") && f.State == statePassword:
		p.resetPassword(w, r, rq, f, d, step == "check")
	default:
		p.resetStep(w, r, rq, f, d, http.StatusConflict, []fieldError{{Message: rq.tr.T("err.stepOutOfOrder")}})
	}
}

func (p *Pages) clearReset(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: resetCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.SecureCookies,
		SameSite: http.SameSiteLaxMode})
}

func (p *Pages) renderReset(w http.ResponseWriter, r *http.Request, rq *request, status int, name string, d resetView, errs []fieldError) {
	vw := p.newView(r, rq, "reset.title", d)
	vw.Errors = errs
	p.render(w, r, rq, status, name, vw)
}

func (p *Pages) resetError(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	msg, status := p.message(r, rq, err)
	p.renderError(w, r, rq, status, msg)
}

func (p *Pages) saveReset(ctx context.Context, f store.Flow, d resetData, state string) (store.Flow, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return f, err
	}
	f.State, f.Data, f.UpdatedAt = state, raw, p.now()
	if err := p.Store.UpdateFlow(ctx, f); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return f, apperr.Conflictf("changed").WithCode("flowChanged")
		}
		return f, err
	}
	f.Version++
	return f, nil
}

// resetStart takes the user name. Whatever it names, the answer is the
// same page; starts are limited per address so the page cannot be used
// to send codes in bulk.
func (p *Pages) resetStart(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	name := form(r, "username")
	if name == "" || len(name) > directory.MaxUPNLength || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		p.renderReset(w, r, rq, http.StatusBadRequest, "reset-username", resetView{Username: name},
			[]fieldError{{Field: "username", Message: rq.tr.T("err.username")}})
		return
	}
	n, reset, err := p.Store.Hit(ctx, rq.tenant.ID, "sspr-start:"+clientIP(r), 15*time.Minute, p.now(), 1)
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	if n > 20 {
		p.renderReset(w, r, rq, http.StatusTooManyRequests, "reset-username", resetView{Username: name},
			[]fieldError{{Field: "username", Message: rq.tr.T("err.tryAgainIn", int(reset.Sub(p.now()).Seconds()+0.999))}})
		return
	}
	cfg, err := p.ssprConfig(ctx, rq.tenant.ID)
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	d := resetData{Username: name, Required: cfg.NumberOfMethodsRequired}
	if u, err := p.Store.UserByUPN(ctx, rq.tenant.ID, name); err == nil && u.AccountEnabled {
		d.UserID = u.ID
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.resetError(w, r, rq, err)
		return
	}
	now := p.now()
	raw, _ := json.Marshal(d)
	f := store.Flow{ID: newResetID(), TenantID: rq.tenant.ID, State: stateVerify, UserID: d.UserID, Data: raw,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(resetTTL)}
	if err := p.Store.CreateFlow(ctx, f); err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: resetCookie, Value: f.ID, Path: "/", HttpOnly: true, Secure: p.SecureCookies,
		SameSite: http.SameSiteLaxMode})
	p.resetStep(w, r, rq, f, d, http.StatusOK, nil)
}

// offered is what the tenant lets anyone reset with, minus what this
// reset already passed. It is the same for every name typed.
func (p *Pages) offered(ctx context.Context, tenantID string, d resetData) []string {
	allowed := map[method.Kind]bool{}
	if p.Methods.Allowed != nil {
		a, err := p.Methods.Allowed(ctx, tenantID, "")
		if err == nil {
			allowed = a
		}
	}
	all := p.Methods.Allowed == nil
	var out []string
	for _, c := range resetChoices {
		ok := all
		switch c {
		case resetEmail:
			ok = ok || allowed[method.KindEmail]
		case resetSMS, resetCall:
			ok = ok || allowed[method.KindPhone]
		case resetApp:
			ok = ok || allowed[method.KindSoftwareOath] || allowed[method.KindAuthenticator] || allowed[method.KindHardwareOath]
		case resetQuestions:
			ok = ok || allowed[method.KindSecurityQuestions]
		}
		if ok && !slices.Contains(d.Passed, c) {
			out = append(out, c)
		}
	}
	return out
}

func (p *Pages) resetStep(w http.ResponseWriter, r *http.Request, rq *request, f store.Flow, d resetData, status int, errs []fieldError) {
	v := resetView{Username: d.Username, Step: len(d.Passed) + 1, Required: d.Required, Choice: d.Choice, MinLength: 8}
	switch f.State {
	case statePassword:
		v.Rules = ruleList("", nil)
		p.renderReset(w, r, rq, status, "reset-password", v, errs)
		return
	}
	if d.Choice == "" {
		v.Choices = p.offered(r.Context(), rq.tenant.ID, d)
		p.renderReset(w, r, rq, status, "reset-choose", v, errs)
		return
	}
	if d.Choice == resetQuestions {
		qs, _, err := p.Methods.Questions(r.Context(), rq.tenant.ID, rq.lang)
		if err != nil {
			p.resetError(w, r, rq, err)
			return
		}
		for _, id := range d.Questions {
			for _, q := range qs {
				if q.ID == id {
					v.Questions = append(v.Questions, q)
				}
			}
		}
	}
	p.renderReset(w, r, rq, status, "reset-verify", v, errs)
}

// resetChoose starts the chosen verification: a code is sent only when
// the person has that method and may use it, but the page says the same
// either way.
func (p *Pages) resetChoose(w http.ResponseWriter, r *http.Request, rq *request, f store.Flow, d resetData) {
	ctx := r.Context()
	choice := form(r, "choice")
	if !slices.Contains(p.offered(ctx, rq.tenant.ID, d), choice) {
		p.resetStep(w, r, rq, f, d, http.StatusBadRequest, []fieldError{{Field: "choice-" + resetEmail, Message: rq.tr.T("err.chooseOne")}})
		return
	}
	d.Choice, d.ChallengeID, d.Questions = choice, "", nil
	var ms []store.Method
	if d.UserID != "" && p.userMayReset(ctx, rq.tenant.ID, d.UserID, choice) {
		var err error
		if ms, err = p.Methods.Methods(ctx, rq.tenant.ID, d.UserID); err != nil {
			p.resetError(w, r, rq, err)
			return
		}
	}
	switch choice {
	case resetEmail, resetSMS, resetCall:
		for _, m := range ms {
			var req securityinfo.CodeRequest
			switch {
			case choice == resetEmail && m.Kind == string(method.KindEmail):
				req = securityinfo.CodeRequest{Channel: delivery.ChannelEmail, Destination: m.Props.Email}
			case choice == resetSMS && m.Kind == string(method.KindPhone) && m.Props.PhoneType == method.PhoneMobile:
				req = securityinfo.CodeRequest{Channel: delivery.ChannelSMS, Destination: m.Props.PhoneNumber}
			case choice == resetCall && m.Kind == string(method.KindPhone) && m.Props.PhoneType == method.PhoneMobile:
				req = securityinfo.CodeRequest{Channel: delivery.ChannelVoice, Destination: m.Props.PhoneNumber}
			default:
				continue
			}
			req.UserID, req.MethodID, req.Purpose, req.Locale = d.UserID, m.ID, "sspr", rq.lang
			id, err := p.Methods.SendCode(ctx, rq.tenant.ID, req)
			if err != nil {
				if _, ok := securityinfo.RetryAfter(err); ok {
					msg, status := p.message(r, rq, err)
					d.Choice = ""
					p.resetStep(w, r, rq, f, d, status, []fieldError{{Message: msg}})
					return
				}
				p.resetError(w, r, rq, err)
				return
			}
			d.ChallengeID = id
			break
		}
	case resetQuestions:
		d.Questions = p.resetQuestions(ctx, rq.tenant.ID, d, ms)
	}
	f, err := p.saveReset(ctx, f, d, stateVerify)
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	p.resetStep(w, r, rq, f, d, http.StatusOK, nil)
}

func (p *Pages) userMayReset(ctx context.Context, tenantID, userID, choice string) bool {
	if p.Methods.Allowed == nil {
		return true
	}
	a, err := p.Methods.Allowed(ctx, tenantID, userID)
	if err != nil {
		return false
	}
	switch choice {
	case resetEmail:
		return a[method.KindEmail]
	case resetSMS, resetCall:
		return a[method.KindPhone]
	case resetApp:
		return a[method.KindSoftwareOath] || a[method.KindAuthenticator] || a[method.KindHardwareOath]
	case resetQuestions:
		return a[method.KindSecurityQuestions]
	}
	return false
}

// resetQuestions picks the questions to ask: the person's own, or for a
// name without registered answers a fixed choice derived from the name,
// so asking twice shows the same questions and nothing tells them apart.
func (p *Pages) resetQuestions(ctx context.Context, tenantID string, d resetData, ms []store.Method) []string {
	qs, required, err := p.Methods.Questions(ctx, tenantID, "en")
	if err != nil || len(qs) == 0 {
		return nil
	}
	if required < 1 {
		required = 1
	}
	for _, m := range ms {
		if m.Kind == string(method.KindSecurityQuestions) && len(m.Props.Questions) >= required {
			return m.Props.Questions[:required]
		}
	}
	ids := make([]string, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	h := hmac.New(sha256.New, p.CSRFKey)
	h.Write([]byte("sspr-questions:" + strings.ToLower(d.Username)))
	sum := h.Sum(nil)
	var out []string
	for i := 0; len(out) < required && len(ids) > 0; i++ {
		k := int(binary.BigEndian.Uint32(sum[(i*4)%28:]) % uint32(len(ids)))
		out = append(out, ids[k])
		ids = append(ids[:k], ids[k+1:]...)
	}
	slices.Sort(out)
	return out
}

func (p *Pages) resetVerify(w http.ResponseWriter, r *http.Request, rq *request, f store.Flow, d resetData) {
	ctx := r.Context()
	ok, err := p.checkReset(ctx, r, rq, d)
	if err != nil {
		if _, throttled := securityinfo.RetryAfter(err); throttled {
			msg, status := p.message(r, rq, err)
			p.resetStep(w, r, rq, f, d, status, []fieldError{{Field: "code", Message: msg}})
			return
		}
		if _, known := apperr.As(err); !known {
			p.resetError(w, r, rq, err)
			return
		}
	}
	if !ok {
		d.Failures++
		if d.Failures >= resetAttempts {
			if _, err := p.saveReset(ctx, f, d, stateDone); err != nil && !errors.Is(err, store.ErrConflict) {
				p.resetError(w, r, rq, err)
				return
			}
			p.clearReset(w)
			p.renderReset(w, r, rq, http.StatusBadRequest, "reset-username", resetView{},
				[]fieldError{{Field: "username", Message: rq.tr.T("err.resetTooMany")}})
			return
		}
		if f, err = p.saveReset(ctx, f, d, stateVerify); err != nil {
			p.resetError(w, r, rq, err)
			return
		}
		field := "code"
		if d.Choice == resetQuestions {
			field = "answers"
		}
		p.resetStep(w, r, rq, f, d, http.StatusBadRequest, []fieldError{{Field: field, Message: rq.tr.T("err.resetWrong")}})
		return
	}
	d.Passed = append(d.Passed, d.Choice)
	d.Choice, d.ChallengeID, d.Questions = "", "", nil
	state := stateVerify
	if len(d.Passed) >= d.Required {
		state = statePassword
	}
	if f, err = p.saveReset(ctx, f, d, state); err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	p.resetStep(w, r, rq, f, d, http.StatusOK, nil)
}

// checkReset verifies the current choice. A name that is no user, or a
// method the person does not have, fails exactly like a wrong code.
func (p *Pages) checkReset(ctx context.Context, r *http.Request, rq *request, d resetData) (bool, error) {
	if d.UserID == "" || !p.userMayReset(ctx, rq.tenant.ID, d.UserID, d.Choice) {
		return false, nil
	}
	code := strings.ReplaceAll(form(r, "code"), " ", "")
	switch d.Choice {
	case resetEmail, resetSMS, resetCall:
		if d.ChallengeID == "" {
			return false, nil
		}
		c, err := p.Methods.VerifyCode(ctx, rq.tenant.ID, d.ChallengeID, code)
		if err != nil {
			return false, err
		}
		return c.UserID == d.UserID && c.Purpose == "sspr", nil
	case resetApp:
		_, err := p.Methods.VerifyTOTP(ctx, rq.tenant.ID, d.UserID, code)
		return err == nil, err
	case resetQuestions:
		answers := map[string]string{}
		for _, id := range d.Questions {
			answers[id] = form(r, "q-"+id)
		}
		if len(answers) == 0 {
			return false, nil
		}
		err := p.Methods.VerifyAnswers(ctx, rq.tenant.ID, d.UserID, answers)
		return err == nil, err
	}
	return false, nil
}

// ruleList shows the password rules, ticked against a password when one
// was checked.
func ruleList(pw string, rerr *password.RuleError) []ruleItem {
	checked := pw != ""
	item := func(key, code string) ruleItem {
		return ruleItem{Key: key, OK: checked && (rerr == nil || rerr.Code != code)}
	}
	return []ruleItem{item("rule.length", password.CodeTooShort), item("rule.name", password.CodeContainsUserName),
		item("rule.banned", password.CodeBanned)}
}

func (p *Pages) resetPassword(w http.ResponseWriter, r *http.Request, rq *request, f store.Flow, d resetData, checkOnly bool) {
	ctx := r.Context()
	v := resetView{Username: d.Username, MinLength: 8}
	np := r.PostFormValue("newPassword")
	u, err := p.Store.GetUser(ctx, rq.tenant.ID, d.UserID)
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	pol := password.DefaultPolicy()
	pol.Custom = rq.tenant.BannedPasswords
	local, _, _ := strings.Cut(u.UPN, "@")
	rerr := password.Check(np, pol, local, u.DisplayName)
	var re *password.RuleError
	errors.As(rerr, &re)
	v.Rules = ruleList(np, re)
	if np != "" {
		v.Strength = "strength." + Strength(np)
	}
	if checkOnly {
		p.renderReset(w, r, rq, http.StatusOK, "reset-password", v, nil)
		return
	}
	fail := func(key string, args ...any) {
		p.renderReset(w, r, rq, http.StatusBadRequest, "reset-password", v, []fieldError{{Field: "newPassword", Message: rq.tr.T(key, args...)}})
	}
	switch {
	case re != nil:
		msg, _ := p.message(r, rq, apperr.Invalidf("rule").WithCode(re.Code))
		p.renderReset(w, r, rq, http.StatusBadRequest, "reset-password", v, []fieldError{{Field: "newPassword", Message: msg}})
		return
	case rerr != nil:
		p.resetError(w, r, rq, rerr)
		return
	case np != r.PostFormValue("confirmPassword"):
		fail("err.passwordMismatch")
		return
	}
	if same, _, _ := p.Hasher.Verify(ctx, np, u.PasswordHash); same {
		fail("err.passwordReused")
		return
	}
	hash, err := p.Hasher.Hash(ctx, np)
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	self := p.actor(r, u)
	err = p.Store.InTx(ctx, func(tx store.Store) error {
		f.State = stateDone
		if _, err := (&Pages{Store: tx, Now: p.Now}).saveReset(ctx, f, d, stateDone); err != nil {
			return err
		}
		nu, err := tx.UpdateUser(ctx, rq.tenant.ID, u.ID, func(x *store.User) error {
			x.PasswordHash, x.ForceChangePassword = hash, false
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := tx.RevokeUserSessions(ctx, rq.tenant.ID, u.ID, p.now()); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, audit.New(ctx, self, rq.tenant.ID, p.now(), audit.Entry{Activity: "Reset password (self-service)",
			Category: "UserManagement", Operation: "Update", Service: "Self-service Password Management",
			Details: map[string]string{"methodsUsed": strings.Join(d.Passed, ",")},
			Targets: []store.AuditTarget{audit.UserTarget(nu, audit.Prop("PasswordHash", nil, "changed"))}}))
	})
	if err != nil {
		p.resetError(w, r, rq, err)
		return
	}
	// Proving identity this way also lifts a lockout of the name.
	if err := p.Store.ClearLockouts(ctx, rq.tenant.ID, "name:"+strings.ToLower(u.UPN), ""); err != nil {
		p.Log.WarnContext(ctx, "web: clear lockout after reset", "err", err)
	}
	p.clearReset(w)
	p.renderReset(w, r, rq, http.StatusOK, "reset-done", resetView{Username: d.Username}, nil)
}
