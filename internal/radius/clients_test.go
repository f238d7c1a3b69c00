package radius

import (
	"strings"
	"testing"
	"time"
)

var fixed = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10":           "192.0.2.10/32",
		" 192.0.2.10/24 ":      "192.0.2.0/24",
		"2001:db8::1":          "2001:db8::1/128",
		"2001:db8:1::/64":      "2001:db8:1::/64",
		"::ffff:192.0.2.1/128": "192.0.2.1/32",
		"10.0.0.0/8":           "10.0.0.0/8",
		"0.0.0.0/0":            "",
		"10.0.0.0/7":           "",
		"::/8":                 "",
		"10.0.0.0/33":          "",
		"fe80::1%eth0":         "",
		"vpn.contoso.com":      "",
		"":                     "",
	} {
		p, err := ParseAddress(in)
		switch {
		case want == "" && err == nil:
			t.Errorf("%q: accepted as %s", in, p)
		case want != "" && (err != nil || p.String() != want):
			t.Errorf("%q: %v %v, want %s", in, p, err, want)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for s, ok := range map[string]bool{
		strings.Repeat("a", 16):  true,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 15):  false,
		strings.Repeat("a", 129): false,
		"sixteen-chars-\tx":      false,
		"sixteen-chars-åäö":      false,
	} {
		if err := CheckSecret(s); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(DefaultReplayTTL, 8, func() time.Time { return fixed })
	for i := range 20 {
		k := replayKey{id: byte(i)}
		if _, st := c.begin(k); st != replayNew {
			t.Fatalf("%d: %v", i, st)
		}
		c.finish(k, []byte{byte(i)})
	}
	if len(c.m) > 8 {
		t.Fatalf("%d entries kept, limit 8", len(c.m))
	}
	k := replayKey{id: 19}
	if out, st := c.begin(k); st != replayAnswered || out[0] != 19 {
		t.Fatalf("the newest answer was lost: %v %v", out, st)
	}
	k = replayKey{id: 200}
	c.begin(k)
	if _, st := c.begin(k); st != replayInFlight {
		t.Fatalf("in flight: %v", st)
	}
	c.abandon(k)
	if _, st := c.begin(k); st != replayNew {
		t.Fatalf("after abandon: %v", st)
	}
}
