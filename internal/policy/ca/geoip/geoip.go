// Package geoip resolves IP addresses to countries with a MaxMind database
// (GeoLite2-Country, GeoIP2-Country or -City, or any database in the same
// layout such as DB-IP's), for conditional access's country named
// locations. It is the I/O half of internal/policy/ca, which stays pure
// and only sees the ca.CountryLookup interface that *DB implements.
package geoip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB looks up countries. The zero value and nil know no country. A DB is
// safe for concurrent use.
type DB struct {
	r    *maxminddb.Reader
	path string
}

// Open opens the MaxMind database at path. A missing file is not an
// error: vakt runs without a GeoIP database, and then every sign-in's
// country is unknown — country named locations match only when they set
// includeUnknownCountriesAndRegions, and Available reports false so the
// caller can warn. Any other problem (unreadable, corrupt, not a MaxMind
// database) is an error. An empty path is treated as a missing file.
func Open(path string) (*DB, error) {
	if path == "" {
		return &DB{}, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return &DB{path: path}, nil
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	return &DB{r: r, path: path}, nil
}

// Available reports whether a database is loaded.
func (db *DB) Available() bool { return db != nil && db.r != nil }

// Path is the path the database was opened from.
func (db *DB) Path() string {
	if db == nil {
		return ""
	}
	return db.path
}

// Country returns the ISO 3166 alpha-2 code of the country of ip: the
// record's country, or failing that its registered country. ok is false
// when there is no database, the address is not in it, or the record has
// no country.
func (db *DB) Country(ip netip.Addr) (iso string, ok bool) {
	if !db.Available() || !ip.IsValid() {
		return "", false
	}
	res := db.r.Lookup(ip.Unmap())
	if !res.Found() {
		return "", false
	}
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		RegisteredCountry struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"registered_country"`
	}
	if err := res.Decode(&rec); err != nil {
		return "", false
	}
	iso = rec.Country.ISOCode
	if iso == "" {
		iso = rec.RegisteredCountry.ISOCode
	}
	return iso, iso != ""
}

// Close releases the database.
func (db *DB) Close() error {
	if db == nil || db.r == nil {
		return nil
	}
	return db.r.Close()
}
