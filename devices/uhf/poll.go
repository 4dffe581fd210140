package uhf

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Protocol is one reader family's side of a poll.
type Protocol interface {
	// Poll is the command that reads every tag in the field once.
	Poll() []byte
	// Feed parses bytes from the line, calling fn for every tag read. It
	// reports whether the reader answered (a valid frame came) and whether
	// the answer to the poll is complete.
	Feed(b []byte, fn func(Read)) (answered, done bool)
	// Quiet says the poll's window has ended: a partial frame still pending
	// is noise (a frame takes milliseconds), and the frames behind it are
	// parsed.
	Quiet(fn func(Read))
}

// Opts configures the poll loop.
type Opts struct {
	Now      func() time.Time // the protocol's timing; default time.Now
	Stamp    func() time.Time // stamps reads (and so dedup); default Now
	Window   time.Duration    // how long a poll's answer may take; default 300 ms
	Interval time.Duration    // pause between polls; default 200 ms
	// Silent is how many polls in a row may go unanswered before the reader
	// is reported silent; default 5 (about 2.5 s, well inside the 10 s a
	// fault must take).
	Silent int
	Sleep  func(time.Duration) // default time.Sleep
	// Dedup window; default DefaultWindow.
	Dedup time.Duration
}

// ErrSilent is a reader that stopped answering polls.
var ErrSilent = errors.New("uhf: the reader does not answer")

// ErrLine is a failure of the serial line itself.
var ErrLine = errors.New("uhf: serial line")

// Run polls the reader on rw until stop is closed, calling fn for every new
// sighting. ready is called once the reader has answered a poll. It returns
// ErrSilent when the reader stops answering and an ErrLine error when the
// line fails. rw's Read returns (0, io.EOF) or (0, nil) when idle for its
// read timeout (tarm/serial with ReadTimeout).
func Run(rw io.ReadWriter, p Protocol, stop <-chan struct{}, ready func(), opts *Opts, fn func(Read)) error {
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
	if o.Window == 0 {
		o.Window = 300 * time.Millisecond
	}
	if o.Interval == 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.Silent == 0 {
		o.Silent = 5
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	dedup := Dedup{Window: o.Dedup}
	seen := func(r Read) {
		r.At = o.Stamp()
		if dedup.New(r) {
			fn(r)
		}
	}
	buf := make([]byte, 512)
	unanswered, isReady := 0, false
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if _, err := rw.Write(p.Poll()); err != nil {
			return fmt.Errorf("%w: write: %w", ErrLine, err)
		}
		answered := false
		for deadline := o.Now().Add(o.Window); o.Now().Before(deadline); {
			n, err := rw.Read(buf)
			if err != nil && err != io.EOF {
				return fmt.Errorf("%w: read: %w", ErrLine, err)
			}
			if n == 0 {
				continue
			}
			a, done := p.Feed(buf[:n], seen)
			answered = answered || a
			if done {
				break
			}
		}
		p.Quiet(seen)
		if answered {
			unanswered = 0
			if !isReady {
				isReady = true
				ready()
			}
		} else if unanswered++; unanswered >= o.Silent {
			return ErrSilent
		}
		o.Sleep(o.Interval)
	}
}
