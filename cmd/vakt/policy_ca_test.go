package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIConditionalAccess drives the conditional access commands of the
// real binary on embedded SQLite: templates, create from a template or a
// file (the guard rails refuse locking the Global Administrator out),
// list, whatif, and replay against sign-ins made through a running
// server.
func TestCLIConditionalAccess(t *testing.T) {
	data := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("a-Strong-Passphrase-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tenant := strings.TrimSpace(mustCLI(t, nil, "init", "--data", data, "--domain", "contoso.com", "--admin", "admin@contoso.com",
		"--admin-password-file", pwFile))
	run := func(args ...string) string {
		t.Helper()
		return mustCLI(t, nil, append(append([]string{}, args...), "--data", data)...)
	}
	fail := func(want int, args ...string) string {
		t.Helper()
		_, errOut, code := cli(t, nil, "", append(append([]string{}, args...), "--data", data)...)
		if code != want || strings.Count(errOut, "\n") < 1 {
			t.Fatalf("vakt %s: exit %d (want %d): %q", strings.Join(args, " "), code, want, errOut)
		}
		return errOut
	}
	T := []string{"--tenant", "contoso.com"}
	with := func(args ...string) []string { return append(append([]string{}, args...), T...) }
	aliceID := strings.TrimSpace(run(with("user", "create", "--upn", "alice@contoso.com", "--password-file", pwFile)...))
	run(with("group", "create", "--name", "Finance")...)
	run(with("group", "add-member", "--group", "Finance", "--member", "alice@contoso.com")...)
	run(with("policy", "security-defaults", "--disable", "--reason", "moving to conditional access")...)

	// Templates.
	tbl := mustCLI(t, nil, "policy", "templates")
	for _, want := range []string{"ID", "NAME", "Block legacy authentication", "Require multifactor authentication for administrators"} {
		if !strings.Contains(tbl, want) {
			t.Errorf("templates table lacks %q:\n%s", want, tbl)
		}
	}
	var templates []struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "policy", "templates", "--output", "json")), &templates); err != nil || len(templates) < 6 {
		t.Fatalf("templates json: %v %d", err, len(templates))
	}

	// Create from templates, by name and by id.
	legacyID := strings.TrimSpace(run(with("policy", "create", "--template", "block legacy authentication")...))
	if len(legacyID) != 36 {
		t.Fatalf("create printed %q", legacyID)
	}
	var admins map[string]any
	if err := json.Unmarshal([]byte(run(with("policy", "create", "--template", templates[0].ID, "--display-name", "Admins need MFA", "--output", "json")...)), &admins); err != nil {
		t.Fatal(err)
	}
	if admins["state"] != "enabledForReportingButNotEnforced" || admins["templateId"] != templates[0].ID || admins["displayName"] != "Admins need MFA" {
		t.Errorf("created from template: %v", admins)
	}
	allMFA := strings.TrimSpace(run(with("policy", "create", "--template", "Require multifactor authentication for all users")...))
	if msg := fail(1, with("policy", "create", "--template", "Require a blood sample")...); !strings.Contains(msg, "does not exist") {
		t.Errorf("unknown template: %q", msg)
	}
	fail(2, with("policy", "create")...)
	fail(2, with("policy", "create", "--template", "x", "--file", "y")...)

	// From a file: locking the only Global Administrator out is refused.
	file := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(file, []byte(`{"displayName":"Lockdown","state":"enabled","conditions":{"clientAppTypes":["all"],
		"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]}},"grantControls":{"operator":"OR","builtInControls":["block"]}}`), 0o600)
	if msg := fail(1, with("policy", "create", "--file", file)...); !strings.Contains(msg, "Global Administrator") || !strings.Contains(msg, "admin@contoso.com") {
		t.Errorf("lockdown: %q", msg)
	}
	os.WriteFile(file, []byte(`{"displayName":"MFA off-network","state":"enabled","conditions":{"clientAppTypes":["all"],
		"applications":{"includeApplications":["All"]},"users":{"includeUsers":["All"]},
		"locations":{"includeLocations":["All"],"excludeLocations":["AllTrusted"]}},"grantControls":{"operator":"OR","builtInControls":["mfa"]}}`), 0o600)
	run(with("policy", "create", "--file", file)...)

	// List.
	list := run(with("policy", "list")...)
	for _, want := range []string{"STATE", "Block legacy authentication", "report-only", "Admins need MFA", "MFA off-network", "enabled"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	var docs []map[string]any
	if err := json.Unmarshal([]byte(run(with("policy", "list", "--output", "json")...)), &docs); err != nil || len(docs) != 4 {
		t.Fatalf("list json: %v %d", err, len(docs))
	}

	// What If.
	wi := run(with("policy", "whatif", "--upn", "alice@contoso.com", "--ip", "198.51.100.7")...)
	for _, want := range []string{"decision: mfa", "MFA off-network", "POLICY", "reportOnlyNotApplied", "reportOnlyInterrupted"} {
		if !strings.Contains(wi, want) {
			t.Errorf("whatif lacks %q:\n%s", want, wi)
		}
	}
	var res struct {
		User     struct{ ID string }
		Policies []struct {
			DisplayName string `json:"displayName"`
			Result      string `json:"result"`
		}
		Decision struct {
			Outcome string `json:"outcome"`
		}
	}
	if err := json.Unmarshal([]byte(run(with("policy", "whatif", "--upn", aliceID, "--ip", "198.51.100.7", "--client-app-type", "exchangeActiveSync",
		"--platform", "windows", "--sign-in-risk", "high", "--output", "json")...)), &res); err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	for _, p := range res.Policies {
		results[p.DisplayName] = p.Result
	}
	if res.User.ID != aliceID || res.Decision.Outcome != "mfa" || results["Block legacy authentication"] != "reportOnlyFailure" ||
		results["Admins need MFA"] != "reportOnlyNotApplied" || results["MFA off-network"] != "applied" {
		t.Errorf("whatif json %+v", res)
	}
	wi = run(with("policy", "whatif", "--upn", "admin@contoso.com", "--admin-portal")...)
	if !strings.Contains(wi, "reportOnlyInterrupted") {
		t.Errorf("admin whatif:\n%s", wi)
	}
	fail(1, with("policy", "whatif", "--upn", "nobody@contoso.com")...)
	fail(1, with("policy", "whatif", "--upn", "alice@contoso.com", "--ip", "198.51.100")...)
	fail(1, with("policy", "whatif", "--upn", "alice@contoso.com", "--client-app-type", "carrier-pigeon")...)
	fail(1, with("policy", "whatif", "--upn", "alice@contoso.com", "--sign-in-risk", "extreme")...)
	fail(2, with("policy", "whatif", "--upn", "alice@contoso.com", "--app", "x", "--admin-portal")...)
	fail(2, with("policy", "whatif")...)

	// Replay: two sign-ins through the server's JSON API, then the log.
	srv := startServer(t, nil, "--data", data)
	for range 2 {
		signInOnce(t, srv.url, tenant, "alice@contoso.com", "a-Strong-Passphrase-42")
	}
	srv.stop(t)
	rp := run(with("policy", "replay", "--policy", allMFA, "--days", "1")...)
	for _, want := range []string{"Require multifactor authentication for all users", "sign-ins: 2", "2 would require MFA", "users: 1", "alice@contoso.com", "wouldRequireMfa"} {
		if !strings.Contains(rp, want) {
			t.Errorf("replay lacks %q:\n%s", want, rp)
		}
	}
	var rep struct {
		Days    int `json:"days"`
		SignIns struct {
			Total, WouldRequireMfa, NotApplied int
		} `json:"signIns"`
		Sample []map[string]any `json:"sample"`
	}
	if err := json.Unmarshal([]byte(run(with("policy", "replay", "--policy", "block legacy authentication", "--output", "json")...)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Days != 7 || rep.SignIns.Total != 2 || rep.SignIns.NotApplied != 2 || len(rep.Sample) != 0 {
		t.Errorf("replay json %+v", rep)
	}
	fail(1, with("policy", "replay", "--policy", allMFA, "--days", "0")...)
	fail(1, with("policy", "replay", "--policy", allMFA, "--days", "31")...)
	fail(1, with("policy", "replay", "--policy", "no such policy")...)
	fail(2, with("policy", "replay")...)
}

// signInOnce signs in with a password through the JSON sign-in API.
func signInOnce(t *testing.T, base, tenant, upn, password string) {
	t.Helper()
	post := func(path string, body any, want int) map[string]any {
		b, _ := json.Marshal(body)
		resp, err := http.Post(base+"/"+tenant+"/api/"+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d: %v", path, resp.StatusCode, want, out)
		}
		return out
	}
	v := post("signin", map[string]any{"username": upn}, http.StatusCreated)
	flow, _ := v["flowId"].(string)
	post("signin/"+flow+"/password", map[string]any{"password": password}, http.StatusOK)
}
