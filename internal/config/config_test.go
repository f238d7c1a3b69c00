package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.StoreKind() != "sqlite" {
		t.Errorf("StoreKind = %q", c.StoreKind())
	}
	if got, want := c.SQLitePath(), filepath.Join("vakt-data", "vakt.db"); got != want {
		t.Errorf("SQLitePath = %q, want %q", got, want)
	}
	if got, want := c.MasterKeyPath(), filepath.Join("vakt-data", "master.key"); got != want {
		t.Errorf("MasterKeyPath = %q, want %q", got, want)
	}
	if c.SecureCookies() {
		t.Error("SecureCookies true for http default")
	}
	if len(c.TrustedProxyPrefixes()) != 0 {
		t.Error("default trusted proxies not empty")
	}
}

func TestLoadNoFileNoEnv(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want defaults", c)
	}
}

func TestYAMLOverrides(t *testing.T) {
	p := writeFile(t, "vakt.yaml", `
listen: 0.0.0.0:9000
publicUrl: https://id.example.com/
data: /var/lib/vakt
database: postgres://vakt:pw@db:5432/vakt
masterKeyFile: /run/secrets/master.key
radius: 0.0.0.0:1812
trustedProxies: [10.0.0.0/8, "192.0.2.1", "2001:db8::/32"]
log:
  level: debug
  format: text
password:
  memory: 65536
  time: 3
  threads: 4
  maxConcurrent: 8
http:
  readHeaderTimeout: 5s
  readTimeout: 15s
  writeTimeout: 1m
  idleTimeout: 2m30s
  shutdownTimeout: 45s
  maxBodyBytes: 2097152
tokens:
  accessTokenLifetime: 90m
`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:         "0.0.0.0:9000",
		PublicURL:      "https://id.example.com/",
		Data:           "/var/lib/vakt",
		Database:       "postgres://vakt:pw@db:5432/vakt",
		MasterKeyFile:  "/run/secrets/master.key",
		Radius:         "0.0.0.0:1812",
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"},
		Log:            LogConfig{Level: "debug", Format: "text"},
		Password:       PasswordConfig{Memory: 65536, Time: 3, Threads: 4, MaxConcurrent: 8},
		HTTP: HTTPConfig{
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      time.Minute,
			IdleTimeout:       150 * time.Second,
			ShutdownTimeout:   45 * time.Second,
			MaxBodyBytes:      2 << 20,
		},
		Tokens: TokensConfig{AccessTokenLifetime: 90 * time.Minute},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://id.example.com" {
		t.Errorf("trailing slash kept: %q", c.PublicURL)
	}
	if c.StoreKind() != "postgres" || !c.SecureCookies() || c.MasterKeyPath() != "/run/secrets/master.key" {
		t.Errorf("derived: kind=%s secure=%v key=%s", c.StoreKind(), c.SecureCookies(), c.MasterKeyPath())
	}
	wantP := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if got := c.TrustedProxyPrefixes(); !reflect.DeepEqual(got, wantP) {
		t.Errorf("TrustedProxyPrefixes = %v, want %v", got, wantP)
	}
}

func TestYAMLPartialKeepsDefaults(t *testing.T) {
	p := writeFile(t, "vakt.yaml", "http:\n  readTimeout: 5s\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.HTTP.ReadTimeout != 5*time.Second || c.HTTP.WriteTimeout != d.HTTP.WriteTimeout || c.Listen != d.Listen {
		t.Errorf("partial override lost defaults: %+v", c)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n"} {
		c, err := Load(writeFile(t, "vakt.yaml", content), nil)
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: not defaults", content)
		}
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "listen: :80\nlistne: :81\n", []string{"line 2", "listne"}},
		{"unknown nested key", "log:\n  level: info\n  colour: true\n", []string{"line 3", "colour"}},
		{"duration as integer", "http:\n  readTimeout: 30\n", []string{"line 2"}},
		{"bad duration", "http:\n  readTimeout: soon\n", []string{"line 2"}},
		{"negative memory", "password:\n  memory: -1\n", []string{"line 2"}},
		{"threads overflow", "password:\n  threads: 300\n", []string{"line 2"}},
		{"not a mapping", "- a\n- b\n", []string{"line 1"}},
		{"second document", "listen: :80\n---\nlisten: :81\n", []string{"one YAML document"}},
		{"database and databaseFile", "database: postgres://h/db\ndatabaseFile: /x\n", []string{"mutually exclusive"}},
		{"missing databaseFile", "databaseFile: /nonexistent/dsn\n", []string{"databaseFile", "/nonexistent/dsn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "vakt.yaml", tt.yaml), nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil); !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestEnvBeatsFile(t *testing.T) {
	p := writeFile(t, "vakt.yaml", `
listen: 0.0.0.0:9000
publicUrl: https://file.example
data: /file
database: postgres://file/db
masterKeyFile: /file/key
radius: :1812
trustedProxies: [10.0.0.1]
log: {level: debug, format: text}
`)
	c, err := Load(p, envMap(map[string]string{
		"VAKT_LISTEN":          "0.0.0.0:9100",
		"VAKT_PUBLIC_URL":      "https://env.example",
		"VAKT_DATA":            "/env",
		"VAKT_DATABASE":        "sqlite:///env/vakt.db",
		"VAKT_MASTER_KEY_FILE": "/env/key",
		"VAKT_RADIUS":          ":11812",
		"VAKT_TRUSTED_PROXIES": " 10.1.0.0/16 ,, 192.0.2.7 ",
		"VAKT_LOG_LEVEL":       "warn",
		"VAKT_LOG_FORMAT":      "json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9100" || c.PublicURL != "https://env.example" || c.Data != "/env" ||
		c.Database != "sqlite:///env/vakt.db" || c.MasterKeyFile != "/env/key" || c.Radius != ":11812" ||
		c.Log.Level != "warn" || c.Log.Format != "json" {
		t.Errorf("env did not override: %+v", c)
	}
	if want := []string{"10.1.0.0/16", "192.0.2.7"}; !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", c.TrustedProxies, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.StoreKind() != "sqlite" || c.SQLitePath() != "/env/vakt.db" {
		t.Errorf("kind=%s path=%s", c.StoreKind(), c.SQLitePath())
	}
}

func TestEmptyEnvDoesNotOverride(t *testing.T) {
	p := writeFile(t, "vakt.yaml", "listen: 0.0.0.0:9000\n")
	c, err := Load(p, envMap(map[string]string{"VAKT_LISTEN": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9000" {
		t.Errorf("Listen = %q", c.Listen)
	}
}

func TestFlagsBeatEnv(t *testing.T) {
	c, err := Load("", envMap(map[string]string{
		"VAKT_LISTEN":          "0.0.0.0:9100",
		"VAKT_PUBLIC_URL":      "https://env.example",
		"VAKT_DATABASE":        "postgres://env/db",
		"VAKT_MASTER_KEY_FILE": "/env/key",
		"VAKT_TRUSTED_PROXIES": "10.0.0.1",
		"VAKT_LOG_LEVEL":       "warn",
		"VAKT_RADIUS":          ":1812",
	}))
	if err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	RegisterServeFlags(fs)
	if err := fs.Parse([]string{
		"--listen", "127.0.0.1:9200",
		"--database=sqlite:///flag/vakt.db",
		"--trusted-proxy", "10.2.0.0/16",
		"--trusted-proxy=192.0.2.9,192.0.2.10",
		"--log-level", "error",
	}); err != nil {
		t.Fatal(err)
	}
	c.ApplyFlags(fs)

	if c.Listen != "127.0.0.1:9200" || c.Database != "sqlite:///flag/vakt.db" || c.Log.Level != "error" {
		t.Errorf("flags did not override: %+v", c)
	}
	if want := []string{"10.2.0.0/16", "192.0.2.9", "192.0.2.10"}; !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", c.TrustedProxies, want)
	}
	// Unset flags must leave the env values alone, even though the flags
	// exist with empty defaults.
	if c.PublicURL != "https://env.example" || c.MasterKeyFile != "/env/key" || c.Radius != ":1812" {
		t.Errorf("unset flags clobbered env: %+v", c)
	}
}

func TestStoreFlagsOnly(t *testing.T) {
	c := Default()
	fs := pflag.NewFlagSet("admin", pflag.ContinueOnError)
	RegisterStoreFlags(fs)
	for _, name := range []string{FlagListen, FlagPublicURL, FlagRadius, FlagTrustedProxy, FlagLogLevel, FlagLogFormat} {
		if fs.Lookup(name) != nil {
			t.Errorf("store flags define %q", name)
		}
	}
	if err := fs.Parse([]string{"--data", "/admin", "--master-key-file", "/k"}); err != nil {
		t.Fatal(err)
	}
	c.ApplyFlags(fs)
	if c.Data != "/admin" || c.MasterKeyFile != "/k" || c.Listen != Default().Listen {
		t.Errorf("got %+v", c)
	}
}

func TestFlagCanClearRadius(t *testing.T) {
	c := Default()
	c.Radius = ":1812"
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	RegisterServeFlags(fs)
	if err := fs.Parse([]string{"--radius="}); err != nil {
		t.Fatal(err)
	}
	c.ApplyFlags(fs)
	if c.Radius != "" {
		t.Errorf("Radius = %q, want empty", c.Radius)
	}
}

func TestDatabaseFileEnv(t *testing.T) {
	secret := writeFile(t, "dsn", "postgres://vakt:s3cret@db/vakt\n")
	c, err := Load("", envMap(map[string]string{
		"VAKT_DATABASE_FILE":   secret,
		"VAKT_MASTER_KEY_FILE": "/k",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "postgres://vakt:s3cret@db/vakt" || c.DatabaseFile != secret {
		t.Errorf("Database=%q DatabaseFile=%q", c.Database, c.DatabaseFile)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	// The env file beats an inline DSN in the config file.
	p := writeFile(t, "vakt.yaml", "database: postgres://file/db\n")
	c, err = Load(p, envMap(map[string]string{"VAKT_DATABASE_FILE": secret}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "postgres://vakt:s3cret@db/vakt" {
		t.Errorf("Database = %q", c.Database)
	}
}

func TestDatabaseFileYAML(t *testing.T) {
	secret := writeFile(t, "dsn", "  postgresql://vakt:pw@db/vakt  \r\n")
	p := writeFile(t, "vakt.yaml", "databaseFile: "+secret+"\n")
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "postgresql://vakt:pw@db/vakt" {
		t.Errorf("Database = %q", c.Database)
	}
	// An inline env DSN beats the file's databaseFile.
	c, err = Load(p, envMap(map[string]string{"VAKT_DATABASE": "postgres://env/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database != "postgres://env/db" || c.DatabaseFile != "" {
		t.Errorf("Database=%q DatabaseFile=%q", c.Database, c.DatabaseFile)
	}
}

func TestDatabaseFileErrors(t *testing.T) {
	empty := writeFile(t, "empty", "\n")
	big := writeFile(t, "big", strings.Repeat("x", maxSecretFileBytes+1))
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both set", map[string]string{"VAKT_DATABASE": "postgres://a/b", "VAKT_DATABASE_FILE": empty}, "mutually exclusive"},
		{"missing", map[string]string{"VAKT_DATABASE_FILE": "/nonexistent/dsn"}, "VAKT_DATABASE_FILE"},
		{"empty", map[string]string{"VAKT_DATABASE_FILE": empty}, "empty"},
		{"too big", map[string]string{"VAKT_DATABASE_FILE": big}, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", envMap(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Listen = "8080"
	c.PublicURL = "ftp://example.com"
	c.Data = ""
	c.Database = "mysql://root@db/vakt"
	c.Radius = "0.0.0.0:radius"
	c.TrustedProxies = []string{"10.0.0.0/8", "not-an-ip", "10.0.0.0/99"}
	c.Log = LogConfig{Level: "verbose", Format: "xml"}
	c.Password = PasswordConfig{Memory: 1024, Time: 0, Threads: 0, MaxConcurrent: -1}
	c.HTTP = HTTPConfig{ReadTimeout: -time.Second, MaxBodyBytes: 0}
	c.Tokens.AccessTokenLifetime = 0

	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, field := range []string{
		"listen:", "publicUrl: must be an absolute http or https URL", "data:", "database:", "radius:",
		"trustedProxies[1]:", "trustedProxies[2]:", "log.level:", "log.format:",
		"password.memory:", "password.time:", "password.threads:", "password.maxConcurrent:",
		"http.readHeaderTimeout:", "http.readTimeout:", "http.writeTimeout:", "http.idleTimeout:",
		"http.shutdownTimeout:", "http.maxBodyBytes:", "tokens.accessTokenLifetime:",
	} {
		if !strings.Contains(msg, field) {
			t.Errorf("missing %q in:\n%s", field, msg)
		}
	}
	if strings.Contains(msg, "trustedProxies[0]") {
		t.Errorf("valid entry reported:\n%s", msg)
	}
}

func TestValidateSingleFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "" = valid
	}{
		{"ipv6 listen", func(c *Config) { c.Listen = "[::1]:8080" }, ""},
		{"all interfaces", func(c *Config) { c.Listen = ":8080" }, ""},
		{"empty listen", func(c *Config) { c.Listen = "" }, "listen:"},
		{"port too big", func(c *Config) { c.Listen = ":70000" }, "listen:"},
		{"public url with path", func(c *Config) { c.PublicURL = "https://example.com/vakt/" }, ""},
		{"public url relative", func(c *Config) { c.PublicURL = "/vakt" }, "publicUrl:"},
		{"public url no host", func(c *Config) { c.PublicURL = "https://" }, "publicUrl:"},
		{"public url query", func(c *Config) { c.PublicURL = "https://example.com/?a=b" }, "publicUrl: must not contain a query"},
		{"public url empty query", func(c *Config) { c.PublicURL = "https://example.com/?" }, "publicUrl:"},
		{"public url fragment", func(c *Config) { c.PublicURL = "https://example.com/#x" }, "publicUrl:"},
		{"public url userinfo", func(c *Config) { c.PublicURL = "https://u:p@example.com" }, "publicUrl:"},
		{"sqlite relative", func(c *Config) { c.Database = "sqlite://vakt.db" }, "database:"},
		{"sqlite empty", func(c *Config) { c.Database = "sqlite://" }, "database:"},
		{"sqlite absolute, no data", func(c *Config) { c.Database = "sqlite:///v/vakt.db"; c.MasterKeyFile = "/k"; c.Data = "" }, ""},
		{"sqlite absolute, key in data", func(c *Config) { c.Database = "sqlite:///v/vakt.db"; c.Data = "" }, "data:"},
		{"postgres without key", func(c *Config) { c.Database = "postgres://db/vakt" }, "masterKeyFile: required when database is PostgreSQL"},
		{"postgresql without key", func(c *Config) { c.Database = "postgresql://db/vakt" }, "masterKeyFile:"},
		{"postgres with key, no data", func(c *Config) { c.Database = "postgres://db/vakt"; c.MasterKeyFile = "/k"; c.Data = "" }, ""},
		{"postgres no host", func(c *Config) { c.Database = "postgres:///vakt"; c.MasterKeyFile = "/k" }, "database:"},
		{"radius ok", func(c *Config) { c.Radius = "0.0.0.0:1812" }, ""},
		{"ipv6 proxy", func(c *Config) { c.TrustedProxies = []string{"::1", "fd00::/8"} }, ""},
		{"zoned proxy", func(c *Config) { c.TrustedProxies = []string{"fe80::1%eth0"} }, "trustedProxies[0]:"},
		{"upper-case level", func(c *Config) { c.Log.Level = "DEBUG" }, ""},
		{"memory min", func(c *Config) { c.Password.Memory = 8192 }, ""},
		{"memory below", func(c *Config) { c.Password.Memory = 8191 }, "password.memory:"},
		{"memory max", func(c *Config) { c.Password.Memory = 4 << 20 }, ""},
		{"memory above", func(c *Config) { c.Password.Memory = 4<<20 + 1 }, "password.memory:"},
		{"time max", func(c *Config) { c.Password.Time = 20 }, ""},
		{"time above", func(c *Config) { c.Password.Time = 21 }, "password.time:"},
		{"threads max", func(c *Config) { c.Password.Threads = 16 }, ""},
		{"threads above", func(c *Config) { c.Password.Threads = 17 }, "password.threads:"},
		{"zero write timeout", func(c *Config) { c.HTTP.WriteTimeout = 0 }, "http.writeTimeout:"},
		{"token lifetime long", func(c *Config) { c.Tokens.AccessTokenLifetime = 48 * time.Hour }, "tokens.accessTokenLifetime:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateNeverEchoesDSN(t *testing.T) {
	c := Default()
	c.Database = "postgres://vakt:hunter2@[bad/vakt"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password leaked: %v", err)
	}
}

func TestValidateNormalises(t *testing.T) {
	c := Default()
	c.PublicURL = "https://example.com//"
	c.Log = LogConfig{Level: " Warn", Format: "TEXT"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://example.com" || c.Log.Level != "warn" || c.Log.Format != "text" {
		t.Errorf("not normalised: %+v", c)
	}
}

func TestTrustedProxyPrefixes(t *testing.T) {
	c := Config{TrustedProxies: []string{"10.1.2.3/8", "::ffff:192.0.2.1", "bogus", "2001:db8::1"}}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("2001:db8::1/128"),
	}
	if got := c.TrustedProxyPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestHelpers(t *testing.T) {
	if (LogConfig{Level: "debug"}).SlogLevel().String() != "DEBUG" {
		t.Error("SlogLevel debug")
	}
	if (PasswordConfig{MaxConcurrent: 3}).Concurrency() != 3 || (PasswordConfig{}).Concurrency() < 1 {
		t.Error("Concurrency")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("listen: :80\n"))
	f.Add([]byte("log: {level: debug}\nhttp:\n  readTimeout: 3s\n"))
	f.Add([]byte("trustedProxies: [a, b]\npassword: {threads: 255}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("databaseFile: /dev/null\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "vakt.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, nil)
		if err != nil {
			return
		}
		_ = c.Validate()
		_ = c.TrustedProxyPrefixes()
		_, _, _ = c.StoreKind(), c.SQLitePath(), c.MasterKeyPath()
	})
}
