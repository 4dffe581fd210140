package dashboard

import (
	"encoding/json"
	"time"
)

// The console raises alarms of its own, beside the rooms': their ids start
// with ConsoleAlarmPrefix, and they are acknowledged at the console (the
// room knows nothing of them).
const (
	ConsoleAlarmPrefix = "console-"
	// ForgeryAlarm is the id of a room's room-forgery alarm: something on
	// the broker spoke for the room without its key (issue 18).
	ForgeryAlarm = ConsoleAlarmPrefix + "room-forgery"
)

// consoleAlarm is a console alarm's payload: the fields of a room's alarm
// the console shows.
type consoleAlarm struct {
	Room     string    `json:"room"`
	ID       string    `json:"id"`
	Class    string    `json:"class"`
	Priority int       `json:"priority"`
	State    string    `json:"state"`
	Detail   string    `json:"detail"`
	Count    int       `json:"count"`
	RaisedAt time.Time `json:"raised_at"`
	Source   string    `json:"source"`
}

// RaiseForgery is room's room-forgery alarm after old (its payload held;
// nil: none open) is raised again for detail: one alarm a room, its count
// the forgeries seen, its detail the latest.
func RaiseForgery(room string, old []byte, detail string, now time.Time) (json.RawMessage, error) {
	a := consoleAlarm{Room: room, ID: ForgeryAlarm, Class: "room-forgery", Priority: 1, State: "active", RaisedAt: now, Source: "console"}
	if len(old) > 0 && json.Unmarshal(old, &a) == nil {
		a.State = "active"
	}
	a.Count++
	a.Detail = detail
	return json.Marshal(a)
}
