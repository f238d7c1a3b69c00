package graphapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

func (a *API) applicationRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/applications", a.listApplications)
	add("POST", "/applications", a.createApplication)
	add("GET", "/applications/{id}", a.getApplication)
	add("PATCH", "/applications/{id}", a.updateApplication)
	add("DELETE", "/applications/{id}", a.deleteApplication)
	add("POST", "/applications/{id}/addPassword", a.addPassword)
}

func uriListJSON(uris []string) map[string]any {
	if uris == nil {
		uris = []string{}
	}
	return map[string]any{"redirectUris": uris}
}

func passwordCredentialJSON(p store.PasswordCredential, secret any) map[string]any {
	return map[string]any{"keyId": p.KeyID, "displayName": nullable(p.DisplayName), "hint": p.Hint, "customKeyIdentifier": nil,
		"startDateTime": timeJSON(p.StartAt), "endDateTime": timeJSON(p.EndAt), "secretText": secret}
}

func applicationJSON(app store.App) map[string]any {
	creds := make([]map[string]any, 0, len(app.Passwords))
	for _, p := range app.Passwords {
		creds = append(creds, passwordCredentialJSON(p, nil))
	}
	return map[string]any{
		"id": app.ID, "appId": app.AppID, "displayName": app.DisplayName, "createdDateTime": timeJSON(app.CreatedAt),
		"signInAudience": "AzureADMyOrg", "web": uriListJSON(app.RedirectURIs), "spa": uriListJSON(app.SPARedirectURIs),
		"publicClient": uriListJSON(app.PublicClientRedirectURIs), "passwordCredentials": creds,
	}
}

// platformURIs reads {"redirectUris": [...]} of one platform.
func platformURIs(b *body, name string) (*[]string, error) {
	obj, err := b.object(name, "microsoft.graph."+map[string]string{"web": "webApplication", "spa": "spaApplication",
		"publicClient": "publicClientApplication"}[name], "redirectUris")
	if err != nil || obj == nil {
		return nil, err
	}
	raw, ok := obj.fields["redirectUris"]
	if !ok {
		return nil, nil
	}
	var uris []string
	if string(raw) == "null" || json.Unmarshal(raw, &uris) != nil {
		return nil, obj.typeErr("redirectUris", "a list of strings")
	}
	if uris == nil {
		uris = []string{}
	}
	return &uris, nil
}

func (a *API) readApplication(c *call) (admin.AppPatch, error) {
	var p admin.AppPatch
	b, err := c.decode(a, "microsoft.graph.application", "displayName", "web", "spa", "publicClient")
	if err != nil {
		return p, err
	}
	if p.DisplayName, err = b.str("displayName"); err != nil {
		return p, err
	}
	if p.Web, err = platformURIs(b, "web"); err != nil {
		return p, err
	}
	if p.SPA, err = platformURIs(b, "spa"); err != nil {
		return p, err
	}
	if p.PublicClient, err = platformURIs(b, "publicClient"); err != nil {
		return p, err
	}
	return p, nil
}

func (a *API) listApplications(c *call) error {
	apps, err := a.Admin.ListApplications(c.ctx, c.actor, c.tenant)
	if err != nil {
		return err
	}
	page, next, err := pageSlice(c, apps, 100)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(page))
	for i, app := range page {
		items[i] = applicationJSON(app)
	}
	return a.collection(c, "applications", items, next, nil, nil)
}

func (a *API) getApplication(c *call) error {
	app, err := a.Admin.FindApplication(c.ctx, c.actor, c.tenant, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "applications/$entity", applicationJSON(app))
}

func (a *API) createApplication(c *call) error {
	p, err := a.readApplication(c)
	if err != nil {
		return err
	}
	if deref(p.DisplayName) == "" {
		return requiredErr("displayName")
	}
	app, err := a.Admin.CreateApplication(c.ctx, c.actor, c.tenant, p)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, "applications/$entity", applicationJSON(app))
}

func (a *API) updateApplication(c *call) error {
	p, err := a.readApplication(c)
	if err != nil {
		return err
	}
	if p.DisplayName != nil && *p.DisplayName == "" {
		return requiredErr("displayName")
	}
	if _, err := a.Admin.UpdateApplication(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), p); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteApplication(c *call) error {
	if err := a.Admin.DeleteApplication(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// addPassword: POST /applications/{id}/addPassword; the answer holds the
// secret (secretText), shown this once.
func (a *API) addPassword(c *call) error {
	b, err := c.decode(a, "microsoft.graph.addPassword", "passwordCredential")
	if err != nil {
		return err
	}
	var name string
	var end *time.Time
	cred, err := b.object("passwordCredential", "microsoft.graph.passwordCredential", "displayName", "endDateTime", "startDateTime")
	if err != nil {
		return err
	}
	if cred != nil {
		if n, err := cred.str("displayName"); err != nil {
			return err
		} else if n != nil {
			name = *n
		}
		if s, err := cred.str("endDateTime"); err != nil {
			return err
		} else if s != nil && *s != "" {
			t, err := time.Parse(time.RFC3339, *s)
			if err != nil {
				return apperr.Invalidf("endDateTime must be a date and time such as 2027-01-31T00:00:00Z.").WithTarget("passwordCredential.endDateTime")
			}
			end = &t
		}
		if cred.has("startDateTime") {
			return apperr.Invalidf("startDateTime cannot be chosen: a secret is valid from when it is added.").WithTarget("passwordCredential.startDateTime")
		}
	}
	p, secret, err := a.Admin.AddPassword(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), name, end, tokens.NewClientSecret)
	if err != nil {
		return err
	}
	c.w = noStore{c.w} // the answer holds a secret: no cache may keep it
	return a.entity(c, http.StatusOK, "microsoft.graph.passwordCredential", passwordCredentialJSON(p, secret))
}

// noStore sends Cache-Control: no-store whatever the writer set before.
type noStore struct{ http.ResponseWriter }

func (n noStore) WriteHeader(status int) {
	n.Header().Set("Cache-Control", "no-store")
	n.ResponseWriter.WriteHeader(status)
}
