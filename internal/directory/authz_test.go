package directory

import "testing"

func TestAllowed(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		act   Action
		want  bool
	}{
		{"operator may do anything", Actor{Operator: true}, ActionTenantWrite, true},
		{"global admin changes security defaults", Actor{Roles: []string{RoleGlobalAdmin}}, ActionSecurityDefaults, true},
		{"security admin changes security defaults", Actor{Roles: []string{RoleSecurityAdmin}}, ActionSecurityDefaults, true},
		{"conditional access admin may not change security defaults", Actor{Roles: []string{RoleConditionalAccessAdmin}}, ActionSecurityDefaults, false},
		{"authentication policy admin changes methods policy", Actor{Roles: []string{RoleAuthenticationPolicyAdmin}}, ActionMethodsPolicy, true},
		{"user admin may not change methods policy", Actor{Roles: []string{RoleUserAdmin}}, ActionMethodsPolicy, false},
		{"global reader reads users", Actor{Roles: []string{RoleGlobalReader}}, ActionUserRead, true},
		{"global reader may not write users", Actor{Roles: []string{RoleGlobalReader}}, ActionUserWrite, false},
		{"user admin may not assign roles", Actor{Roles: []string{RoleUserAdmin}}, ActionRoleAssign, false},
		{"app with User.ReadWrite.All writes users", Actor{AppID: "a", Permissions: []string{"User.ReadWrite.All"}}, ActionUserWrite, true},
		{"app with User.Read.All may not write users", Actor{AppID: "a", Permissions: []string{"User.Read.All"}}, ActionUserWrite, false},
		{"app with AuditLog.Read.All reads audit", Actor{AppID: "a", Permissions: []string{"AuditLog.Read.All"}}, ActionAuditRead, true},
		{"nobody may do an unknown action", Actor{Roles: []string{RoleGlobalAdmin}}, Action("nope"), false},
		{"no roles no permissions", Actor{UserID: "u"}, ActionUserRead, false},
		{"global admin has no tenant write through the api", Actor{Permissions: []string{"Directory.ReadWrite.All"}}, ActionTenantWrite, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.actor, tt.act); got != tt.want {
				t.Fatalf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	if len(Roles) != 12 {
		t.Fatalf("P-1.4 lists 12 roles, have %d", len(Roles))
	}
	r, ok := RoleByName("security administrator")
	if !ok || r.ID != RoleSecurityAdmin {
		t.Fatalf("RoleByName: %v %v", r, ok)
	}
	if _, ok := RoleByName("Chief Wizard"); ok {
		t.Fatal("unknown role resolved")
	}
	if !IsAdminRole(RoleExchangeAdmin) || IsAdminRole(RoleGlobalReader) {
		t.Fatal("IsAdminRole")
	}
	if p, ok := CanonicalPermission("user.readwrite.all"); !ok || p != "User.ReadWrite.All" {
		t.Fatal("CanonicalPermission")
	}
}

func TestValidateUPN(t *testing.T) {
	good := []string{"anna@example.com", "first.last@sub.example.se", "a+b@x.io"}
	for _, u := range good {
		if _, err := ValidateUPN(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	bad := []string{"", "anna", "@example.com", "anna@", "anna@@x.com", "an na@x.com", " anna@x.com", "anna@x", ".anna@x.com", "anna@-x.com", "anna@ex_ample.com"}
	for _, u := range bad {
		if _, err := ValidateUPN(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
