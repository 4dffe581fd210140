package wiegand

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/badge"
)

// FrameGap ends a frame: no bit for this long.
const FrameGap = 25 * time.Millisecond

// maxBits bounds a frame: noise on a line cannot grow one without end.
const maxBits = 64

// Stats counts frames thrown away.
type Stats struct {
	Frames int // good frames
	Bad    int // unknown length or parity error
}

// Receiver assembles bits into frames by their timing. It is the pure part
// of the driver: tests feed it bits with the times they came.
type Receiver struct {
	Presence badge.Presence
	Stats    Stats
	// LastError is why the last bad frame was thrown away.
	LastError error
	// Stamp, when set, stamps each card (and tells presentations apart);
	// otherwise a card is stamped with the time of its last bit. The bits'
	// own times are the protocol's, on the real clock.
	Stamp func() time.Time

	bits []byte
	last time.Time
}

// Bit adds a bit that came at t. A bit after a gap of FrameGap or more first
// ends the frame before it.
func (r *Receiver) Bit(b byte, t time.Time, fn func(badge.Card)) {
	if len(r.bits) > 0 && t.Sub(r.last) >= FrameGap {
		r.end(r.last, fn)
	}
	if len(r.bits) < maxBits {
		r.bits = append(r.bits, b)
	}
	r.last = t
}

// Idle ends the frame in progress if now is FrameGap past its last bit; it
// reports whether a frame is still in progress.
func (r *Receiver) Idle(now time.Time, fn func(badge.Card)) bool {
	if len(r.bits) > 0 && now.Sub(r.last) >= FrameGap {
		r.end(r.last, fn)
	}
	return len(r.bits) > 0
}

func (r *Receiver) end(at time.Time, fn func(badge.Card)) {
	c, err := Decode(r.bits)
	r.bits = r.bits[:0]
	if err != nil {
		r.Stats.Bad++
		r.LastError = err
		return
	}
	r.Stats.Frames++
	card := c.badgeCard()
	card.At = at
	if r.Stamp != nil {
		card.At = r.Stamp()
	}
	if r.Presence.New(card.Number, at) {
		fn(card)
	}
}

// Opts configures a reader on two lines.
type Opts struct {
	Now   func() time.Time // the protocol's timing (the 25 ms gap); default time.Now
	Stamp func() time.Time // stamps cards (and tells presentations apart); default Now
}

// Dev is a Wiegand reader on two GPIO lines.
type Dev struct {
	d0, d1 gpio.PinIn
	now    func() time.Time
	Recv   Receiver

	mu     sync.Mutex
	halted chan struct{}
	once   sync.Once
}

// New sets both lines as inputs with pull-ups, woken on falling edges.
func New(d0, d1 gpio.PinIn, opts *Opts) (*Dev, error) {
	if d0 == nil || d1 == nil {
		return nil, errors.New("wiegand: nil pin")
	}
	d := &Dev{d0: d0, d1: d1, now: time.Now, halted: make(chan struct{})}
	if opts != nil && opts.Now != nil {
		d.now = opts.Now
	}
	if opts != nil && opts.Stamp != nil {
		d.Recv.Stamp = opts.Stamp
	}
	for _, p := range []gpio.PinIn{d0, d1} {
		if err := p.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			return nil, fmt.Errorf("wiegand: %s: %w", p, err)
		}
	}
	return d, nil
}

type bitAt struct {
	b  byte
	at time.Time
}

// Run reads frames until Halt, calling fn for every card presentation.
func (d *Dev) Run(fn func(badge.Card)) {
	bits := make(chan bitAt, maxBits)
	var wg sync.WaitGroup
	for i, p := range []gpio.PinIn{d.d0, d.d1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-d.halted:
					return
				default:
				}
				// Bounded waits, so Halt is seen (see devices/contact).
				if p.WaitForEdge(100 * time.Millisecond) {
					bits <- bitAt{byte(i), d.now()}
				}
			}
		}()
	}
	defer wg.Wait()
	tick := time.NewTicker(FrameGap / 5)
	defer tick.Stop()
	for {
		select {
		case <-d.halted:
			return
		case b := <-bits:
			d.mu.Lock()
			d.Recv.Bit(b.b, b.at, fn)
			d.mu.Unlock()
		case <-tick.C:
			d.mu.Lock()
			d.Recv.Idle(d.now(), fn)
			d.mu.Unlock()
		}
	}
}

// Halt stops Run.
func (d *Dev) Halt() error {
	d.once.Do(func() { close(d.halted) })
	return nil
}
