package totp

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oathtoolPath finds the independent reference implementation. Under CI a
// missing oathtool fails the test, so that the check cannot silently stop
// running; elsewhere it skips.
func oathtoolPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("oathtool not found and CI is set: install the Debian package oathtool (apt-get install -y oathtool)")
		}
		t.Skip("oathtool not found: install the Debian package oathtool (apt-get install -y oathtool) to run this check")
	}
	return path
}

// oathtoolCode asks oathtool for the TOTP code at t.
func oathtoolCode(t *testing.T, tool, b32 string, at time.Time, p Params) string {
	t.Helper()
	args := []string{"--totp=" + strings.ToLower(p.Algorithm), "-d", strconv.Itoa(p.Digits), "-s", strconv.Itoa(p.Period), "-b", b32, "-N", "@" + strconv.FormatInt(at.Unix(), 10)}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oathtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	code := strings.TrimSpace(string(out))
	if len(code) != p.Digits {
		t.Fatalf("oathtool printed %q", out)
	}
	return code
}

// TestAgainstOathtool checks codes from the OATH Toolkit's oathtool with
// Verify: a fresh app secret (SHA1/6/30) and a hardware-style token
// (SHA256/8/60), the ±1 step window, a code outside it, and replay.
func TestAgainstOathtool(t *testing.T) {
	tool := oathtoolPath(t)
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b32 := EncodeSecret(secret)
	now := time.Unix(1_767_225_600+17, 0) // mid-step, so ±period stays one step away

	for _, p := range []Params{AppParams(), {Algorithm: SHA256, Digits: 8, Period: 60}} {
		t.Run(p.Algorithm, func(t *testing.T) {
			period := time.Duration(p.Period) * time.Second
			cur := Step(now, p)

			// The plain oathtool invocation for app codes must agree too.
			if p == AppParams() {
				out, err := exec.Command(tool, "--totp", "-b", b32, "-N", "@"+strconv.FormatInt(now.Unix(), 10)).Output()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := strings.TrimSpace(string(out)), Code(secret, cur, p); got != want {
					t.Fatalf("oathtool --totp = %s, Code = %s", got, want)
				}
			}

			for _, d := range []int64{-1, 0, 1} {
				code := oathtoolCode(t, tool, b32, now.Add(time.Duration(d)*period), p)
				if want := Code(secret, cur+d, p); code != want {
					t.Errorf("step %+d: oathtool %s, Code %s", d, code, want)
				}
				step, ok, err := Verify(secret, code, now, 0, 1, p)
				if !ok || err != nil || step != cur+d {
					t.Errorf("step %+d: Verify = %d, %v, %v; want %d, true, nil", d, step, ok, err, cur+d)
				}
			}

			old := oathtoolCode(t, tool, b32, now.Add(-2*period), p)
			if _, ok, err := Verify(secret, old, now, 0, 1, p); ok || err != nil {
				t.Errorf("code from two steps ago: ok %v, err %v; want refused", ok, err)
			}

			code := oathtoolCode(t, tool, b32, now, p)
			step, ok, err := Verify(secret, code, now, 0, 1, p)
			if !ok || err != nil {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
			if _, ok, err := Verify(secret, code, now, step, 1, p); ok || !errors.Is(err, ErrReplay) {
				t.Errorf("replay: ok %v, err %v; want ErrReplay", ok, err)
			}
			prev := oathtoolCode(t, tool, b32, now.Add(-period), p)
			if _, ok, err := Verify(secret, prev, now, step, 1, p); ok || !errors.Is(err, ErrReplay) {
				t.Errorf("older code after a newer one: ok %v, err %v; want ErrReplay", ok, err)
			}
		})
	}
}
