package admin

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// AssignRole assigns a built-in role (by template id or display name) to
// a user or group, tenant-wide.
func (s *Service) AssignRole(ctx context.Context, actor directory.Actor, tenantID, principalID, role string) (store.RoleAssignment, error) {
	if err := authorize(actor, directory.ActionRoleAssign); err != nil {
		return store.RoleAssignment{}, err
	}
	r, ok := directory.RoleByName(role)
	if !ok {
		return store.RoleAssignment{}, apperr.Invalidf("Unknown role '%s'. Use a built-in role name or template id.", role).WithTarget("roleDefinitionId")
	}
	p, err := s.Store.DirectoryObject(ctx, tenantID, principalID)
	if err != nil {
		return store.RoleAssignment{}, apperr.FromStore(err, fmt.Sprintf("Resource '%s'", principalID))
	}
	a := store.RoleAssignment{ID: uuid.NewString(), TenantID: tenantID, PrincipalID: p.ID, RoleDefinitionID: r.ID,
		DirectoryScopeID: "/", CreatedAt: s.now()}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateRoleAssignment(ctx, a); err != nil {
			return apperr.FromStore(err, fmt.Sprintf("A role assignment of '%s' to this principal", r.DisplayName))
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add member to role", "RoleManagement", "Assign",
			memberTarget(p), store.AuditTarget{ID: r.ID, DisplayName: r.DisplayName, Type: "Role",
				ModifiedProperties: []store.ModifiedProperty{prop("Role.DisplayName", nil, r.DisplayName)}}))
	})
	if err != nil {
		return store.RoleAssignment{}, err
	}
	return a, nil
}

// RemoveRoleAssignment removes an assignment. The last Global
// Administrator cannot be removed: a tenant without one is unmanageable.
func (s *Service) RemoveRoleAssignment(ctx context.Context, actor directory.Actor, tenantID, id string) error {
	if err := authorize(actor, directory.ActionRoleAssign); err != nil {
		return err
	}
	a, err := s.Store.GetRoleAssignment(ctx, tenantID, id)
	if err != nil {
		return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
	}
	r, _ := directory.RoleByID(a.RoleDefinitionID)
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if a.RoleDefinitionID == directory.RoleGlobalAdmin {
			if err := s.keepAGlobalAdmin(ctx, tx, tenantID, a.PrincipalID); err != nil {
				return err
			}
		}
		if err := tx.DeleteRoleAssignment(ctx, tenantID, id); err != nil {
			return apperr.FromStore(err, "The role assignment")
		}
		p, _ := tx.DirectoryObject(ctx, tenantID, a.PrincipalID)
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Remove member from role", "RoleManagement", "Unassign",
			memberTarget(p), store.AuditTarget{ID: r.ID, DisplayName: r.DisplayName, Type: "Role", ModifiedProperties: []store.ModifiedProperty{}}))
	})
}

// keepAGlobalAdmin refuses a change that removes principalID's Global
// Administrator assignment when no other assignment of that role would be
// left: a tenant without one cannot be managed. Call it inside the
// transaction of the change, which it serialises per tenant.
func (s *Service) keepAGlobalAdmin(ctx context.Context, tx store.Store, tenantID, principalID string) error {
	if err := tx.LockUser(ctx, tenantID, "global-admins"); err != nil {
		return err
	}
	all, err := tx.ListRoleAssignments(ctx, tenantID, "")
	if err != nil {
		return err
	}
	mine, others := 0, 0
	for _, x := range all {
		if x.RoleDefinitionID != directory.RoleGlobalAdmin {
			continue
		}
		if x.PrincipalID == principalID {
			mine++
		} else {
			others++
		}
	}
	if mine > 0 && others == 0 {
		return apperr.Conflictf("The last Global Administrator cannot be removed; assign the role to someone else first.")
	}
	return nil
}
