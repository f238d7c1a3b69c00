// Package webui is the JSON surface of security keys and passkeys: the
// endpoints a signed-in user registers keys with from their own client.
// The end-user pages (internal/web) run the same ceremonies as forms, with
// the browser script internal/method/webauthn's Script.
package webui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/signin"
	"github.com/vakt-id/vakt/internal/store"
)

// RecentMFA is how long after a multi-factor sign-in a user may add a key
// when they already have a method: adding a phishing-resistant credential
// must not be open to a session that only proved a password.
const RecentMFA = time.Hour

// Handler serves the endpoints of one vakt.
type Handler struct {
	SignIn       *signin.Engine
	SecurityInfo *securityinfo.Service
	// Tenant resolves the {tenant} path segment (an id or a domain).
	Tenant func(ctx context.Context, ref string) (store.Tenant, error)
	Now    func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Mount adds the routes to mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/api/securityinfo/fido2/begin", h.withTenant(h.begin))
	mux.HandleFunc("POST /{tenant}/api/securityinfo/fido2/finish", h.withTenant(h.finish))
}

func (h *Handler) api() *signin.API { return &signin.API{Engine: h.SignIn} }

func (h *Handler) withTenant(fn func(http.ResponseWriter, *http.Request, store.Tenant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := h.Tenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			h.api().Fail(w, r, err)
			return
		}
		fn(w, r, t)
	}
}

// signedIn finds the caller's session and user. The request must also be
// same-origin JSON: a cross-site form cannot send application/json, and
// a browser's Origin header, when present, must be vakt's own.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, t store.Tenant, in any) (store.Session, store.User, error) {
	if rp := h.SecurityInfo.WebAuthn; rp != nil {
		if o := r.Header.Get("Origin"); o != "" && o != rp.Origin {
			return store.Session{}, store.User{}, apperr.Forbiddenf("Cross-origin requests are not accepted.").WithCode("crossOrigin")
		}
	}
	if err := signin.DecodeJSON(w, r, in); err != nil {
		return store.Session{}, store.User{}, err
	}
	s, err := h.SignIn.Session(r.Context(), t.ID, signin.SessionToken(r))
	if errors.Is(err, store.ErrNotFound) {
		return s, store.User{}, apperr.Unauthenticatedf("Sign in first.").WithCode("noSession")
	}
	if err != nil {
		return s, store.User{}, err
	}
	u, err := h.SignIn.Store.GetUser(r.Context(), t.ID, s.UserID)
	if err != nil {
		return s, u, apperr.FromStore(err, "The user")
	}
	if !u.AccountEnabled {
		return s, u, apperr.Forbiddenf("Your account is disabled.").WithCode("accountDisabled")
	}
	return s, u, nil
}

// needsRecentMFA refuses a session that did not pass MFA in the last
// RecentMFA when the user already has a method that could have: the first
// method may be added after a password, later ones only after MFA.
func (h *Handler) needsRecentMFA(ctx context.Context, tenantID string, s store.Session, u store.User) error {
	ms, err := h.SecurityInfo.Methods(ctx, tenantID, u.ID)
	if err != nil {
		return err
	}
	has := false
	for _, m := range ms {
		for _, o := range method.Options(securityinfo.Registered(m, h.now())) {
			has = has || method.UsableForMFA(o)
		}
	}
	if !has || (s.MFAAt != nil && h.now().Sub(*s.MFAAt) <= RecentMFA) {
		return nil
	}
	return apperr.Forbiddenf("Sign in again with multi-factor authentication to add a security key.").WithCode("mfaRequired")
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	var in struct {
		Passkey bool `json:"passkey"`
	}
	s, u, err := h.signedIn(w, r, t, &in)
	if err == nil {
		err = h.needsRecentMFA(r.Context(), t.ID, s, u)
	}
	var en securityinfo.Fido2Enrolment
	if err == nil {
		en, err = h.SecurityInfo.BeginFido2(r.Context(), t.ID, u.ID, in.Passkey)
	}
	if err != nil {
		h.api().Fail(w, r, err)
		return
	}
	signin.WriteJSON(w, http.StatusOK, en)
}

func (h *Handler) finish(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	var in struct {
		RegistrationID string          `json:"registrationId"`
		DisplayName    string          `json:"displayName"`
		Credential     json.RawMessage `json:"credential"`
	}
	s, u, err := h.signedIn(w, r, t, &in)
	if err == nil {
		err = h.needsRecentMFA(r.Context(), t.ID, s, u)
	}
	var m store.Method
	if err == nil {
		actor := directory.Actor{UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, IPAddress: ipString(r)}
		m, err = h.SecurityInfo.FinishFido2(r.Context(), actor, t.ID, u.ID, in.RegistrationID, in.DisplayName, in.Credential)
	}
	if err != nil {
		h.api().Fail(w, r, err)
		return
	}
	out := map[string]any{"id": m.ID, "displayName": m.DisplayName, "createdDateTime": m.CreatedAt}
	if p := m.Props.Fido2; p != nil {
		out["aaGuid"], out["attestationLevel"], out["passkey"] = p.AAGUID, p.AttestationLevel, p.Discoverable
	}
	signin.WriteJSON(w, http.StatusCreated, out)
}

func ipString(r *http.Request) string {
	if a := httpx.ClientIPFrom(r.Context()); a.IsValid() {
		return a.String()
	}
	return ""
}
