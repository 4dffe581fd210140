package room

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Inventory counts every safe now: a tag counts as present where it was seen
// within the presence window. Missing carriers become missing; the report is
// stored and published with an inventory.completed event.
func (v *Vault) Inventory(trigger, by string) (*gateway.InventoryReport, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who takes the inventory is missing")
	}
	var r *gateway.InventoryReport
	err := v.step(at, func(b *vbatch) error {
		r = v.reconcile(b.now)
		r.ID, r.Trigger, r.By = "inv-"+gateway.NewEventID(b.now), trigger, by
		for _, m := range r.Missing {
			c := v.carriers[m.Carrier]
			st := v.state[c.ID]
			if st.Status != gateway.CarrierMissing {
				b.setStatus(c, st, gateway.CarrierMissing, false, map[string]any{"inventory": r.ID, "last_seen": m.SeenAt.Format(gateway.TimeFormat), "location": m.Location})
				st.MissingSince = b.now
				v.armLoss(c.ID, b.now)
				b.undo = append(b.undo, func() { v.disarm("loss/" + c.ID) })
			}
			// Not found where it should be, and not signed out: an alarm,
			// in the call-down like any other (issue 28).
			last := "never seen"
			if !m.SeenAt.IsZero() {
				last = "last seen " + m.SeenAt.In(b.now.Location()).Format("2006-01-02 15:04:05")
				if m.Location != "" {
					last += " at " + m.Location
				}
			}
			b.raiseAt(gateway.AlarmCarrierMissing, c.Class.MissingPriority(), c.ID,
				fmt.Sprintf("%s %s《%s》 not found in %s by inventory %s; %s", c.Class.Chinese(), c.ID, c.Title, c.Home, r.ID, last))
		}
		sev := gateway.SeverityInfo
		if !r.AllHome {
			sev = gateway.SeverityWarning
		}
		b.event("inventory.completed", sev, "", "", map[string]any{"inventory": r.ID, "trigger": trigger, "by": by, "all_home": r.AllHome,
			"expected": r.Expected(), "found": r.Found(), "on_loan": r.OnLoan,
			"missing": len(r.Missing), "misplaced": len(r.Misplaced), "unexpected": len(r.Unexpected)})
		b.report = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ScheduleInventory takes an inventory every day at the time of day at (in
// the working schedule's time zone), by "gateway", until Stop.
func (v *Vault) ScheduleInventory(at time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dailyAt = at
	v.scheduleDaily()
}

// scheduleDaily arms the next daily inventory; with v.mu held.
func (v *Vault) scheduleDaily() {
	ws := gateway.WorkSchedule{End: v.dailyAt, Location: v.work.Location}
	now := v.clock.Now()
	v.daily = v.clock.AfterFunc(ws.EndOfDay(now).Sub(now), func() {
		if _, err := v.Inventory(gateway.InventorySchedule, "gateway"); err != nil {
			v.fault("the daily inventory", err)
		}
		v.mu.Lock()
		if v.daily != nil {
			v.scheduleDaily()
		}
		v.mu.Unlock()
	})
}

// Sealer seals and unseals through the panel (it is the panel for the
// commands) and, once the second person has confirmed, takes the inventory
// that goes with the seal or the unseal.
type Sealer struct {
	*Panel
	Vault *Vault // nil: a room without carrier tracking
}

func (s Sealer) Seal(by string) (gateway.SealStep, error) {
	return s.inventory(gateway.InventorySeal, by, s.Panel.Seal)
}

func (s Sealer) Unseal(by string) (gateway.SealStep, error) {
	return s.inventory(gateway.InventoryUnseal, by, s.Panel.Unseal)
}

// SealVia and UnsealVia are Seal and Unseal through an authenticated
// channel (Panel.SealVia).
func (s Sealer) SealVia(by, via string) (gateway.SealStep, error) {
	return s.inventory(gateway.InventorySeal, by, func(by string) (gateway.SealStep, error) { return s.Panel.SealVia(by, via) })
}

func (s Sealer) UnsealVia(by, via string) (gateway.SealStep, error) {
	return s.inventory(gateway.InventoryUnseal, by, func(by string) (gateway.SealStep, error) { return s.Panel.UnsealVia(by, via) })
}

func (s Sealer) inventory(trigger, by string, op func(string) (gateway.SealStep, error)) (gateway.SealStep, error) {
	step, err := op(by)
	if err != nil || !step.Done || s.Vault == nil {
		return step, err
	}
	// The seal or unseal has happened; an inventory that cannot be stored
	// does not undo it, and the reply says so.
	r, err := s.Vault.Inventory(trigger, by)
	if err != nil {
		step.InventoryError = err.Error()
	}
	step.Inventory = r
	return step, nil
}

// reconcile compares what each safe should hold with what was seen; with
// v.mu held.
func (v *Vault) reconcile(now time.Time) *gateway.InventoryReport {
	r := &gateway.InventoryReport{Room: v.room, At: now, Missing: []gateway.InventItem{}, Misplaced: []gateway.InventItem{}, Unexpected: []gateway.InventItem{}}
	counts := map[string]*gateway.SafeCount{}
	safe := func(id string) *gateway.SafeCount {
		s := counts[id]
		if s == nil {
			s = &gateway.SafeCount{Safe: id}
			counts[id] = s
		}
		return s
	}
	for _, loc := range v.cfg.Antennas {
		if loc.Kind == gateway.LocSafe {
			safe(loc.ID)
		}
	}
	fresh := func(s sighting) bool {
		return !s.assumed && s.loc.Kind == gateway.LocSafe && now.Sub(s.at) < v.cfg.Present && !s.at.After(now)
	}
	for id, c := range v.carriers {
		if v.state[id].Status.Frozen() {
			continue // reported lost, or its life here ended: not expected in its safe
		}
		s := v.seen[id]
		item := func(note string) gateway.InventItem {
			return gateway.InventItem{Carrier: id, Title: c.Title, Class: c.Class, Home: c.Home, Location: s.loc.ID, SeenAt: s.at, Note: note}
		}
		if v.loans[id] != nil {
			r.OnLoan++
			if fresh(s) {
				r.Unexpected = append(r.Unexpected, item("signed out ("+v.loans[id].ID+"), yet in a safe"))
			}
			continue
		}
		home := safe(c.Home)
		home.Expected++
		switch {
		case fresh(s) && s.loc.ID == c.Home:
			home.Found++
		case fresh(s):
			r.Misplaced = append(r.Misplaced, item(""))
			safe(s.loc.ID)
		default:
			r.Missing = append(r.Missing, item(""))
		}
	}
	for epc, s := range v.unknown {
		if fresh(s) {
			r.Unexpected = append(r.Unexpected, gateway.InventItem{EPC: epc, Location: s.loc.ID, SeenAt: s.at, Note: "not in the register"})
		}
	}
	for _, s := range counts {
		r.Safes = append(r.Safes, *s)
	}
	sort.Slice(r.Safes, func(i, j int) bool { return r.Safes[i].Safe < r.Safes[j].Safe })
	for _, l := range [][]gateway.InventItem{r.Missing, r.Misplaced, r.Unexpected} {
		sort.Slice(l, func(i, j int) bool { return l[i].Carrier+l[i].EPC < l[j].Carrier+l[j].EPC })
	}
	r.AllHome = len(r.Missing) == 0 && len(r.Misplaced) == 0
	return r
}
