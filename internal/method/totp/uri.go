package totp

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// URI returns the otpauth enrolment URI for a TOTP secret, in the Key URI
// format that authenticator apps read from a QR code:
//
//	otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
//
// Issuer and account are percent-escaped (spaces as %20, as apps expect,
// not '+'). A colon inside either is escaped too, as a bare one would read
// as the label's separator; the issuer parameter is what apps trust.
func URI(issuer, account string, secret []byte, p Params) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escapeLabel(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escapeLabel(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escapeQuery(issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(escapeQuery(p.Algorithm))
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(p.Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(p.Period))
	return b.String()
}

// escapeLabel percent-escapes all but unreserved characters and '@': some
// apps decode the label as a form value ('+' as a space) or split it at
// '&', so nothing with a meaning anywhere in a URI is left bare.
func escapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func escapeQuery(s string) string {
	// QueryEscape writes a space as '+' and a literal '+' as %2B, so every
	// remaining '+' is a space.
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// MaxQRSize bounds QRPNG's size, and so the memory one call can take.
const MaxQRSize = 4096

// quietZone is the white border, in modules, that the QR specification
// requires around the symbol so that cameras find it.
const quietZone = 4

// QRPNG returns a size×size pixel PNG of uri as a QR code (error correction
// level M), with the four-module quiet zone scanners need. It fails when
// size cannot give each module at least one pixel.
func QRPNG(uri string, size int) ([]byte, error) {
	if size <= 0 || size > MaxQRSize {
		return nil, fmt.Errorf("totp: QR size %d out of range 1..%d", size, MaxQRSize)
	}
	if uri == "" {
		return nil, errors.New("totp: QR code of an empty URI")
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("totp: QR encode: %w", err)
	}
	n := code.Bounds().Dx()
	scale := size / (n + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("totp: QR size %d too small for this URI: need at least %d pixels", size, n+2*quietZone)
	}
	// Whole pixels per module keep the edges sharp; what is left over
	// widens the quiet zone, centring the symbol.
	off := (size - n*scale) / 2
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	origin := code.Bounds().Min
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			if color.GrayModel.Convert(code.At(origin.X+mx, origin.Y+my)).(color.Gray).Y >= 0x80 {
				continue
			}
			for y := off + my*scale; y < off+(my+1)*scale; y++ {
				row := img.Pix[y*img.Stride:]
				for x := off + mx*scale; x < off+(mx+1)*scale; x++ {
					row[x] = 0
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR PNG: %w", err)
	}
	return buf.Bytes(), nil
}
