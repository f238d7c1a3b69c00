package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFileOutboxConcurrent(t *testing.T) {
	dir := outboxDir(t)
	o, err := NewFileOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := smsMsg()
			m.ID = fmt.Sprintf("msg-%02d", i)
			m.Channel = ChannelSMS
			m.Text = strings.Repeat("long text ", 500) // lines larger than a pipe buffer
			errs <- o.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("outbox has %d messages, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.ID] = true
		if m.Code != "493817" || m.To != "+46701234567" || !m.CreatedAt.Equal(smsMsg().CreatedAt) {
			t.Errorf("message %s did not round-trip: %+v", m.ID, m)
		}
	}
	if len(seen) != n {
		t.Errorf("distinct ids = %d, want %d", len(seen), n)
	}

	fi, err := os.Stat(filepath.Join(dir, OutboxFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox file mode %#o, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode %#o, want 0700", di.Mode().Perm())
	}
}

func TestFileOutboxTightensFileMode(t *testing.T) {
	dir := outboxDir(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, OutboxFile)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	o, err := NewFileOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), emailMsg()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox file mode %#o, want 0600", fi.Mode().Perm())
	}
}

func TestFileOutboxRefusesOpenDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileOutbox(dir); err == nil {
		t.Error("outbox in a world-readable directory accepted")
	}
	if _, err := NewFileOutbox(""); err == nil {
		t.Error("empty outbox directory accepted")
	}
}

func TestLatestTo(t *testing.T) {
	dir := outboxDir(t)
	if msgs, err := ReadOutbox(dir); err != nil || len(msgs) != 0 {
		t.Fatalf("empty outbox: %v, %v", msgs, err)
	}
	o, err := NewFileOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id, to, code string) {
		t.Helper()
		m := emailMsg()
		m.ID, m.To, m.Code = id, to, code
		if strings.HasPrefix(to, "+") {
			m.Channel = ChannelSMS
		}
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	send("1", "alice@contoso.com", "111111")
	send("2", "+46701234567", "222222")
	send("3", "Alice@Contoso.com", "333333")
	send("4", "bob@contoso.com", "444444")

	m, ok, err := LatestTo(dir, "alice@contoso.com")
	if err != nil || !ok || m.ID != "3" || m.Code != "333333" {
		t.Errorf("LatestTo(alice) = %+v %v %v", m, ok, err)
	}
	m, ok, err = LatestTo(dir, "+46701234567")
	if err != nil || !ok || m.Code != "222222" {
		t.Errorf("LatestTo(phone) = %+v %v %v", m, ok, err)
	}
	if _, ok, err := LatestTo(dir, "carol@contoso.com"); ok || err != nil {
		t.Errorf("LatestTo(unknown) = %v %v", ok, err)
	}

	if err := os.WriteFile(filepath.Join(dir, OutboxFile), []byte("{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LatestTo(dir, "alice@contoso.com"); err == nil {
		t.Error("corrupt outbox read without error")
	}
}

func TestFileOutboxValidates(t *testing.T) {
	o, err := NewFileOutbox(outboxDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Message){
		"no id":           func(m *Message) { m.ID = "" },
		"bad channel":     func(m *Message) { m.Channel = "fax" },
		"phone not e164":  func(m *Message) { m.Channel, m.To = ChannelSMS, "0701234567" },
		"email not email": func(m *Message) { m.To = "alice" },
		"subject newline": func(m *Message) { m.Subject = "hi\r\nBcc: eve@evil.example" },
	} {
		m := emailMsg()
		mut(&m)
		if err := o.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, emailMsg()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
}

type recordingSender struct {
	mu   sync.Mutex
	sent []Message
}

func (r *recordingSender) Send(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return nil
}

func TestRouter(t *testing.T) {
	email, sms := &recordingSender{}, &recordingSender{}
	r := &Router{Email: email, SMS: sms}
	e := emailMsg()
	s := smsMsg()
	s.Channel = ChannelSMS
	v := smsMsg()
	if err := r.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), v); !errors.Is(err, ErrNoSender) {
		t.Errorf("voice without sender: err = %v, want ErrNoSender", err)
	}
	bad := e
	bad.Channel = "pigeon"
	if err := r.Send(context.Background(), bad); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("unknown channel: err = %v", err)
	}
	if len(email.sent) != 1 || email.sent[0].ID != e.ID || len(sms.sent) != 1 || sms.sent[0].ID != s.ID {
		t.Errorf("routing: email %v, sms %v", email.sent, sms.sent)
	}
	var _ Sender = r
}

func TestDevRouter(t *testing.T) {
	dir := outboxDir(t)
	o, err := NewFileOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewDevRouter(o)
	s := smsMsg()
	s.Channel, s.ID = ChannelSMS, "sms-1"
	for _, m := range []Message{emailMsg(), s, smsMsg()} {
		if err := r.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := ReadOutbox(dir)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("outbox: %d messages, %v", len(msgs), err)
	}
	for i, ch := range []Channel{ChannelEmail, ChannelSMS, ChannelVoice} {
		if msgs[i].Channel != ch {
			t.Errorf("message %d channel %s, want %s", i, msgs[i].Channel, ch)
		}
	}
}

func TestRedacted(t *testing.T) {
	for to, want := range map[string]string{
		"+46701234534":           "+46 70*****34",
		"+14155552671":           "+1 41******71",
		"+358401234567":          "+358 40*****67",
		"+4791234567":            "+47 91****67",
		"+3541234567":            "+354 *****67", // short national numbers show less
		"+4712345":               "+47 *****",
		"alice@contoso.com":      "a***@contoso.com",
		"a@contoso.com":          "a***@contoso.com",
		"Örjan@exempel.se":       "Ö***@exempel.se",
		"@contoso.com":           "***@contoso.com",
		"0701234567":             "***",
		"":                       "",
		"not a number or email!": "***",
	} {
		if got := maskTo(to); got != want {
			t.Errorf("maskTo(%q) = %q, want %q", to, got, want)
		}
	}

	m := smsMsg()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("sent", "msg", Redacted(m), "raw", m) // raw: Message's own LogValue
	out := buf.String()
	if strings.Contains(out, m.Code) || strings.Contains(out, "Vakt code") || strings.Contains(out, m.To) {
		t.Errorf("log leaks secrets or destination: %s", out)
	}
	for _, want := range []string{`"id":"` + m.ID + `"`, `"channel":"voice"`, `"to":"+46 70*****67"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log %s lacks %s", out, want)
		}
	}
	if s := fmt.Sprintf("%v %+v %s", m, m, m); strings.Contains(s, m.Code) || strings.Contains(s, m.Text) {
		t.Errorf("fmt leaks secrets: %s", s)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.1": true, "::1": true, "[::1]": true, "localhost": true,
		"LOCALHOST.": true, "::ffff:127.0.0.1": true,
		"10.0.0.1": false, "example.com": false, "localhost.example.com": false, "": false, "0.0.0.0": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// outboxDir is a fresh directory for an outbox; t.TempDir itself may be
// readable by others, which NewFileOutbox refuses.
func outboxDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), "outbox")
}
