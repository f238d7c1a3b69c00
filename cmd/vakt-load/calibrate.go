package main

import (
	"slices"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/vakt-id/vakt/internal/password"
)

// argon2CPU is the CPU time one argon2id hash at vakt's default parameters
// takes in this process right now, the median of n. Next to the server's
// CPU time per sign-in it shows what the rest of a sign-in costs, in a
// way a busy machine does not distort as much as wall-clock rates.
func argon2CPU(n int) time.Duration {
	p := password.DefaultParams()
	pw, salt := []byte("calibration"), make([]byte, p.SaltLen)
	var ds []time.Duration
	for range n {
		c0 := selfCPU()
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		ds = append(ds, selfCPU()-c0)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}
