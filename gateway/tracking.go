package gateway

import "time"

// Location is what one antenna of a UHF reader watches.
type Location struct {
	Kind string // LocSafe or LocGate
	ID   string // the safe's id, or the door the gate is at
}

const (
	LocSafe = "safe"
	LocGate = "gate"
)

// Antenna names one antenna of one reader.
type Antenna struct {
	Reader  string
	Antenna int
}

// VaultConfig configures carrier tracking.
type VaultConfig struct {
	Antennas map[Antenna]Location
	// Departure: a carrier not seen in its safe for this long, and not
	// signed out, is away.
	Departure time.Duration
	// Present: a sighting this recent counts as "there now" in an
	// inventory.
	Present time.Duration
	// MaxLoan bounds a sign-out's due time unless an approver extends it.
	MaxLoan time.Duration
	// CirculationLimit bounds a circulated copy's due time (传阅).
	CirculationLimit time.Duration
	// LossGrace: a carrier an inventory found missing and not found within
	// this long is reported lost by the room (丢失报告); 0: never.
	LossGrace time.Duration
}

// VaultLog is what carrier tracking reads of the log at start; its steps
// are saved with the room's change.
type VaultLog interface {
	// LoadCarriers returns the register, the saved states and the open
	// sign-outs.
	LoadCarriers() ([]Carrier, []CarrierState, []SignOut, error)
}

// VaultSink receives each carrier's state after every change, and every
// inventory report. It must not block.
type VaultSink interface {
	CarrierState(id string, payload []byte)
	InventoryReport(id string, payload []byte)
}

// SecondWindow is how long a top-secret sign-out waits for its second
// person's own confirmation (carrier/approve) before it must be asked again.
const SecondWindow = 5 * time.Minute

// StepWindow is how long a step of a carrier's life that waits for
// people's own confirmations (a destruction's approver and witnesses, a
// reader's receipt, a custody transfer's two people) stays open before it
// must be asked again.
const StepWindow = time.Hour

// Pending is a step of carriers' lives waiting for the confirmations of
// the people it names, each through their own channel (a signed command
// from their session or key, or their badge at the room's reader).
type Pending struct {
	ID       string    `json:"id"`
	Op       string    `json:"op"` // the command that asked for it
	Carriers []string  `json:"carriers"`
	By       string    `json:"by"`
	Via      string    `json:"-"`
	At       time.Time `json:"at"`
	Parties  []Party   `json:"parties"`
	Done     bool      `json:"done"`
	// Ref is what the step made once done: the destruction list, the
	// sign-out, the copies' document.
	Ref string `json:"ref,omitempty"`
}

// Party is one person a pending step waits for.
type Party struct {
	Person string    `json:"person"`
	As     string    `json:"as"` // approver, witness, reader, outgoing, incoming
	Via    string    `json:"-"`
	At     time.Time `json:"at,omitzero"`
}

// Waiting lists the people who have not confirmed yet.
func (p *Pending) Waiting() []string {
	var out []string
	for _, x := range p.Parties {
		if x.At.IsZero() {
			out = append(out, x.Person)
		}
	}
	return out
}

// SignOutRequest is what a clerk fills in to sign a carrier out.
type SignOutRequest struct {
	Carrier  string
	Borrower string
	Second   string // for a top-secret carrier
	Purpose  string
	Due      time.Time // zero: the end of the working day
	MayLeave bool
	Approver string // needed when MayLeave, or a due time past MaxLoan
	By       string
	Via      string // the channel it came through (see SignOut.Via)
}
