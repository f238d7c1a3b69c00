package graphapi

import (
	"net/http"
	"strings"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

var userSpec = odata.Spec{
	Fields: map[string]odata.FieldKind{
		"id": odata.String, "userPrincipalName": odata.String, "displayName": odata.String, "mail": odata.String,
		"accountEnabled": odata.Bool, "userType": odata.Enum, "createdDateTime": odata.DateTime,
	},
	Selectable: []string{"id", "userPrincipalName", "displayName", "mail", "mailNickname", "mobilePhone",
		"businessPhones", "accountEnabled", "userType", "createdDateTime"},
	Orderable:  []string{"userPrincipalName", "displayName", "createdDateTime"},
	MaxTop:     999,
	DefaultTop: 100,
}

func userJSON(u store.User) map[string]any {
	nick, _, _ := strings.Cut(u.UPN, "@")
	return map[string]any{
		"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "mail": nullable(u.Mail),
		"mailNickname": nick, "mobilePhone": nullable(u.MobilePhone), "businessPhones": []string{},
		"accountEnabled": u.AccountEnabled, "userType": graphUserType(u.UserType), "createdDateTime": timeJSON(u.CreatedAt),
	}
}

func (a *API) userRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", "/users", a.listUsers)
	add("POST", "/users", a.createUser)
	add("GET", "/users/{id}", a.getUser)
	add("PATCH", "/users/{id}", a.updateUser)
	add("DELETE", "/users/{id}", a.deleteUser)
	add("GET", "/users/{id}/memberOf", a.userMemberOf(false))
	add("GET", "/users/{id}/transitiveMemberOf", a.userMemberOf(true))
	add("POST", "/users/{id}/revokeSignInSessions", a.revokeSignInSessions)
}

func (a *API) listUsers(c *call) error {
	if err := c.require(directory.ActionUserRead); err != nil {
		return err
	}
	o, err := c.parseQuery(userSpec)
	if err != nil {
		return err
	}
	p, err := a.Store.ListUsers(c.ctx, c.tenant, listQuery(o))
	if err != nil {
		return storeQueryError(err)
	}
	items := make([]map[string]any, len(p.Items))
	for i, u := range p.Items {
		items[i] = userJSON(u)
	}
	var count *int
	if o.Count {
		count = &p.Count
	}
	return a.collection(c, "users", items, p.Next, count, o.Select)
}

func (a *API) getUser(c *call) error {
	if err := c.require(directory.ActionUserRead); err != nil {
		return err
	}
	u, err := a.Admin.FindUser(c.ctx, c.tenant, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "users/$entity", userJSON(u))
}

var userProps = []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile",
	"mail", "mobilePhone", "userType", "businessPhones"}

// readUser decodes the writable user properties of a POST or PATCH body.
func (a *API) readUser(c *call) (admin.UserPatch, error) {
	var p admin.UserPatch
	b, err := c.decode(a, "microsoft.graph.user", userProps...)
	if err != nil {
		return p, err
	}
	if p.UPN, err = b.str("userPrincipalName"); err != nil {
		return p, err
	}
	if p.DisplayName, err = b.str("displayName"); err != nil {
		return p, err
	}
	if p.Mail, err = b.str("mail"); err != nil {
		return p, err
	}
	if p.MobilePhone, err = b.str("mobilePhone"); err != nil {
		return p, err
	}
	if p.AccountEnabled, err = b.boolean("accountEnabled"); err != nil {
		return p, err
	}
	// mailNickname is accepted for compatibility (Graph requires it on
	// create); vakt derives it from the UPN.
	if _, err = b.str("mailNickname"); err != nil {
		return p, err
	}
	if t, err := b.str("userType"); err != nil {
		return p, err
	} else if t != nil && *t != "Member" && *t != "member" {
		return p, b.typeErr("userType", "'Member' (guests are not supported yet)")
	}
	if b.has("businessPhones") {
		return p, b.typeErr("businessPhones", "no value (business phones are not stored)")
	}
	pp, err := b.object("passwordProfile", "microsoft.graph.passwordProfile", "password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa")
	if err != nil || pp == nil {
		return p, err
	}
	if p.Password, err = pp.str("password"); err != nil {
		return p, err
	}
	if p.ForceChangePassword, err = pp.boolean("forceChangePasswordNextSignIn"); err != nil {
		return p, err
	}
	_, err = pp.boolean("forceChangePasswordNextSignInWithMfa")
	return p, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (a *API) createUser(c *call) error {
	p, err := a.readUser(c)
	if err != nil {
		return err
	}
	in := admin.NewUser{UPN: deref(p.UPN), DisplayName: deref(p.DisplayName), Mail: deref(p.Mail),
		MobilePhone: deref(p.MobilePhone), AccountEnabled: p.AccountEnabled, Password: deref(p.Password),
		ForceChangePassword: deref(p.ForceChangePassword)}
	if in.UPN == "" {
		return requiredErr("userPrincipalName")
	}
	if in.DisplayName == "" {
		return requiredErr("displayName")
	}
	u, err := a.Admin.CreateUser(c.ctx, c.actor, c.tenant, in)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, "users/$entity", userJSON(u))
}

func (a *API) updateUser(c *call) error {
	p, err := a.readUser(c)
	if err != nil {
		return err
	}
	if _, err := a.Admin.UpdateUser(c.ctx, c.actor, c.tenant, c.r.PathValue("id"), p); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteUser(c *call) error {
	if err := a.Admin.DeleteUser(c.ctx, c.actor, c.tenant, c.r.PathValue("id")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) userMemberOf(transitive bool) handlerFunc {
	return func(c *call) error {
		if err := c.require(directory.ActionUserRead); err != nil {
			return err
		}
		u, err := a.Admin.FindUser(c.ctx, c.tenant, c.r.PathValue("id"))
		if err != nil {
			return err
		}
		var objs []store.DirectoryObject
		if transitive {
			ids, err := a.Store.TransitiveGroupIDs(c.ctx, c.tenant, u.ID)
			if err != nil {
				return err
			}
			for _, id := range ids {
				g, err := a.Store.DirectoryObject(c.ctx, c.tenant, id)
				if err != nil {
					return err
				}
				objs = append(objs, g)
			}
		} else if objs, err = a.Store.MemberOf(c.ctx, c.tenant, u.ID); err != nil {
			return err
		}
		return a.objectCollection(c, "directoryObjects", objs)
	}
}

// objectCollection writes users and groups as polymorphic directoryObjects.
func (a *API) objectCollection(c *call, contextPath string, objs []store.DirectoryObject) error {
	page, next, err := pageSlice(c, objs, 100)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(page))
	for i, o := range page {
		m := map[string]any{"id": o.ID, "displayName": o.DisplayName}
		if o.Kind == store.KindUser {
			m["@odata.type"] = "#microsoft.graph.user"
			m["userPrincipalName"] = o.UPN
		} else {
			m["@odata.type"] = "#microsoft.graph.group"
		}
		items[i] = m
	}
	return a.collection(c, contextPath, items, next, nil, nil)
}

// graphUserType spells the stored user type the way Graph does.
func graphUserType(t string) string {
	if t == "guest" {
		return "Guest"
	}
	return "Member"
}
