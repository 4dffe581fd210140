package gateway_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Long random sequences of input changes, commands, clock steps and
// restarts, holding the panel's invariants after every step:
//   - an alarm never closes without both an acknowledgement and a restore;
//   - the room never leaves sealed without two distinct people;
//   - every mode transition produces exactly one event;
//   - the retained alarm set equals the open alarms in the store.
func TestPanelInvariantsRandomized(t *testing.T) {
	seeds := 8
	steps := 300
	if testing.Short() {
		seeds, steps = 3, 150
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			g := newGuarded(t)
			devices := make([]string, 0, len(guardedInputs))
			for id := range guardedInputs {
				devices = append(devices, id)
			}
			sort.Strings(devices)
			people := []string{"li.ming", "wang.fang", "zhao.lei"}
			pick := func(s []string) string { return s[rng.IntN(len(s))] }
			var log []string
			seen := &alarmHistory{acked: map[string]bool{}, restored: map[string]bool{}}
			for i := 0; i < steps; i++ {
				before := g.panel.State()
				var op string
				switch r := rng.IntN(100); {
				case r < 40:
					d := pick(devices)
					g.set(d, !g.active[d])
					op = fmt.Sprintf("set %s %v", d, g.active[d])
				case r < 48:
					op = "arm"
					g.panel.Arm(pick(people))
				case r < 54:
					op = "disarm"
					g.panel.Disarm(pick(people))
				case r < 64:
					op = "ack"
					if as := before.Alarms; len(as) > 0 {
						comment := pick([]string{"", "checked on site", " "})
						g.panel.Ack(as[rng.IntN(len(as))].ID, pick(people), comment)
					}
				case r < 72:
					op = "seal"
					g.panel.Seal(pick(people))
				case r < 80:
					op = "unseal"
					g.panel.Unseal(pick(people))
				case r < 83:
					op = "bypass"
					g.panel.SetBypass(pick(people), "test", []string{pick(devices)})
				case r < 85:
					op = "restart"
					g.crash()
					g.clock.Advance(time.Duration(rng.IntN(600)) * time.Second)
					g.open()
				default:
					d := time.Duration(rng.IntN(90)) * time.Second
					op = "advance " + d.String()
					g.clock.Advance(d)
				}
				log = append(log, op)
				after := g.panel.State()
				checkInvariants(t, g, before, after, log, seen)
				if t.Failed() {
					return
				}
			}
		})
	}
}

var modeEvents = map[string]bool{"mode.arming": true, "mode.armed": true, "mode.disarmed": true, "mode.sealed": true, "mode.unsealed": true}

// alarmHistory is what the events so far say of each alarm.
type alarmHistory struct{ acked, restored map[string]bool }

func checkInvariants(t *testing.T, g *guarded, before, after *gateway.PanelState, ops []string, h *alarmHistory) {
	t.Helper()
	fail := func(format string, args ...any) {
		last := ops
		if len(last) > 8 {
			last = last[len(last)-8:]
		}
		t.Errorf("after %v: "+format, append([]any{last}, args...)...)
	}
	evs, err := g.store.Query(gateway.EventFilter{AfterSeq: g.mark})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) > 0 {
		g.mark = evs[len(evs)-1].Seq
	}

	// Every mode transition produces exactly one event.
	transitions := 0
	if before.Mode != after.Mode {
		transitions++
	}
	if !before.ExitUntil.IsZero() && after.ExitUntil.IsZero() && after.Mode == gateway.ModeArmed {
		transitions++ // exit delay over: armed
	}
	if before.Mode == after.Mode && before.Mode == gateway.ModeOpen && transitions == 0 && !after.ExitUntil.IsZero() {
		transitions++
	}
	logged := 0
	for _, e := range evs {
		if modeEvents[e.Type] {
			logged++
		}
		if e.Type == "mode.unsealed" {
			var d struct{ By []string }
			json.Unmarshal(e.Data, &d)
			if len(d.By) != 2 || d.By[0] == d.By[1] {
				fail("unsealed by %v", d.By)
			}
		}
	}
	// An arm straight from open logs mode.arming and changes the mode: one.
	if before.Mode == gateway.ModeOpen && after.Mode == gateway.ModeArmed {
		transitions = 1
		if after.ExitUntil.IsZero() { // exit delay passed within the same step (a restart)
			transitions = 2
		}
	}
	if logged != transitions {
		fail("%d mode events for %d transitions (%s → %s)", logged, transitions, before.Mode, after.Mode)
	}
	if before.Mode == gateway.ModeSealed && after.Mode != gateway.ModeSealed {
		found := false
		for _, e := range evs {
			found = found || e.Type == "mode.unsealed"
		}
		if !found {
			fail("left sealed without an unsealing")
		}
	}

	// No alarm closes without both ack and restore.
	acked, restored := h.acked, h.restored
	for _, e := range evs {
		var d struct{ Alarm string }
		json.Unmarshal(e.Data, &d)
		switch e.Type {
		case "alarm.acknowledged":
			acked[d.Alarm] = true
		case "alarm.restored":
			restored[d.Alarm] = true
		case "alarm.closed":
			if !acked[d.Alarm] || !restored[d.Alarm] {
				fail("alarm %s closed with ack=%v restore=%v", d.Alarm, acked[d.Alarm], restored[d.Alarm])
			}
		}
	}

	// The retained alarm set equals the open alarms in the store.
	saved, err := g.store.LoadPanel()
	if err != nil {
		t.Fatal(err)
	}
	if saved == nil {
		saved = &gateway.PanelState{}
	}
	var open, ret []string
	for _, a := range saved.Alarms {
		open = append(open, a.ID)
	}
	g.ret.mu.Lock()
	for id := range g.ret.alarms {
		ret = append(ret, id)
	}
	g.ret.mu.Unlock()
	sort.Strings(open)
	sort.Strings(ret)
	if strings.Join(open, ",") != strings.Join(ret, ",") {
		fail("retained alarms %v, open in the store %v", ret, open)
	}
}
