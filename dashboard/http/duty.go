package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// The duty screen (值班模式, issue 20): a page meant to stay open all night
// on the guard's screen. Its session lasts the shift however quiet the
// night; its script sounds every open alarm until acknowledged, notifies
// the desktop and flashes the tab's title (app.js).

func (s *Server) duty(w http.ResponseWriter, r *request) {
	rooms, alarms, err := s.roomsAndAlarms()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	pending, err := s.pendingHandover()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	onDuty := !r.Session.Duty.IsZero()
	s.render(w, r, "duty", map[string]any{"Rooms": rooms, "Alarms": alarms, "OnDuty": onDuty,
		"Until": r.Session.Duty.Add(dashboard.SessionMax), "Pending": pending, "Error": r.URL.Query().Get("error")})
}

// startDuty makes the guard's session a duty session: no idle limit, the
// shift's length (dashboard.SessionMax) from now.
func (s *Server) startDuty(w http.ResponseWriter, r *request) {
	err := s.Store.StartDuty(r.Session.ID, s.Clock.Now())
	s.auditf(r, "duty.start", "", "", "", result(err))
	back(w, r, "/duty", err)
}

// roomsAndAlarms is every room and every open alarm (the duty screen's and
// the handover's).
func (s *Server) roomsAndAlarms() ([]roomView, []alarmView, error) {
	rooms, err := s.roomViews("")
	if err != nil {
		return nil, nil, err
	}
	alarms, err := s.openAlarms(rooms)
	return rooms, alarms, err
}

// pendingHandover is the handover that awaits its incoming guard, or nil.
func (s *Server) pendingHandover() (*dashboard.Handover, error) {
	list, err := s.Store.Handovers(1)
	if err != nil || len(list) == 0 || list[0].Taken() {
		return nil, err
	}
	return &list[0], nil
}

func (s *Server) handovers(w http.ResponseWriter, r *request) {
	list, err := s.Store.Handovers(50)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	_, alarms, err := s.roomsAndAlarms()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	var pending *dashboard.Handover
	if len(list) > 0 && !list[0].Taken() {
		pending = &list[0]
	}
	s.render(w, r, "handover", map[string]any{"Handovers": list, "Pending": pending, "Alarms": alarms, "Error": r.URL.Query().Get("error")})
}

// handOver is the outgoing guard's confirmation: the notes, and the open
// alarms of the moment, recorded.
func (s *Server) handOver(w http.ResponseWriter, r *request) {
	notes := strings.TrimSpace(r.PostFormValue("notes"))
	err := dashboard.CheckHandOver(notes)
	var n int64
	if err == nil {
		var rooms []roomView
		if rooms, err = s.roomViews(""); err == nil {
			h := dashboard.Handover{Outgoing: r.User.Name, OutAt: s.Clock.Now(), Notes: notes}
			for _, v := range rooms {
				for _, a := range v.Alarms {
					h.Alarms = append(h.Alarms, dashboard.HandedAlarm{Room: a.Room, ID: a.ID, Class: string(a.Class), Priority: a.Priority,
						Device: a.Device, RaisedAt: a.RaisedAt, Acked: a.Acked()})
				}
			}
			n, err = s.Store.HandOver(h)
		}
	}
	s.auditf(r, "handover.out", "", strconv.FormatInt(n, 10), notes, result(err))
	back(w, r, "/handover", err)
}

// takeOver is the incoming guard's confirmation, from another account.
func (s *Server) takeOver(w http.ResponseWriter, r *request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	notes := strings.TrimSpace(r.PostFormValue("notes"))
	if err != nil {
		err = gateway.Errorf(gateway.EINVALID, "handover %q: not a number", r.PathValue("n"))
	} else {
		_, err = s.Store.TakeOver(n, r.User.Name, s.Clock.Now(), notes)
	}
	s.auditf(r, "handover.in", "", r.PathValue("n"), notes, result(err))
	back(w, r, "/handover", err)
}

// handoverReport is one handover, printable.
func (s *Server) handoverReport(w http.ResponseWriter, r *request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "no handover "+r.PathValue("n"))
		return
	}
	h, err := s.Store.Handover(n)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err.Error())
		return
	}
	s.render(w, r, "handoverreport", h)
}
