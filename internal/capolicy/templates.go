package capolicy

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// Templates (P-7.6): ready-made policies (ca.Templates) that an
// administrator creates in report-only state, watches in the sign-in log
// (or replays against it) and then turns on.

// TemplateView is a template as the API and the CLI show it, in the shape
// of Graph's conditionalAccessTemplate: details holds the policy's
// conditions, grantControls and sessionControls as a created policy
// stores them.
type TemplateView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Details     map[string]any `json:"details"`
}

// Templates lists the templates.
func Templates() ([]TemplateView, error) {
	ts := ca.Templates()
	out := make([]TemplateView, 0, len(ts))
	for _, t := range ts {
		doc, err := templateDoc(t)
		if err != nil {
			return nil, err
		}
		out = append(out, TemplateView{ID: t.ID, Name: t.Name, Description: t.Description, Details: map[string]any{
			"conditions": doc["conditions"], "grantControls": doc["grantControls"], "sessionControls": doc["sessionControls"],
		}})
	}
	return out, nil
}

// templateDoc is a template's policy as a canonical document.
func templateDoc(t ca.Template) (map[string]any, error) {
	raw, err := json.Marshal(t.Policy)
	if err != nil {
		return nil, err
	}
	fields, err := parseObject(raw)
	if err != nil {
		return nil, err
	}
	return normalizePolicy(fields)
}

// FindTemplate resolves a template by id or by name (both
// case-insensitive); 404 when none matches.
func FindTemplate(ref string) (ca.Template, error) {
	ref = strings.TrimSpace(ref)
	if t, ok := ca.TemplateByID(ref); ok {
		return t, nil
	}
	for _, t := range ca.Templates() {
		if strings.EqualFold(t.Name, ref) {
			return t, nil
		}
	}
	return ca.Template{}, apperr.NotFoundf("Conditional access template '%s' does not exist.", clip(ref))
}

// CreateFromTemplate creates a policy from a template (by id or name) in
// report-only state, with templateId set; displayName replaces the
// template's name when not empty. It authorizes and audits as
// CreatePolicy, which it calls.
func (s *Service) CreateFromTemplate(ctx context.Context, actor directory.Actor, tenantID, ref, displayName string) (store.CAPolicy, error) {
	if err := authorize(actor); err != nil {
		return store.CAPolicy{}, err
	}
	t, err := FindTemplate(ref)
	if err != nil {
		return store.CAPolicy{}, err
	}
	p := t.Policy
	p.State = ca.StateReportOnly
	if displayName = strings.TrimSpace(displayName); displayName != "" {
		p.DisplayName = displayName
	}
	body, err := json.Marshal(p)
	if err != nil {
		return store.CAPolicy{}, err
	}
	return s.CreatePolicy(ctx, actor, tenantID, body)
}
