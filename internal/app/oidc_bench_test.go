package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vakt-id/vakt/internal/store/storetest"
)

// BenchmarkTokenRefresh measures refresh-token grants through the whole
// HTTP token endpoint: client authentication, reuse check, rotation (one
// transaction), a signed access token and ID token.
//
//	go test -run '^$' -bench TokenRefresh -cpu 1 ./internal/app
func BenchmarkTokenRefresh(b *testing.B) {
	for _, be := range storetest.Backends {
		b.Run(be.Name, func(b *testing.B) {
			w, _, conf, secret := oidcWorld(b, be.New)
			ctx := context.Background()
			r := w.relyingParty(ctx, conf.AppID, secret)
			br, _ := w.signedInBrowser("bench@contoso.com")
			stop, verifier, state, _ := w.authorize(br, r)
			tok, err := r.conf.Exchange(ctx, codeFrom(b, stop, state), oauth2.VerifierOption(verifier))
			if err != nil {
				b.Fatal(err)
			}
			refresh := tok.RefreshToken
			endpoint := w.srv.URL + "/" + w.tenant.ID + "/oauth2/v2.0/token"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				resp, err := client.PostForm(endpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh},
					"client_id": {conf.AppID}, "client_secret": {secret}})
				if err != nil {
					b.Fatal(err)
				}
				var out struct {
					RefreshToken string `json:"refresh_token"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || out.RefreshToken == "" {
					b.Fatalf("refresh: %d %v", resp.StatusCode, err)
				}
				refresh = out.RefreshToken
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
		})
	}
}
