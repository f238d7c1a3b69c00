package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// Security keys and passkeys on the pages (FIDO2). The pages stay
// server-rendered forms: the server puts a ceremony's options on a form
// (data-options), the one script vakt serves (webauthn.js, no
// dependencies, nothing inline) runs navigator.credentials and submits the
// answer in the hidden "credential" field, and the server checks it with
// the sign-in engine or the security-info service. Only the pages that run
// a ceremony load the script, and only they get script-src 'self' in their
// Content-Security-Policy; every other page stays script-free.

// keyScriptPath is where the script is served (beside the style sheet).
const keyScriptPath = AssetPrefix + "webauthn.js"

// maxCredential bounds the browser's answer: a registration with an
// attestation certificate chain is larger than any other field (maxField).
const maxCredential = 16 << 10

// scriptCSP is setSecurityHeaders' policy plus vakt's own script.
const scriptCSP = baseCSP + "; script-src 'self'"

// liveCSP is for a page that follows a push: its script also asks this
// host for the push's status.
const liveCSP = baseCSP + "; script-src 'self'; connect-src 'self'"

// keyPages run a ceremony (or, the user-name page, offer a passkey) and
// load the script.
var keyPages = map[string]bool{"signin-username": true, "signin-register": true, "mfa-fido2": true, "signin-passkey": true,
	"signin-register-key": true, "si-fido2-key": true}

// keysOn reports whether this server can run ceremonies (its public URL
// is https or localhost, not an IP address).
func (p *Pages) keysOn() bool { return p.Methods != nil && p.Methods.WebAuthn != nil }

// allowScript lets a key page load the script: the view says so to the
// layout, and the policy allows vakt's own script for this response.
func (p *Pages) allowScript(w http.ResponseWriter, name string, v *view) {
	if !keyPages[name] || !p.keysOn() {
		return
	}
	v.Script = true
	w.Header().Set("Content-Security-Policy", scriptCSP)
}

// serveKeyScript serves webauthn.js, cached like the style sheet.
func serveKeyScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, "webauthn.js", time.Time{}, bytes.NewReader(webauthn.Script))
}

// fieldTooLong is the form-size rule with the one exception: the
// browser's answer to a ceremony.
func fieldTooLong(name, value string) bool {
	if name == "credential" {
		return len(value) > maxCredential
	}
	return len(value) > maxField
}

// keyView is what a key step's template needs.
type keyView struct {
	// Options is the ceremony's publicKey options (JSON) for the form's
	// data-options; empty when the flow has none open.
	Options string
	// CanKey: the registration interrupt may offer a key.
	CanKey bool
	// Name is the name typed for a key being registered.
	Name    string
	Passkey bool
}

// keyFlow fills the key part of a flow's page and says which template
// replaces the usual one ("" for none).
func keyFlow(v signin.View, d *flowData) string {
	d.Key.Options = string(v.PublicKey)
	switch v.State {
	case signin.StatePasskey:
		return "signin-passkey"
	case signin.StateRegister:
		for _, o := range v.Register.Options {
			d.Key.CanKey = d.Key.CanKey || o == method.OptionFido2
		}
		if len(v.PublicKey) > 0 {
			return "signin-register-key"
		}
	}
	return ""
}

// keyStep runs a sign-in form step about keys; ok is false for a step
// that is not one.
func (p *Pages) keyStep(r *http.Request, rq *request, f flowRef, step string) (v signin.View, err error, ok bool) {
	ctx, tid := r.Context(), rq.tenant.ID
	cred := []byte(r.PostFormValue("credential"))
	switch step {
	case "keyVerify":
		v, err = p.Engine.VerifyKey(ctx, tid, f.FlowID, cred)
	case "passkey":
		v, err = p.Engine.Passkey(ctx, tid, f.FlowID, cred)
	case "registerKeyBegin":
		v, err = p.Engine.RegisterKeyBegin(ctx, tid, f.FlowID, form(r, "passkey") == "yes")
	case "registerKeyFinish":
		v, err = p.Engine.RegisterKeyFinish(ctx, tid, f.FlowID, cred, form(r, "name"))
	default:
		return v, nil, false
	}
	return v, err, true
}

// passkeyStart opens a sign-in without a user name (the button on the
// user-name page) and shows the passkey step.
func (p *Pages) passkeyStart(w http.ResponseWriter, r *http.Request, rq *request, sp signinParams) {
	ctx := r.Context()
	c := signin.Client{App: sp.AppID, Kind: policy.ClientBrowser, IP: httpx.ClientIPFrom(ctx), UserAgent: r.UserAgent(),
		DeviceID: p.deviceID(w, r), StepUp: sp.StepUp, CorrelationID: httpx.RequestIDFrom(ctx), Locale: rq.lang}
	v, err := p.Engine.StartPasskey(ctx, rq.tenant.ID, c)
	if err != nil {
		msg, status := p.message(r, rq, err)
		vw := p.newView(r, rq, "signin.title", usernameData{Params: sp})
		vw.Errors = []fieldError{{Message: msg}}
		p.render(w, r, rq, status, "signin-username", vw)
		return
	}
	f := flowRef{FlowID: v.FlowID, ReturnURL: sp.ReturnURL}
	p.setFlow(w, f)
	p.renderFlow(w, r, rq, http.StatusOK, v, f, nil)
}

// describeKey is a key's line in the security-info list: its name, and
// whether it is a passkey, synced, and when it was added. vakt has no
// metadata service to name the make and model, so the model is its
// AAGUID.
func describeKey(m store.Method, it methodItem) methodItem {
	it.KindKey, it.Detail, it.Added = "kind.fido2.securityKey", m.DisplayName, m.CreatedAt.UTC().Format("2006-01-02")
	if k := m.Props.Fido2; k != nil {
		if k.Discoverable {
			it.KindKey = "kind.fido2.passkey"
		}
		if k.BackupEligible {
			it.KindKey = "kind.fido2.synced"
		}
		if k.AAGUID != "" && k.AAGUID != "00000000-0000-0000-0000-000000000000" {
			it.Model = k.AAGUID
		}
	}
	return it
}

// keyAdd answers the security-info forms about keys: "fido2" from the
// add list shows the choice of passkey or security key and a name;
// "keyBegin" opens the ceremony; "keyFinish" stores the key.
func (p *Pages) keyAdd(w http.ResponseWriter, r *http.Request, rq *request, sess store.Session, u store.User, vw *view, d *siData) {
	ctx, tid := r.Context(), rq.tenant.ID
	d.Key = keyView{Name: form(r, "name"), Passkey: form(r, "passkey") != "no"}
	switch form(r, "action") {
	case "add": // the kind was checked against the policy by the caller
		p.render(w, r, rq, http.StatusOK, "si-fido2", vw)
	case "keyBegin":
		en, err := p.Methods.BeginFido2(ctx, tid, u.ID, d.Key.Passkey)
		if err != nil {
			msg, status := p.message(r, rq, err)
			vw.Errors = []fieldError{{Field: "passkey-yes", Message: msg}}
			p.render(w, r, rq, status, "si-fido2", vw)
			return
		}
		d.MethodID, d.Key.Options = en.ID, string(en.Options)
		p.render(w, r, rq, http.StatusOK, "si-fido2-key", vw)
	case "keyFinish":
		if _, err := p.Methods.FinishFido2(ctx, p.actor(r, u), tid, u.ID, form(r, "methodId"), d.Key.Name,
			[]byte(r.PostFormValue("credential"))); err != nil {
			// The ceremony is spent whatever the outcome: back to the start.
			msg, status := p.message(r, rq, err)
			vw.Errors = []fieldError{{Field: "passkey-yes", Message: msg}}
			p.render(w, r, rq, status, "si-fido2", vw)
			return
		}
		// A key that verified its user (a PIN or biometric) is a second
		// factor just proved, like a new app's code.
		p.provedSecondFactor(r, rq, sess)
		redirect(w, r, rq.base+"/mysecurityinfo?done=added")
	}
}

// keyKindReady hides security keys from the add list when this server
// cannot run ceremonies.
func (p *Pages) keyKindReady(k method.Kind) bool { return k != method.KindFido2 || p.keysOn() }
