package totp

import (
	"testing"

	"github.com/vakt-id/vakt/internal/puretest"
)

// TestPure keeps the rules free of database, network, file system and
// clock, so they can be tested exhaustively.
func TestPure(t *testing.T) { puretest.Check(t, ".") }
