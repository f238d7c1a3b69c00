package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const keyFileHeader = `# vakt master keys: one base64 AES-256 key per line, the first is primary.
# Keep this file private and backed up: values sealed with a key cannot be
# read without it. Rotate with "vakt key rotate"; do not delete old keys
# while data sealed with them remains.
`

// LoadKeyFile reads a master key file. Format errors name the line. A
// missing file yields an error satisfying errors.Is(err, fs.ErrNotExist).
func LoadKeyFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	keys, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	return NewKeyring(keys...)
}

// parseKeyFile decodes the keys of a key file, in order.
func parseKeyFile(data []byte) ([][]byte, error) {
	var keys [][]byte
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Never echo the line: it may be (most of) a key.
		key, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not a base64 key", n)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("line %d: key is %d bytes, want %d", n, len(key), KeySize)
		}
		kid := KeyID(key)
		if prev, dup := seen[kid]; dup {
			return nil, fmt.Errorf("line %d: same key as line %d", n, prev)
		}
		seen[kid] = n
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

func newKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: generate key: %w", err)
	}
	return key, nil
}

// GenerateKeyFile creates a key file holding one new random key, with
// mode 0600. It never overwrites: if path exists the error satisfies
// errors.Is(err, fs.ErrExist). The parent directory must exist.
func GenerateKeyFile(path string) (*Keyring, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	kr, err := NewKeyring(key)
	if err != nil {
		return nil, err
	}
	content := keyFileHeader + base64.StdEncoding.EncodeToString(key) + "\n"

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	// From here on a failure must not leave a half-written key file that
	// a later start would load (or refuse to replace).
	fail := func(err error) (*Keyring, error) {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	// The umask may have narrowed the mode further; make it exactly 0600.
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.WriteString(content); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	// Losing the key file in a crash would make sealed data unreadable,
	// so make its directory entry durable too.
	syncDir(filepath.Dir(path))
	return kr, nil
}

// LoadOrGenerate loads the key file at path, creating it with a new key
// when it does not exist (first start of an embedded installation).
// created reports whether a new file was written.
func LoadOrGenerate(path string) (kr *Keyring, created bool, err error) {
	kr, err = LoadKeyFile(path)
	if err == nil {
		return kr, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	kr, err = GenerateKeyFile(path)
	if err == nil {
		return kr, true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and create.
		kr, err = LoadKeyFile(path)
		return kr, false, err
	}
	return nil, false, err
}

// AddPrimaryKey adds a new random key to an existing key file as its new
// primary and returns the resulting ring. The old keys stay, so values
// sealed with them still open; new seals use the new key. The new key is
// inserted before the first key line (leading comments stay on top) and
// the file is replaced atomically (temporary file with mode 0600, fsync,
// rename), so a crash leaves either the old or the new file.
//
// It does not lock the file: run one rotation at a time, and restart or
// reload running servers so they see the new key.
func AddPrimaryKey(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	keys, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	kr, err := NewKeyring(append([][]byte{key}, keys...)...)
	if err != nil {
		return nil, err
	}

	// Insert before the first key line, keeping everything else verbatim.
	lines := bytes.SplitAfter(data, []byte("\n"))
	var out bytes.Buffer
	inserted := false
	for _, line := range lines {
		t := bytes.TrimSpace(line)
		if !inserted && len(t) > 0 && t[0] != '#' {
			out.WriteString(base64.StdEncoding.EncodeToString(key))
			out.WriteByte('\n')
			inserted = true
		}
		out.Write(line)
	}
	if err := writeFileAtomic(path, out.Bytes()); err != nil {
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	return kr, nil
}

// writeFileAtomic replaces path with data through a 0600 temporary file
// in the same directory and a rename.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

// syncDir fsyncs a directory so a new or renamed entry survives a crash.
// It is best effort: the file itself is already synced and in place, and
// some platforms cannot sync directories, so reporting a failure here
// would only describe a write that did in fact happen as failed.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
