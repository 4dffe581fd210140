package dashboard

import (
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Handover is a shift handover (值班交接): the outgoing guard hands over the
// open alarms and notes; the incoming guard, another account, takes over.
// Both confirmations are recorded, with who and when.
type Handover struct {
	N        int64
	Outgoing string // console account
	OutAt    time.Time
	Notes    string
	Alarms   []HandedAlarm // open when handed over
	Incoming string        // "" until taken over
	InAt     time.Time
	InNotes  string
	// Console is the peer console it was handed over at and ConsoleN its
	// number there ("" : this one); InConsole where it was taken over.
	Console   string
	ConsoleN  int64
	InConsole string
}

// HandedAlarm is an open alarm as it was handed over.
type HandedAlarm struct {
	Room     string    `json:"room"`
	ID       string    `json:"id"`
	Class    string    `json:"class"`
	Priority int       `json:"priority"`
	Device   string    `json:"device,omitempty"`
	RaisedAt time.Time `json:"raised_at"`
	Acked    bool      `json:"acked"`
}

// MaxHandoverNotes bounds the notes of a handover.
const MaxHandoverNotes = 4000

// Taken tells whether the incoming guard has taken over.
func (h *Handover) Taken() bool { return h.Incoming != "" }

// CheckHandOver says what is wrong with handing over notes.
func CheckHandOver(notes string) error {
	if len([]rune(notes)) > MaxHandoverNotes {
		return gateway.Errorf(gateway.EINVALID, "handover notes: at most %d characters", MaxHandoverNotes)
	}
	return nil
}

// Take records that by takes over at: refused when it was taken already or
// by the guard who handed over (two confirmations are two people).
func (h *Handover) Take(by string, at time.Time, notes string) error {
	switch {
	case h.Taken():
		return gateway.Errorf(gateway.ECONFLICT, "handover %d was taken over by %s already", h.N, h.Incoming)
	case strings.EqualFold(strings.TrimSpace(by), strings.TrimSpace(h.Outgoing)):
		return gateway.Errorf(gateway.ECONFLICT, "handover %d: the guard who handed over cannot also take over; the incoming guard confirms with their own account", h.N)
	case len([]rune(notes)) > MaxHandoverNotes:
		return gateway.Errorf(gateway.EINVALID, "handover notes: at most %d characters", MaxHandoverNotes)
	}
	h.Incoming, h.InAt, h.InNotes = by, at, notes
	return nil
}
