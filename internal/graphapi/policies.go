package graphapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// Sign-in policy resources (graph-api.md §1, §2, §4, §8):
//
//	GET|PATCH        /policies/authenticationMethodsPolicy
//	GET|PATCH|DELETE /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}
//	GET|PATCH        /policies/identitySecurityDefaultsEnforcementPolicy
//	GET|PATCH        /beta/users/{id|upn}/authentication/signInPreferences (also /beta/me/…)
//	GET|PATCH        /beta/users/{id|upn}/authentication/requirements (also /beta/me/…)
//
// Under /v1.0 the beta-only parts of the methods policy
// (systemCredentialPreferences, reportSuspiciousActivitySettings, the
// HardwareOath configuration, the authenticator's number matching and
// companion app feature settings) are neither shown nor accepted.

const (
	methodsPolicyPath    = "/policies/authenticationMethodsPolicy"
	securityDefaultsPath = "/policies/identitySecurityDefaultsEnforcementPolicy"
	securityDefaultsDesc = "Security defaults is a set of basic identity security mechanisms recommended by vakt. When enabled, these recommendations are enforced automatically in your organization: every user registers for multifactor authentication, administrators pass it at every sign-in, and legacy authentication is blocked."
)

func (a *API) policyRoutes(add func(method, path string, h handlerFunc)) {
	add("GET", methodsPolicyPath, a.getMethodsPolicy)
	add("PATCH", methodsPolicyPath, a.patchMethodsPolicy)
	cfg := methodsPolicyPath + "/authenticationMethodConfigurations/{configId}"
	add("GET", cfg, a.getMethodConfig)
	add("PATCH", cfg, a.patchMethodConfig)
	add("DELETE", cfg, a.deleteMethodConfig)
	add("GET", securityDefaultsPath, a.getSecurityDefaults)
	add("PATCH", securityDefaultsPath, a.patchSecurityDefaults)
	for _, p := range []string{"/users/{id}/authentication", "/me/authentication"} {
		add("GET", p+"/signInPreferences", a.getSignInPreferences)
		add("PATCH", p+"/signInPreferences", a.patchSignInPreferences)
		add("GET", p+"/requirements", a.getRequirements)
		add("PATCH", p+"/requirements", a.patchRequirements)
	}
}

func (c *call) beta() bool { return c.version == "beta" }

// toMap turns a marshalled value into a generic object.
func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

// configJSON renders a method configuration for the API version.
func configJSON(mc authpolicy.MethodConfiguration, beta bool) (map[string]any, error) {
	m, err := toMap(mc)
	if err != nil || beta {
		return m, err
	}
	if fs, ok := m["featureSettings"].(map[string]any); ok {
		for _, k := range authpolicy.BetaOnlyFeatureSettings {
			delete(fs, k)
		}
	}
	return m, nil
}

// methodsPolicyJSON renders the policy for the API version, with every
// method configuration expanded.
func methodsPolicyJSON(p authpolicy.Policy, beta bool) (map[string]any, error) {
	m, err := toMap(p)
	if err != nil {
		return nil, err
	}
	cfgs := []any{}
	for _, mc := range p.Methods.All() {
		if !beta && authpolicy.BetaOnlyConfig(mc.ConfigID()) {
			continue
		}
		cm, err := configJSON(mc, beta)
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, cm)
	}
	m["authenticationMethodConfigurations"] = cfgs
	m["lastModifiedDateTime"] = timeJSON(p.LastModifiedDateTime)
	if !beta {
		for _, k := range authpolicy.BetaOnlyProperties {
			delete(m, k)
		}
	}
	return m, nil
}

// dropExpandConfigs accepts $expand=authenticationMethodConfigurations,
// which clients send although the configurations are always expanded.
func dropExpandConfigs(c *call) {
	q := c.r.URL.Query()
	for k, vs := range q {
		if strings.EqualFold(k, "$expand") && len(vs) == 1 && strings.EqualFold(strings.TrimSpace(vs[0]), "authenticationMethodConfigurations") {
			q.Del(k)
			u := *c.r.URL // c.r shares its URL with the server's request
			u.RawQuery = q.Encode()
			c.r.URL = &u
		}
	}
}

func (a *API) writeMethodsPolicy(c *call, p authpolicy.Policy) error {
	obj, err := methodsPolicyJSON(p, c.beta())
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "authenticationMethodsPolicy", obj)
}

func (a *API) getMethodsPolicy(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	dropExpandConfigs(c)
	p, err := a.Policies.Load(c.ctx, c.tenant)
	if err != nil {
		return err
	}
	return a.writeMethodsPolicy(c, p)
}

// rawBody reads a JSON object body with the decoder's checks (content
// type, size, known properties) and returns it re-encoded.
func (c *call) rawBody(a *API, typeName string, allowed ...string) ([]byte, error) {
	b, err := c.decode(a, typeName, allowed...)
	if err != nil {
		return nil, err
	}
	return json.Marshal(b.fields)
}

func (a *API) patchMethodsPolicy(c *call) error {
	if err := c.require(directory.ActionMethodsPolicy); err != nil {
		return err
	}
	dropExpandConfigs(c)
	raw, err := c.rawBody(a, "microsoft.graph.authenticationMethodsPolicy", authpolicy.PolicyProperties()...)
	if err != nil {
		return err
	}
	p, err := a.Policies.UpdatePolicy(c.ctx, c.actor, c.tenant, authpolicy.Patch{JSON: raw, V1: !c.beta()})
	if err != nil {
		return err
	}
	return a.writeMethodsPolicy(c, p)
}

// configID resolves the {configId} segment (case-insensitive) for the
// version; unknown ids are a 400.
func (c *call) configID() (string, error) {
	return authpolicy.ResolveConfigID(c.r.PathValue("configId"), !c.beta())
}

func (a *API) getMethodConfig(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	id, err := c.configID()
	if err != nil {
		return err
	}
	mc, err := a.Policies.MethodConfig(c.ctx, c.tenant, id)
	if err != nil {
		return err
	}
	obj, err := configJSON(mc, c.beta())
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity", obj)
}

func (a *API) patchMethodConfig(c *call) error {
	if err := c.require(directory.ActionMethodsPolicy); err != nil {
		return err
	}
	id, err := c.configID()
	if err != nil {
		return err
	}
	var m authpolicy.Methods
	mc, _ := m.Config(id)
	raw, err := c.rawBody(a, strings.TrimPrefix(mc.ODataType(), "#"), authpolicy.ConfigProperties(id)...)
	if err != nil {
		return err
	}
	if _, err := a.Policies.UpdateMethodConfig(c.ctx, c.actor, c.tenant, id, authpolicy.Patch{JSON: raw, V1: !c.beta()}); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteMethodConfig(c *call) error {
	if err := c.require(directory.ActionMethodsPolicy); err != nil {
		return err
	}
	id, err := c.configID()
	if err != nil {
		return err
	}
	if _, err := a.Policies.ResetMethodConfig(c.ctx, c.actor, c.tenant, id); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getSecurityDefaults(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	sd, err := a.Policies.SecurityDefaults(c.ctx, c.tenant)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, "policies/identitySecurityDefaultsEnforcementPolicy/$entity", map[string]any{
		"id": authpolicy.SecurityDefaultsPolicyID, "displayName": "Security Defaults", "description": securityDefaultsDesc,
		"isEnabled": sd.Enabled,
	})
}

// patchSecurityDefaults takes {"isEnabled": bool} and, as a vakt
// extension, an optional "reason" kept in the audit log (P-4.4).
func (a *API) patchSecurityDefaults(c *call) error {
	if err := c.require(directory.ActionSecurityDefaults); err != nil {
		return err
	}
	const typ = "microsoft.graph.identitySecurityDefaultsEnforcementPolicy"
	b, err := c.decode(a, typ, "isEnabled", "reason", "id", "displayName", "description")
	if err != nil {
		return err
	}
	for _, k := range []string{"id", "displayName", "description"} {
		if b.has(k) {
			return apperr.Invalidf("Property '%s' is read-only.", k).WithTarget(k)
		}
	}
	on, err := b.boolean("isEnabled")
	if err != nil {
		return err
	}
	if on == nil {
		return apperr.Invalidf("Property 'isEnabled' is required.").WithTarget("isEnabled")
	}
	reason, err := b.str("reason")
	if err != nil {
		return err
	}
	r := ""
	if reason != nil {
		r = *reason
	}
	if err := a.Policies.SetSecurityDefaults(c.ctx, c.actor, c.tenant, *on, r, false); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// betaUser resolves the user of a beta-only per-user resource ({id} is an
// id or a UPN; /me is the signed-in user) after checking that the actor
// may perform one of acts. Under /v1.0 the resource does not exist.
func (a *API) betaUser(c *call, segment string, acts ...directory.Action) (store.User, error) {
	if !c.beta() {
		return store.User{}, apperr.NotFoundf("Resource not found for the segment '%s'.", segment).WithCode("BadRequest")
	}
	ref := c.r.PathValue("id")
	if ref == "" {
		if c.actor.UserID == "" {
			return store.User{}, errMeAppOnly()
		}
		ref = c.actor.UserID
	}
	if !slices.ContainsFunc(acts, func(act directory.Action) bool { return directory.Allowed(c.actor, act) }) {
		return store.User{}, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	return a.Admin.FindUser(c.ctx, c.tenant, ref)
}

func (a *API) getSignInPreferences(c *call) error {
	u, err := a.betaUser(c, "signInPreferences", directory.ActionUserMethodsRead)
	if err != nil {
		return err
	}
	p, err := a.Policies.GetSignInPreferences(c.ctx, c.actor, c.tenant, u.ID)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, methodsPath(u, "signInPreferences")+"/$entity", map[string]any{
		"isSystemPreferredAuthenticationMethodEnabled":  p.IsSystemPreferredAuthenticationMethodEnabled,
		"userPreferredMethodForSecondaryAuthentication": nullable(p.UserPreferredMethodForSecondaryAuthentication),
	})
}

func (a *API) patchSignInPreferences(c *call) error {
	u, err := a.betaUser(c, "signInPreferences", directory.ActionUserMethodsWrite)
	if err != nil {
		return err
	}
	const sys, pref = "isSystemPreferredAuthenticationMethodEnabled", "userPreferredMethodForSecondaryAuthentication"
	b, err := c.decode(a, "microsoft.graph.signInPreferences", sys, pref)
	if err != nil {
		return err
	}
	var patch authpolicy.SignInPreferencesPatch
	if raw, ok := b.fields[sys]; ok && string(raw) == "null" {
		// null: the user follows the tenant's setting again.
		patch.FollowTenantSystemPreferred = true
	} else if patch.IsSystemPreferredAuthenticationMethodEnabled, err = b.boolean(sys); err != nil {
		return err
	}
	if patch.UserPreferredMethodForSecondaryAuthentication, err = b.str(pref); err != nil {
		return err
	}
	if err := a.Policies.SetSignInPreferences(c.ctx, c.actor, c.tenant, u.ID, patch); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getRequirements(c *call) error {
	// Reading the state takes the right to read users' methods or to set
	// per-user MFA.
	u, err := a.betaUser(c, "requirements", directory.ActionUserMethodsRead, directory.ActionUserPerUserMFA)
	if err != nil {
		return err
	}
	state := u.PerUserMFA
	if state == "" {
		state = store.PerUserMFADisabled
	}
	return a.entity(c, http.StatusOK, methodsPath(u, "requirements")+"/$entity", map[string]any{"perUserMfaState": string(state)})
}

// patchRequirements sets per-user MFA (P-3). When the new state puts the
// user under both per-user MFA and security defaults (or conditional
// access), the response carries a Warning header (P-3.3), and the audit
// entry records it.
func (a *API) patchRequirements(c *call) error {
	u, err := a.betaUser(c, "requirements", directory.ActionUserPerUserMFA)
	if err != nil {
		return err
	}
	b, err := c.decode(a, "microsoft.graph.strongAuthenticationRequirements", "perUserMfaState")
	if err != nil {
		return err
	}
	state, err := b.requireStr("perUserMfaState")
	if err != nil {
		return err
	}
	warning, err := a.Policies.SetPerUserMFA(c.ctx, c.actor, c.tenant, u.ID, store.PerUserMFAState(state))
	if err != nil {
		return err
	}
	if warning != "" {
		c.w.Header().Set("Warning", `299 - "`+strings.ReplaceAll(warning, `"`, `'`)+`"`)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
