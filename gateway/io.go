package gateway

import (
	"encoding/json"
	"time"
)

// Input is a binary input as the engine knows it.
type Input struct {
	ID     string
	Name   string
	Kind   InputKind
	Strike string // exit-button: the door-strike output it releases
}

// Output is a binary output as the engine knows it.
type Output struct {
	ID     string
	Name   string
	Kind   OutputKind
	Pulse  time.Duration // door-strike: release time
	Driver OutputDriver
}

// OutputDriver drives an output (devices/relay implements it).
type OutputDriver interface {
	Pulse(d time.Duration) error
	Set(on bool) error
}

// RoomLog is what the engine reads of the log at start (its changes are
// the room's: ChangeLog.SaveChange).
type RoomLog interface {
	DeviceStates() (map[string]DeviceState, error)
	Query(f EventFilter) ([]Event, error)
	LastSeq() (uint64, error)
}

// StateSink receives every device state after it is committed, to be
// published retained. It must not block.
type StateSink interface {
	DeviceState(DeviceState)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with maps of plain values
	}
	return b
}
