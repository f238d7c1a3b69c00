package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var vaktBin string

// TestMain builds the real binary once; the end-to-end tests run it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vakt-e2e")
	if err != nil {
		panic(err)
	}
	vaktBin = filepath.Join(dir, "vakt")
	build := exec.Command("go", "build", "-o", vaktBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build vakt:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with args and returns stdout, stderr and the exit status.
func cli(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(vaktBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, env, "", args...)
	if code != 0 {
		t.Fatalf("vakt %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a running `vakt serve`.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
}

func startServer(t *testing.T, env []string, storeArgs ...string) *server {
	t.Helper()
	addr := freePort(t)
	s := &server{url: "http://" + addr, stderr: new(bytes.Buffer)}
	args := append([]string{"serve", "--listen", addr, "--public-url", s.url, "--log-format", "text"}, storeArgs...)
	s.cmd = exec.Command(vaktBin, args...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

type graph struct {
	t     *testing.T
	base  string
	token string
}

func (g *graph) do(method, path string, body any, want int) map[string]any {
	g.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = g.base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+g.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		g.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			g.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func token(t *testing.T, base, tenant, appID, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.TokenType != "Bearer" {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

// TestEndToEnd drives the real binary: init, serve, app create, a token by
// client credentials, users and groups through the Graph API, paging 250
// users through @odata.nextLink, and the audit log read back; on embedded
// SQLite and on PostgreSQL.
func TestEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		data := t.TempDir()
		endToEnd(t, nil, "--data", data)
		st, err := os.Stat(filepath.Join(data, "vakt.db"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("vakt.db mode: %v %v", st.Mode(), err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		endToEnd(t, nil, postgresStore(t)...)
	})
}

// postgresStore returns the store flags of a fresh PostgreSQL schema
// (dropped afterwards) and master key.
func postgresStore(t *testing.T) []string {
	dbURL := storetest.PostgresSchemaURL(t, "vakt_e2e_")
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if _, err := secret.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	return []string{"--database", dbURL, "--master-key-file", keyFile, "--data", t.TempDir()}
}

func endToEnd(t *testing.T, env []string, storeArgs ...string) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("a-Strong-Passphrase-42\n"), 0o600)
	args := append([]string{"init", "--domain", "contoso.com", "--admin", "admin@contoso.com", "--admin-password-file", pwFile}, storeArgs...)
	tenant := strings.TrimSpace(mustCLI(t, env, args...))
	if again := strings.TrimSpace(mustCLI(t, env, args...)); again != tenant {
		t.Fatalf("init is not idempotent: %s then %s", tenant, again)
	}
	appOut := mustCLI(t, env, append([]string{"app", "create", "--tenant", "contoso.com", "--name", "provisioning",
		"--permission", "User.ReadWrite.All", "--permission", "Group.ReadWrite.All", "--permission", "AuditLog.Read.All"}, storeArgs...)...)
	var created struct{ AppID, ClientSecret string }
	if err := json.Unmarshal([]byte(appOut), &created); err != nil || created.ClientSecret == "" {
		t.Fatalf("app create output %q: %v", appOut, err)
	}

	srv := startServer(t, env, storeArgs...)
	g := &graph{t: t, base: srv.url + "/v1.0", token: token(t, srv.url, tenant, created.AppID, created.ClientSecret)}

	anna := g.do("POST", "/users", map[string]any{"accountEnabled": true, "displayName": "Anna Berg", "mailNickname": "anna",
		"userPrincipalName": "anna@contoso.com", "passwordProfile": map[string]any{"password": "Tjugo-Fyra-Kaniner-7"}}, 201)
	if got := g.do("GET", "/users/anna@contoso.com", nil, 200); got["id"] != anna["id"] || got["userType"] != "Member" {
		t.Fatalf("GET user by UPN = %v", got)
	}
	grp := g.do("POST", "/groups", map[string]any{"displayName": "Remote workers", "mailEnabled": false, "securityEnabled": true, "mailNickname": "remote"}, 201)
	sub := g.do("POST", "/groups", map[string]any{"displayName": "Remote sales", "mailEnabled": false, "securityEnabled": true, "mailNickname": "rsales"}, 201)
	g.do("POST", "/groups/"+grp["id"].(string)+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + sub["id"].(string)}, 204)
	g.do("POST", "/groups/"+sub["id"].(string)+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + anna["id"].(string)}, 204)
	tm := g.do("GET", "/groups/"+grp["id"].(string)+"/transitiveMembers", nil, 200)
	if n := len(tm["value"].([]any)); n != 2 {
		t.Fatalf("transitive members = %d, want 2", n)
	}
	g.do("POST", "/groups/"+sub["id"].(string)+"/members/$ref", map[string]any{"@odata.id": srv.url + "/v1.0/directoryObjects/" + grp["id"].(string)}, 400)

	for i := range 248 {
		g.do("POST", "/users", map[string]any{"accountEnabled": true, "displayName": fmt.Sprintf("Bulk %03d", i),
			"mailNickname": "b", "userPrincipalName": fmt.Sprintf("bulk%03d@contoso.com", i)}, 201)
	}
	seen := map[string]bool{}
	next, pages := "/users?$top=100&$select=userPrincipalName", 0
	for next != "" {
		p := g.do("GET", next, nil, 200)
		pages++
		for _, v := range p["value"].([]any) {
			seen[v.(map[string]any)["userPrincipalName"].(string)] = true
		}
		next, _ = p["@odata.nextLink"].(string)
	}
	if len(seen) != 250 || pages != 3 { // admin + anna + 248
		t.Fatalf("paged %d users in %d pages, want 250 in 3", len(seen), pages)
	}

	audits := map[string]int{}
	next = "/auditLogs/directoryAudits?$top=200"
	for next != "" {
		p := g.do("GET", next, nil, 200)
		for _, v := range p["value"].([]any) {
			e := v.(map[string]any)
			audits[e["activityDisplayName"].(string)]++
			if app, _ := e["initiatedBy"].(map[string]any)["app"].(map[string]any); e["activityDisplayName"] == "Add group" && app["appId"] != created.AppID {
				t.Fatalf("audit entry not initiated by the app: %v", e)
			}
		}
		next, _ = p["@odata.nextLink"].(string)
	}
	// 249 users over HTTP plus the administrator from init.
	if audits["Add user"] != 250 || audits["Add group"] != 2 || audits["Add member to group"] != 2 ||
		audits["Add member to role"] != 1 || audits["Add application"] != 1 {
		t.Fatalf("audit activities = %v", audits)
	}

	// The CLI sees what the API wrote, and reports errors as INTERFACES.md says.
	if out := mustCLI(t, env, append([]string{"user", "show", "--tenant", "contoso.com", "--upn", "ANNA@contoso.com", "--output", "json"}, storeArgs...)...); !strings.Contains(out, `"displayName": "Anna Berg"`) {
		t.Fatalf("user show: %s", out)
	}
	if _, errOut, code := cli(t, env, "", append([]string{"user", "show", "--tenant", "contoso.com", "--upn", "nobody@contoso.com"}, storeArgs...)...); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("unknown user: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := cli(t, env, "", append([]string{"user", "mfa", "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--state", "sometimes"}, storeArgs...)...); code != 1 {
		t.Fatalf("bad flag value: exit %d, want 1", code)
	}
	if _, errOut, code := cli(t, env, "", append([]string{"user", "mfa", "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--state", "enforced"}, storeArgs...)...); code != 0 || !strings.Contains(errOut, "warning") {
		t.Fatalf("per-user MFA next to security defaults: exit %d, stderr %q (want a warning)", code, errOut)
	}
	if out := mustCLI(t, env, append([]string{"user", "revoke-sessions", "--tenant", "contoso.com", "--upn", "anna@contoso.com"}, storeArgs...)...); !strings.Contains(out, "0 sessions") {
		t.Fatalf("revoke-sessions: %s", out)
	}
	g.do("POST", "/users/"+anna["id"].(string)+"/revokeSignInSessions", nil, 200)
	mustCLI(t, env, append([]string{"user", "unlock", "--tenant", "contoso.com", "--upn", "anna@contoso.com"}, storeArgs...)...)
	srv.stop(t)
}

// TestServeBootstrap: serve on an empty data directory creates a tenant and
// an administrator and prints the one-time password, also kept in a 0600 file.
func TestServeBootstrap(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, nil, "--data", data)
	srv.stop(t)
	pwFile := filepath.Join(data, "initial-admin-password")
	st, err := os.Stat(pwFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("initial-admin-password: %v %v", st, err)
	}
	pw, _ := os.ReadFile(pwFile)
	if !strings.Contains(srv.stderr.String(), strings.TrimSpace(string(pw))) {
		t.Fatal("the generated password was not printed")
	}
	out := mustCLI(t, nil, "user", "list", "--data", data, "--tenant", "vakt.local", "--output", "json")
	if !strings.Contains(out, "admin@vakt.local") {
		t.Fatalf("user list: %s", out)
	}
	// A second start prints no new password.
	srv2 := startServer(t, nil, "--data", data)
	srv2.stop(t)
	if strings.Contains(srv2.stderr.String(), "initial administrator password") {
		t.Fatal("a second start bootstrapped again")
	}
}

// TestCLIErrors checks exit status 2 for usage errors and 1 for refused
// requests, each with one line on stderr.
func TestCLIErrors(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"nosuchcommand"}, 2},
		{[]string{"user", "nosuch"}, 2},
		{[]string{"user", "create", "--data", data}, 2},                           // missing required flags
		{[]string{"user", "list", "--data", data, "--tenant", "x", "--bogus"}, 2}, // unknown flag
		{[]string{"user", "list", "--data", data, "--tenant", "nowhere.example"}, 1},
		{[]string{"tenant", "create", "--data", data, "--domain", "not a domain"}, 1},
		{[]string{"user", "list", "--data", data, "--tenant", "x", "--output", "yaml"}, 1}, // a bad flag value is a refused request
	}
	for _, c := range cases {
		_, errOut, code := cli(t, nil, "", c.args...)
		if code != c.code {
			t.Errorf("vakt %v: exit %d, want %d (%s)", c.args, code, c.code, errOut)
		}
		if first, _, _ := strings.Cut(errOut, "\n"); !strings.HasPrefix(first, "vakt: ") {
			t.Errorf("vakt %v: stderr %q", c.args, errOut)
		}
	}
	if out, _, code := cli(t, nil, "", "version"); code != 0 || !strings.HasPrefix(out, "vakt ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestCLIImport: a bad row imports nothing and names its line; the good
// file then imports, and --output json reports.
func TestCLIImport(t *testing.T) {
	data := t.TempDir()
	mustCLI(t, nil, "tenant", "create", "--data", data, "--domain", "contoso.com")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("userPrincipalName,displayName\nanna@contoso.com,Anna\nbo@fabrikam.com,Bo\n"), 0o600)
	_, errOut, code := cli(t, nil, "", "user", "import", "--data", data, "--tenant", "contoso.com", bad)
	if code != 1 || !strings.Contains(errOut, "line 3 (bo@fabrikam.com)") || !strings.Contains(errOut, "nothing was imported") {
		t.Fatalf("bad import: exit %d\n%s", code, errOut)
	}
	if out := mustCLI(t, nil, "user", "list", "--data", data, "--tenant", "contoso.com", "--output", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("users after a refused import: %s", out)
	}
	out, errOut, code := cli(t, nil, "", "user", "import", "--data", data, "--tenant", "contoso.com", "--continue-on-error", "--output", "json", bad)
	var rep struct {
		Imported int
		Errors   []struct{ Line int }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Imported != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 {
		t.Fatalf("continue-on-error: exit %d %+v %v\n%s", code, rep, err, errOut)
	}
}

// TestMasterKey: rotating the key keeps what the old key sealed readable
// (the token signing key), and a database whose key file went missing is
// refused rather than given a new key.
func TestMasterKey(t *testing.T) {
	data := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("a-Strong-Passphrase-42"), 0o600)
	tenant := strings.TrimSpace(mustCLI(t, nil, "init", "--data", data, "--domain", "contoso.com", "--admin", "admin@contoso.com", "--admin-password-file", pwFile))
	var created struct{ AppID, ClientSecret string }
	json.Unmarshal([]byte(mustCLI(t, nil, "app", "create", "--data", data, "--tenant", tenant, "--name", "a", "--permission", "User.Read.All")), &created)
	srv := startServer(t, nil, "--data", data)
	token(t, srv.url, tenant, created.AppID, created.ClientSecret) // creates the sealed signing key
	srv.stop(t)

	if out := mustCLI(t, nil, "key", "rotate", "--data", data); !strings.Contains(out, "(2 keys)") {
		t.Fatalf("key rotate: %s", out)
	}
	srv = startServer(t, nil, "--data", data)
	g := &graph{t: t, base: srv.url + "/v1.0", token: token(t, srv.url, tenant, created.AppID, created.ClientSecret)}
	g.do("GET", "/users", nil, 200)
	srv.stop(t)

	os.Rename(filepath.Join(data, "master.key"), filepath.Join(data, "master.key.moved"))
	_, errOut, code := cli(t, nil, "", "user", "list", "--data", data, "--tenant", tenant)
	if code != 1 || !strings.Contains(errOut, "restore the key file") {
		t.Fatalf("missing key: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err == nil {
		t.Fatal("a new master key was generated next to an existing database")
	}
}

// TestCLIMethods: hardware tokens imported and activated with a code from
// oathtool, and a Temporary Access Pass issued, through the real binary.
func TestCLIMethods(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is missing; CI must install the Debian package oathtool")
		}
		t.Skip("needs oathtool (Debian package oathtool)")
	}
	data := t.TempDir()
	mustCLI(t, nil, "tenant", "create", "--data", data, "--domain", "contoso.com")
	mustCLI(t, nil, "user", "create", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com")
	csvFile := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(csvFile, []byte("upn,serial number,secret key,time interval,manufacturer,model\n"+
		"anna@contoso.com,SN-1,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Contoso,K1\n"+
		"ghost@contoso.com,SN-2,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ,30,Contoso,K1\n"), 0o600)
	_, errOut, code := cli(t, nil, "", "oath", "import", "--data", data, "--tenant", "contoso.com", csvFile)
	if code != 1 || !strings.Contains(errOut, "line 3 (SN-2)") {
		t.Fatalf("bad token file: exit %d %s", code, errOut)
	}
	if _, _, code := cli(t, nil, "", "oath", "import", "--data", data, "--tenant", "contoso.com", "--continue-on-error", csvFile); code != 1 {
		t.Fatalf("partial import exits %d, want 1 (a row was refused)", code)
	}
	otp, err := exec.Command("oathtool", "--totp", "-b", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, nil, "", "oath", "activate", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--serial", "SN-1", "--code", "12345x"); code != 1 || !strings.Contains(errOut, "6 digits") {
		t.Fatalf("malformed code: exit %d %s", code, errOut)
	}
	mustCLI(t, nil, "oath", "activate", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--serial", "SN-1", "--code", strings.TrimSpace(string(otp)))

	pass := strings.TrimSpace(mustCLI(t, nil, "tap", "issue", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--lifetime", "2h", "--once"))
	if len(pass) != 8 {
		t.Fatalf("TAP %q", pass)
	}
	if _, errOut, code := cli(t, nil, "", "tap", "issue", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com"); code != 1 || !strings.Contains(errOut, "already has a Temporary Access Pass") {
		t.Fatalf("second TAP: exit %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, nil, "", "tap", "issue", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--lifetime", "9h"); code != 1 || !strings.Contains(errOut, "between 60 and 480") {
		t.Fatalf("TAP over the maximum: exit %d %s", code, errOut)
	}
	qfile := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(qfile, []byte(`{"required":2,"useBuiltIn":false,"custom":[{"id":"car","en":"First car?","sv":"Första bilen?"},{"id":"street","en":"First street?"}]}`), 0o600)
	if out := mustCLI(t, nil, "tenant", "security-questions", "--data", data, "--tenant", "contoso.com", "--file", qfile); !strings.Contains(out, `"required": 2`) {
		t.Fatalf("security questions: %s", out)
	}
	os.WriteFile(qfile, []byte(`{"required":9}`), 0o600)
	if _, _, code := cli(t, nil, "", "tenant", "security-questions", "--data", data, "--tenant", "contoso.com", "--file", qfile); code != 1 {
		t.Fatalf("invalid questions setting: exit %d", code)
	}
	var ms []struct {
		Kind      string
		IsDefault bool
	}
	json.Unmarshal([]byte(mustCLI(t, nil, "user", "methods", "--data", data, "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--output", "json")), &ms)
	if len(ms) != 2 || ms[0].Kind != "hardwareOath" || !ms[0].IsDefault || ms[1].Kind != "temporaryAccessPass" {
		t.Fatalf("methods %+v", ms)
	}
}
