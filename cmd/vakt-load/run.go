package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

func loadTest(ctx context.Context, o *options, stdout, stderr io.Writer) (err error) {
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return err
	}
	var f *usersFile
	if o.noSetup {
		if f, err = loadUsersFile(o.usersFile); err == nil && f == nil {
			err = fmt.Errorf("--no-setup: %s does not exist", o.usersFile)
		}
	} else {
		adm := &admin{bin: o.vaktBin, storeArgs: o.storeArgs(), dir: o.data}
		f, err = prepare(ctx, adm, o.usersFile, o.tenant, o.users, stderr)
	}
	if err != nil {
		return err
	}

	// The nodes start on a store that is already set up, so start-to-ready
	// and idle memory are those of a server with users, not of a first
	// start that creates a tenant.
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			if serr := n.stop(); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	if o.serveBin != "" {
		for i := range o.nodes {
			cpus := ""
			if len(o.nodeCPUs) > 0 {
				cpus = o.nodeCPUs[i]
			}
			n, err := startNode(ctx, o.serveBin, o.storeArgs(), cpus, filepath.Join(o.data, fmt.Sprintf("vakt-load-node%d.log", i+1)))
			if err != nil {
				return err
			}
			nodes = append(nodes, n)
		}
	} else {
		for i, u := range o.urls {
			n := &node{url: u}
			if len(o.pids) > 0 {
				n.pid = o.pids[i]
				n.IdleRSS, n.IdleHWM, _ = readRSS(n.pid)
			}
			nodes = append(nodes, n)
		}
	}
	hc := newHTTPClient(o.c + 8)
	apis := make([]*api, len(nodes))
	for i, n := range nodes {
		apis[i] = &api{hc: hc, base: n.url + "/" + f.TenantID + "/api/signin"}
	}

	if !o.noSetup {
		if err := register(ctx, f, o.usersFile, apis, o.c, stderr); err != nil {
			return err
		}
	}
	if o.setupOnly {
		fmt.Fprintf(stdout, "%d users ready in tenant %s (%s); secrets in %s\n", len(f.Users), f.Domain, f.TenantID, o.usersFile)
		return nil
	}
	if len(f.Users) < o.users {
		return fmt.Errorf("%s holds %d users, fewer than --users %d", o.usersFile, len(f.Users), o.users)
	}
	users := f.Users[:o.users]
	for _, u := range users {
		if u.secret == nil {
			return fmt.Errorf("%s: %s has no authenticator app yet; run without --no-setup", o.usersFile, u.UPN)
		}
	}

	// Oldest use first; and a user registered (or signed in) in the
	// current step has no fresh code before the next one, so wait for it
	// rather than let the clients stall at the start of the run.
	users = slices.Clone(users)
	slices.SortStableFunc(users, func(a, b *loadUser) int { return cmp.Compare(a.LastStep, b.LastStep) })
	if w := waitForStep(time.Now(), users[len(users)-1].LastStep); w > 0 && !o.noStepWait {
		fmt.Fprintf(stderr, "vakt-load: waiting %s for the next TOTP step: the last users signed in during this one\n", w.Round(100*time.Millisecond))
		select {
		case <-time.After(w):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rep, err := measure(ctx, o, nodes, apis, users, f.Password)
	if err != nil {
		return err
	}
	if err := f.save(o.usersFile); err != nil { // the steps just used, for the next run
		return err
	}
	for _, n := range nodes { // stop now, to report an unclean shutdown with the figures
		if err := n.stop(); err != nil {
			rep.ShutdownErrors = append(rep.ShutdownErrors, err.Error())
		}
		n.cmd = nil
	}
	rep.print(stdout, o.jsonOut)
	switch {
	case rep.Errors > 0:
		return fmt.Errorf("%d sign-ins failed", rep.Errors)
	case len(rep.ShutdownErrors) > 0:
		return errors.New(rep.ShutdownErrors[0])
	case ctx.Err() != nil:
		return errors.New("interrupted; the figures cover less than --duration")
	}
	return nil
}

// measure drives the load for warm-up + duration and collects the figures
// of the measured part.
func measure(ctx context.Context, o *options, nodes []*node, apis []*api, users []*loadUser, password string) (*report, error) {
	rep := &report{Store: storeKind(o.database), Nodes: len(nodes), Concurrency: o.c, Users: len(users),
		Duration: o.duration.Seconds(), Warmup: o.warmup.Seconds(), CPUs: runtime.NumCPU(), NodeCPUs: o.nodeCPUs}
	for _, n := range nodes {
		s := serverReport{URL: n.url, PID: n.pid, StartToReadyMs: ms(n.StartToReady), IdleRSSMB: mb(n.IdleRSS), StartPeakMB: mb(n.IdleHWM)}
		if n.pid != 0 {
			_, hwm, _ := readRSS(n.pid)
			s.SetupPeakMB = mb(hwm)
			s.hwmReset = resetHWM(n.pid)
		}
		rep.Servers = append(rep.Servers, s)
	}

	rep.Argon2CPUMs = ms(argon2CPU(9))

	runCtx, cancel := context.WithTimeout(ctx, o.warmup+o.duration)
	defer cancel()
	done := make(chan runStats, 1)
	go func() { done <- drive(runCtx, apis, newPool(users), password, o.c, o.noStepWait) }()

	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
	}
	t0 := time.Now()
	rep.LoadAvgStart = loadAvg()
	cpu0 := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		if n.pid != 0 {
			cpu0[i], _ = cpuTime(n.pid)
		}
	}
	self0 := selfCPU()
	// Sample RSS too: VmHWM can only be reset for our own processes.
	samplerDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, n := range nodes {
				if rss, _, err := readRSS(n.pid); err == nil && mb(rss) > rep.Servers[i].SampledPeakMB {
					rep.Servers[i].SampledPeakMB = mb(rss)
				}
			}
			select {
			case <-tick.C:
			case <-samplerDone:
				return
			}
		}
	}()

	<-runCtx.Done()
	t1 := time.Now()
	window := t1.Sub(t0)
	rep.LoadAvgEnd = loadAvg()
	for i, n := range nodes {
		if n.pid == 0 {
			continue
		}
		c, err := cpuTime(n.pid)
		if err == nil {
			rep.Servers[i].CPUCores = (c - cpu0[i]).Seconds() / window.Seconds()
		}
	}
	rep.LoadToolCPUCores = (selfCPU() - self0).Seconds() / window.Seconds()
	st := <-done // the sign-ins in flight finish
	close(samplerDone)
	wg.Wait()
	for i, n := range nodes {
		if n.pid == 0 {
			continue
		}
		if _, hwm, err := readRSS(n.pid); err == nil && rep.Servers[i].hwmReset {
			rep.Servers[i].PeakRSSMB = mb(hwm)
		}
	}
	rep.fill(st, t0, t1)
	for i := range rep.Servers {
		if rep.Servers[i].CPUCores > 0 && rep.PerNode[i] > 0 {
			rep.Servers[i].CPUMsPerSignIn = rep.Servers[i].CPUCores * window.Seconds() * 1000 / float64(rep.PerNode[i])
		}
	}
	return rep, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func storeKind(db string) string {
	if isPostgres(db) {
		return "postgres"
	}
	return "sqlite"
}

func mb(b int64) float64 { return float64(b) / 1e6 }
