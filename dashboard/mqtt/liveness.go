package mqtt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Whether a room is alive: its signed heartbeat heard, the room-silent
// alarm when it is not for twice its keepalive, and the room's own last
// will when its broker session ends.

// hear notes that room said something believed: a room-silent alarm it had
// is restored.
func (l *Link) hear(room string) {
	now := l.opts.Clock.Now()
	l.heard[room] = now
	silent, known := l.silent[room]
	if !known { // after a start: the alarm may be in the replica
		old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			return
		}
		silent = old != nil && dashboard.Active(old)
		l.silent[room] = silent
	}
	if !silent {
		return
	}
	old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
	if err != nil {
		l.log.Error("replica: room-silent alarm", "room", room, "err", err)
		return
	}
	if old == nil { // acknowledged at the console meanwhile
		l.silent[room] = false
		return
	}
	restored, err := dashboard.Restored(old, now)
	if err != nil {
		l.log.Error("replica: room-silent alarm", "room", room, "err", err)
		return
	}
	l.silent[room] = false
	l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.SilentAlarm, Payload: restored, Updated: now})
}

// freshHead tells whether a head is a new beat of the room: a head sent
// again (an old one replayed: signed, but not new) keeps nobody alive.
func (l *Link) freshHead(room string, payload []byte) bool {
	var h struct {
		At string `json:"at"`
	}
	if json.Unmarshal(payload, &h) != nil || h.At == "" {
		return true // a gateway without a heartbeat
	}
	at, err := time.Parse(time.RFC3339Nano, h.At)
	if err != nil {
		return false
	}
	if last, err := time.Parse(time.RFC3339Nano, l.headAt[room]); err == nil && !at.After(last) {
		return false
	}
	l.headAt[room] = h.At
	return true
}

// silence raises the room-silent alarm of each online room that promised a
// keepalive and said nothing for twice as long. While the console itself is
// cut off from the broker it hears nobody: it raises nothing then, and
// starts counting again when it is back.
func (l *Link) silence(now time.Time) {
	if !l.Connected() {
		l.wasDown = true
		return
	}
	for room, every := range l.beat {
		last, ok := l.heard[room]
		if !ok || l.wasDown {
			l.heard[room] = now
			continue
		}
		if l.silent[room] || now.Sub(last) <= 2*every {
			continue
		}
		old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.SilentAlarm)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			continue
		}
		detail := fmt.Sprintf("nothing from the room's gateway since %s (it promised every %s): stuck or cut off", last.Format(time.RFC3339), every)
		alarm, err := dashboard.RaiseSilent(room, old, detail, now)
		if err != nil {
			l.log.Error("replica: room-silent alarm", "room", room, "err", err)
			continue
		}
		l.log.Error("room silent", "room", room, "since", last, "keepalive", every)
		l.silent[room] = true
		l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.SilentAlarm, Payload: alarm, Updated: now})
	}
	l.wasDown = false
}

// offline raises the console's room-offline alarm when a room's gateway
// goes offline (its last will: it vanished; or it stopped), and marks it
// restored when the room is back: the guards acknowledge it like any alarm.
func (l *Link) offline(room string, st wire.Status) {
	old, err := l.opts.Store.RetainedPayload(room, "alarms", dashboard.OfflineAlarm)
	if err != nil {
		l.log.Error("replica: room-offline alarm", "room", room, "err", err)
		return
	}
	var payload json.RawMessage
	switch {
	case st.State == "offline":
		vanished := st.Reason != "shutdown"
		detail := "the room's gateway stopped: nobody guards the room"
		if vanished {
			detail = "the room's gateway vanished (" + st.Reason + "): nobody guards the room"
		}
		payload, err = dashboard.RaiseOffline(room, old, detail, vanished, l.opts.Clock.Now())
	case st.State == "online" && old != nil:
		payload, err = dashboard.Restored(old, l.opts.Clock.Now())
	default:
		return
	}
	if err != nil {
		l.log.Error("replica: room-offline alarm", "room", room, "err", err)
		return
	}
	l.keep(dashboard.Retained{Room: room, Kind: "alarms", Key: dashboard.OfflineAlarm, Payload: payload, Updated: l.opts.Clock.Now()})
}
