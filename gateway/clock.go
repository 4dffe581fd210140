package gateway

import "time"

// Clock is the gateway's source of time. It is injected everywhere a delay,
// a timeout or a timestamp matters, so tests drive time without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d and returns a function
	// that cancels the call (reporting whether it did).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
	// Trusted reports whether the wall clock is believed correct. A Pi has no
	// battery-backed clock: until NTP synchronises it, time is a guess.
	Trusted() bool
}
