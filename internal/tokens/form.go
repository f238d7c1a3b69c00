package tokens

import (
	"mime"
	"net/http"
	"net/url"
)

// RequestError is a token request refused before any grant runs: an RFC
// 6749 §5.2 error code, a client-safe description and the HTTP status.
type RequestError struct {
	Status      int
	Code        string
	Description string
}

func (e *RequestError) Error() string { return e.Code + ": " + e.Description }

// Write sends the error as the token endpoint does (no-store JSON).
func (e *RequestError) Write(w http.ResponseWriter) {
	if e.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	writeOAuthError(w, &oauthError{status: e.Status, code: e.Code, desc: e.Description})
}

func toRequestError(oe *oauthError) *RequestError {
	return &RequestError{Status: oe.status, Code: oe.code, Description: oe.desc}
}

// ReadTokenRequest applies the token endpoint's checks on the request
// itself — POST, a form body within MaxTokenRequestSize, no repeated
// parameters — and returns the form. The OpenID Connect provider runs it
// before any grant so every grant gets the same hygiene.
func ReadTokenRequest(w http.ResponseWriter, r *http.Request) (url.Values, *RequestError) {
	if r.Method != http.MethodPost {
		return nil, &RequestError{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "the token endpoint accepts POST only"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, toRequestError(badRequest("invalid_request", "Content-Type must be application/x-www-form-urlencoded"))
	}
	form, oe := readForm(w, r)
	if oe != nil {
		return nil, toRequestError(oe)
	}
	if _, _, basic := r.BasicAuth(); basic && form.Has("client_secret") {
		return nil, toRequestError(badRequest("invalid_request", "use either HTTP Basic or client_secret in the body, not both"))
	}
	return form, nil
}

// AudienceForScope maps the client-credentials scope "<resource>/.default"
// to one of audiences, as the token endpoint always has.
func AudienceForScope(scope string, audiences []string) (string, *RequestError) {
	e := &Endpoint{Audiences: audiences}
	aud, oe := e.audience(url.Values{"scope": {scope}})
	if oe != nil {
		return "", toRequestError(oe)
	}
	return aud, nil
}
