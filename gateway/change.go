package gateway

import (
	"encoding/json"
	"time"
)

// Change is one unit of work of the room as the log keeps it: an input, a
// badge, a command or a timer's events and everything they lead to — the
// device states, the panel's state, who is inside, visits, the carriers'
// states and sign-outs, an inventory, a seal report — written in ONE
// transaction, so the log never holds an event without its consequences nor
// a state without the event that set it. A nil or empty part is unchanged.
type Change struct {
	Events    []Event
	States    []StateAt   // device states, each with the index in Events of the event that set it
	Panel     *PanelState // the panel's whole state after the change
	Access    *AccessState
	Visits    []Visit // registered or checked out
	Carriers  []CarrierState
	SignOuts  []SignOut
	Inventory *InventoryReport
	Seal      *SealReport
	// Registers replaced whole by a command, each with its <name>.replaced
	// event after the change's own.
	Registers []RegisterChange
	// Logged, when set, is told the events with their seqs inside the
	// transaction, before Panel is written: the state that names an
	// event's seq (an alarm's raised_seq, a seal's) is saved in the same
	// commit as the event.
	Logged func(events []Event)
}

// RegisterChange is a register a command replaces whole: personnel/replace,
// carriers/replace, calldown/replace (its Name), as Version, by whom, with
// its rows (checked).
type RegisterChange struct {
	Name     string // "personnel", "carriers", "calldown"
	Version  int64
	By       string
	At       time.Time
	People   []Person
	Carriers []Carrier
	Calldown json.RawMessage
}

// StateAt is a device state and the index, among the events saved with it,
// of the event that set it.
type StateAt struct {
	State DeviceState
	Event int
}

// ChangeLog is what the room needs of its log: each change committed whole
// (Seq and ID filled in on the returned events), and what it reads back.
type ChangeLog interface {
	SaveChange(c *Change) ([]Event, error)
	LoadPanel() (*PanelState, error) // nil when the room never had one
	Query(f EventFilter) ([]Event, error)
	LastSeq() (uint64, error)
	// Head is the chain's head: the last event committed and its hash.
	Head() (seq uint64, hash string)
}
