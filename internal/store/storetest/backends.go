package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/postgres"
	"github.com/vakt-id/vakt/internal/store/sqlite"
)

// PostgresURLEnv names the variable that points tests at a PostgreSQL server.
const PostgresURLEnv = "VAKT_TEST_POSTGRES_URL"

// SQLite opens a fresh embedded store in a temporary directory.
func SQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vakt.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL returns the test server's URL. Without one the test is
// skipped — except under CI, where a missing database is a failure.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests", PostgresURLEnv)
		}
		t.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresURLEnv)
	}
	return url
}

// Postgres opens a fresh store in a schema of its own, dropped afterwards,
// so tests can run in parallel against one database.
func Postgres(t testing.TB) store.Store {
	t.Helper()
	url := PostgresURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "vakt_test_" + hex.EncodeToString(b)
	s, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := postgres.DropSchema(ctx, url, schema); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return s
}

// Backends lists the stores every store-backed test should run on.
var Backends = []struct {
	Name string
	New  NewStore
}{
	{"sqlite", SQLite},
	{"postgres", Postgres},
}
