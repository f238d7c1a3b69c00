package web

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// Strength gives advisory feedback on a new password: "weak", "fair" or
// "strong". The rules (internal/password) decide what is accepted; this
// only nudges towards longer passphrases. It estimates the bits of a
// random string drawn from the character classes used, then discounts
// repeated characters — a rough guide, deliberately simpler than a full
// estimator with dictionaries, which the banned list stands in for.
func Strength(pw string) string {
	n := utf8.RuneCountInString(pw)
	if n == 0 {
		return "weak"
	}
	var lower, upper, digit, other bool
	seen := map[rune]bool{}
	for _, r := range pw {
		seen[r] = true
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	pool := 0
	for _, c := range []struct {
		used bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}} {
		if c.used {
			pool += c.size
		}
	}
	// Count each distinct character fully and repeats at a quarter.
	eff := float64(len(seen)) + float64(n-len(seen))/4
	bits := eff * math.Log2(float64(pool))
	switch {
	case bits >= 70:
		return "strong"
	case bits >= 45:
		return "fair"
	}
	return "weak"
}
