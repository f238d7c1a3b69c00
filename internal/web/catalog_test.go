package web

import (
	"html/template"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"
	"unicode"

	"github.com/vakt-id/vakt/internal/method"
)

// TestTemplatesHoldNoText: every word a page shows comes from the
// catalogues. The templates' literal text may hold markup, whitespace and
// punctuation only; text-bearing attributes may hold no literal words.
func TestTemplatesHoldNoText(t *testing.T) {
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	textAttr := regexp.MustCompile(`(?i)\s(alt|title|aria-label|placeholder|label)="([^"]*)"`)
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, f := range files {
		raw, err := fs.ReadFile(templateFS, f)
		if err != nil {
			t.Fatal(err)
		}
		// Template actions become a letter-free placeholder: what is left
		// is what the template itself says.
		src := action.ReplaceAllString(string(raw), "\x00")
		for _, m := range textAttr.FindAllStringSubmatch(src, -1) {
			if hasLetters(m[2]) {
				t.Errorf("%s: attribute %s holds literal text %q", f, m[1], m[2])
			}
		}
		if outside := strings.Join(strings.Fields(stripTags(src)), " "); hasLetters(outside) {
			t.Errorf("%s: literal text outside the catalogues: %q", f, outside)
		}
	}
}

// TestCatalogues: both languages have the same keys, and every key a
// template, a handler or an option needs exists.
func TestCatalogues(t *testing.T) {
	for k := range messagesEN {
		if _, ok := messagesSV[k]; !ok {
			t.Errorf("%s has no Swedish text", k)
		}
	}
	for k := range messagesSV {
		if _, ok := messagesEN[k]; !ok {
			t.Errorf("%s has no English text", k)
		}
	}
	need := map[string]bool{}
	walkTemplates(t, func(name string, n parse.Node) {
		cmd, ok := n.(*parse.CommandNode)
		if !ok || len(cmd.Args) < 2 {
			return
		}
		if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
			if s, ok := cmd.Args[1].(*parse.StringNode); ok {
				need[s.Text] = true
			}
		}
	})
	for _, o := range method.AllOptions() {
		need["option."+string(o)] = true
		if method.UsableForMFA(o) {
			need["method."+string(o)] = true
		}
	}
	for _, k := range addable {
		need["kind."+string(k)], need["kind."+string(k)+".hint"] = true, true
	}
	for _, k := range method.AllKinds() {
		need["kind."+string(k)] = true
	}
	for _, c := range resetChoices {
		need["reset.choice."+c], need["reset.sent."+c] = true, true
	}
	for _, k := range siNotices {
		need[k] = true
	}
	for _, s := range []string{"weak", "fair", "strong"} {
		need["strength."+s] = true
	}
	for _, c := range []int{50057, 53003, 53004, 53000, 50079, 500121, 1} {
		need[blockKey(c)] = true
	}
	for k := range need {
		if _, ok := messagesEN[k]; !ok {
			t.Errorf("message %s is used but missing", k)
		}
	}
	// Formatting verbs must agree between the languages.
	verbs := regexp.MustCompile(`%[a-z]`)
	for k, en := range messagesEN {
		if a, b := verbs.FindAllString(en, -1), verbs.FindAllString(messagesSV[k], -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%s: English has %v, Swedish %v", k, a, b)
		}
	}
}

func walkTemplates(t *testing.T, visit func(name string, n parse.Node)) {
	t.Helper()
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, f := range files {
		tmpl, err := template.New("x").Funcs(template.FuncMap{"t": translators["en"].T}).ParseFS(templateFS, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tmpl.Templates() {
			if tt.Tree != nil {
				walk(tt.Tree.Root, func(n parse.Node) { visit(f, n) })
			}
		}
	}
}

func walk(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walk(c, f)
		}
	case *parse.IfNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.RangeNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.WithNode:
		walk(x.Pipe, f)
		walk(x.List, f)
		walk(x.ElseList, f)
	case *parse.ActionNode:
		walk(x.Pipe, f)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walk(a, f)
		}
	}
}

// stripTags keeps the text outside <…> (and drops <!DOCTYPE …>).
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hasLetters(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }
