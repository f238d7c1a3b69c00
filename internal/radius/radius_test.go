package radius_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/totp"
	vradius "github.com/vakt-id/vakt/internal/radius"
	"github.com/vakt-id/vakt/internal/radius/radiustest"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var op = directory.Actor{Operator: true}

const password = "Lila-Kor-Flyger-88"

// rig is a vakt app on one store with its RADIUS server on a loopback
// port, a fake clock for the engine and the methods, and a file outbox
// for text messages.
type rig struct {
	t      testing.TB
	ctx    context.Context
	a      *app.App
	srv    *vradius.Server
	addr   string
	tenant store.Tenant
	secret []byte
	outbox string
	mu     sync.Mutex
	now    time.Time
}

func (r *rig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

func newRig(t testing.TB, st store.Store, argonMemory, argonTime uint32) *rig {
	r := &rig{t: t, ctx: context.Background(), now: time.Now().UTC().Add(time.Minute).Truncate(30 * time.Second),
		secret: []byte("a-shared-secret-for-tests")}
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = argonMemory, argonTime
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	r.a = app.New(cfg, st, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.outbox = filepath.Join(t.TempDir(), "outbox")
	ob, err := delivery.NewFileOutbox(r.outbox)
	if err != nil {
		t.Fatal(err)
	}
	r.a.SecurityInfo.Sender = delivery.NewDevRouter(ob)
	r.a.SignIn.Now, r.a.SecurityInfo.Now, r.a.Policies.Now = r.clock, r.clock, r.clock
	if r.tenant, _, err = r.a.Admin.Init(r.ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.RADIUSClients().Add(r.ctx, op, r.tenant.ID, vradius.NewClient{Name: "Office VPN", Address: "127.0.0.1", Secret: string(r.secret)}); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = pc.LocalAddr().String()
	r.srv = r.a.NewRADIUS()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Serve(ctx, pc, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		r.a.SignInLog.Close(context.Background())
	})
	return r
}

// user creates a user with a password and an authenticator app (TOTP);
// it returns the app's secret.
func (r *rig) user(tenantID, upn string) (store.User, []byte) {
	r.t.Helper()
	u, err := r.a.Admin.CreateUser(r.ctx, op, tenantID, admin.NewUser{UPN: upn, Password: password})
	if err != nil {
		r.t.Fatal(err)
	}
	en, err := r.a.SecurityInfo.BeginTOTP(r.ctx, tenantID, u.ID, "")
	if err != nil {
		r.t.Fatal(err)
	}
	key, err := totp.DecodeSecret(en.SecretKey)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.a.SecurityInfo.FinishTOTP(r.ctx, op, tenantID, u.ID, en.MethodID, r.code(key), false); err != nil {
		r.t.Fatal(err)
	}
	r.advance(30 * time.Second) // the registration used this step's code
	return u, key
}

func (r *rig) enforceMFA(tenantID string, upns ...string) {
	r.t.Helper()
	if _, err := r.a.Admin.SetPerUserMFA(r.ctx, op, tenantID, upns, store.PerUserMFAEnforced); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) defaultsOff(tenantID string) {
	r.t.Helper()
	if err := r.a.Policies.SetSecurityDefaults(r.ctx, op, tenantID, false, "testing RADIUS", true); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) code(key []byte) string {
	return totp.Code(key, totp.Step(r.clock(), totp.AppParams()), totp.AppParams())
}

// The gateway's side of the exchange (shared with internal/app's tests).
var (
	request         = radiustest.Request
	sign            = radiustest.Sign
	checkResponseMA = radiustest.CheckResponse
	reply           = radiustest.Reply
)

// exchange sends p with layeh's client and returns the checked answer.
func (r *rig) exchange(p *radius.Packet) *radius.Packet {
	r.t.Helper()
	return radiustest.Exchange(r.t, r.addr, p, 0, 10*time.Second)
}

// send writes raw bytes from laddr and returns the answer, or nil when
// none comes within wait.
func (r *rig) send(laddr string, raw []byte, wait time.Duration) []byte {
	r.t.Helper()
	la, _ := net.ResolveUDPAddr("udp", laddr)
	ra, _ := net.ResolveUDPAddr("udp", r.addr)
	conn, err := net.DialUDP("udp", la, ra)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		r.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return buf[:n]
}

// challenge signs in with the password and expects an Access-Challenge.
func (r *rig) challenge(upn string) *radius.Packet {
	r.t.Helper()
	resp := r.exchange(request(r.t, r.secret, upn, password, nil))
	if resp.Code != radius.CodeAccessChallenge {
		r.t.Fatalf("%s: %v %q, want Access-Challenge", upn, resp.Code, reply(resp))
	}
	return resp
}

func (r *rig) counter(name string, labels ...string) float64 {
	r.t.Helper()
	return radiustest.Counter(r.t, r.a.Metrics, name, labels...)
}

func TestRADIUS(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), 8192, 1)
			r.defaultsOff(r.tenant.ID)
			_, key := r.user(r.tenant.ID, "anna@contoso.com")
			r.enforceMFA(r.tenant.ID, "anna@contoso.com")

			t.Run("password, challenge, code: accept", func(t *testing.T) {
				ch := r.challenge("anna@contoso.com")
				st, err := rfc2865.State_Lookup(ch)
				if err != nil || len(st) < 32 {
					t.Fatalf("State %q %v", st, err)
				}
				if !strings.Contains(reply(ch), "authenticator app") {
					t.Fatalf("Reply-Message %q", reply(ch))
				}
				resp := r.exchange(request(t, r.secret, "anna@contoso.com", r.code(key), st))
				if resp.Code != radius.CodeAccessAccept {
					t.Fatalf("%v %q", resp.Code, reply(resp))
				}
			})
			t.Run("the same code again: reject", func(t *testing.T) {
				ch := r.challenge("anna@contoso.com")
				resp := r.exchange(request(t, r.secret, "anna@contoso.com", r.code(key), rfc2865.State_Get(ch)))
				if resp.Code != radius.CodeAccessReject || reply(resp) == "" {
					t.Fatalf("replayed code: %v %q", resp.Code, reply(resp))
				}
			})
			t.Run("wrong code: reject", func(t *testing.T) {
				r.advance(30 * time.Second)
				ch := r.challenge("anna@contoso.com")
				wrong := []byte(r.code(key))
				wrong[0] = '0' + (wrong[0]-'0'+1)%10
				resp := r.exchange(request(t, r.secret, "anna@contoso.com", string(wrong), rfc2865.State_Get(ch)))
				if resp.Code != radius.CodeAccessReject || !strings.Contains(reply(resp), "code") {
					t.Fatalf("wrong code: %v %q", resp.Code, reply(resp))
				}
				// The flow is still at MFA; the right code finishes it.
				resp = r.exchange(request(t, r.secret, "anna@contoso.com", r.code(key), rfc2865.State_Get(ch)))
				if resp.Code != radius.CodeAccessAccept {
					t.Fatalf("right code after a wrong one: %v %q", resp.Code, reply(resp))
				}
			})
			t.Run("wrong password: reject", func(t *testing.T) {
				resp := r.exchange(request(t, r.secret, "anna@contoso.com", "not-the-password", nil))
				if resp.Code != radius.CodeAccessReject || reply(resp) != "Your user name or password is incorrect." {
					t.Fatalf("%v %q", resp.Code, reply(resp))
				}
				resp = r.exchange(request(t, r.secret, "nobody@contoso.com", "not-the-password", nil))
				if resp.Code != radius.CodeAccessReject || reply(resp) != "Your user name or password is incorrect." {
					t.Fatalf("unknown user: %v %q", resp.Code, reply(resp))
				}
			})
			t.Run("a State for another user or a forged one: reject", func(t *testing.T) {
				r.advance(30 * time.Second)
				ch := r.challenge("anna@contoso.com")
				resp := r.exchange(request(t, r.secret, "someone@contoso.com", r.code(key), rfc2865.State_Get(ch)))
				if resp.Code != radius.CodeAccessReject {
					t.Fatalf("State of another user: %v", resp.Code)
				}
				resp = r.exchange(request(t, r.secret, "anna@contoso.com", r.code(key), []byte("v1:00000000:AAAA")))
				if resp.Code != radius.CodeAccessReject {
					t.Fatalf("forged State: %v", resp.Code)
				}
			})
			t.Run("bad or missing Message-Authenticator: dropped", func(t *testing.T) {
				before := r.counter("vakt_radius_dropped_total", "reason", "message_authenticator")
				p := request(t, r.secret, "anna@contoso.com", password, nil)
				ma := rfc2869.MessageAuthenticator_Get(p)
				ma[0] ^= 1
				rfc2869.MessageAuthenticator_Set(p, ma)
				raw, _ := p.Encode()
				if got := r.send("127.0.0.1:0", raw, 300*time.Millisecond); got != nil {
					t.Fatal("answered a request with a wrong Message-Authenticator")
				}
				p.Attributes.Del(rfc2869.MessageAuthenticator_Type)
				raw, _ = p.Encode()
				if got := r.send("127.0.0.1:0", raw, 300*time.Millisecond); got != nil {
					t.Fatal("answered a request without a Message-Authenticator")
				}
				// Signed with another secret.
				raw, _ = request(t, []byte("not-the-shared-secret"), "anna@contoso.com", password, nil).Encode()
				if got := r.send("127.0.0.1:0", raw, 300*time.Millisecond); got != nil {
					t.Fatal("answered a request signed with another secret")
				}
				if n := r.counter("vakt_radius_dropped_total", "reason", "message_authenticator") - before; n != 3 {
					t.Fatalf("drops counted: %v", n)
				}
			})
			t.Run("unknown client address: dropped", func(t *testing.T) {
				raw, _ := request(t, r.secret, "anna@contoso.com", password, nil).Encode()
				if got := r.send("127.0.0.9:0", raw, 300*time.Millisecond); got != nil {
					t.Fatal("answered a client that is not allowed")
				}
				if r.counter("vakt_radius_dropped_total", "reason", "unknown_client") < 1 {
					t.Fatal("the drop was not counted")
				}
			})
			t.Run("retransmission answered from the cache", func(t *testing.T) {
				r.advance(30 * time.Second)
				ch := r.challenge("anna@contoso.com")
				raw, _ := request(t, r.secret, "anna@contoso.com", r.code(key), rfc2865.State_Get(ch)).Encode()
				la, _ := net.ResolveUDPAddr("udp", "127.0.0.1:0")
				ra, _ := net.ResolveUDPAddr("udp", r.addr)
				conn, err := net.DialUDP("udp", la, ra)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				before := r.counter("vakt_radius_retransmissions_total")
				// The gateway did not hear the answer and sends the same
				// packet again from the same port. Evaluated again, the code
				// would be a replay and the answer a reject.
				var answers [][]byte
				for range 2 {
					conn.Write(raw)
					conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					buf := make([]byte, 4096)
					n, err := conn.Read(buf)
					if err != nil {
						t.Fatal(err)
					}
					answers = append(answers, buf[:n])
				}
				if radius.Code(answers[0][0]) != radius.CodeAccessAccept || string(answers[0]) != string(answers[1]) {
					t.Fatalf("answers: %v then %v", radius.Code(answers[0][0]), radius.Code(answers[1][0]))
				}
				if n := r.counter("vakt_radius_retransmissions_total") - before; n != 1 {
					t.Fatalf("retransmissions counted: %v", n)
				}
				// From another port it is another request: evaluated, and
				// the used code refused.
				if got := r.send("127.0.0.1:0", raw, 5*time.Second); got == nil || radius.Code(got[0]) != radius.CodeAccessReject {
					t.Fatalf("same packet from another port: %v", got)
				}
			})
			t.Run("MFA required but no usable method: reject with the engine's message", func(t *testing.T) {
				if _, err := r.a.Admin.CreateUser(r.ctx, op, r.tenant.ID, admin.NewUser{UPN: "new@contoso.com", Password: password}); err != nil {
					t.Fatal(err)
				}
				r.enforceMFA(r.tenant.ID, "new@contoso.com")
				resp := r.exchange(request(t, r.secret, "new@contoso.com", password, nil))
				if resp.Code != radius.CodeAccessReject || !strings.Contains(reply(resp), "security info") {
					t.Fatalf("%v %q", resp.Code, reply(resp))
				}
			})
			t.Run("status-server", func(t *testing.T) {
				p := radius.New(radius.CodeStatusServer, r.secret)
				rfc2865.ProxyState_Add(p, []byte("proxy-1"))
				rfc2865.ProxyState_Add(p, []byte("proxy-2"))
				sign(p)
				resp := r.exchange(p)
				// Proxy-State comes back as sent, in order (RFC 2865 §5.33).
				ps, _ := rfc2865.ProxyState_Gets(resp)
				if resp.Code != radius.CodeAccessAccept || len(ps) != 2 || string(ps[0]) != "proxy-1" || string(ps[1]) != "proxy-2" {
					t.Fatalf("%v %q", resp.Code, ps)
				}
			})
			t.Run("sign-in log: client app other, the gateway as the app", func(t *testing.T) {
				r.a.SignInLog.Flush(r.ctx)
				p, err := r.a.Store.ListSignIns(r.ctx, r.tenant.ID, store.ListQuery{})
				if err != nil || len(p.Items) == 0 {
					t.Fatalf("%v %d", err, len(p.Items))
				}
				ok := false
				for _, e := range p.Items {
					if e.ClientAppUsed != "Other clients" || e.AppDisplayName != "Office VPN" || e.IsInteractive {
						t.Fatalf("entry %+v", e)
					}
					ok = ok || e.ErrorCode == 0 && e.AuthenticationRequirement == "multiFactorAuthentication"
				}
				if !ok {
					t.Fatal("no successful MFA sign-in logged")
				}
			})
			t.Run("metrics", func(t *testing.T) {
				for _, typ := range []string{"accept", "reject", "challenge"} {
					if r.counter("vakt_radius_responses_total", "type", typ) == 0 {
						t.Fatalf("no %s counted", typ)
					}
				}
				if r.counter("vakt_radius_requests_total") == 0 {
					t.Fatal("no requests counted")
				}
				if r.counter("vakt_radius_dropped_total", "reason", "unknown_client") == 0 {
					t.Fatal("no drop counted")
				}
			})
		})
	}
}

// TestTenantScoping: a client's requests sign in to its own tenant only.
func TestTenantScoping(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), 8192, 1)
			r.defaultsOff(r.tenant.ID)
			r.user(r.tenant.ID, "anna@contoso.com")
			other, err := r.a.Admin.CreateTenant(r.ctx, op, "fabrikam.com", "Fabrikam")
			if err != nil {
				t.Fatal(err)
			}
			r.defaultsOff(other.ID)
			r.user(other.ID, "bo@fabrikam.com")
			fabSecret := "fabrikams-own-shared-secret"
			if _, err := r.a.RADIUSClients().Add(r.ctx, op, other.ID, vradius.NewClient{Name: "Fabrikam VPN", Address: "127.0.0.2/32", Secret: fabSecret}); err != nil {
				t.Fatal(err)
			}
			// The same address range cannot go to another client.
			if _, err := r.a.RADIUSClients().Add(r.ctx, op, r.tenant.ID, vradius.NewClient{Address: "127.0.0.2", Secret: fabSecret}); err == nil {
				t.Fatal("an address range was given to two clients")
			}
			// Contoso's gateway: Contoso's user signs in, Fabrikam's does not exist.
			if resp := r.exchange(request(t, r.secret, "anna@contoso.com", password, nil)); resp.Code != radius.CodeAccessAccept {
				t.Fatalf("contoso user via contoso gateway: %v %q", resp.Code, reply(resp))
			}
			if resp := r.exchange(request(t, r.secret, "bo@fabrikam.com", password, nil)); resp.Code != radius.CodeAccessReject {
				t.Fatalf("fabrikam user via contoso gateway: %v", resp.Code)
			}
			// Fabrikam's gateway (127.0.0.2 with its own secret).
			for upn, want := range map[string]radius.Code{"bo@fabrikam.com": radius.CodeAccessAccept, "anna@contoso.com": radius.CodeAccessReject} {
				p := request(t, []byte(fabSecret), upn, password, nil)
				ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
				c := radius.Client{Dialer: net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}}, MaxPacketErrors: 1}
				resp, err := c.Exchange(ctx, p, r.addr)
				cancel()
				if err != nil || resp.Code != want {
					t.Fatalf("%s via fabrikam gateway: %v %v", upn, resp, err)
				}
			}
			// Contoso's secret from Fabrikam's address: dropped.
			raw, _ := request(t, r.secret, "bo@fabrikam.com", password, nil).Encode()
			if got := r.send("127.0.0.2:0", raw, 300*time.Millisecond); got != nil {
				t.Fatal("answered with the wrong client's secret")
			}
			// Removing the client takes effect on the node within its TTL.
			if _, err := r.a.RADIUSClients().Remove(r.ctx, op, other.ID, "Fabrikam VPN"); err != nil {
				t.Fatal(err)
			}
			p, _ := r.a.Store.ListAudits(r.ctx, other.ID, store.ListQuery{})
			acts := map[string]bool{}
			for _, e := range p.Items {
				acts[e.Activity] = true
			}
			if !acts["Add RADIUS client"] || !acts["Delete RADIUS client"] {
				t.Fatalf("audit: %v", acts)
			}
		})
	}
}

// TestSecurityDefaultsAndSystemPreferred: with security defaults on, a
// RADIUS sign-in from an unfamiliar address is asked for MFA (not blocked
// as legacy authentication); system-preferred MFA, which would offer the
// app first, does not change what RADIUS offers: the user's default, a
// text message, sent on its own.
func TestSecurityDefaultsAndSystemPreferred(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			r := newRig(t, b.New(t), 8192, 1)
			u, _ := r.user(r.tenant.ID, "anna@contoso.com")
			if _, err := r.a.SecurityInfo.SetPhone(r.ctx, op, r.tenant.ID, u.ID, "mobile", "+46 70 123 45 67"); err != nil {
				t.Fatal(err)
			}
			on := true
			if _, err := r.a.Store.UpdateUser(r.ctx, r.tenant.ID, u.ID, func(x *store.User) error {
				x.PreferredMFA, x.SystemPreferredMFA = "sms", &on
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// In a browser, system-preferred MFA offers the app first.
			v, err := r.a.SignIn.Start(r.ctx, r.tenant.ID, "anna@contoso.com", signin.Client{IP: netip.MustParseAddr("203.0.113.5")})
			if err == nil {
				v, err = r.a.SignIn.Password(r.ctx, r.tenant.ID, v.FlowID, password, false)
			}
			if err != nil || v.State != signin.StateMFA || v.MFA.Selected != method.OptionSoftwareOath {
				t.Fatalf("browser sign-in: %v %+v", err, v.MFA)
			}
			ch := r.challenge("anna@contoso.com")
			if !strings.Contains(reply(ch), "text message") {
				t.Fatalf("Reply-Message %q: want the text message", reply(ch))
			}
			code := lastCode(t, r.outbox)
			resp := r.exchange(request(t, r.secret, "anna@contoso.com", code, rfc2865.State_Get(ch)))
			if resp.Code != radius.CodeAccessAccept {
				t.Fatalf("SMS code: %v %q", resp.Code, reply(resp))
			}
		})
	}
}

// lastCode reads the newest code from the file outbox.
func lastCode(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("outbox: %v %d", err, len(entries))
	}
	var newest os.DirEntry
	var at time.Time
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && !fi.ModTime().Before(at) {
			newest, at = e, fi.ModTime()
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, newest.Name()))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\b\d{6}\b`).Find(b)
	if m == nil {
		t.Fatalf("no code in %s", b)
	}
	return string(m)
}

// TestBadInput: malformed datagrams from an allowed client are dropped
// without an answer, and the server keeps serving.
func TestBadInput(t *testing.T) {
	r := newRig(t, storetest.SQLite(t), 8192, 1)
	r.defaultsOff(r.tenant.ID)
	good, _ := request(t, r.secret, "anna@contoso.com", password, nil).Encode()
	unknownAttr := request(t, r.secret, "anna@contoso.com", password, nil)
	unknownAttr.Add(radius.Type(250), radius.Attribute("?"))
	unknownRaw, _ := unknownAttr.Encode() // added after signing: the MAC no longer matches
	badAttrLen := append([]byte(nil), good...)
	badAttrLen[21] = 0 // the first attribute's length
	longer := append([]byte(nil), good...)
	longer[2], longer[3] = 0x0f, 0xff // Length beyond the datagram
	shorter := append([]byte(nil), good...)
	shorter[2], shorter[3] = 0, 19
	accounting := append([]byte(nil), good...)
	accounting[0] = byte(radius.CodeAccountingRequest)
	cases := map[string][]byte{
		"empty":                    {},
		"truncated header":         good[:10],
		"truncated attributes":     good[:len(good)-3],
		"attribute length zero":    badAttrLen,
		"length beyond datagram":   longer,
		"length below header":      shorter,
		"unknown attribute":        unknownRaw,
		"accounting request":       accounting,
		"oversize":                 append(append([]byte(nil), good...), make([]byte, 4200)...),
		"garbage":                  []byte(strings.Repeat("\xff", 300)),
		"access-accept sent to us": append([]byte{2}, good[1:]...),
	}
	for name, raw := range cases {
		if got := r.send("127.0.0.1:0", raw, 200*time.Millisecond); got != nil {
			t.Errorf("%s: answered %v", name, got[:1])
		}
	}
	// Trailing padding beyond Length is ignored (RFC 2865 §3), and a
	// well-signed packet with an attribute we do not know is answered.
	padded := append(append([]byte(nil), good...), 0, 0, 0)
	if got := r.send("127.0.0.1:0", padded, 5*time.Second); got == nil {
		t.Error("padded request not answered")
	}
	unknownAttr.Attributes.Del(rfc2869.MessageAuthenticator_Type)
	sign(unknownAttr)
	raw, _ := unknownAttr.Encode()
	if got := r.send("127.0.0.1:0", raw, 5*time.Second); got == nil {
		t.Error("a signed request with an unknown attribute was not answered")
	}
	// CHAP (no User-Password) is refused with a reason.
	chap := radius.New(radius.CodeAccessRequest, r.secret)
	rfc2865.UserName_SetString(chap, "anna@contoso.com")
	rfc2865.CHAPPassword_Set(chap, make([]byte, 17))
	sign(chap)
	if resp := r.exchange(chap); resp.Code != radius.CodeAccessReject || !strings.Contains(reply(resp), "PAP") {
		t.Errorf("CHAP: %v %q", resp.Code, reply(resp))
	}
	if r.counter("vakt_radius_dropped_total", "reason", "malformed") < 5 || r.counter("vakt_radius_dropped_total", "reason", "oversize") != 1 {
		t.Errorf("drops: malformed %v oversize %v", r.counter("vakt_radius_dropped_total", "reason", "malformed"), r.counter("vakt_radius_dropped_total", "reason", "oversize"))
	}
}
