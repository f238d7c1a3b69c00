package tokens

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type endpointEnv struct {
	*env
	ep  *Endpoint
	log *bytes.Buffer
}

func newEndpointEnv(t *testing.T) *endpointEnv {
	t.Helper()
	e := newEnv(t)
	var buf bytes.Buffer
	return &endpointEnv{env: e, log: &buf, ep: &Endpoint{
		Issuer:    e.iss,
		Apps:      e.st,
		Audiences: []string{graphAud, publicURL},
		Log:       slog.New(slog.NewTextHandler(&buf, nil)),
	}}
}

// request describes a token request; the zero value is a valid form POST
// once form is filled.
type request struct {
	method      string
	contentType string
	form        url.Values
	body        string // overrides form
	basicUser   string
	basicPass   string
	authz       string // raw Authorization header
}

func (e *endpointEnv) do(t *testing.T, rq request) *httptest.ResponseRecorder {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	body := rq.body
	if body == "" && rq.form != nil {
		body = rq.form.Encode()
	}
	r := httptest.NewRequest(rq.method, "/"+e.tenant.ID+"/oauth2/v2.0/token", strings.NewReader(body))
	if rq.contentType == "" {
		rq.contentType = "application/x-www-form-urlencoded"
	}
	r.Header.Set("Content-Type", rq.contentType)
	if rq.basicUser != "" || rq.basicPass != "" {
		r.SetBasicAuth(rq.basicUser, rq.basicPass)
	}
	if rq.authz != "" {
		r.Header.Set("Authorization", rq.authz)
	}
	w := httptest.NewRecorder()
	e.ep.ServeToken(w, r, e.tenant)
	return w
}

func (e *endpointEnv) form(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID},
		"client_secret": {e.secret}, "scope": {scope}}
}

func checkSuccess(t *testing.T, e *endpointEnv, w *httptest.ResponseRecorder, audience string) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	h := w.Header()
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("headers = %v", h)
	}
	var resp map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp["token_type"] != "Bearer" || resp["expires_in"] != 3600.0 || resp["ext_expires_in"] != 3600.0 || len(resp) != 4 {
		t.Errorf("response = %v", resp)
	}
	c, err := e.iss.Verify(ctx, resp["access_token"].(string), audience)
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID != e.app.AppID || c.TenantID != e.tenant.ID || len(c.Roles) != 2 {
		t.Errorf("claims = %+v", c)
	}
}

func checkError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) map[string]string {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	var resp map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if resp["error"] != code || resp["error_description"] == "" || len(resp) != 2 {
		t.Errorf("error body = %v, want error %s", resp, code)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("error response is cacheable")
	}
	return resp
}

func TestTokenEndpointSuccess(t *testing.T) {
	e := newEndpointEnv(t)
	t.Run("form", func(t *testing.T) {
		checkSuccess(t, e, e.do(t, request{form: e.form(graphAud + "/.default")}), graphAud)
	})
	t.Run("basic", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {graphAud + "/.default"}}
		checkSuccess(t, e, e.do(t, request{form: form, basicUser: e.app.AppID, basicPass: e.secret}), graphAud)
	})
	t.Run("basic with matching client_id", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID}, "scope": {graphAud + "/.default"}}
		checkSuccess(t, e, e.do(t, request{form: form, basicUser: e.app.AppID, basicPass: e.secret}), graphAud)
	})
	t.Run("public url audience", func(t *testing.T) {
		checkSuccess(t, e, e.do(t, request{form: e.form(publicURL + "/.default")}), publicURL)
	})
	t.Run("charset parameter", func(t *testing.T) {
		w := e.do(t, request{form: e.form(graphAud + "/.default"), contentType: "application/x-www-form-urlencoded; charset=UTF-8"})
		checkSuccess(t, e, w, graphAud)
	})
	if !strings.Contains(e.log.String(), "app_id="+e.app.AppID) || !strings.Contains(e.log.String(), "token issued") {
		t.Errorf("log = %s", e.log)
	}
}

func TestTokenEndpointInvalidClient(t *testing.T) {
	e := newEndpointEnv(t)
	scope := graphAud + "/.default"
	wrong := e.form(scope)
	wrong.Set("client_secret", e.secret[:39]+"x")
	unknown := e.form(scope)
	unknown.Set("client_id", "00000000-0000-0000-0000-000000000000")

	wWrong := e.do(t, request{form: wrong})
	wUnknown := e.do(t, request{form: unknown})
	checkError(t, wWrong, http.StatusUnauthorized, "invalid_client")
	checkError(t, wUnknown, http.StatusUnauthorized, "invalid_client")
	if wWrong.Body.String() != wUnknown.Body.String() {
		t.Errorf("wrong secret and unknown client differ:\n%s\n%s", wWrong.Body, wUnknown.Body)
	}
	if wWrong.Header().Get("WWW-Authenticate") != "" {
		t.Error("WWW-Authenticate without Basic")
	}

	// The same through HTTP Basic, which asks for Basic again.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	bWrong := e.do(t, request{form: form, basicUser: e.app.AppID, basicPass: "nope"})
	bUnknown := e.do(t, request{form: form, basicUser: "nobody", basicPass: e.secret})
	for _, w := range []*httptest.ResponseRecorder{bWrong, bUnknown} {
		checkError(t, w, http.StatusUnauthorized, "invalid_client")
		if w.Header().Get("WWW-Authenticate") != `Basic realm="vakt"` {
			t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
		}
		if w.Body.String() != wWrong.Body.String() {
			t.Errorf("body differs: %s", w.Body)
		}
	}

	// An app of another tenant is unknown here, whatever its secret.
	other := newEnv(t)
	foreign := url.Values{"grant_type": {"client_credentials"}, "client_id": {other.app.AppID},
		"client_secret": {other.secret}, "scope": {scope}}
	checkError(t, e.do(t, request{form: foreign}), http.StatusUnauthorized, "invalid_client")

	// Missing credentials, and other authentication schemes.
	noSecret := e.form(scope)
	noSecret.Del("client_secret")
	checkError(t, e.do(t, request{form: noSecret}), http.StatusUnauthorized, "invalid_client")
	checkError(t, e.do(t, request{form: form}), http.StatusUnauthorized, "invalid_client")
	checkError(t, e.do(t, request{form: form, authz: "Bearer abc"}), http.StatusUnauthorized, "invalid_client")
	checkError(t, e.do(t, request{form: form, basicUser: e.app.AppID}), http.StatusUnauthorized, "invalid_client")

	logs := e.log.String()
	if strings.Contains(logs, e.secret[:20]) || strings.Contains(logs, other.secret) || strings.Contains(logs, "nobody") {
		t.Errorf("log leaks a secret or an unvetted client id: %s", logs)
	}
	if !strings.Contains(logs, "wrong client secret") || !strings.Contains(logs, "unknown client") {
		t.Errorf("log does not tell the operator what failed: %s", logs)
	}
}

func TestTokenEndpointBadRequests(t *testing.T) {
	e := newEndpointEnv(t)
	scope := graphAud + "/.default"
	with := func(edit func(url.Values)) url.Values {
		f := e.form(scope)
		edit(f)
		return f
	}
	for name, c := range map[string]struct {
		rq     request
		status int
		code   string
	}{
		"no scope":           {request{form: with(func(f url.Values) { f.Del("scope") })}, 400, "invalid_scope"},
		"empty scope":        {request{form: with(func(f url.Values) { f.Set("scope", " ") })}, 400, "invalid_scope"},
		"delegated scope":    {request{form: with(func(f url.Values) { f.Set("scope", graphAud+"/User.Read") })}, 400, "invalid_scope"},
		"bare resource":      {request{form: with(func(f url.Values) { f.Set("scope", graphAud) })}, 400, "invalid_scope"},
		"unknown resource":   {request{form: with(func(f url.Values) { f.Set("scope", "https://evil.example.com/.default") })}, 400, "invalid_scope"},
		"two scopes":         {request{form: with(func(f url.Values) { f.Set("scope", scope+" "+publicURL+"/.default") })}, 400, "invalid_scope"},
		"openid and default": {request{form: with(func(f url.Values) { f.Set("scope", "openid "+scope) })}, 400, "invalid_scope"},
		"password grant":     {request{form: with(func(f url.Values) { f.Set("grant_type", "password") })}, 400, "unsupported_grant_type"},
		"no grant":           {request{form: with(func(f url.Values) { f.Del("grant_type") })}, 400, "invalid_request"},
		"repeated parameter": {request{body: e.form(scope).Encode() + "&scope=" + url.QueryEscape(scope)}, 400, "invalid_request"},
		"malformed body":     {request{body: "grant_type=%zz"}, 400, "invalid_request"},
		"json body":          {request{body: `{"grant_type":"client_credentials"}`, contentType: "application/json"}, 400, "invalid_request"},
		"no content type":    {request{form: e.form(scope), contentType: "text/plain"}, 400, "invalid_request"},
		"multipart":          {request{form: e.form(scope), contentType: "multipart/form-data; boundary=x"}, 400, "invalid_request"},
		"basic and secret": {request{form: e.form(scope), basicUser: e.app.AppID, basicPass: e.secret},
			400, "invalid_request"},
		"basic and other client_id": {request{form: with(func(f url.Values) { f.Del("client_secret"); f.Set("client_id", "other") }),
			basicUser: e.app.AppID, basicPass: e.secret}, 400, "invalid_request"},
		"oversize body": {request{body: e.form(scope).Encode() + "&pad=" + strings.Repeat("a", MaxTokenRequestSize)},
			413, "invalid_request"},
		"GET": {request{method: http.MethodGet}, 405, "invalid_request"},
		"PUT": {request{method: http.MethodPut, form: e.form(scope)}, 405, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(t, c.rq)
			checkError(t, w, c.status, c.code)
			if c.status == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
		})
	}
	if strings.Contains(e.log.String(), e.secret) {
		t.Error("log contains the client secret")
	}
}

// A body over the limit is refused even when Content-Length does not say
// so (chunked uploads).
func TestTokenEndpointOversizeChunked(t *testing.T) {
	e := newEndpointEnv(t)
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(strings.Repeat("a", MaxTokenRequestSize+1)))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ep.ServeToken(w, r, e.tenant)
	checkError(t, w, http.StatusRequestEntityTooLarge, "invalid_request")
}

func TestTokenEndpointDoesNotLogTokens(t *testing.T) {
	e := newEndpointEnv(t)
	w := e.do(t, request{form: e.form(graphAud + "/.default")})
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.AccessToken == "" {
		t.Fatalf("%s: %v", w.Body, err)
	}
	sig := resp.AccessToken[strings.LastIndex(resp.AccessToken, ".")+1:]
	if logs := e.log.String(); strings.Contains(logs, sig) || strings.Contains(logs, e.secret) {
		t.Errorf("log leaks: %s", logs)
	}
}

func TestServeJWKS(t *testing.T) {
	e := newEndpointEnv(t)
	w := httptest.NewRecorder()
	e.ep.ServeJWKS(w, httptest.NewRequest(http.MethodGet, "/keys", nil), e.tenant)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != e.kid(t, e.tenant.ID) {
		t.Errorf("jwks = %s (%v)", w.Body, err)
	}

	w = httptest.NewRecorder()
	e.ep.ServeJWKS(w, httptest.NewRequest(http.MethodPost, "/keys", nil), e.tenant)
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Header().Get("Allow"), "GET") {
		t.Errorf("POST: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}
