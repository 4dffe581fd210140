package gateway

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Classification is a secret carrier's level under the PRC secrets law.
type Classification string

const (
	TopSecret    Classification = "top-secret"   // 绝密
	Secret       Classification = "secret"       // 机密
	Confidential Classification = "confidential" // 秘密
)

var classNames = map[string]Classification{"top-secret": TopSecret, "绝密": TopSecret, "secret": Secret, "机密": Secret,
	"confidential": Confidential, "秘密": Confidential}

// ParseClassification reads a classification in English or Chinese.
func ParseClassification(s string) (Classification, error) {
	if c, ok := classNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return c, nil
	}
	return "", fmt.Errorf("classification %q is not 绝密/top-secret, 机密/secret or 秘密/confidential", s)
}

// Chinese is the classification's Chinese name.
// MissingPriority is the priority of the alarm for a carrier of this
// classification an inventory did not find: top secret 1, secret 2,
// confidential 3.
func (c Classification) MissingPriority() int {
	switch c {
	case TopSecret:
		return 1
	case Secret:
		return 2
	}
	return 3
}

func (c Classification) Chinese() string {
	return map[Classification]string{TopSecret: "绝密", Secret: "机密", Confidential: "秘密"}[c]
}

// Covers reports whether a person of level l may take a carrier of class c:
// core (核心) personnel every class, important (重要) secret and below,
// general (一般) confidential only.
func (l Level) Covers(c Classification) bool {
	switch l {
	case LevelCore:
		return true
	case LevelImportant:
		return c == Secret || c == Confidential
	case LevelGeneral:
		return c == Confidential
	}
	return false
}

// CarrierKinds are the kinds of carrier, with their Chinese names.
var CarrierKinds = map[string]string{"document": "文件", "telegram": "密码电报", "usb": "U盘", "disk": "硬盘/光盘",
	"laptop": "笔记本电脑", "other": "其他"}

var kindNames = func() map[string]string {
	m := map[string]string{}
	for k, zh := range CarrierKinds {
		m[k], m[strings.ToLower(zh)] = k, k // looked up lower-cased: U盘 as u盘
	}
	m["硬盘"], m["光盘"] = "disk", "disk"
	return m
}()

// ParseCarrierKind reads a kind in English or Chinese.
func ParseCarrierKind(s string) (string, error) {
	if k, ok := kindNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return k, nil
	}
	return "", fmt.Errorf("kind %q is not document/文件, telegram/密码电报, usb/U盘, disk/硬盘, laptop/笔记本电脑 or other/其他", s)
}

// Carrier is one registered secret carrier (涉密载体).
type Carrier struct {
	ID        string         `json:"id"`        // the register number, e.g. JM-2026-0001
	EPC       string         `json:"epc"`       // its RFID tag, upper-case hex
	Title     string         `json:"title"`     // what it is
	Class     Classification `json:"class"`     //
	Kind      string         `json:"kind"`      // see CarrierKinds
	Home      string         `json:"home"`      // the safe it lives in
	Custodian string         `json:"custodian"` // person id of who keeps it

	// A copy of a document received in the room (carrier/receive, 收文登记):
	// the document's register number (its copies are <document>-01, -02…),
	// this copy's number of how many, where it came from, its secrecy
	// period and who may read it. Empty for a carrier a register import
	// brought (carriers/replace).
	Document   string   `json:"document,omitempty"`
	Copy       int      `json:"copy,omitempty"`
	Copies     int      `json:"copies,omitempty"`
	Source     string   `json:"source,omitempty"`       // the issuing office
	DocNumber  string   `json:"doc_number,omitempty"`   // its 文号
	Period     string   `json:"period,omitempty"`       // 保密期限: a date (2006-01-02) or 长期
	NeedToKnow []string `json:"need_to_know,omitempty"` // 知悉范围: person ids and roles of the register
}

// Receipt is a document received (收文登记), as the room registers it: its
// copies become carriers (Carrier.Document).
type Receipt struct {
	Source     string         `json:"source"`
	DocNumber  string         `json:"doc_number"`
	Title      string         `json:"title"`
	Class      Classification `json:"class"`
	Period     string         `json:"period"`
	Kind       string         `json:"kind"`
	Home       string         `json:"home"`
	Custodian  string         `json:"custodian"`
	NeedToKnow []string       `json:"need_to_know"`
	EPCs       []string       `json:"epcs"` // one a copy, in copy order
	// Or the copies' tags bound at a UHF reader of the room by presenting
	// them in turn: how many copies, and the reader.
	Copies int    `json:"copies"`
	BindAt string `json:"bind_at"`
	By     string `json:"by"`
}

// PeriodLong is the secrecy period of a document kept secret without end
// (长期).
const PeriodLong = "长期"

// CheckPeriod checks a secrecy period: 长期 or a date.
func CheckPeriod(p string) error {
	if p == PeriodLong {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, p); err != nil {
		return fmt.Errorf("period: %q is not a date (2006-01-02) or %s", p, PeriodLong)
	}
	return nil
}

// MaxCopies is the most copies one receipt registers.
const MaxCopies = 99

// DocumentPrefix begins the register numbers of the documents a room
// receives: JM-<year>-<four digits>, the copies -01, -02….
const DocumentPrefix = "JM"

var carrierID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NormalizeEPC is an EPC in canonical form: upper-case hex without spaces.
func NormalizeEPC(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", ":", "").Replace(strings.TrimSpace(s)))
}

// CheckEPC checks an EPC in canonical form: hex, a whole number of 16-bit
// words, 2 to 62 bytes.
func CheckEPC(epc string) error {
	if len(epc) < 4 || len(epc) > 124 || len(epc)%4 != 0 {
		return fmt.Errorf("EPC %q: want 4 to 124 hex digits, a multiple of 4", epc)
	}
	for _, c := range epc {
		if !strings.ContainsRune("0123456789ABCDEF", c) {
			return fmt.Errorf("EPC %q: %q is not a hex digit", epc, c)
		}
	}
	return nil
}

// Check validates a carrier's fields, naming the first bad one.
func (c *Carrier) Check() error {
	switch {
	case !carrierID.MatchString(c.ID):
		return fmt.Errorf("id: %q is not a register number (letters, digits, . _ -; at most 64)", c.ID)
	case strings.TrimSpace(c.Title) == "":
		return fmt.Errorf("title: missing")
	case strings.TrimSpace(c.Home) == "":
		return fmt.Errorf("home: the safe it is kept in is missing")
	case strings.TrimSpace(c.Custodian) == "":
		return fmt.Errorf("custodian: missing")
	}
	if err := CheckEPC(c.EPC); err != nil {
		return fmt.Errorf("epc: %v", err)
	}
	if _, ok := classNames[string(c.Class)]; !ok {
		return fmt.Errorf("class: %q", c.Class)
	}
	if _, ok := CarrierKinds[c.Kind]; !ok {
		return fmt.Errorf("kind: %q", c.Kind)
	}
	return nil
}

// CarrierStatus is where a carrier stands.
type CarrierStatus string

const (
	CarrierHome      CarrierStatus = "home"       // in its safe
	CarrierSignedOut CarrierStatus = "signed-out" // lent, by a sign-out
	CarrierAway      CarrierStatus = "away"       // not seen in its safe, not signed out
	CarrierMissing   CarrierStatus = "missing"    // an inventory did not find it
	// CarrierLost: reported lost (carrier/loss); its status changes no more
	// (its history is frozen for the investigation), its sightings are
	// still logged.
	CarrierLost CarrierStatus = "lost"
	// CarrierCirculating: handed to a reader on its need-to-know list
	// (carrier/circulate, 传阅; or read in the room, 阅读), by a sign-out
	// of that kind the reader confirmed.
	CarrierCirculating CarrierStatus = "circulating"
	// The ends of a carrier's life in this room (issue 30): it stays in the
	// register with its end; a tag of it seen again is an alarm.
	CarrierArchived   CarrierStatus = "archived"           // 归档
	CarrierReturnedUp CarrierStatus = "returned-to-issuer" // 清退
	CarrierDestroyed  CarrierStatus = "destroyed"          // 销毁
)

// Ended tells whether the status ends the carrier's life in the room.
func (s CarrierStatus) Ended() bool {
	return s == CarrierArchived || s == CarrierReturnedUp || s == CarrierDestroyed
}

// Frozen tells whether the status changes no more: lost (its history is
// kept for the investigation) or ended.
func (s CarrierStatus) Frozen() bool { return s == CarrierLost || s.Ended() }

// CarrierEnd is how a carrier's life in the room ended.
type CarrierEnd struct {
	At  time.Time `json:"at"`
	By  string    `json:"by"`
	Ref string    `json:"ref,omitempty"` // the destruction list, the archive's or the issuer's receipt
}

// CarrierState is what the room knows of one carrier now.
type CarrierState struct {
	ID       string        `json:"id"`
	Status   CarrierStatus `json:"status"`
	Location string        `json:"location,omitempty"` // where it was last seen: a safe, or the gate
	SeenAt   time.Time     `json:"seen_at,omitzero"`
	SignOut  string        `json:"sign_out,omitempty"` // the open sign-out
	// Misplaced: seen in a safe that is not its home.
	Misplaced bool `json:"misplaced,omitempty"`
	// MissingSince: when an inventory found it missing; not found within
	// the office's grace (VaultConfig.LossGrace) it is reported lost.
	MissingSince time.Time `json:"missing_since,omitzero"`
	// Ended: how its life in the room ended (Status.Ended).
	Ended *CarrierEnd `json:"ended,omitempty"`
}

// SignOut is one loan of a carrier.
type SignOut struct {
	ID       string `json:"id"`
	Carrier  string `json:"carrier"`
	Borrower string `json:"borrower"`         // person id
	Second   string `json:"second,omitempty"` // the second person a top-secret carrier needs
	Purpose  string `json:"purpose"`
	// MayLeave: the carrier may leave the room (else in-room use only);
	// needs an approver other than the borrower.
	MayLeave bool      `json:"may_leave"`
	Approver string    `json:"approver,omitempty"`
	Due      time.Time `json:"due"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	// Via is the channel the sign-out came through (the principal and
	// session that signed it); an approver confirms through another, with
	// their own signature (issue 17): until then the carrier may not leave.
	Via         string    `json:"via,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
	ApprovedVia string    `json:"approved_via,omitempty"`
	SecondVia   string    `json:"second_via,omitempty"` // the channel the second person confirmed through
	ReturnedAt  time.Time `json:"returned_at,omitzero"`
	Waiting     string    `json:"-"` // see IsWaiting
	ReturnedBy  string    `json:"returned_by,omitempty"`
	Overdue     bool      `json:"overdue,omitempty"` // the overdue alarm was raised
	// Kind: empty for a loan (借阅); LoanCirculation or LoanReading for a
	// copy handed to a reader on its need-to-know list, which the reader
	// confirmed through ReceivedVia, their own channel.
	Kind        string `json:"kind,omitempty"`
	ReceivedVia string `json:"received_via,omitempty"`
	// Step: carrier/approve was a confirmation of a step of the carrier's
	// life (a destruction, a copy), not of a sign-out.
	Step *Pending `json:"-"`
}

// The kinds of sign-out besides a loan.
const (
	LoanCirculation = "circulation" // 传阅: the copy goes to the reader
	LoanReading     = "reading"     // 到机要室阅读: read in the room, never leaving it
)

// Circulates tells whether the sign-out hands a copy to a reader.
func (s *SignOut) Circulates() bool { return s.Kind == LoanCirculation || s.Kind == LoanReading }

// Waiting, on a top-secret sign-out just asked for, names the second person
// whose own confirmation (carrier/approve, through another channel) makes
// it a loan; it is no loan yet.
func (s *SignOut) IsWaiting() bool { return s.Waiting != "" }

// Approved tells whether the sign-out's approver, when it names one, has
// confirmed it.
func (s *SignOut) Approved() bool { return s.Approver == "" || !s.ApprovedAt.IsZero() }

// Leaves tells whether the carrier may pass the door: signed out to leave,
// and that approved.
func (s *SignOut) Leaves() bool { return s != nil && s.MayLeave && s.Approved() }

// Open reports whether the carrier is still out.
func (s *SignOut) Open() bool { return s.ReturnedAt.IsZero() }

// EndRequest ends carriers' lives in the room (issue 30): archived (归档),
// returned to their issuer (清退) or destroyed (销毁).
type EndRequest struct {
	Carriers []string
	// To: where they go: the archives (归档), the issuing office (清退;
	// default the document's source). Ref: the archive's file number or
	// the issuer's receipt.
	To, Ref string
	// A destruction: its method (DestroyMethods), the leader who approves
	// it and the two witnesses (监销人), each confirming through their own
	// channel.
	Method    string
	Approver  string
	Witnesses []string
	By, Via   string
}

// DestroyMethods are the ways a carrier is destroyed, with their Chinese
// names; paper is shredded, media degaussed, either may go to the
// destruction centre.
var DestroyMethods = map[string]string{"shredder": "碎纸机粉碎", "center": "送销毁中心", "degauss": "消磁", "crush": "物理粉碎"}

// Paper tells whether carriers of kind are paper (shredded, never
// degaussed).
func Paper(kind string) bool { return kind == "document" || kind == "telegram" }

// CirculateRequest hands a copy to a reader on its need-to-know list
// (传阅), or lets them read it in the room (阅读, InRoom).
type CirculateRequest struct {
	Carrier string
	Reader  string
	Due     time.Time // zero: the circulation limit (in the room: the end of the working day)
	InRoom  bool
	By, Via string
}

// CopyRequest asks for copies or excerpts of a document received (复印、
// 摘抄): a leader approves through their own channel; the copies are
// received as new copies of the document.
type CopyRequest struct {
	Carrier  string   // the copy copied
	Excerpt  bool     // 摘抄 rather than 复印
	EPCs     []string // the new copies' tags, one each
	Purpose  string
	Approver string
	By, Via  string
}

// TransferRequest hands every carrier a custodian keeps to another (移交),
// confirmed by both through their own channels.
type TransferRequest struct {
	From, To string
	By, Via  string
}
