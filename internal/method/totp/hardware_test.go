package totp

import (
	"errors"
	"io"
	"strings"
	"testing"
)

const rfcB32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"

func TestParseHardwareCSVValid(t *testing.T) {
	in := "\ufeffUPN, Serial Number ,SECRET KEY,Time Interval,Manufacturer,Model\r\n" +
		"alice@contoso.com,1234567,GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ,30,Contoso,Token 1\r\n" +
		",2234567,gezdgnbvgy3tqojqgezdgnbvgy3tqojq,60,Contoso,Token 2\r\n" +
		",,,,,\r\n" + // spreadsheet filler, skipped
		"\"bob@contoso.com\",\"multi\nline\",NBSWY3DPEB3W64TMMQ======,30,\"Acme, Inc.\",X\r\n"
	tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader(in))
	if err != nil || len(rowErrs) != 0 {
		t.Fatalf("err %v, row errors %v", err, rowErrs)
	}
	want := []HardwareToken{
		{Line: 2, UPN: "alice@contoso.com", Serial: "1234567", Secret: []byte("12345678901234567890"), Params: AppParams(), Manufacturer: "Contoso", Model: "Token 1"},
		{Line: 3, UPN: "", Serial: "2234567", Secret: []byte("12345678901234567890"), Params: Params{SHA1, 6, 60}, Manufacturer: "Contoso", Model: "Token 2"},
		{Line: 5, UPN: "bob@contoso.com", Serial: "multi\nline", Secret: []byte("hello world"), Params: AppParams(), Manufacturer: "Acme, Inc.", Model: "X"},
	}
	if len(tokens) != len(want) {
		t.Fatalf("%d tokens, want %d: %+v", len(tokens), len(want), tokens)
	}
	for i := range want {
		g, w := tokens[i], want[i]
		if g.Line != w.Line || g.UPN != w.UPN || g.Serial != w.Serial || string(g.Secret) != string(w.Secret) ||
			g.Params != w.Params || g.Manufacturer != w.Manufacturer || g.Model != w.Model {
			t.Errorf("token %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseHardwareCSVOptionalColumns(t *testing.T) {
	in := "upn,serial number,secret key,time interval,manufacturer,model,Digits,Algorithm\n" +
		"a@x.com,1,JBSWY3DPEHPK3PXP,60,V,M,8,sha256\n" +
		"a@x.com,2,JBSWY3DPEHPK3PXP,30,V,M,,\n" +
		"a@x.com,3,JBSWY3DPEHPK3PXP,30,V,M,6,HmacSHA-512\n" +
		"a@x.com,4,JBSWY3DPEHPK3PXP,30,V,M,7,MD5\n"
	tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 3 {
		t.Fatalf("tokens %+v", tokens)
	}
	for i, p := range []Params{{SHA256, 8, 60}, {SHA1, 6, 30}, {SHA512, 6, 30}} {
		if tokens[i].Params != p {
			t.Errorf("token %d params %+v, want %+v", i, tokens[i].Params, p)
		}
		if err := tokens[i].Params.Validate(); err != nil {
			t.Error(err)
		}
	}
	if len(rowErrs) != 2 || !errors.Is(&rowErrs[0], ErrAlgorithm) || !errors.Is(&rowErrs[1], ErrDigits) || rowErrs[0].Line != 5 {
		t.Errorf("row errors %v", rowErrs)
	}
}

func TestParseHardwareCSVRowErrors(t *testing.T) {
	long := strings.Repeat("9", MaxSerialLength+1)
	in := "upn,serial number,secret key,time interval,manufacturer,model\n" +
		"a@x.com,100,NOT*BASE32,30,V,M\n" + // 2: bad Base32
		"a@x.com,101,GEZDGNBVGY3TQ,30,V,M\n" + // 3: 64-bit secret
		"a@x.com,102," + rfcB32 + ",45,V,M\n" + // 4: interval
		"a@x.com,  ," + rfcB32 + ",30,V,M\n" + // 5: empty serial
		"a@x.com,200," + rfcB32 + ",30,V,M\n" + // 6: fine
		"b@x.com,200," + rfcB32 + ",60,V,M\n" + // 7: duplicate of 6
		"a@x.com," + long + "," + rfcB32 + ",30,V,M\n" + // 8: serial too long
		"a@x.com,300," + rfcB32 + ",30,V\n" + // 9: too few fields
		"a@x.com,301,,x,V,M\n" + // 10: empty secret and bad interval
		"a@x.com,302,\"unterminated,30,V,M\n" // 11: malformed quotes to EOF
	tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].Serial != "200" || tokens[0].Line != 6 {
		t.Errorf("tokens %+v", tokens)
	}
	want := []struct {
		line   int
		column string
		err    error
	}{
		{2, "secret key", ErrInvalidSecret},
		{3, "secret key", ErrSecretTooShort},
		{4, "time interval", ErrInterval},
		{5, "serial number", ErrEmptySerial},
		{7, "serial number", ErrDuplicateSerial},
		{8, "serial number", ErrSerialTooLong},
		{9, "", ErrFieldCount},
		{10, "secret key", ErrInvalidSecret},
		{10, "time interval", ErrInterval},
		{11, "", ErrMalformedRow},
	}
	if len(rowErrs) != len(want) {
		t.Fatalf("%d row errors, want %d: %v", len(rowErrs), len(want), rowErrs)
	}
	for i, w := range want {
		g := rowErrs[i]
		if g.Line != w.line || g.Column != w.column || !errors.Is(&g, w.err) {
			t.Errorf("row error %d = %v (line %d column %q), want line %d column %q %v", i, g.Error(), g.Line, g.Column, w.line, w.column, w.err)
		}
	}
	if msg := rowErrs[4].Error(); !strings.Contains(msg, "line 7") || !strings.Contains(msg, "line 6") {
		t.Errorf("duplicate message %q should name both lines", msg)
	}
	for _, e := range rowErrs {
		if strings.Contains(e.Error(), rfcB32) {
			t.Errorf("row error %q shows a secret", e.Error())
		}
	}
}

func TestParseHardwareCSVHeader(t *testing.T) {
	for _, in := range []string{
		"",
		"\n\n",
		"upn,serial number,secret key,time interval,manufacturer\n",
		"serial number,upn,secret key,time interval,manufacturer,model\n",
		"upn,serial,secret key,time interval,manufacturer,model\n",
		"upn,serial number,secret key,time interval,manufacturer,model,notes\n",
		"upn,serial number,secret key,time interval,manufacturer,model,digits,digits\n",
		"upn;serial number;secret key;time interval;manufacturer;model\n",
		"\"upn,serial number\n",
	} {
		tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader(in))
		if !errors.Is(err, ErrHeader) || !strings.HasPrefix(err.Error(), "line 1: ") || tokens != nil || rowErrs != nil {
			t.Errorf("header %q: err %v", in, err)
		}
	}
	// A header alone is a valid, empty file.
	tokens, rowErrs, err := ParseHardwareCSV(strings.NewReader("upn,serial number,secret key,time interval,manufacturer,model"))
	if err != nil || len(tokens) != 0 || len(rowErrs) != 0 {
		t.Errorf("header only: %v %v %v", tokens, rowErrs, err)
	}
}

type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("disk on fire")
	}
	return n, err
}

func TestParseHardwareCSVReadError(t *testing.T) {
	in := "upn,serial number,secret key,time interval,manufacturer,model\na@x.com,1," + rfcB32 + ",30,V,M\n"
	_, _, err := ParseHardwareCSV(failingReader{strings.NewReader(in)})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err %v, want the read error", err)
	}
}
