package securityinfo

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// NormalizePhone parses a phone number written with its country code
// ("+46 701234567", "+46 70-123 45 67", "+1 4255550100x123") and returns
// it in E.164 (with ";ext=" when an extension is allowed and given) and in
// Graph's display form "+46 701234567x123".
func NormalizePhone(raw string, allowExtension bool) (e164, display string, err error) {
	bad := apperr.Invalidf("Enter the phone number with its country code, for example +46 701234567.").WithTarget("phoneNumber")
	raw = strings.TrimSpace(raw)
	if len(raw) > 64 || !strings.HasPrefix(raw, "+") {
		return "", "", bad
	}
	number, ext, _ := strings.Cut(raw, "x")
	if strings.ContainsFunc(number, func(c rune) bool { return !strings.ContainsRune("+0123456789 -()", c) }) {
		return "", "", bad
	}
	if ext != "" && (!allowExtension || len(ext) > 10 || strings.Trim(ext, "0123456789") != "") {
		return "", "", apperr.Invalidf("Only an office phone may have an extension, written as digits after an x.").WithTarget("phoneNumber")
	}
	n, perr := phonenumbers.Parse(number, "")
	if perr != nil || !phonenumbers.IsValidNumber(n) {
		return "", "", bad
	}
	e164 = phonenumbers.Format(n, phonenumbers.E164)
	display = fmt.Sprintf("+%d %s", n.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(n))
	if ext != "" {
		e164 += ";ext=" + ext
		display += "x" + ext
	}
	return e164, display, nil
}

// DisplayPhone turns a stored E.164 number back into Graph's form.
func DisplayPhone(e164 string) string {
	number, ext, _ := strings.Cut(e164, ";ext=")
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return e164
	}
	out := fmt.Sprintf("+%d %s", n.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(n))
	if ext != "" {
		out += "x" + ext
	}
	return out
}

func validateEmail(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || len(addr) > 254 {
		return apperr.Invalidf("Enter an email address such as anna@example.com.").WithTarget("emailAddress")
	}
	return nil
}

func phoneKey(userID, phoneType string) string { return "phone:" + userID + ":" + phoneType }
func emailKey(userID string) string            { return "email:" + userID }

// canManage allows a user to change their own security info, and an
// administrator with the right role another user's — an administrator's
// only with a privileged role (AuthorizeAdmin).
func (s *Service) canManage(ctx context.Context, actor directory.Actor, tenantID, userID string) error {
	if actor.UserID == userID && !actor.Operator {
		return nil
	}
	return s.AuthorizeAdmin(ctx, actor, tenantID, userID, true)
}

// AuthorizeAdmin checks an administrator's right to read (write=false) or
// change a user's methods. Changing an administrator's methods takes a
// Privileged Authentication Administrator (or Global Administrator, or an
// app with the permission): a helpdesk role must not be able to take over
// an admin account by resetting its second factor.
func (s *Service) AuthorizeAdmin(ctx context.Context, actor directory.Actor, tenantID, userID string, write bool) error {
	act := directory.ActionUserMethodsRead
	if write {
		act = directory.ActionUserMethodsWrite
	}
	if !directory.Allowed(actor, act) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	if !write || actor.Operator || directory.Allowed(actor, directory.ActionPrivilegedUserWrite) {
		return nil
	}
	roles, err := s.Store.EffectiveRoleIDs(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if directory.IsAdminRole(r) {
			return apperr.Forbiddenf("Insufficient privileges to complete the operation: the user holds an administrator role.")
		}
	}
	return nil
}

// SetPhone adds or replaces the user's phone of one type (mobile,
// alternateMobile, office). Callers verify the number first where the
// user registers it themselves.
func (s *Service) SetPhone(ctx context.Context, actor directory.Actor, tenantID, userID, phoneType, number string) (store.Method, error) {
	if err := s.canManage(ctx, actor, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	switch phoneType {
	case method.PhoneMobile, method.PhoneAlternateMobile, method.PhoneOffice:
	default:
		return store.Method{}, apperr.Invalidf("phoneType must be mobile, alternateMobile or office.").WithTarget("phoneType")
	}
	e164, display, err := NormalizePhone(number, phoneType == method.PhoneOffice)
	if err != nil {
		return store.Method{}, err
	}
	if actor.UserID == userID { // what users register themselves follows the policy
		if err := s.checkAllowed(ctx, tenantID, userID, method.KindPhone); err != nil {
			return store.Method{}, err
		}
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	var out store.Method
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		old, err := tx.MethodByUniqueKey(ctx, tenantID, phoneKey(userID, phoneType))
		switch {
		case err == nil:
			out, err = tx.UpdateMethod(ctx, tenantID, old.ID, func(m *store.Method) error {
				m.Props.PhoneNumber = e164
				return nil
			})
			if err != nil {
				return err
			}
			return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update phone method", Operation: "Update",
				Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("PhoneNumber", DisplayPhone(old.Props.PhoneNumber), display))}})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindPhone),
			DisplayName: phoneType + " phone", UniqueKey: phoneKey(userID, phoneType), CreatedAt: s.now(),
			Props: store.MethodProps{PhoneNumber: e164, PhoneType: phoneType}}
		if out, err = s.addActive(ctx, tx, m, false); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Add phone method", Operation: "Add",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("PhoneNumber", nil, display), audit.Prop("PhoneType", nil, phoneType))}})
	})
	return out, err
}

// SetEmail adds or replaces the user's email method (password reset only).
func (s *Service) SetEmail(ctx context.Context, actor directory.Actor, tenantID, userID, addr string) (store.Method, error) {
	if err := s.canManage(ctx, actor, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	if err := validateEmail(addr); err != nil {
		return store.Method{}, err
	}
	if actor.UserID == userID {
		if err := s.checkAllowed(ctx, tenantID, userID, method.KindEmail); err != nil {
			return store.Method{}, err
		}
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	var out store.Method
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		old, err := tx.MethodByUniqueKey(ctx, tenantID, emailKey(userID))
		switch {
		case err == nil:
			if out, err = tx.UpdateMethod(ctx, tenantID, old.ID, func(m *store.Method) error { m.Props.Email = addr; return nil }); err != nil {
				return err
			}
			return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update email method", Operation: "Update",
				Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("EmailAddress", old.Props.Email, addr))}})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindEmail), DisplayName: "Email",
			UniqueKey: emailKey(userID), CreatedAt: s.now(), Props: store.MethodProps{Email: addr}}
		if out, err = s.addActive(ctx, tx, m, false); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Add email method", Operation: "Add",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("EmailAddress", nil, addr))}})
	})
	return out, err
}
