package store

import (
	"context"
	"time"
)

// RadiusClient is a RADIUS client (a VPN gateway or other NAS) allowed to
// send Access-Requests for one tenant. Address is a canonical IP prefix
// (netip.Prefix.Masked().String()); a packet's source address picks the
// client, so a prefix belongs to one client across all tenants.
type RadiusClient struct {
	ID       string
	TenantID string
	Name     string
	Address  string
	// SecretSealed is the shared secret sealed with the master key
	// (internal/secret); the plaintext never reaches the store.
	SecretSealed string
	CreatedAt    time.Time
}

// RadiusClients stores RADIUS clients.
type RadiusClients interface {
	// CreateRadiusClient inserts a client; a name taken in the tenant or
	// an address taken in any tenant is ErrConflict.
	CreateRadiusClient(ctx context.Context, c RadiusClient) error
	// ListRadiusClients lists a tenant's clients, oldest first.
	ListRadiusClients(ctx context.Context, tenantID string) ([]RadiusClient, error)
	// DeleteRadiusClient removes one of the tenant's clients.
	DeleteRadiusClient(ctx context.Context, tenantID, id string) error
	// AllRadiusClients lists every tenant's clients. Only the RADIUS
	// listener calls it: it must pick the client, and so the tenant, by a
	// packet's source address before it knows the tenant.
	AllRadiusClients(ctx context.Context) ([]RadiusClient, error)
}
