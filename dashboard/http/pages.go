package http

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gwcsv "github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/wire"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

func (s *Server) overview(w http.ResponseWriter, r *request) {
	rooms, err := s.roomViews("")
	if err == nil {
		err = s.dueOn(rooms)
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "overview", overviewOf(rooms, r.URL.Query().Get("q"), r.URL.Query().Get("show")))
}

// roomBox is one room's box of the overview and the count line: what the
// overview's script fetches when a live event or state names the room
// (issue 33: a building's overview updated by deltas, not re-rendered).
func (s *Server) roomBox(w http.ResponseWriter, r *request) {
	room := r.PathValue("room")
	one, err := s.roomViews(room)
	var all []roomView
	if err == nil {
		all, err = s.roomViewsOf("", "status", "alarms") // what the count line counts
	}
	if err == nil && len(one) == 1 {
		err = s.dueOn(one)
	}
	switch {
	case err != nil:
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	case len(one) != 1:
		s.fail(w, r, http.StatusNotFound, "no room "+room)
		return
	}
	v := overviewOf(all, "", "")
	one[0].Rank = rankOf(one[0])
	v.Groups = []roomGroup{{Name: one[0].Status.Location, Rooms: one}}
	s.render(w, r, "roombox", v)
}

// dueOn notes on each room its findings overdue and why an inspection is
// due.
func (s *Server) dueOn(rooms []roomView) error {
	findings, err := s.Store.Findings("", 1000)
	if err != nil {
		return err
	}
	done, err := s.Store.Inspections(1000)
	if err != nil {
		return err
	}
	now := s.Clock.Now().In(s.zone())
	today := now.Format(time.DateOnly)
	every := cmp.Or(s.InspectEvery, dashboard.InspectEvery)
	for i := range rooms {
		for _, f := range findings {
			if f.Room == rooms[i].Room && f.Overdue(today) {
				rooms[i].FindingsOverdue++
			}
		}
		var hs []dashboard.HolidayDates
		for _, h := range rooms[i].Status.Holidays {
			hs = append(hs, dashboard.HolidayDates{Name: h.Name, From: h.From, To: h.To})
		}
		rooms[i].InspectionDue = dashboard.InspectionDue(rooms[i].Room, done, hs, now, every)
	}
	return nil
}

// overviewView is the overview of a building's rooms (issue 33): grouped by
// where they are (their status's location), each group's rooms those with
// open alarms first (the most urgent first), then those offline, then the
// rest by id; the group with the most urgent room first. Narrowed to a
// search and to alarms or offline rooms.
type overviewView struct {
	Groups                  []roomGroup
	Q, Show                 string
	Total, Alarmed, Offline int
}

// roomGroup is the rooms of one location.
type roomGroup struct {
	Name  string
	Rooms []roomView
}

// Shown is how many rooms the overview shows.
func (v overviewView) Shown() int {
	n := 0
	for _, g := range v.Groups {
		n += len(g.Rooms)
	}
	return n
}

// Grouped tells whether the overview shows its groups' names (there is
// more than one, or one with a name).
func (v overviewView) Grouped() bool {
	return len(v.Groups) > 1 || len(v.Groups) == 1 && v.Groups[0].Name != ""
}

// rankOf orders the overview: a room's most urgent open alarm's priority
// (1 first), then 100 for one offline, 101 for the rest.
func rankOf(r roomView) int {
	p := 101
	if r.Seen && !r.Online {
		p = 100
	}
	for _, a := range r.Alarms {
		p = min(p, a.Priority)
	}
	return p
}

func overviewOf(rooms []roomView, q, show string) overviewView {
	v := overviewView{Q: q, Show: show, Total: len(rooms)}
	q = strings.ToLower(strings.TrimSpace(q))
	at := map[string]int{} // group by location
	for _, r := range rooms {
		offline := r.Seen && !r.Online
		if len(r.Alarms) > 0 {
			v.Alarmed++
		}
		if offline {
			v.Offline++
		}
		switch {
		case q != "" && !strings.Contains(strings.ToLower(r.Room), q) && !strings.Contains(strings.ToLower(r.Title()), q) &&
			!strings.Contains(strings.ToLower(r.Status.Location), q):
		case show == "alarms" && len(r.Alarms) == 0:
		case show == "offline" && !offline:
		default:
			r.Rank = rankOf(r)
			i, ok := at[r.Status.Location]
			if !ok {
				i = len(v.Groups)
				at[r.Status.Location] = i
				v.Groups = append(v.Groups, roomGroup{Name: r.Status.Location})
			}
			v.Groups[i].Rooms = append(v.Groups[i].Rooms, r)
		}
	}
	for _, g := range v.Groups {
		slices.SortStableFunc(g.Rooms, func(a, b roomView) int {
			return cmp.Or(cmp.Compare(a.Rank, b.Rank), strings.Compare(a.Room, b.Room))
		})
	}
	unnamed := func(g roomGroup) int { // rooms of no location after the named
		if g.Name == "" {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(v.Groups, func(a, b roomGroup) int {
		return cmp.Or(cmp.Compare(a.Rooms[0].Rank, b.Rooms[0].Rank), cmp.Compare(unnamed(a), unnamed(b)), strings.Compare(a.Name, b.Name))
	})
	return v
}

func (s *Server) alarms(w http.ResponseWriter, r *request) {
	rooms, err := s.roomViews("")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	all, err := s.openAlarms(rooms)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "alarms", map[string]any{"Alarms": all, "Error": r.URL.Query().Get("error")})
}

// openAlarms are the open alarms of every room, most urgent first, each
// with its call-down's deliveries.
func (s *Server) openAlarms(rooms []roomView) ([]alarmView, error) {
	var all []alarmView
	for _, v := range rooms {
		all = append(all, v.Alarms...)
	}
	sortAlarms(all)
	for i := range all {
		var err error
		if all[i].Deliveries, err = s.deliveries(all[i]); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// deliveries are the call-down's records of an alarm, as the room logged
// them (issue 20).
func (s *Server) deliveries(a alarmView) ([]delivery, error) {
	if a.RaisedAt.IsZero() {
		return nil, nil
	}
	recs, err := s.Store.Events(sqlite.EventFilter{Room: a.Room, Types: []string{"notify."}, Since: a.RaisedAt, Limit: 200})
	if err != nil {
		return nil, err
	}
	var out []delivery
	for _, rec := range recs {
		var d struct {
			Alarm, Person, Name, Channel, Error string
		}
		if json.Unmarshal(rec.Data, &d) != nil || d.Alarm != a.ID {
			continue
		}
		out = append(out, delivery{At: rec.TS, Sent: rec.Type == "notify.sent", Person: cmp.Or(d.Name, d.Person), Channel: d.Channel, Error: d.Error})
	}
	return out, nil
}

// back redirects after a post: to the page, with the outcome.
func back(w http.ResponseWriter, r *request, path string, err error) {
	q := url.Values{}
	if err != nil {
		q.Set("error", refusalText(r.Lang, err, r.names))
	} else {
		q.Set("done", "1")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r.Request, path+sep+q.Encode(), http.StatusSeeOther)
}

func (s *Server) ack(w http.ResponseWriter, r *request) {
	room, alarm := r.PostFormValue("room"), r.PostFormValue("alarm")
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	var err error
	if room == "" || alarm == "" {
		err = gateway.Errorf(gateway.EINVALID, "ack: which room and alarm is missing")
	} else if comment == "" {
		err = gateway.Errorf(gateway.EINVALID, "ack: a comment is required (what was found, what was done)")
	}
	switch {
	case err != nil:
		s.auditf(r, "alarm.ack", room, alarm, comment, result(err))
	case strings.HasPrefix(alarm, dashboard.ConsoleAlarmPrefix): // the console's own: the room knows nothing of it
		err = s.ackConsoleAlarm(room, alarm)
		s.auditf(r, "alarm.ack", room, alarm, comment, result(err))
	default:
		_, err = s.call(r, "alarm.ack", room, alarm, "ack", map[string]any{"alarm": alarm, "comment": comment}, comment)
	}
	to := "/alarms"
	if r.PostFormValue("back") == "/duty" { // acknowledged on the duty screen: back there
		to = "/duty"
	}
	back(w, r, to, err)
}

// ackConsoleAlarm closes one of the console's own alarms: what raised it
// (a forgery) is over once it is seen; the quarantine keeps the evidence,
// the audit who acknowledged it and why.
func (s *Server) ackConsoleAlarm(room, alarm string) error {
	gone := dashboard.Retained{Room: room, Kind: "alarms", Key: alarm, Updated: s.Clock.Now()}
	changed, err := s.Store.SetRetained(gone)
	if err != nil {
		return err
	}
	if !changed {
		return gateway.Errorf(gateway.ENOTFOUND, "ack: no alarm %s in room %s", alarm, room)
	}
	s.Hub.State(gone)
	return nil
}

// pinKey confirms the key a room offers as the one it is verified against:
// the admin confirms the fingerprint shown (the form carries that key, so
// what is pinned is what was seen).
func (s *Server) pinKey(w http.ResponseWriter, r *request) {
	room, key := r.PathValue("room"), strings.TrimSpace(r.PostFormValue("key"))
	err := s.Rooms.PinKey(room, key, r.User.Name)
	detail := key
	if k, perr := gateway.ParsePublicKey(key); perr == nil {
		detail = gateway.KeyFingerprint(k)
	}
	s.auditf(r, "room.key.pin", room, room, detail, result(err))
	back(w, r, "/rooms/"+url.PathEscape(room), err)
}

// addRoom adds a room to those the console shows (issue 27: no other), with
// its key's fingerprint read from the Pi when the admin has it.
func (s *Server) addRoom(w http.ResponseWriter, r *request) {
	room, fp := strings.TrimSpace(r.PostFormValue("room")), r.PostFormValue("fingerprint")
	err := s.Store.AddRoom(room, fp, r.User.Name)
	s.auditf(r, "room.add", room, room, strings.TrimSpace(fp), result(err))
	back(w, r, "/", err)
}

func (s *Server) room(w http.ResponseWriter, r *request) {
	id := r.PathValue("room")
	views, err := s.roomViews(id)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if len(views) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no room %q", id))
		return
	}
	events, err := s.Store.Events(sqlite.EventFilter{Room: id, Newest: true, Limit: 200})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	key, quarantine, err := s.roomTrust(id)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	calldown, err := s.Store.RetainedPayload(id, "calldown", "")
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, r, "room", map[string]any{"Room": views[0], "Events": events, "Error": r.URL.Query().Get("error"),
		"Key": key, "Quarantine": quarantine,
		// A room that has said nothing of a call-down (its config has no
		// notify:) tells nobody of its alarms but this console (issue 28).
		"NoCalldown": views[0].Seen && len(calldown) == 0})
}

// entryFilter reads the entry-log filter from a query.
func (s *Server) entryFilter(r *request) (dashboard.EntryFilter, error) {
	q := r.URL.Query()
	f := dashboard.EntryFilter{Room: q.Get("room"), Person: strings.TrimSpace(q.Get("person")),
		Card: strings.TrimSpace(q.Get("card")), Result: q.Get("result"), Limit: 100}
	var err error
	if f.Since, err = formTime(q.Get("from"), s.zone()); err != nil {
		return f, gateway.Errorf(gateway.EINVALID, "from: %v", err)
	}
	if f.Until, err = formTime(q.Get("until"), s.zone()); err != nil {
		return f, gateway.Errorf(gateway.EINVALID, "until: %v", err)
	}
	if b := q.Get("before"); b != "" {
		parts := strings.SplitN(b, "/", 3)
		if len(parts) != 3 {
			return f, gateway.Errorf(gateway.EINVALID, "before: %q is not ms/room/seq", b)
		}
		ts, err1 := strconv.ParseInt(parts[0], 10, 64)
		seq, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err1 != nil || err2 != nil || ts < 0 || parts[1] == "" {
			return f, gateway.Errorf(gateway.EINVALID, "before: %q is not ms/room/seq", b)
		}
		f.Before = dashboard.Cursor{TS: ts, Room: parts[1], Seq: seq}
	}
	return f, nil
}

// formTime reads a datetime-local field (or a date), in the console's zone.
func formTime(v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (2026-11-22T09:00)", v)
}

func (s *Server) entries(w http.ResponseWriter, r *request) {
	f, err := s.entryFilter(r)
	var list []dashboard.Entry
	if err == nil {
		list, err = s.Store.Entries(f)
	}
	data := map[string]any{"Q": r.URL.Query(), "Entries": list, "Results": dashboard.EntryResults, "Rooms": s.Store.Rooms()}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		data["Error"] = err.Error()
	}
	if len(list) == f.Limit && f.Limit > 0 {
		last := list[len(list)-1]
		q := r.URL.Query()
		q.Set("before", fmt.Sprintf("%d/%s/%d", last.TS.UnixMilli(), last.Room, last.Seq))
		data["Older"] = "/entries?" + q.Encode()
	}
	csvq := r.URL.Query()
	csvq.Del("before")
	data["CSV"] = "/entries.csv?" + csvq.Encode()
	s.render(w, r, "entries", data)
}

// entriesCSV downloads every record the filter selects (newest first), up
// to a million.
func (s *Server) entriesCSV(w http.ResponseWriter, r *request) {
	f, err := s.entryFilter(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f.Limit, f.Before = 5000, dashboard.Cursor{}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="entries-%s.csv"`, s.Clock.Now().In(s.zone()).Format("20060102-150405")))
	cw := gwcsv.NewWriter(w) // every cell neutralised: never a formula in a spreadsheet
	// A BOM, so spreadsheet programs read the Chinese names as UTF-8; a
	// write that fails is the browser gone: the export stops and says so.
	_, err = w.Write([]byte("\ufeff"))
	if err == nil {
		err = cw.Write([]string{"time", "room", "seq", "result", "person", "name", "visitor", "card", "reader", "door", "direction", "reason"})
	}
	n := 0
	for err == nil && n < 1_000_000 {
		page, err := s.Store.Entries(f)
		if err != nil {
			s.Log.Error("entries csv", "err", err)
			break
		}
		for _, e := range page {
			if err = cw.Write([]string{e.TS.In(s.zone()).Format(gateway.TimeFormat), e.Room, strconv.FormatUint(e.Seq, 10), e.Result,
				e.Person, e.PersonName, strconv.FormatBool(e.Visitor), e.Card, e.Reader, e.Door, e.Direction, e.Reason}); err != nil {
				break
			}
		}
		n += len(page)
		if len(page) < f.Limit {
			break
		}
		last := page[len(page)-1]
		f.Before = dashboard.Cursor{TS: last.TS.UnixMilli(), Room: last.Room, Seq: last.Seq}
	}
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		s.Log.Warn("entries csv not delivered", "err", err)
		s.auditf(r, "entries.export", f.Room, "", r.URL.RawQuery, fmt.Sprintf("failed after %d records: %v", n, err))
		return
	}
	s.auditf(r, "entries.export", f.Room, "", r.URL.RawQuery, fmt.Sprintf("ok: %d records", n))
}

// visit is a registered visit as the events tell it.
type visit struct {
	Room, Visit, Name, IDType, IDMasked, Organization, Purpose, Host, Escort, Card, By string
	From, Until, At                                                                    time.Time
}

func (s *Server) activeVisits() ([]visit, error) {
	recs, err := s.Store.Events(sqlite.EventFilter{Types: []string{"visitor.registered", "visitor.checked_out"}})
	if err != nil {
		return nil, err
	}
	open := map[string]visit{}
	var order []string
	for _, r := range recs {
		var d map[string]any
		if err := json.Unmarshal(r.Data, &d); err != nil {
			s.Log.Warn("visitor event unreadable: left out", "room", r.Room, "seq", r.Seq, "err", err)
			continue
		}
		str := func(k string) string { v, _ := d[k].(string); return v }
		key := r.Room + "/" + str("visit")
		if r.Type == "visitor.checked_out" {
			delete(open, key)
			continue
		}
		from, _ := time.Parse(time.RFC3339, str("from"))
		until, _ := time.Parse(time.RFC3339, str("until"))
		open[key] = visit{Room: r.Room, Visit: str("visit"), Name: str("name"), IDType: str("id_type"), IDMasked: str("id_masked"),
			Organization: str("organization"), Purpose: str("purpose"), Host: str("host"), Escort: str("escort"),
			Card: str("card"), By: str("by"), From: from, Until: until, At: r.TS}
		order = append(order, key)
	}
	var out []visit
	for i := len(order) - 1; i >= 0; i-- {
		if v, ok := open[order[i]]; ok {
			out = append(out, v)
			delete(open, order[i])
		}
	}
	return out, nil
}

func (s *Server) visitors(w http.ResponseWriter, r *request) {
	visits, err := s.activeVisits()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	maint, err := s.maintenanceVisits(cmp.Or(r.User.Person, r.User.Name))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	now := s.Clock.Now().In(s.zone())
	s.render(w, r, "visitors", map[string]any{"Visits": visits, "Rooms": s.Store.Rooms(), "Error": r.URL.Query().Get("error"), "Maintenance": maint,
		"From": now.Format("2006-01-02T15:04"), "Until": now.Add(4 * time.Hour).Format("2006-01-02T15:04"),
		"IDTypes": []string{"resident-id", "passport", "officer-id", "other"}})
}

func (s *Server) registerVisitor(w http.ResponseWriter, r *request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	room := f("room")
	from, err1 := formTime(f("from"), s.zone())
	until, err2 := formTime(f("until"), s.zone())
	var err error
	switch {
	case room == "":
		err = gateway.Errorf(gateway.EINVALID, "room: which room the visitor enters is missing")
	case err1 != nil:
		err = gateway.Errorf(gateway.EINVALID, "from: %v", err1)
	case err2 != nil:
		err = gateway.Errorf(gateway.EINVALID, "until: %v", err2)
	case from.IsZero() || until.IsZero():
		err = gateway.Errorf(gateway.EINVALID, "from/until: when the visit begins and ends is missing")
	}
	// the ID number goes to the room, which keeps it only masked and hashed;
	// the audit log gets the masked form
	masked := gateway.MaskID(f("id_number"))
	detail := fmt.Sprintf("%s %s %s, %s, host %s, escort %s, card %s", f("name"), f("id_type"), masked, f("organization"),
		f("host"), f("escort"), gateway.MaskCard(f("card")))
	if err != nil {
		s.auditf(r, "visitor.register", room, "", detail, result(err))
		back(w, r, "/visitors", err)
		return
	}
	visitor := map[string]any{"name": f("name"), "id_type": f("id_type"), "id_number": f("id_number"),
		"organization": f("organization"), "purpose": f("purpose"), "host": f("host"), "escort": f("escort"), "card": f("card"),
		"from": from.Format(time.RFC3339), "until": until.Format(time.RFC3339)}
	res, err := s.call(r, "visitor.register", room, "", "visitor/register", map[string]any{"visitor": visitor}, detail)
	_ = res
	back(w, r, "/visitors", err)
}

func (s *Server) checkOutVisitor(w http.ResponseWriter, r *request) {
	room, v := r.PostFormValue("room"), r.PostFormValue("visit")
	_, err := s.call(r, "visitor.checkout", room, v, "visitor/checkout", map[string]any{"visit": v}, r.PostFormValue("name"))
	back(w, r, "/visitors", err)
}

func (s *Server) audit(w http.ResponseWriter, r *request) {
	f := sqlite.AuditFilter{User: r.URL.Query().Get("user"), Limit: 200}
	if b, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64); err == nil {
		f.Before = b
	}
	list, err := s.Store.AuditLog(f)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	data := map[string]any{"Entries": list, "User": f.User}
	if len(list) == f.Limit {
		data["Older"] = fmt.Sprintf("/audit?user=%s&before=%d", url.QueryEscape(f.User), list[len(list)-1].N)
	}
	s.render(w, r, "audit", data)
}

func (s *Server) users(w http.ResponseWriter, r *request) {
	list, err := s.Store.Users()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	from := ""
	if s.Peers != nil {
		from = s.Peers.AccountsFrom()
	}
	s.render(w, r, "users", map[string]any{"Users": list, "Roles": dashboard.Roles, "Now": s.Clock.Now(), "Error": r.URL.Query().Get("error"), "AccountsFrom": from})
}

func (s *Server) createUser(w http.ResponseWriter, r *request) {
	err := s.accountsHere(r.Lang)
	var role dashboard.Role
	if err == nil {
		role, err = dashboard.ParseRole(r.PostFormValue("role"))
	}
	var u *dashboard.User
	if err == nil {
		u, err = s.newUser(r.Request, r.User.Name, role)
	}
	if err == nil {
		err = s.Store.CreateUser(*u, false)
	}
	s.auditf(r, "user.create", "", r.PostFormValue("user"), "role "+r.PostFormValue("role"), result(err))
	back(w, r, "/users", err)
}

// changeUser unlocks, disables, enables an account or changes its role.
func (s *Server) changeUser(w http.ResponseWriter, r *request) {
	name, what := r.PostFormValue("user"), r.PostFormValue("what")
	_, err := s.Store.UpdateUser(name, func(u *dashboard.User) error {
		if what != "unlock" {
			if err := s.accountsHere(r.Lang); err != nil {
				return err
			}
		}
		switch what {
		case "unlock":
			u.Unlock()
		case "disable":
			if u.Name == r.User.Name {
				return gateway.Errorf(gateway.ECONFLICT, "an admin cannot disable their own account")
			}
			u.Disabled = true
		case "enable":
			u.Disabled = false
		case "reset":
			// A temporary password the admin gives the owner, who must
			// change it at the next login; the account is unlocked.
			pw := r.PostFormValue("password")
			if err := dashboard.CheckNewPassword(u.Name, pw); err != nil {
				return err
			}
			u.Hash, u.MustChange = dashboard.HashPassword(pw, s.Argon2), true
			u.Unlock()
		case "person":
			p, err := dashboard.CheckPerson(r.PostFormValue("person"))
			if err != nil {
				return err
			}
			u.Person = p
		case "role":
			role, err := dashboard.ParseRole(r.PostFormValue("role"))
			if err != nil {
				return err
			}
			if u.Name == r.User.Name && role != dashboard.RoleAdmin {
				return gateway.Errorf(gateway.ECONFLICT, "an admin cannot take their own admin role away")
			}
			u.Role = role
		default:
			return gateway.Errorf(gateway.EINVALID, "what: %q is not unlock, disable, enable, role, reset or person", what)
		}
		return nil
	})
	s.auditf(r, "user."+what, "", name, r.PostFormValue("role")+r.PostFormValue("person"), result(err))
	back(w, r, "/users", err)
}

// roomTrust is what the console knows of a room's key and what it
// quarantined of late.
func (s *Server) roomTrust(room string) (*sqlite.RoomKey, []sqlite.Quarantined, error) {
	keys, err := s.Store.RoomKeys()
	if err != nil {
		return nil, nil, err
	}
	var key *sqlite.RoomKey
	for i := range keys {
		if keys[i].Room == room {
			key = &keys[i]
		}
	}
	q, err := s.Store.QuarantineOf(room, 20)
	return key, q, err
}

// refusalText says a room's refusal of a command in the reader's words
// (issue 28: "arm refused (unauthenticated): …" on a Chinese page): the
// command, the code and each reason with its device; the room's own
// message only where no reason says it. Any other error as it is.
func refusalText(lang string, err error, n *names) string {
	var ref *wire.Refusal
	if lang == "en" || !errors.As(err, &ref) {
		return err.Error()
	}
	s := tr(lang, "refused.head")
	if w := word(lang, "cmd", ref.Cmd); w != ref.Cmd {
		s = w + s
	} else {
		s = ref.Cmd + s
	}
	s += "（" + word(lang, "code", ref.Code) + "）"
	if len(ref.Reasons) == 0 {
		return s + "：" + ref.Message
	}
	var parts []string
	for _, x := range ref.Reasons {
		p := word(lang, "reason", x.Code)
		if x.Device != "" {
			d := x.Device
			if n != nil && ref.Room != "" {
				d = n.Device(ref.Room, d)
			}
			p += " " + d
		}
		parts = append(parts, p)
	}
	return s + "：" + strings.Join(parts, "；")
}
