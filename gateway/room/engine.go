package room

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Engine turns device changes into logged events and device states. Each
// device reports from its own goroutine, so changes of one device are handled
// in order while different devices are logged concurrently (group commit).
type Engine struct {
	room  string
	clock gateway.Clock
	log   gateway.RoomLog
	sink  gateway.StateSink

	mu       sync.Mutex
	inputs   map[string]*gateway.Input
	outputs  map[string]*gateway.Output
	states   map[string]gateway.DeviceState
	started  bool
	panel    *Panel
	access   *Access
	safes    map[string]*safeRun // by bolt and door input id
	safeRuns []*safeRun          // each safe once
	safeMu   sync.Mutex          // one safe change at a time
	pending  []pendingInput      // changes the log could not take yet, in order (keep)
	pulses   map[string]pulse    // each output's last pulse, by id
	climate  gateway.ClimateLimits
	readings map[string]climateReading // each climate sensor's last reading
}

// climateReading is a climate sensor's last reading and, out of range, why.
type climateReading struct {
	gateway.Reading
	why string
}

// pulse is an output's pulse: which one (every change of the output counts
// one up, so a pulse cut short by a later change does not end it again)
// and the timer that logs its end.
type pulse struct {
	gen  uint64
	stop func() bool
}

// newEngine returns an engine for room.
func newEngine(room string, clock gateway.Clock, log gateway.RoomLog, sink gateway.StateSink, climate gateway.ClimateLimits) *Engine {
	return &Engine{room: room, clock: clock, log: log, sink: sink,
		inputs: map[string]*gateway.Input{}, outputs: map[string]*gateway.Output{}, states: map[string]gateway.DeviceState{},
		safes: map[string]*safeRun{}, pulses: map[string]pulse{}, climate: climate, readings: map[string]climateReading{}}
}

// Reading takes a climate sensor's reading: out of the room's limits (or
// back within them, past the hysteresis) it is the sensor's input changing
// state, logged with the reading, raising or restoring the environment
// alarm; otherwise only the sensor's retained state shows it (readings are
// not logged one by one: a sensor read every 30 s would fill the log with
// a million a year).
func (e *Engine) Reading(id string, r gateway.Reading, at time.Time) error {
	e.mu.Lock()
	in, ok := e.inputs[id]
	if !ok || in.Kind != gateway.KindClimate {
		e.mu.Unlock()
		return gateway.Errorf(gateway.ENOTFOUND, "no climate sensor %q", id)
	}
	st := e.states[id]
	out, why := e.climate.Check(r, st.Active)
	e.readings[id] = climateReading{r, why}
	started := e.started
	e.mu.Unlock()
	if out != st.Active {
		return e.InputChanged(id, out, at)
	}
	if started {
		st.Reading = &r
		e.sink.DeviceState(st)
	}
	return nil
}

// AddInput registers an input with the state it reads now.
func (e *Engine) AddInput(in gateway.Input, active bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inputs[in.ID] = &in
	e.states[in.ID] = gateway.DeviceState{Device: in.ID, Kind: string(in.Kind), Name: in.Name,
		State: in.Kind.StateName(active), Active: active, Since: e.clock.Now()}
}

// AddOutput registers an output; outputs start off.
func (e *Engine) AddOutput(out gateway.Output) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outputs[out.ID] = &out
	e.states[out.ID] = gateway.DeviceState{Device: out.ID, Kind: string(out.Kind), Name: out.Name,
		State: gateway.OutputStateName(false), Since: e.clock.Now()}
}

// Start logs, in one change, gateway.started and, for every input whose
// state differs from the one recorded when the gateway last ran, the change
// it missed (flagged at_start): a door opened while the gateway was down is
// still reported, and counts as if seen now (a window opened during a
// sealed outage breaks the seal). The panel's saved state comes back with
// it (Panel.restart).
func (e *Engine) Start(version string, sim bool) error {
	recorded, err := e.log.DeviceStates()
	if err != nil {
		return err
	}
	started := map[string]any{"version": version, "sim": sim}
	var previousStop time.Time
	if last, err := e.log.LastSeq(); err == nil && last > 0 {
		prev, err := e.log.Query(gateway.EventFilter{AfterSeq: last - 1})
		if err == nil && len(prev) == 1 {
			previousStop = prev[0].TS
			started["previous_stop"] = prev[0].TS.Format(gateway.TimeFormat)
			started["clean_stop"] = prev[0].Type == "gateway.stopped"
		}
	}
	if err := e.panel.load(); err != nil {
		return err
	}
	var states []gateway.DeviceState
	err = e.panel.do(func(c *change) error {
		c.event("gateway.started", gateway.SeverityInfo, "", "", started)
		e.mu.Lock()
		ids := make([]string, 0, len(e.states))
		for id := range e.states {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		type missed struct {
			id     string
			kind   gateway.InputKind
			active bool
		}
		var missing []missed
		states = states[:0]
		for _, id := range ids {
			st := e.states[id]
			rec, known := recorded[id]
			in, isInput := e.inputs[id]
			at := -1
			if isInput && known && rec.Active != st.Active {
				typ, sev := in.Kind.EventFor(st.Active)
				c.events = append(c.events, gateway.Event{TS: c.now, ClockTrusted: e.clock.Trusted(), Type: typ, Severity: sev,
					Device: id, Data: mustJSON(map[string]bool{"at_start": true})})
				at = len(c.events) - 1
				missing = append(missing, missed{id, in.Kind, st.Active})
			} else if known && rec.Active == st.Active {
				st.Since, st.Seq = rec.Since, rec.Seq // unchanged since it was recorded
			}
			c.states = append(c.states, gateway.StateAt{State: st, Event: at})
			states = append(states, st)
		}
		e.mu.Unlock()
		first := len(c.states) - len(states)
		c.after = append(c.after, func(logged []gateway.Event) {
			e.mu.Lock()
			for i := range states {
				if at := c.states[first+i].Event; at >= 0 {
					states[i].Seq = logged[at].Seq
				}
				e.states[states[i].Device] = states[i]
			}
			e.started = true
			e.mu.Unlock()
		})
		c.published = append(c.published, func() {
			for _, st := range states {
				e.sink.DeviceState(st)
			}
		})
		e.panel.restart(c, previousStop)
		for _, m := range missing {
			e.panel.input(c, m.id, m.kind, m.active, "")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("log start: %w", err)
	}
	return e.startSafes()
}

// Stop logs, in one change, every output turned off and gateway.stopped,
// the room's last event; then turns the outputs off.
func (e *Engine) Stop(reason string) error {
	e.mu.Lock()
	for id, p := range e.pulses {
		if p.stop != nil {
			p.stop()
			e.pulses[id] = pulse{gen: p.gen}
		}
	}
	e.mu.Unlock()
	return e.panel.do(func(c *change) error {
		for _, out := range e.outputsOf() {
			e.setOutput(c, out, false, 0, "stop", false, nil)
		}
		c.event("gateway.stopped", gateway.SeverityInfo, "", "", map[string]string{"reason": reason})
		return nil
	})
}

// InputChanged records an accepted change of an input. It returns once the
// event is durable. An exit button pressed releases its door's strike in
// the same change, before it is written: the door opens for a person
// leaving even when the log cannot write.
func (e *Engine) InputChanged(id string, active bool, at time.Time) error {
	e.mu.Lock()
	in, ok := e.inputs[id]
	behind := len(e.pending) > 0
	if ok && behind {
		e.keep(pendingInput{id: id, active: active, at: at})
	}
	e.mu.Unlock()
	if !ok {
		return gateway.Errorf(gateway.ENOTFOUND, "no input %q", id)
	}
	var strikeErr error
	release := func(c *change) {
		if in.Kind == gateway.KindExitButton && active && in.Strike != "" {
			if err := e.releaseStrike(c, in.Strike, id, &strikeErr); err != nil {
				strikeErr = err
			}
		}
	}
	if behind {
		// Inputs the log could not take are still waiting: this one goes
		// behind them, in the next change, which writes them first.
		return errors.Join(e.panel.do(func(c *change) error { release(c); return nil }), strikeErr)
	}
	err := e.panel.do(func(c *change) error {
		e.apply(c, in, active, at)
		release(c)
		return nil
	})
	if err != nil {
		var h heldError
		if errors.As(err, &h) {
			// The log could not write it (a full disk): the driver will
			// not report it again, so the room keeps it and writes it
			// with the next change that can be written (issue 27,
			// finding 2). Until then the room's view of the device is
			// what it was; the alarm it raises is held as a gateway fault.
			e.mu.Lock()
			e.keep(pendingInput{id: id, active: active, at: at})
			e.mu.Unlock()
		}
		return errors.Join(err, strikeErr)
	}
	return strikeErr
}

// apply adds an input's change to c: its event and device state, the
// safe's it belongs to, and what the panel and entry control make of it;
// the states are the engine's once committed.
func (e *Engine) apply(c *change, in *gateway.Input, active bool, at time.Time) {
	id := in.ID
	typ, sev := in.Kind.EventFor(active)
	st := gateway.DeviceState{Device: id, Kind: string(in.Kind), Name: in.Name, State: in.Kind.StateName(active), Active: active, Since: at}
	ev := gateway.Event{TS: at, ClockTrusted: e.clock.Trusted(), Type: typ, Severity: sev, Device: id}
	e.mu.Lock()
	safe := e.safes[id]
	reading, measured := e.readings[id]
	e.mu.Unlock()
	detail := ""
	if measured {
		st.Reading = &reading.Reading
		ev.Data = mustJSON(map[string]any{"reading": reading.Reading, "why": reading.why})
		detail = reading.why
	}
	i := len(c.events)
	c.events = append(c.events, ev)
	c.states = append(c.states, gateway.StateAt{State: st, Event: i})
	var derived *gateway.DeviceState
	c.after = append(c.after, func(logged []gateway.Event) {
		e.recorded(st, logged[i].Seq)
		if derived != nil {
			e.recorded(*derived, logged[i].Seq)
		}
	})
	e.panel.input(c, id, in.Kind, active, detail)
	if safe != nil {
		if ds, changed := e.safeIn(c, safe, st); changed {
			c.states = append(c.states, gateway.StateAt{State: ds, Event: i})
			derived = &ds
			e.remindIn(c, safe, ds.State)
		}
	}
	e.access.input(c, id, in.Kind, active, at)
}

// pendingInput is an input's change the log could not take yet.
type pendingInput struct {
	id     string
	active bool
	at     time.Time
}

// maxPending bounds the inputs kept while the log cannot write: past it, a
// device's older changes give way to its later ones (its last state is
// never lost).
const maxPending = 1024

// keep adds in to the inputs waiting for the log, in the order they
// happened. With e.mu held.
func (e *Engine) keep(in pendingInput) {
	i := len(e.pending)
	for i > 0 && e.pending[i-1].at.After(in.at) {
		i--
	}
	e.pending = slices.Insert(e.pending, i, in)
	if len(e.pending) <= maxPending {
		return
	}
	last := map[string]int{}
	for j, p := range e.pending {
		last[p.id] = j
	}
	for j, p := range e.pending {
		if last[p.id] != j {
			e.pending = slices.Delete(e.pending, j, j+1)
			return
		}
	}
}

// includePending adds the inputs waiting for the log to c, ahead of the
// operations of its batch, and returns how many it took. With the panel's
// mu held.
func (e *Engine) includePending(c *change) int {
	e.mu.Lock()
	ps := append([]pendingInput(nil), e.pending...)
	e.mu.Unlock()
	for _, p := range ps {
		e.mu.Lock()
		in := e.inputs[p.id]
		e.mu.Unlock()
		e.apply(c, in, p.active, p.at)
	}
	return len(ps)
}

// pendingLogged drops the first n waiting inputs, now in the log.
func (e *Engine) pendingLogged(n int) {
	if n == 0 {
		return
	}
	e.mu.Lock()
	e.pending = e.pending[n:]
	if len(e.pending) == 0 {
		e.pending = nil
	}
	e.mu.Unlock()
}

// Pending is how many inputs' changes wait for the log to write again.
func (e *Engine) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// stateIn is a device's state as change c sees it: set earlier in the
// change, or as recorded.
func (e *Engine) stateIn(c *change, id string) gateway.DeviceState {
	for i := len(c.states) - 1; i >= 0; i-- {
		if c.states[i].State.Device == id {
			return c.states[i].State
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.states[id]
}

// actuation is an output to drive: on, off, or on for a pulse. report,
// when set, is told the driver's error (a grant returns its strike's).
type actuation struct {
	out    *gateway.Output
	on     bool
	pulse  time.Duration
	report *error
}

// run drives a; a driver's error is a gateway fault.
func (e *Engine) run(a actuation) {
	var err error
	switch {
	case a.pulse > 0:
		err = a.out.Driver.Pulse(a.pulse)
	default:
		err = a.out.Driver.Set(a.on)
	}
	if err == nil {
		return
	}
	if a.report != nil {
		*a.report = err
	}
	what := fmt.Sprintf("turn %s %s", a.out.ID, gateway.OutputStateName(a.on))
	if a.pulse > 0 {
		what = fmt.Sprintf("pulse %s for %s", a.out.ID, a.pulse)
	}
	e.panel.Fault(what, err)
}

// setOutput adds to c an output turned on or off, or pulsed on (pulse > 0):
// its event (output.on or output.off, with what caused it) and its state,
// and its driving: once the change is committed, or before it when early
// (a door opening for a person). An output already as asked is neither
// logged nor driven again, but a pulse always is (every release of a
// strike is in the log). report, when set, is told the driver's error.
func (e *Engine) setOutput(c *change, out *gateway.Output, on bool, pulse time.Duration, cause string, early bool, report *error) {
	if !e.logOutput(c, out, on, pulse, cause) {
		return
	}
	a := actuation{out: out, on: on, pulse: pulse, report: report}
	if early {
		c.early = append(c.early, a)
	} else {
		c.actuate = append(c.actuate, a)
	}
}

// logOutput adds an output's change to c, without driving it; it reports
// whether there was one to add. Once committed, the output's earlier pulse
// is over, and a pulse's end is logged when its time is up.
func (e *Engine) logOutput(c *change, out *gateway.Output, on bool, length time.Duration, cause string) bool {
	if e.stateIn(c, out.ID).Active == on && length == 0 {
		return false
	}
	data := map[string]any{"kind": string(out.Kind), "cause": cause}
	if length > 0 {
		data["pulse_ms"] = length.Milliseconds()
	}
	typ := "output.off"
	if on {
		typ = "output.on"
	}
	st := gateway.DeviceState{Device: out.ID, Kind: string(out.Kind), Name: out.Name, State: gateway.OutputStateName(on), Active: on, Since: c.now}
	i := len(c.events)
	c.events = append(c.events, gateway.Event{TS: c.now, ClockTrusted: e.clock.Trusted(), Type: typ, Severity: gateway.SeverityInfo,
		Device: out.ID, Data: mustJSON(data)})
	c.states = append(c.states, gateway.StateAt{State: st, Event: i})
	c.after = append(c.after, func(logged []gateway.Event) {
		e.recorded(st, logged[i].Seq)
		e.mu.Lock()
		defer e.mu.Unlock()
		p := e.pulses[out.ID]
		if p.stop != nil {
			p.stop()
		}
		p = pulse{gen: p.gen + 1}
		if length > 0 {
			gen := p.gen
			p.stop = e.clock.AfterFunc(length, func() { e.pulseEnded(out, gen, cause) })
		}
		e.pulses[out.ID] = p
	})
	return true
}

// pulseEnded logs the end of an output's pulse (its driver ended it), in a
// change of its own, unless a later change of the output came first.
func (e *Engine) pulseEnded(out *gateway.Output, gen uint64, cause string) {
	err := e.panel.do(func(c *change) error {
		e.mu.Lock()
		cur := e.pulses[out.ID].gen
		e.mu.Unlock()
		if cur == gen {
			e.logOutput(c, out, false, 0, cause)
		}
		return nil
	})
	if err != nil {
		e.panel.Fault("log the end of "+out.ID+"'s pulse", err)
	}
}

// outputsOf are the driven outputs of kinds (none: of every kind), sorted
// by id.
func (e *Engine) outputsOf(kinds ...gateway.OutputKind) []*gateway.Output {
	e.mu.Lock()
	defer e.mu.Unlock()
	var outs []*gateway.Output
	for _, out := range e.outputs {
		if (len(kinds) == 0 || slices.Contains(kinds, out.Kind)) && out.Driver != nil {
			outs = append(outs, out)
		}
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].ID < outs[j].ID })
	return outs
}

// setSirens adds every siren turned on or off to c; cause goes into the
// events.
func (e *Engine) setSirens(c *change, on bool, cause string) {
	for _, out := range e.outputsOf(gateway.KindSiren) {
		e.setOutput(c, out, on, 0, cause, false, nil)
	}
}

// chirp adds to c every siren and indicator pulsed for d.
func (e *Engine) chirp(c *change, d time.Duration, cause string) {
	for _, out := range e.outputsOf(gateway.KindSiren, gateway.KindIndicator) {
		e.setOutput(c, out, true, d, cause, false, nil)
	}
}

// sirens are the actuations that turn every siren on or off without a
// change: the siren a change the log could not take would have sounded
// (Panel.soundUnlogged), and its end.
func (e *Engine) sirens(on bool) []actuation {
	var acts []actuation
	for _, out := range e.outputsOf(gateway.KindSiren) {
		acts = append(acts, actuation{out: out, on: on})
	}
	return acts
}

// releaseStrike adds a door strike pulsed for its configured time to c,
// driven before the commit (a person waits at the door); cause is the
// reader or the exit button.
func (e *Engine) releaseStrike(c *change, strike, cause string, report *error) error {
	e.mu.Lock()
	out, ok := e.outputs[strike]
	e.mu.Unlock()
	if !ok || out.Driver == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "no door strike %q", strike)
	}
	e.setOutput(c, out, true, out.Pulse, cause, true, report)
	return nil
}

// recorded makes st, set by the event seq, the device's state, and publishes
// it unless a later event of the same device has already overtaken it.
func (e *Engine) recorded(st gateway.DeviceState, seq uint64) {
	st.Seq = seq
	e.mu.Lock()
	if cur := e.states[st.Device]; cur.Seq > st.Seq {
		e.mu.Unlock()
		return
	}
	e.states[st.Device] = st
	started := e.started
	e.mu.Unlock()
	if started {
		e.sink.DeviceState(st)
	}
}

// States returns every device's current state, sorted by device id.
func (e *Engine) States() []gateway.DeviceState {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]gateway.DeviceState, 0, len(e.states))
	for _, st := range e.states {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}
