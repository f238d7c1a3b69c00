package graphapi

import "net/http"

// revokeSignInSessions signs the user out of every session; Graph answers
// 200 with an Edm.Boolean.
func (a *API) revokeSignInSessions(c *call) error {
	if _, err := a.Admin.RevokeSessions(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"@odata.context": c.base(a) + "/$metadata#Edm.Boolean", "value": true})
	return nil
}
