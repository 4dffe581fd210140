package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Secret is a password read from a file. It prints as "***" so it cannot end
// up in a log by accident.
type Secret string

func (Secret) String() string   { return "***" }
func (Secret) GoString() string { return "***" }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// minPassword is the shortest broker password accepted; a short one is guessed.
const minPassword = 12

// maxSecret is the longest password file read: one line.
const maxSecret = 4096

// ReadSecret reads a password from a file (one line, at least 12
// characters). Only a regular file is read, and no more than maxSecret
// bytes of it: a path such as /dev/zero or a named pipe given by mistake
// would otherwise hang the gateway's start (the config fuzzer found it).
func ReadSecret(path string) (Secret, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if len(b) > maxSecret {
		return "", fmt.Errorf("%s: longer than %d bytes: a password file holds one line", path, maxSecret)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) < minPassword {
		return "", fmt.Errorf("%s: the password must be at least %d characters", path, minPassword)
	}
	return Secret(s), nil
}
