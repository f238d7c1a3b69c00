// Package graphapi serves vakt's admin API in the wire format of a subset
// of Microsoft Graph (v1.0 and beta), so existing admin scripts and SDK
// clients work against vakt with only a base-URL change. Handlers decode
// and validate, then call the admin service; they hold no rules of their own.
package graphapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Authenticator checks a request's bearer token and says who it is and for
// which tenant. It returns an *apperr.Error of kind Unauthenticated when
// the token is missing or invalid.
type Authenticator func(r *http.Request) (tenantID string, actor directory.Actor, err error)

// API is the Graph-compatible admin API.
type API struct {
	Admin        *admin.Service
	SecurityInfo *securityinfo.Service
	Policies     *authpolicy.Service
	Store        store.Store
	Authenticate Authenticator
	PublicURL    string // no trailing slash
	MaxBodyBytes int64
	Log          *slog.Logger

	// ConditionalAccess manages conditional access policies and named
	// locations; nil leaves their routes out.
	ConditionalAccess *capolicy.Service
}

// call is one authenticated request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	tenant  string
	actor   directory.Actor
	version string // "v1.0" or "beta"
}

type handlerFunc func(c *call) error

// Mount registers every route under /v1.0/ and /beta/.
func (a *API) Mount(mux *http.ServeMux) {
	routes := map[string]map[string]handlerFunc{}
	add := func(method, path string, h handlerFunc) {
		if routes[path] == nil {
			routes[path] = map[string]handlerFunc{}
		}
		routes[path][method] = h
	}
	a.userRoutes(add)
	a.groupRoutes(add)
	a.roleRoutes(add)
	a.auditRoutes(add)
	a.signInRoutes(add)
	a.methodRoutes(add)
	a.policyRoutes(add)
	a.caRoutes(add)
	a.applicationRoutes(add)
	for _, version := range []string{"v1.0", "beta"} {
		for path, methods := range routes {
			mux.Handle("/"+version+path, a.dispatch(version, methods))
		}
	}
}

// Owns reports whether a path is in the API's namespace, so the server's
// fallback can answer unknown API paths with a Graph error body.
func Owns(path string) bool {
	return strings.HasPrefix(path, "/v1.0/") || strings.HasPrefix(path, "/beta/")
}

// NotFound answers an unknown API path.
func (a *API) NotFound(w http.ResponseWriter, r *http.Request) {
	version, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	a.writeError(w, r, apperr.NotFoundf("Resource not found for the segment '%s'.", firstSegment(r.URL.Path, version)).WithCode("BadRequest"), http.StatusNotFound)
}

func firstSegment(path, version string) string {
	rest := strings.TrimPrefix(path, "/"+version+"/")
	seg, _, _ := strings.Cut(rest, "/")
	if len(seg) > 64 {
		seg = seg[:64]
	}
	return seg
}

// dispatch picks the handler by method (405 with a Graph body and an
// Allow header otherwise), authenticates, and turns returned errors into
// Graph error responses.
func (a *API) dispatch(version string, methods map[string]handlerFunc) http.Handler {
	allow := make([]string, 0, len(methods))
	for m := range methods {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.writeError(w, r, &apperr.Error{Code: "Request_BadRequest", Message: "The HTTP method '" + safeMethod(r.Method) + "' is not allowed on this resource."}, http.StatusMethodNotAllowed)
			return
		}
		tenant, actor, err := a.Authenticate(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		actor.IPAddress = httpx.ClientIPFrom(r.Context()).String()
		ctx := audit.WithCorrelationID(r.Context(), httpx.RequestIDFrom(r.Context()))
		c := &call{w: w, r: r.WithContext(ctx), ctx: ctx, tenant: tenant, actor: actor, version: version}
		if err := h(c); err != nil {
			a.fail(w, r, err)
		}
	})
}

func safeMethod(m string) string {
	if len(m) > 16 || strings.ContainsFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) {
		return "?"
	}
	return m
}

// require refuses the call unless the actor may perform act.
func (c *call) require(act directory.Action) error {
	if !directory.Allowed(c.actor, act) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return nil
}

// fail writes err as a Graph error; errors without a safe message are
// logged and reported as a generic 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apperr.As(err)
	if !ok {
		if errors.Is(err, context.Canceled) {
			return
		}
		a.Log.ErrorContext(r.Context(), "graph api request failed", "err", err, "path", r.URL.Path,
			"request_id", httpx.RequestIDFrom(r.Context()))
		a.writeError(w, r, &apperr.Error{Code: "generalException", Message: "An internal error occurred. Quote the request-id when you report it."}, http.StatusInternalServerError)
		return
	}
	status := map[apperr.Kind]int{
		apperr.Invalid: http.StatusBadRequest, apperr.NotFound: http.StatusNotFound, apperr.Conflict: http.StatusConflict,
		apperr.Forbidden: http.StatusForbidden, apperr.Unauthenticated: http.StatusUnauthorized,
		apperr.TooLarge: http.StatusRequestEntityTooLarge, apperr.RateLimited: http.StatusTooManyRequests,
	}[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if e.Kind == apperr.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vakt", error="invalid_token"`)
	}
	a.writeError(w, r, e, status)
}

// base is the absolute URL of the API version root, for links.
func (c *call) base(a *API) string { return a.PublicURL + "/" + c.version }

func contains(list []string, s string) bool { return slices.Contains(list, s) }
