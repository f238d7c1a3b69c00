package storetest_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestConformance runs the same suite on every backend; the output shows
// TestConformance/sqlite/… and TestConformance/postgres/… side by side.
func TestConformance(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			storetest.Run(t, b.New)
		})
	}
}

// BenchmarkTransitiveGroups: go test -bench TransitiveGroups -run ^$ ./internal/store/storetest
// (VAKT_BENCH_GROUPS overrides the 100,000 groups).
func BenchmarkTransitiveGroups(b *testing.B) {
	total := 100_000
	if v, err := strconv.Atoi(os.Getenv("VAKT_BENCH_GROUPS")); err == nil && v >= 50 {
		total = v
	}
	for _, be := range storetest.Backends {
		b.Run(be.Name, func(b *testing.B) {
			storetest.BenchmarkTransitive(b, be.New(b), total)
		})
	}
}
