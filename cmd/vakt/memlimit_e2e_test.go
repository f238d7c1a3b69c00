package main

import (
	"bufio"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestServeMemoryLimit: serve sets the Go memory limit from the password
// hashing budget unless GOMEMLIMIT is set; /metrics shows what is in force.
func TestServeMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "") // restored afterwards; unset for the servers
	os.Unsetenv("GOMEMLIMIT")
	for _, c := range []struct {
		env  []string
		want float64
	}{
		{[]string{"GOMAXPROCS=2"}, (40 + 3*19) << 20}, // two hashes at once, one more, and 40 MiB
		{[]string{"GOMAXPROCS=2", "GOMEMLIMIT=300MiB"}, 300 << 20},
	} {
		srv := startServer(t, c.env, "--data", t.TempDir())
		if got := gauge(t, srv.url, "go_gc_gomemlimit_bytes"); got != c.want {
			t.Errorf("%v: go_gc_gomemlimit_bytes = %v, want %v", c.env, got, c.want)
		}
		srv.stop(t)
	}
}

func gauge(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
