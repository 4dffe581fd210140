package room

import (
	"fmt"
	"slices"
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
	seen    map[string]sighting    // last sighting by carrier id
	unknown map[string]sighting    // unregistered tags by EPC
	removed map[string]bool        // carriers whose removal alarm is not restored yet
	timers  map[string]func() bool // overdue timers (their stop) by carrier id
	sweep   func() bool
	daily   func() bool   // the daily inventory's timer
	dailyAt time.Duration // its time of day
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
		removed: map[string]bool{}}
	if panel != nil {
	}
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
	if st.Location != "" {
		m["location"] = st.Location
	}
	if !st.SeenAt.IsZero() {
		m["seen_at"] = st.SeenAt.Format(gateway.TimeFormat)
	}
	if st.Misplaced {
		m["misplaced"] = true
	}
	if l := v.loans[st.ID]; l != nil {
		m["sign_out"] = map[string]any{"id": l.ID, "borrower": l.Borrower, "due": l.Due.Format(gateway.TimeFormat), "may_leave": l.MayLeave}
	}
	return m
}

// setStatus changes a carrier's status, logging the change.
func (b *vbatch) setStatus(c *gateway.Carrier, st *gateway.CarrierState, status gateway.CarrierStatus, misplaced bool, data map[string]any) {
	if st.Status == status && st.Misplaced == misplaced {
		return
	}
	b.touch(c.ID)
	st.Status, st.Misplaced = status, misplaced
	typ, sev := "carrier."+string(status), gateway.SeverityInfo
	switch {
	case misplaced:
		typ, sev = "carrier.misplaced", gateway.SeverityWarning
	case status == gateway.CarrierAway || status == gateway.CarrierMissing:
		sev = gateway.SeverityWarning
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
		v.mu.Unlock()
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
		if st.Status == gateway.CarrierHome || st.Status == gateway.CarrierSignedOut && v.loans[id].Leaves() {
			continue
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

// SignOut lends a carrier: to a borrower whose level covers its class (two
// people for top secret), with a purpose and a due time; leaving the room
// needs an approver other than the borrower. A refusal changes nothing.
func (v *Vault) SignOut(r gateway.SignOutRequest) (*gateway.SignOut, error) {
	now := v.clock.Now()
	if strings.TrimSpace(r.By) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who signs the carrier out is missing")
	}
	if strings.TrimSpace(r.Purpose) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "purpose: missing")
	}
	v.mu.Lock()
	c := v.carriers[r.Carrier]
	if c == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", r.Carrier)
	}
	if l := v.loans[c.ID]; l != nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is already signed out (%s, to %s, due %s)", c.ID, l.ID, l.Borrower, l.Due.Format("2006-01-02 15:04"))
	}
	v.mu.Unlock()

	borrower, err := v.mayTake("borrower", r.Borrower, c, now)
	if err != nil {
		return nil, err
	}
	if c.Class == gateway.TopSecret {
		if r.Second == "" {
			return nil, gateway.Errorf(gateway.EINVALID, "second: a top-secret (绝密) carrier is signed out by two people")
		}
		if gateway.SamePerson(r.Second, r.Borrower) {
			return nil, gateway.Errorf(gateway.EINVALID, "second: must be another person than the borrower")
		}
		if _, err := v.mayTake("second", r.Second, c, now); err != nil {
			return nil, err
		}
	} else if r.Second != "" {
		if _, err := v.mayTake("second", r.Second, c, now); err != nil {
			return nil, err
		}
	}
	due := r.Due
	if due.IsZero() {
		due = v.work.EndOfDay(now)
	}
	if !due.After(now) {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is not in the future", due.Format("2006-01-02 15:04"))
	}
	needApprover := r.MayLeave || due.Sub(now) > v.cfg.MaxLoan
	if r.Approver != "" || needApprover {
		if r.Approver == "" {
			return nil, gateway.Errorf(gateway.EINVALID, "approver: needed to let the carrier leave the room or to lend it for more than %s", v.cfg.MaxLoan)
		}
		if err := v.mayApprove(r.Approver, borrower.ID, r.Second); err != nil {
			return nil, err
		}
	}

	l := &gateway.SignOut{ID: "so-" + gateway.NewEventID(now), Carrier: c.ID, Borrower: borrower.ID, Second: r.Second, Purpose: r.Purpose,
		MayLeave: r.MayLeave, Approver: r.Approver, Due: due, At: now, By: r.By, Via: r.Via}
	if c.Class == gateway.TopSecret {
		// Two people through two channels: this is asked for; the second
		// person's own confirmation makes it a loan.
		err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
			prev := v.asked[c.ID]
			v.asked[c.ID] = l
			b.undo = append(b.undo, func() {
				if prev == nil {
					delete(v.asked, c.ID)
				} else {
					v.asked[c.ID] = prev
				}
			})
			b.event("carrier.signout_asked", gateway.SeverityInfo, c.ID, borrower.ID, map[string]any{"carrier": c.ID, "title": c.Title,
				"borrower": borrower.ID, "borrower_name": borrower.Name, "second": r.Second, "purpose": r.Purpose, "by": r.By,
				"window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		})
		if err != nil {
			return nil, err
		}
		waiting := *l
		waiting.ID, waiting.Waiting = "", r.Second
		return &waiting, nil
	}
	return v.lend(c, borrower, l)
}

// lend makes l a loan of c to borrower.
func (v *Vault) lend(c *gateway.Carrier, borrower *gateway.Person, l *gateway.SignOut) (*gateway.SignOut, error) {
	now, r, due := l.At, l, l.Due
	err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
		if v.carriers[c.ID] == nil || v.loans[c.ID] != nil { // changed while we looked people up
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s changed meanwhile; try again", c.ID)
		}
		st := b.touch(c.ID)
		v.loans[c.ID] = l
		asked := v.asked[c.ID]
		delete(v.asked, c.ID)
		st.Status, st.Misplaced, st.SignOut = gateway.CarrierSignedOut, false, l.ID
		b.c.signOuts = append(b.c.signOuts, *l)
		b.event("carrier.signed_out", gateway.SeverityInfo, c.ID, borrower.ID, map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class,
			"sign_out": l.ID, "borrower": borrower.ID, "borrower_name": borrower.Name, "second": r.Second, "purpose": r.Purpose,
			"may_leave": r.MayLeave, "approver": r.Approver, "approved": l.Approved(), "due": due.Format(gateway.TimeFormat), "by": r.By})
		v.armOverdue(l)
		b.undo = append(b.undo, func() {
			delete(v.loans, c.ID)
			if asked != nil {
				v.asked[c.ID] = asked
			}
			v.disarmOverdue(c.ID)
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// confirmSecond is the second person's own confirmation of a top-secret
// sign-out asked for within gateway.SecondWindow, through another channel than the
// asking: it makes the loan.
func (v *Vault) confirmSecond(c *gateway.Carrier, asked *gateway.SignOut, by, via string) (*gateway.SignOut, error) {
	now := v.clock.Now()
	switch {
	case now.Sub(asked.At) > gateway.SecondWindow:
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s asked at %s waited more than %s for %s: ask again", c.ID, asked.At.Format("15:04:05"), gateway.SecondWindow, asked.Second)
	case asked.Via != "" && asked.Via == via:
		return nil, gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s confirms through the same channel the sign-out was asked through (%s): the second person signs from their own session or key", by, via)
	}
	borrower, err := v.mayTake("borrower", asked.Borrower, c, now)
	if err != nil {
		return nil, err
	}
	if _, err := v.mayTake("second", asked.Second, c, now); err != nil {
		return nil, err
	}
	l := *asked
	l.At, l.SecondVia = now, via
	return v.lend(c, borrower, &l)
}

// disarmOverdue ends a loan's overdue timer; with v.mu held.
func (v *Vault) disarmOverdue(carrier string) {
	if stop := v.timers[carrier]; stop != nil {
		stop()
		delete(v.timers, carrier)
	}
}

// mayTake checks that person id may take carrier c now.
func (v *Vault) mayTake(field, id string, c *gateway.Carrier, now time.Time) (*gateway.Person, error) {
	if strings.TrimSpace(id) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: missing", field)
	}
	p, err := v.people.Person(id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: no person %q in the register", field, id)
	}
	today := now.In(v.work.Location).Format(time.DateOnly)
	switch {
	case p.InvalidOn(today) != "":
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s) is not valid today", field, p.Name, p.ID)
	case !p.AllowedIn(v.room):
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s) is not allowed in this room", field, p.Name, p.ID)
	case !p.Level.Covers(c.Class):
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s (%s), level %s, may not take a %s (%s) carrier", field, p.Name, p.ID, p.Level, c.Class, c.Class.Chinese())
	}
	return p, nil
}

// mayApprove checks an approver: a security officer or a leader, neither
// the borrower nor the second.
func (v *Vault) mayApprove(id, borrower, second string) error {
	if gateway.SamePerson(id, borrower) || second != "" && gateway.SamePerson(id, second) {
		return gateway.Errorf(gateway.EINVALID, "approver: the borrower cannot approve their own loan")
	}
	p, err := v.people.Person(id)
	if err != nil {
		return err
	}
	if p == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "approver: no person %q in the register", id)
	}
	if p.Role != gateway.RoleSecurityOfficer && p.Role != gateway.RoleLeader {
		return gateway.Errorf(gateway.EINVALID, "approver: %s (%s) is a %s; a security officer or a leader approves", p.Name, p.ID, p.Role)
	}
	return nil
}

// armOverdue starts the overdue timer of an open loan; with v.mu held.
func (v *Vault) armOverdue(l *gateway.SignOut) {
	if stop := v.timers[l.Carrier]; stop != nil {
		stop()
	}
	carrier, id := l.Carrier, l.ID
	v.timers[carrier] = v.clock.AfterFunc(max(l.Due.Sub(v.clock.Now()), 0), func() { v.overdue(carrier, id) })
}

func (v *Vault) overdue(carrier, loanID string) {
	err := v.step(at, func(b *vbatch) error {
		l := v.loans[carrier]
		if l == nil || l.ID != loanID || l.Overdue {
			return nil
		}
		l.Overdue = true
		b.undo = append(b.undo, func() { // not logged: not overdue yet; the timer is armed again
			if cur := v.loans[carrier]; cur != nil && cur.ID == loanID {
				cur.Overdue = false
				v.timers[carrier] = v.clock.AfterFunc(faultRetry, func() { v.overdue(carrier, loanID) })
			}
		})
		b.c.signOuts = append(b.c.signOuts, *l)
		title := carrier
		if c := v.carriers[carrier]; c != nil {
			title = c.Title
		}
		b.event("carrier.overdue", gateway.SeverityWarning, carrier, l.Borrower, map[string]any{"carrier": carrier, "title": title,
			"sign_out": l.ID, "borrower": l.Borrower, "due": l.Due.Format(gateway.TimeFormat)})
		b.raise(gateway.AlarmCarrierOverdue, carrier, fmt.Sprintf("%s《%s》 signed out to %s was due back at %s", carrier, title, l.Borrower, l.Due.Format("2006-01-02 15:04")))
		return nil
	})
	v.fault("log a carrier overdue", err)
}

// Return closes a carrier's open sign-out; an overdue alarm is restored in
// the same change.
// HoldsTopSecret tells whether safe is the home of a top-secret carrier.
func (v *Vault) HoldsTopSecret(safe string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.carriers {
		if c.Home == safe && c.Class == gateway.TopSecret {
			return true
		}
	}
	return false
}

// Approve is the approver's own confirmation of a sign-out that names
// them (a carrier that may leave the room, or a loan past MaxLoan), through
// another channel than the sign-out's: until then the carrier may not pass
// the door. For a top-secret sign-out asked for and not yet a loan, it is
// the second person's confirmation, which makes it one.
func (v *Vault) Approve(carrier, by, via string) (*gateway.SignOut, error) {
	v.mu.Lock()
	asked, lent, c, ext := v.asked[carrier], v.loans[carrier], v.carriers[carrier], v.extends[carrier]
	v.mu.Unlock()
	if asked != nil && lent == nil && c != nil && gateway.SamePerson(asked.Second, by) {
		return v.confirmSecond(c, asked, by, via)
	}
	if ext != nil && lent != nil && lent.ID == ext.ID && gateway.SamePerson(ext.Approver, by) {
		now := v.clock.Now()
		switch {
		case now.Sub(ext.At) > gateway.SecondWindow:
			return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: the extension of %s asked at %s waited more than %s for %s: ask again", carrier, ext.At.Format("15:04:05"), gateway.SecondWindow, ext.Approver)
		case ext.Via != "" && ext.Via == via:
			return nil, gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s approves through the same channel the extension was asked through (%s): the approver signs from their own session or key", by, via)
		}
		return v.extend(carrier, ext.ID, ext.Due, ext.Approver, ext.By, now)
	}
	var approved gateway.SignOut
	err := v.step(at, func(b *vbatch) error {
		l := v.loans[carrier]
		switch {
		case v.carriers[carrier] == nil:
			return gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
		case l == nil:
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
		case l.Approver == "":
			return gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s names no approver", carrier)
		case !gateway.SamePerson(l.Approver, by):
			return gateway.Errorf(gateway.ENOTALLOWED, "carrier: the sign-out of %s names %s as approver, not %s", carrier, l.Approver, by)
		case l.Approved():
			return gateway.Errorf(gateway.ECONFLICT, "carrier: the sign-out of %s is approved already", carrier)
		case l.Via != "" && l.Via == via:
			return gateway.Errorf(gateway.ESAMEPERSON, "carrier: %s approves through the same channel the sign-out came through (%s): the approver signs from their own session or key", by, via)
		}
		prev := *l
		l.ApprovedAt, l.ApprovedVia = b.now, via
		b.undo = append(b.undo, func() { *l = prev })
		b.c.signOuts = append(b.c.signOuts, *l)
		b.event("carrier.approved", gateway.SeverityInfo, carrier, l.Borrower, map[string]any{"carrier": carrier,
			"sign_out": l.ID, "approver": by, "may_leave": l.MayLeave})
		approved = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &approved, nil
}

func (v *Vault) Return(carrier, by string) (*gateway.SignOut, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who takes the carrier back is missing")
	}
	var closed gateway.SignOut
	err := v.step(at, func(b *vbatch) error {
		c := v.carriers[carrier]
		if c == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
		}
		l := v.loans[carrier]
		if l == nil {
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
		}
		now := b.now
		closed = *l
		closed.ReturnedAt, closed.ReturnedBy = now, by
		b.c.signOuts = append(b.c.signOuts, closed)
		st := b.touch(carrier)
		delete(v.loans, carrier)
		b.undo = append(b.undo, func() { v.loans[carrier] = l })
		st.SignOut = ""
		b.event("carrier.returned", gateway.SeverityInfo, carrier, l.Borrower, map[string]any{"carrier": carrier, "title": c.Title,
			"sign_out": l.ID, "borrower": l.Borrower, "by": by, "late": now.After(l.Due)})
		// Back home if it is seen there now; otherwise away until it is.
		s := v.seen[carrier]
		if s.loc.ID == c.Home && !s.assumed && now.Sub(s.at) < v.cfg.Present {
			st.Status = gateway.CarrierHome
		} else {
			st.Status = gateway.CarrierAway
		}
		v.disarmOverdue(carrier)
		if l.Overdue {
			b.restore(gateway.AlarmCarrierOverdue, carrier)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &closed, nil
}

// Loans returns the open sign-outs, by due time.
func (v *Vault) Loans() []gateway.SignOut {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]gateway.SignOut, 0, len(v.loans))
	for _, l := range v.loans {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b gateway.SignOut) int { return a.Due.Compare(b.Due) })
	return out
}

// Replace installs a new register, saved by save under the vault's lock so
// no sighting lands between the two. A carrier still signed out cannot be
// dropped from the register: it must be returned first. Every carrier's
// state is published again and the dropped ones are cleared.
func (v *Vault) Replace(carriers []gateway.Carrier, save func() error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	keep := make(map[string]bool, len(carriers))
	for _, c := range carriers {
		keep[c.ID] = true
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
	if err := save(); err != nil {
		return err
	}
	var dropped []string
	for id := range v.carriers {
		if !keep[id] {
			dropped = append(dropped, id)
		}
	}
	v.setCarriers(carriers, v.clock.Now())
	if v.sink != nil {
		for _, id := range dropped {
			v.sink.CarrierState(id, nil)
		}
	}
	v.publishAll()
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

// Extend moves an open sign-out's due time, approved by a security officer
// or a leader other than the borrower. An overdue alarm is restored.
func (v *Vault) Extend(carrier string, due time.Time, approver, by, via string) (*gateway.SignOut, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who extends the loan is missing")
	}
	now := v.clock.Now()
	if !due.After(now) {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is not in the future", due.Format("2006-01-02 15:04"))
	}
	if due.Sub(now) > maxExtension {
		return nil, gateway.Errorf(gateway.EINVALID, "due: %s is more than %d days away", due.Format("2006-01-02 15:04"), int(maxExtension.Hours()/24))
	}
	v.mu.Lock()
	l := v.loans[carrier]
	if v.carriers[carrier] == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ENOTFOUND, "carrier: no carrier %q in the register", carrier)
	}
	if l == nil {
		v.mu.Unlock()
		return nil, gateway.Errorf(gateway.ECONFLICT, "carrier: %s is not signed out", carrier)
	}
	borrower, second, loanID := l.Borrower, l.Second, l.ID
	v.mu.Unlock()
	if strings.TrimSpace(approver) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "approver: an extension is approved by a security officer or a leader")
	}
	if err := v.mayApprove(approver, borrower, second); err != nil {
		return nil, err
	}
	if !gateway.SamePerson(by, approver) {
		// Another asks for the approver: the extension waits for the
		// approver's own signature (carrier/approve, another channel).
		asked := &gateway.SignOut{ID: loanID, Carrier: carrier, Due: due, Approver: approver, By: by, Via: via, At: now}
		err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
			prev := v.extends[carrier]
			v.extends[carrier] = asked
			b.undo = append(b.undo, func() {
				if prev == nil {
					delete(v.extends, carrier)
				} else {
					v.extends[carrier] = prev
				}
			})
			b.event("carrier.extend_asked", gateway.SeverityInfo, carrier, borrower, map[string]any{"carrier": carrier, "sign_out": loanID,
				"due": due.Format(gateway.TimeFormat), "approver": approver, "by": by, "window_s": int64(gateway.SecondWindow.Seconds())})
			return nil
		})
		if err != nil {
			return nil, err
		}
		waiting := *asked
		waiting.Waiting = approver
		return &waiting, nil
	}
	return v.extend(carrier, loanID, due, approver, by, now)
}

// extend moves the loan loanID of carrier to due, approved by approver.
func (v *Vault) extend(carrier, loanID string, due time.Time, approver, by string, now time.Time) (*gateway.SignOut, error) {
	var out gateway.SignOut
	err := v.step(func(*change) time.Time { return now }, func(b *vbatch) error {
		l := v.loans[carrier]
		if l == nil || l.ID != loanID {
			return gateway.Errorf(gateway.ECONFLICT, "carrier: %s changed meanwhile; try again", carrier)
		}
		prev := *l
		l.Due, l.Overdue = due, false
		l.Approver = approver
		b.undo = append(b.undo, func() {
			*l = prev
			v.armOverdue(l)
		})
		b.c.signOuts = append(b.c.signOuts, *l)
		b.touch(carrier) // the retained state shows the due time
		delete(v.extends, carrier)
		b.event("carrier.extended", gateway.SeverityInfo, carrier, l.Borrower, map[string]any{"carrier": carrier, "sign_out": l.ID,
			"borrower": l.Borrower, "previous_due": prev.Due.Format(gateway.TimeFormat), "due": due.Format(gateway.TimeFormat), "approver": approver, "by": by})
		v.armOverdue(l)
		if prev.Overdue {
			b.restore(gateway.AlarmCarrierOverdue, carrier)
		}
		out = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// InSafes lists, per safe, the carriers seen in it within the presence
// window: the carriers part of a seal snapshot.
func (v *Vault) InSafes() map[string][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.clock.Now()
	out := map[string][]string{}
	for id, s := range v.seen {
		if s.loc.Kind == gateway.LocSafe && !s.assumed && now.Sub(s.at) < v.cfg.Present {
			out[s.loc.ID] = append(out[s.loc.ID], id)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}
