package main

import (
	"slices"
	"time"
)

// Latency summarises a set of durations. Nearest-rank percentiles over
// every sample: a run of a few minutes at ~100 sign-ins/s is tens of
// thousands of samples, so keeping them all is cheaper than being clever.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func summarise(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return Latency{Count: len(s), P50: ms(rank(s, 50)), P95: ms(rank(s, 95)), P99: ms(rank(s, 99)), Max: ms(s[len(s)-1])}
}

// rank is the nearest-rank percentile p of sorted s (len(s) > 0).
func rank(s []time.Duration, p int) time.Duration {
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// usersNeeded is the smallest user count that never makes a client wait
// for a fresh TOTP step at rate sign-ins/s with c clients: a code is
// accepted once per user per step, so every user may sign in at most once
// in each 30-second step. Users go round in order, so the one used first
// in a step comes back after users/rate seconds and must by then be in
// the next step: at worst a whole step later. The c in flight are out of
// the round meanwhile.
func usersNeeded(rate float64, c int, period time.Duration) int {
	return int(rate*period.Seconds()+0.5) + c
}
