package room

import (
	"fmt"
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
