package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Inspection is the self-inspection report (保密自查) of a period: what an
// inspector asks of a confidential room, read from the replica. It says
// what it cannot vouch for: seqs the replica never received and events
// stamped by an untrusted clock.
type Inspection struct {
	Room        string // empty: every room
	From, Until time.Time
	Generated   time.Time
	By          string
	Entries     EntryCounts
	Denials     []Entry // the denied badges, newest first (at most MaxDenials)
	MoreDenials bool
	Alarms      []InspectedAlarm
	AckMedian   time.Duration // over the acknowledged alarms
	AckMax      time.Duration
	Unacked     int
	Modes       []ModeChange
	Seals       []SealLine
	Inventories []InventoryLine
	Overdue     []OverdueLine
	Visitors    int
	Lost        map[string]uint64 // per room: seqs pruned before the replica had them
	// Chain is, per room, what a paper copy is checked against (issue 18):
	// the last checkpoint the room signed in the period, how far the
	// room's signature vouches for the replica, the forgeries quarantined.
	Chain        map[string]*ChainLine
	Unreadable   []string // room/seq of events whose data could not be read: left out
	Untrusted    int      // events stamped while the gateway's clock was not synchronised
	RoomsCovered []string
	// Staff: the classified staff of the register overdue on the period's
	// last day (issue 31: training, commitment, debriefing), of
	// StaffChecked people; StaffRegister says which register version and
	// who recorded it (nil: the console keeps no personnel register).
	// Keys: each safe's combination and door's key on the period's last
	// day: its last change, and why another is due (issue 31).
	Keys          []KeyLine
	Staff         []StaffLine
	StaffChecked  int
	StaffRegister *Register
}

// StaffLine is one person overdue: their dates and what they are due for
// (gateway.Person.StaffDue).
type StaffLine struct {
	gateway.Person
	Due []string
}

// ChainOf is a room's chain line, made when needed.
func (in *Inspection) ChainOf(room string) *ChainLine {
	c := in.Chain[room]
	if c == nil {
		c = &ChainLine{}
		in.Chain[room] = c
	}
	return c
}

// LastDay is the last moment the report covers (Until is exclusive).
func (in *Inspection) LastDay() time.Time { return in.Until.Add(-time.Nanosecond) }

// MaxDenials bounds the denials a report lists (the counts cover them all).
const MaxDenials = 500

// EntryCounts counts the entry log of a period by result, and the denials
// by reason.
type EntryCounts struct {
	ByResult map[string]int
	DeniedBy map[string]int
}

// InspectedAlarm is one alarm raised in the period and what became of it.
type InspectedAlarm struct {
	Room, ID, Class, Device, Detail string
	Priority                        int
	RaisedAt                        time.Time
	AckAt                           time.Time
	AckBy, Comment                  string
	AckDelay                        time.Duration // zero while unacknowledged
	RestoredAt, ClosedAt            time.Time
	Escalations                     int
}

// Acked tells whether the alarm was acknowledged.
func (a InspectedAlarm) Acked() bool { return !a.AckAt.IsZero() }

// ModeChange is an arming, disarming, sealing or unsealing.
type ModeChange struct {
	Room string
	At   time.Time
	Mode string // armed, disarmed, sealed, unsealed, arming.refused
	By   []string
	Note string // the verdict of an unsealing, a refusal's reasons
}

// SealLine is one holiday seal: when and by whom it was put on and taken off.
type SealLine struct {
	Room, SealID         string
	SealedAt, UnsealedAt time.Time
	SealedBy, UnsealedBy []string
	Verdict              string // intact, broken; empty while still sealed
}

// InventoryLine is one inventory taken in the period.
type InventoryLine struct {
	Room, ID, Trigger, By          string
	At                             time.Time
	AllHome                        bool
	Expected, Found, OnLoan        int
	Missing, Misplaced, Unexpected int
}

// OverdueLine is a carrier that was not back by its due time.
type OverdueLine struct {
	Room, Carrier, Title, Borrower, SignOut string
	Due, ReturnedAt                         time.Time // ReturnedAt zero: still out
}

// ChainLine is a room's chain status in a report: its last checkpoint in
// the period (Through and Head: `roomguard-gateway log verify --checkpoint
// HEAD` on the room's log checks a paper copy), how far the room's
// signature vouches for the replica, and the forgeries quarantined.
type ChainLine struct {
	Through      uint64
	Head         string
	At           time.Time
	Verified     uint64
	VerifiedAt   time.Time
	Quarantined  int
	KeyConfirmed bool
}

// InspectionTypes are the event types an inspection reads.
var InspectionTypes = []string{"alarm.", "mode.", "arming.refused", "seal.report", "inventory.completed",
	"carrier.overdue", "carrier.returned", "visitor.registered", "log.checkpoint"}

// Inspect builds the report of [from, until) from the replica's records of
// those types (records may run past until: an alarm raised inside the
// period may be acknowledged after it).
func Inspect(from, until time.Time, recs []Record, entries EntryCounts) *Inspection {
	in := &Inspection{From: from, Until: until, Entries: entries, Lost: map[string]uint64{}, Chain: map[string]*ChainLine{}}
	alarms := map[string]*InspectedAlarm{}
	seals := map[string]*SealLine{}
	overdue := map[string]*OverdueLine{}
	rooms := map[string]bool{}
	inPeriod := func(t time.Time) bool { return !t.Before(from) && t.Before(until) }
	for _, r := range recs {
		var d map[string]any
		if len(r.Data) > 0 {
			if err := json.Unmarshal(r.Data, &d); err != nil {
				in.Unreadable = append(in.Unreadable, fmt.Sprintf("%s/%d", r.Room, r.Seq))
				continue
			}
		}
		str := func(k string) string { v, _ := d[k].(string); return v }
		num := func(k string) int { v, _ := d[k].(float64); return int(v) }
		key := r.Room + "/" + str("alarm")
		if inPeriod(r.TS) {
			rooms[r.Room] = true
			if !r.ClockTrusted {
				in.Untrusted++
			}
		}
		switch r.Type {
		case "alarm.raised":
			if inPeriod(r.TS) {
				alarms[key] = &InspectedAlarm{Room: r.Room, ID: str("alarm"), Class: str("class"), Device: r.Device,
					Detail: str("detail"), Priority: num("priority"), RaisedAt: r.TS}
			}
		case "alarm.acknowledged":
			if a := alarms[key]; a != nil {
				a.AckAt, a.AckBy, a.Comment, a.AckDelay = r.TS, r.Person, str("comment"), r.TS.Sub(a.RaisedAt)
			}
		case "alarm.restored":
			if a := alarms[key]; a != nil {
				a.RestoredAt = r.TS
			}
		case "alarm.closed":
			if a := alarms[key]; a != nil {
				a.ClosedAt = r.TS
			}
		case "alarm.escalated":
			if a := alarms[key]; a != nil {
				a.Escalations++
			}
		case "mode.armed", "mode.disarmed", "mode.sealed", "mode.unsealed", "arming.refused":
			if !inPeriod(r.TS) {
				continue
			}
			m := ModeChange{Room: r.Room, At: r.TS, Mode: strings.TrimPrefix(r.Type, "mode."), By: stringList(d["by"])}
			switch r.Type {
			case "mode.unsealed":
				m.Note = str("verdict")
			case "arming.refused":
				m.Note = str("op") + ": " + reasonsOf(d["reasons"])
			}
			in.Modes = append(in.Modes, m)
			id := r.Room + "/" + str("seal_id")
			if r.Type == "mode.sealed" {
				seals[id] = &SealLine{Room: r.Room, SealID: str("seal_id"), SealedAt: r.TS, SealedBy: m.By}
			}
			if r.Type == "mode.unsealed" {
				s := seals[id]
				if s == nil { // sealed before the period
					s = &SealLine{Room: r.Room, SealID: str("seal_id")}
					seals[id] = s
				}
				s.UnsealedAt, s.UnsealedBy, s.Verdict = r.TS, m.By, str("verdict")
			}
		case "inventory.completed":
			if inPeriod(r.TS) {
				in.Inventories = append(in.Inventories, InventoryLine{Room: r.Room, ID: str("inventory"), Trigger: str("trigger"),
					By: str("by"), At: r.TS, AllHome: d["all_home"] == true, Expected: num("expected"), Found: num("found"),
					OnLoan: num("on_loan"), Missing: num("missing"), Misplaced: num("misplaced"), Unexpected: num("unexpected")})
			}
		case "carrier.overdue":
			if inPeriod(r.TS) {
				o := &OverdueLine{Room: r.Room, Carrier: str("carrier"), Title: str("title"), Borrower: str("borrower"), SignOut: str("sign_out")}
				o.Due, _ = time.Parse(time.RFC3339, str("due"))
				overdue[r.Room+"/"+o.SignOut] = o
			}
		case "carrier.returned":
			if o := overdue[r.Room+"/"+str("sign_out")]; o != nil {
				o.ReturnedAt = r.TS
			}
		case "visitor.registered":
			if inPeriod(r.TS) {
				in.Visitors++
			}
		case "log.checkpoint":
			if inPeriod(r.TS) {
				c := in.ChainOf(r.Room)
				if through := uint64(num("through")); through >= c.Through {
					c.Through, c.Head, c.At = through, str("head"), r.TS
				}
			}
		}
	}
	var delays []time.Duration
	for _, a := range alarms {
		in.Alarms = append(in.Alarms, *a)
		if a.Acked() {
			delays = append(delays, a.AckDelay)
		} else {
			in.Unacked++
		}
	}
	slices.SortFunc(in.Alarms, func(a, b InspectedAlarm) int {
		if c := a.RaisedAt.Compare(b.RaisedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Room+a.ID, b.Room+b.ID)
	})
	if len(delays) > 0 {
		slices.Sort(delays)
		in.AckMedian, in.AckMax = delays[(len(delays)-1)/2], delays[len(delays)-1]
	}
	for _, s := range seals {
		in.Seals = append(in.Seals, *s)
	}
	slices.SortFunc(in.Seals, func(a, b SealLine) int { return firstTime(a).Compare(firstTime(b)) })
	for _, o := range overdue {
		in.Overdue = append(in.Overdue, *o)
	}
	slices.SortFunc(in.Overdue, func(a, b OverdueLine) int { return a.Due.Compare(b.Due) })
	for r := range rooms {
		in.RoomsCovered = append(in.RoomsCovered, r)
	}
	slices.Sort(in.RoomsCovered)
	return in
}

func firstTime(s SealLine) time.Time {
	if s.SealedAt.IsZero() {
		return s.UnsealedAt
	}
	return s.SealedAt
}

// stringList reads a JSON value that is a string or a list of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// reasonsOf reads a refusal's reasons ([{code, device, detail}]) as text.
func reasonsOf(v any) string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			if s, ok := m["detail"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, "; ")
}
