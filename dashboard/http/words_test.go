package http_test

import (
	"fmt"
	"html"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	dhttp "github.com/roomguard/roomguard/dashboard/http"
	"github.com/roomguard/roomguard/gateway"
)

// visibleText is what a person reads on a page: no tags, attributes,
// scripts, styles, code, or the text of an editable register.
func visibleText(page string) string {
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?s)<script.*?</script>`), regexp.MustCompile(`(?s)<style.*?</style>`),
		regexp.MustCompile(`(?s)<code.*?</code>`), regexp.MustCompile(`(?s)<textarea.*?</textarea>`),
		regexp.MustCompile(`(?s)<select.*?</select>`), regexp.MustCompile(`(?s)<[^>]*>`),
	} {
		page = re.ReplaceAllString(page, " ")
	}
	return html.UnescapeString(page) // &nbsp; is a space, not a word
}

// shownAsIDs are the Latin words a Chinese page may show: ids that are
// shown as ids (the rooms', accounts', carriers', visits', seals' and
// inventories' of the fixture, a card's last digits), the language switch,
// and the name of a file format.
var shownAsIDs = map[string]bool{"English": true, "CSV": true, "r1": true, "officer1": true, "JM-1": true, "v-1": true,
	"inv-1": true, "r1-seal-1": true, "CEF": true}

var latinWord = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Za-z]`)

// TestChinesePagesShowNoMachineWords walks every page of a console whose
// room has a device of every kind in every state, an alarm of every class,
// an event of every type, a denial for every reason and a seal report with
// every finding, and fails on any English word of those vocabularies, or a
// device or person shown by its id, in what a zh-CN reader sees (issue 20,
// item 5).
func TestChinesePagesShowNoMachineWords(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	if err := c.store.SaveRegister(dashboard.Register{Kind: "personnel", Version: 1, Count: 2, Updated: t0, UpdatedBy: "officer1",
		CSV: "id,name,cards,level,role,rooms\np-zhang,张伟,1234567890,core,clerk,*\np-li,李明,1234567891,core,security-officer,*\n"}); err != nil {
		t.Fatal(err)
	}
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1", "name": "机要室"})
	c.retain("r1", "mode", "", map[string]any{"mode": "armed", "since": t0, "by": []string{"p-zhang"}, "bypassed": []string{"dev-window"}})
	c.retain("r1", "occupancy", "", map[string]any{"inside": []map[string]any{{"id": "v-1", "name": "王芳", "visitor": true, "escort": "p-li", "since": t0}}})
	var ids []string
	states := dhttp.VocabularyStates(t)
	for i, k := range dhttp.VocabularyKinds(t) {
		id := "dev-" + k
		ids = append(ids, id)
		c.retain("r1", "devices", id, map[string]any{"device": id, "kind": k, "name": fmt.Sprintf("设备%d", i),
			"state": states[i%len(states)], "active": i%2 == 0, "since": t0})
	}
	ids = append(ids, "dev-window") // the bypass
	words := dhttp.VocabularyWords(t)
	ev := c.events()
	sec := 0.0
	next := func() float64 { sec++; return sec }
	for w := range words {
		switch {
		case strings.Contains(w, ".") && !strings.HasPrefix(w, "dev-"): // an event type
			data := map[string]any{"direction": "in", "reason": "expired", "class": "intrusion",
				"alarm": "r1-1", "person": "p-li", "channel": "sms", "op": "seal", "verdict": "broken"}
			if strings.HasPrefix(w, "mode.") {
				data["by"] = []string{"p-zhang", "p-li"}
			}
			ev.add("r1", next(), w, "dev-door", "p-zhang", data)
		}
	}
	for _, reason := range gateway.DenyReasons {
		ev.add("r1", next(), "access.denied", "reader-outside", "p-li", map[string]any{"reader": "reader-outside", "direction": "out",
			"reason": reason, "card": "******6CEF", "person_name": "李明"})
	}
	classes := dhttp.VocabularyClasses(t)
	for i, class := range classes {
		a := map[string]any{"room": "r1", "id": fmt.Sprintf("r1-%d", i+1), "class": class, "priority": 1 + i%4, "state": "active",
			"device": ids[i%len(ids)], "detail": "door opened while armed", "count": 1, "raised_at": t0}
		if i%2 == 0 {
			a["ack_by"], a["ack_comment"], a["state"] = "p-li", "已处置", "acknowledged"
		}
		c.retain("r1", "alarms", a["id"].(string), a)
		ev.add("r1", next(), "alarm.raised", ids[i%len(ids)], "", map[string]any{"alarm": a["id"], "class": class, "priority": a["priority"]})
	}
	at := func(d time.Duration) string { return t0.Add(d).UTC().Format(gateway.TimeFormat) }
	c.retain("r1", "seal-reports", "r1-seal-1", gateway.SealReport{SealID: "r1-seal-1", Room: "r1",
		SealedBy: []string{"p-zhang", "p-li"}, UnsealedBy: []string{"p-li", "p-zhang"}, SealedAt: at(0), UnsealedAt: at(72 * time.Hour),
		SealSnapshot:   []gateway.DeviceState{{Device: "dev-door", Kind: "door", State: "closed"}},
		UnsealSnapshot: []gateway.DeviceState{{Device: "dev-door", Kind: "door", State: "open"}},
		SealCarriers:   map[string][]string{"dev-safe": {"JM-1"}}, UnsealCarriers: map[string][]string{"dev-safe": {}},
		Events:  []gateway.Event{{Seq: 5, Type: "door.opened", Device: "dev-door", TS: t0.Add(time.Hour)}},
		Verdict: "broken", Causes: []string{"dev-door door.opened"},
		Downtime: []gateway.Downtime{{From: at(time.Hour), To: at(2 * time.Hour)}},
		Findings: []gateway.SealFinding{
			{Kind: gateway.FindingMissing, Seq: 3, To: 4},
			{Kind: gateway.FindingUnreadable, At: at(time.Hour), Seq: 6, Type: "door.opened", Detail: "bad json"},
			{Kind: gateway.FindingAlarm, At: at(time.Hour), Type: "alarm.raised", Class: "intrusion", Alarm: "r1-9", Device: "dev-ir-detector"},
			{Kind: gateway.FindingInput, At: at(time.Hour), Type: "window.opened", Device: "dev-window"},
			{Kind: gateway.FindingChanged, Device: "dev-door", Was: "closed", Now: "open"},
			{Kind: gateway.FindingCarrier, Device: "JM-1", Was: "dev-safe"},
			{Kind: gateway.FindingDowntime, From: "unknown", At: at(2 * time.Hour)}}})
	c.retain("r1", "inventories", "inv-1", gateway.InventoryReport{ID: "inv-1", Room: "r1", Trigger: gateway.InventorySchedule, By: "p-li", At: t0,
		Safes:   []gateway.SafeCount{{Safe: "dev-safe", Expected: 1, Found: 0}},
		Missing: []gateway.InventItem{{Carrier: "JM-1", Title: "会议纪要", Home: "dev-safe"}}})
	c.retain("r1", "carrier", "JM-1", gateway.CarrierState{ID: "JM-1", Status: gateway.CarrierHome, Location: "dev-safe"})

	c.retain("r1", "calldown", "", map[string]any{"room": "r1", "version": 2, "source": "console", "updated_by": "p-li", "updated_at": at(0),
		"people":   []map[string]any{{"id": "p-zhang", "name": "张伟", "phone": "+8613800000001"}, {"id": "p-li", "name": "李明", "phone": "13900000002"}},
		"calldown": []map[string]any{{"classes": classes[:4], "steps": []map[string]any{{"after": "0s", "people": []string{"p-zhang", "p-li"}, "channels": []string{"sms", "call", "email", "webhook"}}}}}})
	forbidden := map[string]bool{}
	for w := range words {
		forbidden[w] = true
	}
	for _, id := range append(ids, "p-zhang", "p-li") {
		forbidden[id] = true
	}
	c.clock.Advance(time.Hour)
	o := c.as("officer1")
	for _, path := range []string{"/", "/alarms", "/rooms/r1", "/entries", "/visitors", "/carriers", "/seals", "/seals/r1/r1-seal-1",
		"/carriers/inventory/r1/inv-1", "/inspection?room=r1&from=2026-11-22&until=2026-11-23", "/registers", "/audit", "/duty", "/handover", "/calldown"} {
		code, body := o.get(path)
		if code != 200 {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		seen := map[string]bool{}
		for _, w := range latinWord.FindAllString(visibleText(body), -1) {
			// Issue 28: any Latin word, not only the vocabularies' (an
			// id shown as an id excepted).
			if forbidden[w] || !shownAsIDs[w] {
				seen[w] = true
			}
		}
		if len(seen) > 0 {
			var list []string
			for w := range seen {
				list = append(list, w)
			}
			sort.Strings(list)
			t.Errorf("%s shows machine words to a Chinese reader: %s", path, strings.Join(list, " "))
		}
	}
	// and says what happened in sentences, with names
	_, body := o.get("/rooms/r1")
	for _, want := range []string{"张伟 从外侧读卡器刷卡进入", "李明 在内侧读卡器刷卡被拒：授权已过期", "设备0 打开"} {
		if !strings.Contains(body, want) {
			t.Errorf("the room page does not say %q", want)
		}
	}
}

// An event whose data cannot be read is said so on the timeline, not shown
// as if it had none.
func TestUnreadableEventIsSaidSo(t *testing.T) {
	c := newConsole(t, "officer1:officer")
	c.retain("r1", "status", "", map[string]any{"state": "online", "room": "r1"})
	c.events().add("r1", 1, "access.denied", "reader-outside", "", map[string]any{"reason": 7})
	_, body := c.as("officer1").get("/rooms/r1")
	if !strings.Contains(body, "刷卡被拒 reader-outside · 事件数据无法读取") {
		t.Fatalf("the unreadable event on the timeline:\n%s", body)
	}
}
