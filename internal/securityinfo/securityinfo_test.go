package securityinfo_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var ctx = context.Background()

var admin = directory.Actor{Operator: true}

type env struct {
	svc    *securityinfo.Service
	st     store.Store
	tenant store.Tenant
	user   store.User
	outbox string
	now    time.Time
}

func (e *env) clock() time.Time { return e.now }

func newEnv(t testing.TB, newStore storetest.NewStore) *env {
	t.Helper()
	st := newStore(t)
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/outbox"
	ob, err := delivery.NewFileOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, outbox: dir, now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	e.svc = &securityinfo.Service{Store: st, Keys: kr, Sender: delivery.NewDevRouter(ob), Config: securityinfo.DefaultConfig(),
		Hasher: password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4),
		Now:    e.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.tenant = storetest.NewTenant(t, st)
	e.user = storetest.NewUser(t, st, e.tenant.ID, "anna@contoso.com")
	return e
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, newEnv(t, b.New)) })
	}
}

// oathtool computes a code with the independent Debian program.
func oathtool(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is missing; CI must install the Debian package oathtool")
		}
		t.Skip("needs oathtool (Debian package oathtool)")
	}
	out, err := exec.Command("oathtool", args...).Output()
	if err != nil {
		t.Fatalf("oathtool %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func appCode(t *testing.T, key string, at time.Time) string {
	return oathtool(t, "--totp", "-b", key, "-N", fmt.Sprintf("@%d", at.Unix()))
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !securityinfo.IsCode(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestTOTPEnrolmentAndVerification(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		en, err := e.svc.BeginTOTP(ctx, e.tenant.ID, e.user.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(en.URI, "otpauth://totp/") || len(en.QRPNG) == 0 || !strings.Contains(en.URI, "secret="+en.SecretKey) {
			t.Fatalf("enrolment %+v", en)
		}
		// Not usable until proven.
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, en.SecretKey, e.now)); err == nil {
			t.Fatal("a pending enrolment verified a code")
		}
		if _, err := e.svc.FinishTOTP(ctx, admin, e.tenant.ID, e.user.ID, en.MethodID, "000000", true); !securityinfo.IsCode(err, securityinfo.CodeInvalid) && appCode(t, en.SecretKey, e.now) != "000000" {
			t.Fatalf("wrong code finished the enrolment: %v", err)
		}
		m, err := e.svc.FinishTOTP(ctx, admin, e.tenant.ID, e.user.ID, en.MethodID, appCode(t, en.SecretKey, e.now), true)
		if err != nil || m.State != store.MethodActive {
			t.Fatalf("finish: %v %+v", err, m)
		}
		ms, _ := e.svc.Methods(ctx, e.tenant.ID, e.user.ID)
		if len(ms) != 1 || !ms[0].IsDefault {
			t.Fatal("the guided authenticator did not become the default")
		}
		// The code that finished the enrolment cannot be used again.
		_, err = e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, en.SecretKey, e.now))
		wantCode(t, err, securityinfo.CodeReplayed)

		// A phone clock off by one step either way still works; two steps do not.
		e.now = e.now.Add(5 * time.Minute)
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, en.SecretKey, e.now.Add(-30*time.Second))); err != nil {
			t.Fatalf("code from one step back: %v", err)
		}
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, en.SecretKey, e.now.Add(30*time.Second))); err != nil {
			t.Fatalf("code from one step ahead: %v", err)
		}
		e.now = e.now.Add(5 * time.Minute)
		_, err = e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, en.SecretKey, e.now.Add(-60*time.Second)))
		wantCode(t, err, securityinfo.CodeInvalid)
		for _, bad := range []string{"12345", "1234567", "12a456", "", "１２３４５６"} {
			_, err = e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, bad)
			wantCode(t, err, securityinfo.CodeFormat)
		}
	})
}

// TestTOTPConcurrentReplay fires one valid code from 50 goroutines:
// exactly one sign-in may succeed (P-2.6).
func TestTOTPConcurrentReplay(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.svc.Config.FailureLimit = 1000
		en, _ := e.svc.BeginTOTP(ctx, e.tenant.ID, e.user.ID, "")
		if _, err := e.svc.FinishTOTP(ctx, admin, e.tenant.ID, e.user.ID, en.MethodID, appCode(t, en.SecretKey, e.now), true); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(time.Minute)
		code := appCode(t, en.SecretKey, e.now)
		var ok, replayed atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, code)
				switch {
				case err == nil:
					ok.Add(1)
				case securityinfo.IsCode(err, securityinfo.CodeReplayed):
					replayed.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || replayed.Load() != 49 {
			t.Fatalf("%d accepted, %d refused as replays", ok.Load(), replayed.Load())
		}
	})
}

func TestFiveAuthenticatorLimit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for i := range 5 {
			en, err := e.svc.BeginTOTP(ctx, e.tenant.ID, e.user.ID, fmt.Sprintf("app %d", i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.FinishTOTP(ctx, admin, e.tenant.ID, e.user.ID, en.MethodID, appCode(t, en.SecretKey, e.now), false); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.svc.BeginTOTP(ctx, e.tenant.ID, e.user.ID, "sixth")
		ae, ok := apperr.As(err)
		want := "You can't set up another authenticator app because you already have five authenticator apps or hardware tokens. Please contact your administrator to delete one of your authenticator apps or hardware tokens."
		if !ok || ae.Kind != apperr.Conflict || ae.Message != want {
			t.Fatalf("sixth authenticator: %v", err)
		}
		var le *method.LimitError
		if !asLimit(err, &le) || !strings.HasPrefix(le.Message("sv"), "Du kan inte konfigurera") {
			t.Fatal("no Swedish text")
		}
	})
}

func asLimit(err error, le **method.LimitError) bool {
	ae, ok := apperr.As(err)
	if !ok {
		return false
	}
	l, ok := ae.Err.(*method.LimitError)
	*le = l
	return ok
}

const tokens = `upn,serial number,secret key,time interval,manufacturer,model
anna@contoso.com,HW-0001,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Contoso,T1
,HW-0002,KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU,60,Contoso,T2
`

func TestHardwareTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		bad := tokens + "nobody@contoso.com,HW-0003,JBSWY3DPEHPK3PXP,30,Contoso,T1\n,HW-0004,not*base32,30,Contoso,T1\n,HW-0005,JBSWY3DPEHPK3PXP,45,Contoso,T1\n"
		rep, err := e.svc.ImportHardwareTokens(ctx, admin, e.tenant.ID, strings.NewReader(bad), false)
		if err != nil || rep.Imported != 0 || len(rep.Errors) != 3 || rep.Errors[0].Line != 4 || rep.Errors[2].Line != 6 {
			t.Fatalf("bad import: %+v %v", rep, err)
		}
		p, _ := e.st.ListMethodsByKind(ctx, e.tenant.ID, "hardwareOath", store.ListQuery{})
		if len(p.Items) != 0 {
			t.Fatal("a refused import wrote tokens")
		}
		rep, err = e.svc.ImportHardwareTokens(ctx, admin, e.tenant.ID, strings.NewReader(tokens), false)
		if err != nil || rep.Imported != 2 || rep.Assigned != 1 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		rep, _ = e.svc.ImportHardwareTokens(ctx, admin, e.tenant.ID, strings.NewReader(tokens), false)
		if rep.Imported != 0 || len(rep.Errors) != 2 {
			t.Fatalf("re-import of the same serials: %+v", rep)
		}
		// Activation needs a current code from the token.
		_, err = e.svc.ActivateHardwareToken(ctx, admin, e.tenant.ID, e.user.ID, "HW-0001", "123456")
		if err == nil {
			t.Fatal("activated with a wrong code")
		}
		code := appCode(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", e.now)
		m, err := e.svc.ActivateHardwareToken(ctx, admin, e.tenant.ID, e.user.ID, "hw-0001", code)
		if err != nil || m.State != store.MethodActive {
			t.Fatalf("activate: %v %+v", err, m)
		}
		// The unassigned 60-second token is claimed by its activation.
		code60 := oathtool(t, "--totp", "-s", "60", "-b", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", "-N", fmt.Sprintf("@%d", e.now.Unix()))
		if _, err := e.svc.ActivateHardwareToken(ctx, admin, e.tenant.ID, e.user.ID, "HW-0002", code60); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(2 * time.Minute)
		if _, err := e.svc.VerifyTOTP(ctx, e.tenant.ID, e.user.ID, appCode(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", e.now)); err != nil {
			t.Fatalf("sign-in code from the token: %v", err)
		}
		ms, _ := e.svc.Methods(ctx, e.tenant.ID, e.user.ID)
		if len(ms) != 2 {
			t.Fatalf("%d methods", len(ms))
		}
	})
}

func TestSMSCodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		send := func() string {
			t.Helper()
			id, err := e.svc.SendCode(ctx, e.tenant.ID, securityinfo.CodeRequest{UserID: e.user.ID, Channel: delivery.ChannelSMS,
				Destination: "+46 70-123 45 67", Purpose: "mfa", Locale: "sv"})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		latest := func() string {
			m, ok, err := delivery.LatestTo(e.outbox, "+46701234567")
			if err != nil || !ok || !strings.Contains(m.Text, "verifieringskod") {
				t.Fatalf("outbox: %v %v %+v", ok, err, m)
			}
			return m.Code
		}
		id := send()
		code := latest()
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		_, err := e.svc.VerifyCode(ctx, e.tenant.ID, id, wrong)
		wantCode(t, err, securityinfo.CodeInvalid)
		if _, err := e.svc.VerifyCode(ctx, e.tenant.ID, id, code); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.VerifyCode(ctx, e.tenant.ID, id, code) // single use
		if err == nil {
			t.Fatal("a code was accepted twice")
		}
		_, err = e.svc.VerifyCode(ctx, e.tenant.ID, id, "12a456")
		if err == nil {
			t.Fatal("letters accepted")
		}

		// Five wrong tries use up a code.
		id = send()
		code = latest()
		for range 5 {
			e.svc.VerifyCode(ctx, e.tenant.ID, id, wrong)
		}
		_, err = e.svc.VerifyCode(ctx, e.tenant.ID, id, code)
		if ae, _ := apperr.As(err); ae == nil || ae.Code != "codeAttemptsExhausted" {
			t.Fatalf("after 5 wrong codes: %v", err)
		}

		// Codes expire after ten minutes.
		id = send()
		code = latest()
		e.now = e.now.Add(11 * time.Minute)
		if _, err := e.svc.VerifyCode(ctx, e.tenant.ID, id, code); err == nil {
			t.Fatal("an expired code was accepted")
		}
	})
}

func TestSendLimitsAndFailureCount(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		req := securityinfo.CodeRequest{UserID: e.user.ID, Channel: delivery.ChannelEmail, Destination: "anna@example.com", Purpose: "sspr"}
		var ids []string
		for range 5 {
			id, err := e.svc.SendCode(ctx, e.tenant.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		_, err := e.svc.SendCode(ctx, e.tenant.ID, req)
		wait, ok := securityinfo.RetryAfter(err)
		if !ok || wait <= 0 || wait > 15*time.Minute || !strings.Contains(err.Error(), "Try again in") {
			t.Fatalf("sixth send: %v", err)
		}
		// Wrong codes count against the user across codes: a new code
		// does not reset them.
		for i := range 10 {
			_, err := e.svc.VerifyCode(ctx, e.tenant.ID, ids[i%5], "999999")
			if err == nil {
				t.Fatal("999999 accepted") // astronomically unlikely
			}
		}
		_, err = e.svc.VerifyCode(ctx, e.tenant.ID, ids[0], "999999")
		if _, ok := securityinfo.RetryAfter(err); !ok {
			t.Fatalf("after 10 failures: %v", err)
		}
		for _, bad := range []string{"0701234567", "+46 abc", "+999 12345", "+46 70123456789012345"} {
			if _, err := e.svc.SendCode(ctx, e.tenant.ID, securityinfo.CodeRequest{UserID: e.user.ID, Channel: delivery.ChannelSMS, Destination: bad}); err == nil {
				t.Errorf("phone %q accepted", bad)
			}
		}
	})
}

func TestPhonesAndEmail(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m, err := e.svc.SetPhone(ctx, admin, e.tenant.ID, e.user.ID, "mobile", "+46 70-123 45 67")
		if err != nil || m.Props.PhoneNumber != "+46701234567" || securityinfo.DisplayPhone(m.Props.PhoneNumber) != "+46 701234567" {
			t.Fatalf("SetPhone: %v %+v", err, m)
		}
		if _, err := e.svc.SetPhone(ctx, admin, e.tenant.ID, e.user.ID, "mobile", "+46 70x12"); err == nil {
			t.Fatal("extension on a mobile accepted")
		}
		o, err := e.svc.SetPhone(ctx, admin, e.tenant.ID, e.user.ID, "office", "+46 8 123 456 78x123")
		if err != nil || securityinfo.DisplayPhone(o.Props.PhoneNumber) != "+46 812345678x123" {
			t.Fatalf("office: %v %+v", err, o)
		}
		if _, err := e.svc.SetEmail(ctx, admin, e.tenant.ID, e.user.ID, "Anna <anna@example.com>"); err == nil {
			t.Fatal("display-name address accepted")
		}
		if _, err := e.svc.SetEmail(ctx, admin, e.tenant.ID, e.user.ID, "anna@example.com"); err != nil {
			t.Fatal(err)
		}
		ms, _ := e.svc.Methods(ctx, e.tenant.ID, e.user.ID)
		def := ""
		for _, m := range ms {
			if m.IsDefault {
				def = m.Props.PhoneType
			}
		}
		if len(ms) != 3 || def != "mobile" {
			t.Fatalf("methods %d, default %q", len(ms), def)
		}
		// A stranger may not change Anna's methods.
		if _, err := e.svc.SetPhone(ctx, directory.Actor{UserID: "someone-else"}, e.tenant.ID, e.user.ID, "mobile", "+46 701234568"); err == nil {
			t.Fatal("another user changed the phone")
		}
	})
}

func TestDeleteMovesDefault(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.svc.SetPhone(ctx, admin, e.tenant.ID, e.user.ID, "mobile", "+46 701234567")
		en, _ := e.svc.BeginTOTP(ctx, e.tenant.ID, e.user.ID, "")
		app, err := e.svc.FinishTOTP(ctx, admin, e.tenant.ID, e.user.ID, en.MethodID, appCode(t, en.SecretKey, e.now), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx, admin, e.tenant.ID, e.user.ID, app.ID); err != nil {
			t.Fatal(err)
		}
		ms, _ := e.svc.Methods(ctx, e.tenant.ID, e.user.ID)
		if len(ms) != 1 || !ms[0].IsDefault || ms[0].Kind != "phone" {
			t.Fatalf("after deleting the default: %+v", ms)
		}
		if err := e.svc.Delete(ctx, admin, e.tenant.ID, e.user.ID, app.ID); err == nil {
			t.Fatal("deleted twice")
		}
		email, _ := e.svc.SetEmail(ctx, admin, e.tenant.ID, e.user.ID, "anna@example.com")
		if err := e.svc.SetDefault(ctx, admin, e.tenant.ID, e.user.ID, email.ID); err == nil {
			t.Fatal("an email (reset only) became the default")
		}
	})
}

func TestTemporaryAccessPass(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		once := true
		for _, bad := range []securityinfo.TAPRequest{{LifetimeMinutes: 30}, {LifetimeMinutes: 481}} {
			if _, _, err := e.svc.IssueTAP(ctx, admin, e.tenant.ID, e.user.ID, bad); err == nil {
				t.Fatalf("lifetime %d accepted", bad.LifetimeMinutes)
			}
		}
		m, pass, err := e.svc.IssueTAP(ctx, admin, e.tenant.ID, e.user.ID, securityinfo.TAPRequest{UsableOnce: &once})
		if err != nil || len(pass) != 8 || m.Props.LifetimeMinutes != 60 || strings.Contains(m.Secret, pass) {
			t.Fatalf("issue: %v %q %+v", err, pass, m)
		}
		if _, _, err := e.svc.IssueTAP(ctx, admin, e.tenant.ID, e.user.ID, securityinfo.TAPRequest{}); err == nil {
			t.Fatal("a second TAP was issued")
		}
		if _, err := e.svc.VerifyTAP(ctx, e.tenant.ID, e.user.ID, "wrongpass"); err == nil {
			t.Fatal("wrong pass accepted")
		}
		if _, err := e.svc.VerifyTAP(ctx, e.tenant.ID, e.user.ID, pass); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.VerifyTAP(ctx, e.tenant.ID, e.user.ID, pass); err == nil {
			t.Fatal("a one-time pass was used twice")
		}
		got, _ := e.st.GetMethod(ctx, e.tenant.ID, m.ID)
		if r, _ := e.svc.TAPReason(ctx, got); r != securityinfo.ReasonOneTimeUse {
			t.Fatalf("reason %s", r)
		}
		// A used pass is replaced by a new one; a multi-use pass expires.
		m2, pass2, err := e.svc.IssueTAP(ctx, admin, e.tenant.ID, e.user.ID, securityinfo.TAPRequest{LifetimeMinutes: 120})
		if err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(119 * time.Minute)
		if _, err := e.svc.VerifyTAP(ctx, e.tenant.ID, e.user.ID, pass2); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(2 * time.Minute)
		if _, err := e.svc.VerifyTAP(ctx, e.tenant.ID, e.user.ID, pass2); err == nil {
			t.Fatal("an expired pass was accepted")
		}
		if r, _ := e.svc.TAPReason(ctx, m2); r != securityinfo.ReasonExpired {
			t.Fatalf("reason %s", r)
		}
		helpdesk := directory.Actor{UserID: "h", Roles: []string{directory.RoleReportsReader}}
		if _, _, err := e.svc.IssueTAP(ctx, helpdesk, e.tenant.ID, e.user.ID, securityinfo.TAPRequest{}); err == nil {
			t.Fatal("a reports reader issued a TAP")
		}
	})
}

func TestSecurityQuestions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		qs, required, err := e.svc.Questions(ctx, e.tenant.ID, "sv")
		if err != nil || required != 3 || len(qs) < 3 || !strings.HasPrefix(qs[0].Text, "I vilken") {
			t.Fatalf("questions: %v %d %+v", err, required, qs)
		}
		answers := map[string]string{qs[0].ID: "Göteborg", qs[1].ID: "Fido the Dog", qs[2].ID: "Ekbacka skola"}
		if _, err := e.svc.RegisterAnswers(ctx, admin, e.tenant.ID, e.user.ID, map[string]string{qs[0].ID: "x"}); err == nil {
			t.Fatal("too few answers accepted")
		}
		if _, err := e.svc.RegisterAnswers(ctx, admin, e.tenant.ID, e.user.ID, answers); err != nil {
			t.Fatal(err)
		}
		// Case, spacing and punctuation do not matter.
		ok := map[string]string{qs[0].ID: "  GÖTEBORG ", qs[1].ID: "fido the dog!", qs[2].ID: "ekbacka  skola"}
		if err := e.svc.VerifyAnswers(ctx, e.tenant.ID, e.user.ID, ok); err != nil {
			t.Fatal(err)
		}
		ok[qs[2].ID] = "Other"
		if err := e.svc.VerifyAnswers(ctx, e.tenant.ID, e.user.ID, ok); err == nil {
			t.Fatal("a wrong answer passed")
		}
	})
}
