// Package sysclock is the gateway's real clock. It trusts the wall clock only
// when the kernel says NTP has synchronised it (adjtimex without STA_UNSYNC):
// a Raspberry Pi has no battery-backed clock and boots with a guess.
package sysclock

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/roomguard/roomguard/gateway"
)

// Trust says how the clock decides whether it is trusted.
type Trust string

const (
	TrustKernel Trust = "kernel" // trusted when the kernel reports the clock synchronised
	TrustAlways Trust = "always" // for rooms with a reliable hardware clock
	TrustNever  Trust = "never"  // every timestamp is flagged
)

// recheck is how long one kernel answer is reused.
const recheck = 10 * time.Second

// Clock is the system clock.
type Clock struct {
	trust Trust

	mu      sync.Mutex
	checked time.Time
	synced  bool
}

// New returns the system clock with the given trust rule.
func New(trust Trust) *Clock { return &Clock{trust: trust} }

func (c *Clock) Now() time.Time { return time.Now() }

func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

func (c *Clock) Trusted() bool {
	switch c.trust {
	case TrustAlways:
		return true
	case TrustNever:
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) > recheck || now.Before(c.checked) {
		c.synced = KernelSynced()
		c.checked = now
	}
	return c.synced
}

// KernelSynced asks the kernel whether the clock is synchronised.
func KernelSynced() bool {
	var tx unix.Timex // Modes 0: read only, no privilege needed
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}

var _ gateway.Clock = (*Clock)(nil)
