package delivery

import (
	"log/slog"
	"strings"
)

// Redacted is the loggable form of m: id, channel and a masked destination.
// Text and Code are never included, and the destination shows just enough
// for support to recognise it (+46 70*****34, a***@contoso.com).
func Redacted(m Message) slog.Value {
	return slog.GroupValue(
		slog.String("id", m.ID),
		slog.String("channel", string(m.Channel)),
		slog.String("to", maskTo(m.To)),
	)
}

// maskTo masks a phone number or an email address; anything else is
// masked entirely, since its shape is unknown.
func maskTo(to string) string {
	switch {
	case e164.MatchString(to):
		return maskPhone(to)
	case strings.Contains(to, "@"):
		return maskEmail(to)
	case to == "":
		return ""
	default:
		return "***"
	}
}

// maskPhone keeps the country code, the first two and the last two digits
// of the national number: +46701234534 → +46 70*****34. Shorter numbers
// show less, so that at least four digits always stay hidden.
func maskPhone(p string) string {
	digits := p[1:]
	cc := countryCodeLen(digits)
	national := digits[cc:]
	var masked string
	switch n := len(national); {
	case n >= 8:
		masked = national[:2] + strings.Repeat("*", n-4) + national[n-2:]
	case n >= 6:
		masked = strings.Repeat("*", n-2) + national[n-2:]
	default:
		masked = strings.Repeat("*", n)
	}
	return "+" + digits[:cc] + " " + masked
}

// twoDigitCC are the ITU-T E.164 country codes of two digits; 1 and 7 are
// the only one-digit codes and every other code has three digits.
var twoDigitCC = map[string]bool{
	"20": true, "27": true, "30": true, "31": true, "32": true, "33": true, "34": true, "36": true,
	"39": true, "40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true,
	"48": true, "49": true, "51": true, "52": true, "53": true, "54": true, "55": true, "56": true,
	"57": true, "58": true, "60": true, "61": true, "62": true, "63": true, "64": true, "65": true,
	"66": true, "81": true, "82": true, "84": true, "86": true, "90": true, "91": true, "92": true,
	"93": true, "94": true, "95": true, "98": true,
}

func countryCodeLen(digits string) int {
	switch {
	case digits[0] == '1' || digits[0] == '7':
		return 1
	case twoDigitCC[digits[:2]]:
		return 2
	default:
		return 3
	}
}

// maskEmail keeps the first character of the local part and the domain;
// the number of stars is fixed so the length of the name is not revealed.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	local, domain := e[:at], e[at+1:]
	if local == "" {
		return "***@" + domain
	}
	// Keep a whole rune, not a byte, so a non-ASCII name stays valid UTF-8.
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}

// MaskDestination shows a phone number or address the way a sign-in page
// may: enough to recognise it, not enough to learn it.
func MaskDestination(to string) string { return maskTo(to) }
