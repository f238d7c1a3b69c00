// Package directory holds the pure rules of vakt's directory: the built-in
// directory roles with their well-known template ids, the admin actions,
// and the single authorization function that both the CLI and the admin
// API ask before they change anything. It performs no I/O.
package directory

import "strings"

// Role is a built-in directory role (P-1.4). ID is the role template id
// that Graph clients use as roleDefinitionId.
type Role struct {
	ID          string
	DisplayName string
	Description string
	// Privileged marks roles that Graph reports treat as privileged admins.
	Privileged bool
}

// Well-known role template ids (graph-api.md §9).
const (
	RoleGlobalAdmin                = "62e90394-69f5-4237-9190-012177145e10"
	RoleSecurityAdmin              = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleConditionalAccessAdmin     = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
	RoleAuthenticationPolicyAdmin  = "0526716b-113d-4c15-b2c8-68e3c22b9f80"
	RoleAuthenticationAdmin        = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	RolePrivilegedAuthenticationAd = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	RoleUserAdmin                  = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RolePasswordAdmin              = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	RoleExchangeAdmin              = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	RoleSharePointAdmin            = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
	RoleReportsReader              = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	RoleGlobalReader               = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// Roles lists every built-in role in a stable order.
var Roles = []Role{
	{RoleGlobalAdmin, "Global Administrator", "Can manage all aspects of the directory.", true},
	{RoleSecurityAdmin, "Security Administrator", "Can read security information and reports, and manage security policy.", true},
	{RoleConditionalAccessAdmin, "Conditional Access Administrator", "Can manage conditional access policies.", true},
	{RoleAuthenticationPolicyAdmin, "Authentication Policy Administrator", "Can manage the authentication methods policy, tenant-wide MFA settings and password protection.", true},
	{RoleAuthenticationAdmin, "Authentication Administrator", "Can view, set and reset authentication method information for non-admin users.", true},
	{RolePrivilegedAuthenticationAd, "Privileged Authentication Administrator", "Can view, set and reset authentication method information for any user.", true},
	{RoleUserAdmin, "User Administrator", "Can manage all aspects of users and groups.", true},
	{RolePasswordAdmin, "Password Administrator", "Can reset passwords for non-administrators.", true},
	{RoleExchangeAdmin, "Exchange Administrator", "Can manage all aspects of the mail service.", false},
	{RoleSharePointAdmin, "SharePoint Administrator", "Can manage all aspects of the document service.", false},
	{RoleReportsReader, "Reports Reader", "Can read sign-in and audit reports.", false},
	{RoleGlobalReader, "Global Reader", "Can read everything that a Global Administrator can, but not update anything.", false},
}

// RoleByID returns the built-in role with the template id (case-insensitive).
func RoleByID(id string) (Role, bool) {
	for _, r := range Roles {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return Role{}, false
}

// RoleByName resolves a role by its display name (case-insensitive) or id,
// as the CLI accepts either.
func RoleByName(name string) (Role, bool) {
	if r, ok := RoleByID(name); ok {
		return r, true
	}
	for _, r := range Roles {
		if strings.EqualFold(r.DisplayName, name) {
			return r, true
		}
	}
	return Role{}, false
}

// IsAdminRole reports whether a role counts as an administrator for
// security defaults and the "require MFA for administrators" template:
// every built-in role except the two readers.
func IsAdminRole(id string) bool {
	r, ok := RoleByID(id)
	return ok && r.ID != RoleReportsReader && r.ID != RoleGlobalReader
}
