package room_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/room"
)

// changes are the types of the events of each change written since the
// last call, one string per change.
func (g *guarded) changes() []string {
	var out []string
	for _, c := range g.log.written() {
		var types []string
		for _, e := range c.Events {
			types = append(types, e.Type)
		}
		out = append(out, strings.Join(types, " "))
	}
	return out
}

// One unit of work (issue 29, item 1): every operation of the room is ONE
// change of the log — the start, an input, a badge, a command, a timer, a
// checkpoint, the stop — and an output rides in the change that drove it,
// never in a transaction of its own. (The room's log has no other way to
// write: room.Log's only write is SaveChange.)
func TestEveryOperationIsOneChange(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.store.SignCheckpointsWith(key)
	one := func(what string, want string) {
		t.Helper()
		got := e.changes()
		if len(got) != 1 || got[0] != want {
			t.Fatalf("%s: changes %q, want one: %q", what, got, want)
		}
	}
	one("the start", "gateway.started")

	e.badge("reader-out", "62E3086CED")
	one("a badge granted", "output.on access.granted") // the strike released, in the grant's change
	e.set("door-main", true)
	one("an input", "door.opened access.entered")
	e.clock.Advance(5 * time.Second)
	one("a pulse's end (a timer)", "output.off")
	e.set("door-main", false)
	e.changes()

	e.set("exit-button", true)
	one("the exit button", "exit.pressed output.on")
	e.set("exit-button", false)
	e.set("door-main", true)
	e.set("door-main", false)
	e.clock.Advance(5 * time.Second)
	e.changes()

	if err := e.panel.Arm("p-li"); err != nil {
		t.Fatal(err)
	}
	one("a command", "mode.arming")
	e.clock.Advance(time.Minute)
	one("a timer", "mode.armed")
	e.set("window-1", true)
	one("an input raising an audible alarm", "window.opened alarm.raised output.on")
	if err := e.panel.Disarm("p-li"); err != nil {
		t.Fatal(err)
	}
	one("a command", "mode.disarmed")
	if err := e.panel.Ack(e.alarm(gateway.AlarmIntrusion).ID, "p-li", "checked"); err != nil {
		t.Fatal(err)
	}
	one("an acknowledgement that silences the siren", "alarm.acknowledged output.off")
	if _, err := e.room.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	one("a checkpoint", "log.checkpoint")
	e.set("window-1", false)
	e.changes()
	if err := e.room.Stop("test"); err != nil {
		t.Fatal(err)
	}
	one("the stop", "gateway.stopped")
}

// The stop's change turns off what is on, with gateway.stopped last.
func TestTheStopTurnsTheOutputsOff(t *testing.T) {
	e := newEntry(t, config.DefaultAccess())
	e.badge("reader-out", "62E3086CED")
	e.changes()
	if err := e.room.Stop("test"); err != nil {
		t.Fatal(err)
	}
	if got := e.changes(); len(got) != 1 || got[0] != "output.off gateway.stopped" {
		t.Fatalf("the stop: changes %q", got)
	}
	if d := e.lastData("output.off"); d["cause"] != "stop" {
		t.Fatalf("output.off %v", d)
	}
}

// probe is an output driver that, every time the room drives it, asks
// which of the room's locks are held and calls back into the room at once,
// as a real driver's report or fault would: reading its state and logging
// an event through its queue.
type probe struct {
	id    string
	next  gateway.OutputDriver
	room  func() *room.Room
	mu    sync.Mutex
	calls int
	held  []string
}

func (p *probe) call(what string) {
	r := p.room()
	held := room.HeldLocks(r)
	_ = r.Panel.State()
	_ = r.Engine.States()
	err := r.Log(gateway.Event{TS: time.Now(), Type: "test.probe", Severity: gateway.SeverityInfo, Device: p.id})
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if len(held) > 0 {
		p.held = append(p.held, fmt.Sprintf("%s %s: %v", p.id, what, held))
	}
	if err != nil {
		p.held = append(p.held, fmt.Sprintf("%s %s: the room refused the driver's event: %v", p.id, what, err))
	}
}

func (p *probe) Set(on bool) error {
	p.call(fmt.Sprintf("set %v", on))
	return p.next.Set(on)
}

func (p *probe) Pulse(d time.Duration) error {
	p.call("pulse " + d.String())
	return p.next.Pulse(d)
}

// No lock is held across a call out to a driver (issue 29, item 1): a
// driver that calls back into the room synchronously finds it free, for a
// grant's strike (driven before the commit), the siren an alarm sounds and
// its silencing (after it), an exit fault's chirp and the stop.
func TestNoLockIsHeldWhileDriving(t *testing.T) {
	var probes []*probe
	var e *entry
	cfg := withDoor(config.DefaultAccess())
	e = &entry{guarded: openRoom(t, spec{access: cfg, seed: seedPeople(people),
		drive: func(id string, next gateway.OutputDriver) gateway.OutputDriver {
			p := &probe{id: id, next: next, room: func() *room.Room { return e.room }}
			probes = append(probes, p)
			return p
		}})}
	e.badge("reader-out", "62E3086CED")
	e.set("exit-button", true)
	e.set("exit-button", false)
	e.clock.Advance(5 * time.Second)
	if err := e.panel.Arm("p-li"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.set("window-1", true)
	if err := e.panel.Disarm("p-li"); err != nil {
		t.Fatal(err)
	}
	if err := e.panel.Ack(e.alarm(gateway.AlarmIntrusion).ID, "p-li", "checked"); err != nil {
		t.Fatal(err)
	}
	e.set("window-1", false)
	if err := e.panel.Arm("p-li"); err != nil {
		t.Fatal(err)
	}
	e.set("window-1", true) // open at the exit delay's end: an exit fault, the siren chirps
	e.clock.Advance(time.Minute)
	if err := e.room.Stop("test"); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, p := range probes {
		p.mu.Lock()
		calls += p.calls
		for _, h := range p.held {
			t.Error(h)
		}
		p.mu.Unlock()
	}
	if calls < 6 { // two strikes, the siren on and silenced, the chirp, the stop
		t.Fatalf("the drivers were called %d times: the test drove too little", calls)
	}
	logged, err := e.store.Query(gateway.EventFilter{Types: []string{"test.probe"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(logged); n != calls {
		t.Fatalf("%d of the drivers' %d events logged", n, calls)
	}
}
