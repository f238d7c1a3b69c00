// Package tokens issues and verifies vakt's access tokens and serves the
// OAuth 2.0 endpoints that hand them out.
//
// Admin scripts authenticate with the client-credentials grant and get an
// app-only JWT shaped like a Microsoft identity platform v2.0 token (tid,
// oid, appid, roles, idtyp=app, …), signed RS256 with a per-tenant key.
// Keys live in the store with their private half sealed by a Sealer (the
// master keyring); the public halves are published as the tenant's JWKS.
//
// Nothing in this package logs a client secret, a token or key material.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
)

const (
	// DefaultLifetime is the lifetime of an access token when
	// Issuer.Lifetime is zero; Entra ID issues app tokens for 60–90 min.
	DefaultLifetime = time.Hour
	// MaxTokenSize bounds what Verify will parse.
	MaxTokenSize = 16 << 10
	// Leeway absorbs clock skew between the issuing and the checking node.
	Leeway = 60 * time.Second

	algorithm = jose.RS256
	rsaBits   = 2048

	// cacheTTL bounds how long a node keeps using its view of a tenant's
	// keys, so that a rotation or retirement done on another node is seen.
	cacheTTL = 5 * time.Minute
	// minRefresh limits reloads triggered by tokens naming an unknown kid
	// (possibly a key just made on another node): forged kids cannot turn
	// every request into a store query.
	minRefresh = 10 * time.Second
	// maxTenantIDLen caps the untrusted tid before it reaches the store.
	maxTenantIDLen = 128
)

// ErrInvalidToken is wrapped by every error Verify returns.
var ErrInvalidToken = errors.New("invalid token")

// Sealer encrypts private keys at rest; internal/secret's Keyring is one.
// aad binds a sealed value to its place so it cannot be swapped for another.
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Issuer signs and verifies access tokens with per-tenant RS256 keys.
// The exported fields must be set before first use and not changed after;
// an Issuer is safe for concurrent use and must not be copied after use.
type Issuer struct {
	Keys      store.Keys
	Sealer    Sealer
	PublicURL string        // base URL of the service, no trailing slash
	Lifetime  time.Duration // token lifetime; DefaultLifetime when zero
	Now       func() time.Time

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenantKeys is the cached, parsed view of one tenant's keys. Its mutex
// also serialises key creation, so one node never races itself.
type tenantKeys struct {
	mu       sync.Mutex
	loadedAt time.Time // wall clock of the last load; zero when never loaded
	keys     []*signingKey
}

type signingKey struct {
	rec    store.SigningKey
	pub    *rsa.PublicKey
	jwk    jose.JSONWebKey // public only
	signer jose.Signer     // nil until the private key is first needed
	priv   *rsa.PrivateKey // set with signer
}

// Claims are the verified claims of an access token.
type Claims struct {
	TenantID  string
	AppID     string
	ObjectID  string
	Subject   string
	Issuer    string
	Roles     []string
	ExpiresAt time.Time
	Audience  []string
	IDType    string
}

// tokenClaims is the payload IssueAppToken signs.
type tokenClaims struct {
	Audience       string   `json:"aud"`
	Issuer         string   `json:"iss"`
	IssuedAt       int64    `json:"iat"`
	NotBefore      int64    `json:"nbf"`
	Expiry         int64    `json:"exp"`
	ID             string   `json:"jti"`
	Subject        string   `json:"sub"`
	ObjectID       string   `json:"oid"`
	TenantID       string   `json:"tid"`
	AppID          string   `json:"appid"`
	AuthorizedBy   string   `json:"azp"`
	AppDisplayName string   `json:"app_displayname"`
	Roles          []string `json:"roles"`
	IDType         string   `json:"idtyp"`
	Version        string   `json:"ver"`
}

// vaktClaims are the non-registered claims Verify reads.
type vaktClaims struct {
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid"`
	ObjectID string   `json:"oid"`
	Roles    []string `json:"roles"`
	IDType   string   `json:"idtyp"`
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Issuer) lifetime() time.Duration {
	if i.Lifetime > 0 {
		return i.Lifetime
	}
	return DefaultLifetime
}

// Issuer returns the iss claim of the tenant's tokens.
func (i *Issuer) Issuer(tenantID string) string {
	return i.PublicURL + "/" + tenantID + "/v2.0"
}

// entry returns the tenant's cache entry, creating an empty one.
func (i *Issuer) entry(tenantID string) *tenantKeys {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.tenants == nil {
		i.tenants = make(map[string]*tenantKeys)
	}
	tk := i.tenants[tenantID]
	if tk == nil {
		tk = &tenantKeys{}
		i.tenants[tenantID] = tk
	}
	return tk
}

// forget drops an entry that turned out to hold no keys, so that tokens
// naming made-up tenants leave nothing behind in the cache.
func (i *Issuer) forget(tenantID string, tk *tenantKeys) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.tenants[tenantID] == tk {
		delete(i.tenants, tenantID)
	}
}

func (tk *tenantKeys) olderThan(d time.Duration) bool {
	return tk.loadedAt.IsZero() || time.Since(tk.loadedAt) > d
}

// load replaces tk's keys with the store's; tk.mu must be held. Signers
// already built are kept so that private keys are not opened again. A
// signingKey is not changed once published in tk.keys, except for its
// signer being set (under tk.mu) before anyone outside the lock reads it.
func (i *Issuer) load(ctx context.Context, tk *tenantKeys, tenantID string) error {
	recs, err := i.Keys.SigningKeys(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("tokens: load signing keys: %w", err)
	}
	old := make(map[string]*signingKey, len(tk.keys))
	for _, k := range tk.keys {
		old[k.rec.KeyID] = k
	}
	keys := make([]*signingKey, 0, len(recs))
	for _, rec := range recs {
		if rec.Algorithm != string(algorithm) {
			continue // not ours to use; nothing else is ever written
		}
		if k := old[rec.KeyID]; k != nil && k.rec.PrivateSealed == rec.PrivateSealed {
			// A copy: callers may still read the old one without the lock.
			nk := *k
			nk.rec = rec // NotAfter may have been set since
			keys = append(keys, &nk)
			continue
		}
		k, err := parseSigningKey(rec)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	tk.keys, tk.loadedAt = keys, time.Now()
	return nil
}

func parseSigningKey(rec store.SigningKey) (*signingKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(rec.PublicJWK); err != nil {
		return nil, fmt.Errorf("tokens: signing key %s: public jwk: %w", rec.KeyID, err)
	}
	pub, ok := jwk.Key.(*rsa.PublicKey)
	if !ok || jwk.KeyID != rec.KeyID || pub.N.BitLen() < rsaBits {
		return nil, fmt.Errorf("tokens: signing key %s: public jwk is not a %d-bit RSA public key with that kid", rec.KeyID, rsaBits)
	}
	return &signingKey{
		rec: rec,
		pub: pub,
		jwk: jose.JSONWebKey{Key: pub, KeyID: rec.KeyID, Algorithm: string(algorithm), Use: "sig"},
	}, nil
}

// published reports whether tokens signed with k are still accepted.
func (k *signingKey) published(now time.Time) bool {
	return k.rec.NotAfter == nil || now.Before(*k.rec.NotAfter)
}

// current returns the newest key that has not been rotated out.
// When two nodes raced to create a tenant's first key, the newest wins.
func (tk *tenantKeys) current() *signingKey {
	for _, k := range tk.keys {
		if k.rec.NotAfter == nil {
			return k
		}
	}
	return nil
}

func (tk *tenantKeys) find(kid string, now time.Time) *signingKey {
	for _, k := range tk.keys {
		if k.rec.KeyID == kid && k.published(now) {
			return k
		}
	}
	return nil
}

func keyAAD(tenantID, kid string) []byte {
	return []byte("signing-key:" + tenantID + ":" + kid)
}

// newSigningKey generates a key pair and returns it ready to store.
func (i *Issuer) newSigningKey(tenantID string) (store.SigningKey, *rsa.PrivateKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return store.SigningKey{}, nil, fmt.Errorf("tokens: generate signing key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return store.SigningKey{}, nil, fmt.Errorf("tokens: marshal public key: %w", err)
	}
	sum := sha256.Sum256(pubDER)
	kid := base64.RawURLEncoding.EncodeToString(sum[:16])

	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, nil, fmt.Errorf("tokens: marshal private key: %w", err)
	}
	sealed, err := i.Sealer.Seal(der, keyAAD(tenantID, kid))
	clear(der)
	if err != nil {
		return store.SigningKey{}, nil, fmt.Errorf("tokens: seal signing key: %w", err)
	}
	jwk, err := (&jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(algorithm), Use: "sig"}).MarshalJSON()
	if err != nil {
		return store.SigningKey{}, nil, fmt.Errorf("tokens: marshal public jwk: %w", err)
	}
	return store.SigningKey{
		TenantID:      tenantID,
		KeyID:         kid,
		Algorithm:     string(algorithm),
		PrivateSealed: sealed,
		PublicJWK:     jwk,
		CreatedAt:     i.now().UTC(),
	}, priv, nil
}

// create stores a new current key for the tenant and reloads tk; tk.mu
// must be held.
func (i *Issuer) create(ctx context.Context, tk *tenantKeys, tenantID string) (string, error) {
	rec, _, err := i.newSigningKey(tenantID)
	if err != nil {
		return "", err
	}
	if err := i.Keys.AddSigningKey(ctx, rec); err != nil {
		return "", fmt.Errorf("tokens: add signing key: %w", err)
	}
	// Reload rather than append: another node may have added a key too.
	if err := i.load(ctx, tk, tenantID); err != nil {
		return "", err
	}
	return rec.KeyID, nil
}

// current returns the tenant's current key, creating one when the tenant
// has none, with its signer built when sign is set.
func (i *Issuer) current(ctx context.Context, tenantID string, sign bool) (*signingKey, error) {
	if tenantID == "" {
		return nil, errors.New("tokens: empty tenant id")
	}
	tk := i.entry(tenantID)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.olderThan(cacheTTL) {
		if err := i.load(ctx, tk, tenantID); err != nil {
			return nil, err
		}
	}
	k := tk.current()
	if k == nil {
		if _, err := i.create(ctx, tk, tenantID); err != nil {
			return nil, err
		}
		if k = tk.current(); k == nil {
			return nil, errors.New("tokens: new signing key not found after adding it")
		}
	}
	if sign && k.signer == nil {
		s, priv, err := i.openSigner(k)
		if err != nil {
			return nil, err
		}
		k.signer, k.priv = s, priv
	}
	return k, nil
}

// openSigner unseals a key's private half and checks it matches the
// published public half before signing anything with it.
func (i *Issuer) openSigner(k *signingKey) (jose.Signer, *rsa.PrivateKey, error) {
	der, err := i.Sealer.Open(k.rec.PrivateSealed, keyAAD(k.rec.TenantID, k.rec.KeyID))
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: open signing key %s: %w", k.rec.KeyID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: parse signing key %s: %w", k.rec.KeyID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(k.pub) {
		return nil, nil, fmt.Errorf("tokens: signing key %s does not match its public key", k.rec.KeyID)
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: algorithm, Key: jose.JSONWebKey{Key: priv, KeyID: k.rec.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: signer for key %s: %w", k.rec.KeyID, err)
	}
	return s, priv, nil
}

// SigningKey returns the tenant's current signing key (its private half
// still sealed), creating the tenant's first key if it has none.
func (i *Issuer) SigningKey(ctx context.Context, tenantID string) (store.SigningKey, error) {
	k, err := i.current(ctx, tenantID, false)
	if err != nil {
		return store.SigningKey{}, err
	}
	return k.rec, nil
}

// Rotate makes a new current signing key and returns its kid. Older keys
// stay published so tokens they signed keep verifying until they expire;
// a key stops being published once its NotAfter has passed.
func (i *Issuer) Rotate(ctx context.Context, tenantID string) (kid string, err error) {
	if tenantID == "" {
		return "", errors.New("tokens: empty tenant id")
	}
	tk := i.entry(tenantID)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return i.create(ctx, tk, tenantID)
}

// IssueAppToken signs an app-only access token for app, valid for
// audience. expiresIn is the lifetime in seconds.
func (i *Issuer) IssueAppToken(ctx context.Context, tenantID string, app store.App, audience string) (token string, expiresIn int, err error) {
	switch {
	case app.ID == "" || app.AppID == "":
		return "", 0, errors.New("tokens: app without object id or app id")
	case app.TenantID != "" && app.TenantID != tenantID:
		return "", 0, errors.New("tokens: app belongs to another tenant")
	case audience == "":
		return "", 0, errors.New("tokens: empty audience")
	}
	k, err := i.current(ctx, tenantID, true)
	if err != nil {
		return "", 0, err
	}
	now := i.now()
	life := i.lifetime()
	roles := app.Permissions
	if roles == nil {
		roles = []string{} // always an array: clients index into it
	}
	payload, err := json.Marshal(tokenClaims{
		Audience:       audience,
		Issuer:         i.Issuer(tenantID),
		IssuedAt:       now.Unix(),
		NotBefore:      now.Unix(),
		Expiry:         now.Add(life).Unix(),
		ID:             uuid.NewString(),
		Subject:        app.ID,
		ObjectID:       app.ID,
		TenantID:       tenantID,
		AppID:          app.AppID,
		AuthorizedBy:   app.AppID,
		AppDisplayName: app.DisplayName,
		Roles:          roles,
		IDType:         "app",
		Version:        "2.0",
	})
	if err != nil {
		return "", 0, fmt.Errorf("tokens: marshal claims: %w", err)
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", 0, fmt.Errorf("tokens: sign: %w", err)
	}
	token, err = jws.CompactSerialize()
	if err != nil {
		return "", 0, fmt.Errorf("tokens: serialize: %w", err)
	}
	return token, int(life / time.Second), nil
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, reason)
}

// publicKey finds the published key kid of tenantID, reloading the
// tenant's keys when the cache is old or (at most every minRefresh) when
// the kid is unknown. It never creates keys: the tenant id is untrusted.
func (i *Issuer) publicKey(ctx context.Context, tenantID, kid string) (*rsa.PublicKey, error) {
	tk := i.entry(tenantID)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.olderThan(cacheTTL) {
		if err := i.load(ctx, tk, tenantID); err != nil {
			i.forget(tenantID, tk)
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	now := i.now()
	k := tk.find(kid, now)
	if k == nil && tk.olderThan(minRefresh) {
		if err := i.load(ctx, tk, tenantID); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		k = tk.find(kid, now)
	}
	if len(tk.keys) == 0 {
		i.forget(tenantID, tk)
	}
	if k == nil {
		return nil, invalid("unknown signing key")
	}
	return k.pub, nil
}

// Verify checks a token issued by any tenant of this service and returns
// its claims. Every error wraps ErrInvalidToken; when the tenant's keys
// could not be loaded it also wraps the store's error. The tid and kid that select the key are read before the
// signature is checked, but only ever select among that tenant's own keys,
// and iss must then match the tid: a token cannot claim a tenant whose key
// did not sign it. Callers must still check Claims.TenantID against the
// tenant they serve, and the roles against what the request needs.
func (i *Issuer) Verify(ctx context.Context, raw, audience string) (Claims, error) {
	if len(raw) > MaxTokenSize {
		return Claims{}, invalid("token too large")
	}
	if audience == "" {
		return Claims{}, invalid("no audience to check")
	}
	// Only RS256 parses: none, HS* (the key-confusion attack) and every
	// other algorithm are refused here, before any key is looked up.
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{algorithm})
	if errors.As(err, new(*jose.ErrUnexpectedSignatureAlgorithm)) {
		return Claims{}, invalid("algorithm not accepted")
	}
	if err != nil {
		return Claims{}, invalid("malformed token")
	}
	if len(tok.Headers) != 1 || tok.Headers[0].Algorithm != string(algorithm) {
		return Claims{}, invalid("unexpected header")
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return Claims{}, invalid("missing kid")
	}
	// The claims are parsed before the signature is checked because tid
	// picks the keys; nothing in them is used until the signature over
	// these very payload bytes has verified.
	var std jwt.Claims
	var own vaktClaims
	if err := tok.UnsafeClaimsWithoutVerification(&std, &own); err != nil {
		return Claims{}, invalid("malformed claims")
	}
	tid := own.TenantID
	if tid == "" || len(tid) > maxTenantIDLen {
		return Claims{}, invalid("missing or malformed tid")
	}
	pub, err := i.publicKey(ctx, tid, kid)
	if err != nil {
		return Claims{}, err
	}
	if err := tok.Claims(pub); err != nil {
		return Claims{}, invalid("bad signature")
	}
	if std.Expiry == nil {
		return Claims{}, invalid("missing exp")
	}
	err = std.ValidateWithLeeway(jwt.Expected{
		Issuer:      i.Issuer(tid),
		AnyAudience: jwt.Audience{audience},
		Time:        i.now(),
	}, Leeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return Claims{}, invalid("wrong issuer")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return Claims{}, invalid("wrong audience")
	case errors.Is(err, jwt.ErrExpired):
		return Claims{}, invalid("expired")
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return Claims{}, invalid("not yet valid")
	case err != nil:
		return Claims{}, invalid("claims rejected")
	}
	return Claims{
		TenantID:  tid,
		AppID:     own.AppID,
		ObjectID:  own.ObjectID,
		Subject:   std.Subject,
		Issuer:    std.Issuer,
		Roles:     own.Roles,
		ExpiresAt: std.Expiry.Time(),
		Audience:  []string(std.Audience),
		IDType:    own.IDType,
	}, nil
}

// JWKS returns the tenant's published public keys as a JSON Web Key Set,
// creating the tenant's first key if it has none so the set is never empty.
func (i *Issuer) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	if _, err := i.current(ctx, tenantID, false); err != nil {
		return nil, err
	}
	tk := i.entry(tenantID)
	tk.mu.Lock()
	now := i.now()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(tk.keys))}
	for _, k := range tk.keys {
		if k.published(now) {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	tk.mu.Unlock()
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("tokens: marshal jwks: %w", err)
	}
	return b, nil
}
