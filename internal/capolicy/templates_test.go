package capolicy_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/policy/ca"
	"github.com/vakt-id/vakt/internal/store"
)

// TestTemplates (P-7.6): every template lists with its details and
// creates a valid report-only policy carrying its templateId; the
// administrators' template includes exactly the admin roles.
func TestTemplates(t *testing.T) {
	ts, err := capolicy.Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(ca.Templates()) || len(ts) < 6 {
		t.Fatalf("%d templates", len(ts))
	}
	var adminRoles []string
	for _, r := range directory.Roles {
		if directory.IsAdminRole(r.ID) {
			adminRoles = append(adminRoles, r.ID)
		}
	}
	for _, tv := range ts {
		if tv.ID == "" || tv.Name == "" || tv.Description == "" || tv.Details["conditions"] == nil || tv.Details["grantControls"] == nil {
			t.Errorf("template %+v", tv)
		}
		if _, ok := tv.Details["sessionControls"]; !ok {
			t.Errorf("template %s: no sessionControls in details", tv.ID)
		}
	}
	forEachBackend(t, func(t *testing.T, f *fix) {
		for _, tv := range ts {
			p, err := f.svc.CreateFromTemplate(ctx, op, f.tenant, tv.ID, "")
			if err != nil {
				t.Fatalf("template %s: %v", tv.Name, err)
			}
			doc := docOf(t, p.Doc)
			if p.State != capolicy.StateReportOnly || doc["templateId"] != tv.ID || p.DisplayName != tv.Name || doc["description"] != tv.Description {
				t.Errorf("from %s: %s", tv.Name, p.Doc)
			}
			if canonical(t, mustJSON(t, doc["conditions"])) != canonical(t, mustJSON(t, tv.Details["conditions"])) {
				t.Errorf("from %s: conditions %v, template %v", tv.Name, doc["conditions"], tv.Details["conditions"])
			}
			if tv.ID == ca.TemplateMFAAdmins {
				var got []string
				for _, r := range sub(doc, "conditions", "users")["includeRoles"].([]any) {
					got = append(got, r.(string))
				}
				if !slices.Equal(got, adminRoles) || slices.Contains(got, directory.RoleGlobalReader) {
					t.Errorf("administrators' template roles %v, want %v", got, adminRoles)
				}
			}
		}
		// By name, case-insensitively, with another name; audited as a
		// policy creation.
		p, err := f.svc.CreateFromTemplate(ctx, op, f.tenant, "block LEGACY authentication", "  No legacy, pilot  ")
		if err != nil {
			t.Fatal(err)
		}
		if p.DisplayName != "No legacy, pilot" || docOf(t, p.Doc)["templateId"] != ca.TemplateBlockLegacyAuth {
			t.Errorf("by name: %s", p.Doc)
		}
		a, err := f.st.ListAudits(ctx, f.tenant, store.ListQuery{Limit: 1})
		if err != nil || len(a.Items) != 1 || a.Items[0].Activity != "Add conditional access policy" || a.Items[0].Targets[0].ID != p.ID {
			t.Errorf("audit %+v %v", a.Items, err)
		}

		before := f.snapshot(t)
		_, err = f.svc.CreateFromTemplate(ctx, op, f.tenant, "Require a blood sample", "")
		wantKind(t, "unknown template", err, apperr.NotFound, "")
		_, err = f.svc.CreateFromTemplate(ctx, directory.Actor{Roles: []string{directory.RoleGlobalReader}}, f.tenant, ca.TemplateMFAAllUsers, "")
		wantKind(t, "reader", err, apperr.Forbidden, "")
		_, err = f.svc.CreateFromTemplate(ctx, op, f.tenant, ca.TemplateMFAAllUsers, strings.Repeat("x", 300))
		wantKind(t, "long name", err, apperr.Invalid, "displayName")
		if f.snapshot(t) != before {
			t.Error("a refused create changed something")
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sub(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	return m
}
