package signin_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// Bad input to every endpoint of the JSON sign-in API
// (docs/signin-api.md): each is answered with a clear 4xx and
// {"error": {"code", "message"}} — never a 500 — and changes nothing: the
// flow keeps its state and version, and no session is issued.

// biUsers of the bad-input tenant.
const (
	biPlain = "plain@contoso.com" // password only
	biMFA   = "mfa@contoso.com"   // per-user MFA, authenticator app and mobile phone
	biReg   = "reg@contoso.com"   // per-user MFA, nothing registered: must register
)

type biEnv struct {
	*apiEnv
	users map[string]store.User
	sec   []byte // biMFA's app secret
}

func newBIEnv(t *testing.T, s store.Store) *biEnv {
	e := &biEnv{apiEnv: newAPIEnv(t, s), users: map[string]store.User{}}
	tid := e.tenant.ID
	e.securityDefaults(tid, false)
	for _, upn := range []string{biPlain, biMFA, biReg} {
		e.users[upn] = e.user(tid, upn)
	}
	e.sec = e.registerTOTP(tid, e.users[biMFA])
	if _, err := e.a.SecurityInfo.SetPhone(e.ctx, apiOperator, tid, e.users[biMFA].ID, method.PhoneMobile, "+46701234567"); err != nil {
		t.Fatal(err)
	}
	e.perUserMFA(tid, e.users[biMFA])
	e.perUserMFA(tid, e.users[biReg])
	return e
}

// flowAt starts a flow for upn and takes it to the state its user goes
// to after the password.
func (e *biEnv) flowAt(upn, state string) string {
	e.t.Helper()
	id := e.start(upn, "")
	if state == "password" {
		return id
	}
	r := e.step(id, "password", map[string]any{"password": apiPassword}, "")
	if r.Status != http.StatusOK || r.View.State != state {
		e.t.Fatalf("%s: password: %s, want state %s", upn, r, state)
	}
	return id
}

// unchanged runs fn and checks that the flow and the user's sessions are
// as before.
func (e *biEnv) unchanged(upn, flowID string, fn func()) {
	e.t.Helper()
	before := e.flow(e.tenant.ID, flowID)
	sessions := e.liveSessions(e.tenant.ID, e.users[upn].ID)
	fn()
	after := e.flow(e.tenant.ID, flowID)
	if after.State != before.State || after.Version != before.Version || !bytes.Equal(after.Data, before.Data) {
		e.t.Fatalf("flow changed: %s v%d → %s v%d\n%s\n%s", before.State, before.Version, after.State, after.Version, before.Data, after.Data)
	}
	if n := e.liveSessions(e.tenant.ID, e.users[upn].ID); n != sessions {
		e.t.Fatalf("sessions: %d → %d", sessions, n)
	}
}

func TestBadInput(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newBIEnv(t, b.New(t))
			run := func(name string, fn func(t *testing.T, e *biEnv)) {
				t.Run(name, func(t *testing.T) {
					// Each subtest reports through its own t.
					sub := *e
					env := *e.apiEnv
					env.t = t
					sub.apiEnv = &env
					fn(t, &sub)
				})
			}

			run("unknown flow", func(t *testing.T, e *biEnv) {
				for _, id := range []string{"Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXU", strings.Repeat("a", 200), "-", "%20"} {
					apiWantError(t, e.step(id, "password", map[string]any{"password": apiPassword}, ""), http.StatusNotFound, "flowExpired")
					apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id}), http.StatusNotFound, "flowExpired")
				}
				// An escaped slash makes the rest of the id a step name.
				apiWantError(t, e.step("a%2Fb", "password", map[string]any{"password": apiPassword}, ""), http.StatusNotFound, "notFound")
				apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "signin/" + strings.Repeat("b", 200)}), http.StatusNotFound, "flowExpired")
			})

			run("expired flow", func(t *testing.T, e *biEnv) {
				id := e.start(biPlain, "")
				e.clock.Advance(16 * time.Minute)
				n := e.liveSessions(e.tenant.ID, e.users[biPlain].ID)
				apiWantError(t, e.step(id, "password", map[string]any{"password": apiPassword}, ""), http.StatusNotFound, "flowExpired")
				apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id}), http.StatusNotFound, "flowExpired")
				if e.liveSessions(e.tenant.ID, e.users[biPlain].ID) != n {
					t.Fatal("an expired flow issued a session")
				}
			})

			run("step out of order", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biPlain, "password")
				e.unchanged(biPlain, id, func() {
					for _, s := range []string{"verify", "select", "register/begin", "register/finish", "register/skip", "password/change"} {
						apiWantError(t, e.step(id, s, map[string]any{}, ""), http.StatusConflict, "stepOutOfOrder")
					}
				})
				id = e.flowAt(biMFA, "mfa")
				e.unchanged(biMFA, id, func() {
					apiWantError(t, e.step(id, "password", map[string]any{"password": apiPassword}, ""), http.StatusConflict, "stepOutOfOrder")
					apiWantError(t, e.step(id, "tap", map[string]any{"temporaryAccessPass": "x"}, ""), http.StatusConflict, "stepOutOfOrder")
					apiWantError(t, e.step(id, "register/begin", nil, ""), http.StatusConflict, "stepOutOfOrder")
				})
				id = e.flowAt(biReg, "register")
				e.unchanged(biReg, id, func() {
					apiWantError(t, e.step(id, "register/finish", map[string]any{"code": "123456"}, ""), http.StatusBadRequest, "registrationNotStarted")
					apiWantError(t, e.step(id, "verify", map[string]any{"code": "123456"}, ""), http.StatusConflict, "stepOutOfOrder")
				})
			})

			run("register/skip when not skippable", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biReg, "register")
				if r := e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id}); r.View.Register == nil || r.View.Register.Skippable {
					t.Fatalf("view %s", r)
				}
				e.unchanged(biReg, id, func() {
					apiWantError(t, e.step(id, "register/skip", nil, ""), http.StatusBadRequest, "registrationRequired")
				})
			})

			run("replayed verify", func(t *testing.T, e *biEnv) {
				e.clock.Advance(30 * time.Second) // a code not used before
				id := e.flowAt(biMFA, "mfa")
				code := e.code(e.sec)
				r := e.step(id, "verify", map[string]any{"code": code}, "")
				if r.Status != http.StatusOK || r.View.State != "done" || r.View.Session == nil {
					t.Fatalf("verify: %s", r)
				}
				e.unchanged(biMFA, id, func() {
					apiWantError(t, e.step(id, "verify", map[string]any{"code": code}, ""), http.StatusConflict, "stepOutOfOrder")
				})
				// The same code on a new flow is a replay of the code.
				id = e.flowAt(biMFA, "mfa")
				e.unchanged(biMFA, id, func() {
					apiWantError(t, e.step(id, "verify", map[string]any{"code": code}, ""), http.StatusBadRequest, securityinfo.CodeReplayed)
				})
			})

			run("two password steps at once on one flow", func(t *testing.T, e *biEnv) {
				for range 4 {
					id := e.flowAt(biPlain, "password")
					before := e.liveSessions(e.tenant.ID, e.users[biPlain].ID)
					var rs [2]apiResp
					var wg sync.WaitGroup
					gate := make(chan struct{})
					for i := range rs {
						wg.Go(func() {
							<-gate
							rs[i] = e.step(id, "password", map[string]any{"password": apiPassword}, "")
						})
					}
					close(gate)
					wg.Wait()
					won, lost := 0, 0
					for _, r := range rs {
						switch {
						case r.Status == http.StatusOK && r.View.State == "done":
							won++
						case r.Status == http.StatusConflict && (r.Err.Code == "flowChanged" || r.Err.Code == "stepOutOfOrder"):
							apiWantError(t, r, http.StatusConflict, r.Err.Code)
							lost++
						default:
							t.Errorf("unexpected answer %s", r)
						}
					}
					if won != 1 || lost != 1 {
						t.Fatalf("%d won, %d lost: %s / %s", won, lost, rs[0], rs[1])
					}
					if n := e.liveSessions(e.tenant.ID, e.users[biPlain].ID); n != before+1 {
						t.Fatalf("two racing password steps left %d new sessions, want 1", n-before)
					}
				}
			})

			run("select an option not offered", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biMFA, "mfa")
				r := e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id})
				if r.View.MFA == nil || strings.Join(r.View.MFA.Options, ",") != "oath,sms,voiceMobile" {
					t.Fatalf("view %s", r)
				}
				e.unchanged(biMFA, id, func() {
					for _, o := range []string{"voiceOffice", "fido2", "temporaryAccessPass", "", "OATH", strings.Repeat("x", 300)} {
						apiWantError(t, e.step(id, "select", map[string]any{"option": o}, ""), http.StatusBadRequest, "")
					}
					apiWantError(t, e.step(id, "select", map[string]any{"option": 7}, ""), http.StatusBadRequest, "invalidRequest")
				})
			})

			run("verify with a malformed code", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biMFA, "mfa")
				e.unchanged(biMFA, id, func() {
					for _, c := range []string{"abcdef", "12345", "1234567", "", "12 34 56x", "١٢٣٤٥٦", strings.Repeat("9", 5000)} {
						r := e.step(id, "verify", map[string]any{"code": c}, "")
						apiWantError(t, r, http.StatusBadRequest, "")
						if r.Err.Code != securityinfo.CodeFormat && r.Err.Code != securityinfo.CodeInvalid {
							t.Fatalf("code %q: %s", c, r)
						}
					}
				})
			})

			run("unknown step", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biPlain, "password")
				e.unchanged(biPlain, id, func() {
					for _, s := range []string{"passwd", "register", "register/begin/now", "PASSWORD", "password/change/now"} {
						r := e.step(id, s, map[string]any{"password": apiPassword}, "")
						if r.Status != http.StatusNotFound && r.Status != http.StatusConflict {
							t.Fatalf("step %q: %s", s, r)
						}
						apiWantError(t, r, r.Status, "")
					}
					apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id + "/password"}), http.StatusNotFound, "notFound")
					apiWantError(t, e.do(apiReq{Method: http.MethodPut, Path: "signin/" + id}), http.StatusNotFound, "notFound")
					apiWantError(t, e.do(apiReq{Method: http.MethodDelete, Path: "signin"}), http.StatusNotFound, "notFound")
				})
			})

			run("bad bodies", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biPlain, "password")
				big := `{"password":"` + strings.Repeat("x", 70<<10) + `"}`
				e.unchanged(biPlain, id, func() {
					for _, c := range []struct {
						name, ct, body string
						status         int
						code           string
					}{
						{"malformed JSON", "", `{"password":`, 400, "invalidRequest"},
						{"not an object", "", `["x"]`, 400, "invalidRequest"},
						{"wrong type", "", `{"password": 12}`, 400, "invalidRequest"},
						{"unknown field", "", `{"password":"x","admin":true}`, 400, "invalidRequest"},
						{"trailing data", "", `{"password":"x"} {}`, 400, "invalidRequest"},
						{"text/plain", "text/plain", `{"password":"` + apiPassword + `"}`, 400, "invalidRequest"},
						{"form", "application/x-www-form-urlencoded", "password=" + apiPassword, 400, "invalidRequest"},
						{"bad media type", "application/json; =", `{"password":"` + apiPassword + `"}`, 400, "invalidRequest"},
						{"over 64 KiB", "", big, 413, ""},
					} {
						r := e.do(apiReq{Path: "signin/" + id + "/password", ContentType: c.ct, Body: c.body})
						apiWantError(t, r, c.status, c.code)
					}
					// The same at the start of a flow.
					for _, body := range []string{`{"username":`, `{"username":"a@contoso.com","x":1}`, big} {
						r := e.do(apiReq{Path: "signin", Body: body})
						if r.Status != 400 && r.Status != 413 {
							t.Fatalf("start with %.40q: %s", body, r)
						}
						apiWantError(t, r, r.Status, "")
					}
					apiWantError(t, e.do(apiReq{Path: "signin", ContentType: "text/plain", Body: `{"username":"plain@contoso.com"}`}), 400, "invalidRequest")
				})
			})

			run("bad user names", func(t *testing.T, e *biEnv) {
				long := strings.Repeat("a", 114-len("@contoso.com")) + "@contoso.com"
				for _, u := range []any{"", "   ", long, strings.Repeat("x", 5000), nil} {
					r := e.do(apiReq{Path: "signin", Body: map[string]any{"username": u}})
					apiWantError(t, r, http.StatusBadRequest, "")
				}
				apiWantError(t, e.do(apiReq{Path: "signin", Body: `{}`}), http.StatusBadRequest, "")
				apiWantError(t, e.do(apiReq{Path: "signin"}), http.StatusBadRequest, "") // no body at all
				// 113 characters is still a user name.
				ok := strings.Repeat("a", 113-len("@contoso.com")) + "@contoso.com"
				if r := e.do(apiReq{Path: "signin", Body: map[string]any{"username": ok}}); r.Status != http.StatusCreated {
					t.Fatalf("113 characters: %s", r)
				}
			})

			run("sessions", func(t *testing.T, e *biEnv) {
				apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "session"}), http.StatusUnauthorized, "noSession")
				for _, h := range []string{"Session nope", "Session ", "Bearer abc", "Session " + strings.Repeat("z", 300), "session x y", "Session\tabc"} {
					r := e.do(apiReq{Method: http.MethodGet, Path: "session", Header: map[string]string{"Authorization": h}})
					apiWantError(t, r, http.StatusUnauthorized, "noSession")
				}
				r := e.do(apiReq{Method: http.MethodGet, Path: "session", Header: map[string]string{"Cookie": "vakt_session=forged"}})
				apiWantError(t, r, http.StatusUnauthorized, "noSession")

				r = e.password(biPlain, apiPassword, "")
				apiWantDone(t, r)
				auth := map[string]string{"Authorization": "Session " + r.View.Session.Token}
				if r := e.do(apiReq{Method: http.MethodGet, Path: "session", Header: auth}); r.Status != http.StatusOK {
					t.Fatalf("session: %s", r)
				}

				// A token of tenant A is nothing on tenant B.
				other := e.newTenant("fabrikam.com")
				for _, q := range []apiReq{{Method: http.MethodGet, Path: "session"}, {Path: "signout"}} {
					q.Tenant, q.Header = other.ID, auth
					apiWantError(t, e.do(q), http.StatusUnauthorized, "noSession")
				}
				if r := e.do(apiReq{Method: http.MethodGet, Path: "session", Header: auth}); r.Status != http.StatusOK {
					t.Fatalf("session after tenant B's sign-out: %s", r)
				}

				if r := e.do(apiReq{Path: "signout", Header: auth}); r.Status != http.StatusNoContent {
					t.Fatalf("sign-out: %s", r)
				}
				apiWantError(t, e.do(apiReq{Path: "signout", Header: auth}), http.StatusUnauthorized, "noSession")
				apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "session", Header: auth}), http.StatusUnauthorized, "noSession")
				apiWantError(t, e.do(apiReq{Path: "signout"}), http.StatusUnauthorized, "noSession")
			})

			run("TAP while the TAP method is disabled", func(t *testing.T, e *biEnv) {
				u := e.users[biPlain]
				_, pass, err := e.a.SecurityInfo.IssueTAP(e.ctx, apiOperator, e.tenant.ID, u.ID, securityinfo.TAPRequest{})
				if err != nil {
					t.Fatal(err)
				}
				id := e.flowAt(biPlain, "password")
				var wrong apiResp
				e.unchanged(biPlain, id, func() {
					wrong = e.step(id, "tap", map[string]any{"temporaryAccessPass": "WRONG-PASS"}, "")
					apiWantError(t, wrong, http.StatusBadRequest, "invalidCredentials")
				})
				e.disableTAP()
				e.unchanged(biPlain, id, func() {
					r := e.step(id, "tap", map[string]any{"temporaryAccessPass": pass}, "")
					if r.Status != wrong.Status || r.Err != wrong.Err {
						t.Fatalf("disabled TAP %s, wrong TAP %s", r, wrong)
					}
				})
			})
		})
	}
}

// TestBadInputUnknownTenant: the sign-in API of a tenant that does not
// exist answers in the API's own error shape (docs/signin-api.md: errors
// are {"error": {"code", "message"}}), like every other error of it.
func TestBadInputUnknownTenant(t *testing.T) {
	e := newAPIEnv(t, storetest.SQLite(t))
	for _, q := range []apiReq{
		{Tenant: "no-such-tenant.example", Path: "signin", Body: map[string]any{"username": biPlain}},
		{Tenant: "no-such-tenant.example", Method: http.MethodGet, Path: "session"},
		{Tenant: "00000000-0000-0000-0000-000000000000", Path: "signin/abc/password", Body: map[string]any{"password": "x"}},
	} {
		apiWantError(t, e.do(q), http.StatusNotFound, "")
	}
}

// TestBadInputControlBytes: a NUL byte or invalid UTF-8 in a flow id, a
// tenant or a user name is refused like any other bad value (no 500,
// though PostgreSQL refuses such text), and an app id with a NUL in it
// does not take other users' entries out of the sign-in log.
func TestBadInputControlBytes(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newBIEnv(t, b.New(t))
			sub := func(name string, fn func(t *testing.T, e *biEnv)) {
				t.Run(name, func(t *testing.T) {
					env := *e.apiEnv
					env.t = t
					fn(t, &biEnv{apiEnv: &env, users: e.users, sec: e.sec})
				})
			}
			for _, id := range []string{"%00", "%FF", "abc%00def"} {
				sub("flow id "+id, func(t *testing.T, e *biEnv) {
					apiWantError(t, e.step(id, "password", map[string]any{"password": apiPassword}, ""), http.StatusNotFound, "flowExpired")
					apiWantError(t, e.do(apiReq{Method: http.MethodGet, Path: "signin/" + id}), http.StatusNotFound, "flowExpired")
				})
			}
			sub("tenant %00", func(t *testing.T, e *biEnv) {
				r := e.do(apiReq{Tenant: "%00", Path: "signin", Body: map[string]any{"username": biPlain}})
				if r.Status != http.StatusNotFound {
					t.Fatalf("tenant NUL: %s", r)
				}
			})
			for _, name := range []string{"\\u0000", "plain\\u0000@contoso.com"} {
				sub("user name "+name, func(t *testing.T, e *biEnv) {
					r := e.do(apiReq{Path: "signin", Body: `{"username":"` + name + `"}`})
					if r.Status == http.StatusCreated {
						r = e.step(r.View.FlowID, "password", map[string]any{"password": apiPassword}, "")
						apiWantError(t, r, http.StatusBadRequest, "invalidCredentials")
						return
					}
					apiWantError(t, r, http.StatusBadRequest, "")
				})
			}
			sub("a bad entry does not take others out of the sign-in log", func(t *testing.T, e *biEnv) {
				successes := func() int { return e.logCodes(biPlain)[0] }
				before := successes()
				// A NUL in the app id reaches the sign-in log with the
				// failure; a sign-in logged in the same batch must survive it.
				r := e.do(apiReq{Path: "signin", Body: `{"username":"` + biPlain + `","appId":"\u0000"}`})
				if r.Status == http.StatusCreated {
					apiWantDone(t, e.password(biPlain, apiPassword, ""))
					apiWantWrong(t, e.step(r.View.FlowID, "password", map[string]any{"password": "wrong"}, ""))
				} else {
					apiWantError(t, r, http.StatusBadRequest, "")
					apiWantDone(t, e.password(biPlain, apiPassword, ""))
				}
				if n := successes(); n != before+1 {
					t.Fatalf("the successful sign-in is missing from the sign-in log (%d → %d entries); writer stats %+v",
						before, n, e.a.SignInLog.Stats())
				}
			})
			sub("password", func(t *testing.T, e *biEnv) {
				id := e.flowAt(biPlain, "password")
				e.unchanged(biPlain, id, func() {
					r := e.do(apiReq{Path: "signin/" + id + "/password", Body: `{"password":"\u0000x"}`})
					apiWantError(t, r, http.StatusBadRequest, "invalidCredentials")
				})
			})
		})
	}
}

// disableTAP turns the Temporary Access Pass off in the methods policy.
func (e *apiEnv) disableTAP() {
	e.t.Helper()
	_, err := e.a.Policies.UpdateMethodConfig(e.ctx, apiOperator, e.tenant.ID, authpolicy.TemporaryAccessPass, authpolicy.Patch{JSON: []byte(`{
		"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": "disabled"}`)})
	if err != nil {
		e.t.Fatal(err)
	}
}
