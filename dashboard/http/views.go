package http

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// What the pages show of a room, read from its retained state in the replica.

type deviceView struct {
	Device  string           `json:"device"`
	Kind    string           `json:"kind"`
	Name    string           `json:"name"`
	State   string           `json:"state"`
	Active  bool             `json:"active"`
	Since   time.Time        `json:"since"`
	Reading *gateway.Reading `json:"reading"` // a climate sensor's last
}

type modeView struct {
	Mode       string    `json:"mode"`
	Since      time.Time `json:"since"`
	By         []string  `json:"by"`
	OpenAlarms int       `json:"open_alarms"`
	ExitUntil  string    `json:"exit_until"`
	EntryUntil string    `json:"entry_until"`
	Bypassed   []string  `json:"bypassed"`
	Sealing    bool      `json:"sealing"` // the exit delay of a seal confirmed by badges
}

// Word is the mode's word: "sealing" while a seal's exit delay runs.
func (m modeView) Word() string {
	if m.Sealing {
		return "sealing"
	}
	return m.Mode
}

type occupant struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Since   time.Time `json:"since"`
	Visitor bool      `json:"visitor"`
	Escort  string    `json:"escort"`
}

// alarmView is an alarm as its room published it (gateway.AlarmState),
// with what the console knows of it besides.
type alarmView struct {
	gateway.AlarmState
	RoomName string
	// Deliveries are the room's call-down for it: who was told, how and
	// when, or who could not be (notify.sent, notify.failed).
	Deliveries  []delivery
	Unconfirmed bool // its room's key is not confirmed
}

// delivery is one notify.sent or notify.failed of an alarm.
type delivery struct {
	At      time.Time
	Sent    bool
	Person  string // the name, or the id
	Channel string
	Error   string
}

// Acked and Restored tell which half of closing an alarm has happened.
func (a alarmView) Acked() bool    { return a.AckBy != "" }
func (a alarmView) Restored() bool { return !a.RestoredAt.IsZero() }

type roomView struct {
	dashboard.RoomRecord
	Status wire.Status
	Seen   bool // a status was ever received
	Online bool
	// Unconfirmed: no admin confirmed the room's key yet, so what it shows
	// is not verified (issue 27: said wherever the room is, not only on
	// its own page).
	Unconfirmed bool
	// FindingsOverdue: the room's inspection findings still open past
	// their deadline (issue 31), shown on the overview.
	FindingsOverdue int
	// InspectionDue: why the room's next inspection is due (periodic,
	// holiday), empty when it is not.
	InspectionDue string
	// Rank is where the overview puts it (rankOf).
	Rank    int
	Mode    modeView
	Devices []deviceView
	Inside  []occupant
	Alarms  []alarmView
}

// DevicesOf lists the room's devices of the given kinds.
func (v roomView) DevicesOf(kinds ...string) []deviceView {
	var out []deviceView
	for _, d := range v.Devices {
		if slices.Contains(kinds, d.Kind) {
			out = append(out, d)
		}
	}
	return out
}

// Title is the room's name and id.
func (v roomView) Title() string {
	if v.Name == "" || v.Name == v.Room {
		return v.Room
	}
	return v.Name + " (" + v.Room + ")"
}

// roomViews builds the view of every room (or one) from the replica.
func (s *Server) roomViews(only string) ([]roomView, error) {
	return s.roomViewsOf(only, "status", "mode", "occupancy", "devices", "alarms")
}

// roomViewsOf builds the views from the retained states of kinds only.
func (s *Server) roomViewsOf(only string, kinds ...string) ([]roomView, error) {
	byRoom := map[string]*roomView{}
	get := func(room string) *roomView {
		v := byRoom[room]
		if v == nil {
			v = &roomView{RoomRecord: dashboard.RoomRecord{Room: room}}
			byRoom[room] = v
		}
		return v
	}
	watched, err := s.Store.WatchedRooms()
	if err != nil {
		return nil, err
	}
	shown := map[string]bool{}
	for _, w := range watched {
		if only == "" || w.Room == only {
			shown[w.Room] = true
			get(w.Room) // added, perhaps never heard yet
		}
	}
	for _, r := range s.Store.Rooms() {
		if shown[r.Room] {
			get(r.Room).RoomRecord = r
		}
	}
	for _, kind := range kinds {
		rs, err := s.Store.Retained(only, kind)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if !shown[r.Room] {
				continue // a room nobody added (what came before it was counted)
			}
			v := get(r.Room)
			switch kind {
			case "status":
				if json.Unmarshal(r.Payload, &v.Status) == nil {
					v.Seen, v.Online = true, v.Status.State == "online"
					if v.Name == "" {
						v.Name = v.Status.Name
					}
				}
			case "mode":
				if err := json.Unmarshal(r.Payload, &v.Mode); err != nil {
					s.Log.Warn("retained mode unreadable: left out", "room", r.Room, "err", err)
				}
			case "occupancy":
				var o struct {
					Inside []occupant `json:"inside"`
				}
				if json.Unmarshal(r.Payload, &o) == nil {
					v.Inside = o.Inside
				}
			case "devices":
				var d deviceView
				if json.Unmarshal(r.Payload, &d) == nil {
					v.Devices = append(v.Devices, d)
				}
			case "alarms":
				var a alarmView
				if json.Unmarshal(r.Payload, &a.AlarmState) == nil && a.State != "closed" {
					a.Room = r.Room
					v.Alarms = append(v.Alarms, a)
				}
			}
		}
	}
	keys, err := s.Store.RoomKeys()
	if err != nil {
		return nil, err
	}
	pinned := map[string]bool{}
	for _, k := range keys {
		pinned[k.Room] = k.Pinned != ""
	}
	out := make([]roomView, 0, len(byRoom))
	for _, v := range byRoom {
		v.Unconfirmed = !pinned[v.Room]
		for i := range v.Alarms {
			v.Alarms[i].RoomName = v.Title()
			v.Alarms[i].Unconfirmed = v.Unconfirmed
		}
		sortAlarms(v.Alarms)
		out = append(out, *v)
	}
	// offline rooms first: they must not be missed; then by id
	slices.SortFunc(out, func(a, b roomView) int {
		if a.Online != b.Online {
			if !a.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Room, b.Room)
	})
	return out, nil
}

// sortAlarms orders alarms by priority (1 first), then oldest first.
func sortAlarms(as []alarmView) {
	slices.SortFunc(as, func(a, b alarmView) int {
		if a.Priority != b.Priority {
			return a.Priority - b.Priority
		}
		return a.RaisedAt.Compare(b.RaisedAt)
	})
}
