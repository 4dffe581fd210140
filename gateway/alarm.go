package gateway

import (
	"encoding/json"
	"fmt"
	"time"
)

// AlarmClass is a kind of alarm in the catalogue.
type AlarmClass string

// The alarm catalogue. Priority 1 is the most urgent.
const (
	AlarmIntrusion      AlarmClass = "intrusion"
	AlarmSealBroken     AlarmClass = "seal-broken"
	AlarmTamper         AlarmClass = "tamper"
	AlarmDeviceFault    AlarmClass = "device-fault"
	AlarmPanic          AlarmClass = "panic"
	AlarmDuress         AlarmClass = "duress"
	AlarmSafeOpened     AlarmClass = "safe-opened"
	AlarmDoorForced     AlarmClass = "door-forced"
	AlarmDoorHeldOpen   AlarmClass = "door-held-open"
	AlarmDeniedBurst    AlarmClass = "denied-burst"
	AlarmCarrierRemoval AlarmClass = "carrier-removal"
	AlarmCarrierOverdue AlarmClass = "carrier-overdue"
	AlarmBoardSilent    AlarmClass = "board-silent"
	AlarmUnescorted     AlarmClass = "visitor-unescorted" // a visitor left inside without the escort
	AlarmSafeLeftOpen   AlarmClass = "safe-left-open"     // a safe not locked for longer than its reminder
	AlarmExitFault      AlarmClass = "exit-fault"         // EN 50131-1: a point not ready when the exit delay ended
	AlarmGatewayFault   AlarmClass = "gateway-fault"      // the gateway could not do its work (a log write failed)
	AlarmForgery        AlarmClass = "command-forgery"    // commands refused as unauthenticated, forbidden, stale or replayed, 5 in a minute
	AlarmLogTampered    AlarmClass = "log-tampered"       // the log's hash chain is broken: an event edited, deleted, inserted or reordered
	AlarmStorageLow     AlarmClass = "storage-low"        // the log's filesystem is nearly full: long before a write fails
	AlarmCarrierMissing AlarmClass = "carrier-missing"    // an inventory did not find a carrier that should be home (its priority: its classification's)
	AlarmCarrierLost    AlarmClass = "carrier-lost"       // a carrier reported lost (carrier/loss, 丢失报告): the security officers at once
	// AlarmResurrected: the tag of a carrier whose life in the room ended
	// (destroyed, archived, returned to its issuer) seen again.
	AlarmResurrected AlarmClass = "carrier-resurrected"
	// 四防 (issue 32): smoke, and water on the floor.
	AlarmFire  AlarmClass = "fire"
	AlarmWater AlarmClass = "water"
	// AlarmEnvironment: a climate sensor's reading out of the room's
	// limits (too damp for paper, too hot, too cold).
	AlarmEnvironment AlarmClass = "environment"
)

// AlarmSpec is what the catalogue says of a class.
type AlarmSpec struct {
	Priority int      // 1 (most urgent) … 5
	Severity Severity // of its alarm.raised event
	Hour24   bool     // raised in every mode (GB 50394: tamper and line faults alarm in every mode)
	Silent   bool     // never sounds the siren (duress must not tell the intruder)
	Audible  bool     // sounds the siren
}

var alarmCatalogue = map[AlarmClass]AlarmSpec{
	AlarmDuress:         {Priority: 1, Severity: SeverityCritical, Hour24: true, Silent: true},
	AlarmPanic:          {Priority: 1, Severity: SeverityCritical, Hour24: true, Audible: true},
	AlarmSealBroken:     {Priority: 1, Severity: SeverityCritical, Audible: true},
	AlarmCarrierRemoval: {Priority: 1, Severity: SeverityCritical, Hour24: true, Audible: true},
	AlarmIntrusion:      {Priority: 2, Severity: SeverityAlarm, Audible: true},
	AlarmDoorForced:     {Priority: 2, Severity: SeverityAlarm, Hour24: true, Audible: true},
	AlarmSafeOpened:     {Priority: 2, Severity: SeverityAlarm, Audible: true},
	AlarmTamper:         {Priority: 3, Severity: SeverityAlarm, Hour24: true, Audible: true},
	AlarmDeniedBurst:    {Priority: 3, Severity: SeverityAlarm, Hour24: true},
	AlarmUnescorted:     {Priority: 3, Severity: SeverityAlarm, Hour24: true},
	AlarmDeviceFault:    {Priority: 4, Severity: SeverityWarning, Hour24: true},
	AlarmBoardSilent:    {Priority: 4, Severity: SeverityWarning, Hour24: true},
	AlarmDoorHeldOpen:   {Priority: 4, Severity: SeverityWarning, Hour24: true},
	AlarmCarrierOverdue: {Priority: 4, Severity: SeverityWarning, Hour24: true},
	AlarmSafeLeftOpen:   {Priority: 4, Severity: SeverityWarning, Hour24: true},
	AlarmExitFault:      {Priority: 3, Severity: SeverityAlarm},
	AlarmGatewayFault:   {Priority: 2, Severity: SeverityCritical, Hour24: true},
	AlarmForgery:        {Priority: 2, Severity: SeverityCritical, Hour24: true},
	AlarmLogTampered:    {Priority: 1, Severity: SeverityCritical, Hour24: true},
	AlarmStorageLow:     {Priority: 3, Severity: SeverityWarning, Hour24: true},
	AlarmCarrierMissing: {Priority: 2, Severity: SeverityAlarm, Hour24: true},
	AlarmCarrierLost:    {Priority: 1, Severity: SeverityCritical, Hour24: true},
	AlarmResurrected:    {Priority: 1, Severity: SeverityCritical, Hour24: true},
	AlarmFire:           {Priority: 1, Severity: SeverityCritical, Hour24: true, Audible: true},
	AlarmWater:          {Priority: 2, Severity: SeverityAlarm, Hour24: true},
	AlarmEnvironment:    {Priority: 4, Severity: SeverityWarning, Hour24: true},
}

// StorageLow says why the log's filesystem is too full (empty: it is not):
// used is more than usedPercent of it, or less than minFree bytes are
// free (issue 27: a full disk loses what cannot be written, so the guards
// hear of it long before).
func StorageLow(total, free uint64, usedPercent int, minFree uint64) string {
	if total == 0 {
		return ""
	}
	used := 100 - int(free*100/total)
	if used < usedPercent && free >= minFree {
		return ""
	}
	return fmt.Sprintf("the log's filesystem is %d%% full, %d MB free (the warning comes at %d%% or under %d MB)", used, free>>20, usedPercent, minFree>>20)
}

// Spec returns the catalogue entry of the class.
func (c AlarmClass) Spec() (AlarmSpec, bool) { s, ok := alarmCatalogue[c]; return s, ok }

// Alarm is one alarm from raise to close. It latches: only an
// acknowledgement with a comment and the condition's restoration, both,
// close it (GB 50394: no automatic reset).
type Alarm struct {
	ID         string     `json:"id"`
	Class      AlarmClass `json:"class"`
	Priority   int        `json:"priority"`
	Device     string     `json:"device,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	Silent     bool       `json:"silent,omitempty"`
	RaisedAt   time.Time  `json:"raised_at"`
	RaisedSeq  uint64     `json:"raised_seq,omitempty"`
	Count      int        `json:"count"`
	Level      int        `json:"level"` // escalation steps taken while unacknowledged
	AckBy      string     `json:"ack_by,omitempty"`
	AckAt      time.Time  `json:"ack_at,omitzero"`
	AckComment string     `json:"ack_comment,omitempty"`
	RestoredAt time.Time  `json:"restored_at,omitzero"`
	ClosedAt   time.Time  `json:"closed_at,omitzero"`
}

// Acknowledged reports whether a guard has acknowledged the alarm.
func (a *Alarm) Acknowledged() bool { return !a.AckAt.IsZero() }

// Restored reports whether the alarm's condition is back to normal.
func (a *Alarm) Restored() bool { return !a.RestoredAt.IsZero() }

// Closed reports whether the alarm is over: acknowledged and restored.
func (a *Alarm) Closed() bool { return !a.ClosedAt.IsZero() }

// State is the alarm's lifecycle state as published.
func (a *Alarm) State() string {
	switch {
	case a.Closed():
		return "closed"
	case a.Acknowledged() && a.Restored():
		return "closed"
	case a.Acknowledged():
		return "acknowledged"
	case a.Restored():
		return "restored"
	}
	return "active"
}

// key identifies the condition behind an alarm: the same condition firing
// again while its alarm is open counts on that alarm.
func (a *Alarm) key() string { return string(a.Class) + "/" + a.Device }

// AlarmJSON is the payload of roomguard/<room>/alarms/<id> (retained).
func (a *Alarm) AlarmJSON(room string) json.RawMessage {
	return mustJSON(AlarmState{Room: room, ID: a.ID, Class: a.Class, Priority: a.Priority, State: a.State(),
		Device: a.Device, Detail: a.Detail, Silent: a.Silent, Count: a.Count, Level: a.Level, RaisedSeq: a.RaisedSeq,
		AckBy: a.AckBy, AckComment: a.AckComment, RaisedAt: a.RaisedAt, AckAt: a.AckAt, RestoredAt: a.RestoredAt, ClosedAt: a.ClosedAt})
}

// AlarmState is an alarm as its room publishes it, retained on
// roomguard/<room>/alarms/<id> (schemas/alarm.schema.json), and as a
// console reads it back.
type AlarmState struct {
	Room       string     `json:"room"`
	ID         string     `json:"id"`
	Class      AlarmClass `json:"class"`
	Priority   int        `json:"priority"`
	State      string     `json:"state"`
	Device     string     `json:"device,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	Silent     bool       `json:"silent"`
	Count      int        `json:"count"`
	Level      int        `json:"level"`
	RaisedSeq  uint64     `json:"raised_seq,omitempty"`
	AckBy      string     `json:"ack_by,omitempty"`
	AckComment string     `json:"ack_comment,omitempty"`
	RaisedAt   time.Time  `json:"-"`
	AckAt      time.Time  `json:"-"` // zero: not yet
	RestoredAt time.Time  `json:"-"`
	ClosedAt   time.Time  `json:"-"`
}

// alarmTimes are an AlarmState's times as the payload writes them
// (TimeFormat; a time not yet come is left out).
type alarmTimes struct {
	RaisedAt   string `json:"raised_at"`
	AckAt      string `json:"ack_at,omitempty"`
	RestoredAt string `json:"restored_at,omitempty"`
	ClosedAt   string `json:"closed_at,omitempty"`
}

// MarshalJSON encodes the state in the form of schemas/alarm.schema.json.
func (s AlarmState) MarshalJSON() ([]byte, error) {
	type plain AlarmState
	f := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(TimeFormat)
	}
	return json.Marshal(struct {
		plain
		alarmTimes
	}{plain(s), alarmTimes{f(s.RaisedAt), f(s.AckAt), f(s.RestoredAt), f(s.ClosedAt)}})
}

// UnmarshalJSON decodes the form written by MarshalJSON.
func (s *AlarmState) UnmarshalJSON(b []byte) error {
	type plain AlarmState
	var j struct {
		plain
		alarmTimes
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = AlarmState(j.plain)
	for _, t := range []struct {
		text string
		into *time.Time
		name string
	}{{j.alarmTimes.RaisedAt, &s.RaisedAt, "raised_at"}, {j.alarmTimes.AckAt, &s.AckAt, "ack_at"}, {j.alarmTimes.RestoredAt, &s.RestoredAt, "restored_at"}, {j.alarmTimes.ClosedAt, &s.ClosedAt, "closed_at"}} {
		if t.text == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return Errorf(EINVALID, "alarm: %s %q is not RFC 3339", t.name, t.text)
		}
		*t.into = at
	}
	return nil
}
