package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var vaktBin, loadBin string

// TestMain builds the real vakt binary and this tool once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vakt-load-test")
	if err != nil {
		panic(err)
	}
	vaktBin, loadBin = filepath.Join(dir, "vakt"), filepath.Join(dir, "vakt-load")
	for out, pkg := range map[string]string{vaktBin: "../vakt", loadBin: "."} {
		args := []string{"build", "-o", out}
		if raceEnabled && pkg == "." {
			args = append(args, "-race")
		}
		build := exec.Command("go", append(args, pkg)...)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runLoad(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(loadBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// short is a smoke run: few users, 4 clients, two seconds. With so few
// users some clients wait for a fresh TOTP step; that is reported, not
// an error.
func short(extra ...string) []string {
	return append([]string{"--users", "30", "--concurrency", "4", "--duration", "1500ms", "--warmup", "300ms", "--no-step-wait", "--json"}, extra...)
}

// checkReport: the run finished with no failed sign-in and figures that
// hang together. No timing is asserted: the machine may be busy.
func checkReport(t *testing.T, out, errOut string, code, nodes int, started bool) report {
	t.Helper()
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if r.SignIns < 1 || r.Errors != 0 || len(r.ErrorsByKind) != 0 || r.Nodes != nodes || len(r.Servers) != nodes || len(r.PerNode) != nodes {
		t.Fatalf("report %s", out)
	}
	sum := 0
	for i, n := range r.PerNode {
		if n < 1 {
			t.Fatalf("node %d had no sign-ins: %v", i+1, r.PerNode)
		}
		sum += n
	}
	l := r.Latency.SignIn
	if sum != r.SignIns || l.Count != r.SignIns || !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Fatalf("report %s", out)
	}
	for _, s := range r.Servers {
		if s.PID == 0 || s.IdleRSSMB <= 0 || s.PeakRSSMB < 1 || s.SampledPeakMB < 1 || s.CPUCores <= 0 || (started && s.StartToReadyMs <= 0) {
			t.Fatalf("server figures %+v", s)
		}
	}
	if r.LoadAvgStart < 0 || r.CPUs < 1 {
		t.Fatalf("machine figures %s", out)
	}
	return r
}

// TestSQLite starts vakt on embedded SQLite itself, sets up users through
// the vakt command line and the sign-in API's registration, and signs
// them in; the users file keeps their secrets, privately.
func TestSQLite(t *testing.T) {
	data := t.TempDir()
	out, errOut, code := runLoad(t, short("--serve-bin", vaktBin, "--data", data)...)
	r := checkReport(t, out, errOut, code, 1, true)
	if r.Store != "sqlite" || !strings.Contains(errOut, "importing 30 users") {
		t.Fatalf("store %q, stderr %s", r.Store, errOut)
	}
	st, err := os.Stat(filepath.Join(data, "vakt-load-users.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v %v", st, err)
	}
	f, err := loadUsersFile(filepath.Join(data, "vakt-load-users.json"))
	if err != nil || len(f.Users) != 30 {
		t.Fatalf("users file: %v %+v", err, f)
	}
	for _, u := range f.Users {
		if len(u.secret) == 0 || u.LastStep == 0 {
			t.Fatalf("user %s has no secret or step", u.UPN)
		}
	}
	// The users are in the store, with per-user MFA now enforced (the
	// registration in the sign-in moved them on from enabled).
	cmd := exec.Command(vaktBin, "user", "list", "--data", data, "--tenant", "vakt-load.example", "--output", "json")
	list, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var users []struct{ PerUserMfaState string }
	json.Unmarshal(list, &users)
	if len(users) != 30 || users[0].PerUserMfaState != "enforced" {
		t.Fatalf("users in the store: %s", list)
	}
}

// TestPostgres: one vakt already running (--url, --server-pid), then two
// nodes started by the tool on the same database, the load split.
func TestPostgres(t *testing.T) {
	dbURL := storetest.PostgresSchemaURL(t, "vakt_load_")
	data := t.TempDir()
	keyFile := filepath.Join(data, "master.key")
	if _, err := secret.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	storeArgs := []string{"--data", data, "--database", dbURL, "--master-key-file", keyFile}

	// A node started by someone else: the tool sets up through the vakt
	// command line on the same store and reads the node's memory by pid.
	addr := freeAddrT(t)
	srv := exec.Command(vaktBin, append([]string{"serve", "--listen", addr, "--public-url", "http://" + addr}, storeArgs...)...)
	srv.Stderr = new(bytes.Buffer)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitReady(t, "http://"+addr)
	out, errOut, code := runLoad(t, short(append([]string{"--url", "http://" + addr, "--server-pid", strconv.Itoa(srv.Process.Pid), "--vakt-bin", vaktBin}, storeArgs...)...)...)
	if r := checkReport(t, out, errOut, code, 1, false); r.Store != "postgres" {
		t.Fatalf("store %q", r.Store)
	}
	srv.Process.Kill()
	srv.Wait()

	// The users file belongs to that tenant.
	_, errOut, code = runLoad(t, short(append([]string{"--serve-bin", vaktBin, "--tenant", "other.example"}, storeArgs...)...)...)
	if code != 1 || !strings.Contains(errOut, "made for another store or tenant") {
		t.Fatalf("users file of another tenant: exit %d: %s", code, errOut)
	}

	// Two nodes on the same database, with users of their own (those of
	// the first run used their codes of this step and the next).
	out, errOut, code = runLoad(t, short(append([]string{"--serve-bin", vaktBin, "--nodes", "2", "--tenant", "two.example",
		"--users-file", filepath.Join(data, "two.json")}, storeArgs...)...)...)
	checkReport(t, out, errOut, code, 2, true)
}

func freeAddrT(t *testing.T) string {
	a, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	hc := newHTTPClient(1)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ready(hc, base) {
			return
		}
	}
	t.Fatal("vakt serve not ready")
}

// TestFlags: usage errors exit 2, refused values 1, each with one line
// that names the problem.
func TestFlags(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "give --serve-bin"},
		{[]string{"--serve-bin", "x", "--url", "http://a"}, 2, "exclude each other"},
		{[]string{"--serve-bin", "x", "--bogus"}, 2, "unknown flag"},
		{[]string{"--serve-bin", "x", "--concurrency", "lots"}, 2, "invalid argument"},
		{[]string{"--serve-bin", "x", "--duration", "10"}, 2, "invalid argument"},
		{[]string{"--serve-bin", "x", "extra"}, 2, "unexpected argument"},
		{[]string{"--serve-bin", "x", "--setup-only", "--no-setup"}, 2, "exclude each other"},
		{[]string{"--serve-bin", "x", "--concurrency", "0"}, 1, "--concurrency 0"},
		{[]string{"--serve-bin", "x", "--users", "8", "--concurrency", "8"}, 1, "more than --concurrency"},
		{[]string{"--serve-bin", "x", "--duration", "-1s"}, 1, "--duration"},
		{[]string{"--serve-bin", "x", "--nodes", "2"}, 1, "needs PostgreSQL"},
		{[]string{"--url", "http://a", "--nodes", "2"}, 1, "--nodes needs --serve-bin"},
		{[]string{"--serve-bin", "x", "--node-cpus", "0", "--node-cpus", "1"}, 1, "once per node"},
		{[]string{"--serve-bin", "x", "--node-cpus", "a-b"}, 1, "CPU list"},
		{[]string{"--url", "ftp://a"}, 1, "http:// or https://"},
		{[]string{"--url", "http://a", "--server-pid", "0"}, 1, "process id"},
		{[]string{"--url", "http://a", "--url", "http://b", "--server-pid", "1"}, 1, "one per --url"},
		{[]string{"--serve-bin", "x", "--database", "mysql://a"}, 1, "--database"},
		{[]string{"--serve-bin", "x", "--database", "postgres://a"}, 1, "--master-key-file is required"},
		{[]string{"--serve-bin", "x", "--tenant", "nodot"}, 1, "--tenant"},
		{[]string{"--serve-bin", "x", "--data", ""}, 1, "--data"},
		{[]string{"--serve-bin", filepath.Join(data, "nope"), "--data", data, "--users", "5", "--concurrency", "1"}, 1, "nope"}, // no such binary
		{[]string{"--url", "http://a", "--data", data, "--no-setup"}, 1, "does not exist"},
	}
	for _, c := range cases {
		_, errOut, code := runLoad(t, c.args...)
		first, rest, _ := strings.Cut(errOut, "\n")
		if code != c.code || !strings.HasPrefix(first, "vakt-load: ") || !strings.Contains(first, c.msg) {
			t.Errorf("vakt-load %q: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
		if c.code == 1 && rest != "" {
			t.Errorf("vakt-load %q: more than one line: %q", c.args, errOut)
		}
	}
	if _, errOut, code := runLoad(t, "--help"); code != 0 || !strings.Contains(errOut, "Usage: vakt-load") || !strings.Contains(errOut, "--concurrency int") {
		t.Fatalf("--help: exit %d: %s", code, errOut)
	}
}
