package room

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Panel is the room's alarm panel: the mode, the alarms, the seal and their
// timers. Every change is logged with the state it leads to in one
// transaction, then published; an operation that fails changes nothing.
type Panel struct {
	room  string
	cfg   gateway.PanelConfig
	clock gateway.Clock
	log   gateway.PanelLog
	sink  gateway.PanelSink

	// The room's other parts, joined by New: the engine (the devices'
	// states, the sirens), entry control (who is inside) and carrier
	// tracking (nil in a room without it).
	engine *Engine
	access *Access
	vault  *Vault

	// Log receives the gateway faults as they happen; nil: slog.Default().
	Log *slog.Logger

	mu        sync.Mutex
	st        *gateway.PanelState
	stopTimer func() bool
	timerAt   time.Time
	work      *gateway.WorkSchedule
	published *gateway.PanelState              // what the sink has; nil: nothing yet
	refused   refusals                         // commands refused lately (Room.Refused)
	repeats   repeats                          // alarm.repeated logged lately, by alarm
	safeAsks  map[string]*gateway.Confirmation // top-secret safes' releases waiting for a second person (SafeRelease)
	keyAsks   map[string]*keyAsk               // combination and key changes waiting for their witness (KeyChanged)

	qmu       sync.Mutex // guards queue, draining, acts and actuating
	queue     []*op
	draining  bool
	acts      []actuation // outputs to drive, in the order their changes were committed
	actuating bool        // someone is driving acts

	stopped atomic.Bool // Stop was called: no timer is set any more
	stopEOD func() bool // the end-of-day check's timer

	fmu          sync.Mutex  // guards held, stopRetry and stopUnlogged
	held         []heldFault // gateway faults not yet in the log
	stopRetry    func() bool
	stopUnlogged func() bool // the siren sounded for a change not in the log (soundUnlogged)
}

// newPanel returns the panel of room.
func newPanel(room string, cfg gateway.PanelConfig, clock gateway.Clock, log gateway.PanelLog, sink gateway.PanelSink) *Panel {
	return &Panel{room: room, cfg: cfg, clock: clock, log: log, sink: sink,
		st: &gateway.PanelState{Mode: gateway.ModeOpen, Since: clock.Now()}}
}

// State returns a copy of the panel's state.
func (p *Panel) State() *gateway.PanelState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Clone()
}

// publish sends the sink what changed since it was last sent (at start:
// everything).
func (p *Panel) publish(report *gateway.SealReport) {
	if p.sink == nil {
		return
	}
	prev := p.published
	p.published = p.st
	if prev == nil || !sameMode(prev, p.st) {
		p.sink.Mode(p.modeJSON())
	}
	was := map[string]gateway.Alarm{}
	if prev != nil {
		for _, a := range prev.Alarms {
			was[a.ID] = *a
		}
	}
	for _, a := range p.st.Alarms {
		if old, ok := was[a.ID]; !ok || old != *a {
			p.sink.Alarm(a.ID, a.AlarmJSON(p.room))
		}
		delete(was, a.ID)
	}
	for id := range was { // closed
		p.sink.Alarm(id, nil)
	}
	if report != nil {
		p.sink.SealReport(report.SealID, mustJSON(report))
	}
}

// outputs adds to c the outputs its state drives: the sirens on or off as
// the panel's state turned them, and the exit fault's chirp.
func (p *Panel) outputs(c *change) {
	if c.next.SirenOn != p.st.SirenOn {
		cause := "alarm"
		for _, a := range c.next.Alarms {
			if spec, _ := a.Class.Spec(); spec.Audible && !a.Acknowledged() {
				cause = "alarm " + a.ID
			}
		}
		if !c.next.SirenOn {
			cause = "silenced"
			if !c.next.SirenUntil.IsZero() && !c.now.Before(c.next.SirenUntil) {
				cause = "cut-off"
			}
		}
		p.engine.setSirens(c, c.next.SirenOn, cause)
	}
	if c.chirp && !c.next.SirenOn {
		p.engine.chirp(c, p.cfg.Chirp, "exit-fault")
	}
}

// sameMode reports whether a and b publish the same mode payload.
func sameMode(a, b *gateway.PanelState) bool {
	return a.Mode == b.Mode && a.Since.Equal(b.Since) && slices.Equal(a.By, b.By) &&
		a.ExitUntil.Equal(b.ExitUntil) && a.EntryUntil.Equal(b.EntryUntil) && a.EntryDevice == b.EntryDevice &&
		(a.Bypassed == nil) == (b.Bypassed == nil) && (a.Seal == nil) == (b.Seal == nil) && len(a.Alarms) == len(b.Alarms) &&
		len(a.SealOnExit) == len(b.SealOnExit) && a.Triggered() == b.Triggered()
}

// modeJSON is the payload of roomguard/<room>/mode (retained).
func (p *Panel) modeJSON() json.RawMessage {
	s := p.st
	m := map[string]any{"room": p.room, "mode": s.Mode, "since": s.Since.Format(gateway.TimeFormat), "open_alarms": len(s.Alarms)}
	if len(s.By) > 0 {
		m["by"] = s.By
	}
	if !s.ExitUntil.IsZero() {
		m["exit_until"] = s.ExitUntil.Format(gateway.TimeFormat)
	}
	if !s.EntryUntil.IsZero() {
		m["entry_until"] = s.EntryUntil.Format(gateway.TimeFormat)
		m["entry_device"] = s.EntryDevice
	}
	if s.Bypassed != nil {
		m["bypassed"] = s.Bypassed.Devices
	}
	if s.Seal != nil {
		m["seal_id"] = s.Seal.ID
	}
	if s.SealOnExit != nil {
		m["sealing"] = true // the exit delay ends in the seal
	}
	if s.Triggered() {
		m["triggered"] = true
	}
	return mustJSON(m)
}

// load reads the state the panel had when the gateway last stopped.
func (p *Panel) load() error {
	saved, err := p.log.LoadPanel()
	if err != nil {
		return fmt.Errorf("load panel: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if saved != nil {
		p.st = saved
	}
	return nil
}

// restart adds to c, the start's change, what the restart means to the
// panel: a room that was armed or sealed when the gateway stopped stays so,
// and gateway.restarted records the downtime; deadlines that passed
// meanwhile take effect now; a siren that was sounding sounds again.
func (p *Panel) restart(c *change, previousStop time.Time) {
	if c.next.Mode != gateway.ModeOpen && !previousStop.IsZero() {
		c.event("gateway.restarted", gateway.SeverityWarning, "", "", map[string]any{
			"mode": c.next.Mode, "previous_stop": previousStop.Format(gateway.TimeFormat),
			"downtime_s": int64(c.now.Sub(previousStop).Seconds())})
	}
	p.due(c)
	if c.next.SirenOn && p.st.SirenOn {
		p.engine.setSirens(c, true, "restart")
	}
	if p.sink != nil { // a fault held by the previous run was lost with it; it is not current
		c.published = append(c.published, func() { p.sink.Alarm(p.heldAlarmID(), nil) })
	}
}

// Stop ends the panel's timers: its deadlines, the end-of-day checks and the
// retries of held faults. The state stays as logged; the next start takes
// the deadlines that passed meanwhile.
func (p *Panel) Stop() {
	p.stopped.Store(true)
	p.mu.Lock()
	for _, stop := range []*func() bool{&p.stopTimer, &p.stopEOD} {
		if *stop != nil {
			(*stop)()
			*stop = nil
		}
	}
	p.mu.Unlock()
	p.fmu.Lock()
	for _, stop := range []*func() bool{&p.stopRetry, &p.stopUnlogged} {
		if *stop != nil {
			(*stop)()
			*stop = nil
		}
	}
	p.fmu.Unlock()
	p.refused.halt()
}

// schedule sets one timer for the panel's next deadline. Called with p.mu held.
func (p *Panel) schedule() {
	if p.stopped.Load() {
		return
	}
	next := p.nextDeadline()
	if next.Equal(p.timerAt) && p.stopTimer != nil {
		return
	}
	if p.stopTimer != nil {
		p.stopTimer()
		p.stopTimer = nil
	}
	p.timerAt = next
	if next.IsZero() {
		return
	}
	d := next.Sub(p.clock.Now())
	if d < 0 {
		d = 0
	}
	p.stopTimer = p.clock.AfterFunc(d, p.tick)
}

func (p *Panel) nextDeadline() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	s := p.st
	consider(s.ExitUntil)
	consider(s.EntryUntil)
	if s.SirenOn {
		consider(s.SirenUntil)
	}
	for _, a := range s.Alarms {
		consider(p.escalationAt(a))
	}
	return next
}

func (p *Panel) escalationAt(a *gateway.Alarm) time.Time {
	if a.Acknowledged() || a.Level >= len(p.cfg.Escalation) {
		return time.Time{}
	}
	return a.RaisedAt.Add(p.cfg.Escalation[a.Level])
}

// tick handles every deadline that has passed.
func (p *Panel) tick() {
	err := p.do(func(c *change) error {
		p.stopTimer, p.timerAt = nil, time.Time{}
		p.due(c)
		return nil
	})
	if err != nil && !p.stopped.Load() { // not logged, so not done: try again shortly
		p.mu.Lock()
		if p.stopTimer != nil {
			p.stopTimer()
		}
		p.stopTimer, p.timerAt = p.clock.AfterFunc(time.Second, p.tick), p.clock.Now().Add(time.Second)
		p.mu.Unlock()
	}
}

// due applies the deadlines passed by c.now.
func (p *Panel) due(c *change) {
	s := c.next
	if !s.ExitUntil.IsZero() && !c.now.Before(s.ExitUntil) {
		p.exitEnds(c)
	}
	if !s.EntryUntil.IsZero() && !c.now.Before(s.EntryUntil) {
		dev := s.EntryDevice
		s.EntryUntil, s.EntryDevice = time.Time{}, ""
		p.raise(c, gateway.AlarmIntrusion, dev, "not disarmed within the entry delay", c.deviceActive(dev))
	}
	if s.SirenOn && !s.SirenUntil.IsZero() && !c.now.Before(s.SirenUntil) {
		s.SirenOn = false // EN 50131 cut-off; the alarm stays open
		c.event("siren.cutoff", gateway.SeverityWarning, "", "", map[string]any{"after_s": int64(p.cfg.SirenCutoff.Seconds())})
	}
	for _, a := range s.Alarms {
		for at := p.escalationAt(a); !at.IsZero() && !c.now.Before(at); at = p.escalationAt(a) {
			a.Level++
			c.event("alarm.escalated", gateway.SeverityCritical, a.Device, "", map[string]any{"alarm": a.ID, "class": a.Class, "level": a.Level})
		}
	}
	if s.Pending != nil && c.now.Sub(s.Pending.At) > p.cfg.TwoPersonWindow {
		s.Pending = nil // expired; no event: the first confirmation was logged
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Mode returns the room's mode.
func (p *Panel) Mode() gateway.Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Mode
}

// Input applies an input's accepted change: the alarms it raises in the
// present mode, and the alarms it restores.
func (p *Panel) Input(id string, kind gateway.InputKind, active bool) error {
	return p.do(func(c *change) error { p.input(c, id, kind, active, ""); return nil })
}

func (p *Panel) input(c *change, id string, kind gateway.InputKind, active bool, detail string) {
	s := c.next
	if !active {
		p.restore(c, func(a *gateway.Alarm) bool { return a.Device == id && restoresWithDevice(a.Class) })
		return
	}
	bypassed := s.Bypassed != nil && contains(s.Bypassed.Devices, id)
	switch kind {
	case gateway.KindTamper:
		p.raise(c, gateway.AlarmTamper, id, "tamper loop open", true)
	case gateway.KindPanic:
		p.raise(c, gateway.AlarmPanic, id, "panic button", true)
	case gateway.KindDuress:
		p.raise(c, gateway.AlarmDuress, id, "hold-up button", true) // silent: the catalogue's
	case gateway.KindSmoke:
		p.raise(c, gateway.AlarmFire, id, "smoke detected", true)
	case gateway.KindWater:
		p.raise(c, gateway.AlarmWater, id, "water on the floor", true)
	case gateway.KindClimate:
		if detail == "" {
			detail = "temperature or humidity out of the room's limits"
		}
		p.raise(c, gateway.AlarmEnvironment, id, detail, true)
	case gateway.KindDoor, gateway.KindWindow, gateway.KindIRDetector:
		switch {
		case bypassed:
		case s.Mode == gateway.ModeSealed:
			class, detail := gateway.AlarmSealBroken, string(kind)+" opened while sealed"
			if kind == gateway.KindIRDetector {
				class, detail = gateway.AlarmIntrusion, "motion while sealed"
			}
			p.raise(c, class, id, detail, true)
		case s.Mode == gateway.ModeArmed && !s.ExitUntil.IsZero():
			// Exit delay: the way out is open; a window is not the way out.
			if kind == gateway.KindWindow {
				p.raise(c, gateway.AlarmIntrusion, id, "window opened during the exit delay", true)
			}
		case s.Mode == gateway.ModeArmed && kind == gateway.KindDoor:
			if s.EntryUntil.IsZero() {
				s.EntryUntil, s.EntryDevice = c.now.Add(p.cfg.EntryDelay), id
				c.event("entry.delay", gateway.SeverityWarning, id, "", map[string]any{"until": s.EntryUntil.Format(gateway.TimeFormat),
					"delay_s": int64(p.cfg.EntryDelay.Seconds())})
			}
		case s.Mode == gateway.ModeArmed && !s.EntryUntil.IsZero() && kind == gateway.KindIRDetector:
			// Someone came in through the entry route and has the delay to disarm.
		case s.Mode == gateway.ModeArmed:
			p.raise(c, gateway.AlarmIntrusion, id, string(kind)+" while armed", true)
		}
	case gateway.KindSafeBolt, gateway.KindSafeDoor:
		switch {
		case bypassed:
		case s.Mode == gateway.ModeSealed:
			p.raise(c, gateway.AlarmSealBroken, id, "safe opened while sealed", true)
		case s.Mode == gateway.ModeArmed:
			p.raise(c, gateway.AlarmSafeOpened, id, "safe opened while armed", true)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
