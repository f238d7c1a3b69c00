// Package delivery sends one-time codes to users over SMS, voice calls and
// email through pluggable senders (spec P-2.7):
//
//   - SMTP delivers email through a mail server, with mandatory TLS.
//   - Webhook POSTs signed JSON to an SMS or voice provider (or a bridge to
//     one), retrying transient failures.
//   - FileOutbox appends messages to a local JSON-lines file. It is the
//     default, so a new installation shows codes without any provider. It
//     stores codes in clear text and is meant for development only.
//
// A Router picks the sender by channel. Message carries secrets (Text and
// Code): never log it directly; log Redacted(m) instead. Message's own
// LogValue and String are redacted too, as a safety net.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// Channel of a message.
type Channel string

// The channels a code can be sent over.
const (
	ChannelSMS   Channel = "sms"
	ChannelVoice Channel = "voice"
	ChannelEmail Channel = "email"
)

// Message is one code to deliver.
type Message struct {
	ID       string  `json:"id"` // unique id (uuid): idempotency key and callback reference
	TenantID string  `json:"tenantId"`
	Channel  Channel `json:"channel"`
	To       string  `json:"to"`     // E.164 phone number (+46701234567) or email address
	Locale   string  `json:"locale"` // "en" or "sv"
	Subject  string  `json:"subject,omitempty"`
	Text     string  `json:"text"` // the body, or the text to read out on a call
	Code     string  `json:"code"` // the one-time code, for templates and slow read-out
	// For voice: the provider calls, reads Text, and the user confirms by
	// pressing a key; the provider reports the outcome to CallbackURL,
	// signed (see VerifyCallback).
	CallbackURL string    `json:"callbackUrl,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Sender delivers a message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

var (
	// ErrNoSender is returned by Router when no sender is configured for
	// the message's channel.
	ErrNoSender = errors.New("delivery: no sender for channel")
	// ErrInvalidMessage is returned for a message that no sender could
	// deliver (missing id, unknown channel, malformed destination).
	ErrInvalidMessage = errors.New("delivery: invalid message")
	// ErrPermanent marks a failure that retrying will not fix, such as a
	// provider rejecting the request with a 4xx status.
	ErrPermanent = errors.New("delivery: permanent failure")
)

// LogValue makes a Message safe to pass to slog by accident: only the
// redacted form is logged.
func (m Message) LogValue() slog.Value { return Redacted(m) }

// String keeps Text and Code out of fmt output (%v, %s, %+v).
func (m Message) String() string {
	return fmt.Sprintf("delivery.Message{id=%s channel=%s to=%s}", m.ID, m.Channel, maskTo(m.To))
}

// e164 is a phone number in E.164 form: "+", no leading zero, at most 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validate rejects messages that no sender should attempt, so the dev
// outbox catches the same mistakes as the real providers.
func validate(m Message) error {
	if m.ID == "" {
		return fmt.Errorf("%w: missing id", ErrInvalidMessage)
	}
	switch m.Channel {
	case ChannelSMS, ChannelVoice:
		if !e164.MatchString(m.To) {
			return fmt.Errorf("%w: %s destination is not an E.164 number", ErrInvalidMessage, m.Channel)
		}
	case ChannelEmail:
		if !validEmail(m.To) {
			return fmt.Errorf("%w: email destination is not a bare address", ErrInvalidMessage)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			return fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
		}
	default:
		return fmt.Errorf("%w: unknown channel %q", ErrInvalidMessage, m.Channel)
	}
	return nil
}

// validEmail accepts only a bare addr-spec, so a display name or a second
// recipient cannot be smuggled into the To header.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// isLoopbackHost reports whether host (a name or IP literal, optionally in
// brackets) stays on this machine, where plain-text transport is acceptable.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Router sends each message with the sender configured for its channel.
type Router struct {
	Email, SMS, Voice Sender
}

// NewDevRouter routes every channel to the outbox: the default for a new
// installation, which has no providers configured yet.
func NewDevRouter(outbox *FileOutbox) *Router {
	return &Router{Email: outbox, SMS: outbox, Voice: outbox}
}

// Send implements Sender.
func (r *Router) Send(ctx context.Context, m Message) error {
	var s Sender
	switch m.Channel {
	case ChannelEmail:
		s = r.Email
	case ChannelSMS:
		s = r.SMS
	case ChannelVoice:
		s = r.Voice
	default:
		return fmt.Errorf("%w: unknown channel %q", ErrInvalidMessage, m.Channel)
	}
	if s == nil {
		return fmt.Errorf("%w %q", ErrNoSender, m.Channel)
	}
	return s.Send(ctx, m)
}
