package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// pendingSeal is a first person's confirmation still waiting for a second.
type pendingSeal struct {
	Op, By       string
	At, Deadline time.Time
}

// sealRoom is a room as the seal page shows it.
type sealRoom struct {
	roomView
	Pending *pendingSeal
}

// pendingSeals finds, per room, a seal or unseal confirmation that no mode
// change followed and whose window has not passed.
func (s *Server) pendingSeals() (map[string]*pendingSeal, error) {
	now := s.Clock.Now()
	recs, err := s.Store.Events(sqlite.EventFilter{Types: []string{"seal.confirmation", "mode."}, Since: now.Add(-time.Hour)})
	if err != nil {
		return nil, err
	}
	out := map[string]*pendingSeal{}
	for _, r := range recs {
		if r.Type != "seal.confirmation" {
			delete(out, r.Room)
			continue
		}
		var d struct {
			Op      string `json:"op"`
			By      string `json:"by"`
			WindowS int64  `json:"window_s"`
		}
		if err := json.Unmarshal(r.Data, &d); err != nil {
			s.Log.Warn("seal confirmation unreadable: left out", "room", r.Room, "seq", r.Seq, "err", err)
			continue
		}
		p := &pendingSeal{Op: d.Op, By: d.By, At: r.TS, Deadline: r.TS.Add(time.Duration(d.WindowS) * time.Second)}
		if p.Deadline.After(now) {
			out[r.Room] = p
		} else {
			delete(out, r.Room)
		}
	}
	return out, nil
}

// sealReports lists the retained seal reports, newest first.
func (s *Server) sealReports(room string) ([]gateway.SealReport, error) {
	list, err := s.Store.Retained(room, "seal-reports")
	if err != nil {
		return nil, err
	}
	var out []gateway.SealReport
	for _, r := range list {
		var rep gateway.SealReport
		if json.Unmarshal(r.Payload, &rep) == nil && rep.SealID != "" {
			out = append(out, rep)
		}
	}
	slices.SortFunc(out, func(a, b gateway.SealReport) int { return strings.Compare(b.UnsealedAt, a.UnsealedAt) })
	return out, nil
}

func (s *Server) seals(w http.ResponseWriter, r *request) {
	rooms, err := s.roomViews("")
	var pending map[string]*pendingSeal
	if err == nil {
		pending, err = s.pendingSeals()
	}
	var reports []gateway.SealReport
	if err == nil {
		reports, err = s.sealReports("")
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	var list []sealRoom
	for _, v := range rooms {
		list = append(list, sealRoom{roomView: v, Pending: pending[v.Room]})
	}
	q := r.URL.Query()
	s.render(w, r, "seals", map[string]any{"Rooms": list, "Reports": reports, "Error": q.Get("error"), "Waiting": q.Get("waiting")})
}

func (s *Server) sealReport(w http.ResponseWriter, r *request) {
	room, id := r.PathValue("room"), r.PathValue("id")
	reports, err := s.sealReports(room)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	for _, rep := range reports {
		if rep.SealID == id {
			s.auditf(r, "seal.report.read", room, id, "", "ok")
			s.render(w, r, "seal", rep)
			return
		}
	}
	s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no seal report %q in room %q", id, room))
}

// sessionTag names the console session a two-person act is confirmed in: a
// prefix of the session's id (itself a hash of the cookie), which the room
// compares, never the cookie.
func sessionTag(r *request) string { return r.Session.ID[:min(16, len(r.Session.ID))] }

// sealStep is one person's confirmation of sealing or unsealing: the room
// acts when a second, different console user confirms within its window.
func (s *Server) sealStep(w http.ResponseWriter, r *request) {
	room, op := r.PostFormValue("room"), r.PathValue("op")
	if op != "seal" && op != "unseal" {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no seal operation %q", op))
		return
	}
	var err error
	var res map[string]any
	if room == "" {
		err = gateway.Errorf(gateway.EINVALID, "%s: which room is missing", op)
		s.auditf(r, "room."+op, room, "", "", result(err))
	} else {
		// The room takes the two confirmations through two channels: this
		// console's key and the session (a prefix of its id, itself a hash
		// of the cookie), so two users on one console are two channels and
		// one user naming another is not.
		res, err = s.call(r, "room."+op, room, "", op, map[string]any{"session": sessionTag(r)}, "")
	}
	if err == nil && res["done"] == false {
		http.Redirect(w, r.Request, "/seals?"+url.Values{"waiting": {room}}.Encode(), http.StatusSeeOther)
		return
	}
	back(w, r, "/seals", err)
}

// modeCommand arms, disarms, or sets a bypass for the next arming.
func (s *Server) modeCommand(w http.ResponseWriter, r *request) {
	room, what := r.PathValue("room"), r.PathValue("what")
	args := map[string]any{}
	detail := ""
	var err error
	switch what {
	case "arm", "disarm":
	case "bypass":
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		devices := r.PostForm["device"]
		args["reason"], args["devices"] = reason, devices
		detail = strings.Join(devices, ",") + ": " + reason
		switch {
		case reason == "":
			err = gateway.Errorf(gateway.EINVALID, "bypass: a reason is required")
		case len(devices) == 0:
			err = gateway.Errorf(gateway.EINVALID, "bypass: choose the devices to bypass")
		}
	default:
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no mode command %q", what))
		return
	}
	if err != nil {
		s.auditf(r, "room."+what, room, "", detail, result(err))
	} else {
		_, err = s.call(r, "room."+what, room, "", what, args, detail)
	}
	back(w, r, "/rooms/"+url.PathEscape(room), err)
}
