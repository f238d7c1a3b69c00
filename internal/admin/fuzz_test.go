package admin_test

import (
	"strings"
	"testing"

	"github.com/vakt-id/vakt/internal/admin"
)

// FuzzParseUserCSV: any bytes give rows, row errors or an error — never a
// panic — and every row error carries a line number.
func FuzzParseUserCSV(f *testing.F) {
	f.Add(goodCSV)
	f.Add("userPrincipalName\n\"a@b.c\n")
	f.Add("userPrincipalName,accountEnabled\na@b.c,maybe\n,\n")
	f.Add("\ufeffUserPrincipalName;displayName\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, errs, err := admin.ParseUserCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, e := range errs {
			if e.Line < 1 {
				t.Fatalf("row error without a line: %+v", e)
			}
		}
		for _, r := range rows {
			if r.Line < 2 || r.User.UPN == "" {
				t.Fatalf("bad row: %+v", r)
			}
		}
	})
}
