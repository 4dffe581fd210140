package contact

import "time"

// debouncer accepts a new level only after it has held for window. It is a
// pure state machine on the times it is given, so it is tested without sleeping.
type debouncer struct {
	window    time.Duration
	stable    bool      // the accepted state
	pending   bool      // a different state is being watched
	candidate bool      // that state
	since     time.Time // when it was first seen
}

// observe records the state seen at now and reports an accepted change, with
// the time the new state was first seen.
func (d *debouncer) observe(active bool, now time.Time) (changed bool, at time.Time) {
	if active == d.stable {
		d.pending = false
		return false, time.Time{}
	}
	if !d.pending || d.candidate != active {
		d.pending, d.candidate, d.since = true, active, now
	}
	if now.Sub(d.since) >= d.window {
		d.stable, d.pending = active, false
		return true, d.since
	}
	return false, time.Time{}
}

// deadline is when a pending change will be accepted if the level holds.
func (d *debouncer) deadline() (time.Time, bool) {
	return d.since.Add(d.window), d.pending
}
