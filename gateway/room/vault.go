package room

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Vault tracks the room's secret carriers: where each was last seen, who has
// it signed out and until when, and what an inventory finds. It raises the
// unauthorized-removal alarm at the gate and the overdue alarm.
type Vault struct {
	room   string
	cfg    gateway.VaultConfig
	clock  gateway.Clock
	log    gateway.VaultLog
	people gateway.Register
	panel  *Panel
	access *Access
	sink   gateway.VaultSink
	work   *gateway.WorkSchedule

	mu       sync.Mutex
	carriers map[string]*gateway.Carrier // by id
	byEPC    map[string]*gateway.Carrier
	state    map[string]*gateway.CarrierState
	loans    map[string]*gateway.SignOut // open sign-outs by carrier id
	// asked: top-secret sign-outs waiting for their second person's own
	// confirmation, by carrier id (issue 17: two people through two
	// channels).
	asked map[string]*gateway.SignOut
	// extends: extensions asked for by another than their approver, waiting
	// for the approver's own confirmation, by carrier id.
	extends map[string]*gateway.SignOut
	// steps: steps of carriers' lives waiting for people's confirmations,
	// by id; pendingOn: the step waiting on a carrier (life.go).
	steps     map[string]*lifeStep
	pendingOn map[string]string
	// bindings: documents received whose copies' tags are presented in
	// turn at a reader, by reader (receive.go).
	bindings map[string]*binding
	seen     map[string]sighting    // last sighting by carrier id
	unknown  map[string]sighting    // unregistered tags by EPC
	removed  map[string]bool        // carriers whose removal alarm is not restored yet
	timers   map[string]func() bool // overdue timers (their stop) by carrier id
	sweep    func() bool
	daily    func() bool   // the daily inventory's timer
	dailyAt  time.Duration // its time of day
}

type sighting struct {
	loc gateway.Location
	at  time.Time
	// assumed: not a read, the benefit of the doubt a carrier gets when the
	// register or the gateway starts; the sweep counts it, an inventory
	// does not.
	assumed bool
}

// maxUnknown bounds the unregistered tags remembered for inventories.
const maxUnknown = 10000

// newVault returns the carrier tracking of room. Load restores it. cfg is
// complete (its defaults are config.DefaultVault's) and work is the room's
// working day.
func newVault(room string, cfg gateway.VaultConfig, clock gateway.Clock, log gateway.VaultLog, people gateway.Register, panel *Panel, access *Access, sink gateway.VaultSink, work *gateway.WorkSchedule) *Vault {
	v := &Vault{room: room, cfg: cfg, clock: clock, log: log, people: people, panel: panel, access: access, sink: sink, work: work,
		carriers: map[string]*gateway.Carrier{}, byEPC: map[string]*gateway.Carrier{}, state: map[string]*gateway.CarrierState{},
		loans: map[string]*gateway.SignOut{}, asked: map[string]*gateway.SignOut{}, extends: map[string]*gateway.SignOut{}, seen: map[string]sighting{}, unknown: map[string]sighting{}, timers: map[string]func() bool{},
		removed: map[string]bool{}, steps: map[string]*lifeStep{}, pendingOn: map[string]string{},
		bindings: map[string]*binding{}}
	return v
}

// Load restores the register, the states and the open sign-outs, and starts
// the overdue timers and the departure sweep. A carrier at home is given
// until a departure threshold from now to be seen again.
func (v *Vault) Load() error {
	carriers, states, loans, err := v.log.LoadCarriers()
	if err != nil {
		return err
	}
	open := v.panel.State().Alarms // before v.mu: the room's lock comes first
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, a := range open {
		if a.Class == gateway.AlarmCarrierRemoval && !a.Restored() {
			v.removed[a.Device] = true
		}
	}
	now := v.clock.Now()
	v.setCarriers(carriers, now)
	for _, st := range states {
		if _, ok := v.carriers[st.ID]; ok {
			s := st
			v.state[st.ID] = &s
		}
	}
	for i := range loans {
		l := loans[i]
		v.loans[l.Carrier] = &l
		v.armOverdue(&l)
	}
	for id, st := range v.state {
		if st.Status == gateway.CarrierMissing && !st.MissingSince.IsZero() {
			v.armLoss(id, st.MissingSince)
		}
	}
	v.scheduleSweep()
	return nil
}

// setCarriers installs a register; states of carriers no longer in it are
// dropped, new carriers start at home until the sweep says otherwise.
func (v *Vault) setCarriers(carriers []gateway.Carrier, now time.Time) {
	v.carriers = make(map[string]*gateway.Carrier, len(carriers))
	v.byEPC = make(map[string]*gateway.Carrier, len(carriers))
	for i := range carriers {
		c := carriers[i]
		v.carriers[c.ID] = &c
		v.byEPC[c.EPC] = &c
		if _, ok := v.state[c.ID]; !ok {
			v.state[c.ID] = &gateway.CarrierState{ID: c.ID, Status: gateway.CarrierHome, Location: c.Home}
		}
		if _, ok := v.seen[c.ID]; !ok {
			v.seen[c.ID] = sighting{gateway.Location{Kind: gateway.LocSafe, ID: c.Home}, now, true} // until shown otherwise
		}
	}
	for id := range v.state {
		if _, ok := v.carriers[id]; !ok {
			delete(v.state, id)
			delete(v.seen, id)
		}
	}
}

// SetCarriers installs a new register (after a sync).
func (v *Vault) SetCarriers(carriers []gateway.Carrier) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.setCarriers(carriers, v.clock.Now())
}

// Carriers returns the register, sorted by id.
func (v *Vault) Carriers() []gateway.Carrier {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.sorted()
}

// Custodians lists the carriers each custodian keeps whose life in the
// room has not ended.
func (v *Vault) Custodians() map[string][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string][]string{}
	for _, c := range v.sorted() {
		if !v.state[c.ID].Status.Ended() {
			out[c.Custodian] = append(out[c.Custodian], c.ID)
		}
	}
	return out
}

// sorted is the register by id; with v.mu held.
func (v *Vault) sorted() []gateway.Carrier {
	out := make([]gateway.Carrier, 0, len(v.carriers))
	for _, c := range v.carriers {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// State returns a carrier's state.
func (v *Vault) State(id string) (gateway.CarrierState, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, ok := v.state[id]
	if !ok {
		return gateway.CarrierState{}, false
	}
	return *st, true
}

// vbatch is one step of carrier tracking within the room's change: its
// events, the carriers' states it changes, its sign-outs and report, and
// the alarms it raises, all in the change's one transaction.
type vbatch struct {
	v      *Vault
	c      *change
	now    time.Time
	states map[string]gateway.CarrierState // changed carriers, as they were before
	report *gateway.InventoryReport
	undo   []func() // with v.mu held, when the change is not logged
}

// step runs fn as one change of the room, with v.mu held: what it changes
// is saved with the change and published once it is committed; if the
// change is not logged, the carriers' states are put back and undo runs.
func (v *Vault) step(now func(c *change) time.Time, fn func(b *vbatch) error) error {
	return v.panel.do(func(c *change) error {
		v.mu.Lock()
		defer v.mu.Unlock()
		b := &vbatch{v: v, c: c, now: now(c), states: map[string]gateway.CarrierState{}}
		if err := fn(b); err != nil {
			b.rollback()
			return err
		}
		v.commit(b)
		return nil
	})
}

// at is a step's time: the change's.
func at(c *change) time.Time { return c.now }

// touch notes that carrier id's state is about to change; a change not
// logged puts it back.
func (b *vbatch) touch(id string) *gateway.CarrierState {
	st := b.v.state[id]
	if _, ok := b.states[id]; !ok {
		b.states[id] = *st
	}
	return st
}

func (b *vbatch) rollback() {
	for id, prev := range b.states {
		*b.v.state[id] = prev
	}
	for _, f := range b.undo {
		f()
	}
}

func (b *vbatch) event(typ string, sev gateway.Severity, device, person string, data map[string]any) {
	b.c.events = append(b.c.events, newEvent(b.v.clock, b.now, typ, sev, device, person, data))
}

// raise raises (or counts on) an alarm in the same change.
func (b *vbatch) raise(class gateway.AlarmClass, device, detail string) {
	b.v.panel.raise(b.c, class, device, detail, true)
}

// raiseAt is raise at a priority of its own.
func (b *vbatch) raiseAt(class gateway.AlarmClass, priority int, device, detail string) {
	b.v.panel.raiseAt(b.c, class, priority, device, detail, true)
}

// restore marks the open alarms of class on device restored, in the change.
func (b *vbatch) restore(class gateway.AlarmClass, device string) {
	b.v.panel.restore(b.c, func(x *gateway.Alarm) bool { return x.Class == class && x.Device == device })
}

// commit puts the step into the change, with its publication once
// committed and its undo if not; with v.mu held.
func (v *Vault) commit(b *vbatch) {
	if len(b.states) == 0 && b.report == nil && len(b.undo) == 0 {
		return
	}
	ids := make([]string, 0, len(b.states))
	for id := range b.states {
		b.c.carriers[id] = *v.state[id]
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if b.report != nil {
		b.c.inventory = b.report
	}
	report := b.report
	b.c.failed = append(b.c.failed, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		b.rollback()
	})
	b.c.published = append(b.c.published, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.sink == nil {
			return
		}
		for _, id := range ids {
			if st := v.state[id]; st != nil {
				v.sink.CarrierState(id, mustJSON(v.statePayload(*st)))
			}
		}
		if report != nil {
			v.sink.InventoryReport(report.ID, mustJSON(report))
		}
	})
}

// fault raises a gateway fault for an error nobody waits for (a timer's).
func (v *Vault) fault(what string, err error) {
	if err != nil {
		v.panel.Fault(what, err)
	}
}

func (v *Vault) statePayload(st gateway.CarrierState) map[string]any {
	c := v.carriers[st.ID]
	m := map[string]any{"room": v.room, "id": st.ID, "status": st.Status, "title": c.Title, "class": c.Class,
		"kind": c.Kind, "home": c.Home, "custodian": c.Custodian}
	if c.Document != "" { // a copy of a document received (carrier/receive)
		m["document"], m["copy"], m["copies"], m["source"], m["doc_number"], m["period"], m["need_to_know"] =
			c.Document, c.Copy, c.Copies, c.Source, c.DocNumber, c.Period, c.NeedToKnow
	}
	if st.Location != "" {
		m["location"] = st.Location
	}
	if !st.SeenAt.IsZero() {
		m["seen_at"] = st.SeenAt.Format(gateway.TimeFormat)
	}
	if st.Misplaced {
		m["misplaced"] = true
	}
	if !st.MissingSince.IsZero() {
		m["missing_since"] = st.MissingSince.Format(gateway.TimeFormat)
	}
	if l := v.loans[st.ID]; l != nil {
		so := map[string]any{"id": l.ID, "borrower": l.Borrower, "due": l.Due.Format(gateway.TimeFormat), "may_leave": l.MayLeave}
		if l.Kind != "" {
			so["kind"] = l.Kind
		}
		m["sign_out"] = so
	}
	if st.Ended != nil {
		e := map[string]any{"at": st.Ended.At.Format(gateway.TimeFormat), "by": st.Ended.By}
		if st.Ended.Ref != "" {
			e["ref"] = st.Ended.Ref
		}
		m["ended"] = e
	}
	if s := v.steps[v.pendingOn[st.ID]]; s != nil {
		m["pending"] = map[string]any{"step": s.ID, "op": s.Op, "by": s.By, "at": s.At.Format(gateway.TimeFormat), "waiting_for": s.Waiting()}
	}
	return m
}

// setStatus changes a carrier's status, logging the change.
func (b *vbatch) setStatus(c *gateway.Carrier, st *gateway.CarrierState, status gateway.CarrierStatus, misplaced bool, data map[string]any) {
	if st.Status == status && st.Misplaced == misplaced || st.Status.Frozen() {
		return // a lost carrier's status is frozen for the investigation; an ended one's is its end
	}
	b.touch(c.ID)
	st.Status, st.Misplaced = status, misplaced
	if status != gateway.CarrierMissing {
		st.MissingSince = time.Time{} // found (its loss timer finds it so)
	}
	typ, sev := "carrier."+string(status), gateway.SeverityInfo
	switch {
	case misplaced:
		typ, sev = "carrier.misplaced", gateway.SeverityWarning
	case status == gateway.CarrierAway || status == gateway.CarrierMissing:
		sev = gateway.SeverityWarning
	case status == gateway.CarrierLost:
		sev = gateway.SeverityCritical
	}
	if typ == "carrier.signed-out" {
		return // logged by the sign-out itself
	}
	d := map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class, "home": c.Home}
	for k, x := range data {
		d[k] = x
	}
	b.event(typ, sev, c.ID, "", d)
}

// Seen takes one sighting of a tag at a reader's antenna. Unknown antennas
// and tags are remembered (for inventories), not logged. A sighting that
// changes nothing (the same place, the same status, no removal alarm to
// restore) is kept in memory only; any other is one change of the room.
func (v *Vault) Seen(reader string, antenna int, epc string, at time.Time) error {
	v.mu.Lock()
	loc, ok := v.cfg.Antennas[gateway.Antenna{Reader: reader, Antenna: antenna}]
	if !ok {
		v.mu.Unlock()
		return gateway.Errorf(gateway.ENOTFOUND, "reader %s antenna %d watches no location", reader, antenna)
	}
	c := v.byEPC[epc]
	if c == nil {
		if _, known := v.unknown[epc]; known || len(v.unknown) < maxUnknown {
			v.unknown[epc] = sighting{loc: loc, at: at}
		}
		bd := v.bindings[reader]
		v.mu.Unlock()
		if bd != nil {
			return v.bind(bd, epc)
		}
		return nil
	}
	if v.unchanged(c, loc) {
		v.seen[c.ID] = sighting{loc: loc, at: at}
		v.state[c.ID].SeenAt = at // kept in memory; saved with the next change
		v.mu.Unlock()
		return nil
	}
	v.mu.Unlock()
	return v.step(func(*change) time.Time { return at }, func(b *vbatch) error {
		prev := v.seen[c.ID]
		v.seen[c.ID] = sighting{loc: loc, at: at}
		b.undo = append(b.undo, func() { v.seen[c.ID] = prev })
		st := v.state[c.ID]
		if st.Location != loc.ID {
			b.event("carrier.moved", gateway.SeverityInfo, c.ID, "", map[string]any{"carrier": c.ID, "from": st.Location, "to": loc.ID, "kind": loc.Kind})
			b.touch(c.ID)
			st.Location = loc.ID
		}
		st.SeenAt = at
		loan := v.loans[c.ID]
		switch {
		case st.Status.Ended():
			v.resurrected(b, c, st, loc)
		case loc.Kind == gateway.LocGate:
			v.atGate(b, c, loan, prev)
		case loan != nil:
			// Signed out and seen in a safe: the loan stays open until returned.
		case loc.ID == c.Home:
			b.setStatus(c, st, gateway.CarrierHome, false, map[string]any{"safe": loc.ID})
			if v.removed[c.ID] {
				delete(v.removed, c.ID)
				b.restore(gateway.AlarmCarrierRemoval, c.ID)
			}
			b.restore(gateway.AlarmCarrierMissing, c.ID) // found again
		default:
			b.setStatus(c, st, gateway.CarrierAway, true, map[string]any{"safe": loc.ID})
		}
		return nil
	})
}

// unchanged reports whether a sighting of carrier c at loc would change
// nothing but when it was last seen; with v.mu held.
func (v *Vault) unchanged(c *gateway.Carrier, loc gateway.Location) bool {
	st := v.state[c.ID]
	if st.Status.Ended() {
		return st.Location == loc.ID // seen there already: alarmed once
	}
	if loc.Kind == gateway.LocGate || st.Location != loc.ID || v.removed[c.ID] {
		return false
	}
	switch {
	case v.loans[c.ID] != nil:
		return true
	case loc.ID == c.Home:
		return st.Status == gateway.CarrierHome && !st.Misplaced
	}
	return st.Status == gateway.CarrierAway && st.Misplaced
}

// atGate: a carrier read at the door. With a sign-out that lets it leave,
// the passage is logged; otherwise the critical unauthorized-removal alarm
// names the carrier and who is inside or badged last.
func (v *Vault) atGate(b *vbatch, c *gateway.Carrier, loan *gateway.SignOut, prev sighting) {
	if loan.Leaves() {
		if prev.loc.Kind != gateway.LocGate || b.now.Sub(prev.at) > v.cfg.Present {
			b.event("carrier.gate", gateway.SeverityInfo, c.ID, loan.Borrower, map[string]any{"carrier": c.ID, "title": c.Title,
				"permitted": true, "sign_out": loan.ID, "borrower": loan.Borrower})
		}
		return
	}
	if prev.loc.Kind == gateway.LocGate && b.now.Sub(prev.at) < v.cfg.Present {
		return // the same passage, read again
	}
	var inside []string
	if v.access != nil {
		for _, o := range v.access.Occupants() {
			inside = append(inside, o.Name+" ("+o.ID+")")
		}
	}
	data := map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class, "permitted": false, "inside": inside}
	who := "inside: " + strings.Join(inside, ", ")
	if len(inside) == 0 {
		who = "nobody inside"
	}
	if v.access != nil {
		if l := v.access.LastBadge(); l != nil {
			data["last_badge"] = l
			who += fmt.Sprintf("; last badge %s (%s) at %s", l.Name, l.Person, l.At.Format("15:04:05"))
		}
	}
	if loan != nil {
		data["sign_out"] = loan.ID
		data["borrower"] = loan.Borrower
		who += "; signed out for in-room use only by " + loan.Borrower
	}
	b.event("carrier.removal", gateway.SeverityCritical, c.ID, "", data)
	detail := fmt.Sprintf("%s %s《%s》 at the gate without permission to leave; %s", c.Class.Chinese(), c.ID, c.Title, who)
	b.raise(gateway.AlarmCarrierRemoval, c.ID, detail)
	if !v.removed[c.ID] {
		v.removed[c.ID] = true
		b.undo = append(b.undo, func() { delete(v.removed, c.ID) })
	}
}

// scheduleSweep runs the departure check now and then; with v.mu held.
func (v *Vault) scheduleSweep() {
	every := max(v.cfg.Departure/5, time.Second)
	v.sweep = v.clock.AfterFunc(every, func() {
		v.fault("the carriers' departure sweep", v.Sweep())
		v.mu.Lock()
		if v.sweep != nil {
			v.scheduleSweep()
		}
		v.mu.Unlock()
	})
}

// Stop ends the sweep and the overdue timers.
func (v *Vault) Stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sweep != nil {
		v.sweep()
		v.sweep = nil
	}
	if v.daily != nil {
		v.daily()
		v.daily = nil
	}
	for id, stop := range v.timers {
		stop()
		delete(v.timers, id)
	}
}

// Sweep marks away every carrier at home that has not been seen in its safe
// for the departure threshold.
func (v *Vault) Sweep() error {
	return v.step(at, func(b *vbatch) error {
		for id, c := range v.carriers {
			st := v.state[id]
			if st.Status != gateway.CarrierHome || v.loans[id] != nil {
				continue
			}
			s := v.seen[id]
			if b.now.Sub(s.at) >= v.cfg.Departure {
				b.setStatus(c, st, gateway.CarrierAway, false, map[string]any{"last_seen": s.at.Format(gateway.TimeFormat), "location": s.loc.ID})
			}
		}
		return nil
	})
}

// Away lists the carriers that keep the room from being armed: away,
// missing or misplaced, and not signed out to leave.
func (v *Vault) Away() []gateway.Reason {
	v.mu.Lock()
	defer v.mu.Unlock()
	var rs []gateway.Reason
	for id, st := range v.state {
		if st.Status == gateway.CarrierHome || st.Status.Frozen() || v.loans[id].Leaves() {
			continue // home, reported lost (not to be waited for), ended, or allowed out
		}
		what := string(st.Status)
		if st.Misplaced {
			what = "in the wrong safe " + st.Location
		}
		rs = append(rs, gateway.Reason{Code: "carrier-away", Device: id, Detail: fmt.Sprintf("carrier %s is %s", id, what)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Device < rs[j].Device })
	return rs
}

// Return closes a carrier's open sign-out; an overdue alarm is restored in
// the same change.
// HoldsTopSecret tells whether safe is the home of a top-secret carrier.
func (v *Vault) HoldsTopSecret(safe string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.carriers {
		if c.Home == safe && c.Class == gateway.TopSecret && !v.state[c.ID].Status.Ended() {
			return true
		}
	}
	return false
}

// replaceIn adds a new carrier register to change c: refused when it drops
// a carrier still signed out; once written, the carriers tracked are the
// new ones, and the dropped ones' states are cleared.
func (v *Vault) replaceIn(c *change, carriers []gateway.Carrier) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.replaceLocked(c, carriers)
}

// replaceLocked is replaceIn with v.mu held. A register that drops a
// carrier whose life in the room has not ended (issue 30: archived,
// returned to its issuer or destroyed) is refused naming it: a carrier
// never leaves the register silently.
func (v *Vault) replaceLocked(c *change, carriers []gateway.Carrier) error {
	keep := make(map[string]bool, len(carriers))
	for _, k := range carriers {
		keep[k.ID] = true
	}
	var out []string
	for id, l := range v.loans {
		if !keep[id] {
			out = append(out, fmt.Sprintf("%s (%s, to %s)", id, l.ID, l.Borrower))
		}
	}
	if len(out) > 0 {
		sort.Strings(out)
		return gateway.Errorf(gateway.ECONFLICT, "carriers: the new register drops carriers still signed out: %s; return them first", strings.Join(out, ", "))
	}
	for id, st := range v.state {
		if !keep[id] && !st.Status.Ended() {
			out = append(out, fmt.Sprintf("%s (%s)", id, st.Status))
		}
	}
	if len(out) > 0 {
		sort.Strings(out)
		return gateway.Errorf(gateway.ECONFLICT, "carriers: the new register drops carriers whose life in the room has not ended: %s; archive, return or destroy them first (carrier/archive, carrier/return-to-issuer, carrier/destroy)", strings.Join(out, ", "))
	}
	c.published = append(c.published, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		var dropped []string
		for id := range v.carriers {
			if !keep[id] {
				dropped = append(dropped, id)
			}
		}
		v.setCarriers(carriers, c.now)
		if v.sink != nil {
			for _, id := range dropped {
				v.sink.CarrierState(id, nil)
			}
		}
		v.publishAll()
	})
	return nil
}

// Publish sends every carrier's state to the sink (at start).
func (v *Vault) Publish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.publishAll()
}

func (v *Vault) publishAll() {
	if v.sink == nil {
		return
	}
	for _, st := range v.state {
		v.sink.CarrierState(st.ID, mustJSON(v.statePayload(*st)))
	}
}

// maxExtension bounds how far an approver may push a due time.
const maxExtension = 30 * 24 * time.Hour

// InSafes lists, per safe, the carriers seen in it within the presence
// window: the carriers part of a seal snapshot.
func (v *Vault) InSafes() map[string][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	out := map[string][]string{}
	for id, s := range v.seen {
		if s.loc.Kind == gateway.LocSafe && !s.assumed && now.Sub(s.at) < v.cfg.Present && !v.state[id].Status.Ended() {
			out[s.loc.ID] = append(out[s.loc.ID], id)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}
