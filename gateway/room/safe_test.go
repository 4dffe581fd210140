package room_test

import (
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A safe's two contacts make one state: locked, unlocked, open. Left not
// locked past its reminder it raises safe-left-open, which locking restores.
func TestSafeStateAndReminder(t *testing.T) {
	g := newGuarded(t)
	state := func() string {
		t.Helper()
		for _, st := range g.engine.States() {
			if st.Device == "safe-a" {
				if pub := g.states.last("safe-a"); pub.State != st.State {
					t.Fatalf("published %q, engine %q", pub.State, st.State)
				}
				return st.State
			}
		}
		t.Fatal("no safe-a state")
		return ""
	}
	if s := state(); s != gateway.SafeLocked {
		t.Fatalf("at start %s, want locked", s)
	}
	g.set("safe-a-bolt", true)
	if s := state(); s != gateway.SafeUnlocked {
		t.Fatalf("bolt drawn: %s, want unlocked", s)
	}
	g.set("safe-a-door", true)
	if s := state(); s != gateway.SafeOpen {
		t.Fatalf("door open: %s, want open", s)
	}
	g.news()
	g.clock.Advance(9 * time.Minute)
	if len(g.alarms()) != 0 {
		t.Fatalf("reminder before its time: %v", g.alarms())
	}
	g.clock.Advance(time.Minute)
	a := g.alarm(gateway.AlarmSafeLeftOpen)
	if a.Device != "safe-a" || a.Priority != 4 {
		t.Fatalf("reminder %+v", a)
	}
	g.expect("alarm.raised")
	// Closing the door is not enough: the safe is still unlocked.
	g.set("safe-a-door", false)
	if s := state(); s != gateway.SafeUnlocked {
		t.Fatalf("door closed: %s, want unlocked", s)
	}
	if a := g.alarm(gateway.AlarmSafeLeftOpen); a.Restored() {
		t.Fatal("restored while unlocked")
	}
	g.set("safe-a-bolt", false)
	if s := state(); s != gateway.SafeLocked {
		t.Fatalf("bolt thrown: %s, want locked", s)
	}
	g.expect("safe.closed", "safe.locked", "alarm.restored")
	if err := g.panel.Ack(a.ID, "guard-1", "柜门已锁好"); err != nil {
		t.Fatal(err)
	}
	if len(g.alarms()) != 0 {
		t.Fatalf("still open: %v", g.alarms())
	}
	// Opened and locked again within the reminder: nothing.
	g.set("safe-a-bolt", true)
	g.clock.Advance(5 * time.Minute)
	g.set("safe-a-bolt", false)
	g.clock.Advance(time.Hour)
	if len(g.alarms()) != 0 {
		t.Fatalf("a reminder after locking: %v", g.alarms())
	}
}

// A safe found not locked when the gateway starts is reminded of too.
func TestSafeReminderAfterRestart(t *testing.T) {
	g := newGuarded(t)
	g.set("safe-a-door", true)
	g.crash()
	g.open()
	g.clock.Advance(10 * time.Minute)
	g.alarm(gateway.AlarmSafeLeftOpen)
}
