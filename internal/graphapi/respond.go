package graphapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/httpx"
	"github.com/vakt-id/vakt/internal/odata"
	"github.com/vakt-id/vakt/internal/store"
)

// writeJSON sends v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

type errorDetail struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Target  *string `json:"target"`
}

// writeError sends the Graph error body.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, e *apperr.Error, status int) {
	var target *string
	if e.Target != "" {
		target = &e.Target
	}
	code := e.Code
	if code == "" {
		code = "generalException"
	}
	details := []errorDetail{}
	if e.Target != "" {
		details = append(details, errorDetail{Code: code, Message: e.Message, Target: target})
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": e.Message, "target": target, "details": details,
		"innerError": map[string]any{
			"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        httpx.RequestIDFrom(r.Context()),
			"client-request-id": httpx.ClientRequestIDFrom(r.Context()),
		},
	}})
}

// queryError turns an OData parse error into a 400.
func queryError(err error) error {
	if oe, ok := err.(*odata.Error); ok {
		return apperr.Invalidf("%s", oe.Message)
	}
	return err
}

// parseQuery parses the OData options of a collection request, with the
// $count rule of directory objects (it needs ConsistencyLevel: eventual).
func (c *call) parseQuery(spec odata.Spec) (odata.Options, error) {
	o, err := odata.ParseQuery(c.r.URL.Query(), spec)
	if err != nil {
		return o, queryError(err)
	}
	if o.Count && !strings.EqualFold(c.r.Header.Get("ConsistencyLevel"), "eventual") {
		return o, apperr.Invalidf("$count is not currently supported without the ConsistencyLevel header set to eventual.")
	}
	if o.Search != "" {
		return o, apperr.Invalidf("Query option '$search' is not supported.")
	}
	return o, nil
}

// listQuery turns options into a store query.
func listQuery(o odata.Options) store.ListQuery {
	return store.ListQuery{Filter: o.Filter, OrderBy: o.OrderBy, Desc: o.Desc, Limit: o.Top, After: o.Skiptoken, WantCount: o.Count}
}

// storeQueryError maps store errors from a list call: a bad page token or
// filter is the client's fault.
func storeQueryError(err error) error {
	if err == nil {
		return nil
	}
	return apperr.FromStore(err, "The page")
}

// collection writes an OData collection with its nextLink.
func (a *API) collection(c *call, contextPath string, items []map[string]any, next string, count *int, sel []string) error {
	ctxURL := c.base(a) + "/$metadata#" + contextPath
	if len(sel) > 0 {
		ctxURL += "(" + strings.Join(sel, ",") + ")"
	}
	body := map[string]any{"@odata.context": ctxURL}
	if count != nil {
		body["@odata.count"] = *count
	}
	if next != "" {
		q := c.r.URL.Query()
		for k := range q {
			if strings.EqualFold(k, "$skiptoken") {
				q.Del(k)
			}
		}
		q.Set("$skiptoken", next)
		body["@odata.nextLink"] = a.PublicURL + c.r.URL.Path + "?" + encodeQuery(q)
	}
	for i := range items {
		items[i] = odata.Select(items[i], sel)
	}
	if items == nil {
		items = []map[string]any{}
	}
	body["value"] = items
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// encodeQuery keeps $ unescaped in option names, as Graph's links do.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// entity writes one object with its @odata.context.
func (a *API) entity(c *call, status int, contextPath string, obj map[string]any) error {
	obj["@odata.context"] = c.base(a) + "/$metadata#" + contextPath
	if status == http.StatusOK {
		// One object takes $select only; anything else ($expand, $filter…)
		// is refused as on collections rather than silently ignored.
		q := c.r.URL.Query()
		for k := range q {
			if strings.HasPrefix(k, "$") && !strings.EqualFold(k, "$select") {
				return apperr.Invalidf("Query option '%s' is not supported on a single object.", truncate(k, 32))
			}
		}
		o, err := odata.ParseQuery(q, odata.Spec{Selectable: selectable(obj)})
		if err != nil {
			return queryError(err)
		}
		obj = odata.Select(obj, o.Select)
	}
	writeJSON(c.w, status, obj)
	return nil
}

func selectable(obj map[string]any) []string {
	out := make([]string, 0, len(obj))
	for k := range obj {
		if !strings.HasPrefix(k, "@") {
			out = append(out, k)
		}
	}
	return out
}

// pageSlice pages an in-memory list with an offset skiptoken.
func pageSlice[T any](c *call, all []T, defaultTop int) (items []T, next string, err error) {
	return pageSliceQuery(c.r.URL.Query(), all, defaultTop)
}

// pageSliceQuery pages with the given options (the caller may have taken
// out those it handled itself, such as a simple $filter).
func pageSliceQuery[T any](q url.Values, all []T, defaultTop int) (items []T, next string, err error) {
	o, err := odata.ParseQuery(q, odata.Spec{DefaultTop: defaultTop})
	if err != nil {
		return nil, "", queryError(err)
	}
	off := 0
	if o.Skiptoken != "" {
		parts, err := odata.DecodeSkiptoken(o.Skiptoken)
		if err != nil || len(parts) != 1 {
			return nil, "", apperr.Invalidf("The $skiptoken is malformed.")
		}
		if off, err = strconv.Atoi(parts[0]); err != nil || off < 0 || off > len(all) {
			return nil, "", apperr.Invalidf("The $skiptoken is malformed.")
		}
	}
	end := min(off+o.Top, len(all))
	if end < len(all) {
		next = odata.EncodeSkiptoken(strconv.Itoa(end))
	}
	return all[off:end], next, nil
}

func timeJSON(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
