package method

import (
	"errors"
	"slices"
	"testing"
)

// P-2 table: which options count for MFA and for SSPR.
func TestUsabilityTable(t *testing.T) {
	tests := []struct {
		o         Option
		mfa, sspr bool
	}{
		{OptionPush, true, true},
		{OptionAppCode, true, true},
		{OptionSoftwareOath, true, true},
		{OptionHardwareOath, true, true},
		{OptionSMS, true, true},
		{OptionVoiceMobile, true, true},
		{OptionVoiceAlternateMobile, true, true},
		{OptionVoiceOffice, true, true},
		{OptionFido2, true, true},
		{OptionTAP, true, false},
		{OptionCertificate, true, false},
		{OptionEmail, false, true},
		{OptionSecurityQuestions, false, true},
		{Option("bogus"), false, false},
		{Option(""), false, false},
	}
	for _, tt := range tests {
		if got := UsableForMFA(tt.o); got != tt.mfa {
			t.Errorf("UsableForMFA(%q) = %v, want %v", tt.o, got, tt.mfa)
		}
		if got := UsableForSSPR(tt.o); got != tt.sspr {
			t.Errorf("UsableForSSPR(%q) = %v, want %v", tt.o, got, tt.sspr)
		}
	}
	// Every known option is covered above.
	for _, o := range AllOptions() {
		if !UsableForMFA(o) && !UsableForSSPR(o) {
			t.Errorf("option %q is usable for nothing", o)
		}
	}
}

// Option values that Graph's userPreferredMethodForSecondaryAuthentication
// knows must be spelled as Graph spells them.
func TestOptionValuesMatchGraph(t *testing.T) {
	for o, want := range map[Option]string{
		OptionPush: "push", OptionSoftwareOath: "oath", OptionSMS: "sms",
		OptionVoiceMobile: "voiceMobile", OptionVoiceAlternateMobile: "voiceAlternateMobile",
		OptionVoiceOffice: "voiceOffice",
	} {
		if string(o) != want {
			t.Errorf("option %q, want %q", o, want)
		}
	}
	tests := []struct {
		o    Option
		want string
		ok   bool
	}{
		{OptionAppCode, "oath", true},
		{OptionHardwareOath, "oath", true},
		{OptionSoftwareOath, "oath", true},
		{OptionPush, "push", true},
		{OptionVoiceOffice, "voiceOffice", true},
		{OptionTAP, "", false},
		{OptionFido2, "", false},
		{OptionEmail, "", false},
	}
	for _, tt := range tests {
		got, ok := GraphPreferredMethod(tt.o)
		if got != tt.want || ok != tt.ok {
			t.Errorf("GraphPreferredMethod(%q) = %q, %v; want %q, %v", tt.o, got, ok, tt.want, tt.ok)
		}
	}
	seen := map[Option]bool{}
	for _, o := range AllOptions() {
		if seen[o] {
			t.Errorf("duplicate option value %q", o)
		}
		seen[o] = true
	}
}

// P-6.2: TAP > FIDO2 > push > TOTP (equal) > telephony (equal) > certificate;
// SSPR-only options rank 0.
func TestStrengthOrder(t *testing.T) {
	order := [][]Option{
		{OptionTAP},
		{OptionFido2},
		{OptionPush},
		{OptionAppCode, OptionSoftwareOath, OptionHardwareOath},
		{OptionSMS, OptionVoiceMobile, OptionVoiceAlternateMobile, OptionVoiceOffice},
		{OptionCertificate},
	}
	for i, tier := range order {
		for _, o := range tier {
			if Strength(o) != Strength(tier[0]) {
				t.Errorf("Strength(%q) = %d, want equal to %q (%d)", o, Strength(o), tier[0], Strength(tier[0]))
			}
			if Strength(o) <= 0 {
				t.Errorf("Strength(%q) = %d, want > 0", o, Strength(o))
			}
			if i > 0 && Strength(o) >= Strength(order[i-1][0]) {
				t.Errorf("Strength(%q) = %d, want below %q (%d)", o, Strength(o), order[i-1][0], Strength(order[i-1][0]))
			}
		}
	}
	all := AllOptions()
	if !slices.IsSortedFunc(all, func(a, b Option) int { return Strength(b) - Strength(a) }) {
		t.Errorf("AllOptions() not strongest first: %v", all)
	}
	for _, o := range []Option{OptionEmail, OptionSecurityQuestions, "bogus"} {
		if Strength(o) != 0 {
			t.Errorf("Strength(%q) = %d, want 0", o, Strength(o))
		}
	}
}

func TestSortByStrengthIsStable(t *testing.T) {
	tests := []struct {
		name     string
		in, want []Option
	}{
		{"empty", nil, nil},
		{"full order",
			[]Option{OptionEmail, OptionCertificate, OptionSMS, OptionAppCode, OptionPush, OptionFido2, OptionTAP},
			[]Option{OptionTAP, OptionFido2, OptionPush, OptionAppCode, OptionSMS, OptionCertificate, OptionEmail}},
		{"equal TOTP keep input order",
			[]Option{OptionHardwareOath, OptionSMS, OptionAppCode, OptionSoftwareOath},
			[]Option{OptionHardwareOath, OptionAppCode, OptionSoftwareOath, OptionSMS}},
		{"equal telephony keep input order",
			[]Option{OptionVoiceOffice, OptionCertificate, OptionSMS, OptionVoiceMobile},
			[]Option{OptionVoiceOffice, OptionSMS, OptionVoiceMobile, OptionCertificate}},
		{"SSPR-only last in input order",
			[]Option{OptionSecurityQuestions, OptionEmail, OptionVoiceMobile},
			[]Option{OptionVoiceMobile, OptionSecurityQuestions, OptionEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Clone(tt.in)
			SortByStrength(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("SortByStrength(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOptionsPerKind(t *testing.T) {
	u := func(r Registered) Registered { r.Usable = true; return r }
	tests := []struct {
		name string
		r    Registered
		want []Option
	}{
		{"mobile phone gives SMS and voice", u(Registered{Kind: KindPhone, PhoneType: PhoneMobile}), []Option{OptionSMS, OptionVoiceMobile}},
		{"alternate mobile gives voice only", u(Registered{Kind: KindPhone, PhoneType: PhoneAlternateMobile}), []Option{OptionVoiceAlternateMobile}},
		{"office phone gives voice only", u(Registered{Kind: KindPhone, PhoneType: PhoneOffice}), []Option{OptionVoiceOffice}},
		{"unknown phone type gives nothing", u(Registered{Kind: KindPhone, PhoneType: "fax"}), nil},
		{"authenticator push and code", u(Registered{Kind: KindAuthenticator, PushCapable: true, TOTPCapable: true}), []Option{OptionPush, OptionAppCode}},
		{"authenticator push only", u(Registered{Kind: KindAuthenticator, PushCapable: true}), []Option{OptionPush}},
		{"authenticator code only", u(Registered{Kind: KindAuthenticator, TOTPCapable: true}), []Option{OptionAppCode}},
		{"authenticator neither", u(Registered{Kind: KindAuthenticator}), nil},
		{"software OATH", u(Registered{Kind: KindSoftwareOath}), []Option{OptionSoftwareOath}},
		{"hardware OATH", u(Registered{Kind: KindHardwareOath}), []Option{OptionHardwareOath}},
		{"FIDO2", u(Registered{Kind: KindFido2}), []Option{OptionFido2}},
		{"TAP", u(Registered{Kind: KindTAP}), []Option{OptionTAP}},
		{"certificate", u(Registered{Kind: KindCertificate}), []Option{OptionCertificate}},
		{"email", u(Registered{Kind: KindEmail}), []Option{OptionEmail}},
		{"security questions", u(Registered{Kind: KindSecurityQuestions}), []Option{OptionSecurityQuestions}},
		{"password offers nothing", u(Registered{Kind: KindPassword}), nil},
		{"unusable method offers nothing", Registered{Kind: KindTAP}, nil},
		{"unactivated token offers nothing", Registered{Kind: KindHardwareOath}, nil},
		{"SMS sign-in does not change options", u(Registered{Kind: KindPhone, PhoneType: PhoneMobile, SMSSignIn: true}), []Option{OptionSMS, OptionVoiceMobile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Options(tt.r); !slices.Equal(got, tt.want) {
				t.Errorf("Options(%+v) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
	for _, k := range AllKinds() {
		if !k.Valid() {
			t.Errorf("kind %q not valid", k)
		}
	}
	if Kind("sms").Valid() || Option("phone").Valid() {
		t.Error("unknown kind or option reported valid")
	}
}

func regs(kinds ...Kind) []Registered {
	var rs []Registered
	for i, k := range kinds {
		rs = append(rs, Registered{ID: string(k) + string(rune('0'+i)), Kind: k, Usable: true, PushCapable: true, TOTPCapable: true, PhoneType: PhoneMobile})
	}
	return rs
}

// P-2.1: at most five authenticator apps and hardware tokens together.
func TestAuthenticatorLimit(t *testing.T) {
	for _, k := range AllKinds() {
		want := k == KindAuthenticator || k == KindSoftwareOath || k == KindHardwareOath
		if CountsTowardAuthenticatorLimit(k) != want {
			t.Errorf("CountsTowardAuthenticatorLimit(%q) = %v, want %v", k, !want, want)
		}
	}
	unactivated := Registered{ID: "hw", Kind: KindHardwareOath}
	tests := []struct {
		name     string
		existing []Registered
		adding   Kind
		refused  bool
	}{
		{"first authenticator allowed", nil, KindAuthenticator, false},
		{"fifth allowed", regs(KindAuthenticator, KindSoftwareOath, KindHardwareOath, KindAuthenticator), KindSoftwareOath, false},
		{"sixth authenticator refused", regs(KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator), KindAuthenticator, true},
		{"apps and tokens count together", regs(KindAuthenticator, KindSoftwareOath, KindHardwareOath, KindHardwareOath, KindSoftwareOath), KindHardwareOath, true},
		{"unactivated tokens count", append(regs(KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator), unactivated), KindSoftwareOath, true},
		{"other kinds do not count", regs(KindPhone, KindPhone, KindFido2, KindFido2, KindEmail, KindTAP, KindAuthenticator), KindAuthenticator, false},
		{"other kinds are never limited", regs(KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator, KindAuthenticator), KindPhone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAuthenticatorLimit(tt.existing, tt.adding)
			if (err != nil) != tt.refused {
				t.Fatalf("CheckAuthenticatorLimit = %v, refused want %v", err, tt.refused)
			}
			if err == nil {
				return
			}
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("error %T, want *LimitError", err)
			}
		})
	}
}

// P-2.1: the refusal says why and that an administrator must delete one.
func TestAuthenticatorLimitMessage(t *testing.T) {
	const en = "You can't set up another authenticator app because you already have five authenticator apps or hardware tokens. Please contact your administrator to delete one of your authenticator apps or hardware tokens."
	const sv = "Du kan inte konfigurera ytterligare en autentiseringsapp eftersom du redan har fem autentiseringsappar eller maskinvarutoken. Kontakta administratören och be om att få en av dina autentiseringsappar eller maskinvarutoken borttagen."
	e := &LimitError{Count: 5}
	for lang, want := range map[string]string{"": en, "en": en, "en-GB": en, "de": en, "sv": sv, "SV": sv, "sv-SE": sv, "svx": en} {
		if got := e.Message(lang); got != want {
			t.Errorf("Message(%q) = %q, want %q", lang, got, want)
		}
	}
	if e.Error() != en {
		t.Errorf("Error() = %q", e.Error())
	}
}

// P-2.2: a method added through the guided authenticator flow becomes the
// default; otherwise the first MFA-capable method becomes it when there is
// none; otherwise it is unchanged; SSPR-only methods never become it.
func TestDefaultAfterAdd(t *testing.T) {
	phone := Registered{ID: "phone", Kind: KindPhone, PhoneType: PhoneMobile, Usable: true}
	phoneDefault := phone
	phoneDefault.IsDefault = true
	office := Registered{ID: "office", Kind: KindPhone, PhoneType: PhoneOffice, Usable: true}
	email := Registered{ID: "email", Kind: KindEmail, Usable: true}
	emailDefault := email
	emailDefault.IsDefault = true
	questions := Registered{ID: "sq", Kind: KindSecurityQuestions, Usable: true}
	app := Registered{ID: "app", Kind: KindAuthenticator, PushCapable: true, TOTPCapable: true, Usable: true}
	oath := Registered{ID: "oath", Kind: KindSoftwareOath, Usable: true}
	fido := Registered{ID: "fido", Kind: KindFido2, Usable: true}
	token := Registered{ID: "hw", Kind: KindHardwareOath, Usable: true}
	unactivated := Registered{ID: "hw0", Kind: KindHardwareOath}
	expiredTAPDefault := Registered{ID: "tap", Kind: KindTAP, IsDefault: true}

	tests := []struct {
		name     string
		existing []Registered
		added    Registered
		guided   bool
		want     string
	}{
		{"guided authenticator becomes default", []Registered{phoneDefault}, app, true, "app"},
		{"guided software OATH becomes default", []Registered{phoneDefault}, oath, true, "oath"},
		{"guided other kind does not take default", []Registered{phoneDefault}, fido, true, "phone"},
		{"guided unusable app does not take default", []Registered{phoneDefault}, Registered{ID: "app", Kind: KindAuthenticator}, true, "phone"},
		{"unguided authenticator leaves default", []Registered{phoneDefault}, app, false, "phone"},
		{"first MFA method becomes default", nil, phone, false, "phone"},
		{"first MFA method after SSPR-only becomes default", []Registered{email, questions}, office, false, "office"},
		{"first MFA method becomes default in registration order", []Registered{email, token}, fido, false, "hw"},
		{"default unchanged when one exists", []Registered{app, phoneDefault}, fido, false, "phone"},
		{"SSPR-only never becomes default", nil, email, false, ""},
		{"SSPR-only never becomes default guided", []Registered{questions}, email, true, ""},
		{"SSPR-only default is replaced", []Registered{emailDefault}, phone, false, "phone"},
		{"unusable default is replaced", []Registered{expiredTAPDefault}, phone, false, "phone"},
		{"unusable added does not become default", []Registered{email}, unactivated, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultAfterAdd(tt.existing, tt.added, tt.guided); got != tt.want {
				t.Errorf("DefaultAfterAdd = %q, want %q", got, tt.want)
			}
		})
	}
}

// P-2.2: removing the default moves it to the strongest remaining usable
// MFA-capable method, ties to the oldest; "" when none is left.
func TestDefaultAfterRemove(t *testing.T) {
	mobile := Registered{ID: "mobile", Kind: KindPhone, PhoneType: PhoneMobile, Usable: true}
	office := Registered{ID: "office", Kind: KindPhone, PhoneType: PhoneOffice, Usable: true}
	email := Registered{ID: "email", Kind: KindEmail, Usable: true}
	questions := Registered{ID: "sq", Kind: KindSecurityQuestions, Usable: true}
	pushApp := Registered{ID: "push", Kind: KindAuthenticator, PushCapable: true, Usable: true}
	codeApp := Registered{ID: "code", Kind: KindAuthenticator, TOTPCapable: true, Usable: true}
	token := Registered{ID: "hw", Kind: KindHardwareOath, Usable: true}
	unactivated := Registered{ID: "hw0", Kind: KindHardwareOath}
	fido := Registered{ID: "fido", Kind: KindFido2, Usable: true}
	expiredTAP := Registered{ID: "tap", Kind: KindTAP}
	tap := Registered{ID: "tap", Kind: KindTAP, Usable: true}
	cert := Registered{ID: "cert", Kind: KindCertificate, Usable: true}
	officeDefault := office
	officeDefault.IsDefault = true

	tests := []struct {
		name              string
		remaining         []Registered
		removedWasDefault bool
		want              string
	}{
		{"strongest remaining becomes default", []Registered{mobile, codeApp, pushApp, fido}, true, "fido"},
		{"push beats code", []Registered{codeApp, pushApp}, true, "push"},
		{"a TAP never becomes the default", []Registered{fido, tap}, true, "fido"},
		{"telephony beats certificate", []Registered{cert, office}, true, "office"},
		{"certificate when alone", []Registered{email, cert}, true, "cert"},
		{"ties go to the oldest", []Registered{office, mobile}, true, "office"},
		{"ties go to the oldest TOTP", []Registered{token, codeApp}, true, "hw"},
		{"unusable methods are skipped", []Registered{expiredTAP, unactivated, mobile}, true, "mobile"},
		{"SSPR-only never becomes default", []Registered{email, questions}, true, ""},
		{"none left", nil, true, ""},
		{"non-default removal keeps default", []Registered{fido, officeDefault}, false, "office"},
		{"non-default removal repairs missing default", []Registered{office, fido}, false, "fido"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultAfterRemove(tt.remaining, tt.removedWasDefault); got != tt.want {
				t.Errorf("DefaultAfterRemove = %q, want %q", got, tt.want)
			}
		})
	}
}
