package web

import (
	"net/http"
	"testing"
)

// FuzzEnrolLink: whatever the enrolment cookie holds, the page shows back
// either nothing or a link of the enrolment endpoint's shape for the
// flow it names — never anything else.
func FuzzEnrolLink(f *testing.F) {
	f.Add("flow1." + enc("https://idp.example.com/t/api/authenticator/enroll#TOKEN"))
	f.Add("flow1." + enc("javascript:alert(1)//api/authenticator/enroll#x"))
	f.Add("flow1.")
	f.Add("")
	f.Add("flow1." + enc("http://x/api/authenticator/enroll?q=1#t"))
	f.Fuzz(func(t *testing.T, v string) {
		r, _ := http.NewRequest("GET", "/t/signin", nil)
		r.AddCookie(&http.Cookie{Name: enrolCookie, Value: v})
		link := enrolLink(r, "flow1")
		if link != "" && (!validEnrolLink(link) || len(link) > 512) {
			t.Fatalf("shown back: %q", link)
		}
	})
}
