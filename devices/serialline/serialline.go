// Package serialline keeps a serial device open: it opens the port through
// tarm/serial with a read timeout, runs the device's driver on it, and when
// the port fails or disappears (a USB adapter pulled out) reports the fault
// and reopens the port until it comes back.
//
// The read timeout matters: without one, tarm/serial's Read blocks until a
// byte arrives and Close cannot end it; with one, an idle Read returns
// (0, io.EOF), which means "nothing yet", not the end of the line.
package serialline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// Port is an open serial port.
type Port = io.ReadWriteCloser

// Open opens path at baud, 8N1, with reads that return after timeout.
func Open(path string, baud int, timeout time.Duration) (Port, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("serialline: open %s: %w", path, err)
	}
	return p, nil
}

// Opts configures a supervised line.
type Opts struct {
	Path        string
	Baud        int
	ReadTimeout time.Duration // default 100 ms
	Retry       time.Duration // between reopen attempts; default 1 s
	// Open opens the port; default Open (tests pass a fake).
	Open func(path string, baud int, timeout time.Duration) (Port, error)
	// Status is told when the device becomes ready (up, nil) and when it
	// fails (false, why): once per change, not once per retry.
	Status func(up bool, err error)
	Sleep  func(time.Duration) // default time.Sleep
	// Heard, when set, keeps when the line last brought a byte.
	Heard *Heard
}

// Heard is when a line last brought a byte (the wall clock's: a
// measurement of the wire, for metrics), safe to read from any goroutine.
type Heard struct{ at atomic.Int64 }

// Last is when the line last brought a byte (zero: never).
func (h *Heard) Last() time.Time {
	if ns := h.at.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// ErrStopped is returned by a driver that ended because stop was closed.
var ErrStopped = errors.New("serialline: stopped")

// Supervise runs driver on the port until stop is closed, reopening the port
// whenever the driver returns. The driver calls ready once the device
// answers (at once, for a device that only talks), and returns when the line
// fails or stop is closed.
func Supervise(stop <-chan struct{}, o Opts, driver func(port Port, stop <-chan struct{}, ready func()) error) {
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 100 * time.Millisecond
	}
	if o.Retry == 0 {
		o.Retry = time.Second
	}
	if o.Open == nil {
		o.Open = Open
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	state := 0 // 0 unknown, 1 up, -1 down
	report := func(up bool, err error) {
		s := -1
		if up {
			s = 1
		}
		if s != state && o.Status != nil {
			o.Status(up, err)
		}
		state = s
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		port, err := o.Open(o.Path, o.Baud, o.ReadTimeout)
		if err != nil {
			report(false, err)
			o.Sleep(o.Retry)
			continue
		}
		port = &hangup{Port: port, timeout: o.ReadTimeout, heard: o.Heard}
		done := make(chan struct{})
		closed := make(chan struct{})
		var stopErr error // closing the port to unblock the read at stop
		go func() {       // Close unblocks the driver's read when stop comes
			select {
			case <-stop:
				stopErr = port.Close()
			case <-done:
			}
			close(closed)
		}()
		err = driver(port, stop, func() { report(true, nil) })
		close(done)
		<-closed
		cerr := stopErr
		if cerr == nil {
			cerr = port.Close()
		}
		closeFailed := cerr != nil && !errors.Is(cerr, os.ErrClosed)
		select {
		case <-stop:
			if closeFailed { // the line is being stopped, but a port that will not close is a fault
				report(false, fmt.Errorf("serialline: close: %w", cerr))
			}
			return
		default:
		}
		if err == nil && closeFailed {
			err = fmt.Errorf("serialline: close: %w", cerr)
		}
		if err == nil {
			err = errors.New("serialline: the driver ended")
		}
		report(false, err)
		o.Sleep(o.Retry)
	}
}

// ErrHangup is the error of a line the kernel has hung up.
var ErrHangup = errors.New("serialline: the line was hung up (device unplugged?)")

// hangup tells a hung-up line from an idle one. When a USB adapter is
// pulled out (or a pseudo-terminal's other side closes) the kernel hangs the
// tty up, and from then on every read returns at once with nothing — the
// same (0, io.EOF) that tarm/serial returns for an idle line, but without
// waiting out the read timeout. Several such instant empty reads in a row
// are a hangup.
type hangup struct {
	Port
	timeout time.Duration
	quick   int
	heard   *Heard
}

// quickReads in a row make a hangup; one could be a read that raced the
// timer.
const quickReads = 5

func (h *hangup) Read(b []byte) (int, error) {
	start := time.Now()
	n, err := h.Port.Read(b)
	if n > 0 && h.heard != nil {
		h.heard.at.Store(time.Now().UnixNano())
	}
	if n > 0 || err != io.EOF || time.Since(start) >= h.timeout/2 {
		h.quick = 0
		return n, err
	}
	if h.quick++; h.quick >= quickReads {
		return 0, ErrHangup
	}
	return n, err
}

// Reader adapts a port for a decoder that reads until io.EOF: idle reads
// (io.EOF from the read timeout) are retried until stop is closed, so the
// decoder sees io.EOF only at the end, and a real failure as an error.
type Reader struct {
	Port Port
	Stop <-chan struct{}
}

func (r Reader) Read(b []byte) (int, error) {
	for {
		n, err := r.Port.Read(b)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		select {
		case <-r.Stop:
			return 0, io.EOF
		default:
		}
	}
}
