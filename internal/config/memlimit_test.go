package config

import "testing"

func TestMemoryLimit(t *testing.T) {
	p := Default().Password
	p.MaxConcurrent = 2
	if got, want := p.MemoryLimit(), int64(40+3*19)<<20; got != want { // 97 MiB
		t.Fatalf("default parameters, 2 hashes at once: %d, want %d", got, want)
	}
	p = PasswordConfig{Memory: 4 << 20, MaxConcurrent: 4096} // the largest allowed: no overflow
	if got, want := p.MemoryLimit(), int64(40<<20)+int64(4<<30)*4097; got != want {
		t.Fatalf("largest: %d, want %d", got, want)
	}
}
