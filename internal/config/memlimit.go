package config

// MemoryLimit is the soft limit `vakt serve` gives the Go runtime when
// GOMEMLIMIT is not set, in bytes: the hashing budget (Memory ×
// Concurrency), one hash more, and 40 MiB for everything else (an idle
// server uses about 22 MiB of Go memory).
//
// Each argon2id hash allocates its Memory afresh (the library takes no
// buffer to reuse), so at a hundred sign-ins a second the heap turns over
// about 2 GB/s in 19 MiB blocks. Paced by GOGC alone, the finished blocks
// waiting for the next collection and the idle heap the runtime keeps
// let the resident set float to 160–185 MB at 32 concurrent sign-ins on
// 2 cores; with this limit the collector and scavenger keep it near what
// is live: the blocks of the hashes running, and one finished.
func (p PasswordConfig) MemoryLimit() int64 {
	perHash := int64(p.Memory) << 10
	return 40<<20 + perHash*int64(p.Concurrency()+1)
}
