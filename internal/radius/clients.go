package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Sealer encrypts shared secrets and States (internal/secret).
type Sealer = securityinfo.Sealer

// Limits of a shared secret. RFC 2865 §3 asks for at least 16 octets; a
// short secret is what makes an offline guess of PAP passwords easy.
const (
	MinSecretLength = 16
	MaxSecretLength = 128
	maxNameLength   = 64
)

func secretAAD(tenantID, id string) []byte {
	return []byte("radius-client:" + tenantID + ":" + id)
}

// ParseAddress reads a client's address range: a CIDR prefix or a single
// address, returned in canonical form (host bits cleared, IPv4 unmapped).
func ParseAddress(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, apperr.Invalidf("%q is not an address range such as 192.0.2.10/32 or 2001:db8::/64.", s).WithTarget("address")
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, apperr.Invalidf("%q is not an address range such as 192.0.2.10/32 or 2001:db8::/64.", s).WithTarget("address")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	// A range this wide hands the secret to half the internet; nobody
	// runs VPN gateways that way.
	if p.Addr().Is4() && p.Bits() < 8 || p.Addr().Is6() && p.Bits() < 16 {
		return p, apperr.Invalidf("The address range %s is too wide; name the gateways' addresses (at most a /8, or a /16 for IPv6).", p).WithTarget("address")
	}
	return p.Masked(), nil
}

// CheckSecret applies the shared-secret rules.
func CheckSecret(secret string) error {
	if len(secret) < MinSecretLength || len(secret) > MaxSecretLength {
		return apperr.Invalidf("The shared secret must be %d to %d characters long.", MinSecretLength, MaxSecretLength).WithTarget("secret")
	}
	for _, r := range secret {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return apperr.Invalidf("The shared secret must be printable ASCII (gateways cannot all type anything else).").WithTarget("secret")
		}
	}
	return nil
}

// NewClient is what allowing a RADIUS client takes.
type NewClient struct {
	Name    string // defaults to the address range
	Address string
	Secret  string
}

// Clients manages a tenant's RADIUS clients (the `vakt radius client`
// commands). Every change is audited in its transaction.
type Clients struct {
	Store store.Store
	Keys  Sealer
	Now   func() time.Time
}

func (c *Clients) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Add allows a client.
func (c *Clients) Add(ctx context.Context, actor directory.Actor, tenantID string, in NewClient) (store.RadiusClient, error) {
	if !directory.Allowed(actor, directory.ActionAppWrite) {
		return store.RadiusClient{}, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	p, err := ParseAddress(in.Address)
	if err != nil {
		return store.RadiusClient{}, err
	}
	if err := CheckSecret(in.Secret); err != nil {
		return store.RadiusClient{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = p.String()
	}
	if utf8.RuneCountInString(name) > maxNameLength || !printable(name) {
		return store.RadiusClient{}, apperr.Invalidf("The name must be printable text of at most %d characters.", maxNameLength).WithTarget("name")
	}
	rc := store.RadiusClient{ID: uuid.NewString(), TenantID: tenantID, Name: name, Address: p.String(), CreatedAt: c.now()}
	if rc.SecretSealed, err = c.Keys.Seal([]byte(in.Secret), secretAAD(tenantID, rc.ID)); err != nil {
		return store.RadiusClient{}, fmt.Errorf("seal shared secret: %w", err)
	}
	err = c.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateRadiusClient(ctx, rc); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return apperr.Conflictf("A RADIUS client with the name %q or the address range %s already exists.", rc.Name, rc.Address).WithCause(err)
			}
			return err
		}
		return tx.AppendAudit(ctx, clientAudit(ctx, actor, c.now(), rc, "Add RADIUS client", "Add", true))
	})
	if err != nil {
		return store.RadiusClient{}, err
	}
	return rc, nil
}

// List lists a tenant's clients (never their secrets).
func (c *Clients) List(ctx context.Context, actor directory.Actor, tenantID string) ([]store.RadiusClient, error) {
	if !directory.Allowed(actor, directory.ActionPolicyRead) {
		return nil, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	cs, err := c.Store.ListRadiusClients(ctx, tenantID)
	for i := range cs {
		cs[i].SecretSealed = ""
	}
	return cs, err
}

// Remove deletes a client named by its id, name or address range.
func (c *Clients) Remove(ctx context.Context, actor directory.Actor, tenantID, ref string) (store.RadiusClient, error) {
	if !directory.Allowed(actor, directory.ActionAppWrite) {
		return store.RadiusClient{}, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	var gone store.RadiusClient
	err := c.Store.InTx(ctx, func(tx store.Store) error {
		cs, err := tx.ListRadiusClients(ctx, tenantID)
		if err != nil {
			return err
		}
		canon := ""
		if p, err := ParseAddress(ref); err == nil {
			canon = p.String()
		}
		i := slices.IndexFunc(cs, func(x store.RadiusClient) bool {
			return x.ID == ref || strings.EqualFold(x.Name, ref) || canon != "" && x.Address == canon
		})
		if i < 0 {
			return apperr.NotFoundf("No RADIUS client %q in this tenant.", ref)
		}
		gone = cs[i]
		if err := tx.DeleteRadiusClient(ctx, tenantID, gone.ID); err != nil {
			return apperr.FromStore(err, "The RADIUS client")
		}
		return tx.AppendAudit(ctx, clientAudit(ctx, actor, c.now(), gone, "Delete RADIUS client", "Delete", false))
	})
	gone.SecretSealed = ""
	return gone, err
}

func clientAudit(ctx context.Context, actor directory.Actor, now time.Time, rc store.RadiusClient, activity, op string, added bool) store.AuditEntry {
	props := []store.ModifiedProperty{audit.Prop("Name", nil, rc.Name), audit.Prop("Address", nil, rc.Address),
		audit.Prop("SharedSecret", nil, "(set)")}
	if !added {
		props = []store.ModifiedProperty{audit.Prop("Name", rc.Name, nil), audit.Prop("Address", rc.Address, nil)}
	}
	return audit.New(ctx, actor, rc.TenantID, now, audit.Entry{Activity: activity, Category: "ApplicationManagement", Operation: op,
		Targets: []store.AuditTarget{{ID: rc.ID, DisplayName: rc.Name, Type: "RadiusClient", ModifiedProperties: props}}})
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// client is a RADIUS client as the listener uses it, secret opened.
type client struct {
	id, tenantID, name string
	prefix             netip.Prefix
	secret             []byte
}

// table is the listener's per-node copy of every tenant's clients, most
// specific range first. It is read on every packet and reloaded from the
// store at most every ttl, so an added or removed client takes effect on
// every node within that time without a query per packet.
type table struct {
	store ClientSource
	keys  Sealer
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	clients []client
	loaded  time.Time
}

// lookup returns the client whose range holds addr (the longest prefix).
func (t *table) lookup(ctx context.Context, addr netip.Addr) (client, bool) {
	addr = addr.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.loaded.IsZero() || now.Sub(t.loaded) >= t.ttl || now.Before(t.loaded) {
		// One reload at a time; packets meanwhile wait for it, which costs
		// one query every ttl. On failure the last good copy stays.
		if err := t.reloadLocked(ctx); err != nil {
			t.log.ErrorContext(ctx, "radius: cannot read the RADIUS clients; using the last copy", "err", err)
		}
		t.loaded = now
	}
	for _, c := range t.clients {
		if c.prefix.Contains(addr) {
			return c, true
		}
	}
	return client{}, false
}

func (t *table) reloadLocked(ctx context.Context) error {
	rows, err := t.store.AllRadiusClients(ctx)
	if err != nil {
		return err
	}
	out := make([]client, 0, len(rows))
	for _, r := range rows {
		p, err := netip.ParsePrefix(r.Address)
		if err != nil {
			t.log.ErrorContext(ctx, "radius: a stored client has a bad address; skipped", "client", r.ID, "tenant", r.TenantID, "err", err)
			continue
		}
		sec, err := t.keys.Open(r.SecretSealed, secretAAD(r.TenantID, r.ID))
		if err != nil {
			t.log.ErrorContext(ctx, "radius: a client's shared secret does not open (master key missing?); skipped", "client", r.ID, "tenant", r.TenantID, "err", err)
			continue
		}
		out = append(out, client{id: r.ID, tenantID: r.TenantID, name: r.Name, prefix: p, secret: sec})
	}
	slices.SortStableFunc(out, func(a, b client) int { return b.prefix.Bits() - a.prefix.Bits() })
	t.clients = out
	return nil
}
