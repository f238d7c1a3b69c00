package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
)

// ImportColumns are the CSV columns `vakt user import` understands; only
// userPrincipalName is required. Column order is free.
var ImportColumns = []string{"userPrincipalName", "displayName", "password", "passwordHash", "mail", "mobilePhone", "accountEnabled"}

// MaxImportRows bounds one import file.
const MaxImportRows = 100_000

// ImportRow is one user of an import file.
type ImportRow struct {
	Line int
	User NewUser
}

// RowError is a problem with one line of an import file.
type RowError struct {
	Line    int    `json:"line"`
	UPN     string `json:"userPrincipalName,omitempty"`
	Message string `json:"error"`
}

func (e RowError) String() string {
	if e.UPN != "" {
		return fmt.Sprintf("line %d (%s): %s", e.Line, e.UPN, e.Message)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Message)
}

// ParseUserCSV reads an import file. Errors of single rows are returned as
// RowErrors; an unreadable file or header is an error.
func ParseUserCSV(r io.Reader) ([]ImportRow, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, apperr.Invalidf("line 1: the file is empty; expected a header with %s", strings.Join(ImportColumns, ","))
	}
	if err != nil {
		return nil, nil, apperr.Invalidf("line 1: %s", csvMessage(err))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		known := ""
		for _, c := range ImportColumns {
			if strings.EqualFold(c, h) {
				known = c
			}
		}
		if known == "" {
			return nil, nil, apperr.Invalidf("line 1: unknown column %q; columns are %s", h, strings.Join(ImportColumns, ","))
		}
		if _, dup := col[known]; dup {
			return nil, nil, apperr.Invalidf("line 1: column %q appears twice", known)
		}
		col[known] = i
	}
	if _, ok := col["userPrincipalName"]; !ok {
		return nil, nil, apperr.Invalidf("line 1: the header must include userPrincipalName")
	}
	var rows []ImportRow
	var errs []RowError
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, RowError{Line: pe.Line, Message: csvMessage(err)})
				if pe.Err == csv.ErrFieldCount {
					continue
				}
				return rows, errs, nil // the rest of the file cannot be trusted
			}
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0) // only valid after a successful Read
		if len(rows)+len(errs) >= MaxImportRows {
			return nil, nil, apperr.Invalidf("line %d: an import file holds at most %d users", line, MaxImportRows)
		}
		if len(rec) != len(header) {
			errs = append(errs, RowError{Line: line, Message: fmt.Sprintf("expected %d fields, found %d", len(header), len(rec))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := NewUser{UPN: get("userPrincipalName"), DisplayName: get("displayName"),
			PasswordHash: get("passwordHash"), Mail: get("mail"), MobilePhone: get("mobilePhone")}
		if i, ok := col["password"]; ok {
			u.Password = rec[i] // not trimmed: spaces are part of a password
		}
		if v := get("accountEnabled"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, RowError{Line: line, UPN: u.UPN, Message: fmt.Sprintf("accountEnabled must be true or false, not %q", v)})
				continue
			}
			u.AccountEnabled = &b
		}
		if u.UPN == "" {
			errs = append(errs, RowError{Line: line, Message: "userPrincipalName is empty"})
			continue
		}
		rows = append(rows, ImportRow{Line: line, User: u})
	}
	return rows, errs, nil
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ImportOptions tune ImportUsers.
type ImportOptions struct {
	// ContinueOnError imports the good rows even when others are bad.
	// Without it a single bad row means nothing is written.
	ContinueOnError bool
	// Progress is called as rows are checked (hashing passwords is the
	// slow part) and once more when the write is done.
	Progress func(done, total int)
}

// ImportReport says what an import did.
type ImportReport struct {
	Total    int        `json:"total"`
	Imported int        `json:"imported"`
	Errors   []RowError `json:"errors"`
}

// ImportUsers validates every row first (UPN, domain, duplicates within
// the file and in the directory, password rules), then writes all good
// rows and their audit entries in one transaction.
func (s *Service) ImportUsers(ctx context.Context, actor directory.Actor, tenantID string, rows []ImportRow, parseErrs []RowError, opt ImportOptions) (ImportReport, error) {
	rep := ImportReport{Total: len(rows) + len(parseErrs), Errors: append([]RowError{}, parseErrs...)}
	if err := authorize(actor, directory.ActionUserWrite); err != nil {
		return rep, err
	}
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return rep, err
	}
	prepared := make([]store.User, len(rows))
	rowErr := make([]string, len(rows))
	seen := map[string]int{}
	for i, r := range rows {
		k := strings.ToLower(r.User.UPN)
		if first, dup := seen[k]; dup {
			rowErr[i] = fmt.Sprintf("duplicate of line %d", rows[first].Line)
			continue
		}
		seen[k] = i
		if _, err := s.Store.UserByUPN(ctx, tenantID, r.User.UPN); err == nil {
			rowErr[i] = "a user with this userPrincipalName already exists"
		} else if !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
	}
	// Hash in parallel; the hasher itself bounds memory.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	done := 0
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				u, err := s.prepareUser(ctx, t, rows[i].User)
				mu.Lock()
				if ae, ok := apperr.As(err); ok {
					rowErr[i] = ae.Message
				} else if err != nil && firstErr == nil {
					firstErr = err
				}
				prepared[i] = u
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(rows))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range rows {
		if rowErr[i] != "" {
			mu.Lock()
			done++
			mu.Unlock()
			continue
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return rep, firstErr
	}
	for i, msg := range rowErr {
		if msg != "" {
			rep.Errors = append(rep.Errors, RowError{Line: rows[i].Line, UPN: rows[i].User.UPN, Message: msg})
		}
	}
	slices.SortStableFunc(rep.Errors, func(a, b RowError) int { return a.Line - b.Line })
	if len(rep.Errors) > 0 && !opt.ContinueOnError {
		return rep, nil
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		n := 0
		for i, u := range prepared {
			if rowErr[i] != "" {
				continue
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return apperr.FromStore(err, fmt.Sprintf("line %d: the user %s", rows[i].Line, u.UPN))
			}
			e := s.auditEntry(ctx, actor, tenantID, "Add user", "UserManagement", "Add",
				userTarget(u, prop("DisplayName", nil, u.DisplayName), prop("UserPrincipalName", nil, u.UPN)))
			e.AdditionalDetails["source"] = "bulk import"
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
			n++
		}
		rep.Imported = n
		return nil
	})
	if err != nil {
		rep.Imported = 0
		return rep, err
	}
	if opt.Progress != nil {
		opt.Progress(len(rows), len(rows))
	}
	return rep, nil
}
