package tokens

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

var ctx = context.Background()

const (
	publicURL = "https://id.example.com"
	graphAud  = "https://graph.microsoft.com"
)

// testSealer is a minimal AES-GCM sealer, so these tests do not depend
// on internal/secret.
type testSealer struct{ aead cipher.AEAD }

func newTestSealer(t testing.TB) *testSealer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(plaintext, aad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, aad)), nil
}

func (s *testSealer) Open(sealed string, aad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, errors.New("malformed sealed value")
	}
	n := s.aead.NonceSize()
	return s.aead.Open(nil, raw[:n], raw[n:], aad)
}

// env is one store with one tenant and one app with a known secret.
type env struct {
	st     store.Store
	sealer *testSealer
	iss    *Issuer
	tenant store.Tenant
	app    store.App
	secret string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st := storetest.SQLite(t)
	e := &env{st: st, sealer: newTestSealer(t)}
	e.iss = e.node()
	e.tenant = storetest.NewTenant(t, st)
	e.app, e.secret = newApp(t, st, e.tenant.ID, "Admin scripts", "User.ReadWrite.All", "Group.Read.All")
	return e
}

// node returns another Issuer on the same store and master key, as a
// second server node would have: its key cache starts empty.
func (e *env) node() *Issuer {
	return &Issuer{Keys: e.st, Sealer: e.sealer, PublicURL: publicURL}
}

func newApp(t testing.TB, st store.Store, tenantID, name string, perms ...string) (store.App, string) {
	t.Helper()
	secret, hash, err := NewClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	app := store.App{ID: uuid.NewString(), TenantID: tenantID, AppID: uuid.NewString(), DisplayName: name,
		SecretHash: hash, Permissions: perms, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := st.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	return app, secret
}

// privateKey opens the stored private key of kid, as an attacker who
// stole it (or a test forging tokens) would have it.
func (e *env) privateKey(t testing.TB, tenantID, kid string) *rsa.PrivateKey {
	t.Helper()
	keys, err := e.st.SigningKeys(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.KeyID != kid {
			continue
		}
		der, err := e.sealer.Open(k.PrivateSealed, keyAAD(tenantID, kid))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return priv.(*rsa.PrivateKey)
	}
	t.Fatalf("no key %s in tenant %s", kid, tenantID)
	return nil
}

func (e *env) kid(t testing.TB, tenantID string) string {
	t.Helper()
	k, err := e.iss.SigningKey(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return k.KeyID
}

// claimsFor returns a valid claim set for tenantID, to be edited.
func (e *env) claimsFor(tenantID string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"aud": graphAud, "iss": e.iss.Issuer(tenantID), "iat": now, "nbf": now, "exp": now + 3600,
		"jti": uuid.NewString(), "sub": e.app.ID, "oid": e.app.ID, "tid": tenantID,
		"appid": e.app.AppID, "azp": e.app.AppID, "roles": []string{"User.ReadWrite.All"},
		"idtyp": "app", "ver": "2.0",
	}
}

// sign makes a compact JWS of claims with any key and algorithm jose
// supports, with the given kid header.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any, opts ...func(*jose.SignerOptions)) string {
	t.Helper()
	o := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		o = o.WithHeader("kid", kid)
	}
	for _, f := range opts {
		f(o)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, o)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePart decodes one part (0 header, 1 payload) of a compact JWS.
func decodePart(t testing.TB, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// editPart rewrites one part of a compact JWS, keeping the signature.
func editPart(t testing.TB, raw string, i int, edit func(map[string]any)) string {
	t.Helper()
	m := decodePart(t, raw, i)
	edit(m)
	parts := strings.Split(raw, ".")
	parts[i] = b64JSON(t, m)
	return strings.Join(parts, ".")
}
