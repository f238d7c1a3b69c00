package signin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestRegisterPhoneInSignIn: where the decision accepts a text or a call
// (per-user MFA without security defaults), the registration interrupt
// registers a mobile phone with a code sent to it, over the JSON API: bad
// numbers and options are refused, a wrong code counts as a failed
// factor, the right one saves the phone (as the number the code went to)
// and passes the second factor. Under security defaults, which ask for
// the authenticator app, a phone is refused.
func TestRegisterPhoneInSignIn(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newAPIEnv(t, b.New(t))
			e.securityDefaults(e.tenant.ID, false)
			u := e.user(e.tenant.ID, "pia@contoso.com")
			e.perUserMFA(e.tenant.ID, u)
			const ip = "192.0.2.10"
			r := e.password(u.UPN, apiPassword, ip)
			if r.View.State != "register" || !slices.Contains(r.View.Register.Options, "sms") || !slices.Contains(r.View.Register.Options, "voiceMobile") {
				t.Fatalf("want the interrupt offering a phone: %s", r)
			}
			flow := r.View.FlowID
			for _, body := range []map[string]any{
				{"option": "sms"},
				{"option": "sms", "phoneNumber": "0701234567"},
				{"option": "sms", "phoneNumber": "+46 70 <script>"},
				{"option": "voiceMobile", "phoneNumber": "+46701234567x12"},
			} {
				apiWantError(t, e.step(flow, "register/begin", body, ip), http.StatusBadRequest, "")
			}
			apiWantError(t, e.step(flow, "register/begin", map[string]any{"option": "sms", "phoneNumber": 46}, ip), http.StatusBadRequest, "invalidRequest")
			if m, ok, _ := delivery.LatestTo(e.outbox, "+46701234567"); ok {
				t.Fatalf("a refused number got a message: %+v", m)
			}

			r = e.step(flow, "register/begin", map[string]any{"option": "sms", "phoneNumber": "+46 70 123 45 67"}, ip)
			if r.Status != 200 || r.View.State != "register" || !strings.Contains(string(r.Body), `"destination":"+46 701234567"`) {
				t.Fatalf("begin: %s", r)
			}
			msg, ok, err := delivery.LatestTo(e.outbox, "+46701234567")
			if err != nil || !ok || msg.Code == "" {
				t.Fatalf("no code texted: %v", err)
			}
			wrong := "000000"
			if msg.Code == wrong {
				wrong = "111111"
			}
			apiWantError(t, e.step(flow, "register/finish", map[string]any{"code": wrong}, ip), http.StatusBadRequest, "")
			if ms, _ := e.a.SecurityInfo.Methods(e.ctx, e.tenant.ID, u.ID); len(ms) != 0 {
				t.Fatalf("phone saved before its code: %+v", ms)
			}
			r = e.step(flow, "register/finish", map[string]any{"code": msg.Code}, ip)
			if r.Status != 200 || r.View.State != "done" || r.View.Session == nil {
				t.Fatalf("finish: %s", r)
			}
			ms, err := e.a.SecurityInfo.Methods(e.ctx, e.tenant.ID, u.ID)
			if err != nil || len(ms) != 1 || ms[0].Kind != "phone" || ms[0].Props.PhoneNumber != "+46701234567" {
				t.Fatalf("methods: %+v %v", ms, err)
			}
			mfa := false
			for _, s := range e.signInLog() {
				mfa = mfa || s.ErrorCode == 0 && s.AuthenticationRequirement == "multiFactorAuthentication"
			}
			if !mfa {
				t.Fatalf("no multi-factor sign-in logged: %+v", e.signInLog())
			}

			// Security defaults ask for the authenticator app: no phone.
			e.securityDefaults(e.tenant.ID, true)
			v := e.user(e.tenant.ID, "bo@contoso.com")
			r = e.password(v.UPN, apiPassword, ip)
			if r.View.State != "register" {
				t.Fatalf("want the interrupt: %s", r)
			}
			apiWantError(t, e.step(r.View.FlowID, "register/begin", map[string]any{"option": "sms", "phoneNumber": "+46701234568"}, ip),
				http.StatusBadRequest, "methodNotAllowed")
		})
	}
}
