package room_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
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
//   - the retained alarm set equals the open alarms in the store;
//   - the room never becomes armed or sealed while a point that blocks
//     arming is not ready;
//   - a seal report is intact only if nothing happened while sealed;
//   - every open alarm was raised in the log (or a gateway fault was).
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
					// Mostly back to normal: a room that is often ready
					// arms and seals often, and points go astray meanwhile.
					d := pick(devices)
					if on := rng.IntN(10) < 3; on != g.active[d] {
						g.set(d, on)
					}
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

var modeEvents = map[string]bool{"mode.arming": true, "mode.armed": true, "mode.disarmed": true, "mode.sealed": true,
	"mode.unsealed": true, "mode.exit_fault": true}

// alarmHistory is what the events so far say of each alarm.
type alarmHistory struct {
	acked, restored map[string]bool
	sealedSeq       uint64 // the mode.sealed event of the seal in force
}

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

	// Never armed or sealed while a point is not ready: the inputs as the
	// test set them (minus the arming's bypass, never a tamper or a panic),
	// and the open alarms raised before the mode's event.
	for _, e := range evs {
		if e.Type != "mode.armed" && e.Type != "mode.sealed" {
			continue
		}
		for d, on := range g.active {
			k := guardedInputs[d]
			bypassed := e.Type == "mode.armed" && after.Bypassed != nil && slices.Contains(after.Bypassed.Devices, d) &&
				k != gateway.KindTamper && k != gateway.KindPanic
			// A climate sensor out of range does not hold arming: damp is
			// no intruder (its alarm stands in every mode).
			if on && !bypassed && k != gateway.KindExitButton && k != gateway.KindClimate {
				fail("%s (event %d) with %s %s active", e.Type, e.Seq, k, d)
			}
		}
		for _, a := range after.Alarms {
			switch a.Class {
			case gateway.AlarmTamper, gateway.AlarmPanic, gateway.AlarmDuress, gateway.AlarmDeviceFault, gateway.AlarmBoardSilent:
				if a.RaisedSeq < e.Seq {
					fail("%s (event %d) with alarm %s (%s) open", e.Type, e.Seq, a.ID, a.Class)
				}
			}
		}
	}

	// A seal report is intact only if nothing happened in its window.
	for _, e := range evs {
		switch e.Type {
		case "mode.sealed":
			h.sealedSeq = e.Seq
		case "seal.report":
			var d struct{ Verdict string }
			json.Unmarshal(e.Data, &d)
			if d.Verdict != gateway.SealIntact {
				continue
			}
			window, err := g.store.Query(gateway.EventFilter{AfterSeq: h.sealedSeq})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range window {
				if w.Seq >= e.Seq {
					break
				}
				if strings.HasPrefix(w.Type, "alarm.raised") || w.Type == "alarm.repeated" || w.Type == "gateway.started" ||
					w.Device != "" && !strings.HasPrefix(w.Type, "alarm.") && !strings.HasPrefix(w.Type, "output.") {
					fail("seal report intact though %s %s (event %d) happened while sealed", w.Type, w.Device, w.Seq)
				}
			}
		}
	}

	// Every open alarm was raised in the log.
	raised, err := g.store.Query(gateway.EventFilter{Types: []string{"alarm.raised"}})
	if err != nil {
		t.Fatal(err)
	}
	inLog := map[string]bool{}
	for _, e := range raised {
		var d struct{ Alarm string }
		json.Unmarshal(e.Data, &d)
		inLog[d.Alarm] = true
	}
	for _, a := range after.Alarms {
		if !inLog[a.ID] {
			fail("alarm %s (%s) is open but was never raised in the log", a.ID, a.Class)
		}
	}

	// No alarm closes without both ack and restore.
	acked, restored := h.acked, h.restored
	for _, e := range evs {
		var d struct {
			Alarm    string
			Restored bool
		}
		json.Unmarshal(e.Data, &d)
		switch e.Type {
		case "alarm.raised":
			restored[d.Alarm] = d.Restored
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
