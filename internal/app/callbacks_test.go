package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// TestVoiceCall: vakt asks the provider (a webhook) to call; the provider
// reports the user's answer to vakt's signed callback, which the sign-in
// can then read. Unsigned or tampered reports are refused.
func TestVoiceCall(t *testing.T) {
	ctx := context.Background()
	secretFile := filepath.Join(t.TempDir(), "voice.secret")
	os.WriteFile(secretFile, []byte("a-voice-provider-shared-secret"), 0o600)
	calls := make(chan delivery.Message, 1)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := delivery.VerifyCallback([]byte("a-voice-provider-shared-secret"), r, body, time.Now()); err != nil {
			t.Errorf("vakt's request is not signed: %v", err)
		}
		var m delivery.Message
		json.Unmarshal(body, &m)
		calls <- m
	}))
	defer provider.Close()

	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Delivery.Voice = config.WebhookConfig{URL: provider.URL, SecretFile: secretFile}
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	st := storetest.SQLite(t)
	a := app.New(cfg, st, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	wh, err := delivery.NewWebhook(delivery.WebhookConfig{URL: provider.URL, Secret: []byte("a-voice-provider-shared-secret")})
	if err != nil {
		t.Fatal(err)
	}
	a.SecurityInfo.Sender = &delivery.Router{Voice: wh}
	srv.Config.Handler = a.Handler()
	srv.Start()
	defer srv.Close()

	tn := storetest.NewTenant(t, st)
	u := storetest.NewUser(t, st, tn.ID, "anna@contoso.com")
	id, err := a.SecurityInfo.SendCode(ctx, tn.ID, securityinfo.CodeRequest{UserID: u.ID, Channel: delivery.ChannelVoice,
		Destination: "+46701234567", Purpose: "mfa"})
	if err != nil {
		t.Fatal(err)
	}
	call := <-calls
	if call.ID != id || call.CallbackURL != cfg.PublicURL+"/"+tn.ID+"/api/callbacks/voice" {
		t.Fatalf("call %+v", call)
	}
	post := func(body []byte, sign bool) int {
		req, _ := http.NewRequest("POST", call.CallbackURL, bytes.NewReader(body))
		now := time.Now()
		if sign {
			req.Header.Set(delivery.HeaderTimestamp, itoa(now.Unix()))
			req.Header.Set(delivery.HeaderSignature, delivery.Sign([]byte("a-voice-provider-shared-secret"), now, body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := []byte(`{"id":"` + id + `","outcome":"approved"}`)
	if code := post(body, false); code != 401 {
		t.Fatalf("unsigned callback: %d", code)
	}
	if code := post([]byte(`{"id":"`+id+`","outcome":"approved","x":1}`), true); code != 400 {
		t.Fatalf("unknown field: %d", code)
	}
	if o, _ := a.SecurityInfo.CallOutcome(ctx, tn.ID, id); o != "" {
		t.Fatal("a refused callback recorded an outcome")
	}
	if code := post(body, true); code != 204 {
		t.Fatalf("signed callback: %d", code)
	}
	if code := post(body, true); code != 409 {
		t.Fatalf("second callback: %d", code)
	}
	if o, _ := a.SecurityInfo.CallOutcome(ctx, tn.ID, id); o != securityinfo.OutcomeApproved {
		t.Fatalf("outcome %q", o)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
