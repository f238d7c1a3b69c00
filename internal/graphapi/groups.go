package graphapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

var groupSpec = odata.Spec{
	Fields: map[string]odata.FieldKind{
		"id": odata.String, "displayName": odata.String, "mailNickname": odata.String, "createdDateTime": odata.DateTime,
	},
	Selectable: []string{"id", "displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes", "createdDateTime"},
	Orderable:  []string{"displayName", "createdDateTime"},
	MaxTop:     999,
	DefaultTop: 100,
}

func groupJSON(g store.Group) map[string]any {
	return map[string]any{
		"id": g.ID, "displayName": g.DisplayName, "description": nullable(g.Description),
		"mailNickname": g.MailNickname, "mailEnabled": false, "securityEnabled": true, "groupTypes": []string{},
		"createdDateTime": timeJSON(g.CreatedAt),
	}
}

func (a *API) groupRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/groups", a.listGroups)
	add("POST", "/groups", a.createGroup)
	add("GET", "/groups/{id}", a.getGroup)
	add("PATCH", "/groups/{id}", a.updateGroup)
	add("DELETE", "/groups/{id}", a.deleteGroup)
	add("GET", "/groups/{id}/members", a.groupMembers(false))
	add("GET", "/groups/{id}/transitiveMembers", a.groupMembers(true))
	add("POST", "/groups/{id}/members/$ref", a.addMember)
	add("DELETE", "/groups/{id}/members/{member}/$ref", a.removeMember)
	add("GET", "/groups/{id}/memberOf", a.groupMemberOf)
}

func (a *API) listGroups(c *call) error {
	if err := c.require(directory.ActionGroupRead); err != nil {
		return err
	}
	o, err := c.parseQuery(groupSpec)
	if err != nil {
		return err
	}
	p, err := a.Store.ListGroups(c.ctx, c.tenant, listQuery(o))
	if err != nil {
		return storeQueryError(err)
	}
	items := make([]map[string]any, len(p.Items))
	for i, g := range p.Items {
		items[i] = groupJSON(g)
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, "groups", items, p.Next, count, o.Select)
}

func (a *API) getGroup(c *call) error {
	if err := c.require(directory.ActionGroupRead); err != nil {
		return err
	}
	g, err := a.Admin.FindGroup(c.ctx, c.tenant, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "groups/$entity", groupJSON(g))
}

var groupProps = []string{"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes"}

func (a *API) readGroup(c *call) (admin.GroupPatch, error) {
	var p admin.GroupPatch
	b, err := c.decode(a, "microsoft.graph.group", groupProps...)
	if err != nil {
		return p, err
	}
	if p.DisplayName, err = b.str("displayName"); err != nil {
		return p, err
	}
	if p.Description, err = b.str("description"); err != nil {
		return p, err
	}
	if p.MailNickname, err = b.str("mailNickname"); err != nil {
		return p, err
	}
	// vakt groups are security groups; say so instead of ignoring a
	// request for something else.
	if v, err := b.boolean("mailEnabled"); err != nil {
		return p, err
	} else if v != nil && *v {
		return p, b.typeErr("mailEnabled", "false (vakt groups are security groups)")
	}
	if v, err := b.boolean("securityEnabled"); err != nil {
		return p, err
	} else if v != nil && !*v {
		return p, b.typeErr("securityEnabled", "true (vakt groups are security groups)")
	}
	if raw, ok := b.fields["groupTypes"]; ok && strings.TrimSpace(string(raw)) != "[]" {
		return p, b.typeErr("groupTypes", "an empty list (dynamic and unified groups are not supported)")
	}
	return p, nil
}

func (a *API) createGroup(c *call) error {
	p, err := a.readGroup(c)
	if err != nil {
		return err
	}
	if deref(p.DisplayName) == "" {
		return requiredErr("displayName")
	}
	g, err := a.Admin.CreateGroup(c.ctx, c.actor, c.tenant, admin.NewGroup{DisplayName: deref(p.DisplayName),
		Description: deref(p.Description), MailNickname: deref(p.MailNickname)})
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, "groups/$entity", groupJSON(g))
}

func (a *API) updateGroup(c *call) error {
	p, err := a.readGroup(c)
	if err != nil {
		return err
	}
	if _, err := a.Admin.UpdateGroup(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), p); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteGroup(c *call) error {
	if err := a.Admin.DeleteGroup(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) groupMembers(transitive bool) handlerFunc {
	return func(c *call) error {
		if err := c.require(directory.ActionGroupRead); err != nil {
			return err
		}
		id := c.r.PathValue("id")
		var objs []store.DirectoryObject
		var err error
		if transitive {
			objs, err = a.Store.ListTransitiveMembers(c.ctx, c.tenant, id)
		} else {
			objs, err = a.Store.ListMembers(c.ctx, c.tenant, id)
		}
		if err != nil {
			return apperr.FromStore(err, "Resource '"+truncate(id, 64)+"'")
		}
		return a.objectCollection(c, "directoryObjects", objs)
	}
}

func (a *API) groupMemberOf(c *call) error {
	if err := c.require(directory.ActionGroupRead); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	if _, err := a.Admin.FindGroup(c.ctx, c.tenant, id); err != nil {
		return err
	}
	objs, err := a.Store.MemberOf(c.ctx, c.tenant, id)
	if err != nil {
		return err
	}
	return a.objectCollection(c, "directoryObjects", objs)
}

// addMember takes {"@odata.id": "<base>/v1.0/directoryObjects/{id}"};
// /users/{id} and /groups/{id} references are accepted too.
func (a *API) addMember(c *call) error {
	b, err := c.decode(a, "microsoft.graph.directoryObject")
	if err != nil {
		return err
	}
	ref, err := b.str("@odata.id")
	if err != nil {
		return err
	}
	if ref == nil || *ref == "" {
		return requiredErr("@odata.id")
	}
	id, ok := refID(*ref)
	if !ok {
		return apperr.Invalidf("Invalid object identifier '%s'.", truncate(*ref, 200)).WithTarget("@odata.id")
	}
	if err := a.Admin.AddMember(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), id); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func refID(ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", false
	}
	kind, id := segs[len(segs)-2], segs[len(segs)-1]
	if id == "" || (kind != "directoryObjects" && kind != "users" && kind != "groups") {
		return "", false
	}
	return id, true
}

func (a *API) removeMember(c *call) error {
	if err := a.Admin.RemoveMember(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), c.r.PathValue("member")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func requiredErr(name string) error {
	return apperr.Invalidf("Property '%s' is required.", name).WithTarget(name)
}
