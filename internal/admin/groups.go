package admin

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// NewGroup is what creating a group takes.
type NewGroup struct {
	DisplayName  string
	Description  string
	MailNickname string
}

// GroupPatch changes the fields that are set.
type GroupPatch struct {
	DisplayName  *string
	Description  *string
	MailNickname *string
}

func validateGroupFields(displayName, description, nick *string) error {
	if displayName != nil {
		if err := directory.ValidateDisplayName("displayName", *displayName, true); err != nil {
			return apperr.Invalidf("%s", trimSentinel(err)).WithTarget("displayName")
		}
	}
	if description != nil && len(*description) > directory.MaxDescriptionLength {
		return apperr.Invalidf("The description must be at most %d characters.", directory.MaxDescriptionLength).WithTarget("description")
	}
	if nick != nil && *nick != "" {
		if len(*nick) > 64 {
			return apperr.Invalidf("The mailNickname must be at most 64 characters.").WithTarget("mailNickname")
		}
		for _, c := range *nick {
			if c <= ' ' || c > '~' || c == '@' {
				return apperr.Invalidf("The mailNickname may contain only ASCII letters, digits and punctuation other than @.").WithTarget("mailNickname")
			}
		}
	}
	return nil
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, actor directory.Actor, tenantID string, in NewGroup) (store.Group, error) {
	if err := authorize(actor, directory.ActionGroupWrite); err != nil {
		return store.Group{}, err
	}
	if err := validateGroupFields(&in.DisplayName, &in.Description, &in.MailNickname); err != nil {
		return store.Group{}, err
	}
	g := store.Group{ID: uuid.NewString(), TenantID: tenantID, DisplayName: in.DisplayName, Description: in.Description,
		MailNickname: in.MailNickname, CreatedAt: s.now()}
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return apperr.FromStore(err, "The group")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add group", "GroupManagement", "Add",
			groupTarget(g, prop("DisplayName", nil, g.DisplayName), prop("Description", nil, g.Description))))
	})
	if err != nil {
		return store.Group{}, err
	}
	return g, nil
}

// FindGroup resolves a group by id.
func (s *Service) FindGroup(ctx context.Context, tenantID, id string) (store.Group, error) {
	g, err := s.Store.GetGroup(ctx, tenantID, id)
	return g, apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
}

// UpdateGroup applies a patch.
func (s *Service) UpdateGroup(ctx context.Context, actor directory.Actor, tenantID, id string, p GroupPatch) (store.Group, error) {
	if err := authorize(actor, directory.ActionGroupWrite); err != nil {
		return store.Group{}, err
	}
	if err := validateGroupFields(p.DisplayName, p.Description, p.MailNickname); err != nil {
		return store.Group{}, err
	}
	var out store.Group
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		var props []store.ModifiedProperty
		var err error
		out, err = tx.UpdateGroup(ctx, tenantID, id, func(g *store.Group) error {
			set := func(name string, dst *string, v *string) {
				if v != nil && *v != *dst {
					props = append(props, prop(name, *dst, *v))
					*dst = *v
				}
			}
			set("DisplayName", &g.DisplayName, p.DisplayName)
			set("Description", &g.Description, p.Description)
			set("MailNickname", &g.MailNickname, p.MailNickname)
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", id))
		}
		if len(props) == 0 {
			return nil
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Update group", "GroupManagement", "Update", groupTarget(out, props...)))
	})
	return out, err
}

// DeleteGroup deletes a group.
func (s *Service) DeleteGroup(ctx context.Context, actor directory.Actor, tenantID, id string) error {
	if err := authorize(actor, directory.ActionGroupWrite); err != nil {
		return err
	}
	g, err := s.FindGroup(ctx, tenantID, id)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.DeleteGroup(ctx, tenantID, id); err != nil {
			return apperr.FromStore(err, "The group")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Delete group", "GroupManagement", "Delete", groupTarget(g)))
	})
}

// AddMember adds a user or group to a group; cycles are refused.
func (s *Service) AddMember(ctx context.Context, actor directory.Actor, tenantID, groupID, memberID string) error {
	if err := authorize(actor, directory.ActionGroupWrite); err != nil {
		return err
	}
	g, err := s.FindGroup(ctx, tenantID, groupID)
	if err != nil {
		return err
	}
	m, err := s.Store.DirectoryObject(ctx, tenantID, memberID)
	if err != nil {
		return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", memberID))
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.AddMember(ctx, tenantID, groupID, memberID); err != nil {
			return apperr.FromStore(err, "One or more added object references")
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Add member to group", "GroupManagement", "Assign",
			groupTarget(g, prop("Member", nil, m.ID)), memberTarget(m)))
	})
}

// RemoveMember removes a direct member.
func (s *Service) RemoveMember(ctx context.Context, actor directory.Actor, tenantID, groupID, memberID string) error {
	if err := authorize(actor, directory.ActionGroupWrite); err != nil {
		return err
	}
	g, err := s.FindGroup(ctx, tenantID, groupID)
	if err != nil {
		return err
	}
	m, err := s.Store.DirectoryObject(ctx, tenantID, memberID)
	if err != nil {
		return apperr.FromStore(err, fmt.Sprintf("Resource '%s'", memberID))
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.RemoveMember(ctx, tenantID, groupID, memberID); err != nil {
			return apperr.FromStore(err, fmt.Sprintf("The membership of '%s' in '%s'", memberID, groupID))
		}
		return tx.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Remove member from group", "GroupManagement", "Unassign",
			groupTarget(g, prop("Member", m.ID, nil)), memberTarget(m)))
	})
}

func memberTarget(m store.DirectoryObject) store.AuditTarget { return audit.ObjectTarget(m) }
