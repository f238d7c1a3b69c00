package main

import (
	"bufio"
	"context"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/method/push"
)

// TestAsk: the companion's prompt takes the number for a numbered push
// and only a/d/r for one without a number (a RADIUS sign-in), asking
// again after anything else.
func TestAsk(t *testing.T) {
	cases := []struct {
		numbered bool
		in       string
		d        push.Decision
		n        int
		retries  int
	}{
		{true, "42\n", push.Approve, 42, 0},
		{true, "a\n7\n 42 \n", push.Approve, 42, 2},
		{true, "D\n", push.Deny, 0, 0},
		{false, "42\nx\na\n", push.Approve, push.NoNumber, 2},
		{false, "approve\n", push.Approve, push.NoNumber, 0},
		{false, "r\n", push.Report, 0, 0},
	}
	for _, c := range cases {
		var out strings.Builder
		d, n, ok := ask(context.Background(), &out, bufio.NewScanner(strings.NewReader(c.in)), c.numbered)
		if !ok || d != c.d || n != c.n {
			t.Errorf("%v %q: %s %d %v", c.numbered, c.in, d, n, ok)
		}
		if got := strings.Count(out.String(), "That is not"); got != c.retries {
			t.Errorf("%v %q: asked again %d times, want %d: %s", c.numbered, c.in, got, c.retries, out.String())
		}
		if c.numbered == strings.Contains(out.String(), "Type 'a' to approve") {
			t.Errorf("%v: prompt %q", c.numbered, out.String())
		}
	}
	if _, _, ok := ask(context.Background(), new(strings.Builder), bufio.NewScanner(strings.NewReader("")), false); ok {
		t.Error("an answer from closed input")
	}
}
