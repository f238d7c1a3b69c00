package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// SMTP TLS modes.
const (
	SMTPStartTLS = "starttls" // plain connect, then STARTTLS, which must succeed
	SMTPTLS      = "tls"      // implicit TLS from the first byte (port 465)
	SMTPNone     = "none"     // no encryption: loopback relays only
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	Host     string
	Port     int // default 587 (starttls), 465 (tls) or 25 (none)
	Username string
	Password string
	From     string // "no-reply@example.com" or "Vakt <no-reply@example.com>"
	// TLS is "starttls" (default; the server must offer it), "tls"
	// (implicit) or "none", which is allowed only for loopback hosts.
	TLS                string
	Timeout            time.Duration // per connection; default 15s
	InsecureSkipVerify bool          // tests only
	RootCAs            *x509.CertPool
}

// SMTP sends email codes as plain-text mail.
type SMTP struct {
	host     string
	from     *mail.Address
	domain   string          // for Message-ID
	opts     []gomail.Option // without auth, which is added per send
	username string
	password string
}

// NewSMTP validates cfg. It does not connect: a mail server that is down
// at start-up should not stop vakt from starting.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("delivery: smtp host not set")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("delivery: smtp from address: %w", err)
	}
	mode := strings.ToLower(cfg.TLS)
	if mode == "" {
		mode = SMTPStartTLS
	}
	port := cfg.Port
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("delivery: smtp port %d out of range", port)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	tlsConf := &tls.Config{
		ServerName:         cfg.Host,
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, documented as tests only
		MinVersion:         tls.VersionTLS12,
	}
	opts := []gomail.Option{
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	switch mode {
	case SMTPStartTLS:
		if port == 0 {
			port = 587
		}
		// Mandatory: a server (or an attacker stripping the capability)
		// that does not offer STARTTLS fails the send instead of getting
		// the code in clear text.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPTLS:
		if port == 0 {
			port = 465
		}
		opts = append(opts, gomail.WithSSL())
	case SMTPNone:
		if !isLoopbackHost(cfg.Host) {
			return nil, fmt.Errorf("delivery: smtp tls %q is only allowed for a loopback host, not %q", SMTPNone, cfg.Host)
		}
		if cfg.Username != "" {
			return nil, errors.New("delivery: smtp authentication requires tls or starttls")
		}
		if port == 0 {
			port = 25
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("delivery: unknown smtp tls mode %q (want starttls, tls or none)", cfg.TLS)
	}
	opts = append(opts, gomail.WithPort(port))
	s := &SMTP{
		host:     cfg.Host,
		from:     from,
		domain:   from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		opts:     opts,
		username: cfg.Username,
		password: cfg.Password,
	}
	// Build a client once so option errors surface now rather than on the
	// first sign-in.
	if _, err := s.client(); err != nil {
		return nil, err
	}
	return s, nil
}

// client builds a go-mail client for one send. go-mail's Client and the
// auth mechanism keep per-connection state, so nothing is shared between
// concurrent sends, and a code mail is rare enough that connection reuse
// is not worth it.
func (s *SMTP) client() (*gomail.Client, error) {
	opts := slices.Clone(s.opts)
	if s.username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&tlsOnlyAuth{
			user: s.username, pass: s.password, host: s.host,
		}))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("delivery: smtp client: %w", err)
	}
	return c, nil
}

// Send delivers an email message. Errors never contain the password or the
// code.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := validate(m); err != nil {
		return err
	}
	if m.Channel != ChannelEmail {
		return fmt.Errorf("%w: smtp cannot send %s", ErrInvalidMessage, m.Channel)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("%w: recipient: %w", ErrInvalidMessage, err)
	}
	msg.Subject(m.Subject)
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	// Derived from the message id so a retried send carries the same
	// Message-ID and receivers can drop the duplicate.
	msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	// RFC 3834: keeps vacation responders from replying to a code mail.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.Locale != "" {
		msg.SetGenHeader("Content-Language", m.Locale)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)

	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return scrub(fmt.Errorf("delivery: smtp send %s: %w", m.ID, err), s.password, m.Code)
	}
	return nil
}

// tlsOnlyAuth is SMTP AUTH PLAIN (preferred) or LOGIN that refuses to run
// on a connection without TLS, so the password never crosses in clear text
// — not even to localhost, which go-mail's own mechanisms would allow.
type tlsOnlyAuth struct {
	user, pass, host string
	next             gosmtp.Auth
}

func (a *tlsOnlyAuth) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("smtp auth refused on a connection without tls")
	}
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.next = gosmtp.PlainAuth("", a.user, a.pass, a.host, false)
	case slices.Contains(server.Auth, "LOGIN"):
		a.next = gosmtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, fmt.Errorf("smtp server offers neither PLAIN nor LOGIN auth (offers %v)", server.Auth)
	}
	return a.next.Start(server)
}

func (a *tlsOnlyAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.next.Next(fromServer, more)
}

// scrubbedError hides secrets in the text of err while keeping it
// unwrappable for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub replaces each non-empty secret in err's text. Servers are not
// expected to echo credentials or message content, but errors end up in
// logs, so this is cheap insurance.
func scrub(err error, secrets ...string) error {
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}
