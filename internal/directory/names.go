package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on directory strings; the admin API rejects longer values with a
// 400 rather than storing them.
const (
	MaxUPNLength         = 113 // 64 local + @ + 48 domain, as the modelled directory allows
	MaxDisplayNameLength = 256
	MaxDescriptionLength = 1024
	MaxDomainLength      = 253
)

// ErrInvalidName is wrapped by every validation error below.
var ErrInvalidName = errors.New("invalid name")

// NormalizeDomain lower-cases and checks a DNS domain name.
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	if d == "" || len(d) > MaxDomainLength || !strings.Contains(d, ".") {
		return "", fmt.Errorf("%w: domain %q must be a DNS name such as example.com", ErrInvalidName, d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%w: domain %q has an invalid label", ErrInvalidName, d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%w: domain %q has an invalid character", ErrInvalidName, d)
			}
		}
	}
	return d, nil
}

// ValidateUPN checks a user principal name (name@domain) and returns its
// domain part normalised.
func ValidateUPN(upn string) (domain string, err error) {
	if upn == "" || len(upn) > MaxUPNLength || upn != strings.TrimSpace(upn) {
		return "", fmt.Errorf("%w: userPrincipalName must be name@domain, at most %d characters", ErrInvalidName, MaxUPNLength)
	}
	local, dom, ok := strings.Cut(upn, "@")
	if !ok || local == "" || strings.Contains(dom, "@") || len(local) > 64 {
		return "", fmt.Errorf("%w: userPrincipalName %q must be name@domain", ErrInvalidName, upn)
	}
	for _, c := range local {
		if c <= ' ' || c == 0x7f || strings.ContainsRune(`"\\(),:;<>[]&~`, c) {
			return "", fmt.Errorf("%w: userPrincipalName %q has an invalid character", ErrInvalidName, upn)
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' {
		return "", fmt.Errorf("%w: userPrincipalName %q cannot start or end the name with a period", ErrInvalidName, upn)
	}
	return NormalizeDomain(dom)
}

// ValidateDisplayName checks a display name: required, printable, bounded.
func ValidateDisplayName(field, s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%w: %s is required", ErrInvalidName, field)
		}
		return nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDisplayNameLength {
		return fmt.Errorf("%w: %s must be valid text of at most %d characters", ErrInvalidName, field, MaxDisplayNameLength)
	}
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidName, field)
		}
	}
	return nil
}
