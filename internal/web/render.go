package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
)

// pageNames are the page templates; each defines "content".
func pageNames() ([]string, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if n == "layout.html" || n == "parts.html" {
			continue
		}
		out = append(out, strings.TrimSuffix(n, ".html"))
	}
	return out, nil
}

// pageSets holds, per language, one template set with the layout, the
// parts and every page, each page's "content" renamed "page/NAME".
// Parsed once per process: the sets never change, executing them is
// safe from many goroutines, and one shared set keeps the parse trees —
// pointer-rich data the collector marks in every cycle — to one copy
// instead of a copy of the layout and parts for every page and every
// App (that was 7 MB, marked at each sign-in's argon2id allocation).
var pageSets = sync.OnceValues(func() (map[string]*template.Template, error) {
	names, err := pageNames()
	if err != nil {
		return nil, err
	}
	sets := map[string]*template.Template{}
	for lang, tr := range translators {
		t, err := template.New("layout.html").Funcs(template.FuncMap{"t": tr.T}).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html")
		if err != nil {
			return nil, fmt.Errorf("web: layout: %w", err)
		}
		for _, n := range names {
			src, err := fs.ReadFile(templateFS, path.Join("templates", n+".html"))
			if err != nil {
				return nil, err
			}
			const def = `{{define "content"}}`
			if strings.Count(string(src), def) != 1 {
				return nil, fmt.Errorf("web: template %s must define \"content\" once", n)
			}
			text := strings.Replace(string(src), def, `{{define "page/`+n+`"}}`, 1)
			if _, err := t.New(n + ".html").Parse(text); err != nil {
				return nil, fmt.Errorf("web: template %s: %w", n, err)
			}
		}
		sets[lang] = t
	}
	return sets, nil
})

func (p *Pages) parse() error {
	sets, err := pageSets()
	p.tmpl = sets
	return err
}

// fieldError is one problem shown in the error summary and at its field.
type fieldError struct {
	Field   string // the input's id; "" for the page as a whole
	Message string // translated
}

// view is what the layout and every page template see.
type view struct {
	Lang     string
	Page     string // the template's name, on <body data-page> for tests and styles
	Title    string // a message key
	Base     string // "/{tenant}"
	Tenant   string // display name
	CSRF     string
	SwitchEN string
	SwitchSV string
	SignedIn bool
	Nav      string // which portal tab is current; "" hides the tabs
	// Content is the page, rendered before the layout around it.
	Content template.HTML
	Errors  []fieldError
	Notice  string
	Script  bool // the page loads webauthn.js (keys.go)
	D       any
	// Live follows a push on this page (script, or refresh without it).
	Live *live
}

// ErrorFor returns the message for a field, "" when it has none.
func (v *view) ErrorFor(field string) string {
	for _, e := range v.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

func (p *Pages) newView(r *http.Request, rq *request, title string, d any) *view {
	v := &view{Lang: rq.lang, Title: title, Base: rq.base, Tenant: rq.tenant.DisplayName, CSRF: rq.csrf, D: d}
	v.SwitchEN, v.SwitchSV = switchLink(r, "en"), switchLink(r, "sv")
	return v
}

// switchLink is the current address with lang set; only GET addresses
// are kept (a POST's address is its page's).
func switchLink(r *http.Request, lang string) string {
	q := url.Values{}
	if r.Method == http.MethodGet {
		q = r.URL.Query()
	}
	q.Set("lang", lang)
	return r.URL.Path + "?" + q.Encode()
}

// render executes a page into a buffer first, so a template error never
// leaves half a page behind.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, rq *request, status int, name string, v *view) {
	t := p.tmpl[rq.lang]
	if t.Lookup("page/"+name) == nil {
		p.Log.ErrorContext(r.Context(), "web: no such template", "template", name)
		status, name = http.StatusInternalServerError, "error"
		v = p.newView(r, rq, "error.title", errorData{Message: rq.tr.T("error.server")})
	}
	v.Page = name
	p.allowScript(w, name, v)
	if v.Live != nil {
		w.Header().Set("Content-Security-Policy", liveCSP)
	}
	// The page first, then the layout around it.
	var content, buf bytes.Buffer
	err := t.ExecuteTemplate(&content, "page/"+name, v)
	if err == nil {
		v.Content = template.HTML(content.String()) // already escaped by html/template
		err = t.Execute(&buf, v)
	}
	if err != nil {
		p.Log.ErrorContext(r.Context(), "web: render", "template", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", rq.lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	Message string
	Code    string
}

// errorPage shows a whole-page problem with its status.
func (p *Pages) errorPage(w http.ResponseWriter, r *http.Request, rq *request, status int, key string) {
	if p.tmpl == nil {
		http.Error(w, http.StatusText(status), status)
		return
	}
	v := p.newView(r, rq, "error.title", errorData{Message: rq.tr.T(key)})
	p.render(w, r, rq, status, "error", v)
}

// redirect answers a form with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
