package config

import (
	"github.com/spf13/pflag"
)

// Flag names shared by RegisterServeFlags, RegisterStoreFlags and
// ApplyFlags.
const (
	FlagListen        = "listen"
	FlagPublicURL     = "public-url"
	FlagData          = "data"
	FlagDatabase      = "database"
	FlagMasterKeyFile = "master-key-file"
	FlagRadius        = "radius"
	FlagTrustedProxy  = "trusted-proxy"
	FlagLogLevel      = "log-level"
	FlagLogFormat     = "log-format"
)

// Flags are registered with empty defaults: ApplyFlags copies only flags
// the user set, so a flag default would never apply anyway, and printing
// one would hide the file and environment layers underneath.

// RegisterStoreFlags defines the flags that locate the store and master
// key: data, database and master-key-file. Admin commands use these.
func RegisterStoreFlags(fs *pflag.FlagSet) {
	fs.String(FlagData, "", "data directory for the embedded SQLite database and default master key (env VAKT_DATA, default ./vakt-data)")
	fs.String(FlagDatabase, "", "database DSN: postgres://…, postgresql://… or sqlite:///path; empty = SQLite in the data directory (env VAKT_DATABASE; prefer VAKT_DATABASE_FILE to keep the password off the command line)")
	fs.String(FlagMasterKeyFile, "", "master key file; required with PostgreSQL (env VAKT_MASTER_KEY_FILE, default <data>/master.key)")
}

// RegisterServeFlags defines every server flag, including the store flags.
func RegisterServeFlags(fs *pflag.FlagSet) {
	fs.String(FlagListen, "", "HTTP listen address (env VAKT_LISTEN, default 127.0.0.1:8080)")
	fs.String(FlagPublicURL, "", "public base URL, http or https (env VAKT_PUBLIC_URL, default http://127.0.0.1:8080)")
	RegisterStoreFlags(fs)
	fs.String(FlagRadius, "", "RADIUS UDP listen address; empty disables RADIUS (env VAKT_RADIUS)")
	fs.StringSlice(FlagTrustedProxy, nil, "trusted reverse proxy IP or CIDR, repeatable; replaces the configured list (env VAKT_TRUSTED_PROXIES, comma-separated)")
	fs.String(FlagLogLevel, "", "log level: debug, info, warn or error (env VAKT_LOG_LEVEL, default info)")
	fs.String(FlagLogFormat, "", "log format: json or text (env VAKT_LOG_FORMAT, default json)")
}

// ApplyFlags overlays the flags the user actually set (fs.Changed). Flags
// not defined in fs are skipped, so it works with either Register function.
func (c *Config) ApplyFlags(fs *pflag.FlagSet) {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{FlagListen, &c.Listen},
		{FlagPublicURL, &c.PublicURL},
		{FlagData, &c.Data},
		{FlagDatabase, &c.Database},
		{FlagMasterKeyFile, &c.MasterKeyFile},
		{FlagRadius, &c.Radius},
		{FlagLogLevel, &c.Log.Level},
		{FlagLogFormat, &c.Log.Format},
	} {
		if f := changed(fs, v.name); f != nil {
			*v.dst = f.Value.String()
			if v.name == FlagDatabase {
				c.DatabaseFile = "" // the DSN no longer comes from a file
			}
		}
	}
	if f := changed(fs, FlagTrustedProxy); f != nil {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			c.TrustedProxies = cleanList(sv.GetSlice())
		} else {
			c.TrustedProxies = splitList(f.Value.String())
		}
	}
}

func changed(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil || !fs.Changed(name) {
		return nil
	}
	return fs.Lookup(name)
}

// cleanList trims entries and drops blanks.
func cleanList(in []string) []string {
	var out []string
	for _, v := range in {
		out = append(out, splitList(v)...)
	}
	return out
}
