package admin

import (
	"context"
	"fmt"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// RotateSigningKey makes a new current token signing key for the tenant
// with rotate (internal/tokens' Issuer.Rotate) and audits it. Tokens the
// old key signed keep verifying: it stays published.
func (s *Service) RotateSigningKey(ctx context.Context, actor directory.Actor, tenantID string, rotate func(ctx context.Context, tenantID string) (string, error)) (string, error) {
	if err := authorize(actor, directory.ActionTenantWrite); err != nil {
		return "", err
	}
	t, err := s.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("tenant: %w", err)
	}
	kid, err := rotate(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	err = s.Store.AppendAudit(ctx, s.auditEntry(ctx, actor, tenantID, "Rotate token signing key", "KeyManagement", "Add",
		store.AuditTarget{ID: t.ID, DisplayName: t.DisplayName, Type: "Tenant", ModifiedProperties: []store.ModifiedProperty{prop("KeyId", nil, kid)}}))
	return kid, err
}
