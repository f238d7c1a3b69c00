package directory

import (
	"slices"
	"strings"
)

// Action is an admin operation that authorization decides on.
type Action string

// The admin actions. Later features add theirs here so that one table
// answers every "may this actor do that" question.
const (
	ActionUserRead            Action = "user.read"
	ActionUserWrite           Action = "user.write"
	ActionUserPerUserMFA      Action = "user.perUserMfa"
	ActionGroupRead           Action = "group.read"
	ActionGroupWrite          Action = "group.write"
	ActionRoleRead            Action = "role.read"
	ActionRoleAssign          Action = "role.assign"
	ActionAppWrite            Action = "app.write"
	ActionAppRead             Action = "app.read"
	ActionAuditRead           Action = "audit.read"
	ActionSignInLogRead       Action = "signinlog.read"
	ActionPolicyRead          Action = "policy.read"
	ActionSecurityDefaults    Action = "policy.securityDefaults"
	ActionMethodsPolicy       Action = "policy.authenticationMethods"
	ActionConditionalAccess   Action = "policy.conditionalAccess"
	ActionUserMethodsRead     Action = "userMethods.read"
	ActionUserMethodsWrite    Action = "userMethods.write"
	ActionReportsRead         Action = "reports.read"
	ActionRiskyUsersRead      Action = "risk.read"
	ActionRiskyUsersWrite     Action = "risk.write"
	ActionTenantWrite         Action = "tenant.write"
	ActionPasswordReset       Action = "user.resetPassword"
	ActionPrivilegedUserWrite Action = "user.writePrivileged"
)

// rule says which roles and which application permissions may perform an
// action. Global Administrator may do everything and is not listed.
type rule struct {
	roles       []string
	permissions []string
}

var readers = []string{RoleGlobalReader}

var rules = map[Action]rule{
	ActionUserRead: {
		roles:       append([]string{RoleUserAdmin, RoleSecurityAdmin, RoleAuthenticationAdmin, RolePrivilegedAuthenticationAd, RolePasswordAdmin, RoleConditionalAccessAdmin, RoleAuthenticationPolicyAdmin, RoleExchangeAdmin, RoleSharePointAdmin, RoleReportsReader}, readers...),
		permissions: []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	},
	ActionUserWrite: {
		roles:       []string{RoleUserAdmin},
		permissions: []string{"User.ReadWrite.All", "Directory.ReadWrite.All"},
	},
	ActionPrivilegedUserWrite: {
		roles:       []string{RolePrivilegedAuthenticationAd},
		permissions: []string{"Directory.ReadWrite.All"},
	},
	ActionUserPerUserMFA: {
		roles:       []string{RoleAuthenticationPolicyAdmin, RoleAuthenticationAdmin, RolePrivilegedAuthenticationAd},
		permissions: []string{"Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All"},
	},
	ActionGroupRead: {
		roles:       append([]string{RoleUserAdmin, RoleSecurityAdmin, RoleConditionalAccessAdmin, RoleAuthenticationPolicyAdmin, RoleReportsReader}, readers...),
		permissions: []string{"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	},
	ActionGroupWrite: {
		roles:       []string{RoleUserAdmin},
		permissions: []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"},
	},
	ActionRoleRead: {
		roles:       append([]string{RoleUserAdmin, RoleSecurityAdmin, RolePrivilegedAuthenticationAd, RoleConditionalAccessAdmin, RoleReportsReader}, readers...),
		permissions: []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"},
	},
	// Only Global Administrators (and privileged apps) hand out roles: a
	// role assignment is itself a privilege escalation.
	ActionRoleAssign: {
		permissions: []string{"RoleManagement.ReadWrite.Directory"},
	},
	ActionAppWrite: {
		permissions: []string{"Application.ReadWrite.All"},
	},
	ActionAppRead: {
		roles:       readers,
		permissions: []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	},
	ActionAuditRead: {
		roles:       append([]string{RoleSecurityAdmin, RoleReportsReader}, readers...),
		permissions: []string{"AuditLog.Read.All"},
	},
	ActionSignInLogRead: {
		roles:       append([]string{RoleSecurityAdmin, RoleReportsReader, RoleConditionalAccessAdmin}, readers...),
		permissions: []string{"AuditLog.Read.All"},
	},
	ActionReportsRead: {
		roles:       append([]string{RoleSecurityAdmin, RoleReportsReader, RoleAuthenticationPolicyAdmin}, readers...),
		permissions: []string{"Reports.Read.All", "AuditLog.Read.All"},
	},
	ActionPolicyRead: {
		roles:       append([]string{RoleSecurityAdmin, RoleConditionalAccessAdmin, RoleAuthenticationPolicyAdmin}, readers...),
		permissions: []string{"Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.ConditionalAccess", "Policy.ReadWrite.SecurityDefaults"},
	},
	// P-1.4: only Global or Security Administrator change security defaults.
	ActionSecurityDefaults: {
		roles:       []string{RoleSecurityAdmin},
		permissions: []string{"Policy.ReadWrite.SecurityDefaults", "Policy.ReadWrite.ConditionalAccess"},
	},
	// P-1.4: Global, Security and Authentication Policy Administrator.
	ActionMethodsPolicy: {
		roles:       []string{RoleSecurityAdmin, RoleAuthenticationPolicyAdmin},
		permissions: []string{"Policy.ReadWrite.AuthenticationMethod"},
	},
	ActionConditionalAccess: {
		roles:       []string{RoleSecurityAdmin, RoleConditionalAccessAdmin},
		permissions: []string{"Policy.ReadWrite.ConditionalAccess"},
	},
	ActionUserMethodsRead: {
		roles:       append([]string{RoleAuthenticationAdmin, RolePrivilegedAuthenticationAd, RoleSecurityAdmin, RoleReportsReader}, readers...),
		permissions: []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"},
	},
	ActionUserMethodsWrite: {
		roles:       []string{RoleAuthenticationAdmin, RolePrivilegedAuthenticationAd},
		permissions: []string{"UserAuthenticationMethod.ReadWrite.All"},
	},
	ActionPasswordReset: {
		roles:       []string{RolePasswordAdmin, RoleUserAdmin, RoleAuthenticationAdmin, RolePrivilegedAuthenticationAd},
		permissions: []string{"UserAuthenticationMethod.ReadWrite.All", "User.ReadWrite.All"},
	},
	ActionRiskyUsersRead: {
		roles:       append([]string{RoleSecurityAdmin, RoleReportsReader}, readers...),
		permissions: []string{"IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All"},
	},
	ActionRiskyUsersWrite: {
		roles:       []string{RoleSecurityAdmin},
		permissions: []string{"IdentityRiskyUser.ReadWrite.All"},
	},
	ActionTenantWrite: {},
}

// Actor is who asks: a signed-in user with effective directory roles, an
// app with application permissions, or the local operator (Operator), who
// has shell access to the store and may do anything.
type Actor struct {
	UserID      string
	UPN         string
	DisplayName string
	AppID       string
	AppName     string
	Roles       []string // role template ids, effective (incl. through groups)
	Permissions []string // application permissions (roles claim)
	Operator    bool
	IPAddress   string
}

// Allowed reports whether the actor may perform the action. Unknown
// actions are denied.
func Allowed(a Actor, act Action) bool {
	if a.Operator {
		return true
	}
	r, ok := rules[act]
	if !ok {
		return false
	}
	if slices.Contains(a.Roles, RoleGlobalAdmin) {
		return true
	}
	for _, role := range a.Roles {
		if slices.Contains(r.roles, role) {
			return true
		}
	}
	for _, p := range a.Permissions {
		if slices.Contains(r.permissions, p) {
			return true
		}
	}
	return false
}

// KnownPermissions lists the application permissions vakt understands
// (graph-api.md §10, plus the directory-wide ones). App registration
// refuses others so that a typo never grants nothing silently.
var KnownPermissions = []string{
	"User.Read.All", "User.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All",
	"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory",
	"Application.Read.All", "Application.ReadWrite.All",
	"Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.ConditionalAccess",
	"Policy.ReadWrite.SecurityDefaults",
	"UserAuthenticationMethod.ReadWrite.All", "UserAuthenticationMethod.Read.All",
	"AuditLog.Read.All", "Reports.Read.All",
	"IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All", "IdentityRiskEvent.Read.All",
}

// CanonicalPermission returns the permission's canonical spelling.
func CanonicalPermission(p string) (string, bool) {
	for _, k := range KnownPermissions {
		if strings.EqualFold(k, p) {
			return k, true
		}
	}
	return "", false
}
