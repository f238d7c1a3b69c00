package totp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// RFC 4226 Appendix D.
func TestHOTPRFC4226Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for count, w := range want {
		if got := Code(secret, int64(count), AppParams()); got != w {
			t.Errorf("HOTP count %d = %s, want %s", count, got, w)
		}
	}
}

// RFC 6238 Appendix B, each algorithm with its own seed, 8 digits, 30 s.
func TestTOTPRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		SHA1:   []byte("12345678901234567890"),
		SHA256: []byte("12345678901234567890123456789012"),
		SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	tests := []struct {
		unix                 int64
		step                 int64
		sha1, sha256, sha512 string
	}{
		{59, 0x1, "94287082", "46119246", "90693936"},
		{1111111109, 0x23523EC, "07081804", "68084774", "25091201"},
		{1111111111, 0x23523ED, "14050471", "67062674", "99943326"},
		{1234567890, 0x273EF07, "89005924", "91819424", "93441116"},
		{2000000000, 0x3F940AA, "69279037", "90698825", "38618901"},
		{20000000000, 0x27BC86AA, "65353130", "77737706", "47863826"},
	}
	for _, tt := range tests {
		now := time.Unix(tt.unix, 0).UTC()
		for alg, want := range map[string]string{SHA1: tt.sha1, SHA256: tt.sha256, SHA512: tt.sha512} {
			p := Params{Algorithm: alg, Digits: 8, Period: 30}
			if got := Step(now, p); got != tt.step {
				t.Errorf("Step(%d) = %#x, want %#x", tt.unix, got, tt.step)
			}
			if got := Code(seeds[alg], Step(now, p), p); got != want {
				t.Errorf("%s at %d = %s, want %s", alg, tt.unix, got, want)
			}
			step, ok, err := Verify(seeds[alg], want, now, 0, 0, p)
			if err != nil || !ok || step != tt.step {
				t.Errorf("Verify %s at %d = %d, %v, %v; want %d, true, nil", alg, tt.unix, step, ok, err, tt.step)
			}
		}
	}
}

func TestStep(t *testing.T) {
	p30, p60 := AppParams(), Params{Algorithm: SHA1, Digits: 6, Period: 60}
	tests := []struct {
		unix int64
		p    Params
		want int64
	}{
		{0, p30, 0},
		{29, p30, 0},
		{30, p30, 1},
		{59, p60, 0},
		{60, p60, 1},
		{-1, p30, -1},
		{-30, p30, -1},
		{-31, p30, -2},
		{90, Params{}, 3}, // no period: RFC default 30
	}
	for _, tt := range tests {
		if got := Step(time.Unix(tt.unix, 0), tt.p); got != tt.want {
			t.Errorf("Step(%d, %d s) = %d, want %d", tt.unix, tt.p.Period, got, tt.want)
		}
	}
	// Sub-second parts do not move the step.
	if Step(time.Unix(29, 999_999_999), p30) != 0 {
		t.Error("Step rounds up sub-second times")
	}
}

func TestParamsValidate(t *testing.T) {
	for _, p := range []Params{
		AppParams(),
		{SHA1, 8, 60}, {SHA256, 6, 30}, {SHA256, 8, 60}, {SHA512, 6, 60}, {SHA512, 8, 30},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, p := range []Params{
		{}, {"MD5", 6, 30}, {"sha1", 6, 30}, {SHA1, 7, 30}, {SHA1, 10, 30}, {SHA1, 6, 45}, {SHA1, 6, 0}, {SHA1, 0, 30},
	} {
		err := p.Validate()
		if !errors.Is(err, ErrParams) {
			t.Errorf("%+v: error %v, want ErrParams", p, err)
		}
		if Code([]byte("12345678901234567890"), 1, p) != "" {
			t.Errorf("Code with %+v not empty", p)
		}
		if _, _, err := Verify([]byte("12345678901234567890"), "123456", time.Unix(1e9, 0), 0, 1, p); !errors.Is(err, ErrParams) {
			t.Errorf("Verify with %+v: error %v, want ErrParams", p, err)
		}
	}
	if AppParams() != (Params{Algorithm: "SHA1", Digits: 6, Period: 30}) {
		t.Errorf("AppParams() = %+v", AppParams())
	}
}

func TestVerifyFormat(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		code string
		p    Params
	}{
		{"", AppParams()},
		{"12345", AppParams()},
		{"1234567", AppParams()},
		{"12345a", AppParams()},
		{"123 456", AppParams()},
		{" 123456", AppParams()},
		{"-12345", AppParams()},
		{"１２３４５６", AppParams()}, // full-width digits are not ASCII
		{"12345678", AppParams()},
		{"123456", Params{SHA256, 8, 60}},
	} {
		_, ok, err := Verify(secret, tt.code, now, 0, 1, tt.p)
		var fe *FormatError
		if ok || !errors.As(err, &fe) {
			t.Errorf("Verify(%q) = %v, %v; want *FormatError", tt.code, ok, err)
			continue
		}
		if want := "The code must be " + string(rune('0'+tt.p.Digits)) + " digits."; err.Error() != want {
			t.Errorf("message %q, want %q", err.Error(), want)
		}
	}
}

func TestVerifyWindowAndReplay(t *testing.T) {
	secret := []byte("12345678901234567890")
	p := AppParams()
	now := time.Unix(1_700_000_015, 0)
	cur := Step(now, p)
	at := func(d int64) string { return Code(secret, cur+d, p) }
	// A code that matches no step near now (picked, not assumed).
	wrong := ""
	for i := 0; wrong == ""; i++ {
		c := fmt.Sprintf("%06d", i)
		if c != at(-2) && c != at(-1) && c != at(0) && c != at(1) && c != at(2) {
			wrong = c
		}
	}

	tests := []struct {
		name     string
		code     string
		lastStep int64
		skew     int
		wantStep int64
		wantOK   bool
		wantErr  error
	}{
		{"current step accepted", at(0), 0, 1, cur, true, nil},
		{"previous step accepted with skew 1", at(-1), 0, 1, cur - 1, true, nil},
		{"next step accepted with skew 1", at(1), 0, 1, cur + 1, true, nil},
		{"two steps back refused with skew 1", at(-2), 0, 1, 0, false, nil},
		{"two steps ahead refused with skew 1", at(2), 0, 1, 0, false, nil},
		{"previous step refused with skew 0", at(-1), 0, 0, 0, false, nil},
		{"two steps back accepted with skew 2", at(-2), 0, 2, cur - 2, true, nil},
		{"same code again is a replay", at(0), cur, 1, 0, false, ErrReplay},
		{"older code after a newer one is a replay", at(-1), cur, 1, 0, false, ErrReplay},
		{"next code after the current one is accepted", at(1), cur, 1, cur + 1, true, nil},
		{"wrong code refused without replay", wrong, 0, 1, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok, err := Verify(secret, tt.code, now, tt.lastStep, tt.skew, p)
			if step != tt.wantStep || ok != tt.wantOK || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %d, %v, %v; want %d, %v, %v", step, ok, err, tt.wantStep, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestVerifyArguments(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	if _, _, err := Verify(nil, "123456", now, 0, 1, AppParams()); err == nil {
		t.Error("empty secret accepted")
	}
	for _, skew := range []int{-1, MaxSkew + 1} {
		if _, _, err := Verify([]byte("12345678901234567890"), "123456", now, 0, skew, AppParams()); err == nil {
			t.Errorf("skew %d accepted", skew)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if len(a) != 20 || string(a) == string(b) {
		t.Fatalf("NewSecret: len %d, distinct %v", len(a), string(a) != string(b))
	}
	enc := EncodeSecret(a)
	if len(enc) != 32 || strings.ContainsAny(enc, "= ") {
		t.Errorf("EncodeSecret = %q", enc)
	}
	if got, err := DecodeSecret(enc); err != nil || string(got) != string(a) {
		t.Errorf("round trip: %v", err)
	}
	if got := EncodeSecret([]byte("12345678901234567890")); got != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("EncodeSecret(RFC seed) = %s", got)
	}
}

func TestDecodeSecret(t *testing.T) {
	const rfc = "12345678901234567890"
	for _, in := range []string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
		"GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
		" gezd\tGNBV gy3t QOJQ gezd GNBV gy3t QOJQ ",
	} {
		if got, err := DecodeSecret(in); err != nil || string(got) != rfc {
			t.Errorf("DecodeSecret(%q) = %q, %v", in, got, err)
		}
	}
	// 11 bytes needs padding in standard Base32: accept with and without.
	eleven := []byte("hello world")
	padded := "NBSWY3DPEB3W64TMMQ======"
	for _, in := range []string{padded, strings.TrimRight(padded, "="), strings.ToLower(padded)} {
		if got, err := DecodeSecret(in); err != nil || string(got) != string(eleven) {
			t.Errorf("DecodeSecret(%q) = %q, %v", in, got, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", ErrInvalidSecret},
		{"   ", ErrInvalidSecret},
		{"====", ErrInvalidSecret},
		{"GEZDGNBVGY3TQOJ1", ErrInvalidSecret},          // 1 is not Base32
		{"GEZDGNBVGY3TQOJQ-GEZDGNBV", ErrInvalidSecret}, // nor is '-'
		{"GEZDGNBVG", ErrInvalidSecret},                 // impossible length
		{"GEZDGNBVGY3TQOJQGEZ", ErrInvalidSecret},       // ditto
		{"GEZDGNBVGY3TQOA", ErrSecretTooShort},          // 9 bytes
		{"GEZDGNBVGY3TQ", ErrSecretTooShort},            // 8 bytes
	} {
		_, err := DecodeSecret(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("DecodeSecret(%q) error %v, want %v", tt.in, err, tt.want)
		}
	}
	// 16 Base32 characters are exactly 10 bytes (80 bits), the minimum.
	if got, err := DecodeSecret("GEZDGNBVGY3TQOJQ"); err != nil || string(got) != "1234567890" {
		t.Errorf("DecodeSecret of 80 bits = %q, %v", got, err)
	}
}

func BenchmarkVerify(b *testing.B) {
	secret := []byte("12345678901234567890")
	p := AppParams()
	now := time.Unix(1_700_000_000, 0)
	code := Code(secret, Step(now, p)-1, p)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := Verify(secret, code, now, 0, 1, p); !ok {
			b.Fatal("refused")
		}
	}
}
