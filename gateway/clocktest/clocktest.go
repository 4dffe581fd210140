// Package clocktest is a manual gateway.Clock for tests: time moves only when
// the test says so, and timers fire as it passes their deadline.
package clocktest

import (
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Clock is a manual clock. The zero value is not usable; use New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	trusted bool
	timers  []*timer
}

type timer struct {
	at      time.Time
	f       func()
	stopped bool
}

// New returns a trusted clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start, trusted: true} }

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Clock) Trusted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trusted
}

// SetTrusted changes what Trusted reports.
func (c *Clock) SetTrusted(t bool) {
	c.mu.Lock()
	c.trusted = t
	c.mu.Unlock()
}

func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Pending is the number of timers that have not fired or been stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// Advance moves time forward by d, running due timers in deadline order, each
// synchronously and with the clock reading its deadline.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		// The earliest live timer that is due; ties go to the first set.
		var due *timer
		live := c.timers[:0]
		for _, t := range c.timers {
			if t.stopped {
				continue
			}
			live = append(live, t)
			if !t.at.After(end) && (due == nil || t.at.Before(due.at)) {
				due = t
			}
		}
		c.timers = live
		if due == nil {
			break
		}
		due.stopped = true
		if due.at.After(c.now) {
			c.now = due.at
		}
		c.mu.Unlock()
		due.f()
		c.mu.Lock()
	}
	c.now = end
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped {
			live = append(live, t)
		}
	}
	c.timers = live
	c.mu.Unlock()
}

var _ gateway.Clock = (*Clock)(nil)
