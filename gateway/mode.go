package gateway

import (
	"encoding/json"
	"strings"
	"time"
)

// Mode is what state the room is in.
type Mode string

const (
	ModeOpen   Mode = "open"   // in use
	ModeArmed  Mode = "armed"  // after hours, nobody inside
	ModeSealed Mode = "sealed" // holiday seal (节假日封门)
)

// PanelConfig holds the panel's timers, already checked against their bounds.
type PanelConfig struct {
	ExitDelay       time.Duration   // EN 50131 / SIA CP-01: default 60 s, 45–255 s
	EntryDelay      time.Duration   // default 30 s, 10–45 s (EN 50131: entry ≤ 45 s)
	SirenCutoff     time.Duration   // EN 50131: default 10 min, 2–15 min
	Escalation      []time.Duration // after the raise, while unacknowledged: default 1, 2, 3 min
	TwoPersonWindow time.Duration   // dual custody: 10 s
	Chirp           time.Duration   // the siren's chirp at an exit fault: 2 s
}

// DefaultPanelConfig is the panel with the defaults of DESIGN.md.
func DefaultPanelConfig() PanelConfig {
	return PanelConfig{ExitDelay: 60 * time.Second, EntryDelay: 30 * time.Second, SirenCutoff: 10 * time.Minute,
		Escalation: []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}, TwoPersonWindow: 10 * time.Second,
		Chirp: 2 * time.Second}
}

// Bypass excludes devices from the arming checks and from detection, for
// one arming only, with the reason and the person on record.
type Bypass struct {
	Devices []string  `json:"devices"`
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// Confirmation is the first person of a two-person operation.
type Confirmation struct {
	Op string    `json:"op"` // seal or unseal
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Via is the authenticated channel it came through (a principal, and
	// the console's session): the second person confirms through another.
	Via string `json:"via,omitempty"`
}

// Seal is a holiday seal in force.
type Seal struct {
	ID       string              `json:"id"`
	By       []string            `json:"by"`
	At       time.Time           `json:"at"`
	Seq      uint64              `json:"seq"` // the mode.sealed event
	Snapshot []DeviceState       `json:"snapshot"`
	Carriers map[string][]string `json:"carriers,omitempty"` // per safe, the carriers in it
	Broken   []string            `json:"broken,omitempty"`   // seal-broken alarm ids
}

// PanelState is the panel's whole state; it is saved with every change, in
// the same transaction as the change's events, and survives restarts.
type PanelState struct {
	Mode        Mode          `json:"mode"`
	Since       time.Time     `json:"since"`
	By          []string      `json:"by,omitempty"`
	ExitUntil   time.Time     `json:"exit_until,omitzero"`
	EntryUntil  time.Time     `json:"entry_until,omitzero"`
	EntryDevice string        `json:"entry_device,omitempty"`
	Bypass      *Bypass       `json:"bypass,omitempty"`   // registered for the next arming
	Bypassed    *Bypass       `json:"bypassed,omitempty"` // in force for this arming
	Pending     *Confirmation `json:"pending,omitempty"`
	Seal        *Seal         `json:"seal,omitempty"`
	// SealOnExit: the two people who confirmed a seal by their badges at
	// the inside reader; the exit delay running ends in the seal (when the
	// room is ready then) instead of the arming.
	SealOnExit []string  `json:"seal_on_exit,omitempty"`
	Alarms     []*Alarm  `json:"alarms"` // open alarms, oldest first
	NextAlarm  uint64    `json:"next_alarm"`
	SirenOn    bool      `json:"siren_on,omitempty"`
	SirenUntil time.Time `json:"siren_until,omitzero"`
}

// Triggered tells whether a break-in is open: an intrusion, a forced door,
// a broken seal or a safe opened while armed, not silent, not yet closed.
// An integration's panel shows it as triggered in any mode.
func (s *PanelState) Triggered() bool {
	for _, a := range s.Alarms {
		switch a.Class {
		case AlarmIntrusion, AlarmDoorForced, AlarmSealBroken, AlarmSafeOpened:
			if !a.Silent && !a.Closed() {
				return true
			}
		}
	}
	return false
}

func (s *PanelState) Clone() *PanelState {
	c := *s
	c.By = append([]string(nil), s.By...)
	c.SealOnExit = append([]string(nil), s.SealOnExit...)
	if s.Bypass != nil {
		b := *s.Bypass
		c.Bypass = &b
	}
	if s.Bypassed != nil {
		b := *s.Bypassed
		c.Bypassed = &b
	}
	if s.Pending != nil {
		p := *s.Pending
		c.Pending = &p
	}
	if s.Seal != nil {
		seal := *s.Seal
		seal.By = append([]string(nil), s.Seal.By...)
		seal.Snapshot = append([]DeviceState(nil), s.Seal.Snapshot...)
		seal.Broken = append([]string(nil), s.Seal.Broken...)
		c.Seal = &seal
	}
	c.Alarms = make([]*Alarm, len(s.Alarms))
	for i, a := range s.Alarms {
		x := *a
		c.Alarms[i] = &x
	}
	return &c
}

// PanelLog is what the panel needs of the log: the room's changes.
type PanelLog = ChangeLog

// PanelSink receives retained publications after they are committed. It
// must not block.
type PanelSink interface {
	Mode(payload json.RawMessage)
	Alarm(id string, payload json.RawMessage) // nil: the alarm closed, clear it
	SealReport(id string, payload json.RawMessage)
}

// Reason is one reason an operation is refused.
type Reason struct {
	Code   string `json:"code"`
	Device string `json:"device,omitempty"`
	Detail string `json:"detail"`
}

// RefusedError is an operation refused for reasons that can be listed: every
// one of them, so a guard fixes them all at once.
type RefusedError struct {
	Op      string
	Reasons []Reason
}

func (e *RefusedError) Error() string {
	var parts []string
	for _, r := range e.Reasons {
		parts = append(parts, r.Detail)
	}
	return e.Op + " refused: " + strings.Join(parts, "; ")
}
