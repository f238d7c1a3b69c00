// Package webtest drives vakt's end-user pages from tests the way a
// browser without JavaScript does: a cookie jar, every page's forms read
// from the HTML (hidden fields and the CSRF token included) and submitted
// as they are, redirects followed on the server and stopped where they
// leave it (an app's redirect URI). Tests of internal/web, of the OIDC
// provider (internal/app) and of the real binary (cmd/vakt) share it.
package webtest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a plain HTTP client with cookies. After every request Page,
// Status, URL and Header describe the last answer.
type Browser struct {
	T      testing.TB
	Server string       // scheme://host of vakt; paths starting with "/" go there
	HTTP   *http.Client // keeps the cookies; CheckRedirect stops at other hosts
	Lang   string       // Accept-Language, when set
	Page   string       // the last answer's body
	Status int
	URL    *url.URL    // the address of the last answer (after redirects)
	Header http.Header // the last answer's headers
	tok    string
}

// New returns a browser for the vakt at server. Redirects within server
// are followed; one to another host is not (the answer is the redirect,
// see Location), as an app's redirect URI is where a test takes over.
func New(t testing.TB, server string) *Browser {
	jar, _ := cookiejar.New(nil)
	host := mustParse(t, server).Host
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &Browser{T: t, Server: server, HTTP: c}
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("webtest: %v", err)
	}
	return u
}

func (b *Browser) abs(target string) string {
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") {
		return b.Server + target
	}
	return target
}

// Do sends req and records the answer.
func (b *Browser) Do(req *http.Request) *Browser {
	b.T.Helper()
	if b.Lang != "" {
		req.Header.Set("Accept-Language", b.Lang)
	}
	resp, err := b.HTTP.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.Page, b.Status, b.URL, b.Header = string(body), resp.StatusCode, resp.Request.URL, resp.Header
	return b
}

// Get opens a path on the server or an absolute address.
func (b *Browser) Get(target string) *Browser {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(target), nil)
	if err != nil {
		b.T.Fatal(err)
	}
	return b.Do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Token is the form token of the last page that had a form (it stays the
// same for as long as the browser keeps its cookie).
func (b *Browser) Token() string {
	b.T.Helper()
	if m := csrfRE.FindStringSubmatch(b.Page); m != nil {
		b.tok = html.UnescapeString(m[1])
	}
	if b.tok == "" {
		b.T.Fatalf("no form token on the page:\n%s", b.Page)
	}
	return b.tok
}

// Post submits fields to path with the last page's form token (unless
// fields has one): a form the test writes itself, for out-of-order and
// hostile submissions. Submit is the browser's own way.
func (b *Browser) Post(target string, fields url.Values) *Browser {
	b.T.Helper()
	if _, ok := fields["csrf"]; !ok {
		fields.Set("csrf", b.Token())
	}
	return b.post(b.abs(target), fields)
}

func (b *Browser) post(target string, fields url.Values) *Browser {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(fields.Encode()))
	if err != nil {
		b.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

// Expect checks the last answer's status and that its page shows each of
// contains; it returns the page.
func (b *Browser) Expect(want int, contains ...string) string {
	b.T.Helper()
	if b.Status != want {
		b.T.Fatalf("%s: status %d, want %d:\n%s", b.URL, b.Status, want, b.Page)
	}
	for _, s := range contains {
		if !strings.Contains(b.Page, s) {
			b.T.Fatalf("%s: page lacks %q:\n%s", b.URL, s, b.Page)
		}
	}
	return b.Page
}

// Location is where the last answer redirects to (resolved against its
// address), or nil.
func (b *Browser) Location() *url.URL {
	b.T.Helper()
	loc := b.Header.Get("Location")
	if loc == "" || b.Status < 300 || b.Status > 399 {
		return nil
	}
	u, err := b.URL.Parse(loc)
	if err != nil {
		b.T.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

// Form is one form of a page: where it posts and what it would send.
type Form struct {
	Action string
	Fields url.Values
	names  map[string]bool // every named field, sent or not (an unchecked box)
	hidden map[string]bool // fields of type hidden
}

// The pages are vakt's own html/template output (attributes always
// double-quoted, escaped), so these few patterns read them exactly; an
// HTML parser would add a dependency for nothing.
var (
	formRE   = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`<(input|textarea|select)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`([a-zA-Z-]+)(?:="([^"]*)")?`)
	optionRE = regexp.MustCompile(`<option\b([^>]*)>`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// Forms lists the POST forms of the last page with the values a browser
// would send as the page stands: hidden and filled-in inputs, checked
// boxes and radios, the selected (or first) option of a select.
func (b *Browser) Forms() []Form {
	var out []Form
	for _, fm := range formRE.FindAllStringSubmatch(b.Page, -1) {
		fa := attrs(fm[1])
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		f := Form{Action: fa["action"], Fields: url.Values{}, names: map[string]bool{}, hidden: map[string]bool{}}
		for _, in := range inputRE.FindAllStringSubmatchIndex(fm[2], -1) {
			tag, a := fm[2][in[2]:in[3]], attrs(fm[2][in[4]:in[5]])
			name := a["name"]
			if name == "" {
				continue
			}
			f.names[name] = true
			f.hidden[name] = f.hidden[name] || a["type"] == "hidden"
			switch {
			case tag == "select":
				rest := fm[2][in[1]:]
				end := strings.Index(rest, "</select>")
				if end < 0 {
					continue
				}
				first, chosen := "", ""
				for i, o := range optionRE.FindAllStringSubmatch(rest[:end], -1) {
					oa := attrs(o[1])
					if i == 0 {
						first = oa["value"]
					}
					if _, sel := oa["selected"]; sel {
						chosen = oa["value"]
					}
				}
				f.Fields.Set(name, orFirst(chosen, first))
			case tag == "textarea":
				f.Fields.Set(name, "")
			case a["type"] == "checkbox" || a["type"] == "radio":
				if _, on := a["checked"]; on {
					f.Fields.Add(name, orFirst(a["value"], "on"))
				}
			case a["type"] == "submit" || a["type"] == "button" || a["type"] == "file":
			default:
				f.Fields.Add(name, a["value"])
			}
		}
		out = append(out, f)
	}
	return out
}

func orFirst(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Submit fills in and sends the first form of the last page that has a
// field for every name in fill, as a person types into the fields they
// see. A person cannot change a hidden field, so a hidden name in fill
// picks the form instead (the one whose hidden "step" is "skip", say).
// Everything else the form carries (the CSRF token, the return address)
// goes as the page wrote it.
func (b *Browser) Submit(fill url.Values) *Browser {
	b.T.Helper()
	for _, f := range b.Forms() {
		ok := true
		for name := range fill {
			ok = ok && f.names[name] && (!f.hidden[name] || f.Fields.Get(name) == fill.Get(name))
		}
		if ok {
			return b.SubmitForm(f, fill)
		}
	}
	b.T.Fatalf("%s: no form with fields %v:\n%s", b.URL, keys(fill), b.Page)
	return b
}

// SubmitForm sends f (one of Forms) with the values in fill replacing or
// adding fields, hidden ones included: a tampered form.
func (b *Browser) SubmitForm(f Form, fill url.Values) *Browser {
	b.T.Helper()
	fields := url.Values{}
	for name, vs := range f.Fields {
		fields[name] = vs
	}
	for name, vs := range fill {
		fields[name] = vs
	}
	action, err := b.URL.Parse(f.Action)
	if err != nil {
		b.T.Fatalf("form action %q: %v", f.Action, err)
	}
	return b.post(action.String(), fields)
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}
