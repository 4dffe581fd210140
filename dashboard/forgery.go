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
	// OfflineAlarm is a room's room-offline alarm: its gateway vanished
	// (its last will) or stopped; nobody guards the room meanwhile.
	OfflineAlarm = ConsoleAlarmPrefix + "room-offline"
	// SilentAlarm is a room's room-silent alarm: its gateway said nothing
	// (not even its heartbeat, the signed head) for twice its keepalive
	// while the broker still held it online: stuck, or cut off.
	SilentAlarm = ConsoleAlarmPrefix + "room-silent"
	// ForkAlarm is a room's log-forked alarm: the room's own key signed a
	// history that is not the one the console holds (its log rewritten on
	// the Pi and signed again), distinct from a message someone forged.
	ForkAlarm = ConsoleAlarmPrefix + "log-forked"
)

// RaiseFork is room's log-forked alarm after old, priority 1.
func RaiseFork(room string, old []byte, detail string, now time.Time) (json.RawMessage, error) {
	return raise(room, ForkAlarm, "log-forked", 1, old, detail, now)
}

// consoleAlarm is a console alarm's payload: the fields of a room's alarm
// the console shows.
type consoleAlarm struct {
	Room       string     `json:"room"`
	ID         string     `json:"id"`
	Class      string     `json:"class"`
	Priority   int        `json:"priority"`
	State      string     `json:"state"`
	Detail     string     `json:"detail"`
	Count      int        `json:"count"`
	RaisedAt   time.Time  `json:"raised_at"`
	RestoredAt *time.Time `json:"restored_at,omitempty"`
	Source     string     `json:"source"`
}

// RaiseForgery is room's room-forgery alarm after old (its payload held;
// nil: none open) is raised again for detail: one alarm a room, its count
// the forgeries seen, its detail the latest.
func RaiseForgery(room string, old []byte, detail string, now time.Time) (json.RawMessage, error) {
	return raise(room, ForgeryAlarm, "room-forgery", 1, old, detail, now)
}

// RaiseOffline is room's room-offline alarm after old: raised (again) when
// its gateway goes offline, priority 1 when it vanished, 2 when it stopped.
func RaiseOffline(room string, old []byte, detail string, vanished bool, now time.Time) (json.RawMessage, error) {
	p := 2
	if vanished {
		p = 1
	}
	return raise(room, OfflineAlarm, "room-offline", p, old, detail, now)
}

// RaiseSilent is room's room-silent alarm after old, priority 1.
func RaiseSilent(room string, old []byte, detail string, now time.Time) (json.RawMessage, error) {
	return raise(room, SilentAlarm, "room-silent", 1, old, detail, now)
}

// Active tells whether a console alarm's payload is an alarm not yet over.
func Active(payload []byte) bool {
	var a consoleAlarm
	return json.Unmarshal(payload, &a) == nil && a.State == "active"
}

// Restored is a console alarm's payload once what raised it is over (the
// room back online): it closes when acknowledged.
func Restored(old []byte, now time.Time) (json.RawMessage, error) {
	var a consoleAlarm
	if err := json.Unmarshal(old, &a); err != nil {
		return nil, err
	}
	a.State, a.RestoredAt = "restored", &now
	return json.Marshal(a)
}

func raise(room, id, class string, priority int, old []byte, detail string, now time.Time) (json.RawMessage, error) {
	a := consoleAlarm{Room: room, ID: id, Class: class, Priority: priority, RaisedAt: now, Source: "console"}
	if len(old) > 0 && json.Unmarshal(old, &a) == nil {
		a.RestoredAt = nil
	}
	a.State, a.Priority = "active", min(a.Priority, priority)
	a.Count++
	a.Detail = detail
	return json.Marshal(a)
}
