package gateway

import (
	"time"
)

// Holiday is a named range of days (节假日), both ends included.
type Holiday struct {
	Name     string
	From, To time.Time // midnight of the first and the last day, in the room's zone
}

// WorkSchedule is the room's working day, for the end-of-day checks.
type WorkSchedule struct {
	End      time.Duration // after midnight: 18:00 is 18h
	Location *time.Location
	Holidays []Holiday
}

// SetSchedule starts the end-of-day checks: at the end of every working
// day a room that is not armed or sealed gets room.not_secured naming what
// is open, unlocked or occupied; before a holiday a room that is not sealed
// gets seal.missing.
func (p *Panel) SetSchedule(ws WorkSchedule) {
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

// EndOfDay is the next end of the working day after now: today's, or
// tomorrow's once today's has passed.
func (ws *WorkSchedule) EndOfDay(now time.Time) time.Time {
	loc := ws.Location
	if loc == nil {
		loc = time.Local
	}
	local := now.In(loc)
	y, m, d := local.Date()
	at := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(ws.End)
	if !at.After(local) {
		at = time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(ws.End)
	}
	return at
}

// holidayStarting returns the holiday that begins the day after now.
func (ws *WorkSchedule) holidayStarting(now time.Time) *Holiday {
	y, m, d := now.In(ws.Location).Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, ws.Location)
	for i, h := range ws.Holidays {
		if h.From.Equal(tomorrow) {
			return &ws.Holidays[i]
		}
	}
	return nil
}

func (p *Panel) endOfDay() {
	defer p.scheduleEndOfDay()
	// A failed check is held as a gateway fault, not retried: the next day's runs.
	p.Fault("the end-of-day check", p.do(func(c *change) error { p.checkEndOfDay(c); return nil }))
}

func (p *Panel) checkEndOfDay(c *change) {
	s := c.next
	if s.Mode == ModeOpen {
		reasons := p.ready(c, nil)
		reasons = append([]Reason{{Code: "not-armed", Detail: "the room is open after the end of the working day"}}, reasons...)
		c.event("room.not_secured", SeverityWarning, "", "", map[string]any{"mode": s.Mode, "reasons": reasons})
	}
	if h := p.work.holidayStarting(c.now); h != nil && s.Mode != ModeSealed {
		c.event("seal.missing", SeverityWarning, "", "", map[string]any{"holiday": h.Name, "starts": h.From.Format(time.DateOnly)})
	}
}

// IsHoliday tells whether t falls on a holiday.
func (ws *WorkSchedule) IsHoliday(t time.Time) bool {
	if ws == nil {
		return false
	}
	loc := ws.Location
	if loc == nil {
		loc = time.Local
	}
	y, m, d := t.In(loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	for _, h := range ws.Holidays {
		if !day.Before(h.From) && !day.After(h.To) {
			return true
		}
	}
	return false
}
