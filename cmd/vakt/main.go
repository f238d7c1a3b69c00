// Command vakt is the vakt identity provider: the server (`vakt serve`)
// and the administrator's command line. Wiring lives in internal/app; this
// package only defines commands, reads flags and prints results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/apperr"
)

// usageError marks a command-line usage mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0 success,
// 1 a refused request (one line on stderr), 2 a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "vakt: %s\n", oneLine(err.Error()))
		fmt.Fprintln(stderr, "Run 'vakt --help' for usage.")
		return 2
	}
	msg := err.Error()
	if ae, ok := apperr.As(err); ok {
		msg = ae.Message
	}
	fmt.Fprintf(stderr, "vakt: %s\n", oneLine(msg))
	return 1
}

// isCobraUsage recognises cobra's own argument and command errors.
func isCobraUsage(err error) bool {
	m := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least",
		"requires at most", "required flag(s)", "invalid argument", "flag needs an argument", "if any flags in the group"} {
		if strings.Contains(m, p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", "; ")
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "vakt",
		Short:         "vakt — multi-factor authentication and sign-in policy for your organisation",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		serveCmd(), initCmd(), migrateCmd(), keyCmd(), oathCmd(), tapCmd(), tenantCmd(), userCmd(), groupCmd(), roleCmd(), appCmd(), policyCmd(), radiusCmd(), authenticatorCmd(), versionCmd(),
	)
	return root
}
