package gateway

import (
	"encoding/json"
	"time"
)

// Direction is the way a reader lets people through.
type Direction string

const (
	DirIn  Direction = "in"  // a reader outside the door
	DirOut Direction = "out" // a reader inside the door
)

// Reason codes of a denial.
const (
	DenyUnknownCard     = "unknown_card"
	DenyExpired         = "expired"
	DenyNotYetValid     = "not_yet_valid"
	DenyOutsideSchedule = "outside_schedule"
	DenyHoliday         = "holiday"
	DenyRoomNotAllowed  = "room_not_allowed"
	DenyArmedNoRight    = "armed_no_disarm_right"
	DenySealed          = "sealed"
	DenyAntiPassback    = "anti_passback"
	DenyNoEscort        = "visitor_without_escort"
	DenyWaitingSecond   = "waiting_second_person"
	DenyVisitClosed     = "visit_closed"
)

// DenyReasons are every reason code of a denial.
var DenyReasons = []string{DenyUnknownCard, DenyExpired, DenyNotYetValid, DenyOutsideSchedule, DenyHoliday,
	DenyRoomNotAllowed, DenyArmedNoRight, DenySealed, DenyAntiPassback, DenyNoEscort, DenyWaitingSecond, DenyVisitClosed}

// AccessDoor is a door under entry control.
type AccessDoor struct {
	ID          string        // the door contact input
	Strike      string        // the door-strike output
	ExitButton  string        // the exit-button input, if any
	Pulse       time.Duration // strike release: the grant's time to open the door (5 s)
	HeldWarning time.Duration // door open this long: a warning (15 s)
	HeldOpen    time.Duration // door open this long: door-held-open alarm (30 s)
}

// AccessReader is a badge reader at a door.
type AccessReader struct {
	ID        string
	Door      string
	Direction Direction
}

// AccessConfig is the room's entry control.
type AccessConfig struct {
	Doors        []AccessDoor
	Readers      []AccessReader
	TwoPerson    bool          // two distinct authorized people within PairWindow
	AntiPassback bool          // no entry for who is already inside
	ArmWhenEmpty bool          // the last one out through a reader arms the room
	Denials      int           // consecutive denials at a reader that raise an alarm (GB 50396: 5)
	PairWindow   time.Duration // two-person rule and escort: 10 s
}

// Register is the gateway's copy of the personnel register and the visits.
type Register interface {
	PersonByCard(card string) (*Person, error) // nil, nil: no such card
	Person(id string) (*Person, error)         // nil, nil: no such person
	VisitByCard(card string) (*Visit, error)   // the open visit holding the card
	Visit(id string) (*Visit, error)           // nil, nil: no such visit
	// Installed reports whether a personnel register was ever installed
	// in the room (its version above zero), even one that holds nobody.
	Installed() (bool, error)
	// RegisterVersion is the version held of register name (personnel,
	// carriers, calldown): 0 before the first.
	RegisterVersion(name string) (int64, error)
}

// Occupant is someone inside.
type Occupant struct {
	ID      string    `json:"id"` // person id, or visit id for a visitor
	Name    string    `json:"name"`
	Since   time.Time `json:"since"`
	Visitor bool      `json:"visitor,omitempty"`
	Escort  string    `json:"escort,omitempty"` // for a visitor: the escort's person id
}

// AccessState is what survives a restart: who is inside.
type AccessState struct {
	Inside []Occupant `json:"inside"`
}

// AccessLog is what entry control reads of the log at start; its steps are
// saved with the room's change.
type AccessLog interface {
	LoadAccess() (*AccessState, error) // nil when never saved
}

// AccessSink receives the occupancy after every change. It must not block.
type AccessSink interface {
	Occupancy(payload json.RawMessage)
}

// Decision is the answer to one badge.
type Decision struct {
	Granted   bool
	Reason    string // a Deny… code when denied
	Person    *Person
	Visit     *Visit
	Pair      []string // two-person rule: both person ids
	Direction Direction
	Door      string
	Disarms   bool // granted at an armed room: the badge disarms it
	// Confirms: the card presented twice within DoubleBadge at one reader
	// (a deliberate gesture) confirms "seal" (the inside reader, the room
	// open) or "unseal" (the outside reader, the room sealed).
	Confirms string
}

// DoubleBadge is how soon a card presented again at the same reader is a
// double badge: a seal or unseal confirmed by the person's presence.
const DoubleBadge = 3 * time.Second

// Badged is the last badge a reader saw from a known person.
type Badged struct {
	Person  string    `json:"person"`
	Name    string    `json:"name"`
	Reader  string    `json:"reader"`
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
}
