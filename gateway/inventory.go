package gateway

import "time"

// Inventory triggers.
const (
	InventoryCommand  = "command"
	InventorySchedule = "schedule" // the end of the working day
	InventorySeal     = "seal"
	InventoryUnseal   = "unseal"
)

// InventoryReport is one count of every safe: the carriers expected in each
// against the tags seen there.
type InventoryReport struct {
	ID      string       `json:"id"`
	Room    string       `json:"room"`
	Trigger string       `json:"trigger"`
	By      string       `json:"by"`
	At      time.Time    `json:"at"`
	Safes   []SafeCount  `json:"safes"`
	AllHome bool         `json:"all_home"` // nothing missing or misplaced
	OnLoan  int          `json:"on_loan"`  // signed out, so not expected
	Missing []InventItem `json:"missing"`
	// Misplaced: found, but in another safe than its home.
	Misplaced []InventItem `json:"misplaced"`
	// Unexpected: tags in a safe that nobody expects there (unregistered,
	// or a carrier that is signed out).
	Unexpected []InventItem `json:"unexpected"`
}

// SafeCount is one safe's line of a report.
type SafeCount struct {
	Safe     string `json:"safe"`
	Expected int    `json:"expected"`
	Found    int    `json:"found"`
}

// InventItem is one carrier (or unregistered tag) a report names.
type InventItem struct {
	Carrier  string         `json:"carrier,omitempty"`
	EPC      string         `json:"epc,omitempty"`
	Title    string         `json:"title,omitempty"`
	Class    Classification `json:"class,omitempty"`
	Home     string         `json:"home,omitempty"`
	Location string         `json:"location,omitempty"` // where it was seen
	SeenAt   time.Time      `json:"seen_at,omitzero"`
	Note     string         `json:"note,omitempty"`
}

func (r *InventoryReport) Expected() (n int) {
	for _, s := range r.Safes {
		n += s.Expected
	}
	return n
}

func (r *InventoryReport) Found() (n int) {
	for _, s := range r.Safes {
		n += s.Found
	}
	return n
}
