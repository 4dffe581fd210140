// Package gpiosim provides simulated GPIO pins behind periph's gpio.PinIO, for
// the simulated room. Unlike periph's gpiotest.Pin (a fake that tests feed
// edge by edge), a gpiosim pin behaves like wire: the outside world sets its
// level with Set, the level is readable at once, and a waiting WaitForEdge
// wakes up. Outputs report what they are driven to.
package gpiosim

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// Pin is one simulated pin.
type Pin struct {
	name string

	mu     sync.Mutex
	level  gpio.Level
	driven bool // the outside world has set the level; pulls no longer decide it
	pull   gpio.Pull
	edge   gpio.Edge
	output bool
	onOut  func(gpio.Level)
	edges  chan struct{} // one pending edge notification, coalesced like hardware
}

// New returns a floating input pin named name.
func New(name string) *Pin { return &Pin{name: name, edges: make(chan struct{}, 1)} }

// Set drives the pin's level from outside (a door contact closing, say).
// Edges are reported only for the configured edge direction.
func (p *Pin) Set(l gpio.Level) {
	p.mu.Lock()
	old := p.level
	p.level, p.driven = l, true
	edge := p.edge
	p.mu.Unlock()
	if old == l {
		return
	}
	if edge == gpio.BothEdges || (edge == gpio.RisingEdge && l == gpio.High) || (edge == gpio.FallingEdge && l == gpio.Low) {
		select {
		case p.edges <- struct{}{}:
		default:
		}
	}
}

// Taken waits until whoever waits on the pin has taken its pending edge, or
// patience has passed; it reports whether the edge was taken. A simulated
// device that pulses a line faster than a reader drains it uses this where
// hardware would rely on the driver keeping up.
func (p *Pin) Taken(patience time.Duration) bool {
	deadline := time.Now().Add(patience)
	for len(p.edges) > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	return true
}

// OnOut registers f to be called, synchronously, whenever the pin is driven
// as an output.
func (p *Pin) OnOut(f func(gpio.Level)) {
	p.mu.Lock()
	p.onOut = f
	p.mu.Unlock()
}

// Level is the pin's current level.
func (p *Pin) Level() gpio.Level { return p.Read() }

func (p *Pin) String() string             { return p.name }
func (p *Pin) Name() string               { return p.name }
func (p *Pin) Number() int                { return -1 }
func (p *Pin) Function() string           { return string(p.Func()) }
func (p *Pin) Halt() error                { return nil }
func (p *Pin) SupportedFuncs() []pin.Func { return []pin.Func{gpio.IN, gpio.OUT} }
func (p *Pin) SetFunc(f pin.Func) error {
	switch f {
	case gpio.IN:
		return p.In(gpio.PullNoChange, gpio.NoEdge)
	case gpio.OUT:
		return p.Out(p.Read())
	}
	return fmt.Errorf("gpiosim: %s: function %s not supported", p.name, f)
}

func (p *Pin) Func() pin.Func {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.output {
		return gpio.OUT
	}
	return gpio.IN
}

// In implements gpio.PinIn.
func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.output = false
	if pull != gpio.PullNoChange {
		p.pull = pull
	}
	p.edge = edge
	if !p.driven {
		switch p.pull {
		case gpio.PullUp:
			p.level = gpio.High
		case gpio.PullDown:
			p.level = gpio.Low
		}
	}
	select { // like periph's drivers: edges before In are forgotten
	case <-p.edges:
	default:
	}
	return nil
}

// Read implements gpio.PinIn.
func (p *Pin) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn. A negative timeout waits forever; zero
// only reports an edge already pending.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	switch {
	case timeout < 0:
		<-p.edges
		return true
	case timeout == 0:
		select {
		case <-p.edges:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-t.C:
		return false
	}
}

func (p *Pin) Pull() gpio.Pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pull
}

func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out implements gpio.PinOut.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.output, p.level = true, l
	f := p.onOut
	p.mu.Unlock()
	if f != nil {
		f(l)
	}
	return nil
}

// PWM implements gpio.PinOut; simulated pins are on/off only.
func (p *Pin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("gpiosim: PWM not supported")
}

// Bank is a set of simulated pins by name, created on first use.
type Bank struct {
	mu   sync.Mutex
	pins map[string]*Pin
}

// NewBank returns an empty bank.
func NewBank() *Bank { return &Bank{pins: map[string]*Pin{}} }

// Pin returns the pin named name (case-insensitive), creating it.
func (b *Bank) Pin(name string) (gpio.PinIO, error) { return b.Sim(name), nil }

// Sim returns the simulated pin named name, creating it.
func (b *Bank) Sim(name string) *Pin {
	key := strings.ToUpper(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.pins[key]
	if !ok {
		p = New(name)
		b.pins[key] = p
	}
	return p
}

// Names lists the pins created so far.
func (b *Bank) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ns []string
	for _, p := range b.pins {
		ns = append(ns, p.name)
	}
	sort.Strings(ns)
	return ns
}

var _ gpio.PinIO = (*Pin)(nil)
