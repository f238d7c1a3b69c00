package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signinAPI drives the JSON sign-in API of a running server.
type signinAPI struct {
	t           *testing.T
	base        string
	tenant, upn string
	password    string
}

type view struct {
	FlowID string `json:"flowId"`
	State  string `json:"state"`
	MFA    *struct {
		Selected string `json:"selected"`
		Push     *struct {
			Number int `json:"number"`
		} `json:"push"`
	} `json:"mfa"`
	Register *struct {
		Options   []string `json:"options"`
		Enrolment *struct {
			Link   string `json:"link"`
			Number int    `json:"number"`
			Status string `json:"status"`
		} `json:"enrolment"`
	} `json:"register"`
	Blocked *struct {
		Message string `json:"message"`
	} `json:"blocked"`
}

func (s *signinAPI) post(path string, body any, want int) view {
	s.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.base+"/"+s.tenant+"/api/"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, raw)
	}
	var v view
	json.Unmarshal(raw, &v)
	return v
}

func (s *signinAPI) start() view {
	v := s.post("signin", map[string]any{"username": s.upn}, 201)
	return s.post("signin/"+v.FlowID+"/password", map[string]any{"password": s.password}, 200)
}

func (s *signinAPI) pushSignIn() view {
	s.t.Helper()
	v := s.start()
	if v.State != "mfa" || v.MFA == nil || v.MFA.Selected != "push" || v.MFA.Push == nil {
		s.t.Fatalf("want a push: %+v", v)
	}
	return v
}

// TestAuthenticatorEndToEnd drives the real binary: the companion enrols
// through the link from the registration interrupt, approves the test
// push and sign-in pushes with the number, and a wrong number, a deny, a
// report and an expiry each end their sign-in and reach the sign-in log;
// on embedded SQLite and on PostgreSQL.
func TestAuthenticatorEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { authenticatorEndToEnd(t, "--data", t.TempDir()) })
	t.Run("postgres", func(t *testing.T) { authenticatorEndToEnd(t, postgresStore(t)...) })
}

func authenticatorEndToEnd(t *testing.T, store ...string) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("Lila-Kor-Flyger-88\n"), 0o600)
	tenant := strings.TrimSpace(mustCLI(t, nil, append([]string{"init", "--domain", "contoso.com", "--admin", "admin@contoso.com", "--admin-password-file", pwFile}, store...)...))
	appOut := mustCLI(t, nil, append([]string{"app", "create", "--tenant", "contoso.com", "--name", "ops", "--permission", "AuditLog.Read.All",
		"--permission", "Policy.ReadWrite.AuthenticationMethod", "--permission", "UserAuthenticationMethod.ReadWrite.All"}, store...)...)
	var created struct{ AppID, ClientSecret string }
	json.Unmarshal([]byte(appOut), &created)
	mustCLI(t, nil, append([]string{"user", "create", "--tenant", "contoso.com", "--upn", "pia@contoso.com", "--password-file", pwFile}, store...)...)

	srv := startServer(t, []string{"VAKT_PUSH_TIMEOUT=3s"}, store...)
	g := &graph{t: t, base: srv.url + "/v1.0", token: token(t, srv.url, tenant, created.AppID, created.ClientSecret)}
	// Let the app show codes too (isSoftwareOathEnabled).
	g.do("PATCH", "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/MicrosoftAuthenticator",
		map[string]any{"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration", "isSoftwareOathEnabled": true}, 204)

	keys := filepath.Join(t.TempDir(), "cfg", "authenticator.json")
	env := []string{"VAKT_AUTHENTICATOR_FILE=" + keys}
	s := &signinAPI{t: t, base: srv.url, tenant: "contoso.com", upn: "pia@contoso.com", password: "Lila-Kor-Flyger-88"}

	// Registration interrupt (security defaults) → enrolment link.
	v := s.start()
	if v.State != "register" {
		t.Fatalf("want registration: %+v", v)
	}
	reg := s.post("signin/"+v.FlowID+"/register/begin", map[string]any{"option": "push"}, 200)
	out := mustCLI(t, env, "authenticator", "enroll", reg.Register.Enrolment.Link, "--name", "Pia's terminal")
	if !strings.Contains(out, "Registered this device for pia@contoso.com") {
		t.Fatalf("enroll: %s", out)
	}
	if st, err := os.Stat(keys); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v %v", st, err)
	}
	if _, errOut, code := cli(t, env, "", "authenticator", "enroll", reg.Register.Enrolment.Link); code != 1 || !strings.Contains(errOut, "already used or has expired") {
		t.Fatalf("second use of the link: %d %q", code, errOut)
	}
	fin := s.post("signin/"+v.FlowID+"/register/finish", nil, 200)
	n := fin.Register.Enrolment.Number
	out = mustCLI(t, env, "authenticator", "watch", "--once", "--timeout", "20s", "--auto-approve-number", strconv.Itoa(n))
	if !strings.Contains(out, "Test notification") || !strings.Contains(out, "Approved.") {
		t.Fatalf("test push: %s", out)
	}
	if v = s.post("signin/"+v.FlowID+"/push/poll", nil, 200); v.State != "done" {
		t.Fatalf("after the test push: %+v", v)
	}
	mustCLI(t, nil, append([]string{"user", "mfa", "--tenant", "contoso.com", "--upn", "pia@contoso.com", "--state", "enforced"}, store...)...)

	var list []map[string]any
	json.Unmarshal([]byte(mustCLI(t, env, "authenticator", "list", "--output", "json")), &list)
	if len(list) != 1 || list[0]["userPrincipalName"] != "pia@contoso.com" || list[0]["codes"] != true {
		t.Fatalf("list: %v", list)
	}

	// Approve with the right number.
	v = s.pushSignIn()
	out = mustCLI(t, env, "authenticator", "watch", "--once", "--timeout", "20s", "--auto-approve-number", strconv.Itoa(v.MFA.Push.Number))
	if !strings.Contains(out, "Sign-in request for pia@contoso.com") || !strings.Contains(out, "Location:") || !strings.Contains(out, "Approved.") {
		t.Fatalf("approve: %s", out)
	}
	if v = s.post("signin/"+v.FlowID+"/push/poll", map[string]any{"wait": 5}, 200); v.State != "done" {
		t.Fatalf("approved sign-in: %+v", v)
	}

	// A wrong number, a deny, a report: each blocks its sign-in.
	for _, c := range []struct {
		flags []string
		said  string
	}{
		{[]string{"--auto-approve-number", ""}, "did not match"},
		{[]string{"--deny"}, "Denied."},
		{[]string{"--report"}, "Reported"},
	} {
		v = s.pushSignIn()
		if c.flags[0] == "--auto-approve-number" {
			c.flags[1] = strconv.Itoa(v.MFA.Push.Number%90 + 10)
		}
		out = mustCLI(t, env, append([]string{"authenticator", "watch", "--once", "--timeout", "20s"}, c.flags...)...)
		if !strings.Contains(out, c.said) {
			t.Fatalf("%v: %s", c.flags, out)
		}
		if v = s.post("signin/"+v.FlowID+"/push/poll", nil, 200); v.State != "blocked" {
			t.Fatalf("%v: %+v", c.flags, v)
		}
	}
	// Expiry (the server runs with a 3 s push timeout).
	v = s.pushSignIn()
	if v = s.post("signin/"+v.FlowID+"/push/poll", map[string]any{"wait": 10}, 200); v.State != "blocked" {
		t.Fatalf("expiry: %+v", v)
	}

	// The app's own codes work as a second factor.
	v = s.start()
	v = s.post("signin/"+v.FlowID+"/select", map[string]any{"option": "appCode"}, 200)
	code := strings.Fields(mustCLI(t, env, "authenticator", "code"))[1]
	if v = s.post("signin/"+v.FlowID+"/verify", map[string]any{"code": code}, 200); v.State != "done" {
		t.Fatalf("app code: %+v", v)
	}

	// watch stops cleanly on Ctrl-C.
	cmd := exec.Command(vaktBin, "authenticator", "watch")
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.Contains(sc.Text(), "Waiting for sign-in requests") {
		t.Fatalf("watch: %q", sc.Text())
	}
	go io.Copy(io.Discard, pr)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch after Ctrl-C: %v", err)
	}
	pw.Close()

	// The sign-in log tells each outcome apart.
	deadline := time.Now().Add(10 * time.Second)
	want := []string{"did not match", "declined", "suspicious activity", "expired"}
	for {
		log := g.do("GET", "/auditLogs/signIns?$top=100", nil, 200)
		found, ok := map[string]bool{}, 0
		for _, e := range log["value"].([]any) {
			st := e.(map[string]any)["status"].(map[string]any)
			reason, _ := st["failureReason"].(string)
			for _, w := range want {
				if strings.Contains(reason, w) && !found[w] {
					found[w] = true
					ok++
					if w == "suspicious activity" && !strings.Contains(jsonOf(e), "userReportedSuspiciousActivity") {
						t.Fatalf("report without its risk event: %v", e)
					}
				}
			}
		}
		if ok == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign-in log lacks some outcomes (found %v)", found)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Graph lists the device; deleting it revokes its key at once.
	ms := g.do("GET", "/users/pia@contoso.com/authentication/microsoftAuthenticatorMethods", nil, 200)["value"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["displayName"] != "Pia's terminal" || ms[0].(map[string]any)["phoneAppVersion"] == nil {
		t.Fatalf("microsoftAuthenticatorMethods: %v", ms)
	}
	id := ms[0].(map[string]any)["id"].(string)
	g.do("GET", "/users/pia@contoso.com/authentication/microsoftAuthenticatorMethods/"+id, nil, 200)
	g.do("DELETE", "/users/pia@contoso.com/authentication/microsoftAuthenticatorMethods/"+id, nil, 204)
	if _, errOut, code := cli(t, env, "", "authenticator", "watch", "--once", "--timeout", "10s"); code != 1 || !strings.Contains(errOut, "not registered") {
		t.Fatalf("watch with a deleted device: %d %q", code, errOut)
	}
	audits := g.do("GET", "/auditLogs/directoryAudits?$top=100", nil, 200)["value"].([]any)
	seen := map[string]bool{}
	for _, a := range audits {
		seen[a.(map[string]any)["activityDisplayName"].(string)] = true
	}
	if !seen["User registered security info"] || !seen["Admin deleted security info"] {
		t.Fatalf("audit: %v", seen)
	}
	if _, _, code := cli(t, env, "", "authenticator", "enroll", "not a link"); code != 2 {
		t.Fatalf("enroll with a bad URL: exit %d, want 2", code)
	}
	srv.stop(t)
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
