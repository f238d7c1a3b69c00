package app_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

// keyWorld is vakt on a loopback server whose public URL names it
// localhost: a secure context and a relying party id browsers accept.
type keyWorld struct {
	t      *testing.T
	ctx    context.Context
	a      *app.App
	origin string // the public URL, which is the WebAuthn origin
	base   string // public URL + /tenant
	tenant store.Tenant
	log    *syncBuffer
}

func newKeyWorld(t *testing.T, newStore storetest.NewStore) *keyWorld {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = fmt.Sprintf("http://localhost:%d", srv.Listener.Addr().(*net.TCPAddr).Port)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	w := &keyWorld{t: t, ctx: context.Background(), log: &syncBuffer{}}
	w.a = app.New(cfg, newStore(t), kr, slog.New(slog.NewTextHandler(w.log, nil)))
	srv.Config.Handler = w.a.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); w.a.SignInLog.Close(context.Background()) })
	var err error
	if w.tenant, _, err = w.a.Admin.Init(w.ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42"); err != nil {
		t.Fatal(err)
	}
	// Security defaults would ask for the authenticator app first; this
	// test is about keys.
	if err := w.a.Policies.SetSecurityDefaults(w.ctx, op, w.tenant.ID, false, "testing security keys", true); err != nil {
		t.Fatal(err)
	}
	w.origin = cfg.PublicURL
	w.base = cfg.PublicURL + "/" + w.tenant.ID
	return w
}

func (w *keyWorld) keys(upn string) []store.Method {
	u, err := w.a.Store.UserByUPN(w.ctx, w.tenant.ID, upn)
	if err != nil {
		w.t.Fatal(err)
	}
	ms, err := w.a.Store.ListMethods(w.ctx, w.tenant.ID, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []store.Method
	for _, m := range ms {
		if m.Kind == string(method.KindFido2) && m.State == store.MethodActive {
			out = append(out, m)
		}
	}
	return out
}

func (w *keyWorld) fido2Config(patch string) {
	if _, err := w.a.Policies.UpdateMethodConfig(w.ctx, op, w.tenant.ID, "Fido2", authpolicy.Patch{JSON: []byte(patch)}); err != nil {
		w.t.Fatal(err)
	}
}
