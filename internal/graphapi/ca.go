package graphapi

import (
	"net/http"

	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

// Conditional access (graph-api.md §3), under /v1.0 and /beta alike:
//
//	GET|POST         /identity/conditionalAccess/policies
//	GET|PATCH|DELETE /identity/conditionalAccess/policies/{id}
//	GET|POST         /identity/conditionalAccess/namedLocations
//	GET|PATCH|DELETE /identity/conditionalAccess/namedLocations/{id}
//
// Reads need directory.ActionPolicyRead, writes
// directory.ActionConditionalAccess. POST answers 201 with the created
// object; PATCH and DELETE answer 204. The documents, their validation
// and the audit entries are internal/capolicy's.

const (
	caPoliciesPath  = "/identity/conditionalAccess/policies"
	caLocationsPath = "/identity/conditionalAccess/namedLocations"
	caPoliciesSet   = "identity/conditionalAccess/policies"
	caLocationsSet  = "identity/conditionalAccess/namedLocations"
)

var caPolicySpec = odata.Spec{
	Fields: map[string]odata.FieldKind{
		"id": odata.String, "displayName": odata.String, "state": odata.Enum,
		"createdDateTime": odata.DateTime, "modifiedDateTime": odata.DateTime,
	},
	Selectable: []string{"id", "templateId", "displayName", "description", "createdDateTime", "modifiedDateTime", "state",
		"conditions", "grantControls", "sessionControls"},
	Orderable:  []string{"displayName", "createdDateTime", "modifiedDateTime"},
	MaxTop:     999,
	DefaultTop: 100,
}

var caLocationSpec = odata.Spec{
	Fields: map[string]odata.FieldKind{
		"id": odata.String, "displayName": odata.String, "createdDateTime": odata.DateTime, "modifiedDateTime": odata.DateTime,
	},
	Selectable: []string{"id", "displayName", "createdDateTime", "modifiedDateTime", "isTrusted", "ipRanges",
		"countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod"},
	Orderable:  []string{"displayName", "createdDateTime", "modifiedDateTime"},
	MaxTop:     999,
	DefaultTop: 100,
}

func (a *API) caRoutes(add func(method, path string, h handlerFunc)) {
	if a.ConditionalAccess == nil {
		return
	}
	add("GET", caPoliciesPath, a.listCAPolicies)
	add("POST", caPoliciesPath, a.createCAPolicy)
	add("GET", caPoliciesPath+"/{id}", a.getCAPolicy)
	add("PATCH", caPoliciesPath+"/{id}", a.updateCAPolicy)
	add("DELETE", caPoliciesPath+"/{id}", a.deleteCAPolicy)
	add("GET", caLocationsPath, a.listNamedLocations)
	add("POST", caLocationsPath, a.createNamedLocation)
	add("GET", caLocationsPath+"/{id}", a.getNamedLocation)
	add("PATCH", caLocationsPath+"/{id}", a.updateNamedLocation)
	add("DELETE", caLocationsPath+"/{id}", a.deleteNamedLocation)
	a.caToolRoutes(add) // What If, templates, replay (ca_whatif.go)
}

// jsonObject reads the request body: JSON, within the size limit, one
// object. Its properties are the service's to check (a named location's
// type depends on its @odata.type, so decode's fixed type does not fit).
func (c *call) jsonObject(a *API) ([]byte, error) {
	raw, _, err := c.readObject(a)
	return raw, err
}

// caDoc renders a stored document.
func (c *call) caDoc(doc []byte) (map[string]any, error) {
	return capolicy.Render(doc, c.enumMembers())
}

// ---- Policies ----

func (a *API) listCAPolicies(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	o, err := c.parseQuery(caPolicySpec)
	if err != nil {
		return err
	}
	p, err := a.ConditionalAccess.ListPolicies(c.ctx, c.tenant, listQuery(o))
	if err != nil {
		return storeQueryError(err)
	}
	items := make([]map[string]any, len(p.Items))
	for i, pol := range p.Items {
		if items[i], err = c.caDoc(pol.Doc); err != nil {
			return err
		}
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, caPoliciesSet, items, p.Next, count, o.Select)
}

func (a *API) getCAPolicy(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	p, err := a.ConditionalAccess.Policy(c.ctx, c.tenant, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeCAPolicy(c, http.StatusOK, p)
}

func (a *API) writeCAPolicy(c *call, status int, p store.CAPolicy) error {
	obj, err := c.caDoc(p.Doc)
	if err != nil {
		return err
	}
	return a.entity(c, status, caPoliciesSet+"/$entity", obj)
}

func (a *API) createCAPolicy(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	raw, err := c.jsonObject(a)
	if err != nil {
		return err
	}
	p, err := a.ConditionalAccess.CreatePolicy(c.ctx, c.actor, c.tenant, raw)
	if err != nil {
		return conflictCode(err)
	}
	return a.writeCAPolicy(c, http.StatusCreated, p)
}

func (a *API) updateCAPolicy(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	raw, err := c.jsonObject(a)
	if err != nil {
		return err
	}
	if _, err := a.ConditionalAccess.UpdatePolicy(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), raw); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteCAPolicy(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	if err := a.ConditionalAccess.DeletePolicy(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- Named locations ----

func (a *API) listNamedLocations(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	o, err := c.parseQuery(caLocationSpec)
	if err != nil {
		return err
	}
	p, err := a.ConditionalAccess.ListNamedLocations(c.ctx, c.tenant, listQuery(o))
	if err != nil {
		return storeQueryError(err)
	}
	items := make([]map[string]any, len(p.Items))
	for i, l := range p.Items {
		if items[i], err = c.caDoc(l.Doc); err != nil {
			return err
		}
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, caLocationsSet, items, p.Next, count, o.Select)
}

func (a *API) getNamedLocation(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	l, err := a.ConditionalAccess.NamedLocation(c.ctx, c.tenant, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeNamedLocation(c, http.StatusOK, l)
}

func (a *API) writeNamedLocation(c *call, status int, l store.NamedLocation) error {
	obj, err := c.caDoc(l.Doc)
	if err != nil {
		return err
	}
	return a.entity(c, status, caLocationsSet+"/$entity", obj)
}

func (a *API) createNamedLocation(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	raw, err := c.jsonObject(a)
	if err != nil {
		return err
	}
	l, err := a.ConditionalAccess.CreateNamedLocation(c.ctx, c.actor, c.tenant, raw)
	if err != nil {
		return conflictCode(err)
	}
	return a.writeNamedLocation(c, http.StatusCreated, l)
}

func (a *API) updateNamedLocation(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	raw, err := c.jsonObject(a)
	if err != nil {
		return err
	}
	if _, err := a.ConditionalAccess.UpdateNamedLocation(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), raw); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteNamedLocation(c *call) error {
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	if err := a.ConditionalAccess.DeleteNamedLocation(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
