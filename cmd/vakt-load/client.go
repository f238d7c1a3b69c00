package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// view is the part of the sign-in API's flow view this tool reads
// (docs/signin-api.md).
type view struct {
	FlowID string `json:"flowId"`
	State  string `json:"state"`
	MFA    *struct {
		Options  []string `json:"options"`
		Selected string   `json:"selected"`
	} `json:"mfa"`
	Register *struct {
		Options   []string `json:"options"`
		Enrolment *struct {
			SecretKey string `json:"secretKey"`
		} `json:"enrolment"`
	} `json:"register"`
	Blocked *struct {
		Code int `json:"code"`
	} `json:"blocked"`
	Session *struct {
		Token string `json:"token"`
	} `json:"session"`
}

// stepError is a failed request, named by its kind so that failures can
// be counted by kind: "password: HTTP 429 accountLocked",
// "verify: connection reset", "password: state blocked 50053".
type stepError struct {
	kind   string
	detail string // one example, for the report
}

func (e *stepError) Error() string { return e.kind + ": " + e.detail }

// api calls the JSON sign-in API of one node for one tenant.
type api struct {
	hc   *http.Client
	base string // http://host:port/{tenant}/api/signin
}

func newHTTPClient(conns int) *http.Client {
	// The default transport keeps 2 idle connections per host, which
	// would make 32 clients open and close connections all the time.
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func (a *api) call(ctx context.Context, step, path string, body any, want int) (view, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return view{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, rd)
	if err != nil {
		return view{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return view{}, &stepError{kind: step + ": " + transportKind(err), detail: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return view{}, &stepError{kind: step + ": " + transportKind(err), detail: err.Error()}
	}
	if resp.StatusCode != want {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.Unmarshal(raw, &e)
		return view{}, &stepError{kind: fmt.Sprintf("%s: HTTP %d %s", step, resp.StatusCode, e.Error.Code), detail: oneLine(string(raw), 200)}
	}
	var v view
	if err := json.Unmarshal(raw, &v); err != nil {
		return view{}, &stepError{kind: step + ": malformed answer", detail: err.Error()}
	}
	return v, nil
}

// expect turns a view in an unexpected state into an error of its kind.
func expect(step string, v view, state string) error {
	if v.State == state {
		return nil
	}
	kind := fmt.Sprintf("%s: state %s", step, v.State)
	if v.Blocked != nil {
		kind += fmt.Sprintf(" %d", v.Blocked.Code)
	}
	return &stepError{kind: kind, detail: "want " + state}
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport error"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
