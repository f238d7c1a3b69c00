package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/store/storetest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestOIDCLogsAndMetrics: token requests are logged and counted, and no
// secret, code or token reaches the log.
func TestOIDCLogsAndMetrics(t *testing.T) {
	w, _, app, secret := oidcWorld(t, storetest.Backends[0].New)
	var logs syncBuffer
	w.a.OIDC.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	r := w.relyingParty(ctx, app.AppID, secret)
	b, _ := w.signedInBrowser("gus@contoso.com")
	stop, verifier, state, _ := w.authorize(b, r)
	code := codeFrom(t, stop, state)
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	src := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	w.postToken(w.tenant.ID, "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.AppID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}.Encode())
	w.postToken(w.tenant.ID, "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}, "client_id": {secret},
		"client_secret": {secret + "x"}, "scope": {"https://graph.microsoft.com/.default"}}.Encode())
	out := logs.String()
	for what, s := range map[string]string{"secret": secret, "code": code, "refresh token": tok.RefreshToken, "access token": tok.AccessToken,
		"ID token": tok.Extra("id_token").(string)} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds the %s", what)
		}
	}
	if strings.Count(out, "token issued") != 3 || !strings.Contains(out, "token request refused") {
		t.Errorf("log:\n%s", out)
	}
	mfs, err := w.a.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "vakt_oidc_token_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetValue() + " "
			}
			counted[strings.TrimSpace(key)] = m.GetCounter().GetValue()
		}
	}
	if counted["authorization_code 200"] != 1 || counted["refresh_token 200"] != 1 || counted["client_credentials 200"] != 1 || counted["client_credentials 401"] != 1 {
		t.Errorf("metrics %v", counted)
	}
}
