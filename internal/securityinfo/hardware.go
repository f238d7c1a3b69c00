package securityinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/method/totp"
	"github.com/vakt-id/vakt/internal/store"
)

// TokenRowError is a problem with one line of a hardware token file.
type TokenRowError struct {
	Line    int    `json:"line"`
	Serial  string `json:"serialNumber,omitempty"`
	Message string `json:"error"`
}

func (e TokenRowError) String() string {
	if e.Serial != "" {
		return fmt.Sprintf("line %d (%s): %s", e.Line, e.Serial, e.Message)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Message)
}

// TokenImportReport says what an import did.
type TokenImportReport struct {
	Total    int             `json:"total"`
	Imported int             `json:"imported"`
	Assigned int             `json:"assigned"`
	Errors   []TokenRowError `json:"errors"`
}

func serialKey(serial string) string { return "serial:" + strings.ToLower(serial) }

// ImportHardwareTokens reads the administrator's token file (graph-api.md
// §4 format), checks every row (serials not already known, UPNs of this
// tenant), and then stores all tokens — or, with a bad row and without
// continueOnError, none. Tokens with a UPN are assigned to that user and
// wait for activation with a code; the others wait unassigned.
func (s *Service) ImportHardwareTokens(ctx context.Context, actor directory.Actor, tenantID string, r io.Reader, continueOnError bool) (TokenImportReport, error) {
	var rep TokenImportReport
	if !directory.Allowed(actor, directory.ActionUserMethodsWrite) {
		return rep, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	tokens, rowErrs, err := totp.ParseHardwareCSV(r)
	if err != nil {
		return rep, apperr.Invalidf("%s", err.Error()).WithCause(err)
	}
	badLines := map[int]bool{}
	for _, e := range rowErrs {
		msg := e.Err.Error()
		if e.Column != "" {
			msg = e.Column + ": " + msg
		}
		rep.Errors = append(rep.Errors, TokenRowError{Line: e.Line, Message: msg})
		badLines[e.Line] = true
	}
	rep.Total = len(tokens) + len(badLines)
	type row struct {
		tok  totp.HardwareToken
		user store.User
	}
	var good []row
	for _, t := range tokens {
		var u store.User
		if t.UPN != "" {
			if u, err = s.Store.UserByUPN(ctx, tenantID, t.UPN); errors.Is(err, store.ErrNotFound) {
				rep.Errors = append(rep.Errors, TokenRowError{Line: t.Line, Serial: t.Serial, Message: "no user " + t.UPN + " in this tenant"})
				continue
			} else if err != nil {
				return rep, err
			}
		}
		if _, err := s.Store.MethodByUniqueKey(ctx, tenantID, serialKey(t.Serial)); err == nil {
			rep.Errors = append(rep.Errors, TokenRowError{Line: t.Line, Serial: t.Serial, Message: "a token with this serial number is already imported"})
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
		good = append(good, row{t, u})
	}
	slices.SortStableFunc(rep.Errors, func(a, b TokenRowError) int { return a.Line - b.Line })
	if len(rep.Errors) > 0 && !continueOnError {
		return rep, nil
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		for _, g := range good {
			m := store.Method{ID: newID(), TenantID: tenantID, UserID: g.user.ID, Kind: string(method.KindHardwareOath),
				State: store.MethodUnassigned, DisplayName: strings.TrimSpace(g.tok.Manufacturer + " " + g.tok.Model),
				UniqueKey: serialKey(g.tok.Serial), CreatedAt: s.now(),
				Props: store.MethodProps{Serial: g.tok.Serial, Manufacturer: g.tok.Manufacturer, Model: g.tok.Model,
					Algorithm: g.tok.Params.Algorithm, Digits: g.tok.Params.Digits, Period: g.tok.Params.Period}}
			if m.DisplayName == "" {
				m.DisplayName = "Hardware token " + g.tok.Serial
			}
			if g.user.ID != "" {
				m.State = store.MethodAssigned
				rep.Assigned++
			}
			sealed, err := s.Keys.Seal(g.tok.Secret, aad(tenantID, m.ID))
			if err != nil {
				return err
			}
			m.Secret = sealed
			if err := tx.CreateMethod(ctx, m); err != nil {
				return apperr.FromStore(err, fmt.Sprintf("line %d: the token %s", g.tok.Line, g.tok.Serial))
			}
			targets := []store.AuditTarget{{ID: m.ID, DisplayName: m.DisplayName, Type: "HardwareOathToken",
				ModifiedProperties: []store.ModifiedProperty{audit.Prop("SerialNumber", nil, g.tok.Serial)}}}
			if g.user.ID != "" {
				targets = append(targets, audit.UserTarget(g.user))
			}
			if err := s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Import hardware OATH token", Operation: "Add", Targets: targets}); err != nil {
				return err
			}
			rep.Imported++
		}
		return nil
	})
	if err != nil {
		rep.Imported, rep.Assigned = 0, 0
	}
	return rep, err
}

// ActivateHardwareToken activates a token for a user with a current code.
// A token assigned to the user is activated; an unassigned one is
// assigned and activated in one step. Activation counts toward the five
// authenticators (P-2.1).
func (s *Service) ActivateHardwareToken(ctx context.Context, actor directory.Actor, tenantID, userID, serial, code string) (store.Method, error) {
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	self := actor.UserID == userID
	if !self && !directory.Allowed(actor, directory.ActionUserMethodsWrite) {
		return store.Method{}, apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	if err := s.checkAllowed(ctx, tenantID, userID, method.KindHardwareOath); err != nil {
		return store.Method{}, err
	}
	notFound := apperr.NotFoundf("No hardware token with serial number %q is waiting for activation by this user.", serial)
	m, err := s.Store.MethodByUniqueKey(ctx, tenantID, serialKey(serial))
	if errors.Is(err, store.ErrNotFound) {
		return store.Method{}, notFound
	}
	if err != nil {
		return store.Method{}, err
	}
	switch {
	case m.Kind != string(method.KindHardwareOath):
		return store.Method{}, notFound
	case m.State == store.MethodAssigned && m.UserID == userID, m.State == store.MethodUnassigned:
	case m.State == store.MethodActive && m.UserID == userID:
		return store.Method{}, apperr.Conflictf("The token is already active for this user.")
	default:
		return store.Method{}, notFound
	}
	if err := s.checkFailures(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	step, err := s.verifyTOTP(m, code)
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return store.Method{}, s.failed(ctx, tenantID, userID, err)
		}
		return store.Method{}, err
	}
	var out store.Method
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockUser(ctx, tenantID, userID); err != nil {
			return err
		}
		existing, err := tx.ListMethods(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		regs := registered(existing, s.now())
		if err := method.CheckAuthenticatorLimit(regs, method.KindHardwareOath); err != nil {
			var le *method.LimitError
			if errors.As(err, &le) {
				return &apperr.Error{Kind: apperr.Conflict, Code: "authenticatorLimitReached", Message: le.Message("en"), Err: err}
			}
			return err
		}
		out, err = tx.UpdateMethod(ctx, tenantID, m.ID, func(cur *store.Method) error {
			if cur.State != m.State || cur.UserID != m.UserID {
				return apperr.Conflictf("The token changed while it was being activated; try again.")
			}
			cur.UserID, cur.State = userID, store.MethodActive
			return nil
		})
		if err != nil {
			return err
		}
		won, err := tx.AdvanceStep(ctx, tenantID, m.ID, step, s.now())
		if err != nil {
			return err
		}
		if !won {
			return errReplayed()
		}
		if err := s.applyDefault(ctx, tx, out, regs, false); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Activate hardware OATH token", Operation: "Update",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("HardwareOathToken", nil, m.Props.Serial))}})
	})
	return out, err
}
