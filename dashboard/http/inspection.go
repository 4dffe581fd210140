package http

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
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
	findings, err := s.Store.Findings(q.Get("room"), 200)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	done, err := s.Store.Inspections(50)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	data := map[string]any{"Rooms": s.Store.Rooms(), "Room": q.Get("room"),
		"From": today.AddDate(0, 0, -30).Format("2006-01-02"), "Until": today.Format("2006-01-02"),
		"Findings": findings, "Today": today.Format(time.DateOnly), "Items": dashboard.CheckItems,
		"Deadline": today.AddDate(0, 0, 30).Format(time.DateOnly), "Me": cmp.Or(r.User.Person, r.User.Name), "Ledgers": ledgerKinds,
		"Done": done, "Kinds": dashboard.InspectionKinds}
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
	if data["Checklist"], err = s.checklist(in, q.Get("room")); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if q.Get("pdf") != "" {
		// The report as its PDF: the page as printed (its print
		// stylesheet inline), made by headless Chromium.
		var page bufWriter
		s.render(&page, r, "inspection", data)
		css, err := fs.ReadFile(assets, "assets/static/app.css")
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err.Error())
			return
		}
		html := bytes.Replace(page.Bytes(), []byte(`<link rel="stylesheet" href="/static/app.css">`), append(append([]byte("<style>"), css...), "</style>"...), 1)
		html = bytes.Replace(html, []byte(`<script src="/static/app.js" defer></script>`), nil, 1)
		pdf, err := s.printPDF(r.Context(), html)
		if err != nil {
			s.fail(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="roomguard-%s-inspection-%s-%s.pdf"`, cmp.Or(q.Get("room"), "all"), q.Get("from"), q.Get("until")))
		s.deliver(w, "inspection pdf", pdf)
		return
	}
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

// checklist fills the report's checklist: what the log proves, and what
// the inspector checks on the spot.
func (s *Server) checklist(in *dashboard.Inspection, room string) ([]dashboard.CheckLine, error) {
	devices, err := s.Store.Retained(room, "devices")
	if err != nil {
		return nil, err
	}
	detectors := map[string]time.Time{}
	var protections []string
	for _, d := range devices {
		var st struct{ Device, Kind string }
		if json.Unmarshal(d.Payload, &st) != nil {
			continue
		}
		switch gateway.InputKind(st.Kind) {
		case gateway.KindIRDetector:
			detectors[d.Room+"/"+st.Device] = time.Time{}
		case gateway.KindSmoke, gateway.KindWater, gateway.KindClimate:
			protections = append(protections, d.Room+"/"+st.Device)
		}
	}
	recs, err := s.Store.Events(sqlite.EventFilter{Room: room, Types: []string{"motion.detected", "maintenance.closed"}, Since: in.From, Until: in.Until})
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, r := range recs {
		switch r.Type {
		case "motion.detected":
			if _, ok := detectors[r.Room+"/"+r.Device]; ok {
				detectors[r.Room+"/"+r.Device] = r.TS
			}
		case "maintenance.closed":
			var d struct{ Maintenance, Media string }
			if json.Unmarshal(r.Data, &d) == nil && d.Media == "removed" {
				removed = append(removed, d.Maintenance)
			}
		}
	}
	return in.Checklist(detectors, removed, protections), nil
}

// recordInspection records an inspection done and signs it with the
// account: its kind and the period its report covered.
func (s *Server) recordInspection(w http.ResponseWriter, r *request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	in := dashboard.InspectionDone{Room: f("room"), Kind: f("kind"), At: s.Clock.Now(), By: cmp.Or(r.User.Person, r.User.Name),
		From: f("from"), Until: f("until"), Note: f("note")}
	_, _, err := s.period(in.From, in.Until)
	if !slices.Contains(dashboard.InspectionKinds, in.Kind) {
		err = gateway.Errorf(gateway.EINVALID, "kind: %q is not periodic, holiday or unannounced", in.Kind)
	}
	if err == nil {
		_, err = s.Store.AddInspection(in)
	}
	s.auditf(r, "inspection.record", in.Room, in.Kind, in.From+" – "+in.Until, result(err))
	back(w, r, "/inspection", err)
}

// findingForm carries out a finding's form: open, rectify, close.
func (s *Server) findingForm(w http.ResponseWriter, r *request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	who := cmp.Or(r.User.Person, r.User.Name)
	now := s.Clock.Now()
	var err error
	target := f("n")
	switch what := r.PathValue("what"); what {
	case "open":
		fd := dashboard.Finding{Room: f("room"), Item: f("item"), Text: f("text"), Owner: f("owner"), Deadline: f("deadline"),
			Unannounced: r.PostFormValue("unannounced") == "on", Opened: now, OpenedBy: who}
		var n int64
		n, err = s.Store.AddFinding(fd)
		target = strconv.FormatInt(n, 10)
		s.auditf(r, "finding.open", fd.Room, target, fd.Item+": "+fd.Text, result(err))
	case "rectify", "close":
		n, perr := strconv.ParseInt(target, 10, 64)
		if perr != nil {
			err = gateway.Errorf(gateway.EINVALID, "n: %q is not a finding's number", target)
		} else {
			_, err = s.Store.UpdateFinding(n, func(fd *dashboard.Finding) error {
				if what == "rectify" {
					return fd.Rectify(who, f("note"), now)
				}
				return fd.Close(who, now)
			})
		}
		s.auditf(r, "finding."+what, f("room"), target, f("note"), result(err))
	default:
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no finding form %q", what))
		return
	}
	back(w, r, "/inspection", err)
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

// bufWriter is a page rendered into memory (for its PDF).
type bufWriter struct {
	bytes.Buffer
	h http.Header
}

func (b *bufWriter) Header() http.Header {
	if b.h == nil {
		b.h = http.Header{}
	}
	return b.h
}
func (b *bufWriter) WriteHeader(int) {}
