package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
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

// change is the room's unit of work: the operations of one batch, each an
// input, a badge, a command or a timer, with the events they log and every
// state they change — the panel's, the devices', entry control's, the
// carriers' — committed in one transaction (a gateway.Change), then
// published.
type change struct {
	p      *Panel
	next   *gateway.PanelState
	now    time.Time
	events []gateway.Event
	report *gateway.SealReport
	raised map[int]*gateway.Alarm  // index in events of each alarm.raised → its alarm
	sealed int                     // index in events of mode.sealed, -1 for none
	states []gateway.StateAt       // device states set by events of this change
	after  []func([]gateway.Event) // told the logged events once committed
	logged []gateway.Event         // the events as committed
	chirp  bool                    // an exit fault: chirp the siren and indicators once committed
	// The outputs the change drives, each logged in it: early ones before
	// the commit (a door opening for a person waits for nothing but the
	// decision), the others once it is committed; never under a lock.
	early, actuate []actuation
	// counted: the panel's state changed with no event to say it (an
	// alarm's repeat counted, not logged): the state is written all the same.
	counted bool

	// The other parts' share of the change.
	access    *gateway.AccessState            // who is inside after it (nil: unchanged)
	visit     *gateway.Visit                  // a visit registered or checked out
	carriers  map[string]gateway.CarrierState // the carriers' states it changed
	signOuts  []gateway.SignOut               // sign-outs opened, changed or closed
	inventory *gateway.InventoryReport
	published []func() // the other parts' publications, once committed
	failed    []func() // the other parts' undo, when the commit fails
}

// parts is the change as the log saves it.
func (c *change) parts() *gateway.Change {
	ch := &gateway.Change{Events: c.events, States: c.states, Panel: c.next, Access: c.access, Visit: c.visit,
		SignOuts: c.signOuts, Inventory: c.inventory, Seal: c.report}
	ids := make([]string, 0, len(c.carriers))
	for id := range c.carriers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ch.Carriers = append(ch.Carriers, c.carriers[id])
	}
	return ch
}

// empty reports whether the change has nothing to write.
func (c *change) empty() bool {
	return len(c.events) == 0 && !c.counted && c.access == nil && c.visit == nil && len(c.carriers) == 0 && len(c.signOuts) == 0 && c.inventory == nil
}

func (p *Panel) begin() *change {
	return &change{p: p, next: p.st.Clone(), now: p.clock.Now(), raised: map[int]*gateway.Alarm{}, sealed: -1, carriers: map[string]gateway.CarrierState{}}
}

// op is one operation waiting for the panel.
type op struct {
	fn   func(c *change) error
	err  error
	done chan struct{}
}

// do runs fn on the panel. Operations that arrive while a commit is being
// written are applied, in order, to one change and committed together (one
// fsync for many: the panel keeps up with bursts of inputs). An operation
// that fails is undone without touching its neighbours; a refusal keeps
// only its arming.refused event.
func (p *Panel) do(fn func(c *change) error) error {
	o := &op{fn: fn, done: make(chan struct{})}
	p.qmu.Lock()
	p.queue = append(p.queue, o)
	lead := !p.draining
	p.draining = true
	p.qmu.Unlock()
	if lead {
		p.drain()
	}
	<-o.done
	return o.err
}

func (p *Panel) drain() {
	p.qmu.Lock()
	batch := p.queue
	p.queue = nil
	if len(batch) == 0 {
		p.draining = false
		p.qmu.Unlock()
		return
	}
	p.qmu.Unlock()

	p.mu.Lock()
	c := p.begin()
	faults := p.includeFaults(c)
	inputs := p.engine.includePending(c)
	for _, o := range batch {
		saved, n, report, ns, na, counted := c.next.Clone(), len(c.events), c.report, len(c.states), len(c.after), c.counted
		np, nf, ne, nact := len(c.published), len(c.failed), len(c.early), len(c.actuate)
		if o.err = o.fn(c); o.err == nil {
			continue
		}
		c.next, c.report, c.states, c.after, c.counted = saved, report, c.states[:ns], c.after[:na], counted
		c.published, c.failed, c.early, c.actuate = c.published[:np], c.failed[:nf], c.early[:ne], c.actuate[:nact]
		var ref *gateway.RefusedError
		if !errors.As(o.err, &ref) {
			c.events = c.events[:n]
		}
		for i := range c.raised {
			if i >= n {
				delete(c.raised, i)
			}
		}
		if c.sealed >= n {
			c.sealed = -1
		}
	}
	p.mu.Unlock()
	// A door opening for a person is driven beside the commit, outside
	// every lock and outside the queue's turn (a driver that calls
	// back into the room synchronously queues behind it).
	var early chan struct{}
	if len(c.early) > 0 {
		early = make(chan struct{})
		go func() {
			defer close(early)
			for _, a := range c.early {
				p.engine.run(a)
			}
		}()
	}

	err := p.save(c)
	p.mu.Lock()
	var after []actuation
	if err != nil {
		for _, undo := range c.failed {
			undo()
		}
		p.fault("write the room's change to the log"+lostAlarms(c), err)
		after = p.soundUnlogged(c)
		refused := heldError{gateway.Errorf(gateway.ESTORAGE, "the log cannot write (%v): nothing was changed", err)}
		for _, o := range batch {
			var ref *gateway.RefusedError
			if o.err == nil || errors.As(o.err, &ref) { // a refusal's event is not in the log either
				o.err = refused
			}
		}
	} else {
		p.committed(c)
		p.faultsLogged(faults)
		p.engine.pendingLogged(inputs)
		after = append(p.unloggedSirenOver(), c.actuate...)
	}
	p.schedule()
	p.mu.Unlock()

	// The outputs are driven once no lock is held, in the commits' order,
	// and the queue's turn goes to a new drainer when operations wait: a
	// driver that calls back into the room (a report, a fault) finds it
	// free and is taken in turn.
	p.qmu.Lock()
	p.acts = append(p.acts, after...)
	p.draining = len(p.queue) > 0
	if p.draining {
		go p.drain()
	}
	p.qmu.Unlock()
	p.drive()
	if early != nil {
		<-early
	}
	for _, o := range batch {
		close(o.done)
	}
}

// drive drives every output waiting in p.acts, in order, unless someone is
// driving them already; a driver's error is a gateway fault (and, when
// asked, the operation's).
func (p *Panel) drive() {
	p.qmu.Lock()
	if p.actuating {
		p.qmu.Unlock()
		return
	}
	p.actuating = true
	for len(p.acts) > 0 {
		next := p.acts
		p.acts = nil
		p.qmu.Unlock()
		for _, a := range next {
			p.engine.run(a)
		}
		p.qmu.Lock()
	}
	p.actuating = false
	p.qmu.Unlock()
}

func (c *change) event(typ string, sev gateway.Severity, device, person string, data any) {
	c.events = append(c.events, newEvent(c.p.clock, c.now, typ, sev, device, person, data))
}

// save writes the change to the log, with the outputs its state drives;
// on error nothing changed. Only the drainer calls it, without p.mu: the
// panel's state changes only once the change is committed (committed), so
// readers wait for no fsync.
func (p *Panel) save(c *change) error {
	if c.empty() {
		return nil
	}
	p.outputs(c)
	var logged []gateway.Event
	var err error
	parts := c.parts()
	if len(c.raised) > 0 || c.sealed >= 0 {
		// The seqs are known only inside the transaction: the panel
		// state that names them is written there, in the same commit.
		parts.Logged = func(evs []gateway.Event) {
			for i, a := range c.raised {
				a.RaisedSeq = evs[i].Seq
			}
			if c.sealed >= 0 {
				c.next.Seal.Seq = evs[c.sealed].Seq // the seal report lists what follows
			}
		}
	}
	for try := 0; try < commitTries; try++ {
		if logged, err = p.log.SaveChange(parts); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	c.logged = logged
	return nil
}

// committed makes a saved change the panel's state and publishes it. With
// p.mu held.
func (p *Panel) committed(c *change) {
	if c.empty() {
		return
	}
	for _, f := range c.after {
		f(c.logged)
	}
	p.st = c.next
	p.publish(c.report)
	for _, f := range c.published {
		f()
	}
	p.schedule()
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
		len(a.SealOnExit) == len(b.SealOnExit)
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

// exitEnds takes the second look when the exit delay ends: the room arms
// only if it is still ready (with the arming's bypass). Otherwise it is an
// exit fault (EN 50131-1): the room stays open, an alarm names every point,
// and the siren and indicators chirp to tell the person leaving.
func (p *Panel) exitEnds(c *change) {
	s := c.next
	s.ExitUntil = time.Time{}
	sealing := s.SealOnExit
	rs := p.ready(c, s.Bypassed)
	if len(rs) == 0 && sealing != nil { // confirmed by two badges: the seal
		p.seal(c, sealing)
		if v := p.vault; v != nil { // the seal's inventory, once the seal is in the log
			by := sealing[len(sealing)-1]
			c.published = append(c.published, func() {
				go func() {
					if _, err := v.Inventory(gateway.InventorySeal, by); err != nil {
						p.logger().Error("the seal's inventory not taken", "err", err)
					}
				}()
			})
		}
		return
	}
	if len(rs) == 0 {
		c.event("mode.armed", gateway.SeverityInfo, "", first(s.By), map[string]any{"by": s.By})
		return
	}
	by := s.By
	s.Mode, s.Since, s.Bypassed, s.SealOnExit = gateway.ModeOpen, c.now, nil, nil
	c.event("mode.exit_fault", gateway.SeverityWarning, "", first(by), map[string]any{"by": by, "reasons": rs})
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.Detail)
	}
	p.raise(c, gateway.AlarmExitFault, "", "not armed: at the end of the exit delay "+strings.Join(parts, "; "), false)
	c.chirp = true
}

// devices is every device's state as this change sees it: the engine's,
// with the changes of earlier operations in the same batch on top.
func (c *change) devices() []gateway.DeviceState {
	ds := c.p.engine.States()
	for _, sa := range c.states {
		for i := range ds {
			if ds[i].Device == sa.State.Device {
				ds[i] = sa.State
			}
		}
	}
	return ds
}

func (c *change) deviceActive(id string) bool {
	if id == "" {
		return false
	}
	for _, d := range c.devices() {
		if d.Device == id {
			return d.Active
		}
	}
	return false
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// raise opens an alarm of class for device, or counts on the open alarm of
// the same condition. stillActive tells whether the condition is present
// now (if not, the alarm is restored at once: it still needs an ack).
func (p *Panel) raise(c *change, class gateway.AlarmClass, device, detail string, stillActive bool) *gateway.Alarm {
	spec, _ := class.Spec()
	return p.raiseAt(c, class, spec.Priority, device, detail, stillActive)
}

// raiseAt is raise with the alarm's priority given (a missing carrier's is
// its classification's), not the class's.
func (p *Panel) raiseAt(c *change, class gateway.AlarmClass, priority int, device, detail string, stillActive bool) *gateway.Alarm {
	spec, _ := class.Spec()
	spec.Priority = priority
	s := c.next
	for _, a := range s.Alarms {
		if a.Class == class && a.Device == device {
			a.Count++
			if stillActive {
				a.RestoredAt = time.Time{}
			}
			if skipped, log := p.repeats.take(a.ID, c.now, s.Alarms); log {
				data := map[string]any{"alarm": a.ID, "class": class, "count": a.Count}
				if skipped > 0 {
					data["not_logged"] = skipped
				}
				c.event("alarm.repeated", spec.Severity, device, "", data)
			} else {
				c.counted = true
			}
			p.sound(c, spec)
			return a
		}
	}
	s.NextAlarm++
	a := &gateway.Alarm{ID: fmt.Sprintf("%s-%d", p.room, s.NextAlarm), Class: class, Priority: spec.Priority, Device: device,
		Detail: detail, Silent: spec.Silent, RaisedAt: c.now, Count: 1}
	if !stillActive {
		a.RestoredAt = c.now
	}
	s.Alarms = append(s.Alarms, a)
	c.raised[len(c.events)] = a
	data := map[string]any{"alarm": a.ID, "class": class, "priority": spec.Priority, "silent": spec.Silent, "detail": detail, "mode": s.Mode}
	if !stillActive {
		data["restored"] = true // the condition is already over: an ack closes it
	}
	c.event("alarm.raised", spec.Severity, device, "", data)
	if s.Seal != nil && class == gateway.AlarmSealBroken {
		s.Seal.Broken = append(s.Seal.Broken, a.ID)
	}
	p.sound(c, spec)
	return a
}

func (p *Panel) sound(c *change, spec gateway.AlarmSpec) {
	if !spec.Audible || spec.Silent {
		return
	}
	c.next.SirenOn = true
	c.next.SirenUntil = c.now.Add(p.cfg.SirenCutoff)
}

// Raise opens an alarm for another capability (entry control, carriers,
// boards). It returns the alarm's id.
func (p *Panel) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	if _, ok := class.Spec(); !ok {
		return "", gateway.Errorf(gateway.EINVALID, "no alarm class %q", class)
	}
	var id string
	err := p.do(func(c *change) error {
		id = p.raise(c, class, device, detail, true).ID
		return nil
	})
	return id, err
}

// RaiseRestored opens an alarm for a condition that is already over when it
// is seen (five denials, a visitor left alone): it needs only an ack to close.
func (p *Panel) RaiseRestored(class gateway.AlarmClass, device, detail string) (string, error) {
	if _, ok := class.Spec(); !ok {
		return "", gateway.Errorf(gateway.EINVALID, "no alarm class %q", class)
	}
	var id string
	err := p.do(func(c *change) error {
		id = p.raise(c, class, device, detail, false).ID
		return nil
	})
	return id, err
}

// Mode returns the room's mode.
func (p *Panel) Mode() gateway.Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Mode
}

// Restore marks the open alarms of class for device as restored.
func (p *Panel) Restore(class gateway.AlarmClass, device string) error {
	return p.do(func(c *change) error {
		p.restore(c, func(a *gateway.Alarm) bool { return a.Class == class && a.Device == device })
		return nil
	})
}

func (p *Panel) restore(c *change, match func(*gateway.Alarm) bool) {
	var keep []*gateway.Alarm
	for _, a := range c.next.Alarms {
		if match(a) && !a.Restored() {
			a.RestoredAt = c.now
			c.event("alarm.restored", gateway.SeverityInfo, a.Device, "", map[string]any{"alarm": a.ID, "class": a.Class})
			if a.Acknowledged() {
				p.close(c, a)
				continue
			}
		}
		keep = append(keep, a)
	}
	c.next.Alarms = keep
}

func (p *Panel) close(c *change, a *gateway.Alarm) {
	a.ClosedAt = c.now
	c.event("alarm.closed", gateway.SeverityInfo, a.Device, "", map[string]any{"alarm": a.ID, "class": a.Class,
		"ack_by": a.AckBy, "open_s": int64(c.now.Sub(a.RaisedAt).Seconds())})
}

// Input applies an input's accepted change: the alarms it raises in the
// present mode, and the alarms it restores.
func (p *Panel) Input(id string, kind gateway.InputKind, active bool) error {
	return p.do(func(c *change) error { p.input(c, id, kind, active); return nil })
}

func (p *Panel) input(c *change, id string, kind gateway.InputKind, active bool) {
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

// restoresWithDevice tells which alarms end their condition when their
// device returns to normal.
func restoresWithDevice(c gateway.AlarmClass) bool {
	switch c {
	case gateway.AlarmIntrusion, gateway.AlarmSealBroken, gateway.AlarmTamper, gateway.AlarmPanic, gateway.AlarmDuress, gateway.AlarmSafeOpened, gateway.AlarmDoorForced, gateway.AlarmDoorHeldOpen:
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Ack acknowledges an alarm with a comment. An acknowledged alarm that is
// also restored closes.
func (p *Panel) Ack(id, by, comment string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "ack: who acknowledges is missing")
	}
	if strings.TrimSpace(comment) == "" {
		return gateway.Errorf(gateway.EINVALID, "ack: a comment is required (what was found, what was done)")
	}
	return p.do(func(c *change) error { return p.ack(c, id, by, comment) })
}

func (p *Panel) ack(c *change, id, by, comment string) error {
	var a *gateway.Alarm
	for _, x := range c.next.Alarms {
		if x.ID == id {
			a = x
		}
	}
	if a == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "ack: no open alarm %q", id)
	}
	if a.Acknowledged() {
		return gateway.Errorf(gateway.ECONFLICT, "ack: alarm %s was already acknowledged by %s", id, a.AckBy)
	}
	a.AckBy, a.AckAt, a.AckComment = by, c.now, comment
	c.event("alarm.acknowledged", gateway.SeverityInfo, a.Device, by, map[string]any{"alarm": a.ID, "class": a.Class, "comment": comment,
		"ack_s": int64(c.now.Sub(a.RaisedAt).Seconds())})
	if a.Restored() {
		p.close(c, a)
		var keep []*gateway.Alarm
		for _, x := range c.next.Alarms {
			if x != a {
				keep = append(keep, x)
			}
		}
		c.next.Alarms = keep
	}
	// The siren stops when no audible alarm is left unacknowledged.
	if c.next.SirenOn {
		loud := false
		for _, x := range c.next.Alarms {
			if spec, _ := x.Class.Spec(); spec.Audible && !x.Acknowledged() {
				loud = true
			}
		}
		if !loud {
			c.next.SirenOn, c.next.SirenUntil = false, time.Time{}
		}
	}
	return nil
}

// ready lists every reason the room cannot be armed or sealed now: the one
// rule, asked when arming is requested, when a seal is confirmed, and again
// when the exit delay ends. Every door, window and safe closed and locked;
// no motion; no active tamper or panic input; no open alarm of class tamper,
// panic, duress, device-fault or board-silent (a jammed lock, a cut zone, a
// silent board), nor a gateway fault (what it failed to record may be a
// point not ready); nobody inside; every carrier home. A bypass leaves out the
// points it names, never a tamper or a panic.
func (p *Panel) ready(c *change, bypass *gateway.Bypass) []gateway.Reason {
	s := c.next
	var rs []gateway.Reason
	seen := map[string]bool{}
	add := func(r gateway.Reason) {
		if k := r.Code + "/" + r.Device; !seen[k] {
			seen[k] = true
			rs = append(rs, r)
		}
	}
	skip := map[string]bool{}
	if bypass != nil {
		for _, d := range bypass.Devices {
			skip[d] = true
		}
	}
	for _, d := range c.devices() {
		if !d.Active {
			continue
		}
		switch gateway.InputKind(d.Kind) {
		case gateway.KindTamper: // 24-hour: never bypassed
			add(gateway.Reason{Code: "tamper", Device: d.Device, Detail: fmt.Sprintf("tamper %s is active", d.Device)})
		case gateway.KindPanic, gateway.KindDuress:
			add(gateway.Reason{Code: "panic", Device: d.Device, Detail: fmt.Sprintf("%s input %s is active", d.Kind, d.Device)})
		}
		if skip[d.Device] {
			continue
		}
		switch gateway.InputKind(d.Kind) {
		case gateway.KindDoor, gateway.KindWindow:
			add(gateway.Reason{Code: "open", Device: d.Device, Detail: fmt.Sprintf("%s %s is open", d.Kind, d.Device)})
		case gateway.KindIRDetector:
			add(gateway.Reason{Code: "motion", Device: d.Device, Detail: fmt.Sprintf("motion on %s", d.Device)})
		case gateway.KindSafeBolt:
			add(gateway.Reason{Code: "safe-unlocked", Device: d.Device, Detail: fmt.Sprintf("safe bolt %s is unlocked", d.Device)})
		case gateway.KindSafeDoor:
			add(gateway.Reason{Code: "safe-open", Device: d.Device, Detail: fmt.Sprintf("safe door %s is open", d.Device)})
		}
	}
	for _, a := range s.Alarms {
		switch a.Class {
		case gateway.AlarmTamper:
			add(gateway.Reason{Code: "tamper", Device: a.Device, Detail: fmt.Sprintf("tamper on %s (alarm %s, %s)", a.Device, a.ID, a.State())})
		case gateway.AlarmPanic, gateway.AlarmDuress:
			add(gateway.Reason{Code: "panic", Device: a.Device, Detail: fmt.Sprintf("%s on %s (alarm %s, %s)", a.Class, a.Device, a.ID, a.State())})
		case gateway.AlarmGatewayFault: // what the gateway failed to record may be a point not ready
			add(gateway.Reason{Code: "fault", Device: a.Device, Detail: fmt.Sprintf("%s (alarm %s, %s): %s", a.Class, a.ID, a.State(), a.Detail)})
		case gateway.AlarmDeviceFault, gateway.AlarmBoardSilent:
			if !skip[a.Device] {
				add(gateway.Reason{Code: "fault", Device: a.Device, Detail: fmt.Sprintf("%s on %s (alarm %s, %s)", a.Class, a.Device, a.ID, a.State())})
			}
		}
	}
	if in := p.access.Inside(); len(in) > 0 {
		add(gateway.Reason{Code: "occupied", Device: "", Detail: "still inside: " + strings.Join(in, ", ")})
	}
	if p.vault != nil {
		for _, r := range p.vault.Away() {
			if !skip[r.Device] {
				add(r)
			}
		}
	}
	return rs
}

// Arm arms the room: refused, with every reason, unless the preconditions
// hold (or are bypassed); then the exit delay runs.
func (p *Panel) Arm(by string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "arm: who arms is missing")
	}
	return p.do(func(c *change) error { return p.arm(c, by) })
}

func (p *Panel) arm(c *change, by string) error {
	s := c.next
	switch s.Mode {
	case gateway.ModeArmed:
		return gateway.Errorf(gateway.ECONFLICT, "arm: the room is already armed")
	case gateway.ModeSealed:
		return gateway.Errorf(gateway.ECONFLICT, "arm: the room is sealed; unseal it first")
	}
	if rs := p.ready(c, s.Bypass); len(rs) > 0 {
		return p.refuse(c, "arm", by, rs)
	}
	s.Mode, s.Since, s.By = gateway.ModeArmed, c.now, []string{by}
	s.ExitUntil = c.now.Add(p.cfg.ExitDelay)
	s.Bypassed, s.Bypass = s.Bypass, nil
	data := map[string]any{"by": by, "exit_delay_s": int64(p.cfg.ExitDelay.Seconds())}
	if s.Bypassed != nil {
		data["bypass"] = s.Bypassed
	}
	c.event("mode.arming", gateway.SeverityInfo, "", by, data)
	return nil
}

// refuse records the refusal (do keeps its event, undoes everything else).
func (p *Panel) refuse(c *change, op, by string, rs []gateway.Reason) error {
	c.event("arming.refused", gateway.SeverityWarning, "", by, map[string]any{"op": op, "by": by, "reasons": rs})
	return &gateway.RefusedError{Op: op, Reasons: rs}
}

// Disarm ends an arming (or its exit or entry delay).
func (p *Panel) Disarm(by string) error {
	if strings.TrimSpace(by) == "" {
		return gateway.Errorf(gateway.EINVALID, "disarm: who disarms is missing")
	}
	return p.do(func(c *change) error { return p.disarm(c, by) })
}

func (p *Panel) disarm(c *change, by string) error {
	s := c.next
	switch s.Mode {
	case gateway.ModeOpen:
		return gateway.Errorf(gateway.ECONFLICT, "disarm: the room is not armed")
	case gateway.ModeSealed:
		return gateway.Errorf(gateway.ECONFLICT, "disarm: the room is sealed; unsealing needs two people")
	}
	data := map[string]any{"by": by}
	if !s.EntryUntil.IsZero() {
		data["during_entry_delay"] = true
	}
	s.Mode, s.Since, s.By = gateway.ModeOpen, c.now, []string{by}
	s.ExitUntil, s.EntryUntil, s.EntryDevice, s.Bypassed, s.SealOnExit = time.Time{}, time.Time{}, "", nil, nil
	c.event("mode.disarmed", gateway.SeverityInfo, "", by, data)
	return nil
}

// SetBypass registers devices to leave out of the next arming, with a reason.
func (p *Panel) SetBypass(by, reason string, devices []string) error {
	switch {
	case strings.TrimSpace(by) == "":
		return gateway.Errorf(gateway.EINVALID, "bypass: who bypasses is missing")
	case strings.TrimSpace(reason) == "":
		return gateway.Errorf(gateway.EINVALID, "bypass: a reason is required")
	case len(devices) == 0:
		return gateway.Errorf(gateway.EINVALID, "bypass: no devices")
	}
	known := map[string]gateway.InputKind{}
	for _, d := range p.engine.States() {
		known[d.Device] = gateway.InputKind(d.Kind)
	}
	for _, d := range devices {
		k, ok := known[d]
		if !ok {
			return gateway.Errorf(gateway.ENOTFOUND, "bypass: no device %q", d)
		}
		if k == gateway.KindTamper || k == gateway.KindPanic || k == gateway.KindDuress {
			return gateway.Errorf(gateway.EINVALID, "bypass: %s is a 24-hour zone (%s) and cannot be bypassed", d, k)
		}
	}
	sorted := append([]string(nil), devices...)
	sort.Strings(sorted)
	return p.do(func(c *change) error {
		if c.next.Mode != gateway.ModeOpen {
			return gateway.Errorf(gateway.ECONFLICT, "bypass: only before arming (the room is %s)", c.next.Mode)
		}
		c.next.Bypass = &gateway.Bypass{Devices: sorted, Reason: reason, By: by, At: c.now}
		c.event("arming.bypass", gateway.SeverityWarning, "", by, map[string]any{"by": by, "reason": reason, "devices": sorted})
		return nil
	})
}
