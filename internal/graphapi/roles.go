package graphapi

import (
	"net/http"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

func (a *API) roleRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/directoryRoles", a.listDirectoryRoles)
	add("GET", "/directoryRoles/{id}", a.getDirectoryRole)
	add("GET", "/directoryRoles/{id}/members", a.directoryRoleMembers)
	add("GET", "/roleManagement/directory/roleDefinitions", a.listRoleDefinitions)
	add("GET", "/roleManagement/directory/roleDefinitions/{id}", a.getRoleDefinition)
	add("GET", "/roleManagement/directory/roleAssignments", a.listRoleAssignments)
	add("POST", "/roleManagement/directory/roleAssignments", a.createRoleAssignment)
	add("GET", "/roleManagement/directory/roleAssignments/{id}", a.getRoleAssignment)
	add("DELETE", "/roleManagement/directory/roleAssignments/{id}", a.deleteRoleAssignment)
}

// In vakt every built-in role is always active, so a directoryRole's id
// is its template id.
func directoryRoleJSON(r directory.Role) map[string]any {
	return map[string]any{"id": r.ID, "roleTemplateId": r.ID, "displayName": r.DisplayName, "description": r.Description}
}

func roleDefinitionJSON(r directory.Role) map[string]any {
	return map[string]any{"id": r.ID, "templateId": r.ID, "displayName": r.DisplayName, "description": r.Description,
		"isBuiltIn": true, "isEnabled": true, "rolePermissions": []any{}}
}

func roleAssignmentJSON(a store.RoleAssignment) map[string]any {
	return map[string]any{"id": a.ID, "principalId": a.PrincipalID, "roleDefinitionId": a.RoleDefinitionID,
		"directoryScopeId": a.DirectoryScopeID}
}

func findRole(id string) (directory.Role, error) {
	r, ok := directory.RoleByID(id)
	if !ok {
		return r, apperr.NotFoundf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", truncate(id, 64))
	}
	return r, nil
}

func (a *API) listDirectoryRoles(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	o, err := c.parseQuery(odata.Spec{Selectable: []string{"id", "roleTemplateId", "displayName", "description"}})
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(directory.Roles))
	for i, r := range directory.Roles {
		items[i] = directoryRoleJSON(r)
	}
	return a.collection(c, "directoryRoles", items, "", nil, o.Select)
}

func (a *API) getDirectoryRole(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	r, err := findRole(c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "directoryRoles/$entity", directoryRoleJSON(r))
}

func (a *API) directoryRoleMembers(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	r, err := findRole(c.r.PathValue("id"))
	if err != nil {
		return err
	}
	all, err := a.Store.ListRoleAssignments(c.ctx, c.tenant, "")
	if err != nil {
		return err
	}
	var objs []store.DirectoryObject
	for _, x := range all {
		if x.RoleDefinitionID != r.ID {
			continue
		}
		o, err := a.Store.DirectoryObject(c.ctx, c.tenant, x.PrincipalID)
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	return a.objectCollection(c, "directoryObjects", objs)
}

func (a *API) listRoleDefinitions(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	o, err := c.parseQuery(odata.Spec{Selectable: []string{"id", "templateId", "displayName", "description", "isBuiltIn", "isEnabled", "rolePermissions"}})
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(directory.Roles))
	for i, r := range directory.Roles {
		items[i] = roleDefinitionJSON(r)
	}
	return a.collection(c, "roleManagement/directory/roleDefinitions", items, "", nil, o.Select)
}

func (a *API) getRoleDefinition(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	r, err := findRole(c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "roleManagement/directory/roleDefinitions/$entity", roleDefinitionJSON(r))
}

// listRoleAssignments supports the filters scripts use:
// principalId eq '…' and roleDefinitionId eq '…'.
func (a *API) listRoleAssignments(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	q := c.r.URL.Query()
	var principal, roleDef string
	if f := q.Get("$filter"); f != "" {
		field, value, ok := parseSimpleEq(f)
		switch {
		case ok && field == "principalId":
			principal = value
		case ok && field == "roleDefinitionId":
			roleDef = value
		default:
			return apperr.Invalidf("Only $filter=principalId eq '…' or roleDefinitionId eq '…' is supported on role assignments.")
		}
		q.Del("$filter")
	}
	all, err := a.Store.ListRoleAssignments(c.ctx, c.tenant, principal)
	if err != nil {
		return err
	}
	var matching []store.RoleAssignment
	for _, x := range all {
		if roleDef == "" || strings.EqualFold(x.RoleDefinitionID, roleDef) {
			matching = append(matching, x)
		}
	}
	page, next, err := pageSliceQuery(q, matching, 100)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(page))
	for i, x := range page {
		items[i] = roleAssignmentJSON(x)
	}
	return a.collection(c, "roleManagement/directory/roleAssignments", items, next, nil, nil)
}

// parseSimpleEq parses `field eq 'value'`.
func parseSimpleEq(f string) (field, value string, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(f), " ", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[1], "eq") {
		return "", "", false
	}
	v := strings.TrimSpace(parts[2])
	if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' || strings.Contains(v[1:len(v)-1], "'") {
		return "", "", false
	}
	return parts[0], v[1 : len(v)-1], true
}

func (a *API) createRoleAssignment(c *call) error {
	b, err := c.decode(a, "microsoft.graph.unifiedRoleAssignment", "principalId", "roleDefinitionId", "directoryScopeId")
	if err != nil {
		return err
	}
	principal, err := b.requireStr("principalId")
	if err != nil {
		return err
	}
	roleDef, err := b.requireStr("roleDefinitionId")
	if err != nil {
		return err
	}
	if scope, err := b.str("directoryScopeId"); err != nil {
		return err
	} else if scope != nil && *scope != "/" {
		return apperr.Invalidf("Only the tenant-wide directory scope '/' is supported.").WithTarget("directoryScopeId")
	}
	if _, ok := directory.RoleByID(roleDef); !ok {
		return apperr.Invalidf("The role definition '%s' does not exist.", truncate(roleDef, 64)).WithTarget("roleDefinitionId")
	}
	ra, err := a.Admin.AssignRole(c.ctx, c.actor, c.tenant, principal, roleDef)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, "roleManagement/directory/roleAssignments/$entity", roleAssignmentJSON(ra))
}

func (a *API) getRoleAssignment(c *call) error {
	if err := c.require(directory.ActionRoleRead); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	ra, err := a.Store.GetRoleAssignment(c.ctx, c.tenant, id)
	if err != nil {
		return apperr.FromStore(err, "Resource '"+truncate(id, 64)+"'")
	}
	return a.entity(c, http.StatusOK, "roleManagement/directory/roleAssignments/$entity", roleAssignmentJSON(ra))
}

func (a *API) deleteRoleAssignment(c *call) error {
	if err := a.Admin.RemoveRoleAssignment(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
