package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is one vakt server the load goes to: started by this tool
// (cmd != nil) or already running (--url, maybe with --server-pid).
type node struct {
	url     string
	pid     int // 0: RSS and CPU are not read
	cmd     *exec.Cmd
	logPath string
	exited  chan error

	StartToReady time.Duration
	IdleRSS      int64 // bytes, shortly after ready
	IdleHWM      int64 // bytes: the peak while starting
}

// startNode runs `vakt serve` on a free loopback port and waits for
// /readyz. cpus, when set, pins the process with taskset and sets
// GOMAXPROCS to the number of CPUs in the list, so that two nodes on one
// machine behave like two one-core machines.
func startNode(ctx context.Context, bin string, storeArgs []string, cpus, logPath string) (*node, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	n := &node{url: "http://" + addr, logPath: logPath, exited: make(chan error, 1)}
	args := append([]string{"serve", "--listen", addr, "--public-url", n.url}, storeArgs...)
	name := bin
	env := os.Environ()
	if cpus != "" {
		count, err := countCPUs(cpus)
		if err != nil {
			return nil, err
		}
		args = append([]string{"-c", cpus, bin}, args...)
		name = "taskset" // it execs bin, keeping the pid
		env = append(env, "GOMAXPROCS="+strconv.Itoa(count))
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	n.cmd = exec.Command(name, args...)
	n.cmd.Env = env
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	t0 := time.Now()
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	n.pid = n.cmd.Process.Pid
	go func() { n.exited <- n.cmd.Wait(); logf.Close() }()

	// Poll often: start-to-ready is expected to be tens of milliseconds.
	hc := &http.Client{Timeout: time.Second}
	deadline := t0.Add(60 * time.Second)
	for {
		if ready(hc, n.url) {
			n.StartToReady = time.Since(t0)
			break
		}
		select {
		case err := <-n.exited:
			n.exited <- err
			return nil, fmt.Errorf("vakt serve exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("vakt serve not ready after 60s; see %s", logPath)
		}
	}
	// Let start-up work that runs after the listener (janitors, the
	// sign-in log writer) settle before calling the process idle.
	time.Sleep(time.Second)
	n.IdleRSS, n.IdleHWM, _ = readRSS(n.pid)
	return n, nil
}

func ready(hc *http.Client, base string) bool {
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stop ends a node this tool started with SIGTERM and reports whether
// it shut down cleanly.
func (n *node) stop() error {
	if n.cmd == nil {
		return nil
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.exited:
		if err != nil {
			return fmt.Errorf("vakt serve (pid %d) exited with %v; see %s", n.pid, err, n.logPath)
		}
		return nil
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("vakt serve (pid %d) did not stop within 30s of SIGTERM", n.pid)
	}
}

// countCPUs counts the CPUs in a taskset list such as "0", "0,1" or "0-3".
func countCPUs(list string) (int, error) {
	n := 0
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return 0, fmt.Errorf("--node-cpus %q: not a CPU list like 0 or 0,1 or 0-3", list)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("--node-cpus %q: not a CPU list like 0 or 0,1 or 0-3", list)
			}
		}
		n += b - a + 1
	}
	return n, nil
}

// readRSS reads the resident set size and its high-water mark, in bytes.
func readRSS(pid int) (rss, hwm int64, err error) {
	if pid == 0 {
		return 0, 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return rss, hwm, nil
}

// resetHWM starts VmHWM afresh (writing 5 to clear_refs, Linux ≥ 4.0) so
// that the peak after a run is the peak of that run alone, not of the
// set-up before it. Only possible for our own processes.
func resetHWM(pid int) bool {
	if pid == 0 {
		return false
	}
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// cpuTime is the user + system CPU time a process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// Clock ticks are 100 Hz on every Linux architecture Go supports
	// (USER_HZ is fixed by the kernel ABI), which saves a cgo sysconf.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// loadAvg reads the 1-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
