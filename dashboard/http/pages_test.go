package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// publish puts events of a room into the replica as its gateway published
// them: each is (seconds after t0, type, device, person, data).
type published struct {
	c   *console
	seq map[string]uint64
}

func (c *console) events() *published { return &published{c: c, seq: map[string]uint64{}} }

func (p *published) add(room string, sec float64, typ, device, person string, data map[string]any) {
	p.c.t.Helper()
	p.seq[room]++
	d, _ := json.Marshal(data)
	e := gateway.Event{Seq: p.seq[room], ID: gateway.NewEventID(t0), Room: room, Type: typ, Severity: gateway.SeverityInfo,
		TS: t0.Add(time.Duration(sec * float64(time.Second))), ClockTrusted: true, Device: device, Person: person, Data: d}
	b, _ := json.Marshal(e)
	p.c.added(room)
	if res, err := p.c.store.Ingest([]sqlite.Message{{Room: room, Payload: b}}); err != nil || len(res.Rejected) > 0 {
		p.c.t.Fatalf("ingest %s: %v %+v", typ, err, res.Rejected)
	}
}

// added is a room an admin added to the console: what the link takes in
// is only ever of such a room (issue 27).
func (c *console) added(room string) {
	c.t.Helper()
	if err := c.store.AddRoom(room, "", "test"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *console) retain(room, kind, key string, v any) {
	c.t.Helper()
	c.added(room)
	b, _ := json.Marshal(v)
	if _, err := c.store.SetRetained(dashboard.Retained{Room: room, Kind: kind, Key: key, Payload: b, Updated: t0}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *console) lastArgs() (string, map[string]any) {
	c.rooms.mu.Lock()
	defer c.rooms.mu.Unlock()
	if len(c.rooms.calls) == 0 {
		return "", nil
	}
	return c.rooms.calls[len(c.rooms.calls)-1], c.rooms.args[len(c.rooms.args)-1]
}

func TestCarrierSignOutReturnAndInventory(t *testing.T) {
	c := newConsole(t, "officer1:officer", "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	g := c.as("guard1")
	form := url.Values{"room": {"r1"}, "carrier": {"JM-2026-0001"}, "borrower": {"p-zhang"}, "purpose": {"阅办"},
		"due": {"2026-11-22T17:30"}, "may_leave": {"on"}, "approver": {"p-li"}}
	form.Set("csrf", g.csrf("/carriers"))
	if code, _ := g.post("/carriers/signout", form); code != http.StatusForbidden || c.rooms.count() != 0 {
		t.Fatalf("a guard signed a carrier out: %d, %d commands", code, c.rooms.count())
	}
	o := c.as("officer1")
	form.Set("csrf", o.csrf("/carriers"))
	code, where := o.post("/carriers/signout", form)
	call, args := c.lastArgs()
	if code != http.StatusSeeOther || !strings.Contains(where, "done=1") || call != "r1 carrier/signout" {
		t.Fatalf("sign-out: %d %s, %s", code, where, call)
	}
	if args["by"] != "officer1" || args["carrier"] != "JM-2026-0001" || args["borrower"] != "p-zhang" ||
		args["due"] != "2026-11-22T17:30:00+08:00" || args["may_leave"] != true || args["approver"] != "p-li" {
		t.Fatalf("sign-out args %v", args)
	}
	// a due time that is not one is refused before the room is asked, and audited
	form.Set("due", "tomorrow")
	code, where = o.post("/carriers/signout", form)
	if code != http.StatusSeeOther || !strings.Contains(where, "due") || c.rooms.count() != 1 {
		t.Fatalf("no due time: %d %s, %d commands", code, where, c.rooms.count())
	}
	// the audit log reads newest first
	if a := c.audited("carrier.signout"); len(a) != 2 || a[0].Result == "ok" || a[1].User != "officer1" {
		t.Fatalf("audit %+v", a)
	}

	// the page: the loan from the events (overdue once its due time passed),
	// where the carrier is, an inventory report
	ev := c.events()
	ev.add("r1", 0, "carrier.signed_out", "JM-2026-0001", "p-zhang", map[string]any{"carrier": "JM-2026-0001", "title": "会议纪要",
		"sign_out": "so-1", "borrower": "p-zhang", "borrower_name": "张伟", "purpose": "阅办", "due": t0.Add(20 * time.Minute).Format(time.RFC3339)})
	ev.add("r1", 1, "carrier.signed_out", "JM-2026-0002", "p-li", map[string]any{"carrier": "JM-2026-0002", "sign_out": "so-2",
		"borrower": "p-li", "due": t0.Add(time.Hour).Format(time.RFC3339)})
	ev.add("r1", 2, "carrier.returned", "JM-2026-0002", "p-li", map[string]any{"carrier": "JM-2026-0002", "sign_out": "so-2"})
	c.retain("r1", "carrier", "JM-2026-0001", gateway.CarrierState{ID: "JM-2026-0001", Status: gateway.CarrierSignedOut, SignOut: "so-1"})
	c.retain("r1", "carrier", "JM-2026-0002", gateway.CarrierState{ID: "JM-2026-0002", Status: gateway.CarrierHome, Location: "safe-1"})
	c.retain("r1", "inventories", "inv-7", gateway.InventoryReport{ID: "inv-7", Room: "r1", Trigger: "command", By: "officer1", At: t0,
		Missing: []gateway.InventItem{{Carrier: "JM-2026-0003", Title: "密码电报", Home: "safe-2"}}})
	_, body := o.get("/carriers")
	if !strings.Contains(body, `id="loan-JM-2026-0001"`) || strings.Contains(body, `id="loan-JM-2026-0002"`) ||
		!strings.Contains(body, "会议纪要") || strings.Contains(body, "逾期") {
		t.Fatalf("carriers page:\n%s", body)
	}
	c.clock.Advance(21 * time.Minute) // (within the session's idle time)
	if _, body = o.get("/carriers"); !strings.Contains(body, `class="loan overdue"`) {
		t.Fatalf("an overdue loan is not shown so:\n%s", body)
	}
	if code, body = o.get("/carriers/inventory/r1/inv-7"); code != 200 || !strings.Contains(body, "JM-2026-0003") || !strings.Contains(body, `id="report"`) {
		t.Fatalf("inventory report: %d\n%s", code, body)
	}
	if code, _ = o.get("/carriers/inventory/r1/nope"); code != http.StatusNotFound {
		t.Fatalf("an unknown report: %d", code)
	}
	// no due time: the room's default (the end of the working day); an
	// extension needs one
	form.Del("due")
	form.Del("approver")
	o.post("/carriers/signout", form)
	if _, args = c.lastArgs(); args["due"] != nil || args["approver"] != nil || args["second"] != nil {
		t.Fatalf("empty fields sent: %v", args)
	}
	n := c.rooms.count()
	_, where = o.post("/carriers/extend", url.Values{"csrf": {o.csrf("/carriers")}, "room": {"r1"}, "carrier": {"JM-2026-0001"}})
	if !strings.Contains(where, "due") || c.rooms.count() != n {
		t.Fatalf("an extension without a due time: %s", where)
	}
	o.post("/carriers/return", url.Values{"csrf": {o.csrf("/carriers")}, "room": {"r1"}, "carrier": {"JM-2026-0001"}})
	if call, args = c.lastArgs(); call != "r1 carrier/return" || args["carrier"] != "JM-2026-0001" {
		t.Fatalf("return: %s %v", call, args)
	}
	o.post("/carriers/inventory", url.Values{"csrf": {o.csrf("/carriers")}, "room": {"r1"}})
	if call, args = c.lastArgs(); call != "r1 inventory/run" || args["by"] != "officer1" {
		t.Fatalf("inventory: %s %v", call, args)
	}
}

func TestSealingNeedsTwoPeople(t *testing.T) {
	c := newConsole(t, "officer1:officer", "officer2:officer", "guard1:guard", "auditor1:auditor")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	c.retain("r1", "mode", "", map[string]any{"mode": "open"})
	var first string
	c.rooms.reply = func(room, name string, args map[string]any) (map[string]any, error) { // the gateway's rule
		by := args["by"].(string)
		switch {
		case first == "":
			first = by
			return map[string]any{"done": false, "confirmed_by": by}, nil
		case first == by:
			return nil, gateway.Errorf(gateway.ECONFLICT, "%s: needs two different people; %s has already confirmed", name, by)
		}
		return map[string]any{"done": true}, nil
	}
	if g := c.as("guard1"); true {
		if code, _ := g.post("/seals/seal", url.Values{"csrf": {g.csrf("/seals")}, "room": {"r1"}}); code != http.StatusForbidden {
			t.Fatalf("a guard sealed: %d", code)
		}
	}
	o1, o2 := c.as("officer1"), c.as("officer2")
	code, where := o1.post("/seals/seal", url.Values{"csrf": {o1.csrf("/seals")}, "room": {"r1"}})
	if code != http.StatusSeeOther || where != "/seals?waiting=r1" {
		t.Fatalf("first confirmation: %d %s", code, where)
	}
	c.events().add("r1", 0, "seal.confirmation", "", "officer1", map[string]any{"op": "seal", "by": "officer1", "window_s": 60})
	if _, body := o2.get("/seals"); !strings.Contains(body, "officer1") || !strings.Contains(body, "确认封门") {
		t.Fatalf("the pending confirmation is not shown:\n%s", body)
	}
	if _, where = o1.post("/seals/seal", url.Values{"csrf": {o1.csrf("/seals")}, "room": {"r1"}}); !strings.Contains(where, "two+different+people") {
		t.Fatalf("the same person twice: %s", where)
	}
	if _, where = o2.post("/seals/seal", url.Values{"csrf": {o2.csrf("/seals")}, "room": {"r1"}}); !strings.Contains(where, "done=1") {
		t.Fatalf("second confirmation: %s", where)
	}
	// the audit log reads newest first
	if a := c.audited("room.seal"); len(a) != 3 || a[2].User != "officer1" || a[0].User != "officer2" || a[0].Result != "ok" {
		t.Fatalf("audit %+v", a)
	}
	// the window passes: the confirmation is no longer shown as pending
	c.clock.Advance(2 * time.Minute)
	if _, body := o2.get("/seals"); strings.Contains(body, `<td>封门: officer1`) {
		t.Fatalf("a stale confirmation is shown:\n%s", body)
	}

	// the report of an unsealing, printable, for an auditor too
	c.retain("r1", "seal-reports", "r1-seal-1", gateway.SealReport{SealID: "r1-seal-1", Room: "r1", SealedBy: []string{"officer1", "officer2"},
		UnsealedBy: []string{"officer2", "officer1"}, SealedAt: "2026-11-20T18:00:00+08:00", UnsealedAt: "2026-11-23T08:30:00+08:00",
		Verdict: "broken", BrokenAlarms: []string{"r1-9"}, Differences: []string{"w1: closed at sealing, open at unsealing"},
		Findings: []gateway.SealFinding{
			{Kind: gateway.FindingAlarm, At: "2026-11-21T02:00:00.000Z", Type: "alarm.raised", Class: "intrusion", Alarm: "r1-9", Device: "w1"},
			{Kind: gateway.FindingChanged, Device: "w1", Was: "closed", Now: "open"},
			{Kind: gateway.FindingDowntime, From: "2026-11-21T03:00:00.000Z", At: "2026-11-21T04:00:00.000Z"}},
		Chain: &gateway.ReportChain{Through: 812, Head: strings.Repeat("cd", 32)}})
	a := c.as("auditor1")
	if _, body := a.get("/seals"); !strings.Contains(body, "/seals/r1/r1-seal-1") || strings.Contains(body, "/seals/seal") {
		t.Fatalf("seal page for an auditor:\n%s", body)
	}
	code, body := a.get("/seals/r1/r1-seal-1")
	// the causes in Chinese, every time in the console's zone (Shanghai)
	if code != 200 || !strings.Contains(body, "封门期间被打开") || !strings.Contains(body, "2026-11-21 10:00:00 报警：入侵 w1") ||
		!strings.Contains(body, "封门与启封时状态不同：w1 关闭 → 打开") || !strings.Contains(body, "网关停机，期间无人值守：2026-11-21 11:00:00 – 2026-11-21 12:00:00") ||
		!strings.Contains(body, "2026-11-20 18:00:00 · officer1、officer2") ||
		!strings.Contains(body, "log verify --checkpoint "+strings.Repeat("cd", 32)) || !strings.Contains(body, "序号 812") {
		t.Fatalf("seal report: %d\n%s", code, body)
	}
}

func TestArmDisarmAndBypassFromTheConsole(t *testing.T) {
	c := newConsole(t, "officer1:officer", "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	c.retain("r1", "mode", "", map[string]any{"mode": "open"})
	c.retain("r1", "devices", "w1", map[string]any{"device": "w1", "kind": "window", "state": "open", "active": true})
	g := c.as("guard1")
	if _, body := g.get("/rooms/r1"); strings.Contains(body, "/rooms/r1/arm") {
		t.Fatal("a guard is offered arming")
	}
	if code, _ := g.post("/rooms/r1/arm", url.Values{"csrf": {g.csrf("/rooms/r1")}}); code != http.StatusForbidden || c.rooms.count() != 0 {
		t.Fatalf("a guard armed: %d", code)
	}
	o := c.as("officer1")
	c.rooms.reply = func(room, name string, args map[string]any) (map[string]any, error) {
		if name == "arm" {
			return nil, &gateway.Error{Code: gateway.ECONFLICT, Message: "arm refused: window w1 is open"}
		}
		return map[string]any{}, nil
	}
	code, where := o.post("/rooms/r1/arm", url.Values{"csrf": {o.csrf("/rooms/r1")}})
	if code != http.StatusSeeOther || !strings.HasPrefix(where, "/rooms/r1?error=") || !strings.Contains(where, "w1+is+open") {
		t.Fatalf("a refused arming: %d %s", code, where)
	}
	if _, body := o.get(where); !strings.Contains(body, "w1 is open") || !strings.Contains(body, `value="w1" id="bp-w1"`) {
		t.Fatalf("the refusal is not shown with the bypass form:\n%s", body)
	}
	// a bypass needs a reason and devices; both are refused before the room is asked
	n := c.rooms.count()
	if _, where = o.post("/rooms/r1/bypass", url.Values{"csrf": {o.csrf("/rooms/r1")}, "device": {"w1"}}); !strings.Contains(where, "reason+is+required") || c.rooms.count() != n {
		t.Fatalf("a bypass with no reason: %s", where)
	}
	if _, where = o.post("/rooms/r1/bypass", url.Values{"csrf": {o.csrf("/rooms/r1")}, "reason": {"latch broken, repair booked"}}); !strings.Contains(where, "devices") || c.rooms.count() != n {
		t.Fatalf("a bypass with no device: %s", where)
	}
	o.post("/rooms/r1/bypass", url.Values{"csrf": {o.csrf("/rooms/r1")}, "device": {"w1"}, "reason": {"latch broken, repair booked"}})
	call, args := c.lastArgs()
	if call != "r1 bypass" || args["reason"] != "latch broken, repair booked" || len(args["devices"].([]string)) != 1 || args["by"] != "officer1" {
		t.Fatalf("bypass: %s %v", call, args)
	}
	// the audit log reads newest first
	if a := c.audited("room.bypass"); len(a) != 3 || a[0].Detail != "w1: latch broken, repair booked" {
		t.Fatalf("bypass audit %+v", a)
	}
	o.post("/rooms/r1/disarm", url.Values{"csrf": {o.csrf("/rooms/r1")}})
	if call, _ = c.lastArgs(); call != "r1 disarm" {
		t.Fatalf("disarm: %s", call)
	}
}

func TestSelfInspectionReport(t *testing.T) {
	c := newConsole(t, "auditor1:auditor")
	ev := c.events()
	ev.add("r1", 10, "access.denied", "rd1", "", map[string]any{"card": "****6CEE", "reason": "unknown-card", "reader": "rd1"})
	ev.add("r1", 20, "access.denied", "rd1", "p-li", map[string]any{"card": "****6CEF", "reason": "outside-schedule", "person_name": "李明"})
	ev.add("r1", 30, "access.granted", "rd1", "p-zhang", map[string]any{"card": "****6CED", "person_name": "张伟"})
	ev.add("r1", 100, "alarm.raised", "d1", "", map[string]any{"alarm": "r1-1", "class": "door-forced", "priority": 1})
	ev.add("r1", 190, "alarm.acknowledged", "d1", "guard1", map[string]any{"alarm": "r1-1", "comment": "巡查无异常"})
	ev.add("r1", 200, "alarm.raised", "w1", "", map[string]any{"alarm": "r1-2", "class": "window-open", "priority": 2})
	ev.add("r1", 300, "mode.sealed", "", "a", map[string]any{"by": []string{"a", "b"}, "seal_id": "r1-seal-1"})
	head := strings.Repeat("ab", 32)
	ev.add("r1", 400, "log.checkpoint", "", "", map[string]any{"through": 9, "head": head, "sig": "x"})
	ev.add("r1", 86400*2, "access.denied", "rd1", "", map[string]any{"card": "****0001", "reason": "unknown-card"})
	a := c.as("auditor1")
	if _, body := a.get("/inspection"); !strings.Contains(body, `id="inspection-form"`) || strings.Contains(body, `id="inspection"`) {
		t.Fatalf("the form:\n%s", body)
	}
	code, body := a.get("/inspection?room=r1&from=2026-11-22&until=2026-11-22")
	if code != 200 {
		t.Fatalf("report: %d\n%s", code, body)
	}
	for _, want := range []string{`data-result="denied">2<`, `data-result="granted">1<`, "outside-schedule", "李明", "1分30秒", "巡查无异常",
		"未确认", "r1-seal-1", "仍在封门", `id="report"`, "2026-11-22 – 2026-11-22",
		// the paper can be checked against the room's log (issue 18)
		`id="in-chain"`, "序号 9", `<code class="head">` + head + `</code>`, "log verify --checkpoint HEAD", "机房未提供密钥"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the report lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "****0001") {
		t.Fatal("a denial after the period is in the report")
	}
	// the audit log reads newest first
	if a := c.audited("report.inspection"); len(a) != 1 || a[0].User != "auditor1" || a[0].Result != "ok" {
		t.Fatalf("audit %+v", a)
	}
	for _, bad := range []string{"from=2026-11-22&until=2026-11-21", "from=yesterday&until=2026-11-22", "from=2020-01-01&until=2026-11-22"} {
		if code, body := a.get("/inspection?" + bad); code != http.StatusBadRequest || !strings.Contains(body, `id="error"`) {
			t.Fatalf("%s: %d\n%s", bad, code, body)
		}
	}
}

// Issue 19, item 8: the entry log's CSV neutralises every cell that a
// spreadsheet would run as a formula, not just the name.
func TestEntryCSVHasNoFormulas(t *testing.T) {
	c := newConsole(t, "auditor1:auditor")
	ev := c.events()
	ev.add("r1", 10, "access.denied", "=HYPERLINK(\"http://evil\")", "=2*3", map[string]any{"card": "+6CEE",
		"reason": "unknown_card", "reader": "=HYPERLINK(\"http://evil\")", "person_name": "@SUM(A1)", "direction": "-in"})
	code, body := c.as("auditor1").get("/entries.csv")
	if code != 200 {
		t.Fatalf("csv: %d\n%s", code, body)
	}
	for _, line := range strings.Split(body, "\n")[1:] {
		for _, cell := range strings.Split(line, ",") {
			cell = strings.TrimPrefix(cell, `"`)
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell that is a formula: %q in\n%s", cell, body)
			}
		}
	}
	if !strings.Contains(body, "'=2*3") {
		t.Fatalf("the person is not in the CSV:\n%s", body)
	}
}

// Issue 17, item 5: a sign-out that names an approver is pending until the
// approver confirms it from their own session: the page shows it pending
// with an approve button, which sends carrier/approve with this session;
// the sign-out itself carried the session it was made in.
func TestCarrierApproval(t *testing.T) {
	c := newConsole(t, "officer1:officer", "officer2:officer")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	o := c.as("officer1")
	o.post("/carriers/signout", url.Values{"csrf": {o.csrf("/carriers")}, "room": {"r1"}, "carrier": {"JM-2026-0004"}, "borrower": {"p-zhang"},
		"purpose": {"送审"}, "may_leave": {"on"}, "approver": {"p-li"}})
	_, signout := c.lastArgs()
	ev := c.events()
	ev.add("r1", 0, "carrier.signed_out", "JM-2026-0004", "p-zhang", map[string]any{"carrier": "JM-2026-0004", "title": "会议纪要",
		"sign_out": "so-4", "borrower": "p-zhang", "purpose": "送审", "may_leave": true, "approver": "p-li", "approved": false,
		"due": t0.Add(4 * time.Hour).Format(time.RFC3339)})
	a := c.as("officer2")
	if _, body := a.get("/carriers"); !strings.Contains(body, `id="pending-JM-2026-0004"`) || !strings.Contains(body, `id="approve-JM-2026-0004"`) {
		t.Fatalf("the pending approval is not shown:\n%s", body)
	}
	a.post("/carriers/approve", url.Values{"csrf": {a.csrf("/carriers")}, "room": {"r1"}, "carrier": {"JM-2026-0004"}})
	call, args := c.lastArgs()
	if call != "r1 carrier/approve" || args["carrier"] != "JM-2026-0004" || args["session"] == "" || args["session"] == signout["session"] || signout["session"] == nil {
		t.Fatalf("approve: %s %v (the sign-out's %v)", call, args, signout)
	}
	ev.add("r1", 1, "carrier.approved", "JM-2026-0004", "p-zhang", map[string]any{"carrier": "JM-2026-0004", "sign_out": "so-4", "approver": "p-li"})
	if _, body := a.get("/carriers"); strings.Contains(body, `id="pending-JM-2026-0004"`) {
		t.Fatal("still pending after carrier.approved")
	}
	// A top-secret sign-out asked for waits for its second person, who
	// confirms with the same button; it is forgotten once it is a loan.
	ev.add("r1", 2, "carrier.signout_asked", "JM-2026-0002", "p-zhang", map[string]any{"carrier": "JM-2026-0002", "title": "密码电报",
		"borrower": "p-zhang", "second": "p-zhao", "purpose": "译电", "by": "p-zhang", "window_s": 300})
	if _, body := a.get("/carriers"); !strings.Contains(body, `id="approve-JM-2026-0002"`) {
		t.Fatalf("the asked top-secret sign-out is not shown:\n%s", body)
	}
	ev.add("r1", 3, "carrier.signed_out", "JM-2026-0002", "p-zhang", map[string]any{"carrier": "JM-2026-0002", "title": "密码电报",
		"sign_out": "so-5", "borrower": "p-zhang", "second": "p-zhao", "purpose": "译电", "due": t0.Add(4 * time.Hour).Format(time.RFC3339)})
	if _, body := a.get("/carriers"); strings.Contains(body, `id="approve-JM-2026-0002"`) || !strings.Contains(body, `id="loan-JM-2026-0002"`) {
		t.Fatalf("the loan after the second's confirmation:\n%s", body)
	}
}

// TestRoomKeyAndForgeries (issue 18): the room page says whether the room's
// word is verified; an admin, and only an admin, confirms the key the room
// offers; the quarantine is listed; the console's own room-forgery alarm is
// acknowledged at the console, recorded with who and why.
func TestRoomKeyAndForgeries(t *testing.T) {
	c := newConsole(t, "admin1:admin", "officer1:officer")
	key := "GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE="
	c.retain("r1", "status", "", map[string]any{"state": "online", "key": key})
	c.events().add("r1", 1, "door.opened", "door-main", "", nil)
	if err := c.store.SeeKey("r1", key); err != nil {
		t.Fatal(err)
	}
	o, a := c.as("officer1"), c.as("admin1")
	if _, body := o.get("/rooms/r1"); !strings.Contains(body, `id="chain-unpinned"`) || strings.Contains(body, `id="pin-key"`) {
		t.Fatalf("an officer's room page: unpinned shown, no pin button:\n%s", body)
	}
	if code, _ := o.post("/rooms/r1/key", url.Values{"csrf": {o.csrf("/rooms/r1")}, "key": {key}}); code != http.StatusForbidden {
		t.Fatalf("an officer pinned a key: %d", code)
	}
	_, body := a.get("/rooms/r1")
	pub, _ := gateway.ParsePublicKey(key)
	if !strings.Contains(body, `id="pin-key"`) || !strings.Contains(body, `<code id="key-seen">`+gateway.KeyFingerprint(pub)) {
		t.Fatalf("the admin is not offered the key's fingerprint:\n%s", body)
	}
	if code, _ := a.post("/rooms/r1/key", url.Values{"csrf": {a.csrf("/rooms/r1")}, "key": {"not-a-key"}}); code != http.StatusSeeOther {
		t.Fatalf("a bad key: %d", code)
	}
	if keys, _ := c.store.RoomKeys(); keys[0].Pinned != "" {
		t.Fatal("a malformed key was pinned")
	}
	a.post("/rooms/r1/key", url.Values{"csrf": {a.csrf("/rooms/r1")}, "key": {key}})
	if keys, _ := c.store.RoomKeys(); keys[0].Pinned != key || keys[0].PinnedBy != "admin1" {
		t.Fatalf("pinned: %+v", keys)
	}
	if au := c.audited("room.key.pin"); len(au) != 2 || au[0].Result != "ok" {
		t.Fatalf("audit of the pin: %+v", au)
	}
	if err := c.store.Vouched("r1", 1, t0); err != nil {
		t.Fatal(err)
	}
	forged := []dashboard.Forgery{{Seq: 2, Reason: "not the event the room's signed chain has at this seq", Payload: []byte(`{}`)}}
	if err := c.store.Quarantine("r1", "events", forged); err != nil {
		t.Fatal(err)
	}
	alarm, _ := dashboard.RaiseForgery("r1", nil, "events seq 2: not the room's", t0)
	c.retain("r1", "alarms", dashboard.ForgeryAlarm, json.RawMessage(alarm))
	_, body = o.get("/rooms/r1")
	for _, want := range []string{`id="key-pinned"`, "序号 1", `id="quarantine"`, "not the event the room&#39;s signed chain"} {
		if !strings.Contains(body, want) {
			t.Fatalf("room page lacks %q:\n%s", want, body)
		}
	}
	if _, body = o.get("/alarms"); !strings.Contains(body, "room-forgery") {
		t.Fatalf("the alarm console lacks the forgery alarm:\n%s", body)
	}
	code, where := o.post("/alarms/ack", url.Values{"csrf": {o.csrf("/alarms")}, "room": {"r1"}, "alarm": {dashboard.ForgeryAlarm}, "comment": {"checked the broker's accounts"}})
	if code != http.StatusSeeOther || strings.Contains(where, "error") || c.rooms.count() != 0 {
		t.Fatalf("ack of the console's alarm: %d %s, %d commands sent", code, where, c.rooms.count())
	}
	if p, _ := c.store.RetainedPayload("r1", "alarms", dashboard.ForgeryAlarm); p != nil {
		t.Fatal("the acknowledged forgery alarm is still open")
	}
	if au := c.audited("alarm.ack"); len(au) != 1 || au[0].Detail != "checked the broker's accounts" || au[0].User != "officer1" {
		t.Fatalf("audit of the ack: %+v", au)
	}
}

// Issue 20: the alarm console shows, on each alarm, who the room's
// call-down reached, how and when, and who it could not.
func TestAlarmShowsItsDeliveries(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	c.retain("r1", "alarms", "r1-7", map[string]any{"room": "r1", "id": "r1-7", "class": "intrusion", "priority": 1, "state": "active",
		"device": "ir-safes", "raised_at": t0.Add(10 * time.Second).Format(time.RFC3339Nano)})
	ev := c.events()
	ev.add("r1", 11, "notify.sent", "ir-safes", "", map[string]any{"alarm": "r1-7", "person": "guard", "name": "值班保安", "channel": "sms", "step": 1, "attempts": 1})
	ev.add("r1", 12, "notify.failed", "ir-safes", "", map[string]any{"alarm": "r1-7", "person": "officer", "name": "保密员", "channel": "call",
		"step": 1, "attempts": 4, "error": "modem: ATD13900000002;: NO CARRIER"})
	ev.add("r1", 13, "notify.sent", "ir-safes", "", map[string]any{"alarm": "r1-8", "person": "leader", "name": "分管领导", "channel": "sms"})
	_, body := c.as("guard1").get("/alarms")
	for _, want := range []string{"值班保安 · 短信 · 已通知", "保密员 · 电话 · 通知失败 (modem: ATD13900000002;: NO CARRIER)"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the alarm lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "分管领导") {
		t.Fatal("another alarm's delivery is shown on this one")
	}
}

// Issue 20: the live stream lives no longer than its session: logged out,
// the stream says reload and ends (it once went on delivering every event
// to a page whose session had ended).
func TestLiveStreamEndsWithItsSession(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.srv.LiveBeat = 50 * time.Millisecond
	b := c.as("guard1")
	res, err := b.client.Get(c.url + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("live: %d", res.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	// Logged out from another tab: the session is gone.
	if code, _ := b.post("/logout", url.Values{"csrf": {b.csrf("/")}}); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	var got strings.Builder
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, open := <-lines:
			got.WriteString(l)
			if !open {
				if !strings.Contains(got.String(), "event: reload") {
					t.Fatalf("the stream ended without a reload: %q", got.String())
				}
				return
			}
		case <-timeout:
			t.Fatalf("the stream went on after the logout: %q", got.String())
		}
	}
}

// A state that changes after a page read it and before the page's live
// stream starts is not lost: the stream starts with a refresh. Without a
// change, it does not.
func TestLiveStreamCatchesStateBetweenRenderAndStart(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.srv.LiveBeat = 50 * time.Millisecond // a read after the start returns at the next beat
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	b := c.as("guard1")
	first := func(path string) string {
		t.Helper()
		res, err := b.client.Get(c.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		buf := make([]byte, 512)
		var got strings.Builder
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) && !strings.Contains(got.String(), "retry:") {
			n, _ := res.Body.Read(buf)
			got.Write(buf[:n])
		}
		time.Sleep(50 * time.Millisecond) // what follows the retry line, if anything
		n, _ := res.Body.Read(buf)
		got.Write(buf[:n])
		return got.String()
	}
	_, page := b.get("/rooms/r1")
	m := regexp.MustCompile(`data-last-n="(\d+)" data-state-v="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page carries no state version:\n%.400s", page)
	}
	c.retain("r1", "mode", "", map[string]any{"mode": "armed"}) // lands before the stream starts
	if got := first("/live?after=" + m[1] + "&state=" + m[2]); !strings.Contains(got, "event: state") {
		t.Fatalf("the stream does not start with a refresh: %q", got)
	}
	_, page = b.get("/rooms/r1")
	m = regexp.MustCompile(`data-last-n="(\d+)" data-state-v="(\d+)"`).FindStringSubmatch(page)
	if got := first("/live?after=" + m[1] + "&state=" + m[2]); strings.Contains(got, "event: state") {
		t.Fatalf("a refresh with nothing changed: %q", got)
	}
}

// Issue 20: a room whose clock is not synchronised is shown so (its times
// may be wrong), on the overview and its page.
func TestUntrustedClockIsShown(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online"})
	c.retain("r2", "status", "", map[string]any{"state": "online"})
	e := gateway.Event{Seq: 1, ID: "e1", Room: "r1", Type: "door.opened", Severity: gateway.SeverityInfo, TS: t0, ClockTrusted: false}
	b, _ := json.Marshal(e)
	c.added("r1")
	if _, err := c.store.Ingest([]sqlite.Message{{Room: "r1", Payload: b}}); err != nil {
		t.Fatal(err)
	}
	c.events().add("r2", 1, "door.opened", "d1", "", nil) // trusted
	g := c.as("guard1")
	_, body := g.get("/")
	if strings.Count(body, "clock-untrusted") != 1 || !strings.Contains(body, "时钟未同步") {
		t.Fatalf("the overview: %d untrusted rooms shown", strings.Count(body, "clock-untrusted"))
	}
	if _, body = g.get("/rooms/r1"); !strings.Contains(body, "clock-untrusted") {
		t.Fatal("the room page does not say its clock is untrusted")
	}
}

// Issue 27, finding 8: the console shows only the rooms an admin added; a
// room whose key is not confirmed says so on the overview, the alarm page
// and the duty screen, not only on its own page; an admin adds a room
// (with its key's fingerprint), a guard may not.
func TestOnlyRoomsAddedAreShownAndUnconfirmedSaysSo(t *testing.T) {
	c := newConsole(t, "admin1:admin", "guard1:guard")
	c.retain("jiyao-301", "status", "", map[string]any{"state": "online", "room": "jiyao-301"})
	c.retain("jiyao-301", "alarms", "jiyao-301-1", map[string]any{"room": "jiyao-301", "id": "jiyao-301-1", "class": "intrusion", "priority": 2,
		"state": "active", "count": 1, "raised_at": t0})
	// Held for a room nobody added (before this console filtered, say).
	if _, err := c.store.SetRetained(dashboard.Retained{Room: "jiyao-999", Kind: "status", Payload: []byte(`{"state":"online"}`), Updated: t0}); err != nil {
		t.Fatal(err)
	}
	g := c.as("guard1")
	for _, path := range []string{"/", "/alarms", "/duty"} {
		_, body := g.get(path)
		if !strings.Contains(body, "key-unconfirmed") || !strings.Contains(body, "密钥未确认") {
			t.Errorf("%s does not say jiyao-301's key is not confirmed", path)
		}
		if strings.Contains(body, "jiyao-999") {
			t.Errorf("%s shows a room nobody added", path)
		}
	}
	if _, body := g.get("/"); strings.Contains(body, "room-add-form") {
		t.Fatal("a guard is offered to add rooms")
	}
	if code, _ := g.post("/rooms", url.Values{"csrf": {g.csrf("/")}, "room": {"jiyao-305"}}); code != http.StatusForbidden {
		t.Fatalf("a guard adds a room: %d", code)
	}
	a := c.as("admin1")
	if code, where := a.post("/rooms", url.Values{"csrf": {a.csrf("/")}, "room": {"jiyao-305"}, "fingerprint": {"not one"}}); code != http.StatusSeeOther || !strings.Contains(where, "error=") {
		t.Fatalf("a bad fingerprint: %d %s", code, where)
	}
	if code, where := a.post("/rooms", url.Values{"csrf": {a.csrf("/")}, "room": {"jiyao-305"}, "fingerprint": {"0123 4567 89AB CDEF"}}); code != http.StatusSeeOther || strings.Contains(where, "error=") {
		t.Fatalf("an admin adds a room: %d %s", code, where)
	}
	if fp, ok := c.store.Watched("jiyao-305"); !ok || fp != "0123 4567 89ab cdef" {
		t.Fatalf("the room added: %q %v", fp, ok)
	}
	if _, body := g.get("/"); !strings.Contains(body, `id="room-jiyao-305"`) || !strings.Contains(body, "从未上线") {
		t.Fatal("an added room never heard is not on the overview")
	}
	if e := c.audited("room.add"); len(e) != 2 || e[1].User != "admin1" {
		t.Fatalf("audit: %+v", e)
	}
}

// Issue 28, item 5: a room that has no call-down says so on its page; one
// that publishes its list does not.
func TestRoomWithoutCalldownSaysSo(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1"})
	c.retain("r2", "status", "", map[string]any{"state": "online", "room": "r2"})
	c.retain("r2", "calldown", "", map[string]any{"room": "r2", "version": 0, "source": "config"})
	g := c.as("guard1")
	if _, body := g.get("/rooms/r1"); !strings.Contains(body, `id="no-calldown"`) || !strings.Contains(body, "未设置通知名单") {
		t.Fatal("a room without a call-down does not say so")
	}
	if _, body := g.get("/rooms/r2"); strings.Contains(body, `id="no-calldown"`) {
		t.Fatal("a room with a call-down is said to have none")
	}
}

// Issue 28, item 8: the audit log in the guard's words: actions and results
// in Chinese (the code in a tooltip), rooms by name.
func TestAuditLogInWords(t *testing.T) {
	c := newConsole(t, "admin1:admin")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室"})
	a := c.as("admin1")
	a.post("/rooms", url.Values{"csrf": {a.csrf("/")}, "room": {"r2"}})
	_, body := a.get("/audit")
	for _, want := range []string{"登录", "添加机房", "成功", `title="login"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
	for _, machine := range []string{">login<", ">room.add<", ">ok<"} {
		if strings.Contains(body, machine) {
			t.Errorf("the audit page shows the machine word %s", machine)
		}
	}
}

// Issue 28, item 7: an account not bound to a register person, whose login
// a command carried as by, is shown by its full name, not its login.
func TestAnUnboundAccountIsShownByName(t *testing.T) {
	c := newConsole(t, "admin1:admin")
	if _, err := c.store.UpdateUser("admin1", func(u *dashboard.User) error { u.Display = "王管理"; return nil }); err != nil {
		t.Fatal(err)
	}
	c.events().add("r1", 1, "mode.armed", "", "admin1", map[string]any{"by": []string{"admin1"}})
	a := c.as("admin1")
	_, body := a.get("/rooms/r1")
	timeline := body[strings.Index(body, `id="timeline"`):]
	if !strings.Contains(timeline, "王管理") {
		t.Fatal("the account's login is shown on the timeline where its full name belongs")
	}
}

// Issue 28, item 7: with no register kept at the console (imported on the
// Pi), /carriers names each carrier and its class from what the room
// publishes with its state.
func TestCarriersNamedFromTheRoom(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "carrier", "JM-2026-0004", map[string]any{"room": "r1", "id": "JM-2026-0004", "status": "home", "title": "会议纪要",
		"class": "secret", "kind": "document", "home": "safe-a", "custodian": "p-zhang", "location": "safe-a"})
	_, body := c.as("guard1").get("/carriers")
	row := body[strings.Index(body, `id="carrier-JM-2026-0004"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "会议纪要") || !strings.Contains(row, "机密") {
		t.Fatalf("the carrier's row: %s", row)
	}
}

// Issue 28, item 7: a room that holds a register imported on its gateway
// is not "not in sync" on /registers when the console keeps no copy.
func TestRegistersHeldByTheRoom(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.events().add("r1", 1, "gateway.started", "", "", map[string]any{"version": "test"})
	c.retain("r1", "personnel", "", map[string]any{"room": "r1", "version": 3, "count": 12, "sha256": "ab"})
	_, body := c.as("guard1").get("/registers")
	row := body[strings.Index(body, `id="held-personnel-r1"`):]
	row = row[:strings.Index(row, "</tr>")]
	if strings.Contains(row, "未同步") || !strings.Contains(row, "机房自管") {
		t.Fatalf("the room's register row: %s", row)
	}
}

// Issue 28, item 7: a sign-out on the timeline names the carrier's title
// and its borrower, not only who gave the command.
func TestSignOutSaysTitleAndBorrower(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.events().add("r1", 1, "carrier.signed_out", "JM-2026-0004", "p-li", map[string]any{"carrier": "JM-2026-0004", "title": "会议纪要",
		"class": "secret", "sign_out": "so-1", "borrower": "p-li", "borrower_name": "李娜", "purpose": "传阅", "due": "2026-11-22T18:00:00.000+08:00", "by": "p-zhang"})
	_, body := c.as("guard1").get("/rooms/r1")
	timeline := body[strings.Index(body, `id="timeline"`):]
	if !strings.Contains(timeline, "会议纪要") || !strings.Contains(timeline, "李娜") {
		t.Fatalf("the sign-out on the timeline: %s", timeline[:min(len(timeline), 600)])
	}
}

// Issue 28, item 8: a room's refusal is said in the reader's words: the
// command, the code and each reason with its device, not "arm refused
// (conflict): …".
func TestRefusalInWords(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "names": map[string]string{"window-1": "东窗"}})
	c.rooms.reply = func(room, name string, args map[string]any) (map[string]any, error) {
		r := wire.Reply{ID: "x", Cmd: name, Status: "error", Error: &wire.ReplyError{Code: gateway.ECONFLICT, Message: "arm refused: window-1 is open",
			Reasons: []gateway.Reason{{Code: "open", Device: "window-1", Detail: "window window-1 is open"}}}}
		err := r.Err()
		err.(*wire.Refusal).Room = room // as the console's link says it
		return nil, err
	}
	o := c.as("officer1")
	_, where := o.post("/rooms/r1/arm", url.Values{"csrf": {o.csrf("/rooms/r1")}})
	u, _ := url.Parse(where)
	if msg := u.Query().Get("error"); !strings.Contains(msg, "布防被拒绝（条件不满足）：门窗未关 东窗") {
		t.Fatalf("the refusal said as %q", msg)
	}
}

// Issue 28, item 7: a reader, which has no device state, is named as its
// room's status names it (门内读卡器, not reader-inside).
func TestReaderNamedFromTheStatus(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "names": map[string]string{"reader-inside": "门内读卡器"}})
	c.retain("r1", "alarms", "r1-1", map[string]any{"room": "r1", "id": "r1-1", "class": "device-fault", "priority": 4, "state": "active",
		"device": "reader-inside", "count": 1, "raised_at": t0})
	_, body := c.as("guard1").get("/alarms")
	row := body[strings.Index(body, `id="alarm-r1-1"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "门内读卡器") {
		t.Fatalf("the reader's alarm: %s", row)
	}
}

// Issue 28, item 7: with no register at the console, a person a command
// named is shown by the name the rooms gave with them at a door.
func TestPersonNamedFromTheDoor(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	p := c.events()
	p.add("r1", 1, "access.granted", "reader-out", "p-zhang", map[string]any{"reader": "reader-out", "direction": "in",
		"person_id": "p-zhang", "person_name": "张伟", "card": "******6CED", "door": "door-main"})
	p.add("r1", 2, "arming.refused", "", "p-zhang", map[string]any{"by": "p-zhang", "reasons": []map[string]any{{"code": "open", "device": "window-1", "detail": "window window-1 is open"}}})
	_, body := c.as("guard1").get("/rooms/r1")
	timeline := body[strings.Index(body, `id="timeline"`):]
	if strings.Contains(timeline, ">p-zhang") || strings.Count(timeline, "张伟") < 2 {
		t.Fatalf("the refusal on the timeline names the person by id: %s", timeline[:min(1200, len(timeline))])
	}
}

// Issue 28, item 8: a seal's number is its time in the console's zone
// (17:12 for a seal the room numbered 091240 in UTC), the id in a tooltip.
func TestSealNumberInLocalTime(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	c.retain("r1", "seal-reports", "r1-seal-20261207T091240.389", gateway.SealReport{SealID: "r1-seal-20261207T091240.389", Room: "r1",
		SealedBy: []string{"officer1", "officer2"}, Verdict: "intact"})
	_, body := c.as("guard1").get("/seals")
	if !strings.Contains(body, "2026-12-07 17:12:40") || !strings.Contains(body, `title="r1-seal-20261207T091240.389"`) {
		t.Fatal("the seal's number is not its local time")
	}
}

// Issue 28, item 10: the visitor and carrier forms offer the people by name
// (a list the browser shows as the person's name, sending the id), from the
// names the rooms gave at their doors when the console has no register.
func TestFormsOfferPeopleByName(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	c.events().add("r1", 1, "access.granted", "reader-out", "p-zhang", map[string]any{"reader": "reader-out", "direction": "in",
		"person_id": "p-zhang", "person_name": "张伟", "card": "******6CED", "door": "door-main"})
	o := c.as("officer1")
	for _, path := range []string{"/visitors", "/carriers"} {
		_, body := o.get(path)
		if !strings.Contains(body, `<option value="p-zhang" label="张伟">`) || !strings.Contains(body, `list="people"`) {
			t.Errorf("%s does not offer 张伟 by name", path)
		}
	}
}

// Issue 28, item 10: /calldown says, for a room with no call-down, why it
// has none and where to start one, instead of only 无.
func TestCalldownPageSaysWhereToStart(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1"})
	_, body := c.as("officer1").get("/calldown")
	if !strings.Contains(body, `id="calldown-none-r1"`) || !strings.Contains(body, "notify:") {
		t.Fatal("a room without a call-down is not said on /calldown")
	}
}

// Issue 30, items 7 and 8 (part): a copy of a document received shows its
// 文号, copy number and secrecy period; one whose period is over is listed
// for review (解密/延期), and nothing changes on its own.
func TestCarrierPeriodReview(t *testing.T) {
	c := newConsole(t, "guard1:guard")
	copyOf := func(id, period string) map[string]any {
		return map[string]any{"room": "r1", "id": id, "status": "home", "title": "关于年终检查的通知", "class": "secret", "kind": "document",
			"home": "safe-a", "custodian": "p-zhang", "document": "JM-2025-0007", "copy": 1, "copies": 3, "source": "市委办公室",
			"doc_number": "市委办〔2025〕7号", "period": period, "need_to_know": []string{"p-li"}}
	}
	c.retain("r1", "carrier", "JM-2025-0007-01", copyOf("JM-2025-0007-01", "2026-01-31"))
	c.retain("r1", "carrier", "JM-2025-0008-01", copyOf("JM-2025-0008-01", "2031-12-31"))
	c.retain("r1", "carrier", "JM-2025-0009-01", copyOf("JM-2025-0009-01", "长期"))
	_, body := c.as("guard1").get("/carriers")
	if !strings.Contains(body, `id="review-JM-2025-0007-01"`) || strings.Contains(body, `id="review-JM-2025-0008-01"`) ||
		strings.Contains(body, `id="review-JM-2025-0009-01"`) || !strings.Contains(body, "保密期限已到") {
		t.Fatalf("the review list:\n%s", body)
	}
	row := body[strings.Index(body, `id="carrier-JM-2025-0008-01"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "市委办〔2025〕7号") || !strings.Contains(row, "1/3") || !strings.Contains(row, "2031-12-31") {
		t.Fatalf("a copy's row: %s", row)
	}
}

// Issue 30, step 8: the carriers page lists the steps waiting for people,
// with a confirm button for the one the step waits for only; the confirm
// form sends carrier/confirm with the step and the session; the filter
// shows the carriers of one status; a carrier's page tells its whole life
// in sentences with names, and a destruction list gathers what was
// destroyed under it. Every form sends what its command's schema takes.
func TestCarrierLifeOnTheConsole(t *testing.T) {
	c := newConsole(t, "officer1:officer", "guard1:guard")
	if err := c.store.SaveRegister(dashboard.Register{Kind: "personnel", Version: 1, Count: 3, Updated: t0, UpdatedBy: "officer1",
		CSV: "id,name,cards,level,role,rooms\np-zhang,张伟,1234567890,core,clerk,*\nguard1,王芳,1234567891,core,guard,*\np-qian,钱领,1234567892,core,leader,*\n"}); err != nil {
		t.Fatal(err)
	}
	pending := map[string]any{"step": "st-1", "op": "carrier/destroy", "by": "p-zhang", "at": "2026-11-22T10:00:00.000+08:00", "waiting_for": []string{"p-qian", "guard1"}}
	c.retain("r1", "carrier", "JM-2026-0001-02", map[string]any{"room": "r1", "id": "JM-2026-0001-02", "status": "home", "title": "干部任免通知", "class": "secret",
		"kind": "document", "home": "safe-a", "custodian": "p-zhang", "pending": pending, "need_to_know": []string{"guard1", "clerk"}})
	c.retain("r1", "carrier", "JM-2026-0001-01", map[string]any{"room": "r1", "id": "JM-2026-0001-01", "status": "destroyed", "title": "干部任免通知", "class": "secret",
		"kind": "document", "home": "safe-a", "custodian": "p-zhang", "ended": map[string]any{"at": "2026-11-21T10:00:00.000+08:00", "by": "p-zhang", "ref": "XH-20261121-100000"}})
	c.retain("r1", "carrier", "JM-2026-0001-03", map[string]any{"room": "r1", "id": "JM-2026-0001-03", "status": "circulating", "title": "干部任免通知", "class": "secret",
		"kind": "document", "home": "safe-a", "custodian": "p-zhang", "need_to_know": []string{"guard1", "clerk"},
		"sign_out": map[string]any{"id": "so-1", "borrower": "guard1", "due": "2026-11-23T10:00:00.000+08:00", "may_leave": true, "kind": "circulation"}})
	ev := c.events()
	ev.add("r1", 1, "carrier.received", "JM-2026-0001-01", "p-zhang", map[string]any{"document": "JM-2026-0001", "title": "干部任免通知", "by": "p-zhang", "copies": []string{"JM-2026-0001-01", "JM-2026-0001-02"}})
	ev.add("r1", 2, "carrier.step_asked", "JM-2026-0001-01", "p-zhang", map[string]any{"step": "st-0", "op": "carrier/destroy", "carriers": []string{"JM-2026-0001-01"},
		"by": "p-zhang", "waiting_for": []string{"p-qian", "guard1"}})
	ev.add("r1", 3, "carrier.destroyed", "JM-2026-0001-01", "", map[string]any{"carrier": "JM-2026-0001-01", "title": "干部任免通知", "class": "secret",
		"kind": "document", "home": "safe-a", "by": "p-zhang", "was": "home", "doc_number": "9号", "list": "XH-20261121-100000", "method": "shredder",
		"approver": "p-qian", "witnesses": []string{"guard1", "p-zhang"}})

	g := c.as("guard1")
	_, body := g.get("/carriers")
	if !strings.Contains(body, `id="step-st-1"`) || !strings.Contains(body, `id="confirm-st-1"`) || !strings.Contains(body, "钱领") {
		t.Fatalf("the guard the step waits for sees no confirm button:\n%s", body)
	}
	_, where := g.post("/carriers/confirm", url.Values{"csrf": {g.csrf("/carriers")}, "room": {"r1"}, "step": {"st-1"}})
	if strings.Contains(where, "error=") || len(c.rooms.calls) == 0 || c.rooms.calls[len(c.rooms.calls)-1] != "r1 carrier/confirm" {
		t.Fatalf("confirm: %s %v", where, c.rooms.calls)
	}
	if a := c.rooms.args[len(c.rooms.args)-1]; a["step"] != "st-1" || a["by"] != "guard1" || a["session"] == "" {
		t.Fatalf("confirm sent %v", a)
	}
	o := c.as("officer1")
	_, body = o.get("/carriers")
	if strings.Contains(body, `id="confirm-st-1"`) {
		t.Fatal("a confirm button for one the step does not wait for")
	}
	// A copy out (its retained sign_out an object) is listed, with its
	// status; a role in its need-to-know list is said in words.
	if row := body[strings.Index(body, `id="carriers"`):]; !strings.Contains(row, `id="carrier-JM-2026-0001-03"`) || !strings.Contains(row, "传阅中") {
		t.Fatalf("a copy circulating is not listed: %s", row[:min(len(row), 2500)])
	}
	if form := body[strings.Index(body, `id="circulate-form"`):]; strings.Contains(form[:strings.Index(form, "</form>")], "clerk") {
		t.Fatal("the circulate form shows a role as its machine word")
	}
	_, body = o.get("/carriers?status=destroyed")
	table := body[strings.Index(body, `id="carriers"`):]
	if !strings.Contains(table, "JM-2026-0001-01") || strings.Contains(table, `id="carrier-JM-2026-0001-02"`) || !strings.Contains(table, `href="/carriers/destruction/r1/XH-20261121-100000"`) {
		t.Fatalf("the destroyed filter: %s", table[:min(len(table), 1500)])
	}
	_, body = o.get("/carriers/r1/JM-2026-0001-01")
	hist := body[strings.Index(body, `id="carrier-history"`):]
	for _, want := range []string{"收文登记", "销毁", "碎纸机粉碎", "钱领", "王芳", "XH-20261121-100000"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the carrier's history does not say %q: %s", want, hist[:min(len(hist), 2000)])
		}
	}
	if !strings.Contains(body, `id="carrier-status">已销毁`) {
		t.Error("the carrier's page does not say it is destroyed")
	}
	code, body := o.get("/carriers/destruction/r1/XH-20261121-100000")
	if code != 200 || !strings.Contains(body, "销毁清单") || !strings.Contains(body, "9号") || !strings.Contains(body, "张伟") {
		t.Fatalf("the destruction list: %d", code)
	}
	if code, _ := o.get("/carriers/destruction/r1/XH-none"); code != 404 {
		t.Fatalf("an unknown list: %d", code)
	}

	// The forms: each sends what its command's schema takes (the fake
	// rooms check it).
	for _, f := range []struct {
		path string
		form url.Values
		cmd  string
	}{
		{"/carriers/receive", url.Values{"source": {"市委办公室"}, "doc_number": {"13号"}, "title": {"通知"}, "class": {"机密"}, "period": {"长期"}, "kind": {"文件"},
			"home": {"safe-a"}, "custodian": {"p-zhang"}, "need_to_know": {"p-zhang、guard1"}, "epcs": {"300833B2DDD9014000000101, 300833B2DDD9014000000102"}}, "carrier/receive"},
		{"/carriers/receive", url.Values{"source": {"市委办公室"}, "doc_number": {"14号"}, "title": {"通知"}, "class": {"秘密"}, "period": {"2030-01-01"}, "kind": {"文件"},
			"home": {"safe-a"}, "custodian": {"p-zhang"}, "need_to_know": {"clerk"}, "bind_at": {"uhf-desk"}, "copies": {"3"}}, "carrier/receive"},
		{"/carriers/circulate", url.Values{"carrier": {"JM-2026-0001-02"}, "reader": {"guard1"}, "in_room": {"on"}}, "carrier/circulate"},
		{"/carriers/end", url.Values{"op": {"destroy"}, "carriers": {"JM-2026-0001-02"}, "method": {"shredder"}, "approver": {"p-qian"}, "witness1": {"guard1"}, "witness2": {"p-zhang"}}, "carrier/destroy"},
		{"/carriers/end", url.Values{"op": {"archive"}, "carriers": {"JM-2026-0001-02"}, "to": {"市档案馆"}, "ref": {"2026-永久-1"}}, "carrier/archive"},
		{"/carriers/end", url.Values{"op": {"return-to-issuer"}, "carriers": {"JM-2026-0001-02"}}, "carrier/return-to-issuer"},
		{"/carriers/copy", url.Values{"carrier": {"JM-2026-0001-02"}, "epcs": {"300833B2DDD9014000000103"}, "purpose": {"分送"}, "approver": {"p-qian"}}, "carrier/copy"},
		{"/carriers/transfer", url.Values{"outgoing": {"p-zhang"}, "incoming": {"guard1"}}, "custody/transfer"},
		{"/carriers/loss", url.Values{"carrier": {"JM-2026-0001-02"}, "detail": {"遍寻未获"}}, "carrier/loss"},
	} {
		f.form.Set("csrf", o.csrf("/carriers"))
		f.form.Set("room", "r1")
		n := len(c.rooms.calls)
		_, where := o.post(f.path, f.form)
		if strings.Contains(where, "error=") || len(c.rooms.calls) != n+1 || c.rooms.calls[n] != "r1 "+f.cmd {
			t.Errorf("%s: %s, calls %v", f.path, where, c.rooms.calls[n:])
		}
	}
}

// Issue 31, item 5: the self-inspection report lists the classified staff
// of the console's register overdue on the period's last day (training,
// commitment, a departure without its debriefing), in words, with the
// register's version; someone in order is not listed.
func TestSelfInspectionListsStaffOverdue(t *testing.T) {
	c := newConsole(t, "auditor1:auditor")
	if err := c.store.SaveRegister(dashboard.Register{Kind: "personnel", Version: 7, Count: 3, Updated: t0, UpdatedBy: "auditor1",
		CSV: "id,name,cards,level,role,rooms,trained_on,commitment_on,left_on,debriefed_on\n" +
			"p-zhang,张伟,1234567890,core,clerk,*,2026-03-01,2026-03-01,,\n" +
			"p-li,李娜,1234567891,core,security-officer,*,2025-01-10,,,\n" +
			"p-old,赵旧,1234567892,core,clerk,*,,,2026-10-31,\n"}); err != nil {
		t.Fatal(err)
	}
	code, body := c.as("auditor1").get("/inspection?room=r1&from=2026-11-01&until=2026-11-22")
	if code != 200 {
		t.Fatalf("report: %d", code)
	}
	staff := body[strings.Index(body, `id="in-staff"`):]
	staff = staff[:strings.Index(staff, "</table>")]
	for _, want := range []string{`data-person="p-li"`, "培训逾期", "保密承诺书未签", `data-person="p-old"`, "离岗未进行离岗教育"} {
		if !strings.Contains(staff, want) {
			t.Errorf("the staff section lacks %q:\n%s", want, staff)
		}
	}
	if strings.Contains(staff, "p-zhang") || !strings.Contains(body, "人员名册版本 7") {
		t.Errorf("the staff section:\n%s", staff)
	}
}

// Issue 31, item 2: the carriers page and the self-inspection report show
// each safe's combination and door's key, and a change due until one is
// recorded, in words.
func TestKeyChangesOnTheConsole(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	c.retain("r1", "devices", "safe-a", map[string]any{"device": "safe-a", "kind": "safe", "name": "保密柜A", "state": "locked", "since": t0})
	c.retain("r1", "devices", "door-main", map[string]any{"device": "door-main", "kind": "door", "name": "铁门", "state": "closed", "since": t0})
	c.events().add("r1", 1, "safe.combination_changed", "door-main", "p-li", map[string]any{"subject": "door-main", "kind": "key", "holder": "p-li", "by": "p-li", "witness": "p-zhang"})
	o := c.as("officer1")
	_, body := o.get("/carriers")
	keys := body[strings.Index(body, `id="keys"`):]
	keys = keys[:strings.Index(keys, "</table>")]
	if !strings.Contains(keys, "保密柜A") || !strings.Contains(keys, "无更换记录") || !strings.Contains(keys, "铁门") || !strings.Contains(keys, "无需更换") {
		t.Fatalf("the keys on the carriers page:\n%s", keys)
	}
	_, body = o.get("/inspection?room=r1&from=2026-11-01&until=2026-11-22")
	if in := body[strings.Index(body, `id="in-keys"`):]; !strings.Contains(in[:strings.Index(in, "</table>")], "无更换记录") {
		t.Fatal("the self-inspection report does not show the change due")
	}
}

// Issue 31, item 1: the visitors page lists the maintenance visits with
// their state; the leader the request names has the approve button, the
// custodian the close form once approved; the request form sends what its
// schema takes, and never an ID number to the audit log.
func TestMaintenanceOnTheConsole(t *testing.T) {
	c := newConsole(t, "leader1:officer", "zhang:officer")
	ev := c.events()
	ev.add("r1", 1, "maintenance.requested", "", "p-li", map[string]any{"maintenance": "mt-1", "company": "某某公司", "equipment": "涉密计算机",
		"technicians": []map[string]string{{"name": "周工", "id_masked": "110105********002X", "card": "******0009"}},
		"from":        "2026-11-22T10:00:00.000+08:00", "until": "2026-11-22T14:00:00.000+08:00", "custodian": "zhang", "approver": "leader1", "by": "p-li"})
	l := c.as("leader1")
	_, body := l.get("/visitors")
	row := body[strings.Index(body, `id="mt-mt-1"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `id="mt-approve-mt-1"`) || !strings.Contains(row, "待领导审批") || !strings.Contains(row, "110105********002X") {
		t.Fatalf("the leader's row: %s", row)
	}
	if _, where := l.post("/maintenance/approve", url.Values{"csrf": {l.csrf("/visitors")}, "room": {"r1"}, "maintenance": {"mt-1"}}); strings.Contains(where, "error=") ||
		c.rooms.calls[len(c.rooms.calls)-1] != "r1 maintenance/approve" {
		t.Fatalf("approve: %s %v", where, c.rooms.calls)
	}
	ev.add("r1", 2, "maintenance.approved", "", "leader1", map[string]any{"maintenance": "mt-1", "approver": "leader1", "visits": []string{"v-1"}, "custodian": "zhang", "equipment": "涉密计算机"})
	z := c.as("zhang")
	if _, body := z.get("/visitors"); !strings.Contains(body, `id="mt-close-mt-1"`) {
		t.Fatal("the custodian has no close form")
	}
	if _, body := l.get("/visitors"); strings.Contains(body, `id="mt-approve-mt-1"`) {
		t.Fatal("an approved visit offers the approval again")
	}
	_, where := z.post("/maintenance/request", url.Values{"csrf": {z.csrf("/visitors")}, "room": {"r1"}, "company": {"某某公司"}, "equipment": {"涉密计算机"},
		"technicians": {"周工, resident-id, 11010519491231002X, ABCDEF0009\n李工，passport，E1234567，ABCDEF0010"}, "start": {"2026-11-22T10:00"}, "end": {"2026-11-22T14:00"},
		"custodian": {"zhang"}, "approver": {"leader1"}})
	if strings.Contains(where, "error=") || c.rooms.calls[len(c.rooms.calls)-1] != "r1 maintenance/request" {
		t.Fatalf("request: %s %v", where, c.rooms.calls)
	}
	if a := c.rooms.args[len(c.rooms.args)-1]; len(a["technicians"].([]map[string]string)) != 2 {
		t.Fatalf("request sent %v", a)
	}
	for _, a := range c.audited("maintenance.request") {
		if strings.Contains(a.Detail, "11010519491231002X") || strings.Contains(a.Detail, "E1234567") {
			t.Fatalf("an ID number in the audit log: %q", a.Detail)
		}
	}
}

// Issue 31, item 3: the self-inspection report fills its checklist from
// the log (an IR detector silent in the period, a key change due: a
// problem; the three irons: checked on the spot); a finding is recorded
// with an owner and a deadline, shows overdue on the overview past it, is
// rectified by one account and closed by another (never the same), each
// audited.
func TestFindingsAndRectification(t *testing.T) {
	c := newConsole(t, "insp:auditor", "zhang:officer", "li:officer")
	c.retain("r1", "devices", "ir-1", map[string]any{"device": "ir-1", "kind": "ir-detector", "name": "红外探测器1", "state": "idle", "since": t0})
	c.retain("r1", "devices", "ir-2", map[string]any{"device": "ir-2", "kind": "ir-detector", "name": "红外探测器2", "state": "idle", "since": t0})
	c.retain("r1", "devices", "safe-a", map[string]any{"device": "safe-a", "kind": "safe", "name": "保密柜A", "state": "locked", "since": t0})
	c.events().add("r1", 60, "motion.detected", "ir-1", "", nil)
	in := c.as("insp")
	_, body := in.get("/inspection?room=r1&from=2026-11-22&until=2026-11-22")
	list := body[strings.Index(body, `id="in-checklist"`):]
	list = list[:strings.Index(list, "</table>")]
	row := func(item string) string {
		r := list[strings.Index(list, `data-item="`+item+`"`):]
		return r[:strings.Index(r, "</tr>")]
	}
	if r := row("intrusion"); !strings.Contains(r, "存在问题") || !strings.Contains(r, "红外探测器2") || strings.Contains(r, "红外探测器1") {
		t.Fatalf("intrusion: %s", r)
	}
	if r := row("keys"); !strings.Contains(r, "存在问题") || !strings.Contains(r, "保密柜A") {
		t.Fatalf("keys: %s", r)
	}
	if r := row("three-irons"); !strings.Contains(r, "现场核查") {
		t.Fatalf("three irons: %s", r)
	}
	// A finding, due in two days.
	_, where := in.post("/findings/open", url.Values{"csrf": {in.csrf("/inspection")}, "room": {"r1"}, "item": {"intrusion"},
		"text": {"红外探测器2 全天无报告，疑故障"}, "owner": {"zhang"}, "deadline": {"2026-11-24"}, "unannounced": {"on"}})
	if strings.Contains(where, "error=") {
		t.Fatalf("open: %s", where)
	}
	_, where = in.post("/findings/open", url.Values{"csrf": {in.csrf("/inspection")}, "room": {"r1"}, "item": {"nothing"}, "text": {"x"}, "owner": {"zhang"}, "deadline": {"2026-11-24"}})
	if !strings.Contains(where, "error=") {
		t.Fatal("a finding for an item the checklist has not was taken")
	}
	c.clock.Advance(3 * 24 * time.Hour)
	if _, body := c.as("zhang").get("/"); !strings.Contains(body, `class="pill bad findings-overdue">1 `) {
		t.Fatal("the overdue finding is not on the overview")
	}
	z := c.as("zhang")
	if _, where := z.post("/findings/close", url.Values{"csrf": {z.csrf("/inspection")}, "n": {"1"}, "room": {"r1"}}); !strings.Contains(where, "error=") {
		t.Fatal("a finding closed before it was rectified")
	}
	z.post("/findings/rectify", url.Values{"csrf": {z.csrf("/inspection")}, "n": {"1"}, "room": {"r1"}, "note": {"更换探测器，测试正常"}})
	if _, where := z.post("/findings/close", url.Values{"csrf": {z.csrf("/inspection")}, "n": {"1"}, "room": {"r1"}}); !strings.Contains(where, "error=") {
		t.Fatal("a finding closed by the one who rectified it")
	}
	l := c.as("li")
	if _, where := l.post("/findings/close", url.Values{"csrf": {l.csrf("/inspection")}, "n": {"1"}, "room": {"r1"}}); strings.Contains(where, "error=") {
		t.Fatalf("closed by another: %s", where)
	}
	if _, body := l.get("/"); strings.Contains(body, "findings-overdue") {
		t.Fatal("a closed finding is still overdue on the overview")
	}
	_, body = l.get("/inspection")
	f := body[strings.Index(body, `id="finding-1"`):]
	f = f[:strings.Index(f, "</tr>")]
	if !strings.Contains(f, "更换探测器") || !strings.Contains(f, "突击检查") || strings.Contains(f, "逾期") {
		t.Fatalf("the finding: %s", f)
	}
	if len(c.audited("finding.open")) != 2 || len(c.audited("finding.close")) != 3 {
		t.Fatalf("audit: open %d, close %d", len(c.audited("finding.open")), len(c.audited("finding.close")))
	}
}

// Issue 31, item 3: the overview says an inspection is due (never one, or
// a holiday of the room's calendar within a week); recording one from the
// report (signed by the account, its kind and period) clears it.
func TestInspectionScheduleOnTheOverview(t *testing.T) {
	c := newConsole(t, "insp:auditor")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室",
		"holidays": []map[string]string{{"name": "元旦", "from": "2026-11-25", "to": "2026-11-27"}}})
	in := c.as("insp")
	if _, body := in.get("/"); !strings.Contains(body, "inspection-due") || !strings.Contains(body, "节前检查到期") {
		t.Fatal("the overview does not say the inspection before the holiday is due")
	}
	_, where := in.post("/inspections", url.Values{"csrf": {in.csrf("/inspection")}, "room": {"r1"}, "kind": {"holiday"}, "from": {"2026-11-01"}, "until": {"2026-11-22"}})
	if strings.Contains(where, "error=") {
		t.Fatalf("record: %s", where)
	}
	if _, where := in.post("/inspections", url.Values{"csrf": {in.csrf("/inspection")}, "room": {"r1"}, "kind": {"casual"}, "from": {"2026-11-01"}, "until": {"2026-11-22"}}); !strings.Contains(where, "error=") {
		t.Fatal("an inspection of no kind was recorded")
	}
	if _, body := in.get("/"); strings.Contains(body, "inspection-due") {
		t.Fatal("the inspection is still due once recorded")
	}
	if _, body := in.get("/inspection"); !strings.Contains(body, "节前检查") || !strings.Contains(body, "2026-11-01 – 2026-11-22") {
		t.Fatal("the inspection is not listed")
	}
}

// Issue 32, item 3: the console's /healthz and /readyz answer without a
// login; ready while its database reads and its link is up.
func TestConsoleHealth(t *testing.T) {
	c := newConsole(t)
	res, err := http.Get(c.url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	res, err = http.Get(c.url + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"ready":true`) {
		t.Fatalf("readyz: %s", b)
	}
}

// Issue 32, item 2: the console's metrics: per room its replica and
// whether it is online, and the live pages.
func TestConsoleMetrics(t *testing.T) {
	c := newConsole(t)
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1"})
	c.events().add("r1", 1, "gateway.started", "", "", map[string]any{"version": "test"})
	rec := httptest.NewRecorder()
	c.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	s, err := testenv.Samples(body) // Prometheus's own text parser
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	for name, want := range map[string]float64{`roomguard_console_replica_high{room="r1"}`: 1, `roomguard_console_room_online{room="r1"}`: 1,
		`roomguard_console_replica_gap_events{room="r1"}`: 0, "roomguard_console_live_clients": 0} {
		if got, ok := s[name]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v:\n%s", name, got, ok, want, body)
		}
	}
}

// Issue 32, item 5 (四防): a climate sensor's reading on the room's page;
// the self-inspection's 四防 item is a problem when a fire, water or
// environment alarm was raised in the period (naming the device), checked
// on the spot in a room with no such sensor.
func TestFourProtectionsOnTheConsole(t *testing.T) {
	c := newConsole(t, "insp:auditor", "g:guard")
	c.retain("r1", "devices", "th-1", map[string]any{"device": "th-1", "kind": "climate", "name": "保密柜区温湿度", "state": "out-of-range",
		"active": true, "since": t0, "reading": map[string]any{"temperature_c": 24.46, "humidity_rh": 76.2}})
	c.retain("r2", "devices", "ir-1", map[string]any{"device": "ir-1", "kind": "ir-detector", "name": "红外", "state": "idle", "since": t0})
	c.events().add("r1", 60, "alarm.raised", "th-1", "", map[string]any{"alarm": "r1-3", "class": "environment", "priority": 4})
	if _, body := c.as("g").get("/rooms/r1"); !strings.Contains(body, "24.5 °C · 76 % RH") || !strings.Contains(body, "超限") {
		t.Fatalf("the room's page shows no reading:\n%s", body)
	}
	in := c.as("insp")
	row := func(room, item string) string {
		t.Helper()
		_, body := in.get("/inspection?room=" + room + "&from=2026-11-22&until=2026-11-22")
		list := body[strings.Index(body, `id="in-checklist"`):]
		r := list[strings.Index(list, `data-item="`+item+`"`):]
		return r[:strings.Index(r, "</tr>")]
	}
	if r := row("r1", "four-protections"); !strings.Contains(r, "存在问题") || !strings.Contains(r, "保密柜区温湿度") || !strings.Contains(r, "四防") {
		t.Fatalf("r1's 四防: %s", r)
	}
	if r := row("r2", "four-protections"); !strings.Contains(r, "现场核查") {
		t.Fatalf("r2's 四防: %s", r)
	}
}

// Issue 33, item 2: the overview of a building: rooms with open alarms
// first (the most urgent first), then those offline, then the rest; a count
// line; a search and a filter to alarms or offline rooms.
func TestOverviewOfABuilding(t *testing.T) {
	c := newConsole(t, "g:guard")
	for _, r := range []string{"r1", "r2", "r3", "r4", "r5"} {
		state := "online"
		if r == "r2" {
			state = "offline"
		}
		c.retain(r, "status", "", map[string]any{"state": state, "room": r, "name": "3楼 " + r})
	}
	c.retain("r3", "alarms", "r3-1", map[string]any{"room": "r3", "id": "r3-1", "class": "tamper", "priority": 3, "state": "active"})
	c.retain("r4", "alarms", "r4-1", map[string]any{"room": "r4", "id": "r4-1", "class": "intrusion", "priority": 1, "state": "active"})
	g := c.as("g")
	order := func(path string) []string {
		t.Helper()
		_, body := g.get(path)
		var out []string
		for _, m := range regexp.MustCompile(`<section class="room card[^"]*" id="room-(r\d)"`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := strings.Join(order("/"), " "); got != "r4 r3 r2 r1 r5" {
		t.Fatalf("the overview's order: %s", got)
	}
	if _, body := g.get("/"); !strings.Contains(body, "5 间 · ") || !strings.Contains(body, "2 间有未关闭报警") || !strings.Contains(body, "1 间离线") {
		t.Fatalf("no count line:\n%s", body)
	}
	for path, want := range map[string]string{"/?q=r3": "r3", "/?show=offline": "r2", "/?show=alarms": "r4 r3", "/?q=3楼&show=alarms": "r4 r3", "/?q=nope": ""} {
		if got := strings.Join(order(path), " "); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
