package http

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	gwcsv "github.com/roomguard/roomguard/gateway/csv"
)

// maxInspection bounds the period one report covers.
const maxInspection = 366 * 24 * time.Hour

// inspection is the self-inspection report (保密自查) of a period, printable.
// Without a period it shows the form, with the last 30 days filled in.
func (s *Server) inspection(w http.ResponseWriter, r *request) {
	q := r.URL.Query()
	now := s.Clock.Now().In(s.zone())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.zone())
	data := map[string]any{"Rooms": s.Store.Rooms(), "Room": q.Get("room"),
		"From": today.AddDate(0, 0, -30).Format("2006-01-02"), "Until": today.Format("2006-01-02")}
	if q.Get("from") == "" && q.Get("until") == "" {
		s.render(w, r, "inspection", data)
		return
	}
	data["From"], data["Until"] = q.Get("from"), q.Get("until")
	in, err := s.inspect(q.Get("room"), q.Get("from"), q.Get("until"))
	s.auditf(r, "report.inspection", q.Get("room"), "", q.Get("from")+" – "+q.Get("until"), result(err))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		data["Error"] = err.Error()
		s.render(w, r, "inspection", data)
		return
	}
	in.By = r.User.Display
	if in.By == "" {
		in.By = r.User.Name
	}
	data["Report"] = in
	s.render(w, r, "inspection", data)
}

// inspect builds the report of a room (or every room) over [from, until]:
// the dates are whole days in the console's zone, until included.
func (s *Server) inspect(room, fromV, untilV string) (*dashboard.Inspection, error) {
	from, until, err := s.period(fromV, untilV)
	if err != nil {
		return nil, err
	}
	// alarms raised in the period may be acknowledged or closed after it
	recs, err := s.Store.Events(sqlite.EventFilter{Room: room, Types: dashboard.InspectionTypes, Since: from})
	if err != nil {
		return nil, err
	}
	counts, err := s.Store.EntryCounts(room, from, until)
	if err != nil {
		return nil, err
	}
	in := dashboard.Inspect(from, until, recs, counts)
	in.Room, in.Generated = room, s.Clock.Now()
	in.Denials, err = s.Store.Entries(dashboard.EntryFilter{Room: room, Result: "denied", Since: from, Until: until, Limit: dashboard.MaxDenials + 1})
	if err != nil {
		return nil, err
	}
	if len(in.Denials) > dashboard.MaxDenials {
		in.Denials, in.MoreDenials = in.Denials[:dashboard.MaxDenials], true
	}
	if err := s.inspectStaff(in, room); err != nil {
		return nil, err
	}
	if in.Keys, err = s.keyLines(room, until, until); err != nil {
		return nil, err
	}
	keys, err := s.Store.RoomKeys()
	if err != nil {
		return nil, err
	}
	for _, rr := range s.Store.Rooms() {
		if room != "" && rr.Room != room {
			continue
		}
		if rr.Lost > 0 {
			in.Lost[rr.Room] = rr.Lost
		}
		c := in.ChainOf(rr.Room)
		c.Verified, c.VerifiedAt = rr.Verified, rr.VerifiedAt
		for _, k := range keys {
			c.KeyConfirmed = c.KeyConfirmed || k.Room == rr.Room && k.Pinned != ""
		}
		if c.Quarantined, err = s.Store.QuarantinedIn(rr.Room, from, until); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// inspectStaff lists the classified staff of the console's personnel
// register (those allowed in room, when one) overdue on the period's last
// day: training, commitment, debriefing (issue 31).
func (s *Server) inspectStaff(in *dashboard.Inspection, room string) error {
	reg, err := s.Store.Register("personnel")
	if gateway.ErrorCode(err) == gateway.ENOTFOUND || err == nil && (reg == nil || reg.CSV == "") {
		return nil // the report says the console keeps none
	}
	if err != nil {
		return err
	}
	people, err := gwcsv.ReadPeople(strings.NewReader(reg.CSV), "personnel register", gateway.MaxRecords)
	if err != nil {
		return nil // the register page says what is wrong with it
	}
	r := *reg
	r.CSV = ""
	in.StaffRegister = &r
	day := in.LastDay().In(s.zone()).Format(time.DateOnly)
	for _, p := range people {
		if room != "" && !p.AllowedIn(room) {
			continue
		}
		in.StaffChecked++
		if due := p.StaffDue(day); len(due) > 0 {
			in.Staff = append(in.Staff, dashboard.StaffLine{Person: p, Due: due})
		}
	}
	return nil
}

// keyLines are the safes' combinations and the doors' keys of room (every
// room when empty) as of at: their last change and why another is due. A
// zero until reads every event (now: a room's clock may run a little
// ahead of the console's); a report's reads those before its end.
func (s *Server) keyLines(room string, at, until time.Time) ([]dashboard.KeyLine, error) {
	devices, err := s.Store.Retained(room, "devices")
	if err != nil {
		return nil, err
	}
	recs, err := s.Store.Events(sqlite.EventFilter{Room: room, Types: dashboard.KeyTypes, Until: until})
	if err != nil {
		return nil, err
	}
	age := s.KeyAge
	if age <= 0 {
		age = dashboard.KeyAge
	}
	return dashboard.KeysOf(dashboard.KeySubjectsOf(devices), recs, at, age), nil
}

// period reads a report's period: dates are whole days in the console's
// zone, until included (the returned until is exclusive).
func (s *Server) period(fromV, untilV string) (from, until time.Time, err error) {
	from, err = formTime(fromV, s.zone())
	if err != nil {
		return time.Time{}, time.Time{}, gateway.Errorf(gateway.EINVALID, "from: %v", err)
	}
	until, err = formTime(untilV, s.zone())
	if err != nil {
		return time.Time{}, time.Time{}, gateway.Errorf(gateway.EINVALID, "until: %v", err)
	}
	if from.IsZero() || until.IsZero() {
		return time.Time{}, time.Time{}, gateway.Errorf(gateway.EINVALID, "from/until: the report needs both ends of the period")
	}
	if len(untilV) == len("2006-01-02") {
		until = until.AddDate(0, 0, 1) // the whole last day
	}
	switch {
	case !until.After(from):
		return time.Time{}, time.Time{}, gateway.Errorf(gateway.EINVALID, "until: %s is not after from (%s)", untilV, fromV)
	case until.Sub(from) > maxInspection:
		return time.Time{}, time.Time{}, gateway.Errorf(gateway.EINVALID, "from/until: a report covers at most a year; this period is %d days", int(until.Sub(from).Hours()/24))
	}
	return from, until, nil
}

// duration says a length of time for the report (1小时02分03秒; in
// English 1h02m03s).
func duration(lang string, d time.Duration) string {
	if d <= 0 {
		d = 0
	}
	d = d.Round(time.Second)
	w := timeWords(lang)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d%s%02d%s%02d%s", h, w.hour, m, w.min, sec, w.sec)
	case m > 0:
		return fmt.Sprintf("%d%s%02d%s", m, w.min, sec, w.sec)
	}
	return fmt.Sprintf("%d%s", sec, w.sec)
}
