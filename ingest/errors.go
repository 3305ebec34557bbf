package ingest

import (
	"fmt"
	"net/http"
)

// Error is a problem with a webhook request that the sender must fix. Its
// message is returned to the sender and logged, so it must never contain a
// secret or a phone number.
type Error struct {
	Status int    // HTTP status, 4xx
	Field  string // the offending field ("[2].started_at"), if any
	Msg    string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// BadRequest is a 400 about one field.
func BadRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Unauthorized is a 401: missing or wrong credentials.
func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Msg: msg}
}

// Forbidden is a 403: credentials that are well-formed but not ours (e.g. a
// signature that does not match).
func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Msg: msg}
}
