package delivery

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	testUser = "vakt"
	testPass = "s3cret-Passw0rd!"
)

// received is one mail accepted by the test server.
type received struct {
	from string
	to   []string
	data []byte
	auth string // username that authenticated, if any
	tls  bool   // whether the mail arrived over TLS
}

// testSMTPServer is a real SMTP server (go-smtp) on 127.0.0.1 that records
// what it accepts.
type testSMTPServer struct {
	addr string
	port int
	mu   sync.Mutex
	msgs []received
}

func (s *testSMTPServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type smtpSession struct {
	srv  *testSMTPServer
	conn *smtp.Conn
	cur  received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != testUser || pass != testPass {
			return smtp.ErrAuthFailed
		}
		ss.cur.auth = user
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.to = append(ss.cur.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.data = data
	_, ss.cur.tls = ss.conn.TLSConnectionState()
	ss.srv.mu.Lock()
	ss.srv.msgs = append(ss.srv.msgs, ss.cur)
	ss.srv.mu.Unlock()
	ss.cur = received{auth: ss.cur.auth}
	return nil
}

func (ss *smtpSession) Reset()        { ss.cur = received{auth: ss.cur.auth} }
func (ss *smtpSession) Logout() error { return nil }

type smtpServerOpts struct {
	tlsConf     *tls.Config // offered via STARTTLS, or used for the listener
	implicitTLS bool
	requireAuth bool
}

func startSMTPServer(t *testing.T, o smtpServerOpts) *testSMTPServer {
	t.Helper()
	ts := &testSMTPServer{}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: ts, conn: c}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	var l net.Listener
	var err error
	if o.implicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", o.tlsConf)
	} else {
		srv.TLSConfig = o.tlsConf
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	ts.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

// selfSigned makes a certificate for 127.0.0.1 and localhost and returns
// the server config and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vakt test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, pool
}

func emailMsg() Message {
	return Message{
		ID:        "0b6f1f0e-6a43-4c5e-9d2b-1f6a1c2e3d4f",
		TenantID:  "t1",
		Channel:   ChannelEmail,
		To:        "alice@contoso.com",
		Locale:    "sv",
		Subject:   "Din kod till Vakt – 493817",
		Text:      "Din engångskod är 493817. Den gäller i 10 minuter.",
		Code:      "493817",
		CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// parseMail decodes the received message and its (possibly
// quoted-printable) body.
func parseMail(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	pm, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse received mail: %v\n%s", err, data)
	}
	var r io.Reader = pm.Body
	if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return pm, string(body)
}

func TestSMTPStartTLSAuth(t *testing.T) {
	tlsConf, pool := selfSigned(t)
	srv := startSMTPServer(t, smtpServerOpts{tlsConf: tlsConf})
	s, err := NewSMTP(SMTPConfig{
		Host: "127.0.0.1", Port: srv.port,
		Username: testUser, Password: testPass,
		From:    "Vakt <no-reply@vakt.example>",
		RootCAs: pool, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := emailMsg()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	r := got[0]
	if r.auth != testUser || !r.tls {
		t.Errorf("authenticated as %q, tls %v; want %q over tls", r.auth, r.tls, testUser)
	}
	if r.from != "no-reply@vakt.example" {
		t.Errorf("MAIL FROM = %q", r.from)
	}
	if len(r.to) != 1 || r.to[0] != m.To {
		t.Errorf("RCPT TO = %v", r.to)
	}
	pm, body := parseMail(t, r.data)
	subj, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subj != m.Subject {
		t.Errorf("Subject = %q, want %q", subj, m.Subject)
	}
	if from, err := pm.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@vakt.example" {
		t.Errorf("From = %q (%v)", pm.Header.Get("From"), err)
	}
	if to := pm.Header.Get("To"); !strings.Contains(to, m.To) {
		t.Errorf("To = %q", to)
	}
	if id := pm.Header.Get("Message-Id"); id != "<"+m.ID+"@vakt.example>" {
		t.Errorf("Message-ID = %q", id)
	}
	if d, err := pm.Header.Date(); err != nil || !d.Equal(m.CreatedAt) {
		t.Errorf("Date = %q (%v)", pm.Header.Get("Date"), err)
	}
	if !strings.HasPrefix(pm.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type = %q", pm.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, m.Code) || !strings.Contains(body, "engångskod") {
		t.Errorf("body %q does not contain the code", body)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	tlsConf, pool := selfSigned(t)
	srv := startSMTPServer(t, smtpServerOpts{tlsConf: tlsConf, implicitTLS: true})
	s, err := NewSMTP(SMTPConfig{
		Host: "127.0.0.1", Port: srv.port, TLS: "tls",
		Username: testUser, Password: testPass,
		From: "no-reply@vakt.example", RootCAs: pool, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), emailMsg()); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.messages(); len(got) != 1 || got[0].auth != testUser {
		t.Fatalf("server got %+v", got)
	}
}

func TestSMTPNoneLoopback(t *testing.T) {
	srv := startSMTPServer(t, smtpServerOpts{})
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: srv.port, TLS: "none", From: "no-reply@vakt.example", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), emailMsg()); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.messages(); len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
}

func TestSMTPConfigRefused(t *testing.T) {
	for name, cfg := range map[string]SMTPConfig{
		"none non-loopback":   {Host: "smtp.example.com", TLS: "none", From: "a@b.example"},
		"none private ip":     {Host: "10.0.0.5", TLS: "none", From: "a@b.example"},
		"none with auth":      {Host: "127.0.0.1", TLS: "none", From: "a@b.example", Username: "u", Password: "p"},
		"unknown mode":        {Host: "smtp.example.com", TLS: "ssl3", From: "a@b.example"},
		"no host":             {From: "a@b.example"},
		"bad from":            {Host: "smtp.example.com", From: "not an address"},
		"port out of range":   {Host: "smtp.example.com", Port: 70000, From: "a@b.example"},
		"none localhost-like": {Host: "localhost.example.com", TLS: "none", From: "a@b.example"},
	} {
		if _, err := NewSMTP(cfg); err == nil {
			t.Errorf("%s: NewSMTP accepted %+v", name, cfg)
		}
	}
	if _, err := NewSMTP(SMTPConfig{Host: "localhost", TLS: "none", From: "a@b.example"}); err != nil {
		t.Errorf("none on localhost refused: %v", err)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	tlsConf, pool := selfSigned(t)
	srv := startSMTPServer(t, smtpServerOpts{tlsConf: tlsConf})
	const wrong = "Wr0ng-Pa55word-xyz"
	s, err := NewSMTP(SMTPConfig{
		Host: "127.0.0.1", Port: srv.port, Username: testUser, Password: wrong,
		From: "no-reply@vakt.example", RootCAs: pool, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := emailMsg()
	err = s.Send(context.Background(), m)
	if err == nil {
		t.Fatal("send with wrong password succeeded")
	}
	t.Logf("wrong password: %v", err)
	if msg := err.Error(); strings.Contains(msg, wrong) || strings.Contains(msg, m.Code) {
		t.Errorf("error leaks a secret: %v", err)
	}
	if len(srv.messages()) != 0 {
		t.Error("message delivered despite failed auth")
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	srv := startSMTPServer(t, smtpServerOpts{}) // no TLSConfig: STARTTLS not offered
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: srv.port, From: "no-reply@vakt.example", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := emailMsg()
	err = s.Send(context.Background(), m)
	if err == nil {
		t.Fatal("send without STARTTLS succeeded")
	}
	t.Logf("no STARTTLS: %v", err)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error does not explain STARTTLS: %v", err)
	}
	if strings.Contains(err.Error(), m.Code) {
		t.Errorf("error leaks the code: %v", err)
	}
	if len(srv.messages()) != 0 {
		t.Error("message delivered in clear text")
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	tlsConf, _ := selfSigned(t)
	srv := startSMTPServer(t, smtpServerOpts{tlsConf: tlsConf})
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: srv.port, From: "no-reply@vakt.example", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), emailMsg()); err == nil {
		t.Fatal("send to a server with an untrusted certificate succeeded")
	}
	if len(srv.messages()) != 0 {
		t.Error("message delivered over unverified TLS")
	}
}

func TestSMTPRejectsNonEmail(t *testing.T) {
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", From: "no-reply@vakt.example"})
	if err != nil {
		t.Fatal(err)
	}
	m := emailMsg()
	m.Channel, m.To = ChannelSMS, "+46701234567"
	if err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("err = %v, want ErrInvalidMessage", err)
	}
	m = emailMsg()
	m.To = "Eve <eve@evil.example>, alice@contoso.com"
	if err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("err = %v, want ErrInvalidMessage", err)
	}
}

func TestScrub(t *testing.T) {
	base := errors.New("server said: hunter2 and 123456")
	err := scrub(base, "hunter2", "123456", "")
	if got := err.Error(); got != "server said: [redacted] and [redacted]" {
		t.Errorf("scrubbed = %q", got)
	}
	if !errors.Is(err, base) {
		t.Error("scrubbed error does not unwrap")
	}
	if scrub(base, "absent") != base {
		t.Error("scrub wrapped an error with nothing to hide")
	}
}
