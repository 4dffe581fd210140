// Package cli holds what both command lines share of their conventions
// (docs/commands.md): a usage error is told from a failure while running,
// and a password is read from a file, never from a flag.
package cli

import (
	"errors"
	"flag"
	"fmt"
)

// UsageError is a command line the command cannot make sense of (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef is a usage error.
func Usagef(format string, a ...any) error { return &UsageError{fmt.Errorf(format, a...)} }

// BadUsage marks a flag-parsing failure as bad usage; help asked for stays
// flag.ErrHelp (exit 0).
func BadUsage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &UsageError{err}
}

// IsUsage tells whether err is bad usage.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}
