package password

import (
	_ "embed"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Policy holds a tenant's rules for new passwords. Lengths count Unicode
// code points, not bytes, so non-Latin passwords are not penalised.
type Policy struct {
	MinLength int      // <= 0 means 8
	MaxLength int      // <= 0 means 256
	Custom    []string // tenant's own banned passwords, matched like the built-in list
}

const (
	defaultMinLength = 8
	defaultMaxLength = 256
)

// DefaultPolicy returns the default rules: 8 to 256 code points, built-in
// banned list only.
func DefaultPolicy() Policy {
	return Policy{MinLength: defaultMinLength, MaxLength: defaultMaxLength}
}

// Codes of RuleError, stable for API clients and translations.
const (
	CodeTooShort         = "tooShort"
	CodeTooLong          = "tooLong"
	CodeBanned           = "banned"
	CodeContainsUserName = "containsUserName"
)

// RuleError is returned by Check when a password breaks a rule. Message is
// English text safe to show to the user; it never includes the password.
type RuleError struct {
	Code    string
	Message string
}

func (e *RuleError) Error() string { return "password: " + e.Message }

// minFragment is the shortest name fragment or normalised base form
// considered: shorter ones ("al", "jo") occur by chance in good passwords.
const minFragment = 4

// Check vets a new password against p and returns nil or a *RuleError.
// context holds strings tied to the user, such as the local part of the
// UPN and the display name: the password may not contain, case-insensitively,
// any of them or any of their words of at least 4 code points.
//
// Rules are applied in this order: length, user names, banned lists.
func Check(password string, p Policy, context ...string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = defaultMinLength
	}
	if maxLen <= 0 {
		maxLen = defaultMaxLength
	}
	switch n := utf8.RuneCountInString(password); {
	case n < minLen:
		return &RuleError{CodeTooShort, "Password must be at least " + strconv.Itoa(minLen) + " characters long."}
	case n > maxLen:
		return &RuleError{CodeTooLong, "Password must be at most " + strconv.Itoa(maxLen) + " characters long."}
	}

	lower := strings.ToLower(password)
	if containsContext(lower, context) || containsContext(unleet(lower, 'i'), context) ||
		containsContext(unleet(lower, 'l'), context) {
		return &RuleError{CodeContainsUserName, "Password must not contain your user name or your name."}
	}

	builtin := bannedList()
	var custom map[string]struct{}
	if len(p.Custom) > 0 {
		custom = make(map[string]struct{}, 2*len(p.Custom))
		for _, c := range p.Custom {
			// Custom entries are normalised like candidates, so banning
			// "Contoso2024" also bans "contoso2025!".
			c = strings.ToLower(strings.TrimSpace(c))
			if c == "" {
				continue
			}
			for _, f := range bannedForms(c) {
				custom[f] = struct{}{}
			}
		}
	}
	for _, f := range bannedForms(lower) {
		_, inCustom := custom[f]
		if inCustom || builtin.contains(f) {
			return &RuleError{CodeBanned, "Password is too common or easy to guess; choose a different one."}
		}
	}
	return nil
}

// bannedForms returns the forms of a lower-cased password looked up in the
// banned lists. The normalisation is deliberately light, to catch the
// usual "make it pass the rules" tweaks without refusing random strings:
//
//  1. the lower-cased password itself ("password1" is itself on the list);
//  2. its base: trailing digits, punctuation, symbols and spaces stripped
//     ("Password123!" -> "password"), kept only if at least 4 code points
//     remain, since a 1-3 letter base would refuse random strings like
//     "x7$9#2!5";
//  3. the base with look-alike characters turned back into letters:
//     @ and 4 -> a, 3 -> e, 0 -> o, $ and 5 -> s, 7 -> t, and 1 -> i or
//     1 -> l (both tried): "P@ssw0rd2024" -> "password".
//
// Leading digits, reversed words, keyboard walks and embedded words are not
// handled; a strength estimator would be the tool for those.
func bannedForms(lower string) []string {
	forms := []string{lower}
	base := strings.TrimRightFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if utf8.RuneCountInString(base) < minFragment {
		return forms
	}
	forms = append(forms, base, unleet(base, 'i'), unleet(base, 'l'))
	return forms
}

// unleet maps common look-alike substitutions back to letters; one is
// the letter '1' stands for ('i' or 'l').
func unleet(s string, one rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '@', '4':
			return 'a'
		case '3':
			return 'e'
		case '0':
			return 'o'
		case '$', '5':
			return 's'
		case '7':
			return 't'
		case '1':
			return one
		}
		return r
	}, s)
}

// containsContext reports whether lower contains any context string, or any
// word of one, of at least minFragment code points.
func containsContext(lower string, context []string) bool {
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		if utf8.RuneCountInString(c) >= minFragment && strings.Contains(lower, c) {
			return true
		}
		// Words: "john.smith" and "John Smith" both give john, smith.
		for _, w := range strings.FieldsFunc(c, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			if utf8.RuneCountInString(w) >= minFragment && strings.Contains(lower, w) {
				return true
			}
		}
	}
	return false
}

// bannedTxt is generated by genbanned/main.go: lower-case, sorted, one
// password per line.
//
//go:embed banned.txt
var bannedTxt string

// bannedList indexes the embedded list on first use (about 30,000
// entries): the start of each line, for a binary search over the sorted
// text. The index holds no pointers and the text lives in the binary's
// read-only data, so the list adds nothing for the garbage collector to
// scan; a map of 30,000 strings was 1.7 MB of pointerful heap, marked in
// every collection — and every sign-in's 19 MiB argon2id buffer starts
// one.
var bannedList = sync.OnceValue(func() sortedLines {
	idx := make([]uint32, 0, strings.Count(bannedTxt, "\n")+1)
	for off := 0; off < len(bannedTxt); {
		idx = append(idx, uint32(off))
		n := strings.IndexByte(bannedTxt[off:], '\n')
		if n < 0 {
			break
		}
		off += n + 1
	}
	return sortedLines{text: bannedTxt, starts: idx}
})

// sortedLines is byte-wise sorted text, one entry a line.
type sortedLines struct {
	text   string
	starts []uint32
}

func (l sortedLines) len() int { return len(l.starts) }

func (l sortedLines) at(i int) string { return l.line(l.starts[i]) }

func (l sortedLines) line(start uint32) string {
	s := l.text[start:]
	if n := strings.IndexByte(s, '\n'); n >= 0 {
		s = s[:n]
	}
	return s
}

func (l sortedLines) contains(w string) bool {
	_, found := slices.BinarySearchFunc(l.starts, w, func(start uint32, w string) int {
		return strings.Compare(l.line(start), w)
	})
	return found
}
