// Package capolicy stores and manages conditional access policies and
// named locations (P-7) in the shape of Microsoft Graph's
// conditionalAccessPolicy and namedLocation (graph-api.md §3).
//
// The service validates every write against the wire facts of §3: the
// property tree and its names, the enum values, the special values of the
// conditions, the users, groups and named locations a policy names (they
// must exist in the tenant), CIDR ranges and ISO 3166 countries, and the
// limits of 195 policies, 195 named locations and 2000 ranges per
// location. Documents are stored canonical (every property present), with
// the columns lists filter and order by, and every change is audited with
// the old and new document in the same transaction.
//
// Conditional access and security defaults exclude each other (P-4.3): a
// policy cannot be turned on (state enabled; report-only is fine) while
// security defaults are on, and EnabledPolicyCount lets internal/authpolicy
// refuse the other direction.
//
// The evaluation of policies is internal/policy/ca's and the sign-in's is
// internal/app's; this package uses the engine for the administrators'
// tools: What If (whatif.go, P-7.5), the templates (templates.go, P-7.6),
// the guard rails that refuse locking the administrators out
// (guardrails.go, P-7.7), and the replay of a policy against the sign-in
// log (replay.go).
package capolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// LoggedByService is the audit entries' loggedByService.
const LoggedByService = "Conditional Access"

// SecurityDefaults reports whether a tenant's security defaults are on
// (internal/authpolicy's Service).
type SecurityDefaults interface {
	SecurityDefaultsEnabled(ctx context.Context, tenantID string) (bool, error)
}

// Service manages a tenant's conditional access policies and named
// locations. Reads do not authorize (callers check directory.ActionPolicyRead);
// writes check directory.ActionConditionalAccess.
type Service struct {
	// Store must also implement store.ConditionalAccess (the SQL stores do).
	Store store.Store
	// SecurityDefaults refuses turning a policy on while security defaults
	// are on; nil means they are off.
	SecurityDefaults SecurityDefaults
	Now              func() time.Time
	// Changed is told after every write attempt of this node, so caches
	// of a tenant's policies can drop it.
	Changed func(tenantID string)
	// Country resolves an IP address to its country for What If and
	// replay (nil: the country of an address is unknown, as for a sign-in
	// without a GeoIP database).
	Country ca.CountryLookup
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) changed(tenantID string) {
	if s.Changed != nil {
		s.Changed(tenantID)
	}
}

func authorize(actor directory.Actor) error {
	if !directory.Allowed(actor, directory.ActionConditionalAccess) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return nil
}

func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func marshal(doc map[string]any) ([]byte, error) {
	return json.Marshal(doc)
}

// decodeDoc reads a stored document.
func decodeDoc(raw []byte) (map[string]any, error) {
	m, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("capolicy: stored document: %w", err)
	}
	return m, nil
}

// checkReadOnly refuses the server-set properties in a body, unless (on
// PATCH) they repeat the current value, as a GET-modify-PATCH round trip
// sends them.
func checkReadOnly(fields, cur map[string]any) error {
	for _, k := range readOnly {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if cur != nil && fmt.Sprint(v) == fmt.Sprint(cur[k]) {
			continue
		}
		return invalid(k, "Property '%s' is read-only.", k)
	}
	return nil
}

func withoutReadOnly(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "id" && k != "createdDateTime" && k != "modifiedDateTime" {
			out[k] = v
		}
	}
	return out
}

const policyODataType = "microsoft.graph.conditionalAccessPolicy"

func checkPolicyType(fields map[string]any) error {
	v, ok := fields["@odata.type"]
	if !ok {
		return nil
	}
	if s, _ := v.(string); strings.TrimPrefix(s, "#") != policyODataType {
		return invalid("@odata.type", "The @odata.type must be '#%s'.", policyODataType)
	}
	return nil
}

// normalizePolicy turns body fields into a canonical policy document
// (without the server-set properties).
func normalizePolicy(fields map[string]any) (map[string]any, error) {
	doc, err := normalize(withoutReadOnly(fields), policyType, "")
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(doc); err != nil {
		return nil, err
	}
	var p ca.Policy
	return doc, engineCheck(doc, &p, func() error { return p.Validate() })
}

// engineCheck runs the evaluation engine's own validation on a canonical
// document, so nothing is stored that the engine would later refuse to
// compile (which would leave the tenant's sign-ins without their policies).
func engineCheck(doc map[string]any, v any, validate func() error) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid("", "The policy cannot be evaluated: %s", clip(err.Error()))
	}
	err = validate()
	if err == nil {
		return nil
	}
	var fe *ca.FieldError
	if errors.As(err, &fe) {
		return invalid(fe.Field, "%s", fe.Error())
	}
	return invalid("", "%s", err.Error())
}

// notFound is the 404 of a policy or named location.
func notFound(err error, what, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apperr.NotFoundf("%s '%s' does not exist.", what, clip(id)).WithCause(err)
	}
	return err
}

func (s *Service) refuseIfSecurityDefaults(ctx context.Context, tenantID string) error {
	if s.SecurityDefaults == nil {
		return nil
	}
	on, err := s.SecurityDefaults.SecurityDefaultsEnabled(ctx, tenantID)
	if err != nil {
		return err
	}
	if on {
		return conflict("A conditional access policy cannot be turned on while security defaults are enabled; turn security defaults off first, or set the policy's state to 'disabled' or 'enabledForReportingButNotEnforced' (report-only).")
	}
	return nil
}

// errCheckSecurityDefaults asks UpdatePolicy to check security defaults
// outside the transaction and try again.
var errCheckSecurityDefaults = errors.New("check security defaults")

func policyTarget(p store.CAPolicy, oldDoc, newDoc []byte) store.AuditTarget {
	return store.AuditTarget{ID: p.ID, DisplayName: p.DisplayName, Type: "Policy",
		ModifiedProperties: []store.ModifiedProperty{audit.Prop("ConditionalAccessPolicy", rawOrNil(oldDoc), rawOrNil(newDoc))}}
}

func locationTarget(l store.NamedLocation, oldDoc, newDoc []byte) store.AuditTarget {
	return store.AuditTarget{ID: l.ID, DisplayName: l.DisplayName, Type: "Policy",
		ModifiedProperties: []store.ModifiedProperty{audit.Prop("NamedLocation", rawOrNil(oldDoc), rawOrNil(newDoc))}}
}

func rawOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

func (s *Service) audited(ctx context.Context, tx store.Store, actor directory.Actor, tenantID, activity, op string, target store.AuditTarget) error {
	return tx.AppendAudit(ctx, audit.New(ctx, actor, tenantID, s.now(), audit.Entry{Activity: activity, Category: "Policy",
		Operation: op, Service: LoggedByService, Targets: []store.AuditTarget{target}}))
}

// ---- Policies ----

// CreatePolicy creates a policy from a POST body (a JSON object): the
// server sets id, createdDateTime and modifiedDateTime.
func (s *Service) CreatePolicy(ctx context.Context, actor directory.Actor, tenantID string, body []byte) (store.CAPolicy, error) {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return store.CAPolicy{}, err
	}
	fields, err := parseObject(body)
	if err != nil {
		return store.CAPolicy{}, err
	}
	if err := checkPolicyType(fields); err != nil {
		return store.CAPolicy{}, err
	}
	if err := checkReadOnly(fields, nil); err != nil {
		return store.CAPolicy{}, err
	}
	doc, err := normalizePolicy(fields)
	if err != nil {
		return store.CAPolicy{}, err
	}
	if strProp(doc, "state") == StateEnabled {
		if err := s.refuseIfSecurityDefaults(ctx, tenantID); err != nil {
			return store.CAPolicy{}, err
		}
	}
	now := s.now()
	p := store.CAPolicy{ID: uuid.NewString(), TenantID: tenantID, DisplayName: strProp(doc, "displayName"),
		State: strProp(doc, "state"), CreatedAt: now, ModifiedAt: now, LocationIDs: locationIDs(doc)}
	doc["id"], doc["createdDateTime"], doc["modifiedDateTime"] = p.ID, timeJSON(now), timeJSON(now)
	if p.Doc, err = marshal(doc); err != nil {
		return store.CAPolicy{}, err
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		n, err := tx.CountCAPolicies(ctx, tenantID, "")
		if err != nil {
			return err
		}
		if n >= MaxPolicies {
			return apperr.Invalidf("The tenant already has %d conditional access policies, the most it can have; delete one first.", n).WithCode("quotaLimitReached")
		}
		if err := checkReferences(ctx, tx, tenantID, doc); err != nil {
			return err
		}
		if err := s.guardAdmins(ctx, tx, actor, tenantID, doc); err != nil {
			return err
		}
		if err := tx.CreateCAPolicy(ctx, p); err != nil {
			return apperr.FromStore(err, "The conditional access policy")
		}
		return s.audited(ctx, tx, actor, tenantID, "Add conditional access policy", "Add", policyTarget(p, nil, p.Doc))
	})
	if err != nil {
		return store.CAPolicy{}, err
	}
	return p, nil
}

// Policy reads one policy (404 if the tenant has no such policy).
func (s *Service) Policy(ctx context.Context, tenantID, id string) (store.CAPolicy, error) {
	p, err := s.Store.GetCAPolicy(ctx, tenantID, id)
	return p, notFound(err, "Conditional access policy", id)
}

// ListPolicies pages through the tenant's policies (oldest first unless
// ordered otherwise); see store.ConditionalAccess for the fields.
func (s *Service) ListPolicies(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.CAPolicy], error) {
	return s.Store.ListCAPolicies(ctx, tenantID, q)
}

// AllPolicies returns every policy of the tenant, oldest first.
func (s *Service) AllPolicies(ctx context.Context, tenantID string) ([]store.CAPolicy, error) {
	p, err := s.ListPolicies(ctx, tenantID, store.ListQuery{Limit: MaxPolicies + 1})
	return p.Items, err
}

// EnabledPolicyCount counts the tenant's enabled policies (report-only
// ones do not count), for security defaults to refuse turning on
// meanwhile (P-4.3).
func (s *Service) EnabledPolicyCount(ctx context.Context, tenantID string) (int, error) {
	return s.Store.CountCAPolicies(ctx, tenantID, StateEnabled)
}

// UpdatePolicy applies a PATCH body: objects merge property by property,
// lists and other values replace, null resets a property. A PATCH that
// changes nothing writes nothing (and no audit entry).
func (s *Service) UpdatePolicy(ctx context.Context, actor directory.Actor, tenantID, id string, patch []byte) (store.CAPolicy, error) {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return store.CAPolicy{}, err
	}
	fields, err := parseObject(patch)
	if err != nil {
		return store.CAPolicy{}, err
	}
	if err := checkPolicyType(fields); err != nil {
		return store.CAPolicy{}, err
	}
	// Security defaults are read outside the write's transaction (the
	// store's connections are not held while another is taken); when the
	// change turns the policy on, the write is retried after the check.
	sdChecked := false
	for {
		out, err := s.updatePolicy(ctx, actor, tenantID, id, fields, sdChecked)
		if errors.Is(err, errCheckSecurityDefaults) && !sdChecked {
			if err := s.refuseIfSecurityDefaults(ctx, tenantID); err != nil {
				return store.CAPolicy{}, err
			}
			sdChecked = true
			continue
		}
		return out, err
	}
}

func (s *Service) updatePolicy(ctx context.Context, actor directory.Actor, tenantID, id string, fields map[string]any, sdChecked bool) (store.CAPolicy, error) {
	var out store.CAPolicy
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		cur, err := tx.GetCAPolicy(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "Conditional access policy", id)
		}
		curDoc, err := decodeDoc(cur.Doc)
		if err != nil {
			return err
		}
		if err := checkReadOnly(fields, curDoc); err != nil {
			return err
		}
		doc, err := normalizePolicy(mergePatch(withoutReadOnly(curDoc), withoutReadOnly(fields)))
		if err != nil {
			return err
		}
		doc["id"], doc["createdDateTime"], doc["modifiedDateTime"] = cur.ID, curDoc["createdDateTime"], curDoc["modifiedDateTime"]
		same, err := marshal(doc)
		if err != nil {
			return err
		}
		if string(same) == string(cur.Doc) {
			out = cur
			return nil
		}
		if strProp(doc, "state") == StateEnabled && cur.State != StateEnabled && !sdChecked {
			return errCheckSecurityDefaults
		}
		if err := checkReferences(ctx, tx, tenantID, doc); err != nil {
			return err
		}
		if err := s.guardAdmins(ctx, tx, actor, tenantID, doc); err != nil {
			return err
		}
		now := s.now()
		doc["modifiedDateTime"] = timeJSON(now)
		next, err := marshal(doc)
		if err != nil {
			return err
		}
		out, err = tx.UpdateCAPolicy(ctx, tenantID, id, func(p *store.CAPolicy) error {
			p.DisplayName, p.State, p.ModifiedAt, p.Doc, p.LocationIDs = strProp(doc, "displayName"), strProp(doc, "state"), now, next, locationIDs(doc)
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, "Conditional access policy '"+clip(id)+"'")
		}
		return s.audited(ctx, tx, actor, tenantID, "Update conditional access policy", "Update", policyTarget(out, cur.Doc, next))
	})
	return out, err
}

// DeletePolicy deletes a policy.
func (s *Service) DeletePolicy(ctx context.Context, actor directory.Actor, tenantID, id string) error {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		cur, err := tx.GetCAPolicy(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "Conditional access policy", id)
		}
		if err := tx.DeleteCAPolicy(ctx, tenantID, id); err != nil {
			return notFound(err, "Conditional access policy", id)
		}
		return s.audited(ctx, tx, actor, tenantID, "Delete conditional access policy", "Delete", policyTarget(cur, cur.Doc, nil))
	})
}

// ---- Named locations ----

// CreateNamedLocation creates a named location from a POST body, which
// must carry the derived @odata.type (#microsoft.graph.ipNamedLocation or
// #microsoft.graph.countryNamedLocation).
func (s *Service) CreateNamedLocation(ctx context.Context, actor directory.Actor, tenantID string, body []byte) (store.NamedLocation, error) {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return store.NamedLocation{}, err
	}
	fields, err := parseObject(body)
	if err != nil {
		return store.NamedLocation{}, err
	}
	kind, err := locationKind(fields)
	if err != nil {
		return store.NamedLocation{}, err
	}
	if err := checkReadOnly(fields, nil); err != nil {
		return store.NamedLocation{}, err
	}
	doc, err := normalizeLocation(kind, withoutReadOnly(fields))
	if err != nil {
		return store.NamedLocation{}, err
	}
	now := s.now()
	l := store.NamedLocation{ID: uuid.NewString(), TenantID: tenantID, DisplayName: strProp(doc, "displayName"), Kind: kind,
		CreatedAt: now, ModifiedAt: now}
	doc["id"], doc["createdDateTime"], doc["modifiedDateTime"] = l.ID, timeJSON(now), timeJSON(now)
	if l.Doc, err = marshal(doc); err != nil {
		return store.NamedLocation{}, err
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		n, err := tx.CountNamedLocations(ctx, tenantID)
		if err != nil {
			return err
		}
		if n >= MaxNamedLocations {
			return apperr.Invalidf("The tenant already has %d named locations, the most it can have; delete one first.", n).WithCode("quotaLimitReached")
		}
		if err := tx.CreateNamedLocation(ctx, l); err != nil {
			return apperr.FromStore(err, "The named location")
		}
		return s.audited(ctx, tx, actor, tenantID, "Add named location", "Add", locationTarget(l, nil, l.Doc))
	})
	if err != nil {
		return store.NamedLocation{}, err
	}
	return l, nil
}

// NamedLocation reads one named location (404 if the tenant has none
// such).
func (s *Service) NamedLocation(ctx context.Context, tenantID, id string) (store.NamedLocation, error) {
	l, err := s.Store.GetNamedLocation(ctx, tenantID, id)
	return l, notFound(err, "Named location", id)
}

// ListNamedLocations pages through the tenant's named locations.
func (s *Service) ListNamedLocations(ctx context.Context, tenantID string, q store.ListQuery) (store.Page[store.NamedLocation], error) {
	return s.Store.ListNamedLocations(ctx, tenantID, q)
}

// AllNamedLocations returns every named location of the tenant.
func (s *Service) AllNamedLocations(ctx context.Context, tenantID string) ([]store.NamedLocation, error) {
	p, err := s.ListNamedLocations(ctx, tenantID, store.ListQuery{Limit: MaxNamedLocations + 1})
	return p.Items, err
}

// UpdateNamedLocation applies a PATCH body, which must carry the
// location's own @odata.type (a location cannot change kind).
func (s *Service) UpdateNamedLocation(ctx context.Context, actor directory.Actor, tenantID, id string, patch []byte) (store.NamedLocation, error) {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return store.NamedLocation{}, err
	}
	fields, err := parseObject(patch)
	if err != nil {
		return store.NamedLocation{}, err
	}
	kind, err := locationKind(fields)
	if err != nil {
		return store.NamedLocation{}, err
	}
	var out store.NamedLocation
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		cur, err := tx.GetNamedLocation(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "Named location", id)
		}
		if kind != cur.Kind {
			typ, _ := kindType(cur.Kind)
			return invalid("@odata.type", "Named location '%s' is a '%s'; its type cannot change.", clip(id), typ)
		}
		curDoc, err := decodeDoc(cur.Doc)
		if err != nil {
			return err
		}
		if err := checkReadOnly(fields, curDoc); err != nil {
			return err
		}
		doc, err := normalizeLocation(kind, mergePatch(withoutReadOnly(curDoc), withoutReadOnly(fields)))
		if err != nil {
			return err
		}
		doc["id"], doc["createdDateTime"], doc["modifiedDateTime"] = cur.ID, curDoc["createdDateTime"], curDoc["modifiedDateTime"]
		same, err := marshal(doc)
		if err != nil {
			return err
		}
		if string(same) == string(cur.Doc) {
			out = cur
			return nil
		}
		now := s.now()
		doc["modifiedDateTime"] = timeJSON(now)
		next, err := marshal(doc)
		if err != nil {
			return err
		}
		out, err = tx.UpdateNamedLocation(ctx, tenantID, id, func(l *store.NamedLocation) error {
			l.DisplayName, l.ModifiedAt, l.Doc = strProp(doc, "displayName"), now, next
			return nil
		})
		if err != nil {
			return apperr.FromStore(err, "Named location '"+clip(id)+"'")
		}
		return s.audited(ctx, tx, actor, tenantID, "Update named location", "Update", locationTarget(out, cur.Doc, next))
	})
	return out, err
}

// DeleteNamedLocation deletes a named location; one that a policy names
// is a 409 listing the policies.
func (s *Service) DeleteNamedLocation(ctx context.Context, actor directory.Actor, tenantID, id string) error {
	defer s.changed(tenantID)
	if err := authorize(actor); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockConditionalAccess(ctx, tenantID); err != nil {
			return err
		}
		cur, err := tx.GetNamedLocation(ctx, tenantID, id)
		if err != nil {
			return notFound(err, "Named location", id)
		}
		users, err := tx.CAPoliciesUsingLocation(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			names := make([]string, 0, 5)
			for i, p := range users {
				if i == 5 {
					names = append(names, fmt.Sprintf("and %d more", len(users)-5))
					break
				}
				names = append(names, fmt.Sprintf("'%s' (%s)", clip(p.DisplayName), p.ID))
			}
			return conflict("Named location '%s' is used by conditional access policies %s; remove it from them before deleting it.",
				clip(cur.DisplayName), strings.Join(names, ", "))
		}
		if err := tx.DeleteNamedLocation(ctx, tenantID, id); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("Named location '%s' is used by a conditional access policy; remove it from the policy before deleting it.", clip(cur.DisplayName))
			}
			return notFound(err, "Named location", id)
		}
		return s.audited(ctx, tx, actor, tenantID, "Delete named location", "Delete", locationTarget(cur, cur.Doc, nil))
	})
}

// ---- Rendering ----

// Render decodes a stored document for the API. Without
// includeUnknownEnumMembers (the Prefer header
// include-unknown-enum-members), evolvable enum members after
// unknownFutureValue (platform linux, grant control riskRemediation) are
// shown as unknownFutureValue.
func Render(doc []byte, includeUnknownEnumMembers bool) (map[string]any, error) {
	m, err := decodeDoc(doc)
	if err != nil {
		return nil, err
	}
	if !includeUnknownEnumMembers {
		hideFuture(m, policyType)
	}
	return m, nil
}

// hideFuture replaces evolvable members in m (of type o).
func hideFuture(m map[string]any, o *objType) {
	for _, p := range o.props {
		switch {
		case p.kind == kObject:
			if sub, ok := m[p.name].(map[string]any); ok {
				hideFuture(sub, p.obj)
			}
		case p.future != nil:
			switch v := m[p.name].(type) {
			case []any:
				for i, x := range v {
					if s, ok := x.(string); ok && containsStr(p.future, s) {
						v[i] = "unknownFutureValue"
					}
				}
			case string:
				if containsStr(p.future, v) {
					m[p.name] = "unknownFutureValue"
				}
			}
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
