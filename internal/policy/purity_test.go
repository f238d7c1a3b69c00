package policy

import (
	"testing"

	"github.com/vakt-id/vakt/internal/puretest"
)

// TestPure keeps the decision free of I/O, clocks and the store: it takes
// its facts and now as arguments, so it can be tested exhaustively.
func TestPure(t *testing.T) {
	puretest.Check(t, ".", "github.com/vakt-id/vakt/internal/store")
}
