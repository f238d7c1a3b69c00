package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needTools skips without the Debian tools, except under CI.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing; CI must install it (freeradius-utils, oathtool)", tool)
			}
			t.Skipf("needs %s (Debian packages freeradius-utils and oathtool)", tool)
		}
	}
}

func freeUDPPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// radclient sends one Access-Request (attributes in FreeRADIUS' text form)
// and returns what came back: the answer's type ("" for no answer) and
// its attributes as radclient prints them.
func radclient(t *testing.T, addr, secret, attrs string) (string, string) {
	t.Helper()
	return radclientWait(t, addr, secret, attrs, 1)
}

// radclientWait is radclient waiting up to seconds for the answer.
func radclientWait(t *testing.T, addr, secret, attrs string, seconds int) (string, string) {
	t.Helper()
	cmd := exec.Command("radclient", "-x", "-r", "1", "-t", strconv.Itoa(seconds), addr, "auth", secret)
	cmd.Stdin = strings.NewReader(attrs)
	out, _ := cmd.CombinedOutput() // exit 1 for anything but an accept
	s := string(out)
	m := regexp.MustCompile(`Received (Access-[A-Za-z]+)`).FindStringSubmatch(s)
	if m == nil {
		if !strings.Contains(s, "No reply from server") {
			t.Fatalf("radclient: %s", s)
		}
		return "", s
	}
	return m[1], s
}

func totpCode(t *testing.T, key, when string) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", when, key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestRADIUSEndToEnd: `vakt serve --radius` answers radclient: password,
// Access-Challenge, a code from oathtool, Access-Accept; a wrong or used
// code is rejected; a bad Message-Authenticator and an unknown client
// address get no answer; the client commands list and remove.
func TestRADIUSEndToEnd(t *testing.T) {
	needTools(t, "radclient", "oathtool")
	data := t.TempDir()
	dir := t.TempDir()
	env := []string{"VAKT_DATA=" + data}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	const secret = "a-shared-secret-for-tests"
	mustCLI(t, env, "tenant", "create", "--domain", "contoso.com")
	mustCLI(t, env, "user", "create", "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--password-file", write("pw", "Lila-Kor-Flyger-88\n"))
	mustCLI(t, env, "oath", "import", "--tenant", "contoso.com", write("tokens.csv",
		"upn,serial number,secret key,time interval,manufacturer,model\nanna@contoso.com,SN-1,"+key+",30,Contoso,K1\n"))
	// Activated with the previous step's code, so the current one is
	// still unused for the sign-in.
	mustCLI(t, env, "oath", "activate", "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--serial", "SN-1", "--code", totpCode(t, key, "30 seconds ago"))
	mustCLI(t, env, "user", "mfa", "--tenant", "contoso.com", "--upn", "anna@contoso.com", "--state", "enforced")
	secretFile := write("secret", secret+"\n")
	// Only 127.0.0.2 is a client at first: radclient sends from 127.0.0.1.
	mustCLI(t, env, "radius", "client", "add", "--tenant", "contoso.com", "--address", "127.0.0.2/32", "--secret-file", secretFile, "--name", "Branch VPN")
	if _, errOut, code := cli(t, env, "", "radius", "client", "add", "--tenant", "contoso.com", "--address", "10.0.0.0/33", "--secret-file", secretFile); code != 1 || !strings.Contains(errOut, "not an address range") {
		t.Fatalf("bad address: exit %d %s", code, errOut)
	}
	if _, errOut, code := cli(t, env, "", "radius", "client", "add", "--tenant", "contoso.com", "--address", "10.0.0.1", "--secret-file", write("short", "short\n")); code != 1 || !strings.Contains(errOut, "16 to 128") {
		t.Fatalf("short secret: exit %d %s", code, errOut)
	}
	if _, _, code := cli(t, env, "", "radius", "client", "add", "--tenant", "contoso.com", "--secret-file", secretFile); code != 2 {
		t.Fatalf("missing --address: exit %d, want 2", code)
	}

	addr := freeUDPPort(t)
	s := startServer(t, env, "--radius", addr)
	user := `User-Name = "anna@contoso.com", Message-Authenticator = 0x00, `
	if got, out := radclient(t, addr, secret, user+`User-Password = "Lila-Kor-Flyger-88"`); got != "" {
		t.Fatalf("an unknown client address was answered: %s", out)
	}
	mustCLI(t, env, "radius", "client", "add", "--tenant", "contoso.com", "--address", "127.0.0.1", "--secret-file", secretFile, "--name", "Office VPN")
	var listed []struct{ ID, Name, Address string }
	if err := json.Unmarshal([]byte(mustCLI(t, env, "radius", "client", "list", "--tenant", "contoso.com", "--output", "json")), &listed); err != nil ||
		len(listed) != 2 || listed[1].Name != "Office VPN" || listed[1].Address != "127.0.0.1/32" {
		t.Fatalf("list: %+v %v", listed, err)
	}

	// The server sees the new client within seconds (its per-node copy
	// of the clients refreshes).
	stateRe := regexp.MustCompile(`State = (0x[0-9a-f]+)`)
	var challenge string
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, out := radclient(t, addr, secret, user+`User-Password = "Lila-Kor-Flyger-88"`)
		if got == "Access-Challenge" {
			challenge = out
			break
		}
		if got != "" || time.Now().After(deadline) {
			t.Fatalf("want Access-Challenge, got %q: %s", got, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(challenge, "hardware token") || !stateRe.MatchString(challenge) {
		t.Fatalf("challenge: %s", challenge)
	}
	state := stateRe.FindStringSubmatch(challenge)[1]
	code := totpCode(t, key, "now")
	if got, out := radclient(t, addr, secret, user+fmt.Sprintf(`User-Password = "%s", State = %s`, code, state)); got != "Access-Accept" {
		t.Fatalf("the code: %q %s", got, out)
	}

	// The same code in a new sign-in: rejected as used.
	got, out := radclient(t, addr, secret, user+`User-Password = "Lila-Kor-Flyger-88"`)
	if got != "Access-Challenge" {
		t.Fatalf("second sign-in: %q %s", got, out)
	}
	state2 := stateRe.FindStringSubmatch(out)[1]
	if got, out := radclient(t, addr, secret, user+fmt.Sprintf(`User-Password = "%s", State = %s`, code, state2)); got != "Access-Reject" || !strings.Contains(out, "already been used") {
		t.Fatalf("replayed code: %q %s", got, out)
	}
	// A wrong code.
	wrong := []byte(totpCode(t, key, "now"))
	wrong[5] = '0' + (wrong[5]-'0'+5)%10
	got, out = radclient(t, addr, secret, user+`User-Password = "Lila-Kor-Flyger-88"`)
	if got != "Access-Challenge" {
		t.Fatalf("third sign-in: %q %s", got, out)
	}
	state3 := stateRe.FindStringSubmatch(out)[1]
	if got, out := radclient(t, addr, secret, user+fmt.Sprintf(`User-Password = "%s", State = %s`, wrong, state3)); got != "Access-Reject" || !strings.Contains(out, "Reply-Message") {
		t.Fatalf("wrong code: %q %s", got, out)
	}
	// radclient signs with the secret it is given: with another one the
	// Message-Authenticator is wrong; without the attribute it is missing.
	if got, out := radclient(t, addr, "not-the-shared-secret", user+`User-Password = "Lila-Kor-Flyger-88"`); got != "" {
		t.Fatalf("a bad Message-Authenticator was answered: %s", out)
	}
	if got, out := radclient(t, addr, secret, `User-Name = "anna@contoso.com", User-Password = "Lila-Kor-Flyger-88"`); got != "" {
		t.Fatalf("a request without Message-Authenticator was answered: %s", out)
	}
	mustCLI(t, env, "radius", "client", "remove", "--tenant", "contoso.com", "Branch VPN")
	if _, errOut, code := cli(t, env, "", "radius", "client", "remove", "--tenant", "contoso.com", "Branch VPN"); code != 1 || !strings.Contains(errOut, "No RADIUS client") {
		t.Fatalf("remove twice: exit %d %s", code, errOut)
	}
	s.stop(t)
	log := s.stderr.String()
	for _, want := range []string{"vakt RADIUS listening", "reason=unknown_client", "reason=message_authenticator"} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lacks %q", want)
		}
	}
	if strings.Contains(log, "Lila-Kor-Flyger-88") || strings.Contains(log, `"`+code+`"`) || strings.Contains(log, "="+code) {
		t.Error("a password or code reached the log")
	}
}

// TestRADIUSPushEndToEnd: `vakt serve --radius` holds radclient's
// Access-Request while the companion (`vakt authenticator watch`)
// answers the push, which asks for no number: an approval gives
// Access-Accept, a deny Access-Reject with the reason, no answer
// Access-Reject after VAKT_RADIUS_PUSH_TIMEOUT.
func TestRADIUSPushEndToEnd(t *testing.T) {
	needTools(t, "radclient")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("Lila-Kor-Flyger-88\n"), 0o600)
	secretFile := filepath.Join(t.TempDir(), "secret")
	const secret = "a-shared-secret-for-tests"
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	store := []string{"--data", t.TempDir()}
	mustCLI(t, nil, append([]string{"init", "--domain", "contoso.com", "--admin", "admin@contoso.com", "--admin-password-file", pwFile}, store...)...)
	mustCLI(t, nil, append([]string{"user", "create", "--tenant", "contoso.com", "--upn", "pia@contoso.com", "--password-file", pwFile}, store...)...)
	mustCLI(t, nil, append([]string{"radius", "client", "add", "--tenant", "contoso.com", "--address", "127.0.0.1", "--secret-file", secretFile, "--name", "Office VPN"}, store...)...)
	addr := freeUDPPort(t)
	srv := startServer(t, []string{"VAKT_RADIUS_PUSH_TIMEOUT=5s"}, append([]string{"--radius", addr}, store...)...)

	// Register the companion through the sign-in's registration interrupt.
	env := []string{"VAKT_AUTHENTICATOR_FILE=" + filepath.Join(t.TempDir(), "authenticator.json")}
	s := &signinAPI{t: t, base: srv.url, tenant: "contoso.com", upn: "pia@contoso.com", password: "Lila-Kor-Flyger-88"}
	v := s.start()
	reg := s.post("signin/"+v.FlowID+"/register/begin", map[string]any{"option": "push"}, 200)
	mustCLI(t, env, "authenticator", "enroll", reg.Register.Enrolment.Link, "--name", "Pia's terminal")
	fin := s.post("signin/"+v.FlowID+"/register/finish", nil, 200)
	mustCLI(t, env, "authenticator", "watch", "--once", "--timeout", "20s", "--auto-approve-number", strconv.Itoa(fin.Register.Enrolment.Number))
	if v = s.post("signin/"+v.FlowID+"/push/poll", map[string]any{"wait": 5}, 200); v.State != "done" {
		t.Fatalf("registration: %+v", v)
	}
	mustCLI(t, nil, append([]string{"user", "mfa", "--tenant", "contoso.com", "--upn", "pia@contoso.com", "--state", "enforced"}, store...)...)

	user := `User-Name = "pia@contoso.com", Message-Authenticator = 0x00, User-Password = "Lila-Kor-Flyger-88"`
	for _, c := range []struct {
		flag, said, answer, reply string
	}{
		{"--auto-approve-number=42", "Approved.", "Access-Accept", ""},
		{"--deny", "Denied.", "Access-Reject", "denied in your authenticator app"},
	} {
		watch := exec.Command(vaktBin, "authenticator", "watch", "--once", "--timeout", "30s", c.flag)
		watch.Env = append(os.Environ(), env...)
		var out strings.Builder
		watch.Stdout, watch.Stderr = &out, &out
		if err := watch.Start(); err != nil {
			t.Fatal(err)
		}
		got, res := radclientWait(t, addr, secret, user, 30)
		if err := watch.Wait(); err != nil {
			t.Fatalf("%s: companion: %v\n%s", c.flag, err, out.String())
		}
		if got != c.answer || !strings.Contains(res, c.reply) {
			t.Fatalf("%s: %q, want %s with %q: %s", c.flag, got, c.answer, c.reply, res)
		}
		if said := out.String(); !strings.Contains(said, "App:      Office VPN") || !strings.Contains(said, "No number") || !strings.Contains(said, c.said) {
			t.Fatalf("%s: companion said: %s", c.flag, said)
		}
	}
	// Nobody answers: rejected when the hold is over — within radclient's
	// 30 s only because VAKT_RADIUS_PUSH_TIMEOUT=5s took effect (the
	// default is 45 s).
	if got, res := radclientWait(t, addr, secret, user, 30); got != "Access-Reject" || !strings.Contains(res, "not approved in time") {
		t.Fatalf("no answer: %q %s", got, res)
	}
	srv.stop(t)
}
