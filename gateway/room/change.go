package room

import (
	"errors"
	"sort"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// The room's one commit path: every operation runs on the panel's queue
// and adds to one change, written in one transaction, then published and
// acted on (docs/architecture.md, "One unit of work").

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
	visits    []gateway.Visit                 // visits registered or checked out
	carriers  map[string]gateway.CarrierState // the carriers' states it changed
	signOuts  []gateway.SignOut               // sign-outs opened, changed or closed
	inventory *gateway.InventoryReport
	registers []gateway.RegisterChange // registers a command replaces whole
	published []func()                 // the other parts' publications, once committed
	failed    []func()                 // the other parts' undo, when the commit fails
}

// parts is the change as the log saves it.
func (c *change) parts() *gateway.Change {
	ch := &gateway.Change{Events: c.events, States: c.states, Panel: c.next, Access: c.access, Visits: c.visits,
		SignOuts: c.signOuts, Inventory: c.inventory, Seal: c.report, Registers: c.registers}
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
	return len(c.events) == 0 && !c.counted && c.access == nil && len(c.visits) == 0 && len(c.carriers) == 0 && len(c.signOuts) == 0 && c.inventory == nil &&
		len(c.registers) == 0
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
		np, nf, ne, nact, nreg := len(c.published), len(c.failed), len(c.early), len(c.actuate), len(c.registers)
		if o.err = o.fn(c); o.err == nil {
			continue
		}
		c.next, c.report, c.states, c.after, c.counted = saved, report, c.states[:ns], c.after[:na], counted
		c.published, c.failed, c.early, c.actuate, c.registers = c.published[:np], c.failed[:nf], c.early[:ne], c.actuate[:nact], c.registers[:nreg]
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
