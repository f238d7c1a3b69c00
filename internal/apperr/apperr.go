// Package apperr is vakt's error type for failures a caller caused: it
// carries a message that is safe to show (CLI line, Graph error body,
// sign-in page) apart from the internal cause, which is only logged.
package apperr

import (
	"errors"
	"fmt"

	"github.com/vakt-id/vakt/internal/store"
)

// Kind classifies an error for status codes and exit codes.
type Kind int

const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Forbidden
	Unauthenticated
	TooLarge
	RateLimited
)

// Error is a failure with a message safe to show to the caller.
type Error struct {
	Kind    Kind
	Code    string // Graph error code, e.g. "Request_BadRequest"
	Message string // safe to show
	Target  string // the property or parameter at fault, if any
	Err     error  // internal cause, never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf is a 400 Request_BadRequest.
func Invalidf(format string, args ...any) *Error {
	return newf(Invalid, "Request_BadRequest", format, args...)
}

// NotFoundf is a 404 Request_ResourceNotFound.
func NotFoundf(format string, args ...any) *Error {
	return newf(NotFound, "Request_ResourceNotFound", format, args...)
}

// Conflictf is a 409.
func Conflictf(format string, args ...any) *Error {
	return newf(Conflict, "Request_BadRequest", format, args...)
}

// Forbiddenf is a 403 Authorization_RequestDenied.
func Forbiddenf(format string, args ...any) *Error {
	return newf(Forbidden, "Authorization_RequestDenied", format, args...)
}

// WithTarget names the property at fault.
func (e *Error) WithTarget(t string) *Error { e.Target = t; return e }

// WithCause records the internal cause.
func (e *Error) WithCause(err error) *Error { e.Err = err; return e }

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// FromStore turns store sentinels into safe errors about "what". Other
// errors pass through unchanged (they are internal).
func FromStore(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return NotFoundf("%s does not exist.", what).WithCause(err)
	case errors.Is(err, store.ErrConflict):
		return Conflictf("%s already exists.", what).WithCause(err)
	case errors.Is(err, store.ErrCycle):
		return Invalidf("The membership would make a group contain itself.").WithCause(err)
	case errors.Is(err, store.ErrInvalid):
		return Invalidf("The request refers to an object that does not exist or cannot be used here.").WithCause(err)
	}
	return err
}

// WithCode overrides the Graph error code.
func (e *Error) WithCode(code string) *Error { e.Code = code; return e }

// Unauthenticatedf is a 401 InvalidAuthenticationToken.
func Unauthenticatedf(format string, args ...any) *Error {
	return newf(Unauthenticated, "InvalidAuthenticationToken", format, args...)
}

// TooLargef is a 413.
func TooLargef(format string, args ...any) *Error {
	return newf(TooLarge, "Request_EntityTooLarge", format, args...)
}
