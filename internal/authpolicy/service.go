// Package authpolicy holds a tenant's sign-in policy settings: security
// defaults (P-4), the authentication methods policy with the registration
// campaign and system-preferred MFA (P-5, P-6.2), and each user's sign-in
// preferences. It has three parts:
//
//   - a typed model that reads and writes exactly the Graph JSON shape of
//     authenticationMethodsPolicy (graph-api.md §1), with the defaults of
//     a new tenant (Default, DefaultMethods);
//   - a Service that loads and changes the settings through the store's
//     per-tenant settings, validates every change against the tenant's
//     directory, and audits it in the same transaction;
//   - pure evaluation (Policy.AllowedKinds, AllowedOptions,
//     SystemPreferredApplies, CampaignApplies): functions of the policy,
//     the user's id and the user's transitive groups, with no I/O.
//
// A tenant that never changed a setting has its default: security
// defaults on since the tenant was created, and the policy of Default.
package authpolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// Setting keys (store.Settings).
const (
	// PolicySetting holds the authentication methods policy, in its Graph
	// (beta) JSON shape.
	PolicySetting = "authenticationMethodsPolicy"
	// SecurityDefaultsSetting holds SecurityDefaults.
	SecurityDefaultsSetting = "securityDefaults"
)

// ConditionalAccessPolicies counts a tenant's enabled conditional access
// policies (report-only ones do not count), for the mutual exclusion with
// security defaults (P-4.3).
type ConditionalAccessPolicies interface {
	EnabledPolicyCount(ctx context.Context, tenantID string) (int, error)
}

// Service loads and changes the sign-in policy settings.
type Service struct {
	Store store.Store
	// ConditionalAccess counts enabled conditional access policies; nil
	// means the tenant has none.
	ConditionalAccess ConditionalAccessPolicies
	// Admin makes per-user MFA changes (SetPerUserMFA).
	Admin *admin.Service
	Now   func() time.Time
	// Changed is told after every settings write (successful or not) of
	// this node, so caches of the settings can drop the tenant's entry.
	Changed func(tenantID string)
}

func (s *Service) changed(tenantID string) {
	if s.Changed != nil {
		s.Changed(tenantID)
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func authorize(actor directory.Actor, act directory.Action) error {
	if !directory.Allowed(actor, act) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return nil
}

func (s *Service) audited(ctx context.Context, tx store.Store, actor directory.Actor, tenantID string, e audit.Entry) error {
	return tx.AppendAudit(ctx, audit.New(ctx, actor, tenantID, s.now(), e))
}

// errNoChange aborts a settings update that would change nothing.
var errNoChange = errors.New("no change")

// ---- Security defaults (P-4) ----

// SecurityDefaultsPolicyID is the id of identitySecurityDefaultsEnforcementPolicy.
const SecurityDefaultsPolicyID = "00000000-0000-0000-0000-000000000005"

// SecurityDefaults is the tenant-wide switch of P-4.
type SecurityDefaults struct {
	Enabled bool `json:"enabled"`
	// EnabledAt is when it was last turned on (the tenant's creation for
	// a tenant that never changed it): the 14-day registration grace of
	// P-4.2 starts at a user's first sign-in after it.
	EnabledAt time.Time `json:"enabledAt"`
	// ModifiedAt is when an administrator last changed it; zero if never.
	ModifiedAt time.Time `json:"modifiedAt"`
}

// MaxReasonLength bounds the reason for turning security defaults off.
const MaxReasonLength = 1000

func readSecurityDefaults(ctx context.Context, st store.Store, tenantID string) (SecurityDefaults, error) {
	raw, err := st.GetSetting(ctx, tenantID, SecurityDefaultsSetting)
	if errors.Is(err, store.ErrNotFound) {
		t, err := st.GetTenant(ctx, tenantID)
		if err != nil {
			return SecurityDefaults{}, apperr.FromStore(err, "The tenant")
		}
		return SecurityDefaults{Enabled: true, EnabledAt: t.CreatedAt.UTC()}, nil
	}
	if err != nil {
		return SecurityDefaults{}, err
	}
	var sd SecurityDefaults
	if err := json.Unmarshal(raw, &sd); err != nil {
		return SecurityDefaults{}, fmt.Errorf("security defaults setting: %w", err)
	}
	return sd, nil
}

// SecurityDefaults reads the tenant's security defaults; a tenant that
// never set them has them on since it was created (P-4.1).
func (s *Service) SecurityDefaults(ctx context.Context, tenantID string) (SecurityDefaults, error) {
	return readSecurityDefaults(ctx, s.Store, tenantID)
}

// SecurityDefaultsEnabled reports whether security defaults are on, for
// conditional access to refuse enabling a policy meanwhile (P-4.3).
func (s *Service) SecurityDefaultsEnabled(ctx context.Context, tenantID string) (bool, error) {
	sd, err := s.SecurityDefaults(ctx, tenantID)
	return sd.Enabled, err
}

// reasonRequired refuses turning security defaults off without a reason.
const reasonRequired = "A reason is required to turn security defaults off; it is kept in the audit log."

// SetSecurityDefaults turns security defaults on or off. Turning them off
// takes a written reason when requireReason is set (the CLI and the admin
// portal) and an optional one otherwise (Graph); the reason goes into the
// audit entry. They cannot be turned on while conditional access policies
// are enabled (409). Setting the current state again changes nothing and
// writes no audit entry.
func (s *Service) SetSecurityDefaults(ctx context.Context, actor directory.Actor, tenantID string, enabled bool, reason string, requireReason bool) error {
	defer s.changed(tenantID)
	if err := authorize(actor, directory.ActionSecurityDefaults); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > MaxReasonLength {
		return apperr.Invalidf("The reason is longer than %d characters.", MaxReasonLength).WithTarget("reason")
	}
	if !enabled && requireReason && reason == "" {
		return apperr.Invalidf(reasonRequired).WithTarget("reason")
	}
	cur, err := s.SecurityDefaults(ctx, tenantID)
	if err != nil {
		return err
	}
	if enabled && !cur.Enabled && s.ConditionalAccess != nil {
		// Checked before the change's transaction: the counter reads the
		// store on its own; conditional access checks the other direction.
		n, err := s.ConditionalAccess.EnabledPolicyCount(ctx, tenantID)
		if err != nil {
			return err
		}
		if n > 0 {
			return apperr.Conflictf("%s", caConflict(n))
		}
	}
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		var old SecurityDefaults
		_, err := tx.UpdateSetting(ctx, tenantID, SecurityDefaultsSetting, func([]byte) ([]byte, error) {
			var err error
			// Read under the setting's lock.
			if old, err = readSecurityDefaults(ctx, tx, tenantID); err != nil {
				return nil, err
			}
			if old.Enabled == enabled {
				return nil, errNoChange
			}
			next := SecurityDefaults{Enabled: enabled, EnabledAt: old.EnabledAt, ModifiedAt: now}
			if enabled {
				next.EnabledAt = now
			}
			return json.Marshal(next)
		})
		if err != nil {
			return err
		}
		details := map[string]string{}
		if reason != "" {
			details["reason"] = reason
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update security defaults", Category: "Policy", Operation: "Update",
			Targets: []store.AuditTarget{{ID: SecurityDefaultsPolicyID, DisplayName: "Security Defaults", Type: "Policy",
				ModifiedProperties: []store.ModifiedProperty{audit.Prop("IsEnabled", old.Enabled, enabled)}}},
			Details: details})
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

func caConflict(n int) string {
	if n == 1 {
		return "Security defaults cannot be turned on while 1 conditional access policy is enabled; turn it off or to report-only first."
	}
	return fmt.Sprintf("Security defaults cannot be turned on while %d conditional access policies are enabled; turn them off or to report-only first.", n)
}

// ---- Authentication methods policy (P-5) ----

// fixed resets the read-only constants of a loaded policy.
func fixed(p *Policy) {
	p.ID, p.DisplayName, p.Description = PolicyID, PolicyDisplayName, PolicyDescription
	p.PolicyVersion, p.PolicyMigrationState = PolicyVersion, PolicyMigrationState
	p.LastModifiedDateTime = p.LastModifiedDateTime.UTC()
	fillNil(p)
}

// decodePolicy reads a stored policy, or the tenant's default when raw is
// nil. A tenant without a stored policy but with a TAP setting (written
// before the policy existed) keeps its TAP values.
func decodePolicy(ctx context.Context, st store.Store, tenantID string, raw []byte) (Policy, error) {
	if raw == nil {
		t, err := st.GetTenant(ctx, tenantID)
		if err != nil {
			return Policy{}, apperr.FromStore(err, "The tenant")
		}
		p := Default(t.CreatedAt)
		tapRaw, err := st.GetSetting(ctx, tenantID, securityinfo.TAPPolicySetting)
		switch {
		case err == nil:
			tp := securityinfo.DefaultTAPPolicy()
			if json.Unmarshal(tapRaw, &tp) == nil && tp.Validate() == nil {
				c := &p.Methods.TemporaryAccessPass
				c.State = StateDisabled
				if tp.Enabled {
					c.State = StateEnabled
				}
				c.DefaultLifetimeInMinutes, c.MinimumLifetimeInMinutes, c.MaximumLifetimeInMinutes = tp.DefaultLifetimeMinutes, tp.MinimumLifetimeMinutes, tp.MaximumLifetimeMinutes
				c.DefaultLength, c.IsUsableOnce = tp.DefaultLength, tp.IsUsableOnce
			}
		case !errors.Is(err, store.ErrNotFound):
			return Policy{}, err
		}
		return p, nil
	}
	p := Default(time.Time{})
	if err := json.Unmarshal(raw, &p); err != nil {
		return Policy{}, fmt.Errorf("authentication methods policy setting: %w", err)
	}
	fixed(&p)
	return p, nil
}

func load(ctx context.Context, st store.Store, tenantID string) (Policy, error) {
	raw, err := st.GetSetting(ctx, tenantID, PolicySetting)
	if errors.Is(err, store.ErrNotFound) {
		raw, err = nil, nil
	}
	if err != nil {
		return Policy{}, err
	}
	return decodePolicy(ctx, st, tenantID, raw)
}

// Load reads the tenant's authentication methods policy, or its default.
func (s *Service) Load(ctx context.Context, tenantID string) (Policy, error) {
	return load(ctx, s.Store, tenantID)
}

// change applies fn to the stored policy under the setting's lock, in tx,
// and writes the result unless it equals the current policy (then
// changed is false and nothing is written).
func (s *Service) change(ctx context.Context, tx store.Store, tenantID string, fn func(cur Policy) (Policy, error)) (old, next Policy, changed bool, err error) {
	_, err = tx.UpdateSetting(ctx, tenantID, PolicySetting, func(raw []byte) ([]byte, error) {
		var err error
		if old, err = decodePolicy(ctx, tx, tenantID, raw); err != nil {
			return nil, err
		}
		if next, err = fn(old); err != nil {
			return nil, err
		}
		fixed(&next)
		next.LastModifiedDateTime = old.LastModifiedDateTime
		a, _ := json.Marshal(old)
		b, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(a, b) {
			return nil, errNoChange
		}
		next.LastModifiedDateTime = s.now()
		return json.Marshal(next)
	})
	if errors.Is(err, errNoChange) {
		return old, old, false, nil
	}
	return old, next, err == nil, err
}

// Policy-level properties by writability.
var (
	policyWritable = []string{"registrationEnforcement", "reconfirmationInDays", "systemCredentialPreferences", "reportSuspiciousActivitySettings"}
	policyReadOnly = []string{"id", "displayName", "description", "lastModifiedDateTime", "policyVersion", "policyMigrationState", "authenticationMethodConfigurations"}
)

const policyType = "microsoft.graph.authenticationMethodsPolicy"

// checkODataType checks an @odata.type annotation against want (with or
// without the leading #); required says whether it must be there.
func checkODataType(fields map[string]any, want string, required bool) error {
	v, ok := fields["@odata.type"]
	if !ok {
		if required {
			return apperr.Invalidf("The @odata.type property is required: '#%s'.", want).WithTarget("@odata.type")
		}
		return nil
	}
	s, _ := v.(string)
	if strings.TrimPrefix(s, "#") != want {
		return apperr.Invalidf("The @odata.type must be '#%s'.", want).WithTarget("@odata.type")
	}
	return nil
}

// UpdatePolicy applies a PATCH of the policy object: registrationEnforcement
// and reconfirmationInDays, and (unless patch.V1) systemCredentialPreferences
// and reportSuspiciousActivitySettings. It returns the whole policy.
func (s *Service) UpdatePolicy(ctx context.Context, actor directory.Actor, tenantID string, patch Patch) (Policy, error) {
	defer s.changed(tenantID)
	if err := authorize(actor, directory.ActionMethodsPolicy); err != nil {
		return Policy{}, err
	}
	fields, err := parseObject(patch.JSON)
	if err != nil {
		return Policy{}, err
	}
	if err := checkODataType(fields, policyType, false); err != nil {
		return Policy{}, err
	}
	for _, k := range sortedKeys(fields) {
		switch {
		case strings.HasPrefix(k, "@odata."):
			continue
		case patch.V1 && slices.Contains(BetaOnlyProperties, k):
			return Policy{}, apperr.Invalidf("Property '%s' is available only in the beta API (/beta).", k).WithTarget(k)
		case slices.Contains(policyReadOnly, k):
			return Policy{}, apperr.Invalidf("Property '%s' is read-only.", k).WithTarget(k)
		case !slices.Contains(policyWritable, k):
			return Policy{}, apperr.Invalidf("Property '%s' does not exist on type '%s'.", clip(k), policyType).WithTarget(clip(k))
		}
		f, _ := jsonField(reflect.TypeOf(Policy{}), k)
		if err := checkValue(fields[k], f.Type, k, policyType); err != nil {
			return Policy{}, err
		}
	}
	var out Policy
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		old, next, changed, err := s.change(ctx, tx, tenantID, func(cur Policy) (Policy, error) {
			var next Policy
			if err := applyFields(cur, fields, &next); err != nil {
				return Policy{}, err
			}
			v := validator{ctx: ctx, st: tx, tenantID: tenantID}
			return next, v.policy(&next)
		})
		if err != nil {
			return err
		}
		out = next
		if !changed {
			return nil
		}
		before, after := properties(old), properties(next)
		var props []store.ModifiedProperty
		for _, k := range sortedKeys(fields) {
			if !strings.HasPrefix(k, "@odata.") {
				props = append(props, audit.Prop(k, before[k], after[k]))
			}
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update authentication methods policy", Category: "Policy",
			Operation: "Update", Service: audit.AuthenticationMethods, Targets: []store.AuditTarget{policyTarget(props...)}})
	})
	return out, err
}

func policyTarget(props ...store.ModifiedProperty) store.AuditTarget {
	return store.AuditTarget{ID: PolicyID, DisplayName: PolicyDisplayName, Type: "Policy", ModifiedProperties: props}
}

// properties returns the top-level properties of the policy's JSON.
func properties(p Policy) map[string]json.RawMessage {
	raw, _ := json.Marshal(p)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resolveConfig resolves a configuration id (case-insensitive) for the API
// version; unknown ids are a 400 that lists the known ones.
func resolveConfig(id string, v1 bool) (string, error) {
	c, ok := CanonicalConfigID(id)
	if !ok || (v1 && BetaOnlyConfig(c)) {
		known := ConfigIDs()
		if v1 {
			known = slices.DeleteFunc(known, BetaOnlyConfig)
		}
		msg := "'%s' is not an authentication method configuration; use one of %s."
		if ok {
			msg = "'%s' is available only in the beta API (/beta); in this version use one of %s."
		}
		return "", apperr.Invalidf(msg, clip(id), strings.Join(known, ", ")).WithTarget("id")
	}
	return c, nil
}

// ResolveConfigID resolves a configuration id case-insensitively to its
// canonical casing; v1 refuses the beta-only HardwareOath. Unknown ids are
// a 400.
func ResolveConfigID(id string, v1 bool) (string, error) { return resolveConfig(id, v1) }

// MethodConfig returns one configuration of the tenant's policy.
func (s *Service) MethodConfig(ctx context.Context, tenantID, id string) (MethodConfiguration, error) {
	cid, err := resolveConfig(id, false)
	if err != nil {
		return nil, err
	}
	p, err := s.Load(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c, _ := p.Methods.Config(cid)
	return c, nil
}

// UpdateMethodConfig applies a PATCH of one method configuration; the body
// must carry the configuration's @odata.type. A change to
// TemporaryAccessPass is copied into the TAP setting of internal/securityinfo
// in the same transaction.
func (s *Service) UpdateMethodConfig(ctx context.Context, actor directory.Actor, tenantID, id string, patch Patch) (MethodConfiguration, error) {
	defer s.changed(tenantID)
	if err := authorize(actor, directory.ActionMethodsPolicy); err != nil {
		return nil, err
	}
	cid, err := resolveConfig(id, patch.V1)
	if err != nil {
		return nil, err
	}
	fields, err := parseObject(patch.JSON)
	if err != nil {
		return nil, err
	}
	var m Methods
	ptr := m.ptr(cid)
	typ := strings.TrimPrefix(ptr.(MethodConfiguration).ODataType(), "#")
	if err := checkODataType(fields, typ, true); err != nil {
		return nil, err
	}
	if v, ok := fields["id"]; ok {
		if s, _ := v.(string); !strings.EqualFold(s, cid) {
			return nil, apperr.Invalidf("Property 'id' must be '%s', the configuration being changed.", cid).WithTarget("id")
		}
		delete(fields, "id")
	}
	rt := reflect.TypeOf(ptr).Elem()
	for _, k := range sortedKeys(fields) {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if patch.V1 && k == "featureSettings" {
			if fs, ok := fields[k].(map[string]any); ok {
				for _, b := range BetaOnlyFeatureSettings {
					if _, ok := fs[b]; ok {
						return nil, apperr.Invalidf("Property 'featureSettings.%s' is available only in the beta API (/beta).", b).WithTarget("featureSettings." + b)
					}
				}
			}
		}
		f, ok := jsonField(rt, k)
		if !ok {
			return nil, apperr.Invalidf("Property '%s' does not exist on type '%s'.", clip(k), typ).WithTarget(clip(k))
		}
		if err := checkValue(fields[k], f.Type, k, typ); err != nil {
			return nil, err
		}
	}
	return s.writeConfig(ctx, actor, tenantID, cid, "Update authentication method configuration", func(cur any, next any) error {
		return applyFields(cur, fields, next)
	})
}

// ResetMethodConfig puts one method configuration back to its default
// (DELETE in Graph).
func (s *Service) ResetMethodConfig(ctx context.Context, actor directory.Actor, tenantID, id string) (MethodConfiguration, error) {
	defer s.changed(tenantID)
	if err := authorize(actor, directory.ActionMethodsPolicy); err != nil {
		return nil, err
	}
	cid, err := resolveConfig(id, false)
	if err != nil {
		return nil, err
	}
	return s.writeConfig(ctx, actor, tenantID, cid, "Reset authentication method configuration", func(_ any, next any) error {
		reflect.ValueOf(next).Elem().Set(reflect.ValueOf(defaultConfig(cid)).Elem())
		return nil
	})
}

// writeConfig changes configuration cid with set(cur, next), where cur is
// the current value and next a pointer to fill; validates, writes, syncs
// the TAP setting and audits.
func (s *Service) writeConfig(ctx context.Context, actor directory.Actor, tenantID, cid, activity string, set func(cur any, next any) error) (MethodConfiguration, error) {
	var out MethodConfiguration
	err := s.Store.InTx(ctx, func(tx store.Store) error {
		old, next, changed, err := s.change(ctx, tx, tenantID, func(cur Policy) (Policy, error) {
			next := cur
			ptr := next.Methods.ptr(cid)
			if err := set(reflect.ValueOf(ptr).Elem().Interface(), ptr); err != nil {
				return Policy{}, err
			}
			v := validator{ctx: ctx, st: tx, tenantID: tenantID}
			return next, v.config(ptr)
		})
		if err != nil {
			return err
		}
		out, _ = next.Methods.Config(cid)
		if !changed {
			return nil
		}
		before, _ := old.Methods.Config(cid)
		if cid == TemporaryAccessPass {
			if err := syncTAP(ctx, tx, tenantID, next.Methods.TemporaryAccessPass); err != nil {
				return err
			}
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: activity, Category: "Policy", Operation: "Update",
			Service: audit.AuthenticationMethods,
			Targets: []store.AuditTarget{{ID: cid, DisplayName: cid, Type: "Policy",
				ModifiedProperties: []store.ModifiedProperty{audit.Prop(cid, before, out)}}},
			Details: map[string]string{"authenticationMethodConfiguration": cid}})
	})
	return out, err
}

// syncTAP writes the TAP configuration into the setting that
// internal/securityinfo issues passes by.
func syncTAP(ctx context.Context, tx store.Store, tenantID string, c TemporaryAccessPassConfig) error {
	raw, err := json.Marshal(securityinfo.TAPPolicy{Enabled: c.State == StateEnabled,
		DefaultLifetimeMinutes: c.DefaultLifetimeInMinutes, MinimumLifetimeMinutes: c.MinimumLifetimeInMinutes,
		MaximumLifetimeMinutes: c.MaximumLifetimeInMinutes, DefaultLength: c.DefaultLength, IsUsableOnce: c.IsUsableOnce})
	if err != nil {
		return err
	}
	_, err = tx.UpdateSetting(ctx, tenantID, securityinfo.TAPPolicySetting, func([]byte) ([]byte, error) { return raw, nil })
	return err
}
