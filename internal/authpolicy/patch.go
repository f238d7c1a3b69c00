package authpolicy

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
)

// Patch is the body of a PATCH: one JSON object in the Graph shape.
// Properties replace the current ones, nested objects are merged
// property by property, and arrays are replaced whole.
type Patch struct {
	JSON []byte
	// V1 refuses the beta-only properties (the request came to /v1.0).
	V1 bool
}

// parseObject decodes a patch into its properties; numbers stay exact.
func parseObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, apperr.Invalidf("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.").WithCode("BadRequest")
	}
	if dec.More() {
		return nil, apperr.Invalidf("Unable to read JSON request payload: unexpected data after the JSON object.").WithCode("BadRequest")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, apperr.Invalidf("The request body must be a JSON object.").WithCode("BadRequest")
	}
	return obj, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var timeType = reflect.TypeOf(time.Time{})

// jsonField finds the struct field (promoted ones included) named name in
// JSON.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if sf, ok := jsonField(f.Type, name); ok {
				return sf, true
			}
			continue
		}
		n, _, _ := strings.Cut(tag, ",")
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// checkValue verifies that v, a decoded patch value, fits the Go type t:
// known properties only, the right JSON types, no nulls. typeName names
// the resource in messages.
func checkValue(v any, t reflect.Type, path, typeName string) error {
	typeErr := func(want string) error {
		return apperr.Invalidf("Invalid value for property '%s' of type '%s': expected %s.", path, typeName, want).WithTarget(path)
	}
	if v == nil {
		return apperr.Invalidf("Property '%s' cannot be null.", path).WithTarget(path)
	}
	switch {
	case t == timeType:
		if _, ok := v.(string); !ok {
			return typeErr("a date and time")
		}
		return nil
	case t.Kind() == reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return typeErr("an object")
		}
		for k, sub := range obj {
			if strings.HasPrefix(k, "@odata.") {
				continue
			}
			f, ok := jsonField(t, k)
			if !ok {
				p := join(path, clip(k))
				return apperr.Invalidf("Property '%s' does not exist on type '%s'.", p, typeName).WithTarget(p)
			}
			if err := checkValue(sub, f.Type, join(path, k), typeName); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return typeErr("an array")
		}
		for _, e := range arr {
			if err := checkValue(e, t.Elem(), path, typeName); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.String:
		if _, ok := v.(string); !ok {
			return typeErr("a string")
		}
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeErr("true or false")
		}
	case t.Kind() == reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return typeErr("an integer")
		}
		i, err := n.Int64()
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			return typeErr("an integer")
		}
	}
	return nil
}

// merge applies a patch value to the current one: objects merge, anything
// else replaces.
func merge(cur, patch any) any {
	pm, ok := patch.(map[string]any)
	cm, ok2 := cur.(map[string]any)
	if !ok || !ok2 {
		return patch
	}
	for k, v := range pm {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		cm[k] = merge(cm[k], v)
	}
	return cm
}

// applyFields merges the patch properties into cur and decodes the result
// into out, a pointer to a value of cur's type, which is zeroed first (so
// that it shares no memory with cur). The properties must already have
// passed checkValue.
func applyFields(cur any, fields map[string]any, out any) error {
	raw, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	for k, v := range fields {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		doc[k] = merge(doc[k], v)
	}
	merged, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(out).Elem()
	rv.Set(reflect.Zero(rv.Type()))
	if err := json.Unmarshal(merged, out); err != nil {
		return apperr.Invalidf("The request body does not fit the resource.").WithCause(err)
	}
	fillNil(out)
	return nil
}

// fillNil replaces nil slices with empty ones, so that lists are written
// as [] and never as null.
func fillNil(ptr any) { fillNilValue(reflect.ValueOf(ptr).Elem()) }

func fillNilValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() || v.Type().Field(i).Anonymous {
				fillNilValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		for i := 0; i < v.Len(); i++ {
			fillNilValue(v.Index(i))
		}
	}
}
