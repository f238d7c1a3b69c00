package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// csrfCookie holds a random value per browser; every form carries a
// keyed hash of it. A site that can plant cookies (a sibling subdomain)
// still cannot make the matching form value without the key, and a
// cross-site form has neither. net/http.CrossOriginProtection, which
// refuses cross-origin POSTs from browsers outright, stands in front.
const csrfCookie = "vakt_csrf"

func (p *Pages) csrfFor(cookie string) string {
	m := hmac.New(sha256.New, p.CSRFKey)
	m.Write([]byte("web-form:"))
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken returns the form token for this browser, setting the cookie
// when it has none (or a malformed one).
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return p.csrfFor(c.Value)
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: p.SecureCookies,
		SameSite: http.SameSiteLaxMode})
	return p.csrfFor(v)
}

// checkCSRF compares the form's token with the one the cookie implies.
func (p *Pages) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 43 {
		return false
	}
	got := r.PostFormValue("csrf")
	want := p.csrfFor(c.Value)
	return len(got) == len(want) && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
