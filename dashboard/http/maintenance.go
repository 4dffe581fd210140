package http

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// maintenanceView is a maintenance visit (维修) as the rooms' events tell
// it: asked for, approved, closed with its media check.
type maintenanceView struct {
	Room, ID, Company, Equipment, Custodian, Approver, By string
	Technicians                                           []map[string]string
	From, Until, Asked, Approved, Closed                  time.Time
	Media, Note                                           string
	// Mine: the account's person is the leader it waits for (approve), or
	// the custodian who closes it.
	MayApprove, MayClose bool
}

// maintenanceVisits reads every maintenance visit from the events, newest
// first.
func (s *Server) maintenanceVisits(person string) ([]*maintenanceView, error) {
	recs, err := s.Store.Events(sqlite.EventFilter{Types: []string{"maintenance."}})
	if err != nil {
		return nil, err
	}
	by := map[string]*maintenanceView{}
	var out []*maintenanceView
	for _, r := range recs {
		var d struct {
			Maintenance, Company, Equipment, Custodian, Approver, By, From, Until, Media, Note string
			Technicians                                                                        []map[string]string
		}
		if json.Unmarshal(r.Data, &d) != nil || d.Maintenance == "" {
			continue
		}
		m := by[r.Room+"/"+d.Maintenance]
		if m == nil {
			m = &maintenanceView{Room: r.Room, ID: d.Maintenance}
			by[r.Room+"/"+d.Maintenance] = m
			out = append(out, m)
		}
		switch r.Type {
		case "maintenance.requested":
			m.Company, m.Equipment, m.Custodian, m.Approver, m.By, m.Technicians, m.Asked = d.Company, d.Equipment, d.Custodian, d.Approver, d.By, d.Technicians, r.TS
			for _, t := range []struct {
				into *time.Time
				v    string
			}{{&m.From, d.From}, {&m.Until, d.Until}} {
				at, err := time.Parse(time.RFC3339, t.v)
				if err != nil {
					s.Log.Warn("a maintenance visit's window unreadable: shown empty", "room", r.Room, "seq", r.Seq, "err", err)
				}
				*t.into = at
			}
		case "maintenance.approved":
			m.Approved = r.TS
		case "maintenance.closed":
			m.Closed, m.Media, m.Note = r.TS, d.Media, d.Note
		}
	}
	mine := func(id string) bool { return person != "" && personKey(id) == personKey(person) }
	for _, m := range out {
		m.MayApprove = m.Approved.IsZero() && m.Closed.IsZero() && mine(m.Approver)
		m.MayClose = !m.Approved.IsZero() && m.Closed.IsZero() && mine(m.Custodian)
	}
	slices.Reverse(out)
	return out, nil
}

// maintenanceForm carries out a maintenance form: request, approve, close.
func (s *Server) maintenanceForm(w http.ResponseWriter, r *request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	room, what := f("room"), r.PathValue("what")
	args := map[string]any{"session": sessionTag(r)}
	var err error
	name, target := "maintenance/"+what, f("maintenance")
	switch what {
	case "request":
		start, err1 := formTime(f("start"), s.zone())
		end, err2 := formTime(f("end"), s.zone())
		if err1 != nil || err2 != nil || start.IsZero() || end.IsZero() {
			err = gateway.Errorf(gateway.EINVALID, "start/end: when the visit begins and ends (%v)", cmp.Or(err1, err2))
		}
		args["company"], args["equipment"], args["custodian"], args["approver"] = f("company"), f("equipment"), f("custodian"), f("approver")
		args["start"], args["end"] = start.Format(time.RFC3339), end.Format(time.RFC3339)
		var techs []map[string]string
		for i, line := range strings.Split(f("technicians"), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			parts := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '，' })
			if len(parts) != 4 {
				err = gateway.Errorf(gateway.EINVALID, "technicians: line %d: name, ID type, ID number, card", i+1)
				break
			}
			for j := range parts {
				parts[j] = strings.TrimSpace(parts[j])
			}
			techs = append(techs, map[string]string{"name": parts[0], "id_type": parts[1], "id_number": parts[2], "card": parts[3]})
		}
		args["technicians"] = techs
		target = f("equipment")
	case "approve":
		args["maintenance"] = target
	case "close":
		args["maintenance"], args["media"] = target, f("media")
		if note := f("note"); note != "" {
			args["note"] = note
		}
	default:
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no maintenance form %q", what))
		return
	}
	if room == "" && err == nil {
		err = gateway.Errorf(gateway.EINVALID, "room: which room is missing")
	}
	detail := fmt.Sprintf("%s %s", f("company"), f("equipment")) // never the ID numbers
	if err != nil {
		s.auditf(r, "maintenance."+what, room, target, detail, result(err))
	} else {
		_, err = s.call(r, "maintenance."+what, room, target, name, args, detail)
	}
	back(w, r, "/visitors", err)
}
