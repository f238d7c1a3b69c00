package ca

import "github.com/vakt-id/vakt/internal/directory"

// Template ids (fixed; a policy created from a template carries its id in
// templateId).
const (
	TemplateMFAAdmins          = "61dbbbb5-4bdb-4acf-8187-a19ce5ba061d"
	TemplateMFAAllUsers        = "11ba67c0-5f4c-49aa-bb1e-635b55a5c1e8"
	TemplateBlockLegacyAuth    = "4f996f76-6e71-411e-a5b3-c2c40f132ddb"
	TemplateMFARiskySignIns    = "793a2ab7-e2e4-4368-8490-4b31af2cd844"
	TemplatePasswordChangeRisk = "fbcff190-d1fe-4192-ae4e-9fa13a18c051"
	TemplateMFAAdminPortal     = "798a8f58-f6cb-498d-8488-8849fa73565c"
	TemplateMFAUntrusted       = "067ba524-fc9d-47cd-ba9f-15cf8d518608"
)

// Template is a ready-made policy for a common need (P-7.6).
type Template struct {
	ID          string
	Name        string
	Description string
	// Policy is the policy to create: state report-only (so that its
	// effect can be watched in the sign-in log before it is turned on),
	// templateId set, no id. Add an emergency-access exclusion before
	// enabling a policy that could lock administrators out (P-7.7).
	Policy Policy
}

// Templates returns the templates, freshly built on every call so that
// callers may change the policies they get.
//
// "Always require strong verification for admin tools and external access"
// is two templates, so that each can be turned on, watched and excluded
// from on its own: TemplateMFAAdminPortal (every user, the admin portal,
// from anywhere) and TemplateMFAUntrusted (every user, every app, from any
// location that is not a trusted named location).
func Templates() []Template {
	all := func() *UsersCondition { return &UsersCondition{IncludeUsers: []string{All}} }
	allApps := func() *ApplicationsCondition {
		return &ApplicationsCondition{IncludeApplications: []string{All}}
	}
	mfa := func() *GrantControls { return &GrantControls{Operator: "OR", BuiltInControls: []string{"mfa"}} }
	everyTime := func() *SessionControls {
		return &SessionControls{SignInFrequency: &SignInFrequency{IsEnabled: true, FrequencyInterval: "everyTime",
			AuthenticationType: "primaryAndSecondaryAuthentication"}}
	}
	var adminRoles []string
	for _, r := range directory.Roles {
		if directory.IsAdminRole(r.ID) {
			adminRoles = append(adminRoles, r.ID)
		}
	}
	ts := []Template{
		{ID: TemplateMFAAdmins, Name: "Require multifactor authentication for administrators",
			Description: "Administrators (every built-in role except the readers) must use a second factor on every sign-in.",
			Policy: Policy{Conditions: Conditions{Users: &UsersCondition{IncludeRoles: adminRoles},
				Applications: allApps(), ClientAppTypes: []string{"all"}}, GrantControls: mfa()}},
		{ID: TemplateMFAAllUsers, Name: "Require multifactor authentication for all users",
			Description: "Every user must use a second factor to sign in to any app.",
			Policy: Policy{Conditions: Conditions{Users: all(), Applications: allApps(), ClientAppTypes: []string{"all"}},
				GrantControls: mfa()}},
		{ID: TemplateBlockLegacyAuth, Name: "Block legacy authentication",
			Description: "Blocks sign-ins through protocols that cannot do multifactor authentication (Exchange ActiveSync and other legacy clients).",
			Policy: Policy{Conditions: Conditions{Users: all(), Applications: allApps(),
				ClientAppTypes: []string{"exchangeActiveSync", "other"}},
				GrantControls: &GrantControls{Operator: "OR", BuiltInControls: []string{"block"}}}},
		{ID: TemplateMFARiskySignIns, Name: "Require multifactor authentication for risky sign-ins",
			Description: "Sign-ins with medium or high sign-in risk must pass a second factor, every time.",
			Policy: Policy{Conditions: Conditions{Users: all(), Applications: allApps(), ClientAppTypes: []string{"all"},
				SignInRiskLevels: []string{"high", "medium"}}, GrantControls: mfa(), SessionControls: everyTime()}},
		{ID: TemplatePasswordChangeRisk, Name: "Require password change for high-risk users",
			Description: "Users at high user risk must pass a second factor and change their password, which clears the risk.",
			Policy: Policy{Conditions: Conditions{Users: all(), Applications: allApps(), ClientAppTypes: []string{"all"},
				UserRiskLevels: []string{"high"}},
				GrantControls:   &GrantControls{Operator: "AND", BuiltInControls: []string{"mfa", "passwordChange"}},
				SessionControls: everyTime()}},
		{ID: TemplateMFAAdminPortal, Name: "Require multifactor authentication for the admin portal",
			Description: "Every sign-in to vakt's admin tools must pass a second factor, from anywhere.",
			Policy: Policy{Conditions: Conditions{Users: all(),
				Applications: &ApplicationsCondition{IncludeApplications: []string{MicrosoftAdminPortals}}, ClientAppTypes: []string{"all"}},
				GrantControls: mfa()}},
		{ID: TemplateMFAUntrusted, Name: "Require multifactor authentication outside trusted locations",
			Description: "Sign-ins from anywhere but a trusted named location must pass a second factor.",
			Policy: Policy{Conditions: Conditions{Users: all(), Applications: allApps(), ClientAppTypes: []string{"all"},
				Locations: &LocationsCondition{IncludeLocations: []string{All}, ExcludeLocations: []string{AllTrusted}}},
				GrantControls: mfa()}},
	}
	for i := range ts {
		ts[i].Policy.DisplayName = ts[i].Name
		ts[i].Policy.Description = ts[i].Description
		ts[i].Policy.TemplateID = ts[i].ID
		ts[i].Policy.State = StateReportOnly
	}
	return ts
}

// TemplateByID returns the template with the id.
func TemplateByID(id string) (Template, bool) {
	for _, t := range Templates() {
		if eqFold(t.ID, id) {
			return t, true
		}
	}
	return Template{}, false
}
