package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
)

// newSender builds the code senders from the configuration: SMTP and
// provider webhooks where configured, the file outbox for every channel
// that has none (so a new installation shows codes with no provider).
func newSender(cfg config.Config) (*delivery.Router, error) {
	outbox := &lazyOutbox{dir: cfg.OutboxDir()}
	fallback := func() (delivery.Sender, error) { return outbox, nil }
	r := &delivery.Router{}
	var err error
	if s := cfg.Delivery.SMTP; s.Host != "" {
		sc := delivery.SMTPConfig{Host: s.Host, Port: s.Port, Username: s.Username, From: s.From, TLS: s.TLS}
		if s.PasswordFile != "" {
			if sc.Password, err = config.ReadSecretFile(s.PasswordFile); err != nil {
				return nil, fmt.Errorf("delivery.smtp.passwordFile: %w", err)
			}
		}
		if r.Email, err = delivery.NewSMTP(sc); err != nil {
			return nil, fmt.Errorf("delivery.smtp: %w", err)
		}
	} else if r.Email, err = fallback(); err != nil {
		return nil, err
	}
	hook := func(name string, w config.WebhookConfig) (delivery.Sender, error) {
		if w.URL == "" {
			return fallback()
		}
		secret, err := config.ReadSecretFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("delivery.%s.secretFile: %w", name, err)
		}
		wh, err := delivery.NewWebhook(delivery.WebhookConfig{URL: w.URL, Secret: []byte(secret)})
		if err != nil {
			return nil, fmt.Errorf("delivery.%s: %w", name, err)
		}
		return wh, nil
	}
	if r.SMS, err = hook("sms", cfg.Delivery.SMS); err != nil {
		return nil, err
	}
	if r.Voice, err = hook("voice", cfg.Delivery.Voice); err != nil {
		return nil, err
	}
	return r, nil
}

// lazyOutbox creates the outbox directory on the first message, so that
// admin commands, which send nothing, leave no directory behind.
type lazyOutbox struct {
	dir  string
	once sync.Once
	ob   *delivery.FileOutbox
	err  error
}

func (l *lazyOutbox) Send(ctx context.Context, m delivery.Message) error {
	l.once.Do(func() { l.ob, l.err = delivery.NewFileOutbox(l.dir) })
	if l.err != nil {
		return fmt.Errorf("outbox: %w", l.err)
	}
	return l.ob.Send(ctx, m)
}
