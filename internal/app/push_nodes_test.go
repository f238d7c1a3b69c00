package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/secret"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/postgres"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

type node struct {
	a   *app.App
	srv *httptest.Server
}

// newNode runs one vakt node over its own connection pool to a shared
// PostgreSQL schema, relaying notifications like `vakt serve` does.
func newNode(t testing.TB, url, schema string, kr *secret.Keyring) node {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // last: after the server and the sign-in log
	a, srv := startApp(t, st, kr)
	ready := make(chan struct{}, 1)
	go a.Authenticator.Run(ctx, func() { ready <- struct{}{} })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("node did not start listening")
	}
	t.Cleanup(cancel)
	return node{a: a, srv: srv}
}

func (n node) call(t *testing.T, tenant, path string, body any, want int) signin.View {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", n.srv.URL+"/"+tenant+"/api/"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s: %d, want %d: %s", path, resp.StatusCode, want, raw)
	}
	var v signin.View
	json.Unmarshal(raw, &v)
	return v
}

// twoNodes runs nodes A and B on one PostgreSQL schema with a user
// nod@contoso.com (per-user MFA enforced) whose authenticator device,
// registered through a sign-in on A, talks to B and streams its
// challenges into got.
func twoNodes(t *testing.T) (A, B node, tn store.Tenant, d *device.Client, got chan push.Challenge) {
	url := storetest.PostgresURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "vakt_nodes_" + hex.EncodeToString(b)
	t.Cleanup(func() { postgres.DropSchema(context.Background(), url, schema) })
	key := make([]byte, 32)
	rand.Read(key)
	kr, _ := secret.NewKeyring(key)
	A = newNode(t, url, schema, kr)
	B = newNode(t, url, schema, kr)
	ctx := context.Background()

	tn, _, err := A.a.Admin.Init(ctx, "contoso.com", "admin@contoso.com", "a-Strong-Passphrase-42")
	if err != nil {
		t.Fatal(err)
	}
	u, err := A.a.Admin.CreateUser(ctx, op, tn.ID, admin.NewUser{UPN: "nod@contoso.com", Password: "Lila-Kor-Flyger-88"})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() signin.View {
		v := A.call(t, tn.ID, "signin", map[string]any{"username": "nod@contoso.com"}, 201)
		return A.call(t, tn.ID, "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200)
	}

	// Register on A; the device talks to B.
	v := signIn()
	reg := A.call(t, tn.ID, "signin/"+v.FlowID+"/register/begin", map[string]any{"option": "push"}, 200)
	link, err := device.ParseLink(reg.Register.Enrolment.Link)
	if err != nil {
		t.Fatal(err)
	}
	link.Server = B.srv.URL
	e, err := device.Enroll(ctx, nil, link, "node device", "cli", "1")
	if err != nil {
		t.Fatal(err)
	}
	d = e.Client
	got = make(chan push.Challenge, 4)
	sctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go d.Stream(sctx, func(c push.Challenge) { got <- c })
	fin := A.call(t, tn.ID, "signin/"+v.FlowID+"/register/finish", nil, 200)
	c := <-got
	if c.Purpose != "test" {
		t.Fatalf("first streamed challenge: %+v", c)
	}
	if _, err := d.Answer(ctx, c, push.Approve, fin.Register.Enrolment.Number); err != nil {
		t.Fatal(err)
	}
	if v = A.call(t, tn.ID, "signin/"+v.FlowID+"/push/poll", map[string]any{"wait": 5}, 200); v.State != signin.StateDone {
		t.Fatalf("registration on A: %+v", v)
	}
	if _, err := A.a.Store.UpdateUser(ctx, tn.ID, u.ID, func(x *store.User) error { x.PerUserMFA = store.PerUserMFAEnforced; return nil }); err != nil {
		t.Fatal(err)
	}
	return A, B, tn, d, got
}

// TestPushTwoNodes: a sign-in started on node A is approved by a device
// streaming from node B; both nodes share one PostgreSQL database and
// learn of each other's challenges and answers by LISTEN/NOTIFY.
func TestPushTwoNodes(t *testing.T) {
	A, _, tn, d, got := twoNodes(t)
	ctx := context.Background()
	signIn := func() signin.View {
		v := A.call(t, tn.ID, "signin", map[string]any{"username": "nod@contoso.com"}, 201)
		return A.call(t, tn.ID, "signin/"+v.FlowID+"/password", map[string]any{"password": "Lila-Kor-Flyger-88"}, 200)
	}

	// The sign-in on A; its push reaches the stream on B by notification.
	v := signIn()
	if v.MFA == nil || v.MFA.Push == nil {
		t.Fatalf("no push: %+v", v)
	}
	var c push.Challenge
	select {
	case c = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("B's stream did not receive the challenge created on A")
	}
	// A long-polls while B takes the answer: A is woken by B's notification.
	res := make(chan signin.View, 1)
	go func() { res <- A.call(t, tn.ID, "signin/"+v.FlowID+"/push/poll", map[string]any{"wait": 20}, 200) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if st, err := d.Answer(ctx, c, push.Approve, v.MFA.Push.Number); err != nil || st != push.Approved {
		t.Fatalf("approve on B: %s %v", st, err)
	}
	select {
	case v = <-res:
	case <-time.After(15 * time.Second):
		t.Fatal("A's long poll did not return")
	}
	if v.State != signin.StateDone || v.Session == nil {
		t.Fatalf("sign-in on A: %+v", v)
	}
	t.Logf("A learned of B's answer %v after it was sent", time.Since(start))
}
