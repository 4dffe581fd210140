package gateway

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
	Causes         []string            `json:"causes,omitempty"` // every reason the verdict is not intact
	Downtime       []Downtime          `json:"downtime,omitempty"`
	BrokenAlarms   []string            `json:"broken_alarms,omitempty"`
	Differences    []string            `json:"differences,omitempty"` // devices whose state differs between the ends
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
