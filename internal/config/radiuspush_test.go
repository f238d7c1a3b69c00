package config

import (
	"strings"
	"testing"
	"time"
)

// TestRadiusPush: the RADIUS push settings from the file and the
// environment, and what Validate refuses.
func TestRadiusPush(t *testing.T) {
	p := writeFile(t, "vakt.yaml", "radiusPush: {mode: Code, timeout: 40s}\n")
	c, err := Load(p, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.RadiusPush.Mode != RadiusPushCode || c.RadiusPush.Timeout != 40*time.Second {
		t.Fatalf("from the file: %+v", c.RadiusPush)
	}
	c, err = Load(p, envMap(map[string]string{"VAKT_RADIUS_PUSH": "approve", "VAKT_RADIUS_PUSH_TIMEOUT": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RadiusPush.Mode != RadiusPushApprove || c.RadiusPush.Timeout != time.Minute {
		t.Fatalf("from the environment: %+v", c.RadiusPush)
	}
	if _, err := Load(p, envMap(map[string]string{"VAKT_RADIUS_PUSH_TIMEOUT": "soon"})); err == nil || !strings.Contains(err.Error(), "VAKT_RADIUS_PUSH_TIMEOUT") {
		t.Fatalf("a bad duration: %v", err)
	}
	for _, tc := range []struct {
		mode    string
		timeout time.Duration
		want    string
	}{
		{"", 0, ""},
		{"approve", 5 * time.Second, ""},
		{"code", 5 * time.Minute, ""},
		{"number", 0, "radiusPush.mode:"},
		{"", 4 * time.Second, "radiusPush.timeout:"},
		{"", 301 * time.Second, "radiusPush.timeout:"},
		{"", -time.Second, "radiusPush.timeout:"},
	} {
		c := Default()
		c.RadiusPush = RadiusPushConfig{Mode: tc.mode, Timeout: tc.timeout}
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q %s: %v, want %q", tc.mode, tc.timeout, err, tc.want)
		}
	}
}
