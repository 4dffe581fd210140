package room

import (
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// SetSchedule starts the end-of-day checks: at the end of every working
// day a room that is not armed or sealed gets room.not_secured naming what
// is open, unlocked or occupied; before a holiday a room that is not sealed
// gets seal.missing.
func (p *Panel) SetSchedule(ws gateway.WorkSchedule) {
	if ws.Location == nil {
		ws.Location = time.Local
	}
	p.mu.Lock()
	p.work = &ws
	p.mu.Unlock()
	p.scheduleEndOfDay()
}

func (p *Panel) scheduleEndOfDay() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.work == nil || p.stopped.Load() {
		return
	}
	if p.stopEOD != nil {
		p.stopEOD()
	}
	now := p.clock.Now()
	p.stopEOD = p.clock.AfterFunc(p.work.EndOfDay(now).Sub(now), p.endOfDay)
}

func (p *Panel) endOfDay() {
	defer p.scheduleEndOfDay()
	// A failed check is held as a gateway fault, not retried: the next day's runs.
	p.Fault("the end-of-day check", p.do(func(c *change) error { p.checkEndOfDay(c); return nil }))
}

func (p *Panel) checkEndOfDay(c *change) {
	s := c.next
	if s.Mode == gateway.ModeOpen {
		reasons := p.ready(c, nil)
		reasons = append([]gateway.Reason{{Code: "not-armed", Detail: "the room is open after the end of the working day"}}, reasons...)
		c.event("room.not_secured", gateway.SeverityWarning, "", "", map[string]any{"mode": s.Mode, "reasons": reasons})
	}
	if h := p.work.HolidayStarting(c.now); h != nil && s.Mode != gateway.ModeSealed {
		c.event("seal.missing", gateway.SeverityWarning, "", "", map[string]any{"holiday": h.Name, "starts": h.From.Format(time.DateOnly)})
	}
}
