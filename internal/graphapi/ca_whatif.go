package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/odata"
)

// Conditional access tools (P-7.5, P-7.6 and vakt's impact replay):
//
//	POST /beta/identity/conditionalAccess/evaluate                     What If
//	GET  /identity/conditionalAccess/templates                         templates
//	GET  /identity/conditionalAccess/templates/{id}
//	POST /beta/identity/conditionalAccess/templates/{id}/instantiate   create a report-only policy from a template
//	POST /beta/identity/conditionalAccess/policies/{id}/replay         replay a policy against the sign-in log
//
// The templates are served under /v1.0 and /beta, as Graph serves
// conditionalAccessTemplate; the others exist only under /beta (a 404
// under /v1.0). What If, the templates and replay need
// directory.ActionPolicyRead; instantiate
// directory.ActionConditionalAccess. The shapes are in docs/admin-api.md;
// the logic is internal/capolicy's.

const (
	caEvaluatePath  = "/identity/conditionalAccess/evaluate"
	caTemplatesPath = "/identity/conditionalAccess/templates"
	caTemplatesSet  = "identity/conditionalAccess/templates"
)

func (a *API) caToolRoutes(add func(method, path string, h handlerFunc)) {
	add("POST", caEvaluatePath, a.caEvaluate)
	add("GET", caTemplatesPath, a.listCATemplates)
	add("GET", caTemplatesPath+"/{id}", a.getCATemplate)
	add("POST", caTemplatesPath+"/{id}/instantiate", a.instantiateCATemplate)
	add("POST", caPoliciesPath+"/{id}/replay", a.replayCAPolicy)
}

// betaOnly answers a /v1.0 request for a beta-only resource as an unknown
// segment, as Graph does.
func (c *call) betaOnly(segment string) error {
	if c.beta() {
		return nil
	}
	return apperr.NotFoundf("Resource not found for the segment '%s'.", segment).WithCode("BadRequest")
}

// optionalObject reads an optional JSON object body: no body (or an empty
// one) gives nil fields; anything else must be a JSON object with only
// the allowed properties.
func (c *call) optionalObject(a *API, typeName string, allowed ...string) (*body, error) {
	limit := a.MaxBodyBytes
	if limit <= 0 {
		limit = defaultMaxBody
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apperr.TooLargef("The request body is larger than %d bytes.", limit)
		}
		return nil, apperr.Invalidf("The request body could not be read.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return &body{fields: map[string]json.RawMessage{}, typeName: typeName}, nil
	}
	c.r.Body = io.NopCloser(bytes.NewReader(raw))
	return c.decode(a, typeName, allowed...)
}

// strField reads an optional string property ("" when absent or null).
func (b *body) strField(name string) (string, error) {
	s, err := b.str(name)
	if err != nil || s == nil {
		return "", err
	}
	return *s, nil
}

// boolField reads an optional boolean property (false when absent).
func (b *body) boolField(name string) (bool, error) {
	v, err := b.boolean(name)
	if err != nil || v == nil {
		return false, err
	}
	return *v, nil
}

// whatIfProps are the properties of What If's request body.
var whatIfProps = []string{"user", "appId", "adminPortal", "ipAddress", "country", "platform", "clientAppType",
	"deviceCompliant", "deviceTrustType", "signInRiskLevel", "userRiskLevel", "userAction"}

func (a *API) caEvaluate(c *call) error {
	if err := c.betaOnly("identity"); err != nil {
		return err
	}
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	b, err := c.decode(a, "vakt.conditionalAccessWhatIfRequest", whatIfProps...)
	if err != nil {
		return err
	}
	var r capolicy.WhatIfRequest
	for _, f := range []struct {
		name string
		dst  *string
	}{{"user", &r.User}, {"appId", &r.AppID}, {"ipAddress", &r.IPAddress}, {"country", &r.Country}, {"platform", &r.Platform},
		{"clientAppType", &r.ClientAppType}, {"deviceTrustType", &r.DeviceTrustType}, {"signInRiskLevel", &r.SignInRiskLevel},
		{"userRiskLevel", &r.UserRiskLevel}, {"userAction", &r.UserAction}} {
		if *f.dst, err = b.strField(f.name); err != nil {
			return err
		}
	}
	if r.AdminPortal, err = b.boolField("adminPortal"); err != nil {
		return err
	}
	if r.DeviceCompliant, err = b.boolField("deviceCompliant"); err != nil {
		return err
	}
	res, err := a.ConditionalAccess.WhatIf(c.ctx, c.tenant, r)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, res)
	return nil
}

var caTemplateSpec = odata.Spec{Selectable: []string{"id", "name", "description", "details"}, DefaultTop: 100, MaxTop: 999}

func templateJSON(t capolicy.TemplateView) (map[string]any, error) {
	return toMap(t)
}

func (a *API) listCATemplates(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	o, err := c.parseQuery(caTemplateSpec)
	if err != nil {
		return err
	}
	if o.Filter != nil || o.OrderBy != "" || o.Count {
		return apperr.Invalidf("The templates support only $select, $top and $skiptoken.")
	}
	ts, err := capolicy.Templates()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	for k := range q {
		if strings.EqualFold(k, "$select") {
			q.Del(k)
		}
	}
	page, next, err := pageSliceQuery(q, ts, 100)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(page))
	for i, t := range page {
		if items[i], err = templateJSON(t); err != nil {
			return err
		}
	}
	return a.collection(c, caTemplatesSet, items, next, nil, o.Select)
}

func (a *API) getCATemplate(c *call) error {
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	ts, err := capolicy.Templates()
	if err != nil {
		return err
	}
	for _, t := range ts {
		if strings.EqualFold(t.ID, id) {
			obj, err := templateJSON(t)
			if err != nil {
				return err
			}
			return a.entity(c, http.StatusOK, caTemplatesSet+"/$entity", obj)
		}
	}
	return apperr.NotFoundf("Conditional access template '%s' does not exist.", truncate(id, 64))
}

func (a *API) instantiateCATemplate(c *call) error {
	if err := c.betaOnly("identity"); err != nil {
		return err
	}
	if err := c.require(directory.ActionConditionalAccess); err != nil {
		return err
	}
	b, err := c.optionalObject(a, "vakt.conditionalAccessTemplateInstantiation", "displayName")
	if err != nil {
		return err
	}
	name, err := b.str("displayName")
	if err != nil {
		return err
	}
	if name != nil && strings.TrimSpace(*name) == "" {
		return apperr.Invalidf("'displayName' must not be empty; leave it out to use the template's name.").WithTarget("displayName")
	}
	id := c.r.PathValue("id")
	if _, err := capolicy.FindTemplate(id); err != nil {
		return err
	}
	dn := ""
	if name != nil {
		dn = *name
	}
	p, err := a.ConditionalAccess.CreateFromTemplate(c.ctx, c.actor, c.tenant, id, dn)
	if err != nil {
		return conflictCode(err)
	}
	return a.writeCAPolicy(c, http.StatusCreated, p)
}

func (a *API) replayCAPolicy(c *call) error {
	if err := c.betaOnly("identity"); err != nil {
		return err
	}
	if err := c.require(directory.ActionPolicyRead); err != nil {
		return err
	}
	b, err := c.optionalObject(a, "vakt.conditionalAccessReplayRequest", "days")
	if err != nil {
		return err
	}
	days := capolicy.ReplayDefaultDays
	if raw, ok := b.fields["days"]; ok {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return b.typeErr("days", "a whole number of days")
		}
		if n, ok = v.(json.Number); !ok {
			return b.typeErr("days", "a whole number of days")
		}
		d, err := n.Int64()
		if err != nil {
			return b.typeErr("days", "a whole number of days")
		}
		if d < 1 || d > capolicy.ReplayMaxDays {
			return apperr.Invalidf("'days' must be between 1 and %d.", capolicy.ReplayMaxDays).WithTarget("days")
		}
		days = int(d)
	}
	res, err := a.ConditionalAccess.Replay(c.ctx, c.tenant, c.r.PathValue("id"), days)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, res)
	return nil
}
