package app_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/authenticator"
	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/postgres"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

func benchApp(tb testing.TB, st store.Store) (*app.App, *httptest.Server) {
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	return startApp(tb, st, kr)
}

// startApp serves a vakt app over st on a test server.
func startApp(tb testing.TB, st store.Store, kr *secret.Keyring) (*app.App, *httptest.Server) {
	cfg := config.Default()
	cfg.Data = tb.TempDir()
	cfg.Password.Memory, cfg.Password.Time = 8192, 1
	srv := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	a := app.New(cfg, st, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Config.Handler = a.Handler()
	srv.Start()
	tb.Cleanup(func() { srv.Close(); a.SignInLog.Close(context.Background()) })
	return a, srv
}

// benchDevice creates a user with an active authenticator device whose
// requests go to server.
func benchDevice(tb testing.TB, a *app.App, tenantID, server string) (*device.Client, string) {
	ctx := context.Background()
	u, err := a.Admin.CreateUser(ctx, op, tenantID, admin.NewUser{UPN: "bench-" + uuid.NewString()[:8] + "@contoso.com", Password: "Lila-Kor-Flyger-88"})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := a.Authenticator.BeginEnrolment(ctx, tenantID, u.ID, "")
	if err != nil {
		tb.Fatal(err)
	}
	link, _ := device.ParseLink(l.URL)
	link.Server = server
	e, err := device.Enroll(ctx, nil, link, "bench", "cli", "1")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := a.Store.GetPushChallenge(ctx, tenantID, e.Response.TestChallengeID)
	if err != nil {
		tb.Fatal(err)
	}
	cs, _ := e.Client.Pending(ctx, 0)
	if st, err := e.Client.Answer(ctx, cs[0], push.Approve, c.Number); err != nil || st != push.Approved {
		tb.Fatalf("test push: %s %v", st, err)
	}
	return e.Client, u.ID
}

// latency measures from a challenge's creation (its CreatedAt) to its
// arrival on a device's SSE stream, one challenge at a time.
func latency(b *testing.B, create *app.App, tenantID, userID string, d *device.Client) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	got := make(chan time.Time, 1)
	go d.Stream(ctx, func(c push.Challenge) { got <- time.Now() })
	create.Authenticator.Config.PushesPerHour = 0
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N+1; i++ {
		c, err := create.Authenticator.Send(ctx, tenantID, userID, authenticator.SendInput{FlowID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-got:
			if i > 0 { // the first waits for the stream to connect
				lat = append(lat, at.Sub(c.CreatedAt))
			}
		case <-time.After(30 * time.Second):
			b.Fatal("challenge not received")
		}
		if _, err := create.Store.FinishPushChallenge(ctx, tenantID, c.ID, "denied", "", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPushLatency: time from challenge creation to receipt on the
// device's SSE stream. Run with -benchtime=1000x for 1,000 challenges.
// sqlite: one node, in-process notification; postgres: created on node A,
// streamed from node B through LISTEN/NOTIFY.
func BenchmarkPushLatency(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		a, srv := benchApp(b, storetest.SQLite(b))
		tn, _, err := a.Admin.Init(context.Background(), "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
		if err != nil {
			b.Fatal(err)
		}
		d, uid := benchDevice(b, a, tn.ID, srv.URL)
		latency(b, a, tn.ID, uid, d)
	})
	b.Run("postgres-two-nodes", func(b *testing.B) {
		url := storetest.PostgresURL(b)
		rb := make([]byte, 6)
		rand.Read(rb)
		schema := "vakt_bench_" + hex.EncodeToString(rb)
		b.Cleanup(func() { postgres.DropSchema(context.Background(), url, schema) })
		key := make([]byte, 32)
		rand.Read(key)
		kr, _ := secret.NewKeyring(key)
		A := newNode(b, url, schema, kr)
		B := newNode(b, url, schema, kr)
		tn, _, err := A.a.Admin.Init(context.Background(), "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
		if err != nil {
			b.Fatal(err)
		}
		d, uid := benchDevice(b, A.a, tn.ID, B.srv.URL)
		latency(b, A.a, tn.ID, uid, d)
	})
}

// pipeListener serves connections made with net.Pipe: no file
// descriptors, so 10,000 streams fit in one process; what is measured is
// the server's own memory per connection (kernel socket buffers aside).
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// BenchmarkPushStreamMemory: heap and stack per connected SSE device, for
// 10,000 devices on one node (SQLite). Run with -benchtime=1x.
func BenchmarkPushStreamMemory(b *testing.B) {
	const devices = 10_000
	ctx := context.Background()
	st := storetest.SQLite(b)
	a, srv := benchApp(b, st)
	tn, _, err := a.Admin.Init(ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
	if err != nil {
		b.Fatal(err)
	}
	// One key for all devices (a key is 100 bytes; the server keeps none
	// per stream), each its own user, method and device row.
	proto, _ := benchDevice(b, a, tn.ID, srv.URL)
	pub, _ := push.EncodePublicKey(&proto.Key.PublicKey)
	ids := make([]string, devices)
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := st.InTx(ctx, func(tx store.Store) error {
		for i := range ids {
			u := store.User{ID: uuid.NewString(), TenantID: tn.ID, UPN: "d" + uuid.NewString()[:12] + "@contoso.com", AccountEnabled: true,
				PerUserMFA: store.PerUserMFADisabled, UserType: "member", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			m := store.Method{ID: uuid.NewString(), TenantID: tn.ID, UserID: u.ID, Kind: "microsoftAuthenticator", State: store.MethodActive,
				CreatedAt: now, Props: store.MethodProps{DeviceTag: "SoftwareTokenActivated"}}
			if err := tx.CreateMethod(ctx, m); err != nil {
				return err
			}
			ids[i] = uuid.NewString()
			if err := tx.CreatePushDevice(ctx, store.PushDevice{ID: ids[i], TenantID: tn.ID, UserID: u.ID, MethodID: m.ID, PublicKey: pub, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	l := &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
	api := &authenticator.API{Service: a.Authenticator, Heartbeat: time.Hour}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.Serve(w, r, store.Tenant{ID: tn.ID}, "stream")
	})}
	go hs.Serve(l)
	defer hs.Close()
	open := func(id string) net.Conn {
		cl := *proto
		cl.DeviceID = id
		path := "/" + tn.ID + "/api/authenticator/stream"
		auth, err := cl.Sign("GET", path, nil)
		if err != nil {
			b.Fatal(err)
		}
		c, s := net.Pipe()
		l.conns <- s
		go io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: "+auth+"\r\n\r\n")
		br := bufio.NewReaderSize(c, 256)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				b.Fatalf("stream %s: %v", id, err)
			}
			if strings.HasPrefix(line, "HTTP/1.1 ") && !strings.HasPrefix(line, "HTTP/1.1 200") {
				b.Fatalf("stream refused: %s", line)
			}
			if strings.HasPrefix(line, "retry:") {
				br.ReadString('\n')
				return c
			}
		}
	}
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		conns := make([]net.Conn, 0, devices)
		for _, id := range ids {
			conns = append(conns, open(id))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / devices }
		b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heap-B/conn")
		b.ReportMetric(per(after.StackInuse, before.StackInuse), "stack-B/conn")
		b.ReportMetric(float64(runtime.NumGoroutine()-g0)/devices, "goroutines/conn")
		// A heap profile taken while the streams are open shows where the
		// bytes go (net/http's buffers, mostly).
		if f := os.Getenv("VAKT_BENCH_HEAP_PROFILE"); f != "" {
			out, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			pprof.WriteHeapProfile(out)
			out.Close()
		}
		for _, c := range conns {
			c.Close()
		}
	}
}
