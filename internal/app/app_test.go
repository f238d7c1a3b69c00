package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestDefaultDeliveryIsTheOutbox: with no provider configured, codes of
// every channel land in DATA/outbox, so a new installation works at once.
func TestDefaultDeliveryIsTheOutbox(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tn := storetest.NewTenant(t, a.Store)
	u := storetest.NewUser(t, a.Store, tn.ID, "anna@contoso.com")
	for _, c := range []struct {
		ch delivery.Channel
		to string
	}{{delivery.ChannelSMS, "+46701234567"}, {delivery.ChannelVoice, "+46701234568"}, {delivery.ChannelEmail, "anna@example.com"}} {
		if _, err := a.SecurityInfo.SendCode(ctx, tn.ID, securityinfo.CodeRequest{UserID: u.ID, Channel: c.ch, Destination: c.to, Purpose: "mfa"}); err != nil {
			t.Fatal(err)
		}
		m, ok, err := delivery.LatestTo(cfg.OutboxDir(), c.to)
		if err != nil || !ok || len(m.Code) != 6 || m.Channel != c.ch {
			t.Fatalf("%s: %v %v %+v", c.ch, ok, err, m)
		}
	}
}
