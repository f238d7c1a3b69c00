package graphapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/store"
)

// clientCredentials asks the token endpoint for an admin API token.
func (e *env) clientCredentials(t *testing.T, tenantID, appID, secret string) int {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, err := e.srv.Client().PostForm(e.base+"/"+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestApplications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		tn := e.tenant("contoso.com")
		_, tok := e.appToken(tn.id, "Provisioning", "Application.ReadWrite.All")
		_, reader := e.appToken(tn.id, "Reader", "User.Read.All")

		created := e.send(t, tok, "POST", "/v1.0/applications", `{"displayName":"Portal",
			"web":{"redirectUris":["https://portal.contoso.com/signin-oidc"]},
			"spa":{"redirectUris":["https://spa.contoso.com/"]},
			"publicClient":{"redirectUris":["http://localhost","com.contoso.portal:/callback"]}}`).want(t, "create", 201)
		id, _ := created.obj["id"].(string)
		appID, _ := created.obj["appId"].(string)
		if id == "" || appID == "" || created.obj["displayName"] != "Portal" {
			t.Fatalf("created %s", created.raw)
		}
		if spa := created.obj["spa"].(map[string]any)["redirectUris"].([]any); len(spa) != 1 {
			t.Fatalf("spa %v", spa)
		}
		// No secret yet: a public client, which client credentials refuse.
		if s := e.clientCredentials(t, tn.id, appID, "anything"); s != http.StatusUnauthorized {
			t.Fatalf("public client, client credentials: %d", s)
		}

		got := e.get(t, tok, "/v1.0/applications/"+id).want(t, "get", 200)
		if got.obj["appId"] != appID {
			t.Fatalf("get %s", got.raw)
		}
		list := e.get(t, tok, "/v1.0/applications").want(t, "list", 200)
		if v, _ := list.obj["value"].([]any); len(v) != 3 { // Portal and the two token apps
			t.Fatalf("list %s", list.raw)
		}
		e.send(t, tok, "PATCH", "/v1.0/applications/"+id, `{"displayName":"Portal 2","web":{"redirectUris":[]}}`).want(t, "patch", 204)
		got = e.get(t, tok, "/v1.0/applications/"+id).want(t, "get after patch", 200)
		if got.obj["displayName"] != "Portal 2" || len(got.obj["web"].(map[string]any)["redirectUris"].([]any)) != 0 ||
			len(got.obj["publicClient"].(map[string]any)["redirectUris"].([]any)) != 2 {
			t.Fatalf("after patch %s", got.raw)
		}

		// addPassword: the secret is shown once and works at the token
		// endpoint; reads show only its hint.
		pw := e.send(t, tok, "POST", "/v1.0/applications/"+id+"/addPassword", `{"passwordCredential":{"displayName":"ci"}}`).want(t, "addPassword", 200)
		secret, _ := pw.obj["secretText"].(string)
		if len(secret) < 32 || pw.obj["hint"] != secret[:3] || pw.obj["keyId"] == "" || pw.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("addPassword %s", pw.raw)
		}
		if s := e.clientCredentials(t, tn.id, appID, secret); s != http.StatusOK {
			t.Fatalf("client credentials with the new secret: %d", s)
		}
		if s := e.clientCredentials(t, tn.id, appID, secret+"x"); s != http.StatusUnauthorized {
			t.Fatalf("wrong secret: %d", s)
		}
		got = e.get(t, tok, "/v1.0/applications/"+id).want(t, "get after addPassword", 200)
		if strings.Contains(string(got.raw), secret) || !strings.Contains(string(got.raw), `"secretText":null`) {
			t.Fatalf("the secret is readable: %s", got.raw)
		}

		// Bad input: a Graph error, nothing changed.
		bad := []struct{ what, method, path, body string }{
			{"no displayName", "POST", "/v1.0/applications", `{"web":{"redirectUris":[]}}`},
			{"unknown property", "POST", "/v1.0/applications", `{"displayName":"x","identifierUris":[]}`},
			{"unknown platform property", "POST", "/v1.0/applications", `{"displayName":"x","web":{"homePageUrl":"https://a"}}`},
			{"http redirect", "POST", "/v1.0/applications", `{"displayName":"x","web":{"redirectUris":["http://evil.example/cb"]}}`},
			{"fragment", "POST", "/v1.0/applications", `{"displayName":"x","spa":{"redirectUris":["https://a.example/#x"]}}`},
			{"wildcard", "POST", "/v1.0/applications", `{"displayName":"x","web":{"redirectUris":["https://*.example/cb"]}}`},
			{"private scheme on web", "POST", "/v1.0/applications", `{"displayName":"x","web":{"redirectUris":["com.contoso.app:/cb"]}}`},
			{"javascript scheme", "POST", "/v1.0/applications", `{"displayName":"x","publicClient":{"redirectUris":["javascript:alert(1)"]}}`},
			{"duplicate", "POST", "/v1.0/applications", `{"displayName":"x","web":{"redirectUris":["https://a.example/","https://a.example/"]}}`},
			{"not a list", "POST", "/v1.0/applications", `{"displayName":"x","web":{"redirectUris":"https://a.example/"}}`},
			{"null list", "PATCH", "/v1.0/applications/" + id, `{"spa":{"redirectUris":null}}`},
			{"empty displayName", "PATCH", "/v1.0/applications/" + id, `{"displayName":""}`},
			{"not JSON", "POST", "/v1.0/applications", `{"displayName":`},
			{"bad endDateTime", "POST", "/v1.0/applications/" + id + "/addPassword", `{"passwordCredential":{"endDateTime":"tomorrow"}}`},
			{"past endDateTime", "POST", "/v1.0/applications/" + id + "/addPassword", `{"passwordCredential":{"endDateTime":"2001-01-01T00:00:00Z"}}`},
			{"startDateTime", "POST", "/v1.0/applications/" + id + "/addPassword", `{"passwordCredential":{"startDateTime":"2030-01-01T00:00:00Z"}}`},
		}
		for _, b := range bad {
			checkGraphError(t, b.what, e.send(t, tok, b.method, b.path, b.body), 400)
		}
		checkGraphError(t, "unknown id", e.get(t, tok, "/v1.0/applications/00000000-0000-0000-0000-000000000001"), 404)
		checkGraphError(t, "malformed id", e.get(t, tok, "/v1.0/applications/not-an-id"), 404)
		checkGraphError(t, "reader lists", e.get(t, reader, "/v1.0/applications"), 403)
		checkGraphError(t, "reader creates", e.send(t, reader, "POST", "/v1.0/applications", `{"displayName":"x"}`), 403)
		checkGraphError(t, "reader adds a secret", e.send(t, reader, "POST", "/v1.0/applications/"+id+"/addPassword", `{}`), 403)

		// Every change is audited.
		p, _ := e.app.Store.ListAudits(e.ctx, tn.id, store.ListQuery{})
		acts := map[string]int{}
		for _, a := range p.Items {
			acts[a.Activity]++
		}
		if acts["Add application"] < 3 || acts["Update application"] != 1 || acts["Update application – Certificates and secrets management"] != 1 {
			t.Fatalf("audit %v", acts)
		}

		e.do(t, tok, req{method: "DELETE", path: "/v1.0/applications/" + id}).want(t, "delete", 204)
		checkGraphError(t, "deleted", e.get(t, tok, "/v1.0/applications/"+id), 404)
		if s := e.clientCredentials(t, tn.id, appID, secret); s != http.StatusUnauthorized {
			t.Fatalf("deleted app, client credentials: %d", s)
		}
	})
}
