package room

import (
	"fmt"
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

// Refused records a command the room did not believe (unauthenticated,
// forbidden, stale or replayed) as an auth.refused event, and the fifth
// within a minute as a command-forgery alarm, which needs only an
// acknowledgement to close (the refusals are over when it is seen).
func (r *Room) Refused(principal, cmd, code, detail string) error {
	p := r.Panel
	return p.do(func(c *change) error {
		data := map[string]any{"cmd": cmd, "code": code, "detail": detail}
		if principal != "" {
			data["principal"] = principal
		}
		c.event("auth.refused", gateway.SeverityWarning, "", "", data)
		kept := p.refusals[:0]
		for _, at := range p.refusals {
			if c.now.Sub(at) < ForgeryWindow {
				kept = append(kept, at)
			}
		}
		p.refusals = append(kept, c.now)
		if len(p.refusals) >= ForgeryBurst {
			p.refusals = p.refusals[:0]
			p.raise(c, gateway.AlarmForgery, "", fmt.Sprintf("%d commands refused within %s, the last %s: %s", ForgeryBurst, ForgeryWindow, code, detail), false)
		}
		return nil
	})
}

// Authorize decides whether the person named in a command's by may give it
// (issue 17): a person of the room's register, valid today, allowed in this
// room, whose role the command takes (gateway.CommandRoles). The principal
// that signed it was believed before. A room whose register holds nobody
// yet (an installation) is commanded by its principals alone, so the first
// register can be installed.
func (r *Room) Authorize(command, by string) error {
	if !gateway.NamesPerson(command) {
		return nil
	}
	a := r.Access
	n, err := a.reg.Headcount()
	if err != nil {
		return err
	}
	if n == 0 {
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
