package totp

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// HardwareToken is one valid row of a hardware OATH token CSV.
type HardwareToken struct {
	Line         int    // line of the row in the file (the header is line 1)
	UPN          string // may be empty: the token is not assigned yet
	Serial       string
	Secret       []byte
	Params       Params
	Manufacturer string
	Model        string
}

// MaxSerialLength is the longest serial number accepted, in characters.
const MaxSerialLength = 64

// Errors wrapped by ParseHardwareCSV's errors, for callers that classify
// them. Secret errors wrap ErrInvalidSecret or ErrSecretTooShort.
var (
	ErrHeader          = errors.New("wrong header")
	ErrFieldCount      = errors.New("wrong number of fields")
	ErrMalformedRow    = errors.New("malformed CSV")
	ErrEmptySerial     = errors.New("serial number is empty")
	ErrSerialTooLong   = errors.New("serial number is too long")
	ErrDuplicateSerial = errors.New("duplicate serial number")
	ErrInterval        = errors.New("time interval must be 30 or 60")
	ErrAlgorithm       = errors.New("algorithm must be SHA1, SHA256 or SHA512")
	ErrDigits          = errors.New("digits must be 6 or 8")
)

// RowError is a problem with one row of the CSV. Its message names the line
// and column but never contains a secret.
type RowError struct {
	Line   int    // 1-based line in the file
	Column string // header name of the column at fault; "" for the whole row
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// The columns of the file. The first six are required in this order; the
// optional ones may follow in any order.
var (
	hardwareColumns = []string{"upn", "serial number", "secret key", "time interval", "manufacturer", "model"}
	optionalColumns = []string{"algorithm", "digits"}
)

// ParseHardwareCSV reads an administrator's hardware token file
// (graph-api.md §4) with the header
//
//	upn,serial number,secret key,time interval,manufacturer,model
//
// matched without regard to case or surrounding spaces, optionally followed
// by "algorithm" (default SHA1) and "digits" (default 6) columns. It returns
// the valid tokens and one RowError per problem found in the other rows
// (a row may have several); rows whose fields are all empty, as spreadsheets
// leave behind, are skipped. The error is for the file as a whole: a wrong
// or missing header, or a read failure.
func ParseHardwareCSV(r io.Reader) ([]HardwareToken, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, to report the line and go on
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("line 1: %w: the file is empty", ErrHeader)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("line 1: %w: %w", ErrHeader, err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, nil, fmt.Errorf("line 1: %w", err)
	}

	var (
		tokens  []HardwareToken
		rowErrs []RowError
		serials = map[string]int{} // folded serial → first line
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("reading hardware token CSV: %w", err)
			}
			// encoding/csv resumes after a malformed record.
			rowErrs = append(rowErrs, RowError{Line: max(pe.StartLine, 1), Err: fmt.Errorf("%w: %w", ErrMalformedRow, pe.Err)})
			continue
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		tok, errs := parseRow(rec, line, cols, serials)
		if len(errs) > 0 {
			rowErrs = append(rowErrs, errs...)
			continue
		}
		tokens = append(tokens, tok)
	}
	return tokens, rowErrs, nil
}

// hardwareHeader says where the optional columns are; -1 when absent.
type hardwareHeader struct {
	n                int
	algorithm, digit int
}

func parseHeader(rec []string) (hardwareHeader, error) {
	h := hardwareHeader{n: len(rec), algorithm: -1, digit: -1}
	want := strings.Join(hardwareColumns, ",")
	if len(rec) < len(hardwareColumns) {
		return h, fmt.Errorf("%w: want %q (then optionally algorithm, digits)", ErrHeader, want)
	}
	for i, name := range hardwareColumns {
		if got := fold(rec[i]); got != name {
			return h, fmt.Errorf("%w: column %d is %q, want %q; the header must be %q (then optionally algorithm, digits)", ErrHeader, i+1, got, name, want)
		}
	}
	for i := len(hardwareColumns); i < len(rec); i++ {
		switch name := fold(rec[i]); {
		case name == "algorithm" && h.algorithm < 0:
			h.algorithm = i
		case name == "digits" && h.digit < 0:
			h.digit = i
		default:
			return h, fmt.Errorf("%w: unexpected or repeated column %q (only %s may follow %q)", ErrHeader, name, strings.Join(optionalColumns, " and "), want)
		}
	}
	return h, nil
}

func fold(s string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))) // Excel writes a BOM
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseRow(rec []string, line int, h hardwareHeader, serials map[string]int) (HardwareToken, []RowError) {
	var errs []RowError
	fail := func(col string, err error) { errs = append(errs, RowError{Line: line, Column: col, Err: err}) }
	if len(rec) != h.n {
		fail("", fmt.Errorf("%w: %d, want %d", ErrFieldCount, len(rec), h.n))
		return HardwareToken{}, errs
	}
	field := func(i int) string { return strings.TrimSpace(rec[i]) }
	tok := HardwareToken{
		Line:         line,
		UPN:          field(0),
		Serial:       field(1),
		Manufacturer: field(4),
		Model:        field(5),
		Params:       Params{Algorithm: SHA1, Digits: 6},
	}

	switch n := utf8.RuneCountInString(tok.Serial); {
	case n == 0:
		fail("serial number", ErrEmptySerial)
	case n > MaxSerialLength:
		fail("serial number", fmt.Errorf("%w: %d characters, at most %d", ErrSerialTooLong, n, MaxSerialLength))
	default:
		// Serials are compared without case: two tokens whose serials
		// differ only in case are almost surely one token listed twice.
		key := strings.ToLower(tok.Serial)
		if first, dup := serials[key]; dup {
			fail("serial number", fmt.Errorf("%w: %q is also on line %d", ErrDuplicateSerial, tok.Serial, first))
		} else {
			serials[key] = line
		}
	}

	secret, err := DecodeSecret(rec[2])
	if err != nil {
		fail("secret key", err)
	}
	tok.Secret = secret

	switch field(3) {
	case "30":
		tok.Params.Period = 30
	case "60":
		tok.Params.Period = 60
	default:
		fail("time interval", fmt.Errorf("%w, got %q", ErrInterval, clip(field(3))))
	}

	if h.algorithm >= 0 {
		if v := field(h.algorithm); v != "" {
			// Accept the spellings vendors use: sha256, SHA-256, HmacSHA256.
			alg := strings.ToUpper(strings.ReplaceAll(v, "-", ""))
			alg = strings.TrimPrefix(alg, "HMAC")
			if newHash(alg) == nil {
				fail("algorithm", fmt.Errorf("%w, got %q", ErrAlgorithm, clip(v)))
			} else {
				tok.Params.Algorithm = alg
			}
		}
	}
	if h.digit >= 0 {
		switch v := field(h.digit); v {
		case "", "6":
		case "8":
			tok.Params.Digits = 8
		default:
			fail("digits", fmt.Errorf("%w, got %q", ErrDigits, clip(v)))
		}
	}
	return tok, errs
}

// clip shortens a bad value quoted back in an error message, so that a
// stray secret or a huge field does not end up in a report or log whole.
func clip(s string) string {
	const n = 16
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
