package room_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/room"
)

// Issue 27, finding 1: a flood of refused commands is counted, not logged
// one by one: each principal's first few a minute in full (30 in all), then
// one summary a minute with the counts; every refusal still counts toward
// command-forgery, whose repeats are coalesced too.
func TestRefusalFloodIsCountedNotLogged(t *testing.T) {
	g := newGuarded(t)
	g.mark, _ = g.store.LastSeq()
	const flood = 20000
	for i := range flood {
		principal := ""
		if i%4 == 1 {
			principal = fmt.Sprintf("made-up-%d", i) // an envelope names whom it likes
		}
		if err := g.room.Refused(principal, "arm", gateway.EUNAUTHENTICATED, "the command is not signed"); err != nil {
			t.Fatal(err)
		}
	}
	refusals := func(evs []gateway.Event) (full, summaries, total int, last map[string]any) {
		for _, e := range evs {
			if e.Type != "auth.refused" {
				continue
			}
			var d map[string]any
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			if n, ok := d["count"].(float64); ok {
				summaries++
				total += int(n)
				last = d
			} else {
				full++
				total++
			}
		}
		return
	}
	evs := g.logged(g.mark)
	full, summaries, _, _ := refusals(evs)
	if full != room.RefusalsLoggedAll || summaries != 0 || len(evs) > room.RefusalsLoggedAll+room.RepeatsLogged+1 {
		t.Fatalf("%d refusals logged in full, %d summaries, %d events in all (want %d, 0, at most %d)", full, summaries, len(evs),
			room.RefusalsLoggedAll, room.RefusalsLoggedAll+room.RepeatsLogged+1)
	}
	if a := g.alarm(gateway.AlarmForgery); a == nil {
		t.Fatal("no command-forgery alarm under a flood")
	}

	// The minute ends: one summary says the rest, and the alarm repeats
	// once more.
	g.clock.Advance(room.RefusalWindow)
	evs = g.logged(g.mark)
	full, summaries, total, last := refusals(evs)
	if summaries != 1 || total != flood {
		t.Fatalf("%d summaries standing for %d refusals, want 1 and all %d (the last %v)", summaries, total, flood, last)
	}
	if p := last["principals"].(map[string]any); len(p) > 17 || p["(others)"] == nil || p[""].(float64) < flood/2 {
		t.Fatalf("the summary's principals: %v", p)
	}
	if c := last["codes"].(map[string]any); c[gateway.EUNAUTHENTICATED].(float64) != float64(flood-full) {
		t.Fatalf("the summary's codes: %v", c)
	}
	repeats := 0
	for _, e := range evs {
		if e.Type == "alarm.repeated" {
			repeats++
		}
	}
	if repeats > room.RepeatsLogged+1 {
		t.Fatalf("%d alarm.repeated for one flood", repeats)
	}

	// A new minute starts a new budget.
	g.mark, _ = g.store.LastSeq()
	g.room.Refused("console-1", "arm", gateway.ESTALE, "signed 2m ago")
	if full, _, _, _ := refusals(g.logged(g.mark)); full != 1 {
		t.Fatalf("the next minute's first refusal: %d logged", full)
	}
}

// alarm.repeated is coalesced like the refusals: at most RepeatsLogged a
// minute for one alarm; the alarm's count keeps every repeat, and the next
// logged repeat says how many were not logged.
func TestAlarmRepeatsAreCoalesced(t *testing.T) {
	g := newGuarded(t)
	g.mark, _ = g.store.LastSeq()
	for range 500 {
		if _, err := g.room.Raise(gateway.AlarmTamper, "tamper-1", "loop cut"); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int, last map[string]any) {
		for _, e := range g.logged(g.mark) {
			if e.Type == "alarm.repeated" {
				n++
				last = map[string]any{}
				json.Unmarshal(e.Data, &last)
			}
		}
		return
	}
	if n, _ := count(); n != room.RepeatsLogged {
		t.Fatalf("%d alarm.repeated for 499 repeats in a minute, want %d", n, room.RepeatsLogged)
	}
	if a := g.alarm(gateway.AlarmTamper); a == nil || a.Count != 500 {
		t.Fatalf("the alarm's count: %+v", a)
	}
	g.clock.Advance(time.Minute)
	g.room.Raise(gateway.AlarmTamper, "tamper-1", "loop cut")
	n, last := count()
	if n != room.RepeatsLogged+1 || last["count"].(float64) != 501 || last["not_logged"].(float64) != 500-1-room.RepeatsLogged {
		t.Fatalf("the next minute's repeat: %d logged, the last %v", n, last)
	}
}
