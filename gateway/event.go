package gateway

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Severity tells a guard how much an event matters.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityAlarm    Severity = "alarm"
	SeverityCritical Severity = "critical"
)

// TimeFormat is RFC 3339 with milliseconds, the form of every timestamp we publish.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Event is one thing that happened in the room. It is written to the log
// before anything else sees it; Seq and ID are given by the log.
type Event struct {
	Seq          uint64          // monotonic per room, never reused
	ID           string          // unique across rooms and restarts
	TS           time.Time       // when it happened, by the gateway's clock
	ClockTrusted bool            // false while the clock is not synchronised
	Room         string          // room id
	Type         string          // e.g. door.opened
	Severity     Severity        //
	Device       string          // device id, when a device is involved
	Person       string          // person id, when a person is involved
	Data         json.RawMessage // type-specific details, a JSON object
	// Prev chains the log (issue 18): the SHA-256, in hex, of the bytes of
	// the event before it (ChainHash), or the room's Genesis for its first.
	// An edited, deleted, inserted or reordered event breaks the chain.
	Prev string
}

type eventJSON struct {
	Seq          uint64          `json:"seq"`
	ID           string          `json:"id"`
	TS           string          `json:"ts"`
	ClockTrusted bool            `json:"clock_trusted"`
	Room         string          `json:"room"`
	Type         string          `json:"type"`
	Severity     Severity        `json:"severity"`
	Device       string          `json:"device,omitempty"`
	Person       string          `json:"person,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`
	Prev         string          `json:"prev,omitempty"`
}

// MarshalJSON encodes the event in the form of schemas/event.schema.json.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{
		Seq: e.Seq, ID: e.ID, TS: e.TS.Format(TimeFormat), ClockTrusted: e.ClockTrusted,
		Room: e.Room, Type: e.Type, Severity: e.Severity, Device: e.Device,
		Person: e.Person, Data: e.Data, Prev: e.Prev,
	})
}

// UnmarshalJSON decodes the form written by MarshalJSON.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	ts, err := time.Parse(time.RFC3339Nano, j.TS)
	if err != nil {
		return Errorf(EINVALID, "event: ts %q is not RFC 3339", j.TS)
	}
	*e = Event{Seq: j.Seq, ID: j.ID, TS: ts, ClockTrusted: j.ClockTrusted, Room: j.Room,
		Type: j.Type, Severity: j.Severity, Device: j.Device, Person: j.Person, Data: j.Data, Prev: j.Prev}
	return nil
}

// NewEventID returns a UUID version 7: time-ordered, so ids sort roughly by
// creation, and random enough to be unique across rooms and restarts.
func NewEventID(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic("gateway: crypto/rand failed: " + err.Error()) // the OS is broken
	}
	ms := uint64(now.UnixMilli())
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], ms<<16)
	copy(b[:6], t[:6])
	b[6] = 0x70 | b[6]&0x0f // version 7
	b[8] = 0x80 | b[8]&0x3f // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// EventLog is the durable, append-only record of the room. Append returns only
// after the events are committed, with Seq and ID filled in.
type EventLog interface {
	Append(events ...Event) ([]Event, error)
}

// EventFilter selects events from the log for reading.
type EventFilter struct {
	Since, Until time.Time // zero means unbounded
	Types        []string  // exact types, or a prefix ending in "." (e.g. "door.")
	Devices      []string
	AfterSeq     uint64 // only events with a larger seq
	Limit        int    // 0 means no limit
}

// LogRecord is one logged event as it is published: its seq and exact payload.
type LogRecord struct {
	Seq     uint64
	Payload []byte
}
