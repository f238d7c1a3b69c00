package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// operator is the actor of every command-line admin change: whoever can
// run vakt against the store owns it. Audit entries name it.
func operator() directory.Actor {
	name := "local operator"
	if u := os.Getenv("USER"); u != "" {
		name = "local operator (" + u + ")"
	}
	return directory.Actor{Operator: true, DisplayName: name}
}

// loadConfig reads --config/VAKT_CONFIG, the environment and the flags.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path := os.Getenv("VAKT_CONFIG")
	if f := cmd.Flags().Lookup("config"); f != nil && f.Changed {
		path = f.Value.String()
	}
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return cfg, err
	}
	cfg.ApplyFlags(cmd.Flags())
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// dataCmd adds the store flags and opens the app around run.
func dataCmd(c *cobra.Command, run func(ctx context.Context, a *app.App, cmd *cobra.Command, args []string) error) *cobra.Command {
	config.RegisterStoreFlags(c.Flags())
	c.Flags().String("config", "", "configuration file (YAML); also VAKT_CONFIG")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := loadConfig(cmd)
		if err != nil {
			return err
		}
		// Admin commands log only warnings, to stderr, so stdout stays
		// clean for scripts.
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		a, err := app.Open(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		return run(cmd.Context(), a, cmd, args)
	}
	return c
}

func tenantFlag(c *cobra.Command) {
	c.Flags().String("tenant", "", "tenant id or domain (required)")
	_ = c.MarkFlagRequired("tenant")
}

func resolveTenant(ctx context.Context, a *app.App, cmd *cobra.Command) (store.Tenant, error) {
	ref, _ := cmd.Flags().GetString("tenant")
	return a.Admin.ResolveTenant(ctx, ref)
}

func outputFlag(c *cobra.Command) {
	c.Flags().String("output", "table", "output format: table or json")
}

func outputFormat(cmd *cobra.Command) (string, error) {
	o, _ := cmd.Flags().GetString("output")
	if o != "table" && o != "json" {
		return "", apperr.Invalidf("--output must be table or json, not %q", o)
	}
	return o, nil
}

// tenantAndFormat reads --output and resolves --tenant, in that order,
// for the commands that list a tenant's things.
func tenantAndFormat(ctx context.Context, a *app.App, cmd *cobra.Command) (store.Tenant, string, error) {
	format, err := outputFormat(cmd)
	if err != nil {
		return store.Tenant{}, "", err
	}
	t, err := resolveTenant(ctx, a, cmd)
	return t, format, err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows with aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// readSecretFile reads a one-line secret (a password) from a file, or
// from standard input when the name is "-".
func readSecretFile(cmd *cobra.Command, name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read password file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("the password file %s is empty", name)
	}
	return s, nil
}
