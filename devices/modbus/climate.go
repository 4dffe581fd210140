package modbus

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Climate is an XY-MD02-style temperature and humidity sensor.
type Climate struct {
	Addr  byte          // its bus address (default 1)
	Every time.Duration // how often it is read (default 30 s)
	// Timeout is how long an answer may take (default 1 s); Misses in a
	// row (default 3) and the line is given up (the supervisor reopens it
	// and the room hears of the fault).
	Timeout time.Duration
	Misses  int
	Now     func() time.Time // stamps readings (default time.Now)
}

// Reading is one measurement.
type Reading struct {
	Temperature float64 // °C
	Humidity    float64 // % RH
	At          time.Time
}

// ErrStopped is returned when stop closes.
var ErrStopped = errors.New("modbus: stopped")

// Run reads the sensor on port until stop closes or the sensor stops
// answering, calling ready at its first answer and report with each
// reading. A bad CRC or a refusal counts as a miss.
func (c *Climate) Run(port io.ReadWriter, stop <-chan struct{}, ready func(), report func(Reading)) error {
	addr, every, timeout, misses, now := c.Addr, c.Every, c.Timeout, c.Misses, c.Now
	if addr == 0 {
		addr = 1
	}
	if every <= 0 {
		every = 30 * time.Second
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	if misses <= 0 {
		misses = 3
	}
	if now == nil {
		now = time.Now
	}
	missed, answered := 0, false
	for {
		regs, err := Read(port, addr, 1, 2, timeout)
		if err == nil {
			missed = 0
			if !answered {
				answered = true
				ready()
			}
			report(Reading{Temperature: float64(int16(regs[0])) / 10, Humidity: float64(regs[1]) / 10, At: now()})
		} else if missed++; missed >= misses {
			return fmt.Errorf("modbus: sensor %d: %d reads in a row failed, the last: %w", addr, missed, err)
		}
		select {
		case <-stop:
			return ErrStopped
		case <-time.After(every):
		}
	}
}
