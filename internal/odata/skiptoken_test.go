package odata

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSkiptokenRoundTrip(t *testing.T) {
	for _, parts := range [][]string{
		nil,
		{""},
		{"displayName", "Alice", "0b6c3c4e-1f7a-4c2e-9d1e-3b8e5f0a2c11"},
		{"2024-01-02T03:04:05Z", `quote " and \ and 日本`},
	} {
		tok := EncodeSkiptoken(parts...)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not unpadded base64url", tok)
		}
		got, err := DecodeSkiptoken(tok)
		if err != nil {
			t.Fatalf("DecodeSkiptoken(%q): %v", tok, err)
		}
		want := parts
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip %q: got %q", parts, got)
		}
	}
}

func TestSkiptokenTamper(t *testing.T) {
	good := EncodeSkiptoken("displayName", "Alice", "id-1")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	bad := map[string]string{
		"empty":          "",
		"truncated":      good[:len(good)-3],
		"appended":       good + "x",
		"padded":         good + "==",
		"std alphabet":   strings.ReplaceAll(enc(`["??>"]`), "_", "/"),
		"newline":        good[:4] + "\n" + good[4:],
		"not base64":     "!!!",
		"not json":       enc("hello"),
		"object":         enc(`{"a":"b"}`),
		"null":           enc("null"),
		"string":         enc(`"a"`),
		"null element":   enc(`[null]`),
		"number element": enc(`["a",1]`),
		"nested":         enc(`[["a"]]`),
		"trailing data":  enc(`["a"]x`),
		"too long":       EncodeSkiptoken(strings.Repeat("a", MaxSkiptokenLen)),
	}
	for name, tok := range bad {
		got, err := DecodeSkiptoken(tok)
		var e *Error
		if !errors.As(err, &e) || e.Message != "Invalid value for query option '$skiptoken'" {
			t.Errorf("%s: DecodeSkiptoken(%q) = %q, %v", name, tok, got, err)
		}
	}
}
