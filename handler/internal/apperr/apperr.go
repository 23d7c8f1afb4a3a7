// Package apperr is the application's one error type: a small set of kinds that
// decide an HTTP status or a queue retry in exactly one place each.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller should do about it.
type Kind string

// The kinds of error. Invalid, NotFound, Conflict, Unauthorized, TooLarge and
// Unsupported are the caller's to fix; Transient may succeed when retried;
// Internal is ours.
const (
	Invalid      Kind = "invalid"
	NotFound     Kind = "not_found"
	Conflict     Kind = "conflict"
	Unauthorized Kind = "unauthorized"
	TooLarge     Kind = "too_large"
	Unsupported  Kind = "unsupported"
	// TooMany: a limit of how many or how often; try again later.
	TooMany   Kind = "too_many"
	Transient Kind = "transient"
	Internal  Kind = "internal"
)

// Error is an error with a kind, a machine-readable code and a message that is
// safe to show to the user. It wraps the cause, which is never shown.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

// E builds an Error of the given kind. The code is a stable snake_case word the
// add-in can branch on; the message says what to fix.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an Error of the given kind around a cause.
func Wrap(err error, kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: err}
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first Error in err's chain, or Internal when
// there is none: an unclassified error is a bug or an outage, never the user's.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is an Error of the given kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// Retryable reports whether a queue or timer invocation that failed with err
// should be delivered again: only transient and internal failures may heal.
func Retryable(err error) bool {
	switch KindOf(err) {
	case Transient, Internal:
		return true
	}
	return false
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// MessageOf returns the message of the first *Error in err's chain, or
// err's text.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
