package geoip

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
)

// buildDB writes a small country database in the GeoLite2-Country layout.
func buildDB(t *testing.T) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	country := func(iso string) mmdbtype.Map {
		return mmdbtype.Map{"iso_code": mmdbtype.String(iso), "names": mmdbtype.Map{"en": mmdbtype.String(iso)}}
	}
	for cidr, rec := range map[string]mmdbtype.Map{
		"81.2.69.0/24":    {"country": country("SE"), "registered_country": country("SE")},
		"89.160.20.0/24":  {"country": country("NO")},
		"2a02:aa8::/32":   {"country": country("FI")},
		"67.43.156.0/24":  {"registered_country": country("US")},                      // no country: the registered one counts
		"216.160.83.0/24": {"continent": mmdbtype.Map{"code": mmdbtype.String("NA")}}, // no country at all
	} {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "GeoLite2-Country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCountry(t *testing.T) {
	db, err := Open(buildDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.Available() {
		t.Fatal("not available")
	}
	for addr, want := range map[string]string{
		"81.2.69.142": "SE", "::ffff:81.2.69.1": "SE", "89.160.20.128": "NO", "2a02:aa8:1::1": "FI",
		"67.43.156.1": "US", "216.160.83.56": "", "8.8.8.8": "", "2001:db8::1": "",
	} {
		got, ok := db.Country(netip.MustParseAddr(addr))
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", addr, got, ok, want)
		}
	}
	if _, ok := db.Country(netip.Addr{}); ok {
		t.Error("zero address")
	}
}

func TestMissingAndBroken(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "absent.mmdb"), ""} {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("missing file %q: %v", path, err)
		}
		if db.Available() || db.Path() != path {
			t.Fatal("missing file is available")
		}
		if iso, ok := db.Country(netip.MustParseAddr("81.2.69.142")); ok || iso != "" {
			t.Fatal("country without a database")
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var nilDB *DB
	if _, ok := nilDB.Country(netip.MustParseAddr("81.2.69.142")); ok || nilDB.Available() || nilDB.Close() != nil {
		t.Fatal("nil DB")
	}
	broken := filepath.Join(dir, "broken.mmdb")
	if err := os.WriteFile(broken, []byte("this is not a MaxMind database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(broken); err == nil {
		t.Fatal("broken file opened")
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("directory opened")
	}
}

// TestCountryLocation resolves a sign-in's country through the database
// and evaluates a country named location with it.
func TestCountryLocation(t *testing.T) {
	db, err := Open(buildDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var _ ca.CountryLookup = db

	const nordics = "d0000000-0000-4000-8000-000000000003"
	locs := []ca.NamedLocation{{ODataType: ca.ODataCountryNamedLocation, ID: nordics, DisplayName: "Nordics",
		CountriesAndRegions: []string{"SE", "NO", "DK", "FI", "IS"}}}
	p := ca.Policy{ID: "e0000000-0000-4000-8000-000000000001", DisplayName: "MFA outside the Nordics", State: ca.StateEnabled,
		Conditions: ca.Conditions{
			Users:        &ca.UsersCondition{IncludeUsers: []string{ca.All}},
			Applications: &ca.ApplicationsCondition{IncludeApplications: []string{ca.All}},
			Locations:    &ca.LocationsCondition{IncludeLocations: []string{ca.All}, ExcludeLocations: []string{nordics}},
		},
		GrantControls: &ca.GrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}}}
	set, err := ca.Compile([]ca.Policy{p}, locs)
	if err != nil {
		t.Fatal(err)
	}
	if !set.NeedsCountry() {
		t.Fatal("NeedsCountry")
	}
	for addr, wantMFA := range map[string]bool{
		"81.2.69.142":   false, // Sweden
		"2a02:aa8:1::1": false, // Finland
		"67.43.156.1":   true,  // United States (registered country)
		"8.8.8.8":       true,  // not in the database: unknown is not the Nordics
	} {
		ip := netip.MustParseAddr(addr)
		in := ca.Input{UserID: "a0000000-0000-4000-8000-000000000001", Client: policy.ClientBrowser, IP: ip,
			Country: ca.LookupCountry(db, ip)}
		out, res := set.Evaluate(in, nil)
		if got := len(out.Grants) == 1; got != wantMFA {
			t.Errorf("%s (%q): MFA %v, want %v (%s)", addr, in.Country, got, wantMFA, res[0].FailedCondition)
		}
	}
}
