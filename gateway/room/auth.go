package room

import (
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// ForgeryBurst refused commands within ForgeryWindow raise a
// command-forgery alarm: a guard must look at who is sending them.
const (
	ForgeryBurst  = 5
	ForgeryWindow = time.Minute
)

// Authorize decides whether the person named in a command's by may give it
// (issue 17): a person of the room's register, valid today, allowed in this
// room, whose role the command takes (gateway.CommandRoles). The principal
// that signed it was believed before. A room that never had a register (an
// installation) is commanded by its principals alone, so the first register
// can be installed; once one was, an empty one names nobody (issue 27,
// finding 3). The Pi's own command line (the local principal) may always
// install a register: a room whose register names no security officer
// would otherwise be locked out of it for good.
func (r *Room) Authorize(command, by, principal string) error {
	if !gateway.NamesPerson(command) {
		return nil
	}
	if principal == gateway.LocalPrincipal && command == "personnel/replace" {
		return nil
	}
	a := r.Access
	installed, err := a.reg.Installed()
	if err != nil {
		return err
	}
	if !installed {
		return nil
	}
	p, err := a.reg.Person(strings.TrimSpace(by))
	if err != nil {
		return err
	}
	if p == nil {
		return gateway.Errorf(gateway.EUNKNOWNPERSON, "%s: %q is not a person of room %s's register", command, by, r.ID)
	}
	loc := time.Local
	if a.work != nil && a.work.Location != nil {
		loc = a.work.Location
	}
	if why := p.InvalidOn(a.clock.Now().In(loc).Format(time.DateOnly)); why != "" {
		return gateway.Errorf(gateway.ENOTALLOWED, "%s: %s (%s) %s", command, p.ID, p.Name, why)
	}
	if !p.AllowedIn(r.ID) {
		return gateway.Errorf(gateway.ENOTALLOWED, "%s: %s (%s) is not allowed in room %s", command, p.ID, p.Name, r.ID)
	}
	roles := r.cfg.Commands
	if roles == nil {
		roles = gateway.DefaultCommandRoles()
	}
	if !roles.Allows(command, p.Role) {
		return gateway.Errorf(gateway.ENOTALLOWED, "%s: %s (%s) is a %s; it takes %v", command, p.ID, p.Name, p.Role, roles[command])
	}
	return nil
}

// SafeRelease decides whether a safe's lock may be released now at by's
// command through channel via: at once for a safe that holds no top-secret
// carrier; for one that does, on the second of two people's commands
// through two channels within gateway.SecondWindow (issue 17). The first
// is logged (safe.release_asked) and waits.
func (r *Room) SafeRelease(safe, by, via string) (done bool, err error) {
	if r.Vault == nil || !r.Vault.HoldsTopSecret(safe) {
		return true, nil
	}
	p := r.Panel
	err = p.do(func(c *change) error {
		asked := p.safeAsks[safe]
		if asked != nil && c.now.Sub(asked.At) > gateway.SecondWindow {
			asked = nil
		}
		switch {
		case asked == nil:
			if p.safeAsks == nil {
				p.safeAsks = map[string]*gateway.Confirmation{}
			}
			p.safeAsks[safe] = &gateway.Confirmation{Op: "safe/release", By: by, At: c.now, Via: via}
			c.event("safe.release_asked", gateway.SeverityInfo, safe, by, map[string]any{"safe": safe, "by": by,
				"window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		case gateway.SamePerson(asked.By, by):
			return gateway.Errorf(gateway.ESAMEPERSON, "safe/release: safe %s holds top-secret carriers: a second person releases it with %s", safe, asked.By)
		case asked.Via == via:
			return gateway.Errorf(gateway.ESAMEPERSON, "safe/release: %s asks through the same channel as %s (%s): the second person signs from their own session or key", by, asked.By, via)
		}
		delete(p.safeAsks, safe)
		done = true
		return nil
	})
	return done, err
}
