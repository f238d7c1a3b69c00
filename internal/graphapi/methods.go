package graphapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/securityinfo"
	"github.com/vakt-id/vakt/internal/store"
)

// A user's authentication methods (graph-api.md §4), under
// /users/{id|upn}/authentication/ and /me/authentication/.
//
// What `methods` lists: the password (always: every user has one in
// Graph's model, whether or not a hash is stored), and every active phone,
// email, software OATH app, Temporary Access Pass (usable or not, as in
// Graph), Microsoft Authenticator and FIDO2 key. Hardware OATH tokens are
// a beta resource in Graph (hardwareOathAuthenticationMethod), so they are
// listed — active ones only, as #microsoft.graph.hardwareOathAuthenticationMethod
// — under /beta and left out under /v1.0, where no such type exists and a
// strict client could fail on an unknown @odata.type. Kinds Graph has no
// user-method resource for here (security questions, certificates) are
// left out.

// Fixed method ids (graph-api.md §4): Graph gives the password, the email
// method and each phone type the same id for every user. The API speaks
// these ids; the store ids of such methods stay internal.
const (
	passwordMethodID = "28c10230-6103-485e-b985-444c60001490"
	emailMethodID    = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
)

var phoneMethodIDs = map[string]string{
	method.PhoneMobile:          "3179e48a-750b-4051-897c-87b9720928f7",
	method.PhoneAlternateMobile: "b6332ec1-7057-4abe-9331-3d72feddfe41",
	method.PhoneOffice:          "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}

// phoneTypeOf maps a fixed phone method id to its phone type.
func phoneTypeOf(id string) (string, bool) {
	for t, pid := range phoneMethodIDs {
		if strings.EqualFold(pid, id) {
			return t, true
		}
	}
	return "", false
}

const odataTypePrefix = "#microsoft.graph."

// Graph type names of the method kinds.
var methodTypes = map[method.Kind]string{
	method.KindPassword:      "passwordAuthenticationMethod",
	method.KindPhone:         "phoneAuthenticationMethod",
	method.KindEmail:         "emailAuthenticationMethod",
	method.KindSoftwareOath:  "softwareOathAuthenticationMethod",
	method.KindHardwareOath:  "hardwareOathAuthenticationMethod",
	method.KindTAP:           "temporaryAccessPassAuthenticationMethod",
	method.KindAuthenticator: "microsoftAuthenticatorAuthenticationMethod",
	method.KindFido2:         "fido2AuthenticationMethod",
}

// Selectable properties of each typed collection.
var (
	phoneProps    = []string{"id", "phoneNumber", "phoneType", "smsSignInState", "createdDateTime"}
	emailProps    = []string{"id", "emailAddress", "createdDateTime"}
	oathProps     = []string{"id", "secretKey", "createdDateTime"}
	tapProps      = []string{"id", "createdDateTime", "startDateTime", "lifetimeInMinutes", "isUsableOnce", "isUsable", "methodUsabilityReason", "temporaryAccessPass"}
	passwordProps = []string{"id", "password", "createdDateTime"}
	authAppProps  = []string{"id", "displayName", "deviceTag", "phoneAppVersion", "createdDateTime"}
	fido2Props    = []string{"id", "displayName", "aaGuid", "model", "attestationCertificates", "attestationLevel", "createdDateTime"}
	// The polymorphic list selects only what every method has.
	baseMethodProps = []string{"id", "createdDateTime"}
)

func (a *API) methodRoutes(add func(method, path string, h handlerFunc)) {
	for _, p := range []string{"/users/{id}/authentication", "/me/authentication"} {
		add("GET", p+"/methods", a.listAllMethods)
		add("GET", p+"/methods/{methodId}", a.getAnyMethod)
		add("POST", p+"/methods/{methodId}/resetPassword", a.resetPassword)

		add("GET", p+"/passwordMethods", a.listPasswordMethods)
		add("GET", p+"/passwordMethods/{methodId}", a.getPasswordMethod)

		add("GET", p+"/phoneMethods", a.listPhoneMethods)
		add("POST", p+"/phoneMethods", a.createPhoneMethod)
		add("GET", p+"/phoneMethods/{methodId}", a.getPhoneMethod)
		add("PATCH", p+"/phoneMethods/{methodId}", a.updatePhoneMethod)
		add("DELETE", p+"/phoneMethods/{methodId}", a.deletePhoneMethod)

		add("GET", p+"/emailMethods", a.listEmailMethods)
		add("POST", p+"/emailMethods", a.createEmailMethod)
		add("GET", p+"/emailMethods/{methodId}", a.getEmailMethod)
		add("PATCH", p+"/emailMethods/{methodId}", a.updateEmailMethod)
		add("DELETE", p+"/emailMethods/{methodId}", a.deleteEmailMethod)

		add("POST", p+"/temporaryAccessPassMethods", a.createTAPMethod)
		for _, k := range []kindResource{
			{method.KindSoftwareOath, "softwareOathMethods", oathProps},
			{method.KindTAP, "temporaryAccessPassMethods", tapProps},
			{method.KindAuthenticator, "microsoftAuthenticatorMethods", authAppProps},
			{method.KindFido2, "fido2Methods", fido2Props},
		} {
			add("GET", p+"/"+k.segment, a.listKindMethods(k))
			add("GET", p+"/"+k.segment+"/{methodId}", a.getKindMethod(k))
			add("DELETE", p+"/"+k.segment+"/{methodId}", a.deleteKindMethod(k))
		}
	}
	// Any other /me/authentication path: app-only tokens have no "me".
	for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
		add(m, "/me/authentication/{rest...}", a.meAuthenticationOther)
	}
}

// kindResource is a typed collection of methods kept under store ids.
type kindResource struct {
	kind       method.Kind
	segment    string // e.g. "softwareOathMethods"
	selectable []string
}

func errMeAppOnly() error {
	return apperr.Invalidf("/me request is only valid with delegated authentication flow.").WithCode("BadRequest")
}

func (a *API) meAuthenticationOther(c *call) error {
	if c.actor.UserID == "" {
		return errMeAppOnly()
	}
	return apperr.NotFoundf("Resource not found for the segment '%s'.", truncate(c.r.PathValue("rest"), 64)).WithCode("BadRequest")
}

// methodUser resolves the user of a methods request ({id} is an id or a
// UPN; /me is the signed-in user) and authorizes the actor: reads need
// UserAuthenticationMethod read access, writes go through the security
// info service's rule, which keeps helpdesk roles off administrators'
// methods. A delegated /me call gets no self-service shortcut here: it is
// authorized like any other admin call.
func (a *API) methodUser(c *call, write bool) (store.User, error) {
	ref := c.r.PathValue("id")
	if ref == "" {
		if c.actor.UserID == "" {
			return store.User{}, errMeAppOnly()
		}
		ref = c.actor.UserID
	}
	act := directory.ActionUserMethodsRead
	if write {
		act = directory.ActionUserMethodsWrite
	}
	if err := c.require(act); err != nil {
		return store.User{}, err
	}
	u, err := a.Admin.FindUser(c.ctx, c.tenant, ref)
	if err != nil {
		return store.User{}, err
	}
	if write {
		if err := a.SecurityInfo.AuthorizeAdmin(c.ctx, c.actor, c.tenant, u.ID, true); err != nil {
			return store.User{}, err
		}
	}
	return u, nil
}

// methodsPath is the @odata.context path of a user's methods collection.
func methodsPath(u store.User, segment string) string {
	return "users('" + u.ID + "')/authentication/" + segment
}

func errMethodNotFound(id string) error {
	return apperr.NotFoundf("The authentication method '%s' does not exist for the user.", truncate(id, 64)).WithCode("itemNotFound")
}

func errConflict(format string, args ...any) error {
	return apperr.Conflictf(format, args...).WithCode("conflict")
}

// conflictCode gives the service's 409s Graph's "conflict" code (the
// service uses the generic bad-request code for them).
func conflictCode(err error) error {
	if e, ok := apperr.As(err); ok && e.Kind == apperr.Conflict && e.Code == "Request_BadRequest" {
		e.Code = "conflict"
	}
	return err
}

// activeMethods lists the user's active methods, oldest first.
func (a *API) activeMethods(ctx context.Context, tenantID, userID string) ([]store.Method, error) {
	ms, err := a.SecurityInfo.Methods(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.State == store.MethodActive {
			out = append(out, m)
		}
	}
	return out, nil
}

func passwordJSON(u store.User) map[string]any {
	return map[string]any{"@odata.type": odataTypePrefix + methodTypes[method.KindPassword], "id": passwordMethodID,
		"password": nil, "createdDateTime": timeJSON(u.CreatedAt)}
}

func smsSignInState(phoneType string) string {
	if phoneType == method.PhoneMobile {
		return "notConfigured"
	}
	return "notSupported"
}

// methodJSON renders a stored method as its Graph type, with @odata.type;
// ok is false for kinds that have no Graph resource in this version.
func (a *API) methodJSON(c *call, m store.Method) (obj map[string]any, ok bool, err error) {
	k := method.Kind(m.Kind)
	typ, known := methodTypes[k]
	if !known || (k == method.KindHardwareOath && c.version != "beta") {
		return nil, false, nil
	}
	obj = map[string]any{"@odata.type": odataTypePrefix + typ, "id": m.ID, "createdDateTime": timeJSON(m.CreatedAt)}
	switch k {
	case method.KindPhone:
		id, ok := phoneMethodIDs[m.Props.PhoneType]
		if !ok {
			return nil, false, nil
		}
		obj["id"] = id
		obj["phoneNumber"] = securityinfo.DisplayPhone(m.Props.PhoneNumber)
		obj["phoneType"] = m.Props.PhoneType
		obj["smsSignInState"] = smsSignInState(m.Props.PhoneType)
	case method.KindEmail:
		obj["id"] = emailMethodID
		obj["emailAddress"] = m.Props.Email
	case method.KindSoftwareOath:
		obj["secretKey"] = nil
	case method.KindTAP:
		reason, err := a.SecurityInfo.TAPReason(c.ctx, m)
		if err != nil {
			return nil, false, err
		}
		start := m.CreatedAt
		if m.Props.StartsAt != nil {
			start = *m.Props.StartsAt
		}
		obj["startDateTime"] = timeJSON(start)
		obj["lifetimeInMinutes"] = m.Props.LifetimeMinutes
		obj["isUsableOnce"] = m.Props.UsableOnce
		obj["isUsable"] = reason == securityinfo.ReasonEnabled
		obj["methodUsabilityReason"] = reason
		obj["temporaryAccessPass"] = nil
	case method.KindAuthenticator:
		obj["displayName"] = nullable(m.DisplayName)
		obj["deviceTag"] = nullable(m.Props.DeviceTag)
		obj["phoneAppVersion"] = nullable(m.Props.AppVersion)
	case method.KindFido2:
		obj["displayName"] = nullable(m.DisplayName)
		obj["aaGuid"] = nil
		obj["model"] = nullable(m.Props.Model)
		obj["attestationCertificates"] = []string{}
		obj["attestationLevel"] = nil
		if f := m.Props.Fido2; f != nil {
			obj["aaGuid"], obj["attestationLevel"] = f.AAGUID, nullable(f.AttestationLevel)
			if len(f.AttestationCertificates) > 0 {
				obj["attestationCertificates"] = f.AttestationCertificates
			}
		}
	}
	return obj, true, nil
}

// typed drops @odata.type for items of a typed collection, where the type
// is the collection's own.
func typed(obj map[string]any) map[string]any {
	delete(obj, "@odata.type")
	return obj
}

// methodCollection writes an in-memory list of methods with $select,
// $top and $skiptoken; other options are refused.
func (a *API) methodCollection(c *call, contextPath string, items []map[string]any, selectable []string) error {
	q := c.r.URL.Query()
	o, err := odata.ParseQuery(q, odata.Spec{Selectable: selectable})
	if err != nil {
		return queryError(err)
	}
	if o.Count || o.Search != "" {
		return apperr.Invalidf("Query options '$count' and '$search' are not supported on authentication methods.")
	}
	for k := range q {
		if strings.EqualFold(k, "$select") {
			q.Del(k)
		}
	}
	page, next, err := pageSliceQuery(q, items, 100)
	if err != nil {
		return err
	}
	return a.collection(c, contextPath, page, next, nil, o.Select)
}

// ---- methods (polymorphic) ----

func (a *API) allMethodsJSON(c *call, u store.User) ([]map[string]any, error) {
	ms, err := a.activeMethods(c.ctx, c.tenant, u.ID)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{passwordJSON(u)}
	for _, m := range ms {
		obj, ok, err := a.methodJSON(c, m)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, obj)
		}
	}
	return items, nil
}

func (a *API) listAllMethods(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	items, err := a.allMethodsJSON(c, u)
	if err != nil {
		return err
	}
	return a.methodCollection(c, methodsPath(u, "methods"), items, baseMethodProps)
}

func (a *API) getAnyMethod(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	items, err := a.allMethodsJSON(c, u)
	if err != nil {
		return err
	}
	id := c.r.PathValue("methodId")
	for _, obj := range items {
		if strings.EqualFold(asString(obj["id"]), id) {
			return a.entity(c, http.StatusOK, methodsPath(u, "methods/$entity"), obj)
		}
	}
	return errMethodNotFound(id)
}

func asString(v any) string { s, _ := v.(string); return s }

// ---- password ----

func (a *API) listPasswordMethods(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	return a.methodCollection(c, methodsPath(u, "passwordMethods"), []map[string]any{typed(passwordJSON(u))}, passwordProps)
}

func (a *API) getPasswordMethod(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	if id := c.r.PathValue("methodId"); !strings.EqualFold(id, passwordMethodID) {
		return errMethodNotFound(id)
	}
	return a.entity(c, http.StatusOK, methodsPath(u, "passwordMethods/$entity"), typed(passwordJSON(u)))
}

// hasBody reports whether the request carries a body at all: optional
// bodies (resetPassword, a TAP with the policy's defaults) may be absent.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// resetPassword sets the user's password through the admin service, so
// the tenant's password rules, the privileged-user rule and the audit
// entry ("Reset user password") apply. Without newPassword, vakt makes one
// and returns it once.
func (a *API) resetPassword(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	if id := c.r.PathValue("methodId"); !strings.EqualFold(id, passwordMethodID) {
		return errMethodNotFound(id)
	}
	var given *string
	if hasBody(c.r) {
		b, err := c.decode(a, "microsoft.graph.passwordAuthenticationMethod", "newPassword")
		if err != nil {
			return err
		}
		if raw, ok := b.fields["newPassword"]; ok && string(raw) != "null" {
			if given, err = b.str("newPassword"); err != nil {
				return err
			}
			if *given == "" {
				return apperr.Invalidf("Property 'newPassword' must not be empty; leave it out to have a password generated.").WithTarget("newPassword")
			}
		}
	}
	if given != nil {
		if err := a.setPassword(c, u, *given); err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusAccepted)
		return nil
	}
	// A generated password can still be refused (a banned-list or
	// user-name match is astronomically unlikely but possible): try again.
	for attempt := 0; ; attempt++ {
		pw, err := generatePassword(16)
		if err != nil {
			return err
		}
		err = a.setPassword(c, u, pw)
		if err == nil {
			writeJSON(c.w, http.StatusAccepted, map[string]any{
				"@odata.context": c.base(a) + "/$metadata#microsoft.graph.passwordResetResponse",
				"newPassword":    pw,
			})
			return nil
		}
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid || e.Target != "newPassword" || attempt >= 4 {
			return err
		}
	}
}

// setPassword changes the password and names newPassword as the property
// at fault when the rules refuse it.
func (a *API) setPassword(c *call, u store.User, pw string) error {
	_, err := a.Admin.UpdateUser(c.ctx, c.actor, c.tenant, u.ID, admin.UserPatch{Password: &pw})
	if e, ok := apperr.As(err); ok && e.Kind == apperr.Invalid && e.Target == "passwordProfile" {
		e.Target = "newPassword"
	}
	return err
}

const (
	pwLower  = "abcdefghijklmnopqrstuvwxyz"
	pwUpper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pwDigits = "0123456789"
)

// generatePassword makes n random letters and digits from crypto/rand,
// with at least one lower-case letter, one upper-case letter and one digit
// so that it also passes composition rules stricter than vakt's.
func generatePassword(n int) (string, error) {
	pick := func(set string) (byte, error) {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, err
		}
		return set[v.Int64()], nil
	}
	all := pwLower + pwUpper + pwDigits
	for {
		b := make([]byte, n)
		var lo, up, dg bool
		for i := range b {
			c, err := pick(all)
			if err != nil {
				return "", err
			}
			b[i] = c
			lo = lo || strings.IndexByte(pwLower, c) >= 0
			up = up || strings.IndexByte(pwUpper, c) >= 0
			dg = dg || strings.IndexByte(pwDigits, c) >= 0
		}
		if lo && up && dg {
			return string(b), nil
		}
	}
}

// ---- phones ----

// phoneMethod finds the user's active phone of a type.
func (a *API) phoneMethod(c *call, u store.User, phoneType string) (store.Method, bool, error) {
	ms, err := a.activeMethods(c.ctx, c.tenant, u.ID)
	if err != nil {
		return store.Method{}, false, err
	}
	for _, m := range ms {
		if m.Kind == string(method.KindPhone) && m.Props.PhoneType == phoneType {
			return m, true, nil
		}
	}
	return store.Method{}, false, nil
}

// phoneFromPath resolves {methodId} of a phone request to the user's phone.
func (a *API) phoneFromPath(c *call, u store.User) (store.Method, error) {
	id := c.r.PathValue("methodId")
	t, ok := phoneTypeOf(id)
	if !ok {
		return store.Method{}, errMethodNotFound(id)
	}
	m, ok, err := a.phoneMethod(c, u, t)
	if err != nil {
		return store.Method{}, err
	}
	if !ok {
		return store.Method{}, errMethodNotFound(id)
	}
	return m, nil
}

func (a *API) typedJSON(c *call, m store.Method) (map[string]any, error) {
	obj, ok, err := a.methodJSON(c, m)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errMethodNotFound(m.ID)
	}
	return typed(obj), nil
}

func (a *API) listPhoneMethods(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	return a.listOfKind(c, u, method.KindPhone, "phoneMethods", phoneProps)
}

func (a *API) listOfKind(c *call, u store.User, k method.Kind, segment string, selectable []string) error {
	ms, err := a.activeMethods(c.ctx, c.tenant, u.ID)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, m := range ms {
		if m.Kind != string(k) {
			continue
		}
		obj, ok, err := a.methodJSON(c, m)
		if err != nil {
			return err
		}
		if ok {
			items = append(items, typed(obj))
		}
	}
	return a.methodCollection(c, methodsPath(u, segment), items, selectable)
}

func (a *API) getPhoneMethod(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	m, err := a.phoneFromPath(c, u)
	if err != nil {
		return err
	}
	obj, err := a.typedJSON(c, m)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, methodsPath(u, "phoneMethods/$entity"), obj)
}

const phoneTypeName = "microsoft.graph.phoneAuthenticationMethod"

func validPhoneType(t string) error {
	if _, ok := phoneMethodIDs[t]; !ok {
		return apperr.Invalidf("Invalid value for property 'phoneType': use mobile, alternateMobile or office.").WithTarget("phoneType")
	}
	return nil
}

func (a *API) createPhoneMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	b, err := c.decode(a, phoneTypeName, "phoneNumber", "phoneType")
	if err != nil {
		return err
	}
	number, err := b.requireStr("phoneNumber")
	if err != nil {
		return err
	}
	phoneType, err := b.requireStr("phoneType")
	if err != nil {
		return err
	}
	if err := validPhoneType(phoneType); err != nil {
		return err
	}
	// Check the number before the conflict, so a bad request is reported
	// as such whatever the user has.
	if _, _, err := securityinfo.NormalizePhone(number, phoneType == method.PhoneOffice); err != nil {
		return err
	}
	if _, exists, err := a.phoneMethod(c, u, phoneType); err != nil {
		return err
	} else if exists {
		return errConflict("The user already has a %s phone method; update or delete it instead.", phoneType)
	}
	m, err := a.SecurityInfo.SetPhone(c.ctx, c.actor, c.tenant, u.ID, phoneType, number)
	if err != nil {
		return conflictCode(err)
	}
	obj, err := a.typedJSON(c, m)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, methodsPath(u, "phoneMethods/$entity"), obj)
}

func (a *API) updatePhoneMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	m, err := a.phoneFromPath(c, u)
	if err != nil {
		return err
	}
	b, err := c.decode(a, phoneTypeName, "phoneNumber", "phoneType")
	if err != nil {
		return err
	}
	number, err := b.requireStr("phoneNumber")
	if err != nil {
		return err
	}
	if t, err := b.str("phoneType"); err != nil {
		return err
	} else if t != nil && *t != m.Props.PhoneType {
		return apperr.Invalidf("The phoneType of a phone method cannot be changed; delete it and add a phone of the other type.").WithTarget("phoneType")
	}
	if _, err := a.SecurityInfo.SetPhone(c.ctx, c.actor, c.tenant, u.ID, m.Props.PhoneType, number); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deletePhoneMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	m, err := a.phoneFromPath(c, u)
	if err != nil {
		return err
	}
	return a.deleteMethod(c, u, m)
}

func (a *API) deleteMethod(c *call, u store.User, m store.Method) error {
	if err := a.SecurityInfo.Delete(c.ctx, c.actor, c.tenant, u.ID, m.ID); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- email ----

const emailTypeName = "microsoft.graph.emailAuthenticationMethod"

func (a *API) emailMethod(c *call, u store.User) (store.Method, bool, error) {
	ms, err := a.activeMethods(c.ctx, c.tenant, u.ID)
	if err != nil {
		return store.Method{}, false, err
	}
	for _, m := range ms {
		if m.Kind == string(method.KindEmail) {
			return m, true, nil
		}
	}
	return store.Method{}, false, nil
}

func (a *API) emailFromPath(c *call, u store.User) (store.Method, error) {
	id := c.r.PathValue("methodId")
	if !strings.EqualFold(id, emailMethodID) {
		return store.Method{}, errMethodNotFound(id)
	}
	m, ok, err := a.emailMethod(c, u)
	if err != nil {
		return store.Method{}, err
	}
	if !ok {
		return store.Method{}, errMethodNotFound(id)
	}
	return m, nil
}

func (a *API) listEmailMethods(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	return a.listOfKind(c, u, method.KindEmail, "emailMethods", emailProps)
}

func (a *API) getEmailMethod(c *call) error {
	u, err := a.methodUser(c, false)
	if err != nil {
		return err
	}
	m, err := a.emailFromPath(c, u)
	if err != nil {
		return err
	}
	obj, err := a.typedJSON(c, m)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusOK, methodsPath(u, "emailMethods/$entity"), obj)
}

func (a *API) readEmailAddress(c *call) (string, error) {
	b, err := c.decode(a, emailTypeName, "emailAddress")
	if err != nil {
		return "", err
	}
	return b.requireStr("emailAddress")
}

func (a *API) createEmailMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	addr, err := a.readEmailAddress(c)
	if err != nil {
		return err
	}
	if _, exists, err := a.emailMethod(c, u); err != nil {
		return err
	} else if exists {
		return errConflict("The user already has an email method; update or delete it instead.")
	}
	m, err := a.SecurityInfo.SetEmail(c.ctx, c.actor, c.tenant, u.ID, addr)
	if err != nil {
		return conflictCode(err)
	}
	obj, err := a.typedJSON(c, m)
	if err != nil {
		return err
	}
	return a.entity(c, http.StatusCreated, methodsPath(u, "emailMethods/$entity"), obj)
}

func (a *API) updateEmailMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	if _, err := a.emailFromPath(c, u); err != nil {
		return err
	}
	addr, err := a.readEmailAddress(c)
	if err != nil {
		return err
	}
	if _, err := a.SecurityInfo.SetEmail(c.ctx, c.actor, c.tenant, u.ID, addr); err != nil {
		return conflictCode(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteEmailMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	m, err := a.emailFromPath(c, u)
	if err != nil {
		return err
	}
	return a.deleteMethod(c, u, m)
}

// ---- methods kept under their store ids ----

// kindFromPath reads {methodId} as one of the user's active methods of k.
func (a *API) kindFromPath(c *call, u store.User, k method.Kind) (store.Method, error) {
	id := c.r.PathValue("methodId")
	m, err := a.SecurityInfo.Method(c.ctx, c.tenant, u.ID, id)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Kind == apperr.NotFound {
			return store.Method{}, errMethodNotFound(id)
		}
		return store.Method{}, err
	}
	if m.Kind != string(k) || m.State != store.MethodActive {
		return store.Method{}, errMethodNotFound(id)
	}
	return m, nil
}

func (a *API) listKindMethods(k kindResource) handlerFunc {
	return func(c *call) error {
		u, err := a.methodUser(c, false)
		if err != nil {
			return err
		}
		return a.listOfKind(c, u, k.kind, k.segment, k.selectable)
	}
}

func (a *API) getKindMethod(k kindResource) handlerFunc {
	return func(c *call) error {
		u, err := a.methodUser(c, false)
		if err != nil {
			return err
		}
		m, err := a.kindFromPath(c, u, k.kind)
		if err != nil {
			return err
		}
		obj, err := a.typedJSON(c, m)
		if err != nil {
			return err
		}
		return a.entity(c, http.StatusOK, methodsPath(u, k.segment+"/$entity"), obj)
	}
}

func (a *API) deleteKindMethod(k kindResource) handlerFunc {
	return func(c *call) error {
		u, err := a.methodUser(c, true)
		if err != nil {
			return err
		}
		m, err := a.kindFromPath(c, u, k.kind)
		if err != nil {
			return err
		}
		return a.deleteMethod(c, u, m)
	}
}

// ---- Temporary Access Pass ----

func (a *API) createTAPMethod(c *call) error {
	u, err := a.methodUser(c, true)
	if err != nil {
		return err
	}
	var req securityinfo.TAPRequest
	if hasBody(c.r) {
		b, err := c.decode(a, "microsoft.graph.temporaryAccessPassAuthenticationMethod", "startDateTime", "lifetimeInMinutes", "isUsableOnce")
		if err != nil {
			return err
		}
		if s, err := b.str("startDateTime"); err != nil {
			return err
		} else if s != nil && *s != "" {
			t, perr := time.Parse(time.RFC3339Nano, *s)
			if perr != nil {
				return b.typeErr("startDateTime", "a date and time such as 2024-05-01T08:00:00Z")
			}
			req.StartsAt = &t
		}
		if raw, ok := b.fields["lifetimeInMinutes"]; ok && string(raw) != "null" {
			var n int
			if json.Unmarshal(raw, &n) != nil {
				return b.typeErr("lifetimeInMinutes", "an integer")
			}
			if n < securityinfo.TAPMinLifetime || n > securityinfo.TAPMaxLifetime {
				return apperr.Invalidf("The lifetime must be between %d and %d minutes.", securityinfo.TAPMinLifetime,
					securityinfo.TAPMaxLifetime).WithTarget("lifetimeInMinutes")
			}
			req.LifetimeMinutes = n
		}
		if req.UsableOnce, err = b.boolean("isUsableOnce"); err != nil {
			return err
		}
	}
	m, pass, err := a.SecurityInfo.IssueTAP(c.ctx, c.actor, c.tenant, u.ID, req)
	if err != nil {
		return conflictCode(err)
	}
	obj, err := a.typedJSON(c, m)
	if err != nil {
		return err
	}
	// The only time the pass is shown: only its hash is stored.
	obj["temporaryAccessPass"] = pass
	return a.entity(c, http.StatusCreated, methodsPath(u, "temporaryAccessPassMethods/$entity"), obj)
}
