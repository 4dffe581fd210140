package gateway

import "time"

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
	// Workdays are the make-up workdays of the official calendar (调休): a
	// weekend day worked as a weekday, each its midnight in Location.
	Workdays []time.Time
}

// IsMakeUpWorkday tells whether t falls on a make-up workday (调休).
func (ws *WorkSchedule) IsMakeUpWorkday(t time.Time) bool {
	if ws == nil {
		return false
	}
	day := ws.midnight(t)
	for _, w := range ws.Workdays {
		if w.Equal(day) {
			return true
		}
	}
	return false
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

// HolidayStarting returns the holiday that begins the day after now.
func (ws *WorkSchedule) HolidayStarting(now time.Time) *Holiday {
	y, m, d := now.In(ws.Location).Date()
	tomorrow := time.Date(y, m, d+1, 0, 0, 0, 0, ws.Location)
	for i, h := range ws.Holidays {
		if h.From.Equal(tomorrow) {
			return &ws.Holidays[i]
		}
	}
	return nil
}

// IsHoliday tells whether t falls on a holiday.
func (ws *WorkSchedule) IsHoliday(t time.Time) bool {
	if ws == nil {
		return false
	}
	day := ws.midnight(t)
	for _, h := range ws.Holidays {
		if !day.Before(h.From) && !day.After(h.To) {
			return true
		}
	}
	return false
}

// midnight is the start of t's day in the schedule's zone.
func (ws *WorkSchedule) midnight(t time.Time) time.Time {
	loc := ws.Location
	if loc == nil {
		loc = time.Local
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
