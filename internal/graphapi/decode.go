package graphapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
)

// body is a decoded JSON object whose properties are read one by one with
// type checks, so that a wrong type or an unknown property is a clear 400
// naming the property rather than a silent zero value.
type body struct {
	fields   map[string]json.RawMessage
	typeName string // e.g. "microsoft.graph.user", for messages
}

const defaultMaxBody = 1 << 20

// readObject reads the request body: JSON by Content-Type, within the
// size limit, exactly one object; it returns the bytes and the object's
// properties.
func (c *call) readObject(a *API) ([]byte, map[string]json.RawMessage, error) {
	ct := c.r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, nil, apperr.Invalidf("The request body must be JSON, sent with Content-Type: application/json.").WithCode("BadRequest")
	}
	limit := a.MaxBodyBytes
	if limit <= 0 {
		limit = defaultMaxBody
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, apperr.TooLargef("The request body is larger than %d bytes.", limit)
		}
		return nil, nil, apperr.Invalidf("The request body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, nil, apperr.Invalidf("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.").WithCode("BadRequest")
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return nil, nil, apperr.Invalidf("Unable to read JSON request payload: unexpected data after the JSON object.").WithCode("BadRequest")
	}
	return raw, fields, nil
}

// decode reads the request body as one JSON object whose properties must
// all be in allowed (OData annotations aside).
func (c *call) decode(a *API, typeName string, allowed ...string) (*body, error) {
	_, fields, err := c.readObject(a)
	if err != nil {
		return nil, err
	}
	for k := range fields {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		if !slices.Contains(allowed, k) {
			return nil, apperr.Invalidf("Property '%s' does not exist on type '%s'.", truncate(k, 64), typeName).WithTarget(truncate(k, 64))
		}
	}
	b := &body{fields: fields, typeName: typeName}
	if t, ok := fields["@odata.type"]; ok {
		var s string
		if json.Unmarshal(t, &s) != nil || strings.TrimPrefix(s, "#") != typeName {
			return nil, apperr.Invalidf("The @odata.type must be '#%s'.", typeName).WithTarget("@odata.type")
		}
	}
	return b, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (b *body) has(name string) bool { _, ok := b.fields[name]; return ok }

func (b *body) typeErr(name, want string) error {
	return apperr.Invalidf("Invalid value for property '%s' of type '%s': expected %s.", name, b.typeName, want).WithTarget(name)
}

// str reads an optional string property; null reads as "".
func (b *body) str(name string) (*string, error) {
	raw, ok := b.fields[name]
	if !ok {
		return nil, nil
	}
	if string(raw) == "null" {
		s := ""
		return &s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, b.typeErr(name, "a string")
	}
	return &s, nil
}

// boolean reads an optional boolean property; null is refused.
func (b *body) boolean(name string) (*bool, error) {
	raw, ok := b.fields[name]
	if !ok {
		return nil, nil
	}
	var v bool
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
		return nil, b.typeErr(name, "true or false")
	}
	return &v, nil
}

// object reads a nested object property with its own allowed properties.
func (b *body) object(name, typeName string, allowed ...string) (*body, error) {
	raw, ok := b.fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, b.typeErr(name, "an object")
	}
	for k := range fields {
		if !strings.HasPrefix(k, "@odata.") && !slices.Contains(allowed, k) {
			return nil, apperr.Invalidf("Property '%s' does not exist on type '%s'.", truncate(k, 64), typeName).WithTarget(name + "." + truncate(k, 64))
		}
	}
	return &body{fields: fields, typeName: typeName}, nil
}

// requireStr reads a required, non-empty string property.
func (b *body) requireStr(name string) (string, error) {
	s, err := b.str(name)
	if err != nil {
		return "", err
	}
	if s == nil || *s == "" {
		return "", apperr.Invalidf("Property '%s' is required.", name).WithTarget(name)
	}
	return *s, nil
}
