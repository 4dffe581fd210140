package modem

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// port plays back what a modem said, then reads as a line that went away:
// an idle line (io.EOF, read again until the deadline) made every
// execution of FuzzAnswer spin for its whole timeout, a millisecond, so the
// fuzzer ran some thousand a second (issue 27, finding 12). The timeout
// itself is the unit tests' (a silent modem).
type port struct{ r *bytes.Reader }

func (p *port) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		return n, io.ErrClosedPipe
	}
	return n, err
}
func (p *port) Write(b []byte) (int, error) { return len(b), nil }
func (p *port) Close() error                { return nil }

// FuzzAnswer: whatever bytes a modem (or noise on the line) sends, the
// driver's reader never panics, and an answer it takes ends in OK.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{"\r\nOK\r\n", "AT+CREG?\r\r\n+CREG: 0,1\r\n\r\nOK\r\n", "\r\n> ", "\r\n+CMS ERROR: 500\r\n", "\xff\x00\r\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := &at{port: &port{bytes.NewReader(b)}}
		lines, err := a.answer("AT", time.Millisecond)
		if err == nil && !bytes.Contains(b, []byte("OK")) {
			t.Fatalf("an answer without OK taken: %q → %q", b, lines)
		}
	})
}

func FuzzDecodeUCS2(f *testing.F) {
	f.Add(ucs2Hex("机要室 301"))
	f.Add("00")
	f.Fuzz(func(t *testing.T, h string) {
		s, err := DecodeUCS2(h)
		if err != nil {
			return
		}
		if _, err := DecodeUCS2(ucs2Hex(s)); err != nil {
			t.Fatalf("%q decoded to %q, which does not encode back", h, s)
		}
	})
}
