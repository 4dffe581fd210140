package room_test

import (
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"go.yaml.in/yaml/v3"
)

// Issue 28, item 4: duress has its ways in. A person's duress card opens
// the door as their own card does, nothing in the room shows or sounds, and
// a silent duress alarm (priority 1) is raised for the call-down; the
// logged decision says nothing of it.
func TestDuressCardOpensAndAlarmsSilently(t *testing.T) {
	withDuress := append([]gateway.Person(nil), people...)
	withDuress[0].DuressCards = []string{"5A5A5A5A5A"} // 张伟's
	e := &entry{guarded: openRoom(t, spec{access: withDoor(config.DefaultAccess()), seed: seedPeople(withDuress)})}
	e.mark, _ = e.store.LastSeq()
	d := e.badge("reader-out", "5A5A5A5A5A")
	if !d.Granted || d.Person == nil || d.Person.ID != "p-zhang" {
		t.Fatalf("the duress card: %+v", d)
	}
	a := e.alarm(gateway.AlarmDuress)
	if a == nil || a.Priority != 1 || !a.Silent || !strings.Contains(a.Detail, "张伟") {
		t.Fatalf("the duress alarm: %+v", a)
	}
	if e.siren.Read() {
		t.Fatal("the siren sounds for a duress")
	}
	for _, ev := range e.logged(e.mark) {
		if ev.Type == "access.granted" && strings.Contains(string(ev.Data), "duress") {
			t.Fatalf("the decision tells of the duress: %s", ev.Data)
		}
	}
	// The person's own card: no alarm.
	e.clock.Advance(10 * 1e9)
	before := len(e.alarms())
	e.badge("reader-out", "62E3086CED")
	if len(e.alarms()) != before {
		t.Fatal("the person's own card raised an alarm")
	}
}

// A hold-up button (input kind duress) raises the silent duress alarm; it
// is a 24-hour zone: never bypassed, and it keeps the room from arming.
func TestDuressButton(t *testing.T) {
	var in struct {
		Kind gateway.InputKind `yaml:"kind"`
	}
	if err := yaml.Unmarshal([]byte("kind: duress"), &in); err != nil || in.Kind != gateway.KindDuress {
		t.Fatalf("kind: %v %v", in.Kind, err)
	}
	g := newGuarded(t)
	g.room.AddInput(gateway.Input{ID: "holdup-1", Kind: gateway.KindDuress}, false)
	g.set("holdup-1", true)
	a := g.alarm(gateway.AlarmDuress)
	if a == nil || a.Device != "holdup-1" || !a.Silent {
		t.Fatalf("the duress alarm: %+v", a)
	}
	if g.siren.Read() {
		t.Fatal("the siren sounds for a duress")
	}
	if err := g.panel.SetBypass("li.ming", "x", []string{"holdup-1"}); err == nil {
		t.Fatal("a duress button bypassed")
	}
}
