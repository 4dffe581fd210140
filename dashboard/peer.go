package dashboard

import (
	"encoding/json"
	"time"
)

// Two consoles on one broker (issue 33, item 4). Each holds a full replica
// of the rooms on its own; what only a console knows — what its operators
// did — it tells its peers in order, in its journal, signed with its key:
// every audit entry, every handover handed over and taken over. One
// console is the accounts' primary: it publishes every account (its
// password's hash, role, person, whether disabled) and the others keep
// them as it says, refusing to change them themselves, so a guard logs in
// at either with one password. Logins, sessions and lockouts stay each
// console's own. The rooms' own word (an alarm acknowledged, a mode) needs
// no journal: each console reads it from the room.

// What a journal entry tells.
const (
	JournalAudit    = "audit"    // an AuditEntry (JournalAuditBody)
	JournalHandover = "handover" // a handover handed over (JournalHandoverBody)
	JournalTakeover = "takeover" // a handover taken over (JournalTakeoverBody)
)

// JournalEntry is one thing a console tells its peers: Seq counts from 1
// without a gap.
type JournalEntry struct {
	Seq  uint64          `json:"seq"`
	At   time.Time       `json:"at"`
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

// JournalAuditBody is an audit entry as the journal carries it.
type JournalAuditBody struct {
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	Room   string    `json:"room,omitempty"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Result string    `json:"result"`
	Remote string    `json:"remote,omitempty"`
}

// JournalHandoverBody is a handover as its console recorded it (N: its
// number there).
type JournalHandoverBody struct {
	N        int64         `json:"n"`
	Outgoing string        `json:"outgoing"`
	OutAt    time.Time     `json:"out_at"`
	Notes    string        `json:"notes,omitempty"`
	Alarms   []HandedAlarm `json:"alarms"`
}

// JournalTakeoverBody is a takeover: of handover N of Console ("" : the
// console whose journal tells it).
type JournalTakeoverBody struct {
	Console  string    `json:"console,omitempty"`
	N        int64     `json:"n"`
	Incoming string    `json:"incoming"`
	InAt     time.Time `json:"in_at"`
	InNotes  string    `json:"in_notes,omitempty"`
}

// AccountRecord is an account as the accounts' primary publishes it: what
// the consoles share, not its logins. Rev grows with every change.
type AccountRecord struct {
	Name       string    `json:"name"`
	Display    string    `json:"display"`
	Role       Role      `json:"role"`
	Hash       string    `json:"hash"`
	Person     string    `json:"person,omitempty"`
	MustChange bool      `json:"must_change,omitempty"`
	Disabled   bool      `json:"disabled,omitempty"`
	Created    time.Time `json:"created"`
	CreatedBy  string    `json:"created_by"`
	Rev        uint64    `json:"rev"`
}

// Record is the account as its primary publishes it.
func (u *User) Record() AccountRecord {
	return AccountRecord{Name: u.Name, Display: u.Display, Role: u.Role, Hash: u.Hash, Person: u.Person, MustChange: u.MustChange,
		Disabled: u.Disabled, Created: u.Created, CreatedBy: u.CreatedBy, Rev: u.Rev}
}

// Shares tells whether u and v differ in nothing the consoles share.
func (u *User) Shares(v *User) bool {
	return u.Display == v.Display && u.Role == v.Role && u.Hash == v.Hash && u.Person == v.Person &&
		u.MustChange == v.MustChange && u.Disabled == v.Disabled
}

// PeerState is what a console knows of a peer console.
type PeerState struct {
	Name    string
	URL     string // where its console answers, when known
	Online  bool
	Since   time.Time // online or offline since (zero: never heard)
	Applied uint64    // its journal, taken in through this seq
	Head    uint64    // the last seq it announced
	// Accounts: the peer is this console's accounts' primary.
	Accounts bool
}
