package graphapi_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method/webauthn"
	"github.com/vakt-id/vakt/internal/method/webauthn/softkey"
	"github.com/vakt-id/vakt/internal/store"
)

// registerKey registers a software security key for the user through
// the service (the test server's public URL is an IP address, so the
// relying party is set here).
func registerKey(t *testing.T, e *env, tenantID, userID string, k *softkey.Key) store.Method {
	t.Helper()
	const origin = "https://id.contoso.com"
	if e.app.SecurityInfo.WebAuthn == nil {
		rp, err := webauthn.New(origin, "vakt")
		if err != nil {
			t.Fatal(err)
		}
		e.app.SecurityInfo.WebAuthn = rp
	}
	en, err := e.app.SecurityInfo.BeginFido2(e.ctx, tenantID, userID, k.Resident)
	if err != nil {
		t.Fatal(err)
	}
	body, err := k.Register(en.Options, origin, softkey.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.app.SecurityInfo.FinishFido2(e.ctx, directory.Actor{UserID: userID}, tenantID, userID, en.ID, "YubiKey 5", body)
	if err != nil {
		t.Fatalf("finish FIDO2: %v", err)
	}
	return m
}

// TestGraphFido2Methods: list, get and delete keys with their aaGuid and
// attestation level; the deletion is audited.
func TestGraphFido2Methods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		f := newMethodsFix(t, e, "contoso.com")
		uid := f.user.ID
		model := uuid.MustParse("cb69481e-8ff7-4039-93ec-0a2729a154a8")
		attested := softkey.New(model, false)
		attested.Attestation = softkey.AttestPacked
		k1 := registerKey(t, e, f.tn.id, uid, attested)
		k2 := registerKey(t, e, f.tn.id, uid, softkey.New(model, true))

		for _, v := range []string{"v1.0", "beta"} {
			items := e.get(t, f.ro, mp(v, uid, "fido2Methods")).want(t, "GET fido2Methods", http.StatusOK).values(t)
			if got := ids(items); len(got) != 2 || got[0] != k1.ID || got[1] != k2.ID {
				t.Fatalf("%s fido2Methods ids %v", v, got)
			}
			for _, it := range items {
				wantKeys(t, v+" fido2Methods", it, "id", "displayName", "aaGuid", "model", "attestationCertificates", "attestationLevel", "createdDateTime")
			}
		}
		path := mp("v1.0", "alice@contoso.com", "fido2Methods/"+k1.ID)
		got := e.get(t, f.ro, path).want(t, "GET fido2 method", http.StatusOK).obj
		wantProps(t, "fido2 method", got, "id", k1.ID, "displayName", "YubiKey 5", "aaGuid", model.String(),
			"attestationLevel", "attested", "model", nil)
		if certs, _ := got["attestationCertificates"].([]any); len(certs) != 1 {
			t.Errorf("attestationCertificates %v", got["attestationCertificates"])
		}
		got = e.get(t, f.ro, mp("v1.0", uid, "fido2Methods/"+k2.ID)).want(t, "GET passkey", http.StatusOK).obj
		wantProps(t, "passkey", got, "attestationLevel", "notAttested")
		// The polymorphic list has them too, typed.
		all := e.get(t, f.ro, mp("v1.0", uid, "methods")).want(t, "GET methods", http.StatusOK).values(t)
		if n := len(byType(all)["#microsoft.graph.fido2AuthenticationMethod"]); n != 2 {
			t.Errorf("methods lists %d fido2 methods", n)
		}
		e.get(t, f.ro, q(mp("v1.0", uid, "fido2Methods"), "$select", "aaGuid,displayName")).want(t, "GET $select", http.StatusOK)

		// No POST or PATCH: keys are registered by their owner.
		checkGraphError(t, "POST fido2Methods", e.send(t, f.rw, "POST", mp("v1.0", uid, "fido2Methods"), `{}`), http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusNotFound)
		checkGraphError(t, "DELETE with a read token", e.do(t, f.ro, req{method: "DELETE", path: path}), http.StatusForbidden)
		e.do(t, f.rw, req{method: "DELETE", path: path}).want(t, "DELETE fido2 method", http.StatusNoContent)
		e.checkAudit(t, f.rw, f.rwAppID, "Admin deleted security info", uid, "fido2")
		checkGraphError(t, "GET deleted", e.get(t, f.ro, path), http.StatusNotFound)
		checkGraphError(t, "DELETE again", e.do(t, f.rw, req{method: "DELETE", path: path}), http.StatusNotFound)
		// Another kind's id is not a fido2 method.
		oath := registerTOTP(t, e, f.tn.id, uid, false)
		checkGraphError(t, "GET an app as fido2", e.get(t, f.ro, mp("v1.0", uid, "fido2Methods/"+oath.ID)), http.StatusNotFound)
	})
}
