package odata

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

var userSpec = Spec{
	Fields:     userFields,
	Selectable: []string{"id", "displayName", "userPrincipalName", "mail", "accountEnabled"},
	Orderable:  []string{"displayName", "userPrincipalName", "createdDateTime"},
	MaxTop:     999,
	DefaultTop: 100,
}

func errMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return "<nil>"
	}
	return "not an *Error: " + err.Error()
}

func TestParseTop(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "999": 999, "10": 10, "007": 7} {
		if got, err := ParseTop(in, 999); err != nil || got != want {
			t.Errorf("ParseTop(%q) = %d, %v", in, got, err)
		}
	}
	bad := map[string]string{
		"0":          "Invalid page size specified: '0'. Must be between 1 and 999 inclusive.",
		"1000":       "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
		"":           "Invalid value for query option '$top': expected an integer between 1 and 999",
		"-1":         "Invalid value for query option '$top': expected an integer between 1 and 999",
		"+5":         "Invalid value for query option '$top': expected an integer between 1 and 999",
		"5 ":         "Invalid value for query option '$top': expected an integer between 1 and 999",
		"1e3":        "Invalid value for query option '$top': expected an integer between 1 and 999",
		"abc":        "Invalid value for query option '$top': expected an integer between 1 and 999",
		"9999999999": "Invalid value for query option '$top': expected an integer between 1 and 999",
	}
	for in, want := range bad {
		if _, err := ParseTop(in, 999); errMessage(err) != want {
			t.Errorf("ParseTop(%q): %s\n want %s", in, errMessage(err), want)
		}
	}
}

func TestParseSelect(t *testing.T) {
	allowed := []string{"displayName", "userPrincipalName", "mail"}
	got, err := ParseSelect(" DisplayName,id , MAIL,displayname", allowed)
	if err != nil || !reflect.DeepEqual(got, []string{"displayName", "id", "mail"}) {
		t.Fatalf("ParseSelect = %v, %v", got, err)
	}
	bad := map[string]string{
		"":               "Invalid value for query option '$select': expected a comma-separated list of properties",
		"mail,":          "Invalid value for query option '$select': expected a comma-separated list of properties",
		"mail,,id":       "Invalid value for query option '$select': expected a comma-separated list of properties",
		"mail,password":  "Parsing OData Select and Expand failed: Could not find a property named 'password'.",
		"manager/id":     "Parsing OData Select and Expand failed: invalid property name.",
		"*":              "Parsing OData Select and Expand failed: invalid property name.",
		"<script>":       "Parsing OData Select and Expand failed: invalid property name.",
		"createdDateTim": "Parsing OData Select and Expand failed: Could not find a property named 'createdDateTim'.",
	}
	for in, want := range bad {
		if _, err := ParseSelect(in, allowed); errMessage(err) != want {
			t.Errorf("ParseSelect(%q): %s\n want %s", in, errMessage(err), want)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	allowed := []string{"displayName", "createdDateTime"}
	ok := []struct {
		in    string
		field string
		desc  bool
	}{
		{"displayName", "displayName", false},
		{"displayname asc", "displayName", false},
		{"  CreatedDateTime   DESC ", "createdDateTime", true},
	}
	for _, tc := range ok {
		f, d, err := ParseOrderBy(tc.in, allowed)
		if err != nil || f != tc.field || d != tc.desc {
			t.Errorf("ParseOrderBy(%q) = %q, %v, %v", tc.in, f, d, err)
		}
	}
	bad := map[string]string{
		"":                       "Invalid value for query option '$orderby': expected a property name optionally followed by asc or desc",
		"displayName desc extra": "Invalid value for query option '$orderby': expected a property name optionally followed by asc or desc",
		"displayName,mail":       "Invalid value for query option '$orderby': ordering by more than one property is not supported",
		"displayName up":         "Invalid value for query option '$orderby': expected asc or desc after the property name",
		"mail":                   "Sorting by property 'mail' is not supported",
		"a/b":                    "Invalid value for query option '$orderby': invalid property name",
	}
	for in, want := range bad {
		if _, _, err := ParseOrderBy(in, allowed); errMessage(err) != want {
			t.Errorf("ParseOrderBy(%q): %s\n want %s", in, errMessage(err), want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	q, _ := url.ParseQuery("$filter=startswith(displayName,'a')&$TOP=5&$select=mail&$orderby=displayName+desc&$count=true&$search=%22displayName:al%22&$skiptoken=abc&api-version=1&top=7")
	o, err := ParseQuery(q, userSpec)
	if err != nil {
		t.Fatal(err)
	}
	if o.Filter == nil || show(*o.Filter) != `startswith(displayName,"a")` {
		t.Errorf("Filter = %v", o.Filter)
	}
	if o.Top != 5 || !reflect.DeepEqual(o.Select, []string{"mail"}) || o.OrderBy != "displayName" || !o.Desc ||
		!o.Count || o.Search != `"displayName:al"` || o.Skiptoken != "abc" {
		t.Errorf("Options = %+v", o)
	}

	// Defaults.
	o, err = ParseQuery(url.Values{"top": {"7"}}, userSpec)
	if err != nil || o.Top != 100 || o.Filter != nil || o.Select != nil || o.Count || o.OrderBy != "" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	// MaxTop defaults to 999.
	if o, err := ParseQuery(url.Values{"$top": {"999"}}, Spec{}); err != nil || o.Top != 999 {
		t.Errorf("default MaxTop: %+v, %v", o, err)
	}
	if _, err := ParseQuery(url.Values{"$top": {"1000"}}, Spec{}); err == nil {
		t.Error("$top=1000 accepted with default MaxTop")
	}
}

func TestParseQueryErrors(t *testing.T) {
	cases := []struct {
		query, want string
	}{
		{"$expand=manager", "Query option '$expand' is not supported"},
		{"$Expand=manager", "Query option '$Expand' is not supported"},
		{"$skip=10", "Query option '$skip' is not supported"},
		{"$format=json", "Query option '$format' is not supported"},
		{"$=1", "Unsupported query option"},
		{"$<b>=1", "Unsupported query option"},
		{"$top=1&$top=2", "Query option '$top' was specified more than once"},
		{"$top=1&$Top=2", "Query option '$top' was specified more than once"},
		{"$top=0", "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{"$count=yes", "Invalid value for query option '$count': expected true or false"},
		{"$filter=foo eq 'x'", "Invalid filter clause: unknown property 'foo'"},
		{"$filter=", "Invalid filter clause: the expression is empty"},
		{"$select=password", "Parsing OData Select and Expand failed: Could not find a property named 'password'."},
		{"$orderby=mail", "Sorting by property 'mail' is not supported"},
		{"$skiptoken=", "Invalid value for query option '$skiptoken'"},
		{"$skiptoken=" + strings.Repeat("a", MaxSkiptokenLen+1), "Invalid value for query option '$skiptoken'"},
		{"$search=" + strings.Repeat("a", MaxSearchLen+1), "Invalid value for query option '$search': longer than 2000 bytes"},
		{"$search=%00", "Invalid value for query option '$search': invalid characters"},
		{"$search=%ff", "Invalid value for query option '$search': invalid characters"},
		// Reported deterministically whatever the map order.
		{"$zzz=1&$expand=x&$aaa=1", "Query option '$aaa' is not supported"},
	}
	for _, tc := range cases {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if _, err := ParseQuery(q, userSpec); errMessage(err) != tc.want {
				t.Errorf("%s: %s\n want %s", tc.query, errMessage(err), tc.want)
				break
			}
		}
	}
}

func TestSelect(t *testing.T) {
	obj := map[string]any{
		"@odata.context": "ctx",
		"@odata.type":    "#microsoft.graph.user",
		"id":             "1",
		"displayName":    "A",
		"mail":           "a@x",
		"mobilePhone":    "123",
	}
	got := Select(obj, []string{"displayName", "jobTitle"})
	want := map[string]any{
		"@odata.context": "ctx",
		"@odata.type":    "#microsoft.graph.user",
		"id":             "1",
		"displayName":    "A",
		"jobTitle":       nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Select = %v", got)
	}
	if got := Select(obj, nil); !reflect.DeepEqual(got, obj) {
		t.Errorf("Select(nil fields) = %v", got)
	}
}
