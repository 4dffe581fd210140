// Package badge holds what every badge reader reports: a card number in one
// canonical text form, and the filter that turns a reader's repeated reads of
// a card held in the field into one presentation.
//
// Canonical card numbers, so the personnel register matches any reader:
//   - 125 kHz EM4100 (RDM6300): the 40-bit ID as 10 upper-case hex digits,
//     "62E3086CED";
//   - 13.56 MHz ISO 14443A (PN532): the UID as 8 or 14 upper-case hex digits,
//     "04A224E2";
//   - Wiegand: "<facility>:<card>" in decimal, "90:324".
package badge

import (
	"sync"
	"time"
)

// Card is one presentation of a card at a reader.
type Card struct {
	Number string    // canonical form (see the package doc)
	Format string    // em4100, iso14443a, h10301, h10306, h10304
	At     time.Time // when the read completed
}

// DefaultHold is how long a reader may stay quiet about a card still held in
// the field. An RDM6300 repeats its frame about every 100 ms while a card is
// present; a card read again after a longer silence was taken away and shown
// again.
const DefaultHold = time.Second

// Presence turns repeated reads into presentations: a read of the card last
// seen, less than Hold after its previous read, is the same presentation.
type Presence struct {
	Hold time.Duration

	mu   sync.Mutex
	last string
	at   time.Time
}

// New reports whether a read of number at t starts a new presentation.
func (p *Presence) New(number string, t time.Time) bool {
	hold := p.Hold
	if hold == 0 {
		hold = DefaultHold
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	same := number == p.last && t.Sub(p.at) < hold && !t.Before(p.at)
	p.last, p.at = number, t
	return !same
}
