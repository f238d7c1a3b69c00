package tokens

import (
	"context"
	"crypto/rsa"

	"github.com/go-jose/go-jose/v4"
)

// Algorithm is the one JWS algorithm vakt signs with.
const Algorithm = algorithm

// CurrentKey returns the tenant's current signing key id and private key,
// creating the tenant's first key when it has none. The OpenID Connect
// provider signs ID and access tokens with it, so every token of a tenant
// comes from the same key set (and `vakt key rotate` rotates them all).
func (i *Issuer) CurrentKey(ctx context.Context, tenantID string) (kid string, priv *rsa.PrivateKey, err error) {
	k, err := i.current(ctx, tenantID, true)
	if err != nil {
		return "", nil, err
	}
	return k.rec.KeyID, k.priv, nil
}

// PublicKeys returns the tenant's published public keys (what JWKS
// serves), creating the tenant's first key when it has none, and reading
// the store again when its view is older than minRefresh.
func (i *Issuer) PublicKeys(ctx context.Context, tenantID string) ([]jose.JSONWebKey, error) {
	if _, err := i.current(ctx, tenantID, false); err != nil {
		return nil, err
	}
	tk := i.entry(tenantID)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	// Publish a key made elsewhere (another node, `vakt key
	// rotate-signing`) within seconds: relying parties fetch keys rarely.
	if tk.olderThan(minRefresh) {
		if err := i.load(ctx, tk, tenantID); err != nil {
			return nil, err
		}
	}
	now := i.now()
	out := make([]jose.JSONWebKey, 0, len(tk.keys))
	for _, k := range tk.keys {
		if k.published(now) {
			out = append(out, k.jwk)
		}
	}
	return out, nil
}
