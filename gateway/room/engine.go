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
	causes   map[string]string // what last drove each output, for its event
	started  bool
	panel    *Panel
	access   *Access
	safes    map[string]*safeRun // by bolt and door input id
	safeRuns []*safeRun          // each safe once
	safeMu   sync.Mutex          // one safe change at a time
	pending  []pendingInput      // changes the log could not take yet, in order (keep)
}

// Chirp pulses every siren and indicator for d; cause goes into the events.
func (e *Engine) Chirp(d time.Duration, cause string) error {
	e.mu.Lock()
	var outs []*gateway.Output
	for id, out := range e.outputs {
		if out.Kind == gateway.KindSiren || out.Kind == gateway.KindIndicator {
			e.causes[id] = cause
			outs = append(outs, out)
		}
	}
	e.mu.Unlock()
	var errs []error
	for _, out := range outs {
		if out.Driver != nil {
			if err := out.Driver.Pulse(d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", out.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// SetSirens turns every siren output on or off; cause goes into the event.
func (e *Engine) SetSirens(on bool, cause string) {
	e.mu.Lock()
	var sirens []*gateway.Output
	for id, out := range e.outputs {
		if out.Kind == gateway.KindSiren {
			e.causes[id] = cause
			sirens = append(sirens, out)
		}
	}
	e.mu.Unlock()
	for _, out := range sirens {
		if out.Driver != nil {
			if err := out.Driver.Set(on); err != nil {
				e.panel.Fault(fmt.Sprintf("turn siren %s %s", out.ID, gateway.OutputStateName(on)), err)
			}
		}
	}
}

// newEngine returns an engine for room.
func newEngine(room string, clock gateway.Clock, log gateway.RoomLog, sink gateway.StateSink) *Engine {
	return &Engine{room: room, clock: clock, log: log, sink: sink,
		inputs: map[string]*gateway.Input{}, outputs: map[string]*gateway.Output{}, states: map[string]gateway.DeviceState{}, causes: map[string]string{},
		safes: map[string]*safeRun{}}
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

// Start logs gateway.started and, for every input whose state differs from
// the one recorded when the gateway last ran, the change it missed (flagged
// at_start): a door opened while the gateway was down is still reported.
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
	now := e.clock.Now()
	trusted := e.clock.Trusted()
	events := []gateway.Event{{TS: now, ClockTrusted: trusted, Type: "gateway.started", Severity: gateway.SeverityInfo, Data: mustJSON(started)}}

	e.mu.Lock()
	var ids []string
	for id := range e.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var states []gateway.DeviceState
	var seqFor []int // index into events of the event that set each state, -1 for none
	for _, id := range ids {
		st := e.states[id]
		rec, known := recorded[id]
		in, isInput := e.inputs[id]
		if isInput && known && rec.Active != st.Active {
			typ, sev := in.Kind.EventFor(st.Active)
			events = append(events, gateway.Event{TS: now, ClockTrusted: trusted, Type: typ, Severity: sev,
				Device: id, Data: mustJSON(map[string]bool{"at_start": true})})
			seqFor = append(seqFor, len(events)-1)
		} else {
			if known && rec.Active == st.Active {
				st.Since, st.Seq = rec.Since, rec.Seq // unchanged since it was recorded
			}
			seqFor = append(seqFor, -1)
		}
		states = append(states, st)
	}
	e.mu.Unlock()

	logged, err := e.log.AppendWithStates(events, nil)
	if err != nil {
		return fmt.Errorf("log start: %w", err)
	}
	for i := range states {
		if seqFor[i] >= 0 {
			states[i].Seq = logged[seqFor[i]].Seq
		}
	}
	if _, err := e.log.AppendWithStates(nil, states); err != nil {
		return fmt.Errorf("record device states: %w", err)
	}
	e.mu.Lock()
	for _, st := range states {
		e.states[st.Device] = st
	}
	e.started = true
	e.mu.Unlock()
	for _, st := range states {
		e.sink.DeviceState(st)
	}
	if err := e.panel.Start(previousStop); err != nil {
		return err
	}
	// Changes missed while down count as if seen now (a window opened
	// during a sealed outage breaks the seal).
	for i, st := range states {
		if seqFor[i] >= 0 {
			if err := e.panel.Input(st.Device, e.inputs[st.Device].Kind, st.Active); err != nil {
				return err
			}
		}
	}
	return e.startSafes()
}

// Stop logs gateway.stopped.
func (e *Engine) Stop(reason string) error {
	_, err := e.log.AppendWithStates([]gateway.Event{{TS: e.clock.Now(), ClockTrusted: e.clock.Trusted(),
		Type: "gateway.stopped", Severity: gateway.SeverityInfo, Data: mustJSON(map[string]string{"reason": reason})}}, nil)
	return err
}

// InputChanged records an accepted change of an input. It returns once the
// event is durable.
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
	if behind {
		// Inputs the log could not take are still waiting: this one goes
		// behind them, in the next change, which writes them first.
		return e.panel.do(func(*change) error { return nil })
	}
	err := e.panel.do(func(c *change) error {
		e.apply(c, in, active, at)
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
		return err
	}
	if in.Kind == gateway.KindExitButton && active && in.Strike != "" {
		return e.ReleaseStrike(in.Strike, id)
	}
	return nil
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
	e.mu.Unlock()
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
	e.panel.input(c, id, in.Kind, active)
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

// ReleaseStrike pulses a door strike for its configured time; cause (the
// reader or the exit button) goes into its output event.
func (e *Engine) ReleaseStrike(strike, cause string) error {
	e.mu.Lock()
	out, ok := e.outputs[strike]
	if ok {
		e.causes[strike] = cause
	}
	e.mu.Unlock()
	if !ok || out.Driver == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "no door strike %q", strike)
	}
	return out.Driver.Pulse(out.Pulse)
}

// OutputChanged records that an output turned on or off (devices/relay
// reports through it).
func (e *Engine) OutputChanged(id string, on bool, pulse time.Duration) error {
	e.mu.Lock()
	out, ok := e.outputs[id]
	cause := e.causes[id]
	e.mu.Unlock()
	if !ok {
		return gateway.Errorf(gateway.ENOTFOUND, "no output %q", id)
	}
	if cause == "" {
		cause = "gateway"
	}
	data := map[string]any{"kind": string(out.Kind), "cause": cause}
	if pulse > 0 {
		data["pulse_ms"] = pulse.Milliseconds()
	}
	typ := "output.off"
	if on {
		typ = "output.on"
	}
	now := e.clock.Now()
	st := gateway.DeviceState{Device: id, Kind: string(out.Kind), Name: out.Name, State: gateway.OutputStateName(on), Active: on, Since: now}
	_, err := e.record(gateway.Event{TS: now, ClockTrusted: e.clock.Trusted(), Type: typ, Severity: gateway.SeverityInfo, Device: id, Data: mustJSON(data)}, st)
	return err
}

// record logs ev with the state it leads to, then publishes the state unless
// a later event of the same device has already overtaken it; it returns the
// event's seq.
func (e *Engine) record(ev gateway.Event, st gateway.DeviceState) (uint64, error) {
	logged, err := e.log.AppendWithStates([]gateway.Event{ev}, []gateway.DeviceState{st})
	if err != nil {
		return 0, err
	}
	e.recorded(st, logged[0].Seq)
	return logged[0].Seq, nil
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
