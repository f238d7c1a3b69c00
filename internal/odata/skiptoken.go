package odata

import (
	"encoding/base64"
	"encoding/json"
)

// MaxSkiptokenLen bounds a $skiptoken, encoded, before any decoding work.
const MaxSkiptokenLen = 1024

func errInvalidSkiptoken() *Error {
	return &Error{Message: "Invalid value for query option '$skiptoken'"}
}

// EncodeSkiptoken packs cursor parts into an opaque $skiptoken: the
// unpadded base64url encoding of a JSON array of strings. The token is
// not signed: whatever DecodeSkiptoken returns is client-controlled and
// must be treated as such (bound as query arguments, scoped by tenant).
// Keep the parts short (ids, timestamps) and valid UTF-8 (JSON replaces
// invalid bytes): DecodeSkiptoken refuses tokens longer than
// MaxSkiptokenLen.
func EncodeSkiptoken(parts ...string) string {
	if parts == nil {
		parts = []string{}
	}
	b, _ := json.Marshal(parts) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeSkiptoken unpacks a token made by EncodeSkiptoken. Anything
// malformed is an *Error.
func DecodeSkiptoken(tok string) ([]string, error) {
	if tok == "" || len(tok) > MaxSkiptokenLen {
		return nil, errInvalidSkiptoken()
	}
	for i := 0; i < len(tok); i++ {
		// The decoder would skip CR and LF; accept only the alphabet.
		if c := tok[i]; !isIdentByte(c, false) && c != '-' {
			return nil, errInvalidSkiptoken()
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil {
		return nil, errInvalidSkiptoken()
	}
	// Decode through []any so null and non-string elements are refused
	// rather than silently becoming "".
	var raw []any
	if len(b) == 0 || b[0] != '[' || json.Unmarshal(b, &raw) != nil {
		return nil, errInvalidSkiptoken()
	}
	parts := make([]string, len(raw))
	for i, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, errInvalidSkiptoken()
		}
		parts[i] = s
	}
	return parts, nil
}
