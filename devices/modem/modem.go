// Package modem drives a GSM/LTE modem over its AT command port (SIM800,
// SIM7600, Quectel EC2x): SMS in text mode (UCS-2 for Chinese) and voice
// calls, so a room reaches people with the network to the console down
// (issue 20). The modem is supervised like the readers (serialline): it
// answers AT at start and on every check, and a modem that goes silent or
// loses its registration is a device fault.
package modem

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/roomguard/roomguard/devices/serialline"
)

// Check is how often the driver asks the modem whether it is still
// registered; CommandTimeout how long one command may take (AT+CMGS waits
// for the network: SendTimeout).
const (
	Check          = 30 * time.Second
	CommandTimeout = 5 * time.Second
	SendTimeout    = 60 * time.Second
)

// SMSUnits is how many UTF-16 units one UCS-2 SMS holds; a longer text goes
// as several, each marked (1/2) …
const SMSUnits = 70

// ErrNotReady is the answer to a request while no modem is up.
var ErrNotReady = errors.New("modem: not ready (not answering or not registered)")

// Modem is a modem's AT port, driven by Driver on a supervised line.
type Modem struct {
	// CheckEvery is how often the driver asks for the registration
	// (default Check).
	CheckEvery time.Duration
	// SMS and calls wait apart: an SMS, which carries the words, goes
	// ahead of every call not yet started (issue 28: an alarm's SMS waited
	// 30 s behind its own call, 40 behind another alarm's).
	sms, calls chan *request
}

type request struct {
	sms      bool
	number   string
	text     string
	ring     time.Duration
	done     chan error
	deadline time.Time
}

// New returns a modem; run Driver on its serial line.
func New() *Modem {
	return &Modem{CheckEvery: Check, sms: make(chan *request), calls: make(chan *request)}
}

// SMS sends text to number (several messages when it is long), returning
// once the modem has it sent or refused.
func (m *Modem) SMS(ctx context.Context, number, text string) error {
	return m.do(ctx, &request{sms: true, number: number, text: text})
}

// Call rings number for ring, then hangs up (an alarm call: the person sees
// who called and reads the SMS).
func (m *Modem) Call(ctx context.Context, number string, ring time.Duration) error {
	return m.do(ctx, &request{number: number, ring: ring})
}

type queuedKey struct{}

// OnQueued returns ctx carrying f, which SMS and Call call once the modem
// has taken the request (it is next, or being sent): what waits behind it
// may be handed over from then on.
func OnQueued(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, queuedKey{}, f)
}

func (m *Modem) do(ctx context.Context, r *request) error {
	if err := checkNumber(r.number); err != nil {
		return err
	}
	r.done = make(chan error, 1)
	queue := m.calls
	if r.sms {
		queue = m.sms
	}
	select {
	case queue <- r:
		if f, ok := ctx.Value(queuedKey{}).(func()); ok {
			f()
		}
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func checkNumber(n string) error {
	if n == "" || len(n) > 20 {
		return fmt.Errorf("modem: %q is not a phone number", n)
	}
	for i, c := range n {
		if !(c >= '0' && c <= '9' || c == '+' && i == 0) {
			return fmt.Errorf("modem: %q is not a phone number (digits, and + first)", n)
		}
	}
	return nil
}

// Driver runs the modem on port (serialline.Supervise's driver): it sets
// the modem up, calls ready once it answers and is registered, then serves
// SMS and calls and checks it every Check; it returns when the modem stops
// answering, loses its network, or stop closes.
func (m *Modem) Driver(port serialline.Port, stop <-chan struct{}, ready func()) error {
	a := &at{port: port}
	for _, cmd := range []string{"AT", "ATE0", "AT+CMEE=2", "AT+CMGF=1"} {
		if _, err := a.cmd(cmd, CommandTimeout); err != nil {
			return err
		}
	}
	if err := a.registered(); err != nil {
		return err
	}
	ready()
	check := time.NewTicker(m.CheckEvery)
	defer check.Stop()
	serve := func(r *request) error {
		var err error
		if r.sms {
			err = a.sms(r.number, r.text)
		} else {
			err = a.call(r.number, r.ring, stop)
		}
		r.done <- err
		var line *lineError
		if errors.As(err, &line) { // the modem itself failed: the line goes down
			return err
		}
		return nil
	}
	for {
		select { // an SMS waiting goes first
		case r := <-m.sms:
			if err := serve(r); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-stop:
			return serialline.ErrStopped
		case <-check.C:
			if err := a.registered(); err != nil {
				return err
			}
		case r := <-m.sms:
			if err := serve(r); err != nil {
				return err
			}
		case r := <-m.calls:
			// Taken at the same moment as an SMS: the SMS first.
			select {
			case s := <-m.sms:
				if err := serve(s); err != nil {
					r.done <- err
					return err
				}
			default:
			}
			if err := serve(r); err != nil {
				return err
			}
		}
	}
}

// lineError is a modem that did not answer: the line is faulty, not just
// one request.
type lineError struct{ err error }

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// at is one AT conversation.
type at struct {
	port serialline.Port
	buf  []byte
}

// cmd sends one command line and reads its answer up to OK (the lines
// before it) or an error.
func (a *at) cmd(cmd string, timeout time.Duration) ([]string, error) {
	if _, err := a.port.Write([]byte(cmd + "\r")); err != nil {
		return nil, &lineError{fmt.Errorf("modem: write %s: %w", cmd, err)}
	}
	return a.answer(cmd, timeout)
}

// answer reads lines until a final result code.
func (a *at) answer(cmd string, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	var lines []string
	for {
		line, err := a.line(deadline)
		if err != nil {
			return nil, &lineError{fmt.Errorf("modem: %s: %w", cmd, err)}
		}
		switch {
		case line == "" || line == cmd: // blank, or the echo before ATE0
		case line == "OK":
			return lines, nil
		case line == "ERROR", strings.HasPrefix(line, "+CME ERROR"), strings.HasPrefix(line, "+CMS ERROR"),
			line == "NO CARRIER", line == "BUSY", line == "NO ANSWER", line == "NO DIALTONE":
			return lines, fmt.Errorf("modem: %s: %s", cmd, line)
		default:
			lines = append(lines, line)
		}
	}
}

// line reads one line (CR LF), or the SMS prompt "> ".
func (a *at) line(deadline time.Time) (string, error) {
	tmp := make([]byte, 256)
	for {
		if i := bytes.IndexAny(a.buf, "\r\n"); i >= 0 {
			l := string(a.buf[:i])
			a.buf = bytes.TrimLeft(a.buf[i:], "\r\n")
			return strings.TrimSpace(l), nil
		}
		if bytes.HasPrefix(bytes.TrimLeft(a.buf, "\r\n"), []byte("> ")) {
			a.buf = a.buf[:0]
			return ">", nil
		}
		if time.Now().After(deadline) {
			return "", errors.New("no answer")
		}
		n, err := a.port.Read(tmp)
		a.buf = append(a.buf, tmp[:n]...)
		if err != nil && !errors.Is(err, io.EOF) { // EOF: nothing yet (the read timed out)
			return "", err
		}
	}
}

// registered asks whether the modem is on its home network or roaming.
func (a *at) registered() error {
	lines, err := a.cmd("AT+CREG?", CommandTimeout)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "+CREG:"); ok {
			f := strings.Split(strings.TrimSpace(v), ",")
			if len(f) >= 2 && (f[1] == "1" || f[1] == "5") {
				return nil
			}
			return &lineError{fmt.Errorf("modem: not registered on a network (+CREG:%s)", v)}
		}
	}
	return &lineError{fmt.Errorf("modem: AT+CREG? gave no registration")}
}

// sms sends one text, as several messages if it does not fit one.
func (a *at) sms(number, text string) error {
	ucs2 := !isGSMText(text)
	charset, dcs := `"GSM"`, "0"
	if ucs2 {
		charset, dcs = `"UCS2"`, "8"
	}
	if _, err := a.cmd("AT+CSCS="+charset, CommandTimeout); err != nil {
		return err
	}
	if _, err := a.cmd("AT+CSMP=17,167,0,"+dcs, CommandTimeout); err != nil {
		return err
	}
	to := number
	if ucs2 {
		to = ucs2Hex(number)
	}
	for _, part := range split(text, ucs2) {
		body := part
		if ucs2 {
			body = ucs2Hex(part)
		}
		if _, err := a.port.Write([]byte(`AT+CMGS="` + to + "\"\r")); err != nil {
			return &lineError{fmt.Errorf("modem: write AT+CMGS: %w", err)}
		}
		deadline := time.Now().Add(CommandTimeout)
		for {
			l, err := a.line(deadline)
			if err != nil {
				return &lineError{fmt.Errorf("modem: AT+CMGS: no prompt: %w", err)}
			}
			if l == ">" {
				break
			}
			if l == "ERROR" || strings.HasPrefix(l, "+CMS ERROR") || strings.HasPrefix(l, "+CME ERROR") {
				return fmt.Errorf("modem: AT+CMGS: %s", l)
			}
		}
		if _, err := a.port.Write([]byte(body + "\x1a")); err != nil {
			return &lineError{fmt.Errorf("modem: write the SMS: %w", err)}
		}
		if _, err := a.answer("AT+CMGS", SendTimeout); err != nil {
			return err
		}
	}
	return nil
}

// call dials number, lets it ring, and hangs up.
func (a *at) call(number string, ring time.Duration, stop <-chan struct{}) error {
	if _, err := a.cmd("ATD"+number+";", CommandTimeout); err != nil {
		return err
	}
	select {
	case <-time.After(ring):
	case <-stop:
	}
	_, err := a.cmd("ATH", CommandTimeout)
	return err
}

// isGSMText tells whether text goes as plain GSM text: printable ASCII.
func isGSMText(text string) bool {
	for _, c := range text {
		if c < 0x20 && c != '\n' || c > 0x7e || c == '@' || c == '$' || c == '_' || c == '`' {
			return false
		}
	}
	return true
}

// split cuts text into the messages it needs, each marked (i/n) when there
// is more than one.
func split(text string, ucs2 bool) []string {
	limit := 160
	if ucs2 {
		limit = SMSUnits
	}
	runes := []rune(text)
	units := func(rs []rune) int {
		if ucs2 {
			return len(utf16.Encode(rs))
		}
		return len(rs)
	}
	if units(runes) <= limit {
		return []string{text}
	}
	var parts [][]rune
	for len(runes) > 0 {
		n := 0
		for n < len(runes) && units(runes[:n+1]) <= limit-7 { // room for "(9/9) "
			n++
		}
		parts = append(parts, runes[:n])
		runes = runes[n:]
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fmt.Sprintf("(%d/%d) %s", i+1, len(parts), string(p))
	}
	return out
}

// ucs2Hex is text in UCS-2 (UTF-16 big-endian) as the hex digits text mode
// takes after AT+CSCS="UCS2".
func ucs2Hex(text string) string {
	u := utf16.Encode([]rune(text))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c>>8), byte(c)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// DecodeUCS2 reads UCS-2 hex back into text (the simulated modem, a test).
func DecodeUCS2(h string) (string, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b)%2 != 0 {
		return "", fmt.Errorf("modem: %q is not UCS-2 hex", h)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), nil
}
