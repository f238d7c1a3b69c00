package totp

import (
	"bytes"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/pquerna/otp"
)

func TestURIExact(t *testing.T) {
	got := URI("Contoso", "alice@contoso.com", []byte("12345678901234567890"), AppParams())
	want := "otpauth://totp/Contoso:alice@contoso.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
}

// pquerna/otp, which many Go services and tests use, must read back what
// URI writes, including awkward issuers and accounts.
func TestURIParsesWithPquernaOTP(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		issuer, account string
		p               Params
		alg             otp.Algorithm
		digits          otp.Digits
	}{
		{"Contoso", "alice@contoso.com", AppParams(), otp.AlgorithmSHA1, otp.DigitsSix},
		{"Contoso & Co Ltd", "bob+mfa@contoso.com", Params{SHA256, 8, 60}, otp.AlgorithmSHA256, otp.DigitsEight},
		{"Räksmörgås AB", "åsa.öberg@exempel.se", Params{SHA512, 6, 30}, otp.AlgorithmSHA512, otp.DigitsSix},
		{"a/b?c#d=e%f", "x y", AppParams(), otp.AlgorithmSHA1, otp.DigitsSix},
	}
	for _, tt := range tests {
		uri := URI(tt.issuer, tt.account, secret, tt.p)
		if strings.ContainsAny(uri, " +#") {
			t.Errorf("URI %q has an unescaped space, '+' or '#'", uri)
		}
		k, err := otp.NewKeyFromURL(uri)
		if err != nil {
			t.Fatalf("NewKeyFromURL(%q): %v", uri, err)
		}
		if k.Type() != "totp" || k.Issuer() != tt.issuer || k.AccountName() != tt.account ||
			k.Secret() != EncodeSecret(secret) || k.Algorithm() != tt.alg || k.Digits() != tt.digits ||
			k.Period() != uint64(tt.p.Period) {
			t.Errorf("%s parsed as type %q issuer %q account %q secret %q alg %v digits %v period %d",
				uri, k.Type(), k.Issuer(), k.AccountName(), k.Secret(), k.Algorithm(), k.Digits(), k.Period())
		}
	}
	// A colon in the issuer must not split the label in the wrong place.
	uri := URI("Acme: EU", "carol@acme.eu", secret, AppParams())
	if !strings.HasPrefix(uri, "otpauth://totp/Acme%3A%20EU:carol@acme.eu?") {
		t.Errorf("URI with colon = %s", uri)
	}
	if k, err := otp.NewKeyFromURL(uri); err != nil || k.Issuer() != "Acme: EU" {
		t.Errorf("issuer with colon: %v", err)
	}
}

func TestQRPNG(t *testing.T) {
	uri := URI("Contoso", "alice@contoso.com", []byte("12345678901234567890"), AppParams())
	for _, size := range []int{200, 256, 301} {
		b, err := QRPNG(uri, size)
		if err != nil {
			t.Fatalf("QRPNG(%d): %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			t.Fatalf("size %v, want %dx%d", r, size, size)
		}
		dark := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 0x80 }
		// The corners are quiet zone, and some pixel inside is dark (the
		// finder patterns).
		if dark(0, 0) || dark(size-1, size-1) || dark(size-1, 0) || dark(0, size-1) {
			t.Error("corner pixel is dark: no quiet zone")
		}
		var n int
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				if dark(x, y) {
					n++
				}
			}
		}
		if n == 0 || n > size*size/2+size*size/4 {
			t.Errorf("%d dark pixels of %d", n, size*size)
		}
	}
	for _, size := range []int{0, -1, 10, MaxQRSize + 1} {
		if _, err := QRPNG(uri, size); err == nil {
			t.Errorf("QRPNG(size %d) accepted", size)
		}
	}
	if _, err := QRPNG("", 200); err == nil {
		t.Error("QRPNG of empty URI accepted")
	}
}
