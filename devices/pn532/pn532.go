package pn532

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roomguard/roomguard/devices/badge"
)

// ErrSilent is a PN532 that stopped answering.
var ErrSilent = errors.New("pn532: no answer (three commands unacknowledged)")

// ErrLine is a serial line that failed (the port went away).
var ErrLine = errors.New("pn532: serial line failed")

// ErrTimeout is one command unanswered in time.
var ErrTimeout = errors.New("pn532: timeout")

// Opts configures the driver.
type Opts struct {
	Now          func() time.Time // the protocol's timeouts; default time.Now
	Stamp        func() time.Time // stamps reads (and tells presentations apart); default Now
	AckTimeout   time.Duration    // default 100 ms (UM0701: ACK within 15 ms at most, roomy here)
	ReplyTimeout time.Duration    // default 1 s
	// PassiveRetries bounds InListPassiveTarget's activation retries (about
	// 10 ms each); default 0x10.
	PassiveRetries byte
	// Interval between polls; default 100 ms.
	Interval time.Duration
	Sleep    func(time.Duration) // default time.Sleep
}

// Dev is one PN532 on a serial line. The line's Read returns (0, io.EOF) or
// (0, nil) when idle for its read timeout (tarm/serial with ReadTimeout); a
// real error ends the driver.
type Dev struct {
	rw       io.ReadWriter
	o        Opts
	p        Parser
	Presence badge.Presence
	buf      [64]byte
	pending  []byte
	// Firmware is "IC version.revision" after Init.
	Firmware string
}

// New returns the driver for a PN532 on rw.
func New(rw io.ReadWriter, opts *Opts) *Dev {
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stamp == nil {
		o.Stamp = o.Now
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = 100 * time.Millisecond
	}
	if o.ReplyTimeout == 0 {
		o.ReplyTimeout = time.Second
	}
	if o.PassiveRetries == 0 {
		o.PassiveRetries = 0x10
	}
	if o.Interval == 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	return &Dev{rw: rw, o: o}
}

// Stats are the frame parser's counters.
func (d *Dev) Stats() Stats { return d.p.Stats }

// next reads the next frame before deadline.
func (d *Dev) next(deadline time.Time) (Frame, error) {
	for {
		for len(d.pending) > 0 {
			c := d.pending[0]
			d.pending = d.pending[1:]
			if f, ok := d.p.Feed(c); ok {
				return f, nil
			}
		}
		if !d.o.Now().Before(deadline) {
			return Frame{}, ErrTimeout
		}
		n, err := d.rw.Read(d.buf[:])
		d.pending = d.buf[:n]
		if err != nil && err != io.EOF {
			return Frame{}, fmt.Errorf("%w: read: %w", ErrLine, err)
		}
	}
}

// Call sends a command and returns its response's data (after the response
// code), with up to three tries when it is not acknowledged.
func (d *Dev) Call(cmd byte, params ...byte) ([]byte, error) {
	frame, err := Encode(HostToPN532, append([]byte{cmd}, params...))
	if err != nil {
		return nil, err
	}
	for try := 0; try < 3; try++ {
		if _, err := d.rw.Write(frame); err != nil {
			return nil, fmt.Errorf("%w: write: %w", ErrLine, err)
		}
		f, err := d.next(d.o.Now().Add(d.o.AckTimeout))
		if errors.Is(err, ErrTimeout) || (err == nil && f.Kind != Ack) {
			continue // lost or garbled: send again
		}
		if err != nil {
			return nil, err
		}
		for {
			f, err = d.next(d.o.Now().Add(d.o.ReplyTimeout))
			if err != nil {
				return nil, fmt.Errorf("pn532: command %#02x: %w", cmd, err)
			}
			switch {
			case f.Kind == Error:
				return nil, fmt.Errorf("pn532: command %#02x: the chip reported an error frame", cmd)
			case f.Kind == Data && f.TFI == PN532ToHost && len(f.Data) > 0 && f.Data[0] == cmd+1:
				return f.Data[1:], nil
			}
			// An ACK repeated or a stale response: keep reading.
		}
	}
	return nil, ErrSilent
}

// Init wakes the chip and prepares it for polling.
func (d *Dev) Init() error {
	wake := append([]byte{0x55, 0x55}, make([]byte, 14)...)
	if _, err := d.rw.Write(wake); err != nil {
		return fmt.Errorf("%w: write: %w", ErrLine, err)
	}
	if _, err := d.Call(CmdSAMConfiguration, 0x01, 0x14, 0x01); err != nil {
		return err
	}
	if v, err := d.Call(CmdGetFirmwareVersion); err == nil && len(v) >= 3 {
		d.Firmware = fmt.Sprintf("PN5%02X %d.%d", v[0], v[1], v[2])
	} else if err != nil {
		return err
	}
	// MxRtyATR (default), MxRtyPSL (default), MxRtyPassiveActivation.
	_, err := d.Call(CmdRFConfiguration, 0x05, 0xFF, 0x01, d.o.PassiveRetries)
	return err
}

// Poll looks for one card once.
func (d *Dev) Poll() (badge.Card, bool, error) {
	resp, err := d.Call(CmdInListPassiveTarget, 0x01, 0x00) // one target, 106 kbps type A
	if err != nil {
		return badge.Card{}, false, err
	}
	ts, err := ParseInList(resp)
	if err != nil {
		return badge.Card{}, false, err
	}
	if len(ts) == 0 {
		return badge.Card{}, false, nil
	}
	return badge.Card{Number: strings.ToUpper(fmt.Sprintf("%X", ts[0].UID)), Format: "iso14443a", At: d.o.Stamp()}, true, nil
}

// Run initialises the chip, calls ready, and polls until stop is closed or
// the chip goes silent or the line fails (the error says which); fn gets
// every new presentation.
func (d *Dev) Run(stop <-chan struct{}, ready func(), fn func(badge.Card)) error {
	if err := d.Init(); err != nil {
		return err
	}
	ready()
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		card, ok, err := d.Poll()
		if errors.Is(err, ErrSilent) || errors.Is(err, ErrLine) {
			return err
		}
		if ok && d.Presence.New(card.Number, card.At) {
			fn(card)
		}
		d.o.Sleep(d.o.Interval)
	}
}
