package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/vakt-id/vakt/internal/store/postgres"
)

// PostgresSchemaURL makes an empty schema of its own, dropped afterwards,
// and returns a database URL whose search_path points at it: for tests
// that run the vakt binary, which migrates the schema itself.
func PostgresSchemaURL(t testing.TB, prefix string) string {
	t.Helper()
	base := PostgresURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	s, err := postgres.Open(ctx, base, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	t.Cleanup(func() { postgres.DropSchema(ctx, base, schema) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
