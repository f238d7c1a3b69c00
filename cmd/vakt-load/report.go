package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/method/totp"
)

// report is what a run found. Memory is in MB of 10⁶ bytes.
type report struct {
	Store       string   `json:"store"`
	Nodes       int      `json:"nodes"`
	NodeCPUs    []string `json:"nodeCpus,omitempty"`
	Concurrency int      `json:"concurrency"`
	Users       int      `json:"users"`
	Duration    float64  `json:"durationSeconds"`
	Warmup      float64  `json:"warmupSeconds"`

	SignIns     int     `json:"signIns"` // completed in the measured time
	SignInsPerS float64 `json:"signInsPerSecond"`
	PerNode     []int   `json:"signInsPerNode"`

	// Errors counts failed sign-ins over the whole run, warm-up and the
	// sign-ins that finished after the measured time included.
	Errors        int               `json:"errors"`
	ErrorsByKind  map[string]int    `json:"errorsByKind"`
	ErrorExamples map[string]string `json:"errorExamples,omitempty"`

	Latency struct {
		SignIn   Latency `json:"signIn"`
		Start    Latency `json:"start"`
		Password Latency `json:"password"`
		Verify   Latency `json:"verify"`
	} `json:"latency"`

	Stalls         int     `json:"stalls"` // a client waited for a fresh TOTP step
	StalledSeconds float64 `json:"stalledSeconds"`
	UsersNeeded    int     `json:"usersNeeded"` // for this rate and concurrency
	ExtraSelects   int     `json:"extraSelects"`
	AheadCodes     int     `json:"aheadCodes"` // --no-step-wait

	Servers          []serverReport `json:"servers"`
	LoadToolCPUCores float64        `json:"loadToolCpuCores"`
	// Argon2CPUMs is one argon2id hash at the default parameters, in CPU
	// time, measured by this tool just before the run.
	Argon2CPUMs    float64  `json:"argon2CpuMs"`
	CPUs           int      `json:"cpus"`
	LoadAvgStart   float64  `json:"loadAvgStart"`
	LoadAvgEnd     float64  `json:"loadAvgEnd"`
	ShutdownErrors []string `json:"shutdownErrors,omitempty"`
}

type serverReport struct {
	URL            string  `json:"url"`
	PID            int     `json:"pid,omitempty"`
	StartToReadyMs float64 `json:"startToReadyMs,omitempty"` // only for nodes this tool started
	IdleRSSMB      float64 `json:"idleRssMB,omitempty"`
	StartPeakMB    float64 `json:"startPeakMB,omitempty"`
	SetupPeakMB    float64 `json:"setupPeakMB,omitempty"`
	PeakRSSMB      float64 `json:"peakRssMB,omitempty"` // VmHWM over warm-up and measured time
	SampledPeakMB  float64 `json:"sampledPeakRssMB,omitempty"`
	CPUCores       float64 `json:"cpuCores,omitempty"`
	CPUMsPerSignIn float64 `json:"cpuMsPerSignIn,omitempty"`
	hwmReset       bool
}

// fill computes the figures from the clients' results: successes that
// ended inside [t0, t1], errors from the whole run.
func (r *report) fill(st runStats, t0, t1 time.Time) {
	r.PerNode = make([]int, r.Nodes)
	r.ErrorsByKind = map[string]int{}
	var total, start, pass, verif []time.Duration
	for _, x := range st.results {
		if x.err != nil {
			r.Errors++
			r.ErrorsByKind[x.err.kind]++
			if r.ErrorExamples == nil {
				r.ErrorExamples = map[string]string{}
			}
			if _, ok := r.ErrorExamples[x.err.kind]; !ok {
				r.ErrorExamples[x.err.kind] = x.err.detail
			}
			continue
		}
		if x.end.Before(t0) || x.end.After(t1) {
			continue
		}
		r.SignIns++
		r.PerNode[x.node]++
		total, start, pass, verif = append(total, x.total), append(start, x.start), append(pass, x.pass), append(verif, x.verif)
	}
	window := t1.Sub(t0).Seconds()
	r.SignInsPerS = float64(r.SignIns) / window
	r.Latency.SignIn, r.Latency.Start, r.Latency.Password, r.Latency.Verify = summarise(total), summarise(start), summarise(pass), summarise(verif)
	r.Stalls, r.StalledSeconds, r.ExtraSelects, r.AheadCodes = st.stalls, st.stalledFor.Seconds(), st.extraSelects, st.aheadCodes
	r.UsersNeeded = usersNeeded(r.SignInsPerS, r.Concurrency, time.Duration(totp.AppParams().Period)*time.Second)
}

func (r *report) print(w io.Writer, asJSON bool) {
	if asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	pin := ""
	if len(r.NodeCPUs) > 0 {
		pin = " pinned to CPUs " + strings.Join(r.NodeCPUs, " / ")
	}
	fmt.Fprintf(w, "vakt-load: %s, %d node(s)%s, %d clients, %d users, %.0fs measured after %.0fs warm-up\n",
		r.Store, r.Nodes, pin, r.Concurrency, r.Users, r.Duration, r.Warmup)
	perNode := ""
	if r.Nodes > 1 {
		perNode = fmt.Sprintf(" (per node %v)", r.PerNode)
	}
	fmt.Fprintf(w, "sign-ins      %d = %.1f/s%s\n", r.SignIns, r.SignInsPerS, perNode)
	fmt.Fprintf(w, "errors        %d\n", r.Errors)
	for _, k := range slices.Sorted(maps.Keys(r.ErrorsByKind)) {
		fmt.Fprintf(w, "  %6d  %s (e.g. %s)\n", r.ErrorsByKind[k], k, r.ErrorExamples[k])
	}
	lat := func(name string, l Latency) {
		fmt.Fprintf(w, "  %-9s p50 %7.1f  p95 %7.1f  p99 %7.1f  max %7.1f ms\n", name, l.P50, l.P95, l.P99, l.Max)
	}
	fmt.Fprintln(w, "latency")
	lat("sign-in", r.Latency.SignIn)
	lat("start", r.Latency.Start)
	lat("password", r.Latency.Password)
	lat("verify", r.Latency.Verify)
	users := "enough users"
	if r.Stalls > 0 {
		users = fmt.Sprintf("TOO FEW USERS: the rate was held back; %d needed", r.UsersNeeded)
	}
	fmt.Fprintf(w, "TOTP steps    %d waits for a fresh step (%.1fs), %s\n", r.Stalls, r.StalledSeconds, users)
	if r.AheadCodes > 0 {
		fmt.Fprintf(w, "              %d codes of the next step (--no-step-wait)\n", r.AheadCodes)
	}
	for i, s := range r.Servers {
		fmt.Fprintf(w, "node %d        %s", i+1, s.URL)
		if s.PID == 0 {
			fmt.Fprintln(w, " (no --server-pid: memory and CPU not read)")
			continue
		}
		fmt.Fprintf(w, " pid %d\n", s.PID)
		if s.StartToReadyMs > 0 {
			fmt.Fprintf(w, "  start to ready %.0f ms, idle RSS %.1f MB (peak while starting %.1f MB)\n", s.StartToReadyMs, s.IdleRSSMB, s.StartPeakMB)
		} else {
			fmt.Fprintf(w, "  RSS before the run %.1f MB\n", s.IdleRSSMB)
		}
		peak := "n/a (VmHWM could not be reset)"
		if s.PeakRSSMB > 0 {
			peak = fmt.Sprintf("%.1f MB", s.PeakRSSMB)
		}
		fmt.Fprintf(w, "  peak RSS under load %s (sampled %.1f MB; during set-up %.1f MB)\n", peak, s.SampledPeakMB, s.SetupPeakMB)
		fmt.Fprintf(w, "  CPU %.2f cores = %.1f ms per sign-in\n", s.CPUCores, s.CPUMsPerSignIn)
	}
	fmt.Fprintf(w, "load tool     CPU %.2f cores; one argon2id hash (m=19 MiB, t=2, p=1) took %.1f ms CPU here before the run\n", r.LoadToolCPUCores, r.Argon2CPUMs)
	fmt.Fprintf(w, "machine       %d CPUs, 1-minute load average %.2f at start, %.2f at end\n", r.CPUs, r.LoadAvgStart, r.LoadAvgEnd)
	for _, e := range r.ShutdownErrors {
		fmt.Fprintf(w, "shutdown      %s\n", e)
	}
}
