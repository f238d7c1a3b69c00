package web

import (
	"fmt"
	"net/http"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The page languages, English first: it is the fallback when the browser
// asks for neither.
var (
	langTags = []language.Tag{language.English, language.Swedish}
	matcher  = language.NewMatcher(langTags)
	cat      = buildCatalog()
)

// langCookie keeps the language a person chose with the switcher; it wins
// over Accept-Language.
const langCookie = "vakt_lang"

// buildCatalog loads both message tables into one x/text catalogue; a
// missing key falls back to English.
func buildCatalog() catalog.Catalog {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for key, msg := range messagesEN {
		if err := b.SetString(language.English, key, msg); err != nil {
			panic(fmt.Sprintf("web: message %s: %v", key, err))
		}
	}
	for key, msg := range messagesSV {
		if err := b.SetString(language.Swedish, key, msg); err != nil {
			panic(fmt.Sprintf("web: message %s: %v", key, err))
		}
	}
	return b
}

// langCode is the short code pages use ("en", "sv").
func langCode(t language.Tag) string {
	base, _ := t.Base()
	if base.String() == "sv" {
		return "sv"
	}
	return "en"
}

// pickLanguage chooses the page language: the switcher's cookie, then
// the browser's Accept-Language, then English.
func pickLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "sv" || c.Value == "en") {
		return c.Value
	}
	h := r.Header.Get("Accept-Language")
	if len(h) > 512 {
		h = h[:512] // an oversized header is not worth parsing in full
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	t, _, _ := matcher.Match(tags...)
	return langCode(t)
}

// translator formats catalogue messages in one language.
type translator struct {
	lang string
	p    *message.Printer
}

var translators = map[string]translator{
	"en": {"en", message.NewPrinter(language.English, message.Catalog(cat))},
	"sv": {"sv", message.NewPrinter(language.Swedish, message.Catalog(cat))},
}

// T formats the message key with args.
func (t translator) T(key string, args ...any) string { return t.p.Sprintf(key, args...) }
