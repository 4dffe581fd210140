package dashboard_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// Issue 31, item 2: a combination or a key change is due when none is on
// record, when it is older than the age, when its holder handed their
// carriers over since (custody.transferred from them), and when an alarm
// was raised on the safe or the door since; a recorded change clears
// what came before it.
func TestKeyChangesDue(t *testing.T) {
	var recs []dashboard.Record
	add := func(days float64, typ, device string, data map[string]any) {
		b, _ := json.Marshal(data)
		recs = append(recs, dashboard.Record{N: int64(len(recs) + 1), Event: gateway.Event{Seq: uint64(len(recs) + 1), Room: "r1", Type: typ,
			Device: device, TS: day.Add(time.Duration(days * 24 * float64(time.Hour))), Data: b}})
	}
	subjects := dashboard.KeySubjectsOf([]dashboard.Retained{
		{Room: "r1", Kind: "devices", Key: "safe-a", Payload: json.RawMessage(`{"device":"safe-a","kind":"safe","name":"保密柜A"}`)},
		{Room: "r1", Kind: "devices", Key: "safe-b", Payload: json.RawMessage(`{"device":"safe-b","kind":"safe"}`)},
		{Room: "r1", Kind: "devices", Key: "safe-c", Payload: json.RawMessage(`{"device":"safe-c","kind":"safe"}`)},
		{Room: "r1", Kind: "devices", Key: "door-main", Payload: json.RawMessage(`{"device":"door-main","kind":"door"}`)},
		{Room: "r1", Kind: "devices", Key: "window-1", Payload: json.RawMessage(`{"device":"window-1","kind":"window"}`)},
	})
	if len(subjects) != 4 {
		t.Fatalf("subjects %+v", subjects)
	}
	changed := func(days float64, subject, holder string) {
		add(days, "safe.combination_changed", subject, map[string]any{"subject": subject, "kind": "combination", "holder": holder, "by": holder, "witness": "p-li"})
	}
	changed(0, "safe-a", "p-zhang")
	changed(0, "safe-b", "p-zhang")
	changed(-400, "door-main", "p-li")
	add(10, "custody.transferred", "", map[string]any{"from": "p-zhang", "to": "p-zhao", "carriers": []string{"JM-1"}})
	add(20, "alarm.raised", "safe-b", map[string]any{"alarm": "r1-1", "class": "safe-opened", "priority": 2})
	changed(30, "safe-a", "p-zhao") // changed again after the transfer: in order
	due := map[string]string{}
	for _, l := range dashboard.KeysOf(subjects, recs, day.AddDate(0, 0, 40), dashboard.KeyAge) {
		due[l.Device] = strings.Join(l.Due, ",")
		if l.Device == "safe-a" && (l.Holder != "p-zhao" || l.Kind != gateway.KeyCombination || l.Name != "保密柜A") {
			t.Fatalf("safe-a %+v", l)
		}
	}
	if due["safe-a"] != "" || due["safe-b"] != "holder_left,alarm" || due["safe-c"] != "never" || due["door-main"] != "age" {
		t.Fatalf("due %v", due)
	}
}

// Issue 31, item 3: an inspection is due when none was recorded within
// the period (periodic), and a week before each holiday of the room's
// calendar unless one was recorded since a week before it (holiday); an
// inspection of every room counts for each.
func TestInspectionDue(t *testing.T) {
	now := day // Monday 2 November 2026
	hol := []dashboard.HolidayDates{{Name: "元旦", From: "2026-11-06", To: "2026-11-08"}}
	if why := dashboard.InspectionDue("r1", nil, nil, now, dashboard.InspectEvery); why != "periodic" {
		t.Fatalf("never inspected: %q", why)
	}
	done := []dashboard.InspectionDone{{Room: "", Kind: "periodic", At: now.AddDate(0, 0, -10)}}
	if why := dashboard.InspectionDue("r1", done, nil, now, dashboard.InspectEvery); why != "" {
		t.Fatalf("inspected 10 days ago: %q", why)
	}
	if why := dashboard.InspectionDue("r1", done, hol, now, dashboard.InspectEvery); why != "holiday" {
		t.Fatalf("a holiday in 4 days: %q", why)
	}
	done = append(done, dashboard.InspectionDone{Room: "r1", Kind: "holiday", At: now.AddDate(0, 0, -1)})
	if why := dashboard.InspectionDue("r1", done, hol, now, dashboard.InspectEvery); why != "" {
		t.Fatalf("inspected before the holiday: %q", why)
	}
	if why := dashboard.InspectionDue("r2", done[1:], nil, now.AddDate(0, 0, 40), dashboard.InspectEvery); why != "periodic" {
		t.Fatalf("another room's inspection: %q", why)
	}
}
