package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/store"
)

// MaxTokenRequestSize bounds a token request body.
const MaxTokenRequestSize = 64 << 10

// authFailed is the one description for an unknown client and a wrong
// secret, so the response does not tell which client ids exist.
const authFailed = "client authentication failed"

// AppLookup finds app registrations by client id; store.Apps is one.
type AppLookup interface {
	AppByAppID(ctx context.Context, tenantID, appID string) (store.App, error)
}

// Endpoint serves a tenant's OAuth 2.0 token endpoint (client-credentials
// grant only) and its JWKS. The router resolves the tenant. The server
// itself now serves every grant through internal/oidc, which reuses this
// package's request checks (ReadTokenRequest, AudienceForScope); Endpoint
// remains for embedding the client-credentials grant alone.
type Endpoint struct {
	Issuer *Issuer
	Apps   AppLookup
	// Audiences are the resource ids a client may ask a token for, with
	// scope "<resource>/.default"; the token's aud is that resource.
	Audiences []string
	Log       *slog.Logger // slog.Default() when nil
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

type errorResponse struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (e *Endpoint) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// oauthError is a refused token request: an RFC 6749 §5.2 error code, a
// client-safe description and the HTTP status.
type oauthError struct {
	status int
	code   string
	desc   string
	basic  bool   // the client tried HTTP Basic: say how to authenticate
	reason string // for the log only, when it says more than desc
}

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func writeTokenJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// RFC 6749 §5.1: token responses must not be cached by anyone.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func writeOAuthError(w http.ResponseWriter, oe *oauthError) {
	if oe.status == http.StatusUnauthorized && oe.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="vakt"`)
	}
	writeTokenJSON(w, oe.status, errorResponse{Error: oe.code, Description: oe.desc})
}

// ServeToken handles POST /{tenant}/oauth2/v2.0/token.
func (e *Endpoint) ServeToken(w http.ResponseWriter, r *http.Request, tenant store.Tenant) {
	resp, appID, oe := e.token(w, r, tenant)
	if oe != nil {
		// The client id is logged only once it is known to be one: a
		// secret pasted into the wrong field must not reach the logs.
		reason := oe.reason
		if reason == "" {
			reason = oe.desc
		}
		e.log().InfoContext(r.Context(), "token request refused",
			"tenant", tenant.ID, "app_id", appID, "error", oe.code, "reason", reason)
		if oe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		writeOAuthError(w, oe)
		return
	}
	e.log().InfoContext(r.Context(), "token issued", "tenant", tenant.ID, "app_id", appID)
	writeTokenJSON(w, http.StatusOK, resp)
}

// token runs the grant; appID is set once the client is known to exist.
func (e *Endpoint) token(w http.ResponseWriter, r *http.Request, tenant store.Tenant) (resp tokenResponse, appID string, oe *oauthError) {
	if r.Method != http.MethodPost {
		return resp, "", &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", desc: "the token endpoint accepts POST only"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return resp, "", badRequest("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	form, oe := readForm(w, r)
	if oe != nil {
		return resp, "", oe
	}

	switch form.Get("grant_type") {
	case "client_credentials":
	case "":
		return resp, "", badRequest("invalid_request", "grant_type is required")
	default:
		return resp, "", badRequest("unsupported_grant_type", "only the client_credentials grant is supported")
	}

	clientID, secret, oe := clientCredentials(r, form)
	if oe != nil {
		return resp, "", oe
	}
	_, _, basic := r.BasicAuth()

	audience, oe := e.audience(form)
	if oe != nil {
		return resp, "", oe
	}

	// Unknown clients and wrong secrets take the same path: one lookup,
	// one hash check (against a dummy hash when there is no app), and one
	// error, so neither the body nor the timing tells them apart.
	app, err := e.Apps.AppByAppID(r.Context(), tenant.ID, clientID)
	known := err == nil && app.TenantID == tenant.ID
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log().ErrorContext(r.Context(), "token request: app lookup failed", "tenant", tenant.ID, "err", err)
		return resp, "", &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "internal error"}
	}
	hash := dummySecretHash
	if known {
		hash = app.SecretHash
	}
	if ok := CheckClientSecret(secret, hash); !ok || !known {
		oe := &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: authFailed, basic: basic, reason: "unknown client"}
		if known {
			appID, oe.reason = app.AppID, "wrong client secret"
		}
		return resp, appID, oe
	}

	token, expiresIn, err := e.Issuer.IssueAppToken(r.Context(), tenant.ID, app, audience)
	if err != nil {
		e.log().ErrorContext(r.Context(), "token request: issue failed", "tenant", tenant.ID, "app_id", app.AppID, "err", err)
		return resp, app.AppID, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "internal error"}
	}
	return tokenResponse{TokenType: "Bearer", ExpiresIn: expiresIn, ExtExpiresIn: expiresIn, AccessToken: token}, app.AppID, nil
}

// readForm reads the form body. Parameters in the URL are ignored: client
// credentials do not belong there (RFC 6749 §2.3.1).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	tooLarge := &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "request body too large"}
	if r.ContentLength > MaxTokenRequestSize {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTokenRequestSize))
	if errors.As(err, new(*http.MaxBytesError)) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, badRequest("invalid_request", "cannot read request body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("invalid_request", "malformed form body")
	}
	// RFC 6749 §3.2: parameters must not be repeated; refusing them
	// avoids any doubt about which value was checked.
	for name, vals := range form {
		if len(vals) > 1 {
			return nil, badRequest("invalid_request", "parameter "+name+" is repeated")
		}
	}
	return form, nil
}

// clientCredentials extracts the client id and secret from the form or
// from HTTP Basic, refusing requests that use both (RFC 6749 §2.3).
func clientCredentials(r *http.Request, form url.Values) (id, secret string, oe *oauthError) {
	hasAuthz := len(r.Header.Values("Authorization")) > 0
	user, pass, hasBasic := r.BasicAuth()
	_, formSecret := form["client_secret"]
	formID := form.Get("client_id")
	switch {
	case hasAuthz && !hasBasic:
		return "", "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "unsupported client authentication scheme", basic: true}
	case hasBasic && formSecret:
		return "", "", badRequest("invalid_request", "use either HTTP Basic or client_secret in the body, not both")
	case hasBasic:
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return "", "", badRequest("invalid_request", "malformed HTTP Basic credentials")
		}
		if formID != "" && formID != id {
			return "", "", badRequest("invalid_request", "client_id does not match the HTTP Basic user")
		}
	default:
		id, secret = formID, form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return "", "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client_id and client_secret are required", basic: hasBasic}
	}
	return id, secret, nil
}

// audience maps scope "<resource>/.default" to an accepted resource.
func (e *Endpoint) audience(form url.Values) (string, *oauthError) {
	scopes := strings.Fields(form.Get("scope"))
	if len(scopes) == 0 {
		return "", badRequest("invalid_scope", "scope is required: use <resource>/.default")
	}
	if len(scopes) > 1 {
		return "", badRequest("invalid_scope", "the client_credentials grant takes exactly one scope, <resource>/.default")
	}
	resource, ok := strings.CutSuffix(scopes[0], "/.default")
	if !ok || !slices.Contains(e.Audiences, resource) {
		return "", badRequest("invalid_scope", "scope must be <resource>/.default for a resource this service accepts")
	}
	return resource, nil
}

// ServeJWKS handles GET /{tenant}/discovery/v2.0/keys.
func (e *Endpoint) ServeJWKS(w http.ResponseWriter, r *http.Request, tenant store.Tenant) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := e.Issuer.JWKS(r.Context(), tenant.ID)
	if err != nil {
		e.log().ErrorContext(r.Context(), "jwks failed", "tenant", tenant.ID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Public data; short enough that a rotation is picked up quickly.
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
