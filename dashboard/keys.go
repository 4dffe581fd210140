package dashboard

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// KeyAge is how old a safe's combination or a door's key may be before its
// change is due (issue 31: "after a configurable age, default 1 year").
const KeyAge = 365 * 24 * time.Hour

// KeyTypes are the events KeysOf reads.
var KeyTypes = []string{"safe.combination_changed", "custody.transferred", "alarm.raised"}

// KeySubject is a safe or a door of a room, whose combination or key is
// kept on record.
type KeySubject struct {
	Room, Device, Name, Kind string // Kind: gateway.KeyCombination or gateway.KeyDoor
}

// KeyLine is a safe's combination or a door's key as the rooms' logs tell
// it: its last change and whether another is due, and why.
type KeyLine struct {
	KeySubject
	Holder, By, Witness string
	Changed             time.Time
	// Due: why a change is due now (never recorded, older than the age,
	// its holder handed their carriers over, an alarm on it since), in
	// the order KeyDue* say; empty: not due.
	Due []string
}

// Why a change of a combination or a key is due.
const (
	KeyDueNever  = "never"       // no change on record
	KeyDueAge    = "age"         // older than the age
	KeyDueHolder = "holder_left" // its holder left their post (custody.transferred from them)
	KeyDueAlarm  = "alarm"       // an alarm on the safe or the door since
)

// KeysOf reads, for each subject, its last change and what made another
// due since, from recs (KeyTypes, in order), as of now.
func KeysOf(subjects []KeySubject, recs []Record, now time.Time, age time.Duration) []KeyLine {
	lines := make([]KeyLine, len(subjects))
	at := map[string]int{}
	for i, s := range subjects {
		lines[i].KeySubject = s
		at[s.Room+"/"+s.Device] = i
	}
	left := map[string][]time.Time{}  // room/person: when they handed their carriers over
	alarmed := map[string]time.Time{} // room/device: the last alarm on it
	for _, r := range recs {
		switch r.Type {
		case "safe.combination_changed":
			var d struct{ Subject, Holder, By, Witness string }
			if json.Unmarshal(r.Data, &d) != nil {
				continue
			}
			if i, ok := at[r.Room+"/"+d.Subject]; ok {
				l := &lines[i]
				l.Holder, l.By, l.Witness, l.Changed = d.Holder, d.By, d.Witness, r.TS
			}
		case "custody.transferred":
			var d struct{ From string }
			if json.Unmarshal(r.Data, &d) == nil && d.From != "" {
				k := r.Room + "/" + strings.ToLower(strings.TrimSpace(d.From))
				left[k] = append(left[k], r.TS)
			}
		case "alarm.raised":
			if r.Device != "" {
				alarmed[r.Room+"/"+r.Device] = r.TS
			}
		}
	}
	for i := range lines {
		l := &lines[i]
		if l.Changed.IsZero() {
			l.Due = append(l.Due, KeyDueNever)
			continue
		}
		if now.Sub(l.Changed) > age {
			l.Due = append(l.Due, KeyDueAge)
		}
		if slices.ContainsFunc(left[l.Room+"/"+strings.ToLower(strings.TrimSpace(l.Holder))], func(t time.Time) bool { return t.After(l.Changed) }) {
			l.Due = append(l.Due, KeyDueHolder)
		}
		if t := alarmed[l.Room+"/"+l.Device]; t.After(l.Changed) {
			l.Due = append(l.Due, KeyDueAlarm)
		}
	}
	return lines
}

// KeySubjectsOf are a room's safes and doors, from its devices' retained
// states.
func KeySubjectsOf(devices []Retained) []KeySubject {
	var out []KeySubject
	for _, r := range devices {
		var st struct {
			Device, Kind, Name string
		}
		if json.Unmarshal(r.Payload, &st) != nil {
			continue
		}
		switch gateway.InputKind(st.Kind) {
		case "safe":
			out = append(out, KeySubject{Room: r.Room, Device: st.Device, Name: st.Name, Kind: gateway.KeyCombination})
		case gateway.KindDoor:
			out = append(out, KeySubject{Room: r.Room, Device: st.Device, Name: st.Name, Kind: gateway.KeyDoor})
		}
	}
	slices.SortFunc(out, func(a, b KeySubject) int { return strings.Compare(a.Room+"/"+a.Device, b.Room+"/"+b.Device) })
	return out
}
