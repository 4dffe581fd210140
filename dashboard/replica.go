package dashboard

import (
	"encoding/json"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Record is an event as the replica holds it: the gateway's event, the exact
// payload it published, and N, the replica's own arrival number (the id of
// the live stream, so a browser that reconnects says where it stopped).
type Record struct {
	N int64
	gateway.Event
	Payload json.RawMessage
}

// RoomRecord is what the replica knows of a room's stream.
type RoomRecord struct {
	Room      string
	Name      string
	Through   uint64 // every seq up to here is held, or known lost
	High      uint64 // the highest seq held
	Events    int64  // how many are held
	Lost      uint64 // seqs the gateway had pruned before the replica asked for them
	Conflicts int64  // events refused because their seq was held with another id
	FirstSeen time.Time
	LastEvent time.Time
	// Verified is the seq through which the room's signed chain vouches
	// for the replica's events (issue 18), as of VerifiedAt.
	Verified   uint64
	VerifiedAt time.Time
	// ClockUntrusted: the newest event held (seq High) was stamped while
	// the room's clock was not synchronised.
	ClockUntrusted bool
}

// Gap is a range of seqs the replica misses.
// Why a range of a room's seqs is lost to the replica: pruned by the
// gateway past its retention, or deleted from its log (missing after its
// oldest event: a tampered log).
const (
	LostPruned  = "pruned"
	LostDeleted = "deleted"
)

type Gap struct {
	Room     string
	From, To uint64
}

// Retained is the last retained message of a room's state topic: the room's
// status, mode, occupancy, a device, an alarm, a carrier, a register …
type Retained struct {
	Room    string
	Kind    string // status, mode, occupancy, devices, alarms, carriers, carrier, personnel, inventories, seal-reports
	Key     string // the device, alarm, carrier … id; empty for one-per-room kinds
	Payload json.RawMessage
	Updated time.Time
}

// Entry is one record of the entry log: a badge decision, or an entry or
// exit the door confirmed.
type Entry struct {
	Room       string
	Seq        uint64
	TS         time.Time
	Result     string // granted, denied, entered, exited, not_opened
	Person     string // person or visit id
	PersonName string
	Visitor    bool
	Card       string // masked: only the last four digits
	Reader     string
	Door       string
	Direction  string
	Reason     string // why a badge was denied
}

// EntryFilter selects entry-log records, newest first.
type EntryFilter struct {
	Room         string
	Person       string // person or visit id, or the name as logged
	Card         string // a card number: matched on its last four digits, as the log keeps them
	Result       string
	Since, Until time.Time
	Before       Cursor // the page after this record; zero: the newest
	Limit        int
}

// Cursor is where a page of records ends.
type Cursor struct {
	TS   int64 // unix ms
	Room string
	Seq  uint64
}

// IsZero tells whether the cursor is unset.
func (c Cursor) IsZero() bool { return c.Room == "" }

// EntryResults are the results an entry-log record can have.
var EntryResults = []string{"granted", "denied", "entered", "exited", "not_opened"}
