package room

import (
	"fmt"

	"github.com/roomguard/roomguard/gateway"
)

// safeState combines the contacts: the door decides first, since an open
// door with the bolt thrown is still an open safe.
func safeState(boltUnlocked, doorOpen bool) string {
	switch {
	case doorOpen:
		return gateway.SafeOpen
	case boltUnlocked:
		return gateway.SafeUnlocked
	}
	return gateway.SafeLocked
}

type safeRun struct {
	cfg      gateway.SafeConfig
	reminder func() bool // the pending reminder's stop, nil when locked
}

// AddSafe registers a safe whose bolt and door inputs are already added.
// Its state (locked, unlocked, open) is a device of its own, retained like
// any other and part of the seal snapshot; a safe not locked for its
// OpenReminder raises the safe-left-open reminder, restored once locked.
func (e *Engine) AddSafe(s gateway.SafeConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	run := &safeRun{cfg: s}
	e.safes[s.Bolt], e.safes[s.Door] = run, run
	e.safeRuns = append(e.safeRuns, run)
	state := safeState(e.states[s.Bolt].Active, e.states[s.Door].Active)
	e.states[s.ID] = gateway.DeviceState{Device: s.ID, Kind: gateway.KindSafe, Name: s.Name, State: state, Active: state != gateway.SafeLocked, Since: e.clock.Now()}
}

// startSafes arms the reminders of the safes found not locked at start, and
// restores the reminders of those found locked, in one change of the room.
func (e *Engine) startSafes() error {
	return e.panel.do(func(c *change) error {
		for _, run := range e.safeRuns {
			e.remindIn(c, run, e.stateIn(c, run.cfg.ID).State)
		}
		return nil
	})
}

// safeIn is the safe's derived state after its contact changed to st, in
// change c, and whether it differs from the one before.
func (e *Engine) safeIn(c *change, run *safeRun, st gateway.DeviceState) (gateway.DeviceState, bool) {
	s := run.cfg
	bolt, door := e.stateIn(c, s.Bolt), e.stateIn(c, s.Door)
	switch st.Device {
	case s.Bolt:
		bolt = st
	case s.Door:
		door = st
	}
	state := safeState(bolt.Active, door.Active)
	if e.stateIn(c, s.ID).State == state {
		return gateway.DeviceState{}, false
	}
	return gateway.DeviceState{Device: s.ID, Kind: gateway.KindSafe, Name: s.Name, State: state, Active: state != gateway.SafeLocked, Since: st.Since}, true
}

// remindIn arms the reminder of a safe not locked, or ends it and restores
// its alarm in change c (a safe locked again).
func (e *Engine) remindIn(c *change, run *safeRun, state string) {
	e.safeMu.Lock()
	defer e.safeMu.Unlock()
	if state == gateway.SafeLocked {
		if run.reminder != nil {
			run.reminder()
			run.reminder = nil
		}
		e.panel.restore(c, func(a *gateway.Alarm) bool { return a.Class == gateway.AlarmSafeLeftOpen && a.Device == run.cfg.ID })
		return
	}
	if run.reminder == nil {
		run.reminder = e.clock.AfterFunc(run.cfg.OpenReminder, func() { e.safeLeftOpen(run) })
	}
}

// safeLeftOpen is the reminder of a safe not locked for its OpenReminder.
func (e *Engine) safeLeftOpen(run *safeRun) {
	s := run.cfg
	e.mu.Lock()
	now := e.states[s.ID].State
	e.mu.Unlock()
	if now == gateway.SafeLocked {
		return
	}
	if _, err := e.panel.Raise(gateway.AlarmSafeLeftOpen, s.ID, fmt.Sprintf("safe %s (%s) %s for more than %s", s.ID, s.Name, now, s.OpenReminder)); err != nil {
		e.panel.Fault("raise safe-left-open on "+s.ID, err)
	}
}

// StopSafes ends the pending reminders.
func (e *Engine) StopSafes() {
	e.safeMu.Lock()
	defer e.safeMu.Unlock()
	for _, run := range e.safeRuns {
		if run.reminder != nil {
			run.reminder()
			run.reminder = nil
		}
	}
}
