// Package app is the one place that builds vakt from its configuration:
// the store, the master key, the password hasher, the services and the
// HTTP handlers. Commands in cmd/vakt call it and nothing else wires.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authenticator"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/oidc"
	"github.com/vakt-id/vakt/internal/password"
	"github.com/vakt-id/vakt/internal/policy/ca/geoip"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/signinlog"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/postgres"
	"github.com/vakt-id/vakt/internal/store/sqlite"
	"github.com/vakt-id/vakt/internal/tokens"
)

// App holds vakt's long-lived parts.
type App struct {
	Config config.Config
	Store  store.Store
	Keys   *secret.Keyring
	Hasher *password.Hasher
	Admin  *admin.Service
	Tokens *tokens.Issuer
	OIDC   *oidc.Provider // the OpenID Connect provider of every tenant
	// SecurityInfo manages users' authentication methods.
	SecurityInfo *securityinfo.Service
	Policies     *authpolicy.Service // security defaults, methods policy
	// ConditionalAccess manages conditional access policies and named
	// locations.
	ConditionalAccess *capolicy.Service
	caEval            *caEvaluator
	// SignIn runs interactive sign-ins; SignInLog batches their log.
	SignIn    *signin.Engine
	SignInLog *signinlog.Writer
	// Authenticator runs push approvals and device enrolment.
	Authenticator *authenticator.Service
	// Metrics is the Prometheus registry served at /metrics.
	Metrics *prometheus.Registry
	Log     *slog.Logger
	started time.Time
}

// Open validates cfg, opens (and migrates) the store and loads the master
// key. With embedded SQLite the data directory and master key are created
// on first use; PostgreSQL needs an existing key file shared by all nodes.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var (
		st   store.Store
		keys *secret.Keyring
		err  error
	)
	switch cfg.StoreKind() {
	case "sqlite":
		path := cfg.SQLitePath()
		if cfg.Database == "" {
			if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
				return nil, fmt.Errorf("data directory: %w", err)
			}
		}
		if keys, err = sqliteKeys(cfg); err != nil {
			return nil, err
		}
		if st, err = sqlite.Open(ctx, path); err != nil {
			return nil, err
		}
	case "postgres":
		if keys, err = secret.LoadKeyFile(cfg.MasterKeyPath()); err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		if st, err = postgres.Open(ctx, cfg.Database, postgres.Options{}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported database %q", cfg.StoreKind())
	}
	a := New(cfg, st, keys, log)
	if cfg.GeoIPDatabase != "" {
		// A missing file means "country unknown"; a broken one stops start-up.
		geo, err := geoip.Open(cfg.GeoIPDatabase)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("geoipDatabase: %w", err)
		}
		a.caEval.country = geo
		a.ConditionalAccess.Country = geo
	}
	sender, err := newSender(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.SecurityInfo.Sender = sender
	return a, nil
}

// New builds the services over an open store; cfg must be validated.
// Tests use it to run the whole HTTP surface on any store backend.
func New(cfg config.Config, st store.Store, keys *secret.Keyring, log *slog.Logger) *App {
	a := &App{Config: cfg, Store: st, Keys: keys, Log: log, started: time.Now()}
	a.Hasher = password.New(password.Params{
		Memory: cfg.Password.Memory, Time: cfg.Password.Time, Threads: cfg.Password.Threads,
		SaltLen: password.DefaultParams().SaltLen, KeyLen: password.DefaultParams().KeyLen,
	}, cfg.Password.Concurrency())
	a.Admin = &admin.Service{Store: a.Store, Passwords: passwords{a.Hasher}, Log: log}
	a.Admin.CacheTenants(5 * time.Second)
	a.Tokens = &tokens.Issuer{Keys: a.Store, Sealer: a.Keys, PublicURL: cfg.PublicURL, Lifetime: cfg.Tokens.AccessTokenLifetime}
	// Codes go nowhere until Open (or a test) sets a real sender.
	a.SecurityInfo = &securityinfo.Service{Store: a.Store, Keys: a.Keys, Hasher: a.Hasher, Sender: &delivery.Router{},
		Config: securityinfo.DefaultConfig(), PublicURL: cfg.PublicURL, Log: log}
	a.Policies = &authpolicy.Service{Store: a.Store, Admin: a.Admin}
	a.ConditionalAccess = &capolicy.Service{Store: a.Store, SecurityDefaults: a.Policies}
	a.Policies.ConditionalAccess = a.ConditionalAccess
	a.SecurityInfo.Allowed = a.allowedKinds
	a.wireWebAuthn()
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.SignInLog = signinlog.New(a.Store, signinlog.Options{Log: log, Metrics: a.Metrics})
	a.SignIn = a.newEngine()
	a.SignIn.Log = a.SignInLog
	a.caEval = newCAEvaluator(caDefinitions{a.ConditionalAccess}, nil)
	a.ConditionalAccess.Changed = a.caEval.forget
	a.SignIn.CA = a.caEval
	a.Authenticator = a.newAuthenticator()
	a.SignIn.Push = a.Authenticator
	a.OIDC = &oidc.Provider{Store: a.Store, Tokens: a.Tokens, Engine: a.SignIn, PublicURL: cfg.PublicURL,
		Audiences: a.audiences(), CryptoKey: [32]byte(keys.Derive("oidc-provider")), AccessLifetime: cfg.Tokens.AccessTokenLifetime,
		SecureCookies: cfg.SecureCookies(), Log: log, Metrics: a.Metrics}
	return a
}

// Close writes the queued sign-in log and releases the store.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logErr := a.SignInLog.Close(ctx)
	return errors.Join(logErr, a.Store.Close())
}

// passwords adapts internal/password to the admin service.
type passwords struct{ h *password.Hasher }

func (p passwords) Hash(ctx context.Context, pw string) (string, error) { return p.h.Hash(ctx, pw) }

func (p passwords) Check(pw string, banned []string, userContext ...string) error {
	pol := password.DefaultPolicy()
	pol.Custom = banned
	err := password.Check(pw, pol, userContext...)
	var re *password.RuleError
	if errors.As(err, &re) {
		return apperr.Invalidf("%s", re.Message).WithTarget("passwordProfile").WithCode("Request_BadRequest")
	}
	return err
}

// sqliteKeys loads the master key of an embedded store, generating it only
// for a new database: a database whose key went missing must not get a
// fresh one, or every sealed secret in it would silently become unreadable.
func sqliteKeys(cfg config.Config) (*secret.Keyring, error) {
	path := cfg.MasterKeyPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("master key directory: %w", err)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if st, err := os.Stat(cfg.SQLitePath()); err == nil && st.Size() > 0 {
			return nil, fmt.Errorf("master key %s is missing but the database %s exists: restore the key file from your backup (without it, stored secrets cannot be decrypted)", path, cfg.SQLitePath())
		}
	}
	keys, _, err := secret.LoadOrGenerate(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return keys, nil
}
