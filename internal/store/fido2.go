package store

// Fido2Props are what vakt keeps of a registered security key or passkey
// (method kind "fido2"): the credential record of WebAuthn §4 that later
// assertions are checked against, plus what the registration showed about
// the authenticator. None of it is secret: the private key never leaves
// the authenticator. The sign counter is the method's LastStep, so that
// Methods.AdvanceStep moves it forward atomically.
type Fido2Props struct {
	CredentialID string `json:"credentialId"` // base64url, also in UniqueKey
	PublicKey    string `json:"publicKey"`    // COSE key, base64url
	// PublicKeyAlgorithm is the COSE algorithm (-7 ES256, -257 RS256, …).
	PublicKeyAlgorithm int64  `json:"publicKeyAlgorithm,omitempty"`
	AAGUID             string `json:"aaGuid"` // canonical lower-case GUID
	// AttestationFormat is the statement format (packed, tpm, none, …),
	// AttestationType the kind of trust it carries (basic_full, self, none,
	// …), AttestationLevel Graph's summary: attested or notAttested.
	AttestationFormat string `json:"attestationFormat,omitempty"`
	AttestationType   string `json:"attestationType,omitempty"`
	AttestationLevel  string `json:"attestationLevel"`
	// AttestationCertificates are SHA-1 thumbprints (hex) of the
	// attestation certificate chain, leaf first, as Graph lists them.
	AttestationCertificates []string `json:"attestationCertificates,omitempty"`
	Transports              []string `json:"transports,omitempty"`
	// Discoverable: a passkey (resident credential) that can sign in
	// without a user name.
	Discoverable bool `json:"discoverable,omitempty"`
	// UserVerified is the latched uvInitialized of the record.
	UserVerified bool `json:"userVerified,omitempty"`
	// BackupEligible (BE) never changes; BackupState (BS) is the latest
	// seen (a synced passkey).
	BackupEligible bool `json:"backupEligible,omitempty"`
	BackupState    bool `json:"backupState,omitempty"`
	// Attachment is platform or cross-platform, as the browser reported.
	Attachment string `json:"attachment,omitempty"`
}
