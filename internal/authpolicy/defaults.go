package authpolicy

import (
	"time"

	"github.com/vakt-id/vakt/internal/securityinfo"
)

// Defaults of a new tenant's authentication methods policy.
const (
	// DefaultReconfirmationInDays: users re-confirm their security info
	// every 180 days (the modelled system's default for password reset).
	DefaultReconfirmationInDays = 180
	// DefaultSnoozeDays: the registration campaign may be snoozed for a day.
	DefaultSnoozeDays = 1
	// DefaultAuthenticationMode: the authenticator app may be used for
	// push and for passwordless sign-in.
	DefaultAuthenticationMode = "any"
	// TargetedMethod is the only method a registration campaign targets.
	TargetedMethod = "microsoftAuthenticator"
)

func allUsersInclude() []IncludeTarget {
	return []IncludeTarget{{ID: AllUsers, TargetType: TargetGroup}}
}

func allUsersFeature(state string) FeatureSetting {
	return FeatureSetting{State: state, IncludeTarget: Target{ID: AllUsers, TargetType: TargetGroup},
		ExcludeTarget: Target{ID: NoTarget, TargetType: TargetGroup}}
}

// DefaultMethods returns the method configurations of a new tenant:
//   - Microsoft Authenticator, software OATH, SMS, voice, email, FIDO2,
//     Temporary Access Pass and hardware OATH are enabled for all users;
//   - certificates are disabled (they need a certificate authority to be
//     configured first);
//   - the authenticator app is usable for push and passwordless sign-in
//     (mode any), not as a software OATH token; its feature settings are
//     platform managed (default), which resolves to enabled;
//   - SMS is not usable as a first factor, office phones are not called,
//     FIDO2 attestation is not enforced, self-service FIDO2 registration is
//     allowed, and no key restriction applies;
//   - TAP: 60 minutes by default, between 60 and 480, 8 characters, not
//     one-time (graph-api.md §1);
//   - certificates, once enabled, map PrincipalName and RFC822Name SANs to
//     the UPN and count as multifactor.
func DefaultMethods() Methods {
	tap := securityinfo.DefaultTAPPolicy()
	return Methods{
		MicrosoftAuthenticator: MicrosoftAuthenticatorConfig{
			State: StateEnabled,
			FeatureSettings: AuthenticatorFeatureSettings{
				DisplayAppInformationRequiredState:      allUsersFeature(AdvancedDefault),
				DisplayLocationInformationRequiredState: allUsersFeature(AdvancedDefault),
				NumberMatchingRequiredState:             allUsersFeature(AdvancedDefault),
				CompanionAppAllowedState:                allUsersFeature(AdvancedDefault),
			},
			ExcludeTargets: []Target{},
			IncludeTargets: []AuthenticatorIncludeTarget{{IncludeTarget: IncludeTarget{ID: AllUsers, TargetType: TargetGroup},
				AuthenticationMode: DefaultAuthenticationMode}},
		},
		Fido2: Fido2Config{State: StateEnabled, IsSelfServiceRegistrationAllowed: true,
			KeyRestrictions: Fido2KeyRestrictions{EnforcementType: "block", AAGuids: []string{}},
			ExcludeTargets:  []Target{}, IncludeTargets: allUsersInclude()},
		Sms: SmsConfig{State: StateEnabled, ExcludeTargets: []Target{},
			IncludeTargets: []SmsIncludeTarget{{IncludeTarget: IncludeTarget{ID: AllUsers, TargetType: TargetGroup}}}},
		Voice:        VoiceConfig{State: StateEnabled, ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
		Email:        EmailConfig{State: StateEnabled, AllowExternalIDToUseEmailOTP: AdvancedDefault, ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
		SoftwareOath: SoftwareOathConfig{State: StateEnabled, ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
		HardwareOath: HardwareOathConfig{State: StateEnabled, ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
		TemporaryAccessPass: TemporaryAccessPassConfig{State: StateEnabled,
			DefaultLifetimeInMinutes: tap.DefaultLifetimeMinutes, DefaultLength: tap.DefaultLength,
			MinimumLifetimeInMinutes: tap.MinimumLifetimeMinutes, MaximumLifetimeInMinutes: tap.MaximumLifetimeMinutes,
			IsUsableOnce: tap.IsUsableOnce, ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
		X509Certificate: X509CertificateConfig{State: StateDisabled,
			CertificateUserBindings: []X509CertificateUserBinding{
				{X509CertificateField: "PrincipalName", UserProperty: "userPrincipalName", Priority: 1, TrustAffinityLevel: "low"},
				{X509CertificateField: "RFC822Name", UserProperty: "userPrincipalName", Priority: 2, TrustAffinityLevel: "low"},
			},
			AuthenticationModeConfiguration: X509CertificateAuthenticationModeConfiguration{
				X509CertificateAuthenticationDefaultMode:    "x509CertificateMultiFactor",
				X509CertificateDefaultRequiredAffinityLevel: "low",
				Rules: []X509CertificateAuthenticationModeRule{},
			},
			ExcludeTargets: []Target{}, IncludeTargets: allUsersInclude()},
	}
}

// Default returns a new tenant's policy, last modified when the tenant was
// created:
//   - the registration campaign is in state default (behaves as disabled),
//     targets all users with the authenticator app, snooze 1 day;
//   - system-preferred MFA is in state default (resolves to enabled, P-6.2)
//     for all users, nobody excluded;
//   - reporting suspicious activity is platform managed for all users,
//     with voice reporting code 0;
//   - the method configurations are DefaultMethods.
func Default(createdAt time.Time) Policy {
	return Policy{
		ID: PolicyID, DisplayName: PolicyDisplayName, Description: PolicyDescription,
		LastModifiedDateTime: createdAt.UTC(), PolicyVersion: PolicyVersion, PolicyMigrationState: PolicyMigrationState,
		ReconfirmationInDays: DefaultReconfirmationInDays,
		RegistrationEnforcement: RegistrationEnforcement{AuthenticationMethodsRegistrationCampaign: RegistrationCampaign{
			SnoozeDurationInDays: DefaultSnoozeDays, State: AdvancedDefault, ExcludeTargets: []Target{},
			IncludeTargets: []CampaignIncludeTarget{{ID: AllUsers, TargetType: TargetGroup, TargetedAuthenticationMethod: TargetedMethod}},
		}},
		SystemCredentialPreferences: SystemCredentialPreferences{State: AdvancedDefault, ExcludeTargets: []Target{},
			IncludeTargets: []Target{{ID: AllUsers, TargetType: TargetGroup}}},
		ReportSuspiciousActivitySettings: ReportSuspiciousActivitySettings{State: AdvancedDefault,
			IncludeTarget: Target{ID: AllUsers, TargetType: TargetGroup}, VoiceReportingCode: 0},
		Methods: DefaultMethods(),
	}
}

// defaultConfig returns the default configuration with the canonical id.
func defaultConfig(id string) any {
	m := DefaultMethods()
	return m.ptr(id)
}
