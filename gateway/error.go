package gateway

import (
	"errors"
	"fmt"
)

// Error codes, a small set a caller can act on.
const (
	EINVALID  = "invalid"  // the input is wrong; nothing was changed
	ENOTFOUND = "notfound" // the thing named does not exist
	ECONFLICT = "conflict" // the request clashes with the current state
	EINTERNAL = "internal" // our fault; the message says what failed

	// A command that is not believed (issue 17): nothing was changed.
	EUNAUTHENTICATED = "unauthenticated" // unsigned, a bad signature, an unknown principal
	EFORBIDDEN       = "forbidden"       // the principal may not send that command
	ESTALE           = "stale"           // signed too long ago, or in the future
	EREPLAYED        = "replayed"        // its nonce or counter was seen before

	// A command given by the wrong person (issue 17): nothing was changed.
	EUNKNOWNPERSON = "unknown_person" // by is not a person of the room's register
	ENOTALLOWED    = "not_allowed"    // the person may not give it: not valid today, not in this room, not the role
	ESAMEPERSON    = "same_person"    // a two-person act confirmed twice by one person

	// The room could not take it now (issue 27): nothing was changed.
	EBUSY    = "busy"    // the command intake is full: the command was dropped unread
	ESTORAGE = "storage" // the log cannot write: no change of state is taken until it can
)

// Error is an error a person can read, with a code a program can act on.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for an error that is not ours.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var r *RefusedError
	if errors.As(err, &r) {
		return ECONFLICT
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}
