package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/secret"
)

func serveCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the vakt server",
		Long: `Run the vakt server. On an empty store it first creates a tenant and its Global
Administrator with a generated password, printed once to stderr and written to
DATA/initial-admin-password (mode 0600).`,
		Args: cobra.NoArgs,
	}
	config.RegisterServeFlags(c.Flags())
	c.Flags().String("config", "", "configuration file (YAML); also VAKT_CONFIG")
	c.Flags().String("init-domain", "", "domain of the tenant created on an empty store (default: the public URL's host, or vakt.local)")
	c.Flags().String("init-admin", "", "UPN of the administrator created on an empty store (default: admin@DOMAIN)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd)
		if err != nil {
			return err
		}
		log := newLogger(cfg, cmd.ErrOrStderr())
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(cfg.Password.MemoryLimit()) // why: see MemoryLimit
		}
		ctx := cmd.Context()
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer a.Close()
		domain, _ := cmd.Flags().GetString("init-domain")
		adminUPN, _ := cmd.Flags().GetString("init-admin")
		if err := a.Bootstrap(ctx, domain, adminUPN, cmd.ErrOrStderr()); err != nil {
			return fmt.Errorf("initialise: %w", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var radiusDone chan error
		if cfg.Radius != "" {
			pc, err := net.ListenPacket("udp", cfg.Radius)
			if err != nil {
				return fmt.Errorf("radius: %w", err)
			}
			log.Info("vakt RADIUS listening", "addr", pc.LocalAddr().String())
			radiusDone = make(chan error, 1)
			go func() {
				err := a.ServeRADIUS(ctx, pc)
				cancel() // a failed RADIUS socket stops the server rather than leave it half up
				radiusDone <- err
			}()
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return err
		}
		log.Info("vakt listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "store", cfg.StoreKind(), "version", version())
		err = a.Serve(ctx, ln)
		if radiusDone != nil {
			cancel()
			if rerr := <-radiusDone; rerr != nil && err == nil {
				err = fmt.Errorf("radius: %w", rerr)
			}
		}
		return err
	}
	return c
}

func initCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "init --domain DOMAIN --admin UPN --admin-password-file FILE",
		Short: "Create the tenant and its first Global Administrator (idempotent); prints the tenant id",
		Args:  cobra.NoArgs,
	}
	c.Flags().String("domain", "", "the organisation's domain, e.g. contoso.com")
	c.Flags().String("admin", "", "UPN of the first Global Administrator")
	c.Flags().String("admin-password-file", "", "file holding the administrator's password ('-' for stdin)")
	for _, f := range []string{"domain", "admin", "admin-password-file"} {
		_ = c.MarkFlagRequired(f)
	}
	return dataCmd(c, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		domain, _ := cmd.Flags().GetString("domain")
		upn, _ := cmd.Flags().GetString("admin")
		file, _ := cmd.Flags().GetString("admin-password-file")
		pw, err := readSecretFile(cmd, file)
		if err != nil {
			return err
		}
		t, _, err := a.Admin.Init(ctx, domain, upn, pw)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), t.ID)
		return nil
	})
}

func migrateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Run the database migrations and exit",
		Args:  cobra.NoArgs,
	}
	// Opening the app runs the migrations.
	return dataCmd(c, func(_ context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		fmt.Fprintf(cmd.OutOrStdout(), "migrations applied (%s)\n", a.Config.StoreKind())
		return nil
	})
}

func version() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and build information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "vakt %s\n", version())
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(out, "go %s\n", bi.GoVersion)
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" || s.Key == "vcs.time" || s.Key == "GOOS" || s.Key == "GOARCH" {
						fmt.Fprintf(out, "%s %s\n", s.Key, s.Value)
					}
				}
			}
			return nil
		},
	}
}

func keyCmd() *cobra.Command {
	c := groupCommand("key", "Master key management")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new primary master key; older keys stay to open what they sealed",
		Long: `Add a new primary master key at the front of the key file. New secrets are
sealed with it; secrets sealed with older keys still open, so keep every key in
the file. With PostgreSQL, copy the new file to every node and restart them.`,
		Args: cobra.NoArgs,
	}
	config.RegisterStoreFlags(rotate.Flags())
	rotate.Flags().String("config", "", "configuration file (YAML); also VAKT_CONFIG")
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd)
		if err != nil {
			return err
		}
		kr, err := secret.AddPrimaryKey(cfg.MasterKeyPath())
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "new primary key %s in %s (%d keys)\n", kr.PrimaryKeyID(), cfg.MasterKeyPath(), len(kr.KeyIDs()))
		return nil
	}
	c.AddCommand(rotate, rotateSigningCmd())
	return c
}
