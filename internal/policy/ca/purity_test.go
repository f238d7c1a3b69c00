package ca

import (
	"testing"

	"github.com/vakt-id/vakt/internal/puretest"
)

// TestPure keeps the engine free of I/O and clocks; the MaxMind reader
// lives in the geoip sub-package.
func TestPure(t *testing.T) {
	puretest.Check(t, ".")
}
