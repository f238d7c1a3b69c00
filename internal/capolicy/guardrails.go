package capolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// Guard rails (P-7.7): a create or change that leaves a policy enforced
// (state enabled) is refused with a 409 when, evaluated with the tenant's
// other enforced policies and its named locations, that policy would
// block from the admin portal
//
//   - every enabled Global Administrator of the tenant (held directly or
//     through a group), or
//   - the acting administrator (a delegated caller; apps and the local
//     operator have no user to lock out),
//
// unless the policy excludes at least one user or group (excludeUsers
// other than GuestsOrExternalUsers, or excludeGroups): the
// emergency-access account or group that keeps a way in.
//
// "Blocked" is what the sign-in engine would do to a browser sign-in to
// the admin portal (ca.AdminPortalAppID, AdminSurface) from an address in
// no named location and of unknown country, on a device that is not known
// to be compliant, at no risk: the policy applies and its grant blocks,
// or requires a compliant device that such a sign-in cannot show. A
// policy that asks for a second factor or a password change does not
// block: the administrator can satisfy it.

// adminPortalInput is the sign-in the guard rails evaluate.
func adminPortalInput(sb *subject) ca.Input {
	in := sb.input()
	in.AppID, in.AdminSurface, in.Client = ca.AdminPortalAppID, true, policy.ClientBrowser
	return in
}

// emergencyExclusion reports whether a canonical policy document excludes
// a user or a group.
func emergencyExclusion(doc map[string]any) bool {
	users := obj(obj(doc, "conditions"), "users")
	for _, v := range strList(users, "excludeUsers") {
		if !strings.EqualFold(v, GuestsOrExternalUsers) {
			return true
		}
	}
	return len(strList(users, "excludeGroups")) > 0
}

// globalAdmins returns the tenant's enabled users who hold the Global
// Administrator role, directly or through a group.
func globalAdmins(ctx context.Context, st store.Store, tenantID string) ([]store.User, error) {
	as, err := st.ListRoleAssignments(ctx, tenantID, "")
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	var order []string
	add := func(id string) {
		if !ids[id] {
			ids[id] = true
			order = append(order, id)
		}
	}
	for _, a := range as {
		if !strings.EqualFold(a.RoleDefinitionID, directory.RoleGlobalAdmin) {
			continue
		}
		o, err := st.DirectoryObject(ctx, tenantID, a.PrincipalID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if o.Kind == store.KindUser {
			add(o.ID)
			continue
		}
		members, err := st.ListTransitiveMembers(ctx, tenantID, o.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if m.Kind == store.KindUser {
				add(m.ID)
			}
		}
	}
	out := make([]store.User, 0, len(order))
	for _, id := range order {
		u, err := st.GetUser(ctx, tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if u.AccountEnabled {
			out = append(out, u)
		}
	}
	return out, nil
}

// guardAdmins checks a policy document about to be stored (canonical,
// with its id) inside the write's transaction. It does nothing unless the
// document's state is enabled.
func (s *Service) guardAdmins(ctx context.Context, tx store.Store, actor directory.Actor, tenantID string, doc map[string]any) error {
	if strProp(doc, "state") != StateEnabled || emergencyExclusion(doc) {
		return nil
	}
	id := strProp(doc, "id")
	ps, _, ls, err := definitions(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var changed ca.Policy
	if err := json.Unmarshal(raw, &changed); err != nil {
		return err
	}
	// Only enforced policies can block; the changed one replaces its
	// stored version.
	enforced := make([]ca.Policy, 0, len(ps)+1)
	for _, p := range ps {
		if p.State == ca.StateEnabled && !strings.EqualFold(p.ID, id) {
			enforced = append(enforced, p)
		}
	}
	enforced = append(enforced, changed)
	set, err := ca.Compile(enforced, ls)
	if err != nil {
		return fmt.Errorf("capolicy: guard rails: %w", err)
	}
	req := policy.Request{Client: policy.ClientBrowser, AdminSurface: true}
	var results []ca.Result
	blocked := func(u store.User) (bool, error) {
		sb, err := loadSubject(ctx, tx, tenantID, u)
		if err != nil {
			return false, err
		}
		_, results = set.Evaluate(adminPortalInput(&sb), results)
		for i := range results {
			if r := &results[i]; strings.EqualFold(r.PolicyID, id) {
				return r.Applied && effectOf(r, req) == effectBlock, nil
			}
		}
		return false, nil
	}

	if actor.UserID != "" {
		u, err := tx.GetUser(ctx, tenantID, actor.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			b, err := blocked(u)
			if err != nil {
				return err
			}
			if b {
				return conflict("This change would block you (%s) from the admin portal: policy '%s' applies to you there and blocks access. "+
					"Exclude an emergency-access account or group from it (conditions.users.excludeUsers or excludeGroups), "+
					"or leave it report-only (state 'enabledForReportingButNotEnforced') until it is right.",
					clip(u.UPN), clip(strProp(doc, "displayName")))
			}
		}
	}
	admins, err := globalAdmins(ctx, tx, tenantID)
	if err != nil || len(admins) == 0 {
		return err
	}
	for _, u := range admins {
		b, err := blocked(u)
		if err != nil || !b {
			return err
		}
	}
	names := make([]string, 0, 3)
	for i, u := range admins {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(admins)-3))
			break
		}
		names = append(names, clip(u.UPN))
	}
	return conflict("This change would block every Global Administrator of the tenant (%s) from the admin portal: policy '%s' applies to them there and blocks access. "+
		"Exclude an emergency-access account or group from it (conditions.users.excludeUsers or excludeGroups), "+
		"or leave it report-only (state 'enabledForReportingButNotEnforced') until it is right.",
		strings.Join(names, ", "), clip(strProp(doc, "displayName")))
}
