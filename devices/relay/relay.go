// Package relay drives binary outputs on a GPIO pin: the door strike, the
// siren, an indicator lamp. An output is held on or off, or pulsed on for a
// time (a door strike release); a new pulse while one runs restarts its time.
package relay

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Opts configures an output.
type Opts struct {
	ActiveLevel gpio.Level // the level that drives the output on
	// AfterFunc schedules f after d and returns its cancel function; injected
	// so pulses are tested without sleeping.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// OnChange is called, synchronously and in order, whenever the output
	// turns on or off; pulse is the pulse length when a pulse turned it on.
	OnChange func(on bool, pulse time.Duration)
	// OnError is told when the end of a pulse could not drive the pin off
	// (nobody waits for it to return the error).
	OnError func(err error)
}

// Dev is one output. It starts off.
type Dev struct {
	pin  gpio.PinOut
	opts Opts

	mu        sync.Mutex
	on        bool
	stopPulse func() bool
	gen       uint64 // identifies the current pulse, so a stale timer does nothing
}

// New drives pin off and returns the output.
func New(pin gpio.PinOut, opts *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("relay: nil pin")
	}
	o := Opts{ActiveLevel: gpio.High}
	if opts != nil {
		o = *opts
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	d := &Dev{pin: pin, opts: o}
	if err := pin.Out(!o.ActiveLevel); err != nil {
		return nil, fmt.Errorf("relay: %s: %w", pin, err)
	}
	return d, nil
}

// On reports whether the output is driven on.
func (d *Dev) On() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.on
}

// Set holds the output on or off, ending any pulse.
func (d *Dev) Set(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancelPulse()
	return d.drive(on, 0)
}

// Pulse turns the output on for dur, then off.
func (d *Dev) Pulse(dur time.Duration) error {
	if dur <= 0 {
		return fmt.Errorf("relay: %s: pulse of %s", d.pin, dur)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancelPulse()
	d.gen++
	gen := d.gen
	if err := d.drive(true, dur); err != nil {
		return err
	}
	d.stopPulse = d.opts.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.stopPulse = nil
			if err := d.drive(false, 0); err != nil && d.opts.OnError != nil {
				d.opts.OnError(err) // nobody waits for a pulse's end
			}
		}
	})
	return nil
}

// Halt turns the output off.
func (d *Dev) Halt() error { return d.Set(false) }

func (d *Dev) cancelPulse() {
	if d.stopPulse != nil {
		d.stopPulse()
		d.stopPulse = nil
	}
	d.gen++
}

// drive sets the pin; called with mu held. A pulse that re-triggers an output
// already on reports again, so the log shows every release.
func (d *Dev) drive(on bool, pulse time.Duration) error {
	level := d.opts.ActiveLevel
	if !on {
		level = !level
	}
	if err := d.pin.Out(level); err != nil {
		return fmt.Errorf("relay: %s: %w", d.pin, err)
	}
	changed := d.on != on
	d.on = on
	if d.opts.OnChange != nil && (changed || pulse > 0) {
		d.opts.OnChange(on, pulse)
	}
	return nil
}
