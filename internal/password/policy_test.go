package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestCheck(t *testing.T) {
	def := DefaultPolicy()
	tests := []struct {
		name     string
		password string
		policy   Policy
		context  []string
		want     string // RuleError code, "" for accepted
	}{
		{"ok", "correct horse battery staple", def, nil, ""},
		{"ok zero policy means defaults", "correct horse battery staple", Policy{}, nil, ""},
		{"ok exactly min", "vX9#kq2!", def, nil, ""},
		{"ok exactly max", strings.Repeat("é", 256), def, nil, ""},
		{"ok random short base", "x7$9#2!5", def, nil, ""},

		{"empty", "", def, nil, CodeTooShort},
		{"short", "abc", def, nil, CodeTooShort},
		{"one below min", "vX9#kq2", def, nil, CodeTooShort},
		{"short in code points not bytes", "ñññññññ", def, nil, CodeTooShort}, // 7 runes, 14 bytes
		{"long", strings.Repeat("é", 257), def, nil, CodeTooLong},
		{"custom min", "vX9#kq2!zz", Policy{MinLength: 12}, nil, CodeTooShort},
		{"custom max", "vX9#kq2!zz", Policy{MaxLength: 9}, nil, CodeTooLong},
		{"zero max means 256", strings.Repeat("a", 300), Policy{MinLength: 8}, nil, CodeTooLong},

		{"banned", "password", def, nil, CodeBanned},
		{"banned upper case", "PASSWORD", def, nil, CodeBanned},
		{"banned as listed", "iloveyou!", def, nil, CodeBanned},
		{"banned with suffix", "Password123!", def, nil, CodeBanned},
		{"banned with year", "Dragon2024", def, nil, CodeBanned},
		{"banned with spaces and symbols", "sunshine !!# 99", def, nil, CodeBanned},
		{"banned leet", "P@ssw0rd", def, nil, CodeBanned},
		{"banned leet with suffix", "P@ssw0rd2024!", def, nil, CodeBanned},
		{"banned leet one as l", "He11oKitty", def, nil, CodeBanned},
		{"banned leet one as i", "pr1ncess99", def, nil, CodeBanned},
		{"banned leet four and zero", "f00tb4ll!", def, nil, CodeBanned},
		{"leet of unlisted word", "he11o-kitty", def, nil, ""},
		{"banned keyboard", "qwertyuiop", def, nil, CodeBanned},
		{"banned digits only", "12345678", def, nil, CodeBanned},
		{"prefix digits not stripped", "123dragonfly", def, nil, ""},

		{"custom list", "Contoso2024!", Policy{Custom: []string{"contoso"}}, nil, CodeBanned},
		{"custom list case", "CONTOSO!!", Policy{Custom: []string{" Contoso "}}, nil, CodeBanned},
		{"custom list entry normalised", "contoso2025", Policy{Custom: []string{"Contoso2024"}}, nil, CodeBanned},
		{"custom list other tenant", "Contoso2024!", def, nil, ""},
		{"custom list short base ignored", "abc98765", Policy{Custom: []string{"abc", "", "  "}}, nil, ""},

		{"context upn", "jsmith2024!", def, []string{"jsmith", "John Smith"}, CodeContainsUserName},
		{"context upn inside", "my-jsmith-pass", def, []string{"jsmith"}, CodeContainsUserName},
		{"context display name part", "xxJohnxxzz", def, []string{"jsmith", "John Smith"}, CodeContainsUserName},
		{"context surname", "Blacksmith-Forge", def, []string{"John Smith"}, CodeContainsUserName},
		{"context dotted upn", "walker!tundra", def, []string{"sky.walker"}, CodeContainsUserName},
		{"context leet", "5m1th-and-co", def, []string{"Smith"}, CodeContainsUserName},
		{"context equal", "Alexander", def, []string{"alexander"}, CodeContainsUserName},
		{"context short parts ignored", "Al-Jo-Glacier-42", def, []string{"Al Jo", "al"}, ""},
		{"context unrelated", "correct horse battery staple", def, []string{"jsmith", "John Smith"}, ""},
		{"context empty", "correct horse battery staple", def, []string{"", "   "}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.password, tc.policy, tc.context...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.password, err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("Check(%q) = %v, want *RuleError %s", tc.password, err, tc.want)
			}
			if re.Code != tc.want {
				t.Errorf("Check(%q) code %q, want %q", tc.password, re.Code, tc.want)
			}
			if re.Message == "" || (tc.password != "" && strings.Contains(re.Message, tc.password)) {
				t.Errorf("message %q empty or contains the password", re.Message)
			}
		})
	}
}

func TestBannedForms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"password123!", []string{"password123!", "password", "password", "password"}},
		{"p@ssw0rd", []string{"p@ssw0rd", "p@ssw0rd", "password", "password"}},
		{"abc123", []string{"abc123"}}, // base "abc" too short
		{"12345678", []string{"12345678"}},
	}
	for _, tc := range tests {
		if got := bannedForms(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("bannedForms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBannedList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(bannedTxt, "\n"), "\n")
	if len(lines) < 10000 {
		t.Fatalf("banned list has %d entries, want >= 10000", len(lines))
	}
	if !slices.IsSorted(lines) {
		t.Error("banned list not sorted")
	}
	for i, l := range lines {
		if l == "" || strings.TrimSpace(l) != l || strings.ToLower(l) != l || strings.IndexFunc(l, unicode.IsControl) >= 0 {
			t.Errorf("line %d: bad entry %q", i+1, l)
		}
		if i > 0 && lines[i-1] == l {
			t.Errorf("line %d: duplicate %q", i+1, l)
		}
	}
	bl := bannedList()
	if got := bl.len(); got != len(lines) {
		t.Fatalf("bannedList has %d entries, file %d", got, len(lines))
	}
	for i, l := range lines {
		if bl.at(i) != l || !bl.contains(l) {
			t.Fatalf("entry %d: at %q, contains(%q) = %v", i, bl.at(i), l, bl.contains(l))
		}
		if bl.contains(l+"\x00") || bl.contains(l[:len(l)-1]+"\x7f") {
			t.Fatalf("near miss of %q found", l)
		}
	}
	if bl.contains("") {
		t.Error("the empty string is not banned")
	}
}
