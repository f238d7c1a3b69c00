// Package config loads vakt's server configuration.
//
// Sources are layered, lowest to highest precedence: Default, then the YAML
// file, then VAKT_* environment variables, then command-line flags (applied
// by the caller with ApplyFlags). Load does not validate: the caller applies
// flags first and then calls Validate once on the merged result, so an error
// always describes the effective configuration.
//
// Secrets can be read from files instead of being written inline (P-13.3):
// the YAML key databaseFile and the environment variable VAKT_DATABASE_FILE
// name a file holding the database DSN.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the complete server configuration. YAML keys are lowerCamelCase.
type Config struct {
	// Listen is the HTTP listen address (host:port).
	Listen string `yaml:"listen"`
	// PublicURL is the externally visible base URL (issuer, redirects,
	// cookie security). Validate strips a trailing slash.
	PublicURL string `yaml:"publicUrl"`
	// Data is the data directory: the embedded SQLite database and, by
	// default, the master key live here.
	Data string `yaml:"data"`
	// Database selects the store: postgres://…, postgresql://… or
	// sqlite:///absolute/path. Empty means SQLite inside Data.
	Database string `yaml:"database"`
	// DatabaseFile names a file holding the Database DSN, so the DSN (which
	// usually carries a password) need not appear in the config file or the
	// environment. Load reads it into Database; it is kept only as a record
	// of where the DSN came from.
	DatabaseFile string `yaml:"databaseFile"`
	// MasterKeyFile is the path of the master key. Required with PostgreSQL,
	// where there is no data directory the key could default into.
	MasterKeyFile string `yaml:"masterKeyFile"`
	// Radius is the RADIUS UDP listen address; empty disables RADIUS.
	Radius string `yaml:"radius"`
	// GeoIPDatabase is a MaxMind-format country database for country
	// named locations; without it every country is unknown.
	GeoIPDatabase string `yaml:"geoipDatabase"`
	// TrustedProxies lists reverse proxies (IPs or CIDR prefixes) whose
	// X-Forwarded-For is believed. See TrustedProxyPrefixes.
	TrustedProxies []string `yaml:"trustedProxies"`

	Log      LogConfig      `yaml:"log"`
	Password PasswordConfig `yaml:"password"`
	HTTP     HTTPConfig     `yaml:"http"`
	Tokens   TokensConfig   `yaml:"tokens"`
	Delivery DeliveryConfig `yaml:"delivery"`
	// Authenticator tunes push notifications (docs/authenticator.md).
	Authenticator AuthenticatorConfig `yaml:"authenticator"`
	// RadiusPush decides how RADIUS sign-ins use push (docs/radius.md).
	RadiusPush RadiusPushConfig `yaml:"radiusPush"`
}

// RadiusPushConfig: Mode "approve" (the default) sends a push without
// number matching and holds the request up to Timeout (45 s when zero,
// 5 s to 5 min); "code" never pushes over RADIUS and asks for a code.
// Environment: VAKT_RADIUS_PUSH, VAKT_RADIUS_PUSH_TIMEOUT.
type RadiusPushConfig struct {
	Mode    string        `yaml:"mode"`
	Timeout time.Duration `yaml:"timeout"`
}

// Modes of RADIUS push.
const (
	RadiusPushApprove = "approve"
	RadiusPushCode    = "code"
)

// AuthenticatorConfig tunes vakt's authenticator: how long a push waits
// for an answer (60 s when zero, 1 s to 10 min) and how many pushes one
// user may receive per hour (10 when zero). Environment: VAKT_PUSH_TIMEOUT.
type AuthenticatorConfig struct {
	PushTimeout   time.Duration `yaml:"pushTimeout"`
	PushesPerHour int           `yaml:"pushesPerHour"`
}

// LogConfig controls the process logger.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // json or text
}

// PasswordConfig holds the Argon2id cost parameters.
type PasswordConfig struct {
	Memory  uint32 `yaml:"memory"`  // KiB
	Time    uint32 `yaml:"time"`    // iterations
	Threads uint8  `yaml:"threads"` // parallelism
	// MaxConcurrent caps simultaneous hash computations so a burst of
	// sign-ins cannot exhaust memory (Memory × MaxConcurrent). 0 means
	// GOMAXPROCS.
	MaxConcurrent int `yaml:"maxConcurrent"`
}

// HTTPConfig holds HTTP server limits. Durations are Go duration strings in
// YAML ("30s").
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	ReadTimeout       time.Duration `yaml:"readTimeout"`
	WriteTimeout      time.Duration `yaml:"writeTimeout"`
	IdleTimeout       time.Duration `yaml:"idleTimeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdownTimeout"`
	MaxBodyBytes      int64         `yaml:"maxBodyBytes"`
}

// DeliveryConfig says how one-time codes reach people. Without SMTP or
// webhooks, every channel goes to the file outbox (development).
type DeliveryConfig struct {
	// Outbox is the directory of the development outbox; default DATA/outbox.
	Outbox string     `yaml:"outbox"`
	SMTP   SMTPConfig `yaml:"smtp"`
	// SMS and Voice are HTTP webhooks of a telephony provider.
	SMS   WebhookConfig `yaml:"sms"`
	Voice WebhookConfig `yaml:"voice"`
}

// SMTPConfig is the mail server for email codes.
type SMTPConfig struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"passwordFile"`
	From         string `yaml:"from"`
	// TLS is starttls (default), tls or none (loopback only).
	TLS string `yaml:"tls"`
}

// WebhookConfig is a provider endpoint; requests are signed with the
// secret read from SecretFile.
type WebhookConfig struct {
	URL        string `yaml:"url"`
	SecretFile string `yaml:"secretFile"`
}

// OutboxDir is the development outbox directory.
func (c Config) OutboxDir() string {
	if c.Delivery.Outbox != "" {
		return c.Delivery.Outbox
	}
	return filepath.Join(c.Data, "outbox")
}

// TokensConfig holds token issuance settings.
type TokensConfig struct {
	AccessTokenLifetime time.Duration `yaml:"accessTokenLifetime"`
}

// Validation bounds.
const (
	minPasswordMemory = 8 * 1024        // 8 MiB in KiB
	maxPasswordMemory = 4 * 1024 * 1024 // 4 GiB in KiB
	minPasswordTime   = 1
	maxPasswordTime   = 20
	minThreads        = 1
	maxThreads        = 16
	// maxConcurrentHashes is only a sanity bound against typos; the real
	// limit is memory, which the operator must size.
	maxConcurrentHashes = 4096

	minMaxBodyBytes = 1 << 10
	maxMaxBodyBytes = 64 << 20

	minAccessTokenLifetime = 5 * time.Minute
	maxAccessTokenLifetime = 24 * time.Hour

	// maxSecretFileBytes bounds secret files so a wrong path (a log file,
	// /dev/zero) fails fast instead of being read into memory.
	maxSecretFileBytes = 64 << 10
)

// Default returns the built-in defaults. They form a valid configuration
// for a local single-node install.
func Default() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		Data:      "./vakt-data",
		Log:       LogConfig{Level: "info", Format: "json"},
		Password: PasswordConfig{
			Memory:  19456, // OWASP Argon2id baseline: 19 MiB, t=2, p=1
			Time:    2,
			Threads: 1,
		},
		HTTP: HTTPConfig{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
			MaxBodyBytes:      1 << 20,
		},
		Tokens: TokensConfig{AccessTokenLifetime: time.Hour},
	}
}

// Load returns Default overlaid with the YAML file at path (skipped when
// path is empty) and then with the VAKT_* variables read through env (nil
// means no environment). Unknown YAML keys are an error. The result is not
// validated; see Validate.
func Load(path string, env func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		if err := cfg.loadFile(path); err != nil {
			return Config{}, err
		}
	}
	if env == nil {
		env = func(string) string { return "" }
	}
	if err := cfg.loadEnv(env); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key must not silently fall back to a default
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		// yaml.v3 errors already name the line and the offending key.
		return fmt.Errorf("config file %s: %w", path, err)
	}
	// A second document would be ignored silently; refuse it instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		return fmt.Errorf("config file %s: line %d: only one YAML document is allowed", path, extra.Line)
	}
	if c.DatabaseFile != "" {
		if c.Database != "" {
			return fmt.Errorf("config file %s: database and databaseFile are mutually exclusive", path)
		}
		dsn, err := ReadSecretFile(c.DatabaseFile)
		if err != nil {
			return fmt.Errorf("config file %s: databaseFile: %w", path, err)
		}
		c.Database = dsn
	}
	return nil
}

func (c *Config) loadEnv(env func(string) string) error {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"VAKT_LISTEN", &c.Listen},
		{"VAKT_PUBLIC_URL", &c.PublicURL},
		{"VAKT_DATA", &c.Data},
		{"VAKT_MASTER_KEY_FILE", &c.MasterKeyFile},
		{"VAKT_RADIUS", &c.Radius},
		{"VAKT_RADIUS_PUSH", &c.RadiusPush.Mode},
		{"VAKT_GEOIP_DATABASE", &c.GeoIPDatabase},
		{"VAKT_LOG_LEVEL", &c.Log.Level},
		{"VAKT_LOG_FORMAT", &c.Log.Format},
	} {
		if s := env(v.name); s != "" {
			*v.dst = s
		}
	}

	dsn, file, err := envSecret(env, "VAKT_DATABASE")
	if err != nil {
		return err
	}
	if dsn != "" {
		c.Database, c.DatabaseFile = dsn, file
	}

	if s := env("VAKT_PUSH_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("VAKT_PUSH_TIMEOUT: %w", err)
		}
		c.Authenticator.PushTimeout = d
	}
	if s := env("VAKT_RADIUS_PUSH_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("VAKT_RADIUS_PUSH_TIMEOUT: %w", err)
		}
		c.RadiusPush.Timeout = d
	}
	if s := env("VAKT_TRUSTED_PROXIES"); s != "" {
		c.TrustedProxies = splitList(s)
	}
	return nil
}

// envSecret reads the variable name, or the file named by name_FILE. It
// returns the value and the file it came from ("" when given inline).
// Setting both is ambiguous and an error.
func envSecret(env func(string) string, name string) (value, file string, err error) {
	value, file = env(name), env(name+"_FILE")
	switch {
	case file == "":
		return value, "", nil
	case value != "":
		return "", "", fmt.Errorf("%s and %s_FILE are mutually exclusive", name, name)
	}
	value, err = ReadSecretFile(file)
	if err != nil {
		return "", "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return value, file, nil
}

// ReadSecretFile reads a secret from a file, as mounted by Docker or
// Kubernetes secrets. Surrounding whitespace (the trailing newline editors
// add) is removed; an empty file is an error.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", path, err)
	}
	if len(data) > maxSecretFileBytes {
		return "", fmt.Errorf("read secret %s: larger than %d bytes", path, maxSecretFileBytes)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("read secret %s: file is empty", path)
	}
	return s, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks every field and reports all problems at once, each
// prefixed with its YAML key. It also normalises a few values: the trailing
// slash of PublicURL and the case of the log settings.
//
// Error messages never echo Database, which may carry a password.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf(field+": "+format, args...))
	}

	if err := checkHostPort(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if c.Radius != "" {
		if err := checkHostPort(c.Radius); err != nil {
			bad("radius", "%v", err)
		}
	}

	if u, err := normalisePublicURL(c.PublicURL); err != nil {
		bad("publicUrl", "%v", err)
	} else {
		c.PublicURL = u
	}

	if t := c.Authenticator.PushTimeout; t != 0 && (t < time.Second || t > 10*time.Minute) {
		bad("authenticator.pushTimeout", "must be from 1s to 10m, not %s", t)
	}
	if n := c.Authenticator.PushesPerHour; n < 0 || n > 1000 {
		bad("authenticator.pushesPerHour", "must be from 1 to 1000 (0 for the default of 10)")
	}
	switch c.RadiusPush.Mode = strings.ToLower(strings.TrimSpace(c.RadiusPush.Mode)); c.RadiusPush.Mode {
	case "", RadiusPushApprove, RadiusPushCode:
	default:
		bad("radiusPush.mode", "must be %q or %q, not %q", RadiusPushApprove, RadiusPushCode, c.RadiusPush.Mode)
	}
	if t := c.RadiusPush.Timeout; t != 0 && (t < 5*time.Second || t > 5*time.Minute) {
		bad("radiusPush.timeout", "must be from 5s to 5m, not %s", t)
	}
	if err := checkDatabase(c.Database); err != nil {
		bad("database", "%v", err)
	}
	postgres := c.StoreKind() == "postgres"
	if postgres && c.MasterKeyFile == "" {
		bad("masterKeyFile", "required when database is PostgreSQL")
	}
	// Data is only needed when something defaults into it.
	needData := kindOf(c.Database) == "" || c.MasterKeyFile == ""
	if needData && strings.TrimSpace(c.Data) == "" {
		bad("data", "must not be empty")
	}

	for i, s := range c.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("trustedProxies[%d]", i), "%q is not an IP address or CIDR prefix", s)
		}
	}

	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be one of debug, info, warn, error")
	}
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text")
	}

	p := c.Password
	if p.Memory < minPasswordMemory || p.Memory > maxPasswordMemory {
		bad("password.memory", "must be between %d and %d KiB (8 MiB to 4 GiB)", minPasswordMemory, maxPasswordMemory)
	}
	if p.Time < minPasswordTime || p.Time > maxPasswordTime {
		bad("password.time", "must be between %d and %d", minPasswordTime, maxPasswordTime)
	}
	if p.Threads < minThreads || p.Threads > maxThreads {
		bad("password.threads", "must be between %d and %d", minThreads, maxThreads)
	}
	if p.MaxConcurrent < 0 || p.MaxConcurrent > maxConcurrentHashes {
		bad("password.maxConcurrent", "must be between 0 (GOMAXPROCS) and %d", maxConcurrentHashes)
	}

	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"http.readHeaderTimeout", c.HTTP.ReadHeaderTimeout},
		{"http.readTimeout", c.HTTP.ReadTimeout},
		{"http.writeTimeout", c.HTTP.WriteTimeout},
		{"http.idleTimeout", c.HTTP.IdleTimeout},
		{"http.shutdownTimeout", c.HTTP.ShutdownTimeout},
	} {
		// Zero would mean "no timeout" to net/http, which invites
		// slow-client resource exhaustion.
		if d.v <= 0 {
			bad(d.field, "must be a positive duration such as \"30s\"")
		}
	}
	if c.HTTP.MaxBodyBytes < minMaxBodyBytes || c.HTTP.MaxBodyBytes > maxMaxBodyBytes {
		bad("http.maxBodyBytes", "must be between %d and %d", minMaxBodyBytes, maxMaxBodyBytes)
	}

	if lt := c.Tokens.AccessTokenLifetime; lt < minAccessTokenLifetime || lt > maxAccessTokenLifetime {
		bad("tokens.accessTokenLifetime", "must be between %v and %v", minAccessTokenLifetime, maxAccessTokenLifetime)
	}
	if s := c.Delivery.SMTP; s.Host != "" {
		if s.Port < 1 || s.Port > 65535 {
			bad("delivery.smtp.port", "must be a TCP port")
		}
		if s.From == "" {
			bad("delivery.smtp.from", "is required with delivery.smtp.host")
		}
		switch s.TLS {
		case "", "starttls", "tls", "none":
		default:
			bad("delivery.smtp.tls", "must be starttls, tls or none")
		}
		if (s.Username == "") != (s.PasswordFile == "") {
			bad("delivery.smtp.passwordFile", "username and passwordFile go together")
		}
	}
	for name, w := range map[string]WebhookConfig{"sms": c.Delivery.SMS, "voice": c.Delivery.Voice} {
		if w.URL != "" && w.SecretFile == "" {
			bad("delivery."+name+".secretFile", "is required with delivery.%s.url", name)
		}
	}

	return errors.Join(errs...)
}

// checkHostPort accepts host:port with a numeric port (host may be empty
// for all interfaces).
func checkHostPort(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return errors.New("port must be a number between 0 and 65535")
	}
	return nil
}

func normalisePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", errors.New("must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return "", errors.New("must not contain a query or fragment")
	}
	if u.User != nil {
		return "", errors.New("must not contain user info")
	}
	return strings.TrimRight(s, "/"), nil
}

func checkDatabase(s string) error {
	switch kindOf(s) {
	case "":
		return nil
	case "postgres":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			// Deliberately no %v of err: url errors quote the input.
			return errors.New("not a valid postgres:// URL")
		}
		return nil
	case "sqlite":
		if p := strings.TrimPrefix(s, "sqlite://"); !strings.HasPrefix(p, "/") || len(p) < 2 {
			return errors.New("sqlite URL must be sqlite:///absolute/path")
		}
		return nil
	}
	return errors.New("must start with postgres://, postgresql:// or sqlite:///")
}

// kindOf classifies a DSN: "" (empty), "postgres", "sqlite", or "unknown".
func kindOf(s string) string {
	l := strings.ToLower(s)
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(l, "postgres://"), strings.HasPrefix(l, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(s, "sqlite://"):
		return "sqlite"
	}
	return "unknown"
}

// parsePrefix accepts a CIDR prefix or a single address. Host bits in a
// prefix are masked off; IPv4-mapped IPv6 addresses are unmapped so they
// match the IPv4 form net/http reports.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parse prefix: %w", err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse address: %w", err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zoned addresses are not supported")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// StoreKind is "postgres" for a postgres:// or postgresql:// Database, else
// "sqlite".
func (c Config) StoreKind() string {
	if kindOf(c.Database) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// SQLitePath is the SQLite database file: the path of a sqlite:/// Database,
// or vakt.db inside Data.
func (c Config) SQLitePath() string {
	if kindOf(c.Database) == "sqlite" {
		return strings.TrimPrefix(c.Database, "sqlite://")
	}
	return filepath.Join(c.Data, "vakt.db")
}

// MasterKeyPath is MasterKeyFile, or master.key inside Data.
func (c Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.Data, "master.key")
}

// TrustedProxyPrefixes returns TrustedProxies parsed. Entries that do not
// parse are skipped; Validate reports them.
func (c Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// SecureCookies reports whether cookies must carry the Secure attribute,
// which is when the public URL is https.
func (c Config) SecureCookies() bool {
	return strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}

// SlogLevel maps Level to a slog.Level (info when unrecognised).
func (l LogConfig) SlogLevel() slog.Level {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Concurrency is MaxConcurrent with 0 resolved to GOMAXPROCS.
func (p PasswordConfig) Concurrency() int {
	if p.MaxConcurrent > 0 {
		return p.MaxConcurrent
	}
	return runtime.GOMAXPROCS(0)
}
