package totp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzVerify(f *testing.F) {
	for _, s := range []string{"", "123456", "12345678", "12345a", "１２３４５６", "\x00\x00\x00\x00\x00\x00", "-12345", "999999999"} {
		f.Add(s, int64(1_700_000_000), int64(0), uint8(1), false)
	}
	secret := []byte("12345678901234567890")
	f.Fuzz(func(t *testing.T, code string, unix, lastStep int64, skew uint8, hardware bool) {
		p := AppParams()
		if hardware {
			p = Params{SHA512, 8, 60}
		}
		s := int(skew % (MaxSkew + 1))
		step, ok, err := Verify(secret, code, time.Unix(unix, 0), lastStep, s, p)

		wellFormed := len(code) == p.Digits && strings.Trim(code, "0123456789") == ""
		var fe *FormatError
		if !wellFormed {
			if ok || !errors.As(err, &fe) {
				t.Fatalf("Verify(%q) = %v, %v; want *FormatError", code, ok, err)
			}
			return
		}
		if errors.As(err, &fe) {
			t.Fatalf("Verify(%q): FormatError for a well-formed code", code)
		}
		if err != nil && !errors.Is(err, ErrReplay) {
			t.Fatalf("Verify(%q): unexpected error %v", code, err)
		}
		if ok {
			now := Step(time.Unix(unix, 0), p)
			if step <= lastStep || step < now-int64(s) || step > now+int64(s) || Code(secret, step, p) != code {
				t.Fatalf("accepted %q at step %d (now %d, last %d, skew %d)", code, step, now, lastStep, s)
			}
		}
	})
}

func FuzzParseHardwareCSV(f *testing.F) {
	const header = "upn,serial number,secret key,time interval,manufacturer,model"
	for _, s := range []string{
		"",
		header,
		header + "\na@x.com,1," + rfcB32 + ",30,V,M\n",
		header + ",algorithm,digits\na@x.com,1," + rfcB32 + ",60,V,M,SHA256,8\n,,,,,,,\n",
		header + "\n\"a,1,\"\"x\",30\n\n\nb,2,zz,60,V,M",
		"\ufeff" + header + "\r\na,1,1,1,1,1\r\na,1,1,1,1,1,1\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader(in))
		if err != nil {
			if tokens != nil || rowErrs != nil {
				t.Fatalf("file error %v with results", err)
			}
			return
		}
		for _, e := range rowErrs {
			if e.Line < 1 || e.Err == nil {
				t.Fatalf("row error %+v", e)
			}
		}
		for _, tok := range tokens {
			if tok.Line < 2 || tok.Serial == "" || len(tok.Secret) < MinSecretSize || tok.Params.Validate() != nil {
				t.Fatalf("bad token %+v", tok)
			}
		}
	})
}
