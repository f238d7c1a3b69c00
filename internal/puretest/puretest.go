// Package puretest checks that a package stays pure: no database, network,
// file system or clock. The decision packages (internal/method,
// internal/method/totp, internal/policy) call it from their tests.
package puretest

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Check fails t if the package in dir imports database/sql, net/http, os,
// syscall, unsafe or math/rand, reads the clock, or depends on database/sql
// or net/http anywhere below. (os cannot be checked transitively: fmt
// itself imports it.)
func Check(t *testing.T, dir string, extraForbidden ...string) {
	t.Helper()
	// math/rand is here because secrets must come from crypto/rand.
	forbidden := append([]string{"database/sql", "net/http", "os", "syscall", "unsafe", "math/rand"}, extraForbidden...)
	clock := []string{"time.Now(", "time.Since(", "time.Until(", "time.Tick(", "time.After(", "time.NewTimer(", "time.NewTicker("}

	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		n++
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s: this package must stay pure", f, p)
				}
			}
		}
		for _, c := range clock {
			if strings.Contains(string(src), c) {
				t.Errorf("%s reads the clock (%s): take the time as an argument", f, c)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no source files found in %s", dir)
	}

	out, err := exec.Command("go", "list", "-deps", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "database/sql" || strings.HasPrefix(dep, "database/sql/") || dep == "net/http" || strings.HasPrefix(dep, "net/http/") {
			t.Errorf("%s depends on %s (transitively): this package must stay pure", dir, dep)
		}
	}
}
