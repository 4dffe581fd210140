package contact_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/roomguard/roomguard/devices/contact"
	"github.com/roomguard/roomguard/devices/gpiosim"
)

func collect(d *contact.Dev) chan contact.Change {
	ch := make(chan contact.Change, 16)
	go d.Run(func(c contact.Change) { ch <- c })
	return ch
}

func expect(t *testing.T, ch chan contact.Change, active bool) {
	t.Helper()
	select {
	case c := <-ch:
		if c.Active != active {
			t.Fatalf("change to active=%v, want %v", c.Active, active)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no change to active=%v", active)
	}
}

// The real driver against periph's own fake pin: edges fed one by one.
func TestEdgesOnPeriphFakePin(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level, 4)}
	d, err := contact.New(pin, &contact.Opts{ActiveLevel: gpio.High, Pull: gpio.PullDown, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Halt()
	if d.Active() {
		t.Fatal("pulled down: want idle at start")
	}
	ch := collect(d)
	pin.EdgesChan <- gpio.High
	expect(t, ch, true)
	pin.EdgesChan <- gpio.Low
	expect(t, ch, false)
}

// Active-low wiring: the same driver, the level inverted by config only.
func TestActiveLow(t *testing.T) {
	pin := gpiosim.New("GPIO16")
	d, err := contact.New(pin, &contact.Opts{ActiveLevel: gpio.Low, Pull: gpio.PullUp})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Halt()
	if d.Active() {
		t.Fatal("pull-up, active-low: want idle at start")
	}
	ch := collect(d)
	pin.Set(gpio.Low)
	expect(t, ch, true)
}

// lostEdgePin changes level without ever reporting an edge, as when the
// kernel drops one.
type lostEdgePin struct{ *gpiosim.Pin }

func (p lostEdgePin) WaitForEdge(timeout time.Duration) bool {
	if timeout <= 0 {
		panic("WaitForEdge called with an unbounded timeout")
	}
	time.Sleep(timeout)
	return false
}

func TestLostEdgeIsCaughtByPolling(t *testing.T) {
	pin := lostEdgePin{gpiosim.New("GPIO27")}
	d, err := contact.New(pin, &contact.Opts{ActiveLevel: gpio.High, Pull: gpio.PullDown, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Halt()
	ch := collect(d)
	pin.Set(gpio.High)
	expect(t, ch, true)
}

func TestHaltStopsRun(t *testing.T) {
	pin := gpiosim.New("GPIO5")
	d, _ := contact.New(pin, nil)
	done := make(chan struct{})
	go func() { d.Run(func(contact.Change) {}); close(done) }()
	d.Halt()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Halt")
	}
}

func TestHaltWithoutRun(t *testing.T) {
	d, _ := contact.New(gpiosim.New("GPIO6"), nil)
	d.Halt() // must not block
}
