// Package apptest runs the whole vakt HTTP surface for tests: app.New over
// a real store behind a loopback server, with a clock the test moves and
// a file outbox the test reads codes from. Test packages build their own
// helpers on top of it.
package apptest

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
)

// Options adjust the server.
type Options struct {
	// Localhost names the server http://localhost:<port> in its public
	// URL instead of its IP address: WebAuthn refuses IP addresses.
	Localhost bool
	// Log receives the server's log (text); nil discards it.
	Log io.Writer
	// Configure changes the configuration before it is validated.
	Configure func(*config.Config)
}

// Server is a running vakt.
type Server struct {
	App    *app.App
	Srv    *httptest.Server
	URL    string // the public URL
	Outbox string // the file outbox's directory
	Tenant store.Tenant

	mu  sync.Mutex
	now time.Time
}

// Password is the initial administrator's and a common test password.
const Password = "a-Strong-Passphrase-42"

// Start runs vakt over st with cheap password hashing, a tenant
// contoso.com with its Global Administrator, and the sign-in engine,
// security info and policies on the test clock (which starts a minute
// from now, after the tenant was created on the real clock).
func Start(t testing.TB, st store.Store, o Options) *Server {
	t.Helper()
	s := &Server{now: time.Now().UTC().Add(time.Minute).Truncate(time.Second)}
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	if o.Localhost {
		cfg.PublicURL = "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s.URL = cfg.PublicURL
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	logTo := o.Log
	if logTo == nil {
		logTo = io.Discard
	}
	s.App = app.New(cfg, st, kr, slog.New(slog.NewTextHandler(logTo, nil)))
	s.Outbox = t.TempDir() + "/outbox"
	ob, err := delivery.NewFileOutbox(s.Outbox)
	if err != nil {
		t.Fatal(err)
	}
	s.App.SecurityInfo.Sender = delivery.NewDevRouter(ob)
	s.App.SignIn.Now, s.App.SecurityInfo.Now, s.App.Policies.Now = s.Now, s.Now, s.Now
	srv.Config.Handler = s.App.Handler()
	srv.Start()
	s.Srv = srv
	t.Cleanup(func() { srv.Close(); s.App.SignInLog.Close(context.Background()) })
	s.Tenant, _, err = s.App.Admin.Init(context.Background(), "contoso.com", "admin@contoso.com", Password)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Now is the test clock.
func (s *Server) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now }

// Advance moves the test clock on.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}
