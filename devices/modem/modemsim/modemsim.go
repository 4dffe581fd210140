// Package modemsim is a simulated GSM/LTE modem on the far end of a serial
// line, answering the AT commands of SIM800, SIM7600 and Quectel EC2x as
// their manuals describe: echo until ATE0, +CREG, +CSQ, text-mode SMS with
// the "> " prompt and Ctrl-Z, UCS-2 after AT+CSCS="UCS2", ATD and ATH. It
// records what it sends and can be made to fail: silent, unregistered, or
// refusing to send. The simulated room and the tests run the real driver
// against it.
package modemsim

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/roomguard/roomguard/devices/modem"
)

// SMS is one message the modem sent.
type SMS struct {
	To, Text string
}

// Modem is a simulated modem.
type Modem struct {
	rw io.ReadWriter

	mu           sync.Mutex
	echo         bool
	charset      string
	silent       bool
	unregistered bool
	refuse       bool
	sent         []SMS
	calls        []string
	n            int
	werr         error // the first write that failed: Serve ends with it
}

// New returns a modem talking over rw; Serve runs it.
func New(rw io.ReadWriter) *Modem { return &Modem{rw: rw, echo: true, charset: "GSM"} }

// Silence makes the modem stop answering (unpowered, crashed), or answer again.
func (m *Modem) Silence(on bool) { m.set(func() { m.silent = on }) }

// Unregister makes the modem lose its network (no SIM, no coverage), or find it again.
func (m *Modem) Unregister(on bool) { m.set(func() { m.unregistered = on }) }

// Refuse makes the network refuse every SMS (+CMS ERROR: 500), or take them again.
func (m *Modem) Refuse(on bool) { m.set(func() { m.refuse = on }) }

func (m *Modem) set(f func()) { m.mu.Lock(); f(); m.mu.Unlock() }

// Sent is every SMS sent so far, decoded.
func (m *Modem) Sent() []SMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SMS(nil), m.sent...)
}

// Calls is every number dialled so far.
func (m *Modem) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// Serve answers until the line fails.
func (m *Modem) Serve() error {
	var buf []byte
	tmp := make([]byte, 512)
	var cmgsTo string // waiting for an SMS body
	for {
		n, err := m.rw.Read(tmp)
		if err != nil {
			return err
		}
		m.mu.Lock()
		werr := m.werr
		m.mu.Unlock()
		if werr != nil {
			return werr
		}
		buf = append(buf, tmp[:n]...)
		for {
			if cmgsTo != "" {
				i := bytes.IndexByte(buf, 0x1a)
				if i < 0 {
					break
				}
				body := string(buf[:i])
				buf = buf[i+1:]
				m.sms(cmgsTo, body)
				cmgsTo = ""
				continue
			}
			i := bytes.IndexByte(buf, '\r')
			if i < 0 {
				break
			}
			line := strings.TrimSpace(string(buf[:i]))
			buf = buf[i+1:]
			if line != "" {
				cmgsTo = m.command(line)
			}
		}
	}
}

func (m *Modem) reply(lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		if l == ">" {
			b.WriteString("\r\n> ")
			continue
		}
		b.WriteString("\r\n" + l + "\r\n")
	}
	m.write(b.String())
}

func (m *Modem) write(s string) {
	if _, err := m.rw.Write([]byte(s)); err != nil {
		m.set(func() {
			if m.werr == nil {
				m.werr = err
			}
		})
	}
}

// command answers one command line; it returns the number an AT+CMGS is
// for (its body follows).
func (m *Modem) command(line string) string {
	m.mu.Lock()
	silent, echo := m.silent, m.echo
	m.mu.Unlock()
	if silent {
		return ""
	}
	if echo {
		m.write(line + "\r")
	}
	up := strings.ToUpper(line)
	switch {
	case up == "AT", up == "AT+CMEE=2", up == "AT+CMGF=1", up == "ATH", strings.HasPrefix(up, "AT+CSMP="):
		m.reply("OK")
	case up == "ATE0":
		m.set(func() { m.echo = false })
		m.reply("OK")
	case strings.HasPrefix(up, "AT+CSCS="):
		cs := strings.Trim(line[len("AT+CSCS="):], `"`)
		if cs != "GSM" && cs != "UCS2" && cs != "IRA" {
			m.reply("+CME ERROR: operation not supported")
			return ""
		}
		m.set(func() { m.charset = cs })
		m.reply("OK")
	case up == "AT+CREG?":
		m.mu.Lock()
		stat := "1"
		if m.unregistered {
			stat = "2" // searching
		}
		m.mu.Unlock()
		m.reply("+CREG: 0,"+stat, "OK")
	case up == "AT+CSQ":
		m.reply("+CSQ: 20,99", "OK")
	case strings.HasPrefix(up, "AT+CMGS="):
		to := strings.Trim(line[len("AT+CMGS="):], `"`)
		m.reply(">")
		return to
	case strings.HasPrefix(up, "ATD") && strings.HasSuffix(up, ";"):
		m.set(func() { m.calls = append(m.calls, line[3:len(line)-1]) })
		m.reply("OK")
	default:
		m.reply("ERROR")
	}
	return ""
}

// sms takes an SMS body and answers as the network did.
func (m *Modem) sms(to, body string) {
	m.mu.Lock()
	refuse, charset := m.refuse, m.charset
	m.mu.Unlock()
	if refuse {
		m.reply("+CMS ERROR: 500")
		return
	}
	if charset == "UCS2" {
		var err error
		if to, err = modem.DecodeUCS2(to); err == nil {
			body, err = modem.DecodeUCS2(body)
		}
		if err != nil {
			m.reply("+CMS ERROR: 304") // invalid PDU mode parameter: not UCS-2
			return
		}
	}
	m.mu.Lock()
	m.sent = append(m.sent, SMS{To: to, Text: body})
	m.n++
	n := m.n
	m.mu.Unlock()
	m.reply(fmt.Sprintf("+CMGS: %d", n), "OK")
}
