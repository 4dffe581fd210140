package dashboard_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

var day = time.Date(2026, 11, 2, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// history builds records of room r: each step is (minutes after day, type,
// person, data).
type history struct {
	recs []dashboard.Record
	seq  uint64
}

func (h *history) add(room string, min float64, typ, person string, data map[string]any) {
	h.seq++
	b, _ := json.Marshal(data)
	h.recs = append(h.recs, dashboard.Record{N: int64(h.seq), Event: gateway.Event{Seq: h.seq, Room: room, Type: typ,
		TS: day.Add(time.Duration(min * float64(time.Minute))), ClockTrusted: true, Person: person, Data: b}})
}

func TestInspectionReport(t *testing.T) {
	h := &history{}
	// before the period: an alarm that must not be counted
	h.add("r1", -60, "alarm.raised", "", map[string]any{"alarm": "r1-1", "class": "intrusion", "priority": 1})
	h.add("r1", -59, "alarm.acknowledged", "guard1", map[string]any{"alarm": "r1-1", "comment": "old"})
	// in it: one acknowledged after 90 s and closed, one escalated and never acknowledged
	h.add("r1", 60, "alarm.raised", "", map[string]any{"alarm": "r1-2", "class": "door-forced", "priority": 1, "detail": "d1 forced"})
	h.add("r1", 61.5, "alarm.acknowledged", "guard1", map[string]any{"alarm": "r1-2", "comment": "checked, staff error"})
	h.add("r1", 62, "alarm.restored", "", map[string]any{"alarm": "r1-2"})
	h.add("r1", 62, "alarm.closed", "", map[string]any{"alarm": "r1-2"})
	h.add("r2", 120, "alarm.raised", "", map[string]any{"alarm": "r2-1", "class": "window-open", "priority": 2})
	h.add("r2", 125, "alarm.escalated", "", map[string]any{"alarm": "r2-1", "level": 1})
	h.add("r1", 200, "alarm.raised", "", map[string]any{"alarm": "r1-3", "class": "tamper", "priority": 1})
	h.add("r1", 210, "alarm.acknowledged", "guard2", map[string]any{"alarm": "r1-3", "comment": "cover refitted"})
	// modes, a refusal, a seal that ends broken
	h.add("r1", 300, "arming.refused", "zhang", map[string]any{"op": "arm", "by": "zhang", "reasons": []map[string]any{{"code": "open", "detail": "w1 is open"}}})
	h.add("r1", 301, "mode.armed", "zhang", map[string]any{"by": []string{"zhang"}})
	h.add("r1", 600, "mode.disarmed", "zhang", map[string]any{"by": "zhang"})
	h.add("r1", 700, "mode.sealed", "zhang", map[string]any{"by": []string{"zhang", "li"}, "seal_id": "r1-seal-1"})
	h.add("r1", 900, "mode.unsealed", "li", map[string]any{"by": []string{"li", "wang"}, "seal_id": "r1-seal-1", "verdict": "broken"})
	// inventories, carriers late and still out, a visitor
	h.add("r1", 400, "inventory.completed", "", map[string]any{"inventory": "inv-1", "trigger": "arming", "by": "zhang",
		"all_home": false, "expected": 12, "found": 11, "missing": 1})
	h.add("r1", 410, "carrier.overdue", "p-zhang", map[string]any{"carrier": "JM-1", "title": "文件", "sign_out": "so-1",
		"borrower": "p-zhang", "due": day.Add(405 * time.Minute).Format(time.RFC3339)})
	h.add("r1", 420, "carrier.returned", "p-zhang", map[string]any{"carrier": "JM-1", "sign_out": "so-1"})
	h.add("r2", 430, "carrier.overdue", "p-li", map[string]any{"carrier": "JM-2", "sign_out": "so-2", "borrower": "p-li",
		"due": day.Add(425 * time.Minute).Format(time.RFC3339)})
	// the room signs its chain's head: the report cites the period's last checkpoint
	h.add("r1", 100, "log.checkpoint", "", map[string]any{"through": 5, "head": "aaaa", "sig": "x"})
	h.add("r1", 500, "log.checkpoint", "", map[string]any{"through": 17, "head": "bbbb", "sig": "x"})
	h.add("r1", 24*60+10, "log.checkpoint", "", map[string]any{"through": 40, "head": "cccc", "sig": "x"})
	h.add("r2", 440, "visitor.registered", "", map[string]any{"visit": "v1"})
	h.recs[len(h.recs)-1].ClockTrusted = false
	// after the period: r2-1 acknowledged late still counts for the alarm raised inside it
	h.add("r2", 24*60+5, "alarm.acknowledged", "guard3", map[string]any{"alarm": "r2-1", "comment": "window shut"})
	h.add("r2", 24*60+6, "alarm.raised", "", map[string]any{"alarm": "r2-2", "class": "intrusion", "priority": 1})

	in := dashboard.Inspect(day, day.AddDate(0, 0, 1), h.recs, dashboard.EntryCounts{})
	if len(in.Alarms) != 3 {
		t.Fatalf("alarms %+v", in.Alarms)
	}
	a := in.Alarms[0]
	if a.ID != "r1-2" || a.AckDelay != 90*time.Second || a.AckBy != "guard1" || a.Comment != "checked, staff error" || a.ClosedAt.IsZero() || a.RestoredAt.IsZero() {
		t.Fatalf("first alarm %+v", a)
	}
	if b := in.Alarms[1]; b.ID != "r2-1" || b.Escalations != 1 || b.AckDelay != (24*60+5-120)*time.Minute {
		t.Fatalf("second alarm %+v", b)
	}
	if in.Unacked != 0 || in.AckMedian != 10*time.Minute || in.AckMax != (24*60+5-120)*time.Minute {
		t.Fatalf("ack figures: unacked %d median %v max %v", in.Unacked, in.AckMedian, in.AckMax)
	}
	if len(in.Modes) != 5 || in.Modes[0].Mode != "arming.refused" || in.Modes[0].Note != "arm: w1 is open" ||
		in.Modes[3].Mode != "sealed" || len(in.Modes[3].By) != 2 || in.Modes[4].Note != "broken" {
		t.Fatalf("modes %+v", in.Modes)
	}
	if len(in.Seals) != 1 || in.Seals[0].Verdict != "broken" || in.Seals[0].SealedBy[1] != "li" || in.Seals[0].UnsealedBy[1] != "wang" {
		t.Fatalf("seals %+v", in.Seals)
	}
	if len(in.Inventories) != 1 || in.Inventories[0].AllHome || in.Inventories[0].Missing != 1 || in.Inventories[0].Found != 11 {
		t.Fatalf("inventories %+v", in.Inventories)
	}
	if len(in.Overdue) != 2 || in.Overdue[0].ReturnedAt.IsZero() || !in.Overdue[1].ReturnedAt.IsZero() || in.Overdue[1].Carrier != "JM-2" {
		t.Fatalf("overdue %+v", in.Overdue)
	}
	if c := in.Chain["r1"]; c == nil || c.Through != 17 || c.Head != "bbbb" || in.Chain["r2"] != nil {
		t.Fatalf("chain lines %+v", in.Chain)
	}
	if in.Visitors != 1 || in.Untrusted != 1 || len(in.RoomsCovered) != 2 {
		t.Fatalf("visitors %d untrusted %d rooms %v", in.Visitors, in.Untrusted, in.RoomsCovered)
	}

	// the same records, a period that ends before r2-1 is acknowledged: the
	// report says it is not
	in = dashboard.Inspect(day, day.AddDate(0, 0, 1), h.recs[:len(h.recs)-2], dashboard.EntryCounts{})
	if in.Unacked != 1 || in.Alarms[1].Acked() {
		t.Fatalf("an alarm never acknowledged: unacked %d %+v", in.Unacked, in.Alarms[1])
	}
	// a seal put on before the period and taken off in it
	in = dashboard.Inspect(day.Add(800*time.Minute), day.AddDate(0, 0, 1), h.recs, dashboard.EntryCounts{})
	if len(in.Seals) != 1 || !in.Seals[0].SealedAt.IsZero() || in.Seals[0].Verdict != "broken" {
		t.Fatalf("a seal from before the period: %+v", in.Seals)
	}
}
