package secret

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func checkMode0600(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("%s mode = %v, want 0600", path, got)
	}
}

func TestGenerateAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	gen, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
	loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if gen.PrimaryKeyID() != loaded.PrimaryKeyID() {
		t.Fatalf("kid %s != %s", gen.PrimaryKeyID(), loaded.PrimaryKeyID())
	}
	sealed, _ := gen.Seal([]byte("x"), nil)
	if _, err := loaded.Open(sealed, nil); err != nil {
		t.Fatal(err)
	}

	// Never overwrite an existing file.
	before, _ := os.ReadFile(path)
	if _, err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKeyFile: err = %v, want ErrExist", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("existing key file was modified")
	}
}

func TestGenerateUnderRestrictiveUmask(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	// Whatever the process umask, the file ends up exactly 0600.
	path := filepath.Join(t.TempDir(), "k")
	if _, err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
}

func TestLoadOrGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	kr1, created, err := LoadOrGenerate(path)
	if err != nil || !created {
		t.Fatalf("first: created=%v err=%v", created, err)
	}
	checkMode0600(t, path)
	kr2, created, err := LoadOrGenerate(path)
	if err != nil || created {
		t.Fatalf("second: created=%v err=%v", created, err)
	}
	if kr1.PrimaryKeyID() != kr2.PrimaryKeyID() {
		t.Fatal("reload returned a different key")
	}

	// A broken file is an error, never silently replaced.
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("garbage\n"), 0o600)
	if _, _, err := LoadOrGenerate(bad); err == nil {
		t.Fatal("broken key file accepted")
	}
	if b, _ := os.ReadFile(bad); string(b) != "garbage\n" {
		t.Fatal("broken key file was overwritten")
	}

	// A missing directory is reported, not created.
	if _, _, err := LoadOrGenerate(filepath.Join(t.TempDir(), "nope", "k")); err == nil {
		t.Fatal("missing directory not reported")
	}
}

func TestLoadKeyFileFormat(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	e1, e2 := base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)
	path := filepath.Join(t.TempDir(), "k")
	content := "# comment\n\n  " + e1 + "  \r\n# old key\n" + e2 + "\n\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ids := kr.KeyIDs(); len(ids) != 2 || ids[0] != KeyID(k1) || ids[1] != KeyID(k2) {
		t.Fatalf("KeyIDs = %v", ids)
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(mustKey(t))
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	cases := []struct {
		name, content, want string
	}{
		{"empty", "", "no keys"},
		{"comments only", "# a\n\n# b\n", "no keys"},
		{"not base64", "# header\n" + good + "\nnot-base64!\n", "line 3: not a base64 key"},
		{"short key", "\n\n\n" + short + "\n", "line 4: key is 16 bytes, want 32"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(good) + "x\n", "line 1: not a base64 key"},
		{"unpadded", strings.TrimRight(base64.StdEncoding.EncodeToString(make([]byte, 31)), "=") + "\n", "line 1:"},
		{"duplicate", good + "\n#\n" + good + "\n", "line 3: same key as line 1"},
		{"inline comment", good + " # primary\n", "line 1: not a base64 key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), good) {
				t.Fatal("error message leaks key material")
			}
		})
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestAddPrimaryKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	old, err := GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sealedOld, _ := old.Seal([]byte("old secret"), []byte("t1/o1"))

	rotated, err := AddPrimaryKey(path)
	if err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
	if rotated.PrimaryKeyID() == old.PrimaryKeyID() {
		t.Fatal("primary key did not change")
	}

	// The file on disk is what the returned ring says.
	reloaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(reloaded.KeyIDs(), ","), rotated.PrimaryKeyID()+","+old.PrimaryKeyID(); got != want {
		t.Fatalf("KeyIDs after rotation = %s, want %s", got, want)
	}
	// The header comment stays on top.
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), keyFileHeader) {
		t.Fatalf("header not preserved:\n%s", data)
	}

	// Old values still open; new values use the new kid.
	if pt, err := reloaded.Open(sealedOld, []byte("t1/o1")); err != nil || string(pt) != "old secret" {
		t.Fatalf("old value: %q, %v", pt, err)
	}
	sealedNew, _ := reloaded.Seal([]byte("new"), nil)
	if !strings.HasPrefix(sealedNew, "v1:"+rotated.PrimaryKeyID()+":") {
		t.Fatalf("new seal %q not under new kid", sealedNew)
	}

	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v", names)
	}

	// A second rotation keeps all three keys.
	if _, err := AddPrimaryKey(path); err != nil {
		t.Fatal(err)
	}
	r3, err := LoadKeyFile(path)
	if err != nil || len(r3.KeyIDs()) != 3 {
		t.Fatalf("after second rotation: %v, %v", r3.KeyIDs(), err)
	}
}

func TestAddPrimaryKeyRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	os.WriteFile(path, []byte("nonsense\n"), 0o600)
	if _, err := AddPrimaryKey(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "nonsense\n" {
		t.Fatal("bad file was rewritten")
	}
	if _, err := AddPrimaryKey(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}
