package http_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
)

// Issue 20, item 3: a guard on duty stays logged in all night however quiet
// it is, for one shift; an ordinary session still ends after 30 idle
// minutes; going on duty is recorded.
func TestDutySessionLastsTheShift(t *testing.T) {
	c := newConsole(t, "guard1:guard", "auditor1:auditor")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1"})
	duty, plain := c.as("guard1"), c.as("guard1")
	if code, body := duty.get("/duty"); code != 200 || !strings.Contains(body, `id="duty-start"`) || strings.Contains(body, `id="on-duty"`) {
		t.Fatalf("the duty page before going on duty: %d\n%s", code, body)
	}
	if code, where := duty.post("/duty/start", url.Values{"csrf": {duty.csrf("/duty")}}); code != http.StatusSeeOther || !strings.Contains(where, "done=1") {
		t.Fatalf("go on duty: %d %s", code, where)
	}
	if code, body := duty.get("/duty"); code != 200 || !strings.Contains(body, `id="on-duty"`) {
		t.Fatalf("the duty page on duty: %d\n%s", code, body)
	}
	if a := c.audited("duty.start"); len(a) != 1 || a[0].User != "guard1" || a[0].Result != "ok" {
		t.Fatalf("audit: %+v", a)
	}
	// a second start does not prolong it
	if _, where := duty.post("/duty/start", url.Values{"csrf": {duty.csrf("/duty")}}); !strings.Contains(where, "error=") {
		t.Fatalf("started twice: %s", where)
	}
	c.clock.Advance(dashboard.SessionIdle + time.Minute) // a quiet night
	if code, _ := plain.get("/alarms"); code != http.StatusSeeOther {
		t.Fatalf("an idle ordinary session still holds: %d", code)
	}
	for h := 0; h < 11; h++ { // nobody touches the duty screen for 11 hours
		c.clock.Advance(time.Hour)
	}
	if code, body := duty.get("/duty"); code != 200 || !strings.Contains(body, `id="on-duty"`) {
		t.Fatalf("the duty session ended within its shift: %d", code)
	}
	c.clock.Advance(time.Hour)
	if code, _ := duty.get("/duty"); code != http.StatusSeeOther {
		t.Fatalf("a duty session outlives its shift: %d", code)
	}
	// an auditor reads the duty screen but does not go on duty
	a := c.as("auditor1")
	if code, body := a.get("/duty"); code != 200 || strings.Contains(body, `id="duty-start"`) {
		t.Fatalf("the duty page for an auditor: %d", code)
	}
	if code, _ := a.post("/duty/start", url.Values{"csrf": {a.csrf("/duty")}}); code != http.StatusForbidden {
		t.Fatalf("an auditor went on duty: %d", code)
	}
}

// Issue 20, item 4: the outgoing guard hands over (notes, the open alarms
// recorded), the incoming guard takes over with another account; both
// confirmations are recorded and the record prints.
func TestShiftHandover(t *testing.T) {
	c := newConsole(t, "guard1:guard", "guard2:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室"})
	c.retain("r1", "devices", "window-north", map[string]any{"device": "window-north", "kind": "window", "name": "北窗", "state": "open", "active": true, "since": t0})
	c.retain("r1", "alarms", "r1-7", map[string]any{"room": "r1", "id": "r1-7", "class": "intrusion", "priority": 1, "state": "active",
		"device": "window-north", "count": 1, "raised_at": t0})
	g1, g2 := c.as("guard1"), c.as("guard2")
	notes := "北窗报警已通知保密员，待明早检修。"
	if _, where := g1.post("/handover", url.Values{"csrf": {g1.csrf("/handover")}, "notes": {notes}}); !strings.Contains(where, "done=1") {
		t.Fatalf("hand over: %s", where)
	}
	// a second handover waits for the first to be taken
	if _, where := g1.post("/handover", url.Values{"csrf": {g1.csrf("/handover")}, "notes": {"again"}}); !strings.Contains(where, "error=") {
		t.Fatalf("handed over twice: %s", where)
	}
	_, page := g1.get("/handover")
	if !strings.Contains(page, `id="take-over"`) || !strings.Contains(page, notes) || !strings.Contains(page, "入侵 北窗") {
		t.Fatalf("the pending handover:\n%s", page)
	}
	// the outgoing guard cannot also be the incoming one
	if _, where := g1.post("/handover/1/take", url.Values{"csrf": {g1.csrf("/handover")}}); !strings.Contains(where, "error=") {
		t.Fatalf("taken over by the same guard: %s", where)
	}
	if _, where := g2.post("/handover/1/take", url.Values{"csrf": {g2.csrf("/handover")}, "notes": {"已接班"}}); !strings.Contains(where, "done=1") {
		t.Fatalf("take over: %s", where)
	}
	if _, where := g2.post("/handover/1/take", url.Values{"csrf": {g2.csrf("/handover")}}); !strings.Contains(where, "error=") {
		t.Fatalf("taken over twice: %s", where)
	}
	code, report := g2.get("/handover/1")
	if code != 200 || !strings.Contains(report, `id="report"`) || !strings.Contains(report, notes) || !strings.Contains(report, "已接班") ||
		!strings.Contains(report, "入侵") || !strings.Contains(report, "北窗") || !strings.Contains(report, "2026-11-22 09:00:00") {
		t.Fatalf("the handover record: %d\n%s", code, report)
	}
	if out, in := c.audited("handover.out"), c.audited("handover.in"); len(out) != 2 || len(in) != 3 || in[1].Result != "ok" || in[1].User != "guard2" {
		t.Fatalf("audit: out %+v in %+v", out, in)
	}
}

// Issue 20, item 1: a room's call-down shown as it holds it, edited by a
// security officer and sent to the room as calldown/replace (the room
// checks it); a guard reads it; YAML that does not read is refused here,
// naming the line, and nothing is sent.
func TestCalldownEditedAtTheConsole(t *testing.T) {
	c := newConsole(t, "officer1:officer", "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室"})
	c.retain("r1", "calldown", "", map[string]any{"room": "r1", "version": 0, "source": "config",
		"people": []map[string]any{{"id": "guard", "name": "值班保安", "phone": "+8613800000001"}, {"id": "officer", "name": "保密员", "phone": "13900000002"}},
		"calldown": []map[string]any{{"classes": []string{"intrusion", "tamper"}, "steps": []map[string]any{{"after": "0s", "people": []string{"guard", "officer"}},
			{"after": "3m", "people": []string{"officer"}, "channels": []string{"call"}}}}}})
	g := c.as("guard1")
	_, page := g.get("/calldown")
	for _, want := range []string{"入侵、防拆", "立即：值班保安、保密员 · 短信", "3分钟后：保密员 · 电话", "按配置文件"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the call-down page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `id="calldown-save-r1"`) {
		t.Fatal("a guard may edit the call-down")
	}
	if code, _ := g.post("/calldown/r1", url.Values{"csrf": {g.csrf("/calldown")}, "calldown": {"people: []"}}); code != http.StatusForbidden {
		t.Fatalf("a guard's edit: %d", code)
	}
	o := c.as("officer1")
	_, page = o.get("/calldown")
	if !strings.Contains(page, `id="calldown-save-r1"`) || !strings.Contains(page, "after: 3m") {
		t.Fatalf("the officer's form:\n%s", page)
	}
	before := c.rooms.count()
	if _, where := o.post("/calldown/r1", url.Values{"csrf": {o.csrf("/calldown")}, "calldown": {"people:\n  - id: guard\n    fax: 123\n"}}); !strings.Contains(where, "error=") || !strings.Contains(where, "line+3") {
		t.Fatalf("unreadable YAML: %s", where)
	}
	if c.rooms.count() != before {
		t.Fatal("an unreadable call-down was sent")
	}
	edit := "people:\n  - {id: guard, name: 夜班保安, phone: \"+8613811111111\"}\n  - {id: officer, name: 保密员, phone: \"13900000002\"}\n" +
		"calldown:\n  - classes: [intrusion, tamper]\n    steps:\n      - {after: 0s, people: [guard, officer]}\n"
	if _, where := o.post("/calldown/r1", url.Values{"csrf": {o.csrf("/calldown")}, "calldown": {edit}}); !strings.Contains(where, "done=1") {
		t.Fatalf("the edit: %s", where)
	}
	name, args := c.lastArgs()
	people, _ := json.Marshal(args["people"])
	if name != "r1 calldown/replace" || args["version"] != int64(1) || !strings.Contains(string(people), "+8613811111111") {
		t.Fatalf("sent %s %v", name, args)
	}
	if a := c.audited("calldown.replace"); len(a) != 2 || a[0].Result != "ok" || a[0].User != "officer1" {
		t.Fatalf("audit %+v", a)
	}
}
