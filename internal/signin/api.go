package signin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// SessionCookie is the cookie that carries a browser's session token.
const SessionCookie = "vakt_session"

// API is the JSON sign-in API for native clients and tests
// (docs/signin-api.md). The router resolves the tenant.
type API struct {
	Engine        *Engine
	SecureCookies bool
}

const maxAPIBody = 64 << 10

// Serve handles /{tenant}/api/signin… and /{tenant}/api/session,
// /{tenant}/api/signout for the tenant; rest is the path after /api/.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, tenant store.Tenant, rest string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	ctx := r.Context()
	var v View
	var err error
	switch {
	case len(parts) == 1 && parts[0] == "signin" && r.Method == http.MethodPost:
		var in struct {
			Username    string `json:"username"`
			LetMeChoose bool   `json:"letMeChoose"`
			AppID       string `json:"appId"`
			DeviceID    string `json:"deviceId"`
			Locale      string `json:"locale"`
			StepUp      bool   `json:"stepUp"` // MFA inside the session (stepup.go), or a sign-in that must use MFA
		}
		if err = decode(w, r, &in); err == nil {
			c := Client{App: in.AppID, Kind: policy.ClientMobileDesktop, IP: httpx.ClientIPFrom(ctx), UserAgent: truncate(r.UserAgent(), 512),
				DeviceID: in.DeviceID, LetUserChoose: in.LetMeChoose, CorrelationID: httpx.RequestIDFrom(ctx), StepUp: in.StepUp,
				Locale: codeLocale(in.Locale)}
			if tok := token(r); in.StepUp && tok != "" {
				v, err = a.Engine.StartStepUp(ctx, tenant.ID, tok, c)
			} else {
				v, err = a.Engine.Start(ctx, tenant.ID, in.Username, c)
			}
			if err == nil {
				writeJSON(w, http.StatusCreated, v)
				return
			}
		}
	case len(parts) == 2 && parts[0] == "signin" && parts[1] == "passkey" && r.Method == http.MethodPost:
		var in struct {
			AppID    string `json:"appId"`
			DeviceID string `json:"deviceId"`
		}
		if err = decode(w, r, &in); err == nil {
			c := Client{App: in.AppID, Kind: policy.ClientMobileDesktop, IP: httpx.ClientIPFrom(ctx), UserAgent: truncate(r.UserAgent(), 512),
				DeviceID: in.DeviceID, CorrelationID: httpx.RequestIDFrom(ctx)}
			if v, err = a.Engine.StartPasskey(ctx, tenant.ID, c); err == nil {
				writeJSON(w, http.StatusCreated, v)
				return
			}
		}
	case len(parts) == 2 && parts[0] == "signin" && r.Method == http.MethodGet:
		v, err = a.Engine.Get(ctx, tenant.ID, parts[1])
	case len(parts) >= 3 && parts[0] == "signin" && r.Method == http.MethodPost:
		v, err = a.step(w, r, tenant.ID, parts[1], strings.Join(parts[2:], "/"))
	case len(parts) == 1 && parts[0] == "legacy" && r.Method == http.MethodGet:
		a.legacy(w, r, tenant)
		return
	case len(parts) == 1 && parts[0] == "session" && r.Method == http.MethodGet:
		a.session(w, r, tenant.ID)
		return
	case len(parts) == 1 && parts[0] == "signout" && r.Method == http.MethodPost:
		if tok := token(r); tok == "" || a.Engine.SignOut(ctx, tenant.ID, tok) != nil {
			err = apperr.Unauthenticatedf("No signed-in session.").WithCode("noSession")
		} else {
			http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteLaxMode})
			w.WriteHeader(http.StatusNoContent)
			return
		}
	default:
		err = apperr.NotFoundf("No such sign-in endpoint.").WithCode("notFound")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if v.Session != nil {
		c := &http.Cookie{Name: SessionCookie, Value: v.Session.Token, Path: "/", HttpOnly: true, Secure: a.SecureCookies, SameSite: http.SameSiteLaxMode}
		if v.Session.Persistent {
			c.Expires = v.Session.ExpiresAt
		}
		http.SetCookie(w, c)
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) step(w http.ResponseWriter, r *http.Request, tenantID, flowID, step string) (View, error) {
	ctx := r.Context()
	e := a.Engine
	var in struct {
		Password            string `json:"password"`
		StaySignedIn        bool   `json:"staySignedIn"`
		TemporaryAccessPass string `json:"temporaryAccessPass"`
		Option              string `json:"option"`
		Code                string `json:"code"`
		NewPassword         string `json:"newPassword"`
		PhoneNumber         string `json:"phoneNumber"` // register/begin of a phone
		Wait                int    `json:"wait"`        // push/poll: seconds to wait for the answer
		// Security keys and passkeys: the browser's answer, the kind
		// of key to register and its name.
		Credential  json.RawMessage `json:"credential"`
		Passkey     bool            `json:"passkey"`
		DisplayName string          `json:"displayName"`
	}
	if err := decode(w, r, &in); err != nil {
		return View{}, err
	}
	switch step {
	case "password":
		return e.Password(ctx, tenantID, flowID, in.Password, in.StaySignedIn)
	case "tap":
		return e.TemporaryAccessPass(ctx, tenantID, flowID, in.TemporaryAccessPass)
	case "select":
		return e.Select(ctx, tenantID, flowID, method.Option(in.Option))
	case "verify":
		if len(in.Credential) > 0 {
			return e.VerifyKey(ctx, tenantID, flowID, in.Credential)
		}
		return e.Verify(ctx, tenantID, flowID, in.Code)
	case "passkey":
		return e.Passkey(ctx, tenantID, flowID, in.Credential)
	case "register/fido2/begin":
		return e.RegisterKeyBegin(ctx, tenantID, flowID, in.Passkey)
	case "register/fido2/finish":
		return e.RegisterKeyFinish(ctx, tenantID, flowID, in.Credential, in.DisplayName)
	case "register/begin":
		if in.Option == string(method.OptionPush) {
			return e.RegisterPushBegin(ctx, tenantID, flowID)
		}
		if in.Option == string(method.OptionSMS) || in.Option == string(method.OptionVoiceMobile) {
			return e.RegisterPhoneBegin(ctx, tenantID, flowID, method.Option(in.Option), in.PhoneNumber)
		}
		return e.RegisterBegin(ctx, tenantID, flowID)
	case "push/poll":
		if in.Wait < 0 || in.Wait > int(MaxPushWait/time.Second) {
			return View{}, apperr.Invalidf("wait must be from 0 to %d seconds.", int(MaxPushWait/time.Second)).WithTarget("wait").WithCode("invalidRequest")
		}
		return e.PollPush(ctx, tenantID, flowID, time.Duration(in.Wait)*time.Second)
	case "register/finish":
		return e.RegisterFinish(ctx, tenantID, flowID, in.Code)
	case "register/skip":
		return e.Skip(ctx, tenantID, flowID)
	case "password/change":
		return e.ChangePassword(ctx, tenantID, flowID, in.NewPassword)
	}
	return View{}, apperr.NotFoundf("No such sign-in step %q.", truncate(step, 32)).WithCode("notFound")
}

func (a *API) session(w http.ResponseWriter, r *http.Request, tenantID string) {
	s, err := a.Engine.Session(r.Context(), tenantID, token(r))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, apperr.Unauthenticatedf("No signed-in session.").WithCode("noSession"))
			return
		}
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"userId": s.UserID, "authTime": s.AuthAt, "mfaTime": s.MFAAt, "amr": s.Methods,
		"expiresAt": s.ExpiresAt, "persistent": s.Persistent})
}

// SessionToken is the session token a request carries, "" if none.
func SessionToken(r *http.Request) string { return token(r) }

// DecodeJSON and WriteJSON are the API's JSON conventions, for handlers
// that extend it (the security key endpoints).
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error { return decode(w, r, v) }
func WriteJSON(w http.ResponseWriter, status int, v any)             { writeJSON(w, status, v) }

// token reads a session token from "Authorization: Session <token>" or
// the session cookie.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Session") {
			return strings.TrimSpace(tok)
		}
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
			return nil // steps without fields may send nothing
		}
		return apperr.Invalidf("Send JSON with Content-Type: application/json.").WithCode("invalidRequest")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		return apperr.TooLargef("The request body is too large.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.Invalidf("The request body is not valid: %s.", jsonProblem(err)).WithCode("invalidRequest")
	}
	if dec.More() {
		return apperr.Invalidf("The request body has data after the JSON object.").WithCode("invalidRequest")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return "field " + strconv.Quote(ute.Field) + " has the wrong type"
	case errors.As(err, &se):
		return "malformed JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 40)
	}
	return "malformed JSON"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Fail answers err in the API's error shape.
func (a *API) Fail(w http.ResponseWriter, r *http.Request, err error) { a.fail(w, r, err) }

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := apperr.As(err)
	if !ok {
		a.Engine.Logger.ErrorContext(r.Context(), "sign-in API", "err", err, "request_id", httpx.RequestIDFrom(r.Context()))
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "serverError",
			"message": "Something went wrong. Try again; quote " + httpx.RequestIDFrom(r.Context()) + " if it keeps happening."}})
		return
	}
	status := map[apperr.Kind]int{apperr.Invalid: 400, apperr.NotFound: 404, apperr.Conflict: 409, apperr.Forbidden: 403,
		apperr.Unauthenticated: 401, apperr.TooLarge: 413, apperr.RateLimited: 429}[ae.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if wait, ok := securityinfo.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": ae.Code, "message": ae.Message}})
}

// legacy is an app endpoint that takes HTTP basic authentication: the
// "legacy authentication" client type of conditional access (P-6.4). It
// cannot do a second factor, so a sign-in that needs one is refused; it
// exists so that blocking legacy authentication has something real to
// block, and so administrators can see who still uses it.
func (a *API) legacy(w http.ResponseWriter, r *http.Request, tenant store.Tenant) {
	ctx := r.Context()
	user, pass, ok := r.BasicAuth()
	challenge := func() { w.Header().Set("WWW-Authenticate", `Basic realm="vakt", charset="UTF-8"`) }
	if !ok {
		challenge()
		a.fail(w, r, apperr.Unauthenticatedf("Basic authentication is required.").WithCode("noCredentials"))
		return
	}
	c := Client{Kind: policy.ClientOther, IP: httpx.ClientIPFrom(ctx), UserAgent: truncate(r.UserAgent(), 512),
		CorrelationID: httpx.RequestIDFrom(ctx)}
	v, err := a.Engine.Start(ctx, tenant.ID, user, c)
	if err == nil {
		v, err = a.Engine.Password(ctx, tenant.ID, v.FlowID, pass, false)
	}
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Code == "invalidCredentials" {
			challenge()
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": ae.Code, "message": ae.Message}})
			return
		}
		a.fail(w, r, err)
		return
	}
	switch v.State {
	case StateDone:
		// Nothing to keep: the answer is the whole exchange.
		_ = a.Engine.SignOut(ctx, tenant.ID, v.Session.Token)
		writeJSON(w, http.StatusOK, map[string]any{"userPrincipalName": user, "authenticated": true})
	case StateBlocked:
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{"code": "blocked",
			"message": v.Blocked.Message, "errorCode": v.Blocked.Code, "correlationId": v.Blocked.CorrelationID}})
	default:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "interactionRequired",
			"message": "This sign-in needs a step this client cannot do (a second factor, registration or a new password). Use an app or browser that supports modern sign-in."}})
	}
}

// codeLocale keeps the languages texts and calls are written in; anything
// else is sent in English.
func codeLocale(l string) string {
	if l == "sv" {
		return l
	}
	return ""
}
