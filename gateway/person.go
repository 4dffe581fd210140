package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Level is a person's classification level (涉密人员等级).
type Level string

const (
	LevelCore      Level = "core"      // 核心
	LevelImportant Level = "important" // 重要
	LevelGeneral   Level = "general"   // 一般
)

// Role is what a person does for the room.
type Role string

const (
	RoleClerk           Role = "clerk"            // 机要员
	RoleSecurityOfficer Role = "security-officer" // 保密员
	RoleLeader          Role = "leader"           // 领导
	RoleGuard           Role = "guard"            // 值班人员
	RoleMaintenance     Role = "maintenance"      // 维护人员
)

var levelNames = map[string]Level{"core": LevelCore, "核心": LevelCore, "important": LevelImportant, "重要": LevelImportant,
	"general": LevelGeneral, "一般": LevelGeneral}

var roleNames = map[string]Role{"clerk": RoleClerk, "机要员": RoleClerk, "security-officer": RoleSecurityOfficer, "保密员": RoleSecurityOfficer,
	"leader": RoleLeader, "领导": RoleLeader, "guard": RoleGuard, "值班人员": RoleGuard, "maintenance": RoleMaintenance, "维护人员": RoleMaintenance}

// ParseLevel accepts the English or the Chinese name.
func ParseLevel(s string) (Level, error) {
	if l, ok := levelNames[strings.TrimSpace(s)]; ok {
		return l, nil
	}
	return "", fmt.Errorf("%q is not a level (core, important, general / 核心, 重要, 一般)", s)
}

// ParseRole accepts the English or the Chinese name.
func ParseRole(s string) (Role, error) {
	if r, ok := roleNames[strings.TrimSpace(s)]; ok {
		return r, nil
	}
	return "", fmt.Errorf("%q is not a role (clerk, security-officer, leader, guard, maintenance / 机要员, 保密员, 领导, 值班人员, 维护人员)", s)
}

// MayDisarm tells whether the role may disarm the room by badging in: the
// people who work in it. Guards and maintenance staff wait for one of them.
func (r Role) MayDisarm() bool {
	return r == RoleClerk || r == RoleSecurityOfficer || r == RoleLeader
}

// MayEscort tells whether the role may escort a visitor.
func (r Role) MayEscort() bool { return r != RoleMaintenance }

// Person is one entry of the authorized-personnel register.
type Person struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Cards      []string `json:"cards"` // canonical card numbers (devices/badge)
	Level      Level    `json:"level"`
	Role       Role     `json:"role"`
	Rooms      []string `json:"rooms"`                 // room ids; "*": every room
	ValidFrom  string   `json:"valid_from,omitempty"`  // YYYY-MM-DD, first day allowed
	ValidUntil string   `json:"valid_until,omitempty"` // YYYY-MM-DD, last day allowed
	Schedule   Schedule `json:"schedule,omitempty"`    // empty: any time
	Holidays   bool     `json:"holidays,omitempty"`    // allowed on holidays
	// DuressCards open the door as the person's cards do, and raise the
	// silent duress alarm (a person made to open the room: issue 28).
	DuressCards []string `json:"duress_cards,omitempty"`
	// The dates the practice tracks of classified staff (涉密人员, issue
	// 31): the last training (上岗、在岗培训), the signed commitment
	// (保密承诺书) or its last renewal, the departure from the post (离岗)
	// and its debriefing (离岗教育). Dates only (YYYY-MM-DD); who recorded
	// them is the register version's author.
	TrainedOn    string `json:"trained_on,omitempty"`
	CommitmentOn string `json:"commitment_on,omitempty"`
	LeftOn       string `json:"left_on,omitempty"`
	DebriefedOn  string `json:"debriefed_on,omitempty"`
}

// StaffDue says what a person of the register is overdue for as of today
// (YYYY-MM-DD), in the practice of the self-inspection reports: training
// older than a year or never, a commitment never signed or not renewed
// within a year, a departure without its debriefing. Someone who left is
// held only to the debriefing.
func (p *Person) StaffDue(today string) []string {
	yearAgo := func() string {
		t, err := time.Parse(time.DateOnly, today)
		if err != nil {
			return ""
		}
		return t.AddDate(-1, 0, 0).Format(time.DateOnly)
	}()
	var due []string
	if p.LeftOn != "" && p.LeftOn <= today {
		if p.DebriefedOn == "" || p.DebriefedOn < p.LeftOn {
			due = append(due, StaffNotDebriefed)
		}
		return due
	}
	if p.TrainedOn == "" || p.TrainedOn < yearAgo {
		due = append(due, StaffTraining)
	}
	if p.CommitmentOn == "" || p.CommitmentOn < yearAgo {
		due = append(due, StaffCommitment)
	}
	return due
}

// What a person of the register may be overdue for (Person.StaffDue).
const (
	StaffTraining     = "training"      // 培训逾期：一年内未参加在岗培训
	StaffCommitment   = "commitment"    // 保密承诺书未签或逾期未续签
	StaffNotDebriefed = "not_debriefed" // 离岗未进行离岗教育
)

// IsDuress tells whether card is one of the person's duress cards.
func (p *Person) IsDuress(card string) bool { return slices.Contains(p.DuressCards, card) }

// Check validates a person; the error names the field.
func (p *Person) Check() error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return fmt.Errorf("id: missing")
	case len(p.ID) > 64 || strings.ContainsAny(p.ID, " \t/+#"):
		return fmt.Errorf("id: %q is not an id (at most 64 characters, no spaces, / + #)", p.ID)
	case strings.TrimSpace(p.Name) == "":
		return fmt.Errorf("name: missing")
	case len(p.Rooms) == 0:
		return fmt.Errorf("rooms: no room allowed")
	}
	if _, err := ParseLevel(string(p.Level)); err != nil {
		return fmt.Errorf("level: %v", err)
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		return fmt.Errorf("role: %v", err)
	}
	for _, c := range p.Cards {
		if err := CheckCardNumber(c); err != nil {
			return fmt.Errorf("cards: %v", err)
		}
	}
	for _, f := range []struct{ name, v string }{{"valid_from", p.ValidFrom}, {"valid_until", p.ValidUntil}, {"trained_on", p.TrainedOn},
		{"commitment_on", p.CommitmentOn}, {"left_on", p.LeftOn}, {"debriefed_on", p.DebriefedOn}} {
		if f.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f.v); err != nil {
			return fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", f.name, f.v)
		}
	}
	if err := p.Schedule.Check(); err != nil {
		return fmt.Errorf("schedule: %v", err)
	}
	if p.ValidFrom != "" && p.ValidUntil != "" && p.ValidUntil < p.ValidFrom {
		return fmt.Errorf("valid_until: %s is before valid_from %s", p.ValidUntil, p.ValidFrom)
	}
	return nil
}

// CheckCardNumber accepts the canonical forms of devices/badge: 8–20
// upper-case hex digits, or Wiegand "<facility>:<card>".
func CheckCardNumber(c string) error {
	if f, n, ok := strings.Cut(c, ":"); ok {
		if _, err1 := strconv.ParseUint(f, 10, 32); err1 == nil {
			if _, err2 := strconv.ParseUint(n, 10, 32); err2 == nil {
				return nil
			}
		}
		return fmt.Errorf("%q is not a Wiegand number (facility:card, decimal)", c)
	}
	if len(c) < 8 || len(c) > 20 {
		return fmt.Errorf("%q is not a card number (8–20 hex digits, or facility:card)", c)
	}
	for _, r := range c {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'F') {
			return fmt.Errorf("%q is not a card number (upper-case hex digits, or facility:card)", c)
		}
	}
	return nil
}

// NormalizeCard brings a card number as people write it to canonical form:
// upper case, without spaces or dashes.
func NormalizeCard(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	return strings.NewReplacer(" ", "", "-", "").Replace(c)
}

// MaskCard keeps the last four characters of a card number: enough for a
// guard to tell cards apart, not enough to clone one.
func MaskCard(c string) string {
	if len(c) <= 4 {
		return strings.Repeat("*", len(c))
	}
	return strings.Repeat("*", len(c)-4) + c[len(c)-4:]
}

// Keyed hashes card numbers and ID numbers for matching without storing them
// (HMAC-SHA256 with the room's secret key).
type Keyed []byte

// Ref is the keyed hash of s, 32 hex digits.
func (k Keyed) Ref(s string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// InvalidOn says why the person is not valid on day (YYYY-MM-DD):
// DenyNotYetValid, DenyExpired, or "" when valid.
func (p *Person) InvalidOn(day string) string {
	switch {
	case p.ValidFrom != "" && day < p.ValidFrom:
		return DenyNotYetValid
	case p.ValidUntil != "" && day > p.ValidUntil:
		return DenyExpired
	}
	return ""
}

// AllowedIn tells whether the person may enter room.
func (p *Person) AllowedIn(room string) bool {
	return slices.Contains(p.Rooms, room) || slices.Contains(p.Rooms, "*")
}

// Schedule is a weekly schedule: "mon-fri 08:00-18:00; sat 09:00-12:00".
// Empty means any time.
type Schedule string

type window struct {
	days     [7]bool // by time.Weekday
	from, to int     // minutes of the day, [from, to)
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func (s Schedule) windows() ([]window, error) {
	var out []window
	for _, part := range strings.Split(string(s), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, hours, ok := strings.Cut(part, " ")
		if !ok {
			return nil, fmt.Errorf("%q: want days and hours, e.g. mon-fri 08:00-18:00", part)
		}
		var w window
		for _, d := range strings.Split(days, ",") {
			a, b, isRange := strings.Cut(strings.ToLower(d), "-")
			da, ok1 := dayNames[a]
			db, ok2 := dayNames[b]
			if !isRange {
				db, ok2 = da, ok1
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%q: %q is not a day or a range of days (mon … sun)", part, d)
			}
			for x := da; ; x = (x + 1) % 7 {
				w.days[x] = true
				if x == db {
					break
				}
			}
		}
		from, to, ok := strings.Cut(strings.TrimSpace(hours), "-")
		f, err1 := time.Parse("15:04", from)
		t, err2 := time.Parse("15:04", to)
		if !ok || err1 != nil || (err2 != nil && to != "24:00") {
			return nil, fmt.Errorf("%q: %q is not hours HH:MM-HH:MM", part, hours)
		}
		w.from, w.to = f.Hour()*60+f.Minute(), 24*60
		if to != "24:00" {
			w.to = t.Hour()*60 + t.Minute()
		}
		if w.to <= w.from {
			return nil, fmt.Errorf("%q: the hours end before they start", part)
		}
		out = append(out, w)
	}
	return out, nil
}

// Check validates the schedule.
func (s Schedule) Check() error { _, err := s.windows(); return err }

// Allows tells whether the schedule allows t (in t's location).
func (s Schedule) Allows(t time.Time) bool { return s.AllowsOn(t, false) }

// AllowsOn is Allows on a day that may be a make-up workday (调休): a
// weekend day worked as a weekday, on which the schedule's weekday hours
// (any of Monday to Friday) apply.
func (s Schedule) AllowsOn(t time.Time, workday bool) bool {
	ws, err := s.windows()
	if err != nil || len(ws) == 0 {
		return err == nil
	}
	m := t.Hour()*60 + t.Minute()
	for _, w := range ws {
		day := w.days[t.Weekday()]
		if workday {
			day = day || w.days[time.Monday] || w.days[time.Tuesday] || w.days[time.Wednesday] || w.days[time.Thursday] || w.days[time.Friday]
		}
		if day && m >= w.from && m < w.to {
			return true
		}
	}
	return false
}

// SamePerson reports whether a and b name the same person: ids are compared
// trimmed and case-folded, so "li.ming" and "Li.Ming " are one person and
// cannot be the two of a two-person act.
func SamePerson(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// PersonnelReplace is a personnel/replace: the register as CSV, its
// version, who gives it and through which principal, and what the Pi's own
// command line may install on purpose.
type PersonnelReplace struct {
	CSV       string
	Version   int64
	By        string
	Principal string
	// AllowEmpty and AllowNoOfficer are taken from the local principal
	// only (roomguard-gateway personnel import --allow-empty,
	// --allow-no-officer).
	AllowEmpty     bool
	AllowNoOfficer bool
}

// CheckRegister refuses a personnel register that would leave room without
// its person checks (issue 27, finding 3): an empty one (every command's
// by would name nobody) or one with no security officer allowed in the room
// (nobody could replace it again from a console). The Pi's own command
// line may install either on purpose.
func CheckRegister(people []Person, room string, r PersonnelReplace) error {
	local := r.Principal == LocalPrincipal
	if len(people) == 0 {
		if local && r.AllowEmpty {
			return nil
		}
		how := "from the Pi, on purpose: roomguard-gateway personnel import --allow-empty"
		return Errorf(EINVALID, "personnel/replace: the register is empty: room %s would have nobody to check commands and badges against (%s)", room, how)
	}
	for i := range people {
		if people[i].Role == RoleSecurityOfficer && people[i].AllowedIn(room) {
			return nil
		}
	}
	if local && r.AllowNoOfficer {
		return nil
	}
	return Errorf(EINVALID, "personnel/replace: the register has no security officer allowed in room %s: nobody could replace it again from a console (from the Pi, on purpose: roomguard-gateway personnel import --allow-no-officer)", room)
}
