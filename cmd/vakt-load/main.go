// Command vakt-load measures a running vakt: it sets up test users with a
// password and an authenticator app, as an operator and the users would,
// then drives password + TOTP sign-ins through the JSON sign-in API with
// many concurrent clients and reports sign-ins per second, errors by
// kind, latency percentiles and the server's memory (docs/performance.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

type usageError struct{ error }

// options are the command line, checked.
type options struct {
	urls       []string
	pids       []int
	serveBin   string
	vaktBin    string
	nodes      int
	nodeCPUs   []string
	data       string
	database   string
	masterKey  string
	tenant     string
	users      int
	usersFile  string
	c          int
	duration   time.Duration
	warmup     time.Duration
	jsonOut    bool
	setupOnly  bool
	noSetup    bool
	noStepWait bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run returns the exit status, as the vakt command line does: 0 success,
// 1 a refused value or a failed run (sign-ins that failed included),
// 2 a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "vakt-load: %s\nRun 'vakt-load --help' for usage.\n", oneLine(err.Error(), 500))
		return 2
	}
	if err == nil {
		err = loadTest(ctx, o, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vakt-load: %s\n", oneLine(err.Error(), 2000))
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := pflag.NewFlagSet("vakt-load", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	fs.StringArrayVar(&o.urls, "url", nil, "base URL of a running vakt node (repeat for several nodes; the clients are split between them)")
	fs.IntSliceVar(&o.pids, "server-pid", nil, "process id of the node at the --url in the same position, to read its memory and CPU use")
	fs.StringVar(&o.serveBin, "serve-bin", "", "start `vakt serve` from this binary instead of using --url")
	fs.StringVar(&o.vaktBin, "vakt-bin", "", "vakt binary for the set-up commands (default: --serve-bin, else vakt on PATH)")
	fs.IntVar(&o.nodes, "nodes", 1, "with --serve-bin: how many nodes to start (more than one needs PostgreSQL)")
	fs.StringArrayVar(&o.nodeCPUs, "node-cpus", nil, "with --serve-bin: pin node i to this taskset CPU list (e.g. 0 or 0-1), with GOMAXPROCS to match; once per node")
	fs.StringVar(&o.data, "data", "./vakt-data", "vakt data directory (SQLite database and master key unless --database / --master-key-file), also the users file's")
	fs.StringVar(&o.database, "database", "", "postgres://… URL; empty means SQLite in --data")
	fs.StringVar(&o.masterKey, "master-key-file", "", "master key file (required with PostgreSQL)")
	fs.StringVar(&o.tenant, "tenant", "vakt-load.example", "domain of the tenant the test users live in (created if missing)")
	fs.IntVar(&o.users, "users", 3600, "number of test users (a TOTP code is accepted once per user per 30s; see docs/performance.md)")
	fs.StringVar(&o.usersFile, "users-file", "", "where the test users' password and TOTP secrets are kept (default DATA/vakt-load-users.json)")
	fs.IntVar(&o.c, "concurrency", 32, "concurrent clients, each doing one sign-in after another")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured time")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "time before the measured time whose sign-ins are not counted")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.setupOnly, "setup-only", false, "set up the users, then stop")
	fs.BoolVar(&o.noSetup, "no-setup", false, "use the users file as it is; run no vakt command")
	fs.BoolVar(&o.noStepWait, "no-step-wait", false, "start at once, even if users signed in during the current TOTP step: those send the next step's code, which vakt accepts as from a clock 30s fast (for short smoke runs)")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: vakt-load (--serve-bin PATH | --url URL...) [flags]\n\n%s", fs.FlagUsages())
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	switch {
	case o.serveBin == "" && len(o.urls) == 0:
		return nil, usageError{errors.New("give --serve-bin to start vakt, or --url for a running one")}
	case o.serveBin != "" && len(o.urls) > 0:
		return nil, usageError{errors.New("--serve-bin and --url exclude each other")}
	case o.setupOnly && o.noSetup:
		return nil, usageError{errors.New("--setup-only and --no-setup exclude each other")}
	}
	return o, o.check(fs)
}

// check refuses values that parse but cannot be used (exit status 1).
func (o *options) check(fs *pflag.FlagSet) error {
	switch {
	case o.c < 1 || o.c > 4096:
		return fmt.Errorf("--concurrency %d: must be 1 to 4096", o.c)
	case o.users < 1 || o.users > 100000:
		return fmt.Errorf("--users %d: must be 1 to 100000 (vakt user import takes at most 100,000 rows)", o.users)
	case o.users <= o.c:
		return fmt.Errorf("--users %d: must be more than --concurrency %d, or clients wait for each other's users", o.users, o.c)
	case o.duration <= 0:
		return fmt.Errorf("--duration %s: must be positive", o.duration)
	case o.warmup < 0:
		return fmt.Errorf("--warmup %s: must not be negative", o.warmup)
	case o.nodes < 1 || o.nodes > 16:
		return fmt.Errorf("--nodes %d: must be 1 to 16", o.nodes)
	case fs.Changed("nodes") && o.serveBin == "":
		return errors.New("--nodes needs --serve-bin; with --url, give one --url per node")
	case o.nodes > 1 && !isPostgres(o.database):
		return errors.New("--nodes above 1 needs PostgreSQL (--database postgres://…): nodes share one database")
	case len(o.nodeCPUs) > 0 && len(o.nodeCPUs) != o.nodes:
		return fmt.Errorf("--node-cpus given %d times for %d nodes: give it once per node", len(o.nodeCPUs), o.nodes)
	case len(o.nodeCPUs) > 0 && o.serveBin == "":
		return errors.New("--node-cpus needs --serve-bin")
	case len(o.pids) > 0 && len(o.pids) != len(o.urls):
		return fmt.Errorf("--server-pid given %d times for %d --url: give one per --url", len(o.pids), len(o.urls))
	case o.database != "" && !isPostgres(o.database) && !strings.HasPrefix(o.database, "sqlite:///"):
		return errors.New("--database: must be a postgres://, postgresql:// or sqlite:/// URL")
	case isPostgres(o.database) && o.masterKey == "":
		return errors.New("--master-key-file is required with PostgreSQL")
	case o.data == "":
		return errors.New("--data must not be empty")
	case strings.Count(o.tenant, ".") == 0 || strings.ContainsAny(o.tenant, " /@,"):
		return fmt.Errorf("--tenant %q: must be a domain such as load.example.com", o.tenant)
	}
	for _, u := range o.urls {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("--url %q: must be an http:// or https:// URL", u)
		}
	}
	for _, p := range o.pids {
		if p < 1 {
			return fmt.Errorf("--server-pid %d: must be a process id", p)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", p)); err != nil {
			return fmt.Errorf("--server-pid %d: no such process", p)
		}
	}
	for _, l := range o.nodeCPUs {
		if _, err := countCPUs(l); err != nil {
			return err
		}
	}
	if o.usersFile == "" {
		o.usersFile = filepath.Join(o.data, "vakt-load-users.json")
	}
	if o.vaktBin == "" {
		o.vaktBin = o.serveBin
	}
	if o.vaktBin == "" {
		o.vaktBin = "vakt"
	}
	return nil
}

func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// storeArgs are the store flags handed to every vakt command.
func (o *options) storeArgs() []string {
	a := []string{"--data", o.data}
	if o.database != "" {
		a = append(a, "--database", o.database)
	}
	if o.masterKey != "" {
		a = append(a, "--master-key-file", o.masterKey)
	}
	return a
}
