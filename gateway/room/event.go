package room

import (
	"encoding/json"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// newEvent is an event of a step taken at at, on clock (for ClockTrusted);
// nil data leaves Data empty.
func newEvent(clock gateway.Clock, at time.Time, typ string, sev gateway.Severity, device, person string, data any) gateway.Event {
	ev := gateway.Event{TS: at, ClockTrusted: clock.Trusted(), Type: typ, Severity: sev, Device: device, Person: person}
	if data != nil {
		ev.Data = mustJSON(data)
	}
	return ev
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with maps of plain values
	}
	return b
}
