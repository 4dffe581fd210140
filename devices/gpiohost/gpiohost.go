// Package gpiohost opens the real board's GPIO pins through periph.io.
//
// A trap this package exists for: host.Init() succeeds on a machine with no
// GPIO at all (a laptop, a CI runner), registering no pins, and
// gpioreg.ByName then returns nil. Open turns that into an error that says so,
// at startup, instead of a nil pin failing later.
package gpiohost

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

var (
	initOnce sync.Once
	initErr  error
)

// Open returns the pin named name (e.g. "GPIO17"), initialising periph once.
func Open(name string) (gpio.PinIO, error) {
	initOnce.Do(func() {
		if _, err := host.Init(); err != nil {
			initErr = fmt.Errorf("gpiohost: periph host init: %w", err)
		}
	})
	if initErr != nil {
		return nil, initErr
	}
	return lookup(name, gpioreg.ByName, len(gpioreg.All()))
}

func lookup(name string, byName func(string) gpio.PinIO, known int) (gpio.PinIO, error) {
	p := byName(name)
	if p == nil {
		if known == 0 {
			return nil, fmt.Errorf("gpiohost: pin %s: this machine has no GPIO pins (not a Raspberry Pi?); use --sim to run a simulated room", name)
		}
		return nil, fmt.Errorf("gpiohost: pin %s: no such pin among the %d on this board (names are periph.io names, e.g. GPIO17)", name, known)
	}
	return p, nil
}
