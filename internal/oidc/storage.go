package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

// storage is the op package's view of one tenant: every lookup is scoped
// to tenantID, so one tenant's apps, codes and tokens never serve another.
type storage struct {
	p        *Provider
	tenantID string
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// hashValue keys codes and refresh tokens in the store: a database dump
// holds nothing that can be redeemed.
func hashValue(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

func newRefreshValue() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authData is what an authorization request keeps, as JSON in the store.
type authData struct {
	ClientID            string    `json:"clientId"`
	RedirectURI         string    `json:"redirectUri"`
	State               string    `json:"state,omitempty"`
	Nonce               string    `json:"nonce,omitempty"`
	Scopes              []string  `json:"scopes"`
	ResponseType        string    `json:"responseType"`
	ResponseMode        string    `json:"responseMode,omitempty"`
	CodeChallenge       string    `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string    `json:"codeChallengeMethod,omitempty"`
	Prompt              []string  `json:"prompt,omitempty"`
	MaxAge              *uint     `json:"maxAge,omitempty"`
	ACRValues           []string  `json:"acrValues,omitempty"`
	LoginHint           string    `json:"loginHint,omitempty"`
	CreatedAt           time.Time `json:"createdAt"`
	// Set when the user's session completes the request.
	UserID   string    `json:"userId,omitempty"`
	AuthTime time.Time `json:"authTime"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	Done     bool      `json:"done,omitempty"`
}

// authRequest is op.AuthRequest over a stored request.
type authRequest struct {
	id string
	d  authData
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return a.d.ACR }
func (a *authRequest) GetAMR() []string       { return a.d.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.d.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.d.AuthTime }
func (a *authRequest) GetClientID() string    { return a.d.ClientID }
func (a *authRequest) GetNonce() string       { return a.d.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.d.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.d.Scopes }
func (a *authRequest) GetState() string       { return a.d.State }
func (a *authRequest) GetSubject() string     { return a.d.UserID }
func (a *authRequest) Done() bool             { return a.d.Done }
func (a *authRequest) GetResponseType() zoidc.ResponseType {
	return zoidc.ResponseType(a.d.ResponseType)
}
func (a *authRequest) GetResponseMode() zoidc.ResponseMode {
	return zoidc.ResponseMode(a.d.ResponseMode)
}
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.d.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.d.CodeChallenge, Method: zoidc.CodeChallengeMethod(a.d.CodeChallengeMethod)}
}

// grant is what a refresh token carries forward (JSON in the store).
type grant struct {
	Scopes   []string  `json:"scopes"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AuthTime time.Time `json:"authTime"`
}

// refreshRequest is op.RefreshTokenRequest over a stored refresh token.
type refreshRequest struct {
	rec store.RefreshToken
	g   grant
}

func (r *refreshRequest) GetAMR() []string            { return r.g.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.rec.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.g.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.rec.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.g.Scopes }
func (r *refreshRequest) GetSubject() string          { return r.rec.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.g.Scopes = s }

// appRequest is the token request of the client-credentials grant.
type appRequest struct {
	app      store.App
	audience string
	scopes   []string
}

func (r *appRequest) GetSubject() string    { return r.app.ID }
func (r *appRequest) GetAudience() []string { return []string{r.audience} }
func (r *appRequest) GetScopes() []string   { return r.scopes }

func (s *storage) log() *slog.Logger { return s.p.log() }

// CreateAuthRequest stores a validated authorization request. Public
// clients, and every request to a spa or publicClient redirect URI, must
// send an S256 PKCE challenge (RFC 9700 §2.1.1); the plain method is
// refused for everyone.
func (s *storage) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, _ string) (op.AuthRequest, error) {
	app, err := s.p.Store.AppByAppID(ctx, s.tenantID, r.ClientID)
	if err != nil {
		return nil, zoidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client").WithParent(err)
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != zoidc.CodeChallengeMethodS256 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if r.CodeChallenge == "" && (isPublic(app) || !slices.Contains(app.RedirectURIs, r.RedirectURI)) {
		return nil, zoidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if len(r.State) > 2048 || len(r.Nonce) > 512 || len(r.LoginHint) > 256 || len(r.ACRValues) > 8 || len(r.Scopes) > 32 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("request parameter too long")
	}
	now := s.p.now()
	d := authData{ClientID: r.ClientID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Scopes: r.Scopes,
		ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode), CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: string(r.CodeChallengeMethod), Prompt: r.Prompt, MaxAge: r.MaxAge, ACRValues: r.ACRValues,
		LoginHint: r.LoginHint, CreatedAt: now}
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	rec := store.AuthRequest{ID: uuid.NewString(), TenantID: s.tenantID, ClientID: r.ClientID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(authRequestTTL)}
	if err := s.p.Store.CreateAuthRequest(ctx, rec); err != nil {
		return nil, fmt.Errorf("oidc: store auth request: %w", err)
	}
	return &authRequest{id: rec.ID, d: d}, nil
}

func decodeAuthRequest(rec store.AuthRequest) (*authRequest, error) {
	a := &authRequest{id: rec.ID}
	if err := json.Unmarshal(rec.Data, &a.d); err != nil {
		return nil, fmt.Errorf("oidc: auth request %s: %w", rec.ID, err)
	}
	return a, nil
}

func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, zoidc.ErrInvalidRequest().WithDescription("unknown or expired request")
	}
	rec, err := s.p.Store.GetAuthRequest(ctx, s.tenantID, id, s.p.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidRequest().WithDescription("unknown or expired request")
	}
	if err != nil {
		return nil, err
	}
	return decodeAuthRequest(rec)
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	if code == "" || len(code) > 512 {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	// Redeeming takes the code: a second use — a replay, or a race —
	// finds nothing, and so does any use after a failed one.
	rec, err := s.p.Store.RedeemAuthCode(ctx, s.tenantID, hashValue(code), s.p.now())
	if err != nil {
		return nil, err // the op package answers invalid_grant
	}
	a, err := decodeAuthRequest(rec)
	if err != nil {
		return nil, err
	}
	if !a.d.Done {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid code")
	}
	return a, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.Store.SetAuthCode(ctx, s.tenantID, id, hashValue(code))
}

// DeleteAuthRequest: after a code exchange the request is already gone
// (RedeemAuthCode took it).
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	err := s.p.Store.DeleteAuthRequest(ctx, s.tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// CreateAccessToken: access tokens are JWTs, not kept; the id is the jti.
func (s *storage) CreateAccessToken(_ context.Context, _ op.TokenRequest) (string, time.Time, error) {
	return uuid.NewString(), s.p.now().Add(s.p.accessLifetime()), nil
}

// CreateAccessAndRefreshTokens issues a refresh token: a new family for a
// code exchange, or the next token of the family when rotating one.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := s.p.now()
	value := newRefreshValue()
	next := store.RefreshToken{Hash: hashValue(value), TenantID: s.tenantID, CreatedAt: now, ExpiresAt: now.Add(refreshLifetime)}
	var g grant
	switch r := req.(type) {
	case *authRequest:
		next.FamilyID, next.ClientID, next.UserID = uuid.NewString(), r.d.ClientID, r.d.UserID
		g = grant{Scopes: r.d.Scopes, AMR: r.d.AMR, ACR: r.d.ACR, AuthTime: r.d.AuthTime}
	case *refreshRequest:
		next.FamilyID, next.ClientID, next.UserID = r.rec.FamilyID, r.rec.ClientID, r.rec.UserID
		g = r.g
	default:
		return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
	}
	var err error
	if next.Data, err = json.Marshal(g); err != nil {
		return "", "", time.Time{}, err
	}
	if _, rotating := req.(*refreshRequest); rotating {
		err = s.p.Store.RotateRefreshToken(ctx, s.tenantID, hashValue(current), next, now)
		if errors.Is(err, store.ErrConflict) {
			// Two uses of one token: the second is a replay.
			s.revokeFamily(ctx, next.FamilyID, next.ClientID, "refresh token used twice at once")
			return "", "", time.Time{}, zoidc.ErrInvalidGrant().WithDescription("invalid refresh token")
		}
	} else {
		err = s.p.Store.CreateRefreshToken(ctx, next)
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("oidc: store refresh token: %w", err)
	}
	return uuid.NewString(), value, now.Add(s.p.accessLifetime()), nil
}

func (s *storage) revokeFamily(ctx context.Context, family, clientID, why string) {
	n, err := s.p.Store.RevokeRefreshFamily(ctx, s.tenantID, family, s.p.now())
	if err != nil {
		s.log().ErrorContext(ctx, "oidc: revoke refresh token family", "tenant", s.tenantID, "err", err)
		return
	}
	s.log().WarnContext(ctx, "oidc: refresh token reuse detected; family revoked", "tenant", s.tenantID,
		"app_id", clientID, "family", family, "revoked", n, "reason", why)
}

// TokenRequestByRefreshToken finds the grant of a refresh token. A token
// that was already rotated is a replay — one copy is in the wrong hands —
// so the whole family is revoked (RFC 9700 §4.14.2).
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, value string) (op.RefreshTokenRequest, error) {
	if value == "" || len(value) > 256 {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	rec, err := s.p.Store.RefreshTokenByHash(ctx, s.tenantID, hashValue(value), s.p.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	if err != nil {
		return nil, err
	}
	if rec.RevokedAt != nil {
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	if rec.UsedAt != nil {
		s.revokeFamily(ctx, rec.FamilyID, rec.ClientID, "rotated refresh token presented again")
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	u, err := s.user(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !u.AccountEnabled {
		return nil, zoidc.ErrInvalidGrant().WithDescription("the user can no longer sign in")
	}
	if err != nil {
		return nil, err
	}
	r := &refreshRequest{rec: rec}
	if err := json.Unmarshal(rec.Data, &r.g); err != nil {
		return nil, fmt.Errorf("oidc: refresh token data: %w", err)
	}
	return r, nil
}

// TerminateSession ends the app's grants for the user (RP-initiated
// logout); the browser session itself is ended by the logout handler.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" {
		return nil
	}
	_, err := s.p.Store.RevokeUserRefreshTokens(ctx, s.tenantID, userID, clientID, s.p.now())
	return err
}

// refreshTokenID marks a refresh token's hash as the op package passes it
// from GetRefreshTokenInfo to RevokeToken.
const refreshTokenID = "rt:"

// GetRefreshTokenInfo serves revocation (RFC 7009): the token must be one
// of this client's.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, value string) (string, string, error) {
	if value == "" || len(value) > 256 {
		return "", "", op.ErrInvalidRefreshToken
	}
	rec, err := s.p.Store.RefreshTokenByHash(ctx, s.tenantID, hashValue(value), s.p.now())
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return rec.UserID, refreshTokenID + rec.Hash, nil
}

// RevokeToken revokes a refresh token's whole family. Access tokens are
// short-lived JWTs that are not kept, so there is nothing to revoke for
// them; RFC 7009 §2.2 answers success all the same, as it does for
// tokens that are unknown or already revoked.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *zoidc.Error {
	hash, ok := strings.CutPrefix(tokenOrID, refreshTokenID)
	if !ok {
		return nil
	}
	rec, err := s.p.Store.RefreshTokenByHash(ctx, s.tenantID, hash, s.p.now())
	if err != nil || rec.ClientID != clientID {
		return nil
	}
	if _, err := s.p.Store.RevokeRefreshFamily(ctx, s.tenantID, rec.FamilyID, s.p.now()); err != nil {
		s.log().ErrorContext(ctx, "oidc: revoke refresh token", "tenant", s.tenantID, "err", err)
		return zoidc.ErrServerError()
	}
	return nil
}

// signingKey is op.SigningKey over the tenant's current key.
type signingKey struct {
	id   string
	priv *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return tokens.Algorithm }
func (k signingKey) Key() any                                    { return k.priv }
func (k signingKey) ID() string                                  { return k.id }

// SigningKey is the tenant's current key from internal/tokens, the same
// key the admin API's app tokens have always been signed with.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	kid, priv, err := s.p.Tokens.CurrentKey(ctx, s.tenantID)
	if err != nil {
		return nil, err
	}
	return signingKey{id: kid, priv: priv}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{tokens.Algorithm}, nil
}

// publicKey is op.Key over a published JWK.
type publicKey struct{ k jose.JSONWebKey }

func (k publicKey) ID() string                         { return k.k.KeyID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(k.k.Algorithm) }
func (k publicKey) Use() string                        { return k.k.Use }
func (k publicKey) Key() any                           { return k.k.Key }

// KeySet publishes every key still accepted: after `vakt key rotate` the
// old key stays until tokens it signed have expired.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.p.Tokens.PublicKeys(ctx, s.tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(keys))
	for i, k := range keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s *storage) app(ctx context.Context, clientID string) (store.App, error) {
	if clientID == "" || len(clientID) > 64 {
		return store.App{}, store.ErrNotFound
	}
	return s.appByAppID(ctx, clientID)
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	a, err := s.app(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, zoidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, err
	}
	return s.p.client(s.tenantID, a), nil
}

// checkSecret authenticates a confidential client. Unknown clients and
// wrong secrets do the same work and fail the same way.
func (s *storage) checkSecret(ctx context.Context, clientID, secret string) (store.App, error) {
	a, err := s.app(ctx, clientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.App{}, err
	}
	if err == nil && ClientSecretMatches(a, secret, s.p.now()) {
		return a, nil
	}
	if err != nil {
		tokens.CheckClientSecret(secret, "") // the same hashing work
	}
	return store.App{}, errors.New("client authentication failed")
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	_, err := s.checkSecret(ctx, clientID, secret)
	return err
}

func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	a, err := s.checkSecret(ctx, clientID, secret)
	if err != nil {
		return nil, err
	}
	return s.p.client(s.tenantID, a), nil
}

// ClientCredentialsTokenRequest maps scope "<resource>/.default" to the
// token's audience, as the admin API has always required.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	a, err := s.app(ctx, clientID)
	if err != nil {
		return nil, zoidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	aud, rerr := tokens.AudienceForScope(strings.Join(scopes, " "), s.p.Audiences)
	if rerr != nil {
		return nil, zoidc.ErrInvalidScope().WithDescription("%s", rerr.Description)
	}
	return &appRequest{app: a, audience: aud, scopes: scopes}, nil
}

// GetPrivateClaimsFromRequest adds the Microsoft-style claims: an app
// token carries what the Graph API checks (tid, appid, roles, idtyp=app),
// a user token the user and tenant.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, scopes []string) (map[string]any, error) {
	if r, ok := req.(*appRequest); ok {
		roles := r.app.Permissions
		if roles == nil {
			roles = []string{}
		}
		return map[string]any{"tid": s.tenantID, "oid": r.app.ID, "appid": r.app.AppID, "azp": r.app.AppID,
			"app_displayname": r.app.DisplayName, "roles": roles, "idtyp": "app", "ver": "2.0"}, nil
	}
	return map[string]any{"tid": s.tenantID, "oid": req.GetSubject(), "idtyp": "user", "ver": "2.0",
		"scp": strings.Join(scopes, " ")}, nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil // GetPrivateClaimsFromRequest does it
}

// SetUserinfoFromScopes is deprecated in the op package; the request
// variant below fills the ID token.
func (s *storage) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) fillUser(ctx context.Context, info *zoidc.UserInfo, userID string, scopes []string) error {
	u, err := s.user(ctx, userID)
	if err != nil {
		return fmt.Errorf("oidc: user: %w", err)
	}
	info.Subject = u.ID
	info.AppendClaims("tid", s.tenantID)
	info.AppendClaims("oid", u.ID)
	if scopes == nil || slices.Contains(scopes, zoidc.ScopeProfile) {
		info.Name, info.PreferredUsername = u.DisplayName, u.UPN
	}
	if (scopes == nil || slices.Contains(scopes, zoidc.ScopeEmail)) && u.Mail != "" {
		info.Email, info.EmailVerified = u.Mail, false
	}
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims; after a
// refresh it also repeats the acr of the original sign-in.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.fillUser(ctx, info, req.GetSubject(), scopes); err != nil {
		return err
	}
	info.AppendClaims("ver", "2.0")
	if r, ok := req.(*refreshRequest); ok && r.g.ACR != "" {
		info.AppendClaims("acr", r.g.ACR)
	}
	return nil
}

// SetUserinfoFromToken serves the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, _, subject, _ string) error {
	u, err := s.user(ctx, subject)
	if err != nil || !u.AccountEnabled {
		return zoidc.ErrAccessDenied().WithDescription("the token's user cannot be found")
	}
	return s.fillUser(ctx, info, subject, nil)
}

func (s *storage) SetIntrospectionFromToken(context.Context, *zoidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not offered")
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not offered")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT bearer grant is not offered")
}

func (s *storage) Health(ctx context.Context) error { return s.p.Store.Ping(ctx) }

// saveAuthRequest stores a request's data after the login step.
func (p *Provider) saveAuthRequest(r *http.Request, tenantID string, a *authRequest) error {
	data, err := json.Marshal(a.d)
	if err != nil {
		return err
	}
	return p.Store.SetAuthRequestData(r.Context(), tenantID, a.id, data)
}
