package gateway

import (
	"fmt"
	"time"
)

// SafeConfig is a safe cabinet (保密柜): a bolt contact and a door contact.
type SafeConfig struct {
	ID           string
	Name         string
	Bolt         string // the safe-bolt input
	Door         string // the safe-door input
	OpenReminder time.Duration
}

// The states of a safe, from its two contacts.
const (
	SafeLocked   = "locked"   // door closed, bolt thrown
	SafeUnlocked = "unlocked" // door closed, bolt drawn
	SafeOpen     = "open"     // door open
)

// KindSafe is the kind of a safe's derived device state.
const KindSafe = "safe"

// safeState combines the contacts: the door decides first, since an open
// door with the bolt thrown is still an open safe.
func safeState(boltUnlocked, doorOpen bool) string {
	switch {
	case doorOpen:
		return SafeOpen
	case boltUnlocked:
		return SafeUnlocked
	}
	return SafeLocked
}

type safeRun struct {
	cfg      SafeConfig
	reminder func() bool // the pending reminder's stop, nil when locked
}

// AddSafe registers a safe whose bolt and door inputs are already added.
// Its state (locked, unlocked, open) is a device of its own, retained like
// any other and part of the seal snapshot; a safe not locked for its
// OpenReminder raises the safe-left-open reminder, restored once locked.
func (e *Engine) AddSafe(s SafeConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	run := &safeRun{cfg: s}
	e.safes[s.Bolt], e.safes[s.Door] = run, run
	e.safeRuns = append(e.safeRuns, run)
	state := safeState(e.states[s.Bolt].Active, e.states[s.Door].Active)
	e.states[s.ID] = DeviceState{Device: s.ID, Kind: KindSafe, Name: s.Name, State: state, Active: state != SafeLocked, Since: e.clock.Now()}
}

// safeInput follows a change of one of a safe's contacts, logged as seq.
func (e *Engine) safeInput(run *safeRun, at time.Time, seq uint64) error {
	e.safeMu.Lock()
	defer e.safeMu.Unlock()
	e.mu.Lock()
	s := run.cfg
	state := safeState(e.states[s.Bolt].Active, e.states[s.Door].Active)
	cur := e.states[s.ID]
	e.mu.Unlock()
	if cur.State == state {
		return nil
	}
	st := DeviceState{Device: s.ID, Kind: KindSafe, Name: s.Name, State: state, Active: state != SafeLocked, Since: at, Seq: seq}
	if _, err := e.log.AppendWithStates(nil, []DeviceState{st}); err != nil {
		return fmt.Errorf("safe %s: %w", s.ID, err)
	}
	e.recorded(st, seq)
	return e.remind(run, state)
}

// remind arms the reminder of a safe not locked, or ends it; with safeMu held.
func (e *Engine) remind(run *safeRun, state string) error {
	if state == SafeLocked {
		if run.reminder != nil {
			run.reminder()
			run.reminder = nil
		}
		if e.panel != nil {
			return e.panel.Restore(AlarmSafeLeftOpen, run.cfg.ID)
		}
		return nil
	}
	if run.reminder != nil || e.panel == nil {
		return nil
	}
	s := run.cfg
	run.reminder = e.clock.AfterFunc(s.OpenReminder, func() {
		e.mu.Lock()
		now := e.states[s.ID].State
		e.mu.Unlock()
		if now == SafeLocked {
			return
		}
		if _, err := e.panel.Raise(AlarmSafeLeftOpen, s.ID, fmt.Sprintf("safe %s (%s) %s for more than %s", s.ID, s.Name, now, s.OpenReminder)); err != nil {
			e.panel.Fault("raise safe-left-open on "+s.ID, err)
		}
	})
	return nil
}

// startSafes arms the reminders of the safes found not locked at start.
func (e *Engine) startSafes() error {
	e.safeMu.Lock()
	defer e.safeMu.Unlock()
	for _, run := range e.safeRuns {
		e.mu.Lock()
		state := e.states[run.cfg.ID].State
		e.mu.Unlock()
		if err := e.remind(run, state); err != nil {
			return err
		}
	}
	return nil
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
