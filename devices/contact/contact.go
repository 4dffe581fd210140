package contact

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Opts configures an input.
type Opts struct {
	ActiveLevel gpio.Level    // the level when the input is active (door open …)
	Pull        gpio.Pull     // the pin's pull resistor
	Debounce    time.Duration // how long a level must hold to count
	Poll        time.Duration // periodic level read; at most this long between reads
	Now         func() time.Time
}

// DefaultOpts: a contact to ground with the Pi's pull-up, open = high.
var DefaultOpts = Opts{ActiveLevel: gpio.High, Pull: gpio.PullUp, Debounce: 50 * time.Millisecond, Poll: 250 * time.Millisecond}

// Change is an accepted change of state.
type Change struct {
	Active bool
	At     time.Time // when the new level was first seen
}

// Dev is one input.
type Dev struct {
	pin  gpio.PinIn
	opts Opts

	mu      sync.Mutex
	deb     debouncer
	halted  chan struct{}
	done    chan struct{}
	once    sync.Once
	running bool // Run was called; guarded by mu
}

// New configures pin as an input with both edges and reads its state.
func New(pin gpio.PinIn, opts *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("contact: nil pin")
	}
	o := DefaultOpts
	if opts != nil {
		o = *opts
	}
	if o.Poll <= 0 {
		o.Poll = DefaultOpts.Poll
	}
	if o.Debounce < 0 {
		return nil, fmt.Errorf("contact: %s: negative debounce", pin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := pin.In(o.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("contact: %s: %w", pin, err)
	}
	d := &Dev{pin: pin, opts: o, halted: make(chan struct{}), done: make(chan struct{})}
	d.deb = debouncer{window: o.Debounce, stable: pin.Read() == o.ActiveLevel}
	return d, nil
}

// Active is the accepted (debounced) state.
func (d *Dev) Active() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deb.stable
}

// String names the pin.
func (d *Dev) String() string { return fmt.Sprint(d.pin) }

// Run reads the input until Halt, calling report for every accepted change,
// in order, from this goroutine.
func (d *Dev) Run(report func(Change)) {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		panic("contact: Run called twice")
	}
	d.running = true
	d.mu.Unlock()
	defer close(d.done)
	for {
		select {
		case <-d.halted:
			return
		default:
		}
		wait := d.opts.Poll
		d.mu.Lock()
		if at, ok := d.deb.deadline(); ok {
			if until := at.Sub(d.opts.Now()); until < wait {
				wait = until
			}
		}
		d.mu.Unlock()
		if wait < time.Millisecond {
			wait = time.Millisecond // bounded and positive, always
		}
		d.pin.WaitForEdge(wait)
		level := d.pin.Read()
		d.mu.Lock()
		changed, at := d.deb.observe(level == d.opts.ActiveLevel, d.opts.Now())
		active := d.deb.stable
		d.mu.Unlock()
		if changed {
			report(Change{Active: active, At: at})
		}
	}
}

// Halt stops Run (within one poll interval) and waits for it to return.
func (d *Dev) Halt() error {
	d.once.Do(func() { close(d.halted) })
	d.mu.Lock()
	running := d.running
	d.mu.Unlock()
	if running {
		<-d.done
	}
	return nil
}
