package gateway

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Visit is a registered visitor (来访人员) with a temporary card. The ID
// number is never stored: only its masked form and a keyed hash for
// matching a returning visitor.
type Visit struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	IDType       string    `json:"id_type"`   // resident-id (居民身份证), passport, officer-id (军官证), other
	IDMasked     string    `json:"id_masked"` // 110105********1234
	IDHash       string    `json:"id_hash"`   // Keyed.Ref of the normalised number
	Organization string    `json:"organization"`
	Purpose      string    `json:"purpose"`
	Host         string    `json:"host"`   // person id of who receives the visitor
	Escort       string    `json:"escort"` // person id of who escorts the visitor
	Card         string    `json:"card"`   // the temporary card
	From         time.Time `json:"from"`
	Until        time.Time `json:"until"`
	RegisteredBy string    `json:"registered_by"`
	RegisteredAt time.Time `json:"registered_at"`
	CheckedOutAt time.Time `json:"checked_out_at,omitzero"`
	CheckedOutBy string    `json:"checked_out_by,omitempty"`
}

// VisitRequest is what a guard fills in to register a visitor.
type VisitRequest struct {
	Name         string
	IDType       string
	IDNumber     string
	Organization string
	Purpose      string
	Host         string
	Escort       string
	Card         string
	From, Until  time.Time
	By           string
}

var idTypes = map[string]bool{"resident-id": true, "passport": true, "officer-id": true, "other": true}

// MaskID keeps the first six and the last four characters of an ID number
// (the region code and the check digits): 110105********1234.
func MaskID(n string) string {
	r := []rune(n)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	keep := 6
	if len(r) < 14 {
		keep = 2
	}
	return string(r[:keep]) + strings.Repeat("*", len(r)-keep-4) + string(r[len(r)-4:])
}

// checkResidentID checks the 18-character resident ID number (GB 11643):
// 17 digits and an ISO 7064 MOD 11-2 check character.
func checkResidentID(n string) error {
	if len(n) != 18 {
		return fmt.Errorf("a resident ID number has 18 characters, not %d", utf8.RuneCountInString(n))
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		if n[i] < '0' || n[i] > '9' {
			return fmt.Errorf("a resident ID number has 17 digits before its check character")
		}
		sum += int(n[i]-'0') * weights[i]
	}
	if want := "10X98765432"[sum%11]; n[17] != want {
		return fmt.Errorf("the check character of the resident ID number is wrong")
	}
	return nil
}

// Check validates a visit request; the error names the field (never the ID
// number itself).
func (r *VisitRequest) Check() error {
	r.IDNumber = strings.ToUpper(strings.TrimSpace(r.IDNumber))
	r.Card = NormalizeCard(r.Card)
	switch {
	case strings.TrimSpace(r.Name) == "":
		return Errorf(EINVALID, "name: missing")
	case !idTypes[r.IDType]:
		return Errorf(EINVALID, "id_type: %q is not resident-id, passport, officer-id or other", r.IDType)
	case r.IDNumber == "":
		return Errorf(EINVALID, "id_number: missing")
	case strings.TrimSpace(r.Organization) == "":
		return Errorf(EINVALID, "organization: missing")
	case strings.TrimSpace(r.Purpose) == "":
		return Errorf(EINVALID, "purpose: missing")
	case strings.TrimSpace(r.Host) == "":
		return Errorf(EINVALID, "host: missing")
	case strings.TrimSpace(r.Escort) == "":
		return Errorf(EINVALID, "escort: missing")
	case strings.TrimSpace(r.By) == "":
		return Errorf(EINVALID, "by: who registers the visitor is missing")
	case !r.Until.After(r.From):
		return Errorf(EINVALID, "until: the visit ends before it starts")
	case r.Until.Sub(r.From) > 24*time.Hour:
		return Errorf(EINVALID, "until: a visit lasts at most 24 hours; register the next day again")
	}
	if r.IDType == "resident-id" {
		if err := checkResidentID(r.IDNumber); err != nil {
			return Errorf(EINVALID, "id_number: %v", err)
		}
	}
	if err := CheckCardNumber(r.Card); err != nil {
		return Errorf(EINVALID, "card: %v", err)
	}
	return nil
}

// Technician is one of a maintenance visit's outside staff: a visitor
// with their ID (stored masked, as every visitor's) and temporary card.
type Technician struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type"`
	IDNumber string `json:"id_number"`
	Card     string `json:"card"`
}

// MaintenanceRequest is a visit of maintenance staff to classified
// equipment (维修, issue 31): asked for beforehand, approved by a leader
// through their own channel, the technicians escorted by the custodian who
// supervises it (全程监控).
type MaintenanceRequest struct {
	Company     string
	Equipment   string
	Technicians []Technician
	From, Until time.Time
	Custodian   string // supervises: the technicians' escort
	Approver    string // a leader
	By, Via     string
}

// MediaChecks are what a maintenance visit's end records of the
// equipment's storage media (媒介检查).
var MediaChecks = map[string]string{"none": "不涉及存储介质", "kept": "存储介质留存本单位", "destruction": "存储介质交销毁", "removed": "存储介质被带离"}

// MaxTechnicians bounds one maintenance visit's technicians.
const MaxTechnicians = 10
