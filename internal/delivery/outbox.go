package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// OutboxFile is the name of the outbox inside its directory.
const OutboxFile = "outbox.jsonl"

// FileOutbox is a development Sender: it appends each message as one JSON
// line to dir/outbox.jsonl, so codes can be read without any SMS, voice or
// mail provider. The file holds the codes in CLEAR TEXT; that is why it is
// created with mode 0600 in a 0700 directory, and why it must not be used
// in production.
type FileOutbox struct {
	dir string
	mu  sync.Mutex // serialises writers in this process; O_APPEND covers others
}

// NewFileOutbox prepares dir (created with mode 0700 if missing). An
// existing directory that other users can access is refused rather than
// silently exposing codes.
func NewFileOutbox(dir string) (*FileOutbox, error) {
	if dir == "" {
		return nil, errors.New("delivery: outbox directory not set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("delivery: create outbox directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("delivery: outbox directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("delivery: outbox %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("delivery: outbox directory %s has mode %#o; it holds codes in clear text, restrict it to 0700", dir, fi.Mode().Perm())
	}
	return &FileOutbox{dir: dir}, nil
}

// Dir is the directory the outbox writes to.
func (o *FileOutbox) Dir() string { return o.dir }

// Send appends m to the outbox and syncs it to disk before returning, so a
// code is readable the moment the caller tells the user it was sent.
func (o *FileOutbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(m); err != nil {
		return err
	}
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("delivery: encode outbox message %s: %w", m.ID, err)
	}
	line = append(line, '\n')

	o.mu.Lock()
	defer o.mu.Unlock()
	// Opened per write so a developer can delete the file to clear it.
	f, err := os.OpenFile(filepath.Join(o.dir, OutboxFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("delivery: open outbox: %w", err)
	}
	if err := o.write(f, line); err != nil {
		_ = f.Close()
		return fmt.Errorf("delivery: write outbox message %s: %w", m.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("delivery: close outbox: %w", err)
	}
	return nil
}

func (o *FileOutbox) write(f *os.File, line []byte) error {
	// A file made by someone else (or by hand) may be wider than 0600.
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			return err
		}
	}
	// One write call per line: with O_APPEND the line lands whole even if
	// another process appends at the same time.
	if _, err := f.Write(line); err != nil {
		return err
	}
	return f.Sync()
}

// ReadOutbox returns all messages in dir's outbox, oldest first. A missing
// outbox is empty, not an error.
func ReadOutbox(dir string) ([]Message, error) {
	data, err := os.ReadFile(filepath.Join(dir, OutboxFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delivery: read outbox: %w", err)
	}
	var msgs []Message
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("delivery: outbox line %d: %w", n, err)
		}
		msgs = append(msgs, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("delivery: read outbox: %w", err)
	}
	return msgs, nil
}

// LatestTo returns the newest message in dir's outbox addressed to to
// (email addresses compare case-insensitively).
func LatestTo(dir, to string) (Message, bool, error) {
	msgs, err := ReadOutbox(dir)
	if err != nil {
		return Message{}, false, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if sameDestination(msgs[i].To, to) {
			return msgs[i], true, nil
		}
	}
	return Message{}, false, nil
}

func sameDestination(a, b string) bool {
	if strings.Contains(a, "@") {
		return strings.EqualFold(a, b)
	}
	return a == b
}
