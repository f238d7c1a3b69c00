package main

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := summarise(d)
	if l.Count != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("%+v", l)
	}
	if d[0] != 100*time.Millisecond {
		t.Fatal("summarise sorted its input")
	}
	if l := summarise([]time.Duration{7 * time.Millisecond}); l.P50 != 7 || l.P99 != 7 {
		t.Fatalf("one sample: %+v", l)
	}
	if l := summarise(nil); l != (Latency{}) {
		t.Fatalf("no samples: %+v", l)
	}
}

func TestUsersNeeded(t *testing.T) {
	// 100 sign-ins/s over a 30 s step, plus the 32 in flight.
	if n := usersNeeded(100, 32, 30*time.Second); n != 3032 {
		t.Fatalf("usersNeeded = %d", n)
	}
}

func TestWaitForStep(t *testing.T) {
	now := time.Unix(1_700_000_010, 0) // step 56666667 began at ...000010
	step := now.Unix() / 30
	if w := waitForStep(now, step-1); w != 0 {
		t.Fatalf("used in the previous step: wait %v", w)
	}
	if w := waitForStep(now, step); w != 30*time.Second {
		t.Fatalf("used in this step: wait %v", w)
	}
	if w := waitForStep(now.Add(29*time.Second), step); w != time.Second {
		t.Fatalf("used in this step, 1s left: wait %v", w)
	}
}

func TestPoolOrder(t *testing.T) {
	a, b, c := &loadUser{UPN: "a"}, &loadUser{UPN: "b"}, &loadUser{UPN: "c"}
	p := newPool([]*loadUser{a, b, c})
	x := p.take()
	p.give(x)
	if got := []string{p.take().UPN, p.take().UPN, p.take().UPN}; got[0] != "b" || got[1] != "c" || got[2] != "a" {
		t.Fatalf("order %v: the user given back must come last", got)
	}
}

func TestCountCPUs(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0,1": 2, "0-3": 4, "0-1,4": 3} {
		if n, err := countCPUs(in); err != nil || n != want {
			t.Errorf("countCPUs(%q) = %d, %v", in, n, err)
		}
	}
	for _, in := range []string{"", "a", "3-1", "-1", "0,,1"} {
		if _, err := countCPUs(in); err == nil {
			t.Errorf("countCPUs(%q) accepted", in)
		}
	}
}
