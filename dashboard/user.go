package dashboard

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Role is what an account may do at the console.
type Role string

const (
	RoleGuard   Role = "guard"   // 值班人员: watches, acknowledges alarms, registers visitors
	RoleOfficer Role = "officer" // 保密员: keeps the registers, seals, carriers
	RoleAuditor Role = "auditor" // 检查人员: reads everything, changes nothing
	RoleAdmin   Role = "admin"   // accounts, and everything an officer may do
)

// Roles in the order the user page lists them.
var Roles = []Role{RoleGuard, RoleOfficer, RoleAuditor, RoleAdmin}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", gateway.Errorf(gateway.EINVALID, "role %q is not guard, officer, auditor or admin", s)
}

// Action is one kind of thing a user does at the console.
type Action string

const (
	ActView      Action = "view"      // every page that only reads
	ActAck       Action = "ack"       // acknowledge an alarm
	ActVisitors  Action = "visitors"  // register and check out visitors
	ActRegisters Action = "registers" // edit and sync the personnel and carrier registers
	ActCarriers  Action = "carriers"  // sign carriers out and back, run inventories
	ActSeal      Action = "seal"      // seal and unseal, arm and disarm
	ActUsers     Action = "users"     // create, change and unlock accounts
	ActRoomKeys  Action = "room-keys" // confirm (pin) a room's key
)

var grants = map[Role][]Action{
	RoleGuard:   {ActView, ActAck, ActVisitors},
	RoleOfficer: {ActView, ActAck, ActVisitors, ActRegisters, ActCarriers, ActSeal},
	RoleAuditor: {ActView},
	RoleAdmin:   {ActView, ActAck, ActVisitors, ActRegisters, ActCarriers, ActSeal, ActUsers, ActRoomKeys},
}

// May tells whether the role allows the action.
func (r Role) May(a Action) bool {
	for _, g := range grants[r] {
		if g == a {
			return true
		}
	}
	return false
}

// User is an account of the console. The password is kept only as its
// argon2id hash.
type User struct {
	Name    string
	Display string // the name shown
	// Person is the register person the account acts for: the rooms take
	// commands from people of their registers, and the console names this
	// one in by (the account's name when it is bound to none).
	Person string
	// MustChange: an admin reset the password; its owner changes it
	// before anything else.
	MustChange  bool
	Role        Role
	Hash        string
	Created     time.Time
	CreatedBy   string
	Failed      int       // wrong passwords since the last good one
	LockedUntil time.Time // the latest lock, at LockedFrom (zero: none)
	LockedFrom  string    // the address whose wrong passwords locked it there
	// Lockouts are the wrong passwords and the lock at each address
	// (WrongPassword); kept with the record, so a count and its lock are
	// one step with the login's own.
	Lockouts map[string]Lockout
	Disabled bool
	// Rev counts the changes of what the consoles share (Shares); Origin
	// is the console the account is kept at ("" : this one).
	Rev    uint64
	Origin string
}

// CheckPerson reads the register person an account acts for ("" for
// none): an id of the personnel register.
func CheckPerson(id string) (string, error) {
	id = strings.TrimSpace(id)
	if len(id) > 64 || strings.ContainsAny(id, "\n\r\t,") {
		return "", gateway.Errorf(gateway.EINVALID, "person: %q is not a person id of the register", id)
	}
	return id, nil
}

// Locked tells whether the account refuses logins at now from the address
// of its latest lock (the users page says which).
func (u *User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// Lockout is the wrong passwords given for an account from one address,
// and its lock there.
type Lockout struct {
	Failed int           `json:"failed"`
	Until  time.Time     `json:"until,omitzero"`
	Lasts  time.Duration `json:"lasts,omitempty"` // the last lock's length: the next is twice as long
}

// maxLockouts bounds the addresses an account's record keeps: past it,
// those not locked are forgotten first.
const maxLockouts = 64

// LockedAt is when the account's lock at addr ends (zero: not locked).
func (u *User) LockedAt(addr string, now time.Time) time.Time {
	if l, ok := u.Lockouts[addr]; ok && now.Before(l.Until) {
		return l.Until
	}
	return time.Time{}
}

// WrongPassword counts a wrong password from addr; when it locks the
// account there it returns until when and for how long (MaxFailedLogins
// are allowed; after a lock the next wrong one locks again, twice as
// long, up to LockoutFor). It also counts in Failed, and keeps the latest
// lock in LockedUntil and LockedFrom.
func (u *User) WrongPassword(addr string, now time.Time) (until time.Time, lasts time.Duration) {
	if u.Lockouts == nil {
		u.Lockouts = map[string]Lockout{}
	}
	if _, ok := u.Lockouts[addr]; !ok && len(u.Lockouts) >= maxLockouts {
		for a, l := range u.Lockouts {
			if !now.Before(l.Until) {
				delete(u.Lockouts, a)
			}
		}
	}
	l := u.Lockouts[addr]
	l.Failed++
	u.Failed++
	if l.Failed > MaxFailedLogins {
		l.Lasts = min(max(2*l.Lasts, LockoutFirst), LockoutFor)
		l.Until = now.Add(l.Lasts)
		until, lasts = l.Until, l.Lasts
		if until.After(u.LockedUntil) || !now.Before(u.LockedUntil) {
			u.LockedUntil, u.LockedFrom = until, addr
		}
	}
	if len(u.Lockouts) < maxLockouts || l.Failed > 1 {
		u.Lockouts[addr] = l
	}
	return until, lasts
}

// GoodPassword ends the count of wrong passwords from addr. It reports
// false, and changes nothing, while the account is locked there (a lock
// set by wrong passwords sent at the same time stands).
func (u *User) GoodPassword(addr string, now time.Time) bool {
	if !u.LockedAt(addr, now).IsZero() {
		return false
	}
	delete(u.Lockouts, addr)
	u.Failed = 0
	if u.LockedFrom == addr {
		u.LockedUntil, u.LockedFrom = time.Time{}, ""
	}
	return true
}

// Unlock clears every address's lock and count (an admin's unlock).
func (u *User) Unlock() {
	u.Failed, u.LockedUntil, u.LockedFrom, u.Lockouts = 0, time.Time{}, "", nil
}

// Lockout policy: GB/T 22239 (等保) asks for a lock after repeated failed
// logins. Five wrong passwords in a row from one address are allowed; the
// sixth locks the account at that address for LockoutFirst, and each
// wrong password after a lock locks it again for twice as long, up to
// LockoutFor (an admin may unlock it sooner). Only that address: a lock
// anyone could set everywhere would let a stranger lock the guards out at
// shift change (issue 27).
const (
	MaxFailedLogins = 5
	LockoutFirst    = time.Minute
	LockoutFor      = 15 * time.Minute
)

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)

// CheckUserName says what is wrong with an account name.
func CheckUserName(name string) error {
	if !userName.MatchString(name) {
		return gateway.Errorf(gateway.EINVALID, "user name %q: 2–32 characters, lower-case letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// CheckNewPassword says what is wrong with a new password.
func CheckNewPassword(name, password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return gateway.Errorf(gateway.EINVALID, "password: at least %d characters", MinPasswordLength)
	}
	if password == name {
		return gateway.Errorf(gateway.EINVALID, "password: must not be the user name")
	}
	return nil
}

// Session is a logged-in browser.
type Session struct {
	ID       string // sha256 of the cookie token, hex; the token itself is never stored
	User     string
	CSRF     string
	Created  time.Time
	LastSeen time.Time
	// Duty is when its guard went on duty (the duty screen): from then the
	// session ignores the idle limit and lasts the shift (SessionMax).
	Duty time.Time
}

// Session lifetime: an idle console logs out (after SessionIdle unless the
// console is told otherwise), and no session outlives a shift; a duty
// session ignores the idle limit.
const (
	SessionIdle = 30 * time.Minute
	SessionMax  = 12 * time.Hour
)

// Expired tells whether the session has ended at now, for a console that
// logs an idle session out after idle.
func (s *Session) Expired(now time.Time, idle time.Duration) bool {
	if !s.Duty.IsZero() {
		return now.Sub(s.Duty) > SessionMax
	}
	return now.Sub(s.LastSeen) > idle || now.Sub(s.Created) > SessionMax
}

// AuditEntry is one operator action at the console: who, when, what, and
// whether it was done.
type AuditEntry struct {
	N      int64
	At     time.Time
	User   string
	Action string // e.g. "alarm.ack", "visitor.register", "login.failed"
	Room   string
	Target string // the alarm, visit, user … acted on
	Detail string
	Result string // "ok", or the refusal
	Remote string // the client's address
	// Console is the peer console it was done at ("" : this one).
	Console string
}

func (a AuditEntry) String() string {
	return fmt.Sprintf("%s %s %s %s %s: %s", a.At.Format(gateway.TimeFormat), a.User, a.Action, a.Room, a.Target, a.Result)
}
