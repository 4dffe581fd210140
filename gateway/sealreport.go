package gateway

import "fmt"

// SealReport is what an unsealing produces: who sealed and unsealed and
// when, the room at both ends, every event in between, and the verdict.
type SealReport struct {
	SealID         string              `json:"seal_id"`
	Room           string              `json:"room"`
	SealedBy       []string            `json:"sealed_by"`
	SealedAt       string              `json:"sealed_at"`
	UnsealedBy     []string            `json:"unsealed_by"`
	UnsealedAt     string              `json:"unsealed_at"`
	SealSnapshot   []DeviceState       `json:"seal_snapshot"`
	UnsealSnapshot []DeviceState       `json:"unseal_snapshot"`
	SealCarriers   map[string][]string `json:"seal_carriers,omitempty"`   // per safe, at sealing
	UnsealCarriers map[string][]string `json:"unseal_carriers,omitempty"` // per safe, at unsealing
	Events         []Event             `json:"events"`
	Verdict        string              `json:"verdict"`          // intact, broken or unverified
	Causes         []string            `json:"causes,omitempty"` // every reason the verdict is not intact, in English
	// Findings are the causes as data, one for each, for a reader to put in
	// its own words and names (the console, in Chinese).
	Findings     []SealFinding `json:"findings,omitempty"`
	Downtime     []Downtime    `json:"downtime,omitempty"`
	BrokenAlarms []string      `json:"broken_alarms,omitempty"`
	Differences  []string      `json:"differences,omitempty"` // devices whose state differs between the ends
	// Chain is the log's head when the report was made: a paper copy is
	// checked against the room's log with `log verify --checkpoint HEAD`
	// (the log must still pass through it, every event of the seal below).
	Chain *ReportChain `json:"chain,omitempty"`
}

// ReportChain is the chain head a report cites.
type ReportChain struct {
	Through uint64 `json:"through"`
	Head    string `json:"head"`
}

// The seal verdicts.
const (
	SealIntact     = "intact"     // nothing at all happened while sealed
	SealBroken     = "broken"     // something happened: the causes say what
	SealUnverified = "unverified" // nothing seen, but the gateway was down for a while
)

// SealFinding is one reason a seal's verdict is not intact.
type SealFinding struct {
	// Kind: missing (events Seq to To are not in the log), unreadable (event
	// Seq), alarm (Class, Alarm on Device), input (Device's event Type),
	// changed (Device's state Was at sealing, Now at unsealing), carrier
	// (carrier Device in safe Was at sealing, Now at unsealing; "" for none),
	// downtime (the gateway was down From, until At).
	Kind   string `json:"kind"`
	At     string `json:"at,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	To     uint64 `json:"to,omitempty"`
	Type   string `json:"type,omitempty"`
	Device string `json:"device,omitempty"`
	Class  string `json:"class,omitempty"`
	Alarm  string `json:"alarm,omitempty"`
	Detail string `json:"detail,omitempty"`
	Was    string `json:"was,omitempty"`
	Now    string `json:"now,omitempty"`
	From   string `json:"from,omitempty"`
}

// The kinds of seal findings.
const (
	FindingMissing    = "missing"
	FindingUnreadable = "unreadable"
	FindingAlarm      = "alarm"
	FindingInput      = "input"
	FindingChanged    = "changed"
	FindingCarrier    = "carrier"
	FindingDowntime   = "downtime"
)

// String says the finding in English, as Causes holds it.
func (f SealFinding) String() string {
	switch f.Kind {
	case FindingMissing:
		return fmt.Sprintf("events missing from the log: seq %d–%d", f.Seq, f.To)
	case FindingUnreadable:
		return fmt.Sprintf("%s: event %d (%s) cannot be read: %s", f.At, f.Seq, f.Type, f.Detail)
	case FindingAlarm:
		return fmt.Sprintf("%s: %s alarm %s on %s %s", f.At, f.Class, f.Alarm, f.Device, f.Detail)
	case FindingInput:
		return fmt.Sprintf("%s: %s %s", f.At, f.Device, f.Type)
	case FindingChanged, FindingCarrier:
		return "changed between seal and unseal: " + f.Difference()
	case FindingDowntime:
		return fmt.Sprintf("gateway down from %s to %s: the room was not watched", f.From, f.At)
	}
	return f.Kind + ": " + f.Detail
}

// Difference says a changed or carrier finding in English, as Differences
// holds it.
func (f SealFinding) Difference() string {
	if f.Kind == FindingChanged {
		return fmt.Sprintf("%s: %s at sealing, %s at unsealing", f.Device, f.Was, f.Now)
	}
	was, now := "not in a safe", "not seen in a safe"
	if f.Was != "" {
		was = "in " + f.Was
	}
	if f.Now != "" {
		now = "in " + f.Now
	}
	return fmt.Sprintf("carrier %s: %s at sealing, %s at unsealing", f.Device, was, now)
}

// Downtime is a stretch of the seal the gateway did not watch: from its last
// sign of life (its last event, or its clean stop) to its start.
type Downtime struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// SealStep is the result of one person's seal or unseal confirmation.
type SealStep struct {
	Done    bool        // the second person confirmed: the operation happened
	Waiting string      // otherwise: who confirmed first
	Report  *SealReport // unseal: the report
	// Inventory: the inventory taken once done (see Sealer).
	Inventory      *InventoryReport
	InventoryError string
}
