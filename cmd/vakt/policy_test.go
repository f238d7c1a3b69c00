package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIPolicy drives `vakt policy`: security defaults are on for a new
// tenant, turning them off needs a reason (exit 1 without), and the
// methods policy prints as a table and as the Graph JSON.
func TestCLIPolicy(t *testing.T) {
	data := t.TempDir()
	mustCLI(t, nil, "tenant", "create", "--data", data, "--domain", "contoso.com")
	sd := func(args ...string) []string {
		return append([]string{"policy", "security-defaults", "--data", data, "--tenant", "contoso.com"}, args...)
	}
	if out := mustCLI(t, nil, sd()...); !strings.HasPrefix(out, "security defaults: enabled") {
		t.Fatalf("new tenant: %q", out)
	}
	_, errOut, code := cli(t, nil, "", sd("--disable")...)
	if code != 1 || !strings.Contains(errOut, "reason is required") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("disable without a reason: exit %d %q", code, errOut)
	}
	if _, _, code := cli(t, nil, "", sd("--disable", "--reason", "   ")...); code != 1 {
		t.Fatalf("blank reason: exit %d", code)
	}
	if out := mustCLI(t, nil, sd()...); !strings.HasPrefix(out, "security defaults: enabled") {
		t.Fatalf("a refused change took effect: %q", out)
	}
	if _, _, code := cli(t, nil, "", sd("--enable", "--disable", "--reason", "x")...); code != 2 {
		t.Fatalf("--enable with --disable: exit %d, want 2", code)
	}
	if _, _, code := cli(t, nil, "", sd("--reason", "x")...); code != 2 {
		t.Fatalf("--reason alone: exit %d, want 2", code)
	}
	if out := mustCLI(t, nil, sd("--disable", "--reason", "Moving to conditional access")...); !strings.HasPrefix(out, "security defaults: disabled") {
		t.Fatalf("disable: %q", out)
	}
	var state struct {
		IsEnabled bool `json:"isEnabled"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, sd("--output", "json")...)), &state); err != nil || state.IsEnabled {
		t.Fatalf("json state %+v %v", state, err)
	}
	if out := mustCLI(t, nil, sd("--enable")...); !strings.HasPrefix(out, "security defaults: enabled") {
		t.Fatalf("enable: %q", out)
	}

	table := mustCLI(t, nil, "policy", "methods", "--data", data, "--tenant", "contoso.com")
	for _, want := range []string{"METHOD", "TemporaryAccessPass", "registration campaign: default"} {
		if !strings.Contains(table, want) {
			t.Errorf("methods table lacks %q:\n%s", want, table)
		}
	}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "X509Certificate" && f[1] != "disabled" {
			t.Errorf("certificates should be disabled by default: %q", line)
		}
	}
	var p struct {
		ID      string `json:"id"`
		Configs []struct {
			Type string `json:"@odata.type"`
			ID   string `json:"id"`
		} `json:"authenticationMethodConfigurations"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, nil, "policy", "methods", "--data", data, "--tenant", "contoso.com", "--output", "json")), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != "authenticationMethodsPolicy" || len(p.Configs) != 9 || p.Configs[0].Type != "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration" {
		t.Fatalf("methods json %+v", p)
	}
	if _, _, code := cli(t, nil, "", "policy", "methods", "--data", data, "--tenant", "nowhere.example"); code != 1 {
		t.Fatalf("unknown tenant: exit %d", code)
	}
}
