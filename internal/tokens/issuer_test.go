package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/store/storetest"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	e := newEnv(t)
	before := time.Now()
	raw, expiresIn, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	if expiresIn != 3600 {
		t.Errorf("expiresIn = %d", expiresIn)
	}

	h := decodePart(t, raw, 0)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != e.kid(t, e.tenant.ID) || len(h) != 3 {
		t.Errorf("header = %v", h)
	}
	p := decodePart(t, raw, 1)
	want := map[string]any{
		"aud": graphAud, "iss": publicURL + "/" + e.tenant.ID + "/v2.0", "sub": e.app.ID, "oid": e.app.ID,
		"tid": e.tenant.ID, "appid": e.app.AppID, "azp": e.app.AppID, "app_displayname": "Admin scripts",
		"idtyp": "app", "ver": "2.0",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("claim %s = %v, want %v", k, p[k], v)
		}
	}
	if r, _ := json.Marshal(p["roles"]); string(r) != `["User.ReadWrite.All","Group.Read.All"]` {
		t.Errorf("roles = %s", r)
	}
	iat, nbf, exp := p["iat"].(float64), p["nbf"].(float64), p["exp"].(float64)
	if iat != nbf || exp-iat != 3600 || iat < float64(before.Unix()) {
		t.Errorf("iat %v nbf %v exp %v", iat, nbf, exp)
	}
	if _, err := uuid.Parse(p["jti"].(string)); err != nil {
		t.Errorf("jti: %v", err)
	}

	c, err := e.iss.Verify(ctx, raw, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != e.tenant.ID || c.AppID != e.app.AppID || c.ObjectID != e.app.ID || c.Subject != e.app.ID ||
		c.Issuer != e.iss.Issuer(e.tenant.ID) || c.IDType != "app" || !slices.Equal(c.Audience, []string{graphAud}) ||
		!slices.Equal(c.Roles, e.app.Permissions) || c.ExpiresAt.Unix() != int64(exp) {
		t.Errorf("claims = %+v", c)
	}

	// Another node (fresh cache, same store and master key) accepts it.
	if _, err := e.node().Verify(ctx, raw, graphAud); err != nil {
		t.Errorf("other node: %v", err)
	}
}

func TestIssueEmptyRolesIsArray(t *testing.T) {
	e := newEnv(t)
	app, _ := newApp(t, e.st, e.tenant.ID, "No permissions")
	app.Permissions = nil
	raw, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := json.Marshal(decodePart(t, raw, 1)["roles"]); string(r) != "[]" {
		t.Errorf("roles = %s, want []", r)
	}
	c, err := e.iss.Verify(ctx, raw, graphAud)
	if err != nil || len(c.Roles) != 0 {
		t.Errorf("Verify = %+v, %v", c, err)
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	other := storetest.NewTenant(t, e.st)
	noID := e.app
	noID.AppID = ""
	for name, c := range map[string]struct {
		tenant   string
		app      store.App
		audience string
	}{
		"app of another tenant": {other.ID, e.app, graphAud},
		"no audience":           {e.tenant.ID, e.app, ""},
		"no app id":             {e.tenant.ID, noID, graphAud},
		"no tenant":             {"", store.App{ID: "x", AppID: "y"}, graphAud},
	} {
		if _, _, err := e.iss.IssueAppToken(ctx, c.tenant, c.app, c.audience); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	a := e.tenant.ID
	b := storetest.NewTenant(t, e.st).ID
	appB, _ := newApp(t, e.st, b, "Tenant B scripts", "Directory.ReadWrite.All")
	kidA, kidB := e.kid(t, a), e.kid(t, b)
	privA, privB := e.privateKey(t, a, kidA), e.privateKey(t, b, kidB)

	valid, _, err := e.iss.IssueAppToken(ctx, a, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	tokB, _, err := e.iss.IssueAppToken(ctx, b, appB, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	// A token forged with the right key verifies: the cases below fail
	// for the reason they name, not because sign() is broken.
	if _, err := e.iss.Verify(ctx, sign(t, jose.RS256, privA, kidA, e.claimsFor(a)), graphAud); err != nil {
		t.Fatalf("control token: %v", err)
	}

	with := func(edit func(m map[string]any)) map[string]any {
		m := e.claimsFor(a)
		edit(m)
		return m
	}
	now := time.Now().Unix()
	pubDER, _ := x509.MarshalPKIXPublicKey(&privA.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	jwksA, err := e.iss.JWKS(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)

	cases := map[string]string{
		// Tenant B's token relabelled as tenant A's: A's keys are used,
		// B's kid is not among them.
		"other tenant, tid edited": editPart(t, tokB, 1, func(m map[string]any) {
			m["tid"], m["iss"] = a, e.iss.Issuer(a)
		}),
		// The same with A's kid: the signature (by B's key) fails.
		"other tenant, tid and kid edited": editPart(t,
			editPart(t, tokB, 1, func(m map[string]any) { m["tid"], m["iss"] = a, e.iss.Issuer(a) }),
			0, func(m map[string]any) { m["kid"] = kidA }),
		"signed with other tenant's key as A": sign(t, jose.RS256, privB, kidA, e.claimsFor(a)),
		"payload edited":                      editPart(t, valid, 1, func(m map[string]any) { m["roles"] = []string{"Directory.ReadWrite.All"} }),
		"alg none":                            b64JSON(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kidA}) + "." + b64JSON(t, e.claimsFor(a)) + ".",
		"alg None":                            b64JSON(t, map[string]any{"alg": "None", "kid": kidA}) + "." + b64JSON(t, e.claimsFor(a)) + ".",
		"alg none, real signature kept":       editPart(t, valid, 0, func(m map[string]any) { m["alg"] = "none" }),
		"alg missing":                         editPart(t, valid, 0, func(m map[string]any) { delete(m, "alg") }),
		"HS256 keyed with public key PEM":     sign(t, jose.HS256, pubPEM, kidA, e.claimsFor(a)),
		"HS256 keyed with public key DER":     sign(t, jose.HS256, pubDER, kidA, e.claimsFor(a)),
		"HS256 keyed with the JWKS":           sign(t, jose.HS256, jwksA, kidA, e.claimsFor(a)),
		"HS256 keyed with modulus":            hs256(t, privA.PublicKey.N.Bytes(), kidA, e.claimsFor(a)),
		"RS512 with the real key":             sign(t, jose.RS512, privA, kidA, e.claimsFor(a)),
		"PS256 with the real key":             sign(t, jose.PS256, privA, kidA, e.claimsFor(a)),
		"embedded attacker jwk": sign(t, jose.RS256, attacker, kidA, e.claimsFor(a), func(o *jose.SignerOptions) {
			o.EmbedJWK = true
		}),
		"attacker key, real kid": sign(t, jose.RS256, attacker, kidA, e.claimsFor(a)),
		"no kid":                 sign(t, jose.RS256, privA, "", e.claimsFor(a)),
		"unknown kid":            sign(t, jose.RS256, privA, "nope", e.claimsFor(a)),
		"expired":                sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["exp"] = now - 61 - 5 })),
		"not yet valid":          sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["nbf"] = now + 120 })),
		"issued in the future":   sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["iat"] = now + 120 })),
		"no exp":                 sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { delete(m, "exp") })),
		"exp not a number":       sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["exp"] = "tomorrow" })),
		"wrong audience":         sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["aud"] = "https://other.example.com" })),
		"no audience":            sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { delete(m, "aud") })),
		"audience list without":  sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["aud"] = []string{"a", "b"} })),
		"wrong issuer":           sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["iss"] = "https://evil.example.com/" + a + "/v2.0" })),
		"other tenant's issuer":  sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["iss"] = e.iss.Issuer(b) })),
		"no issuer":              sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { delete(m, "iss") })),
		"no tid":                 sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { delete(m, "tid") })),
		"tid not a string":       sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["tid"] = 42 })),
		"unknown tenant":         sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["tid"] = uuid.NewString() })),
		"huge tid":               sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["tid"] = strings.Repeat("a", 1000) })),
		"roles not an array":     sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["roles"] = "User.ReadWrite.All" })),
		"oversize, validly signed": sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) {
			m["pad"] = strings.Repeat("x", MaxTokenSize)
		})),
		"JSON serialization": jsonSerialized(t, privA, kidA, e.claimsFor(a)),
		"empty":              "",
		"garbage":            "garbage",
		"dots":               "..",
		"four parts":         valid + ".x",
		"empty objects":      "e30.e30.",
		"bad base64":         "!!!.!!!.!!!",
		"truncated":          valid[:len(valid)-10],
		"truncated payload":  valid[:strings.LastIndex(valid, ".")-5] + valid[strings.LastIndex(valid, "."):],
		"header only":        strings.Split(valid, ".")[0],
		"signature dropped":  valid[:strings.LastIndex(valid, ".")+1],
		"whitespace":         " " + valid,
		"Bearer prefix":      "Bearer " + valid,
		"oversize":           strings.Repeat("a", MaxTokenSize+1),
		"header not JSON":    base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + strings.SplitN(valid, ".", 2)[1],
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := e.iss.Verify(ctx, raw, graphAud)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
			t.Log(err)
		})
	}

	// The valid token for another audience, and within the leeway.
	if _, err := e.iss.Verify(ctx, valid, "https://other.example.com"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("wrong audience parameter: %v", err)
	}
	if _, err := e.iss.Verify(ctx, valid, ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("empty audience parameter: %v", err)
	}
	late := sign(t, jose.RS256, privA, kidA, with(func(m map[string]any) { m["exp"] = now - 30 }))
	if _, err := e.iss.Verify(ctx, late, graphAud); err != nil {
		t.Errorf("expired 30 s ago (within leeway): %v", err)
	}
	// A token naming a made-up tenant leaves nothing in the cache.
	e.iss.mu.Lock()
	n := len(e.iss.tenants)
	e.iss.mu.Unlock()
	if n != 2 {
		t.Errorf("cache holds %d tenants, want 2", n)
	}
}

func TestVerifyUsesClock(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Truncate(time.Second) // tokens carry whole seconds
	e.iss.Now = func() time.Time { return start.Add(-2 * time.Hour) }
	old, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	e.iss.Now = nil
	if _, err := e.iss.Verify(ctx, old, graphAud); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("token from 2 h ago: %v", err)
	}
	e.iss.Lifetime = 10 * time.Minute
	e.iss.Now = func() time.Time { return start }
	tok, exp, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil || exp != 600 {
		t.Fatalf("Lifetime 10m: %d, %v", exp, err)
	}
	e.iss.Now = func() time.Time { return start.Add(11*time.Minute - time.Second) }
	if _, err := e.iss.Verify(ctx, tok, graphAud); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	e.iss.Now = func() time.Time { return start.Add(11*time.Minute + time.Second) }
	if _, err := e.iss.Verify(ctx, tok, graphAud); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("past leeway: %v", err)
	}
}

func hs256(t testing.TB, key []byte, kid string, claims any) string {
	t.Helper()
	// jose refuses HMAC keys shorter than the hash; sign by hand.
	in := b64JSON(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + b64JSON(t, claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func jsonSerialized(t testing.TB, priv *rsa.PrivateKey, kid string, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return jws.FullSerialize()
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	// A tenant without keys gets one: discovery never shows an empty set.
	body, err := e.iss.JWKS(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	kid := e.kid(t, e.tenant.ID)
	if len(raw.Keys) != 1 {
		t.Fatalf("jwks = %s", body)
	}
	k := raw.Keys[0]
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != kid || k["n"] == nil || k["e"] != "AQAB" {
		t.Errorf("jwk = %v", k)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("jwk publishes %q", private)
		}
	}

	// A relying party with nothing but the JWKS can verify a token.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	raw2, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw2, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in jwks", tok.Headers[0].KeyID)
	}
	var c jwt.Claims
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(jwt.Expected{Issuer: e.iss.Issuer(e.tenant.ID), AnyAudience: jwt.Audience{graphAud}}); err != nil {
		t.Fatal(err)
	}

	// Asking again creates nothing new.
	if _, err := e.node().JWKS(ctx, e.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if recs, _ := e.st.SigningKeys(ctx, e.tenant.ID); len(recs) != 1 {
		t.Errorf("%d keys stored, want 1", len(recs))
	}
}

func jwksKids(t testing.TB, iss *Issuer, tenantID string) []string {
	t.Helper()
	body, err := iss.JWKS(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestRotate(t *testing.T) {
	e := newEnv(t)
	kid1 := e.kid(t, e.tenant.ID)
	tok1, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	kid2, err := e.iss.Rotate(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if kid2 == kid1 || e.kid(t, e.tenant.ID) != kid2 {
		t.Fatalf("after rotation current kid = %s (old %s, new %s)", e.kid(t, e.tenant.ID), kid1, kid2)
	}
	tok2, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	if h := decodePart(t, tok2, 0); h["kid"] != kid2 {
		t.Errorf("new token signed with %v, want %s", h["kid"], kid2)
	}
	for _, iss := range []*Issuer{e.iss, e.node()} {
		for _, tok := range []string{tok1, tok2} {
			if _, err := iss.Verify(ctx, tok, graphAud); err != nil {
				t.Errorf("verify after rotation: %v", err)
			}
		}
		if kids := jwksKids(t, iss, e.tenant.ID); !slices.Equal(kids, []string{kid2, kid1}) {
			t.Errorf("jwks kids = %v, want [%s %s]", kids, kid2, kid1)
		}
	}
	// A node that never saw the rotation signs with the new key too.
	tok3, _, err := e.node().IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	if h := decodePart(t, tok3, 0); h["kid"] != kid2 {
		t.Errorf("other node signs with %v, want %s", h["kid"], kid2)
	}
}

// A node that cached the keys before another node rotated picks up the
// new kid when a token names it, without waiting for the cache to expire.
func TestVerifyReloadsUnknownKid(t *testing.T) {
	e := newEnv(t)
	n2 := e.node()
	if _, err := n2.SigningKey(ctx, e.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.iss.Rotate(ctx, e.tenant.ID); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		t.Fatal(err)
	}
	// The refresh is rate-limited; pretend the last load is old enough.
	tk := n2.entry(e.tenant.ID)
	tk.mu.Lock()
	tk.loadedAt = time.Now().Add(-minRefresh - time.Second)
	tk.mu.Unlock()
	if _, err := n2.Verify(ctx, tok, graphAud); err != nil {
		t.Errorf("verify with a kid made on another node: %v", err)
	}
}

func TestRetiredKeys(t *testing.T) {
	e := newEnv(t)
	current := e.kid(t, e.tenant.ID)
	now := time.Now().UTC().Truncate(time.Microsecond)

	add := func(notAfter time.Time, created time.Time) (string, *rsa.PrivateKey) {
		rec, priv, err := e.iss.newSigningKey(e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		rec.NotAfter, rec.CreatedAt = &notAfter, created
		if err := e.st.AddSigningKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.KeyID, priv
	}
	// Rotated out, but newer than the current key: still not used to sign.
	graceKid, gracePriv := add(now.Add(time.Hour), now.Add(time.Minute))
	deadKid, deadPriv := add(now.Add(-time.Minute), now.Add(-2*time.Hour))

	n := e.node()
	if kids := jwksKids(t, n, e.tenant.ID); !slices.Equal(kids, []string{graceKid, current}) {
		t.Errorf("jwks kids = %v, want [%s %s]", kids, graceKid, current)
	}
	if k, _ := n.SigningKey(ctx, e.tenant.ID); k.KeyID != current {
		t.Errorf("signing with %s, want %s", k.KeyID, current)
	}
	if _, err := n.Verify(ctx, sign(t, jose.RS256, gracePriv, graceKid, e.claimsFor(e.tenant.ID)), graphAud); err != nil {
		t.Errorf("key in its grace period: %v", err)
	}
	if _, err := n.Verify(ctx, sign(t, jose.RS256, deadPriv, deadKid, e.claimsFor(e.tenant.ID)), graphAud); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("key past NotAfter: %v", err)
	}
}

// Two nodes that both found no key and each created one: the newest
// signs, both stay published.
func TestRacingFirstKeys(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var kids []string
	var privs []*rsa.PrivateKey
	for i := range 2 {
		rec, priv, err := e.iss.newSigningKey(e.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		rec.CreatedAt = now.Add(time.Duration(i) * time.Millisecond)
		if err := e.st.AddSigningKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		kids, privs = append(kids, rec.KeyID), append(privs, priv)
	}
	if got := e.kid(t, e.tenant.ID); got != kids[1] {
		t.Errorf("current = %s, want the newest %s", got, kids[1])
	}
	if got := jwksKids(t, e.iss, e.tenant.ID); !slices.Equal(got, []string{kids[1], kids[0]}) {
		t.Errorf("jwks = %v", got)
	}
	for i := range 2 {
		if _, err := e.iss.Verify(ctx, sign(t, jose.RS256, privs[i], kids[i], e.claimsFor(e.tenant.ID)), graphAud); err != nil {
			t.Errorf("key %d: %v", i, err)
		}
	}
}

func TestKeysAreSealed(t *testing.T) {
	e := newEnv(t)
	rec, err := e.iss.SigningKey(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.SigningKeys(ctx, e.tenant.ID)
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored keys: %v, %v", stored, err)
	}
	s := stored[0]
	if s.Algorithm != "RS256" || s.KeyID != rec.KeyID || s.NotAfter != nil {
		t.Errorf("stored key = %+v", s)
	}
	aad := []byte("signing-key:" + e.tenant.ID + ":" + s.KeyID)
	der, err := e.sealer.Open(s.PrivateSealed, aad)
	if err != nil {
		t.Fatalf("open with the documented aad: %v", err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatalf("sealed value is not PKCS#8: %v", err)
	}
	if rsaKey, ok := priv.(*rsa.PrivateKey); !ok || rsaKey.N.BitLen() != 2048 {
		t.Fatalf("private key = %T", priv)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(priv.(*rsa.PrivateKey).Public())
	sum := sha256.Sum256(pubDER)
	if want := base64.RawURLEncoding.EncodeToString(sum[:16]); s.KeyID != want {
		t.Errorf("kid = %s, want %s", s.KeyID, want)
	}
	for _, chunk := range [][]byte{der, der[len(der)-48:], priv.(*rsa.PrivateKey).D.Bytes()[:32]} {
		for _, enc := range []string{string(chunk), hex.EncodeToString(chunk),
			base64.StdEncoding.EncodeToString(chunk)[:40], base64.RawURLEncoding.EncodeToString(chunk)[:40]} {
			if strings.Contains(s.PrivateSealed, enc) {
				t.Fatal("stored PrivateSealed contains the private key")
			}
		}
	}
	// The aad binds the key to its tenant and kid.
	other := storetest.NewTenant(t, e.st)
	if _, err := e.sealer.Open(s.PrivateSealed, []byte("signing-key:"+other.ID+":"+s.KeyID)); err == nil {
		t.Error("sealed key opens under another tenant's aad")
	}
	var jwk map[string]any
	if err := json.Unmarshal(s.PublicJWK, &jwk); err != nil || jwk["kid"] != s.KeyID || jwk["d"] != nil || jwk["kty"] != "RSA" {
		t.Errorf("PublicJWK = %s", s.PublicJWK)
	}
}

// A sealed key moved to another tenant's row does not open: the signer
// refuses instead of signing with it.
func TestSwappedKeyRefused(t *testing.T) {
	e := newEnv(t)
	a := e.tenant.ID
	k, err := e.iss.SigningKey(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.NewTenant(t, e.st)
	k.TenantID = b.ID
	if err := e.st.AddSigningKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	appB, _ := newApp(t, e.st, b.ID, "B")
	if _, _, err := e.node().IssueAppToken(ctx, b.ID, appB, graphAud); err == nil {
		t.Error("signed with a key sealed for another tenant")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 16 {
		wg.Go(func() {
			for range 4 {
				tok, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
				if err != nil {
					errs <- err
					return
				}
				if _, err := e.iss.Verify(ctx, tok, graphAud); err != nil {
					errs <- err
					return
				}
				if _, err := e.iss.JWKS(ctx, e.tenant.ID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One node never races itself into two keys.
	if recs, _ := e.st.SigningKeys(ctx, e.tenant.ID); len(recs) != 1 {
		t.Errorf("%d keys created, want 1", len(recs))
	}
}

func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	valid, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		f.Fatal(err)
	}
	kid := e.kid(f, e.tenant.ID)
	for _, s := range []string{
		valid, valid[:len(valid)/2], "", ".", "..", "...", "e30.e30.", "a.b.c",
		b64JSON(f, map[string]any{"alg": "none", "kid": kid}) + "." + b64JSON(f, e.claimsFor(e.tenant.ID)) + ".",
		b64JSON(f, map[string]any{"alg": "RS256", "kid": kid}) + "." + b64JSON(f, map[string]any{"tid": e.tenant.ID}) + ".AAAA",
		b64JSON(f, map[string]any{"alg": "RS256", "kid": kid, "crit": []string{"exp"}}) + "." + b64JSON(f, e.claimsFor(e.tenant.ID)) + ".AAAA",
		`{"payload":"e30","signatures":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := e.iss.Verify(ctx, raw, graphAud)
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("error %v does not wrap ErrInvalidToken", err)
		}
		if err == nil && c.TenantID != e.tenant.ID {
			t.Fatalf("accepted a token for %q", c.TenantID)
		}
	})
}

func BenchmarkIssueAppToken(b *testing.B) {
	e := newEnv(b)
	if _, err := e.iss.SigningKey(ctx, e.tenant.ID); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	tok, _, err := e.iss.IssueAppToken(ctx, e.tenant.ID, e.app, graphAud)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.iss.Verify(ctx, tok, graphAud); err != nil {
			b.Fatal(err)
		}
	}
}
