package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

type grant struct {
	people    []gateway.Occupant
	direction gateway.Direction
	reader    string
	until     time.Time
	stop      func() bool
}

type doorState struct {
	cfg       gateway.AccessDoor
	grant     *grant
	exitAt    time.Time // last exit-button press
	open      bool
	stopHeld  []func() bool
	lastGrant map[string]time.Time // person id → when granted here (escort rule)
}

// Access is the room's entry control: it decides every badge, opens the
// door, confirms entries by the door contact, keeps who is inside, and
// raises door-forced, door-held-open, denied-burst and unescorted-visitor
// alarms through the panel. It decides from the gateway's own register, so it
// works with the network down.
type Access struct {
	room  string
	cfg   gateway.AccessConfig
	clock gateway.Clock
	reg   gateway.Register
	log   gateway.AccessLog
	sink  gateway.AccessSink
	panel *Panel
	work  *gateway.WorkSchedule
	key   gateway.Keyed

	engine *Engine // releases the door strikes

	mu         sync.Mutex
	doors      map[string]*doorState
	readers    map[string]gateway.AccessReader
	denials    map[string]int
	armOnClose string            // the last one out, who arms the room when the door shuts
	pending    *gateway.Occupant // two-person rule: the first person, waiting
	pendAt     time.Time
	lastCard   map[string]cardAt // per reader, the last card presented: a double badge
	st         gateway.AccessState
	maint      map[string]*maintenance  // maintenance visits asked for or approved (maintenance.go)
	inside     atomic.Pointer[[]string] // names, read by the panel without our lock
	last       atomic.Pointer[gateway.Badged]
}

// LastBadge returns the last known person who badged, or nil.
func (a *Access) LastBadge() *gateway.Badged { return a.last.Load() }

// newAccess returns the entry control of room. cfg is complete: its
// defaults are the config package's (config.DefaultAccess, DefaultDoor).
func newAccess(room string, cfg gateway.AccessConfig, clock gateway.Clock, reg gateway.Register, log gateway.AccessLog, sink gateway.AccessSink, panel *Panel, key gateway.Keyed) *Access {
	a := &Access{room: room, cfg: cfg, clock: clock, reg: reg, log: log, sink: sink, panel: panel, key: key,
		doors: map[string]*doorState{}, readers: map[string]gateway.AccessReader{}, denials: map[string]int{}, lastCard: map[string]cardAt{}}
	for _, d := range cfg.Doors {
		a.doors[d.ID] = &doorState{cfg: d, lastGrant: map[string]time.Time{}}
	}
	for _, r := range cfg.Readers {
		a.readers[r.ID] = r
	}
	a.inside.Store(&[]string{})
	if panel != nil {
	}
	return a
}

// SetSchedule gives the holidays, for the people not allowed in on them.
func (a *Access) SetSchedule(ws gateway.WorkSchedule) {
	a.mu.Lock()
	a.work = &ws
	a.mu.Unlock()
}

// Start loads who was inside when the gateway stopped and publishes it.
func (a *Access) Start() error {
	st, err := a.log.LoadAccess()
	if err != nil {
		return fmt.Errorf("load occupancy: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if st != nil {
		a.st = *st
	}
	a.published()
	return nil
}

// Inside lists the names of who is inside (the panel's arming check).
func (a *Access) Inside() []string { return *a.inside.Load() }

// Occupants returns who is inside.
func (a *Access) Occupants() []gateway.Occupant {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.st.Inside)
}

// setInside keeps the names of who is inside for the readiness rule: at
// once, so the next operation of the same change already sees them. With
// a.mu held.
func (a *Access) setInside() {
	names := make([]string, 0, len(a.st.Inside))
	for _, o := range a.st.Inside {
		names = append(names, o.Name)
	}
	a.inside.Store(&names)
}

// published sets the names and publishes the occupancy; with a.mu held.
func (a *Access) published() {
	a.setInside()
	if a.sink != nil {
		a.sink.Occupancy(a.occupancyJSON())
	}
}

// publishOccupancy publishes who is inside, once a change is committed.
func (a *Access) publishOccupancy() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sink != nil {
		a.sink.Occupancy(a.occupancyJSON())
	}
}

func (a *Access) occupancyJSON() json.RawMessage {
	type occ struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Since   string `json:"since"`
		Visitor bool   `json:"visitor,omitempty"`
		Escort  string `json:"escort,omitempty"`
	}
	list := []occ{}
	for _, o := range a.st.Inside {
		list = append(list, occ{o.ID, o.Name, o.Since.Format(gateway.TimeFormat), o.Visitor, o.Escort})
	}
	return mustJSON(map[string]any{"room": a.room, "count": len(list), "inside": list,
		"ts": a.clock.Now().Format(gateway.TimeFormat)})
}

// batch is one step of entry control within the room's change: its events,
// the alarms it raises or restores, and the occupancy it leads to, all in
// the change's one transaction.
type batch struct {
	a   *Access
	c   *change
	now time.Time
	n   int // the change's events before the step
}

func (a *Access) begin(c *change, now time.Time) *batch {
	return &batch{a: a, c: c, now: now, n: len(c.events)}
}

func (b *batch) event(typ string, sev gateway.Severity, device, person string, data map[string]any) {
	b.c.events = append(b.c.events, newEvent(b.a.clock, b.now, typ, sev, device, person, data))
}

// raise raises (or counts on) an alarm in the same change.
func (b *batch) raise(class gateway.AlarmClass, device, detail string, active bool) {
	b.a.panel.raise(b.c, class, device, detail, active)
}

// restore marks the open alarms of class on device restored, in the change.
func (b *batch) restore(class gateway.AlarmClass, device string) {
	b.a.panel.restore(b.c, func(x *gateway.Alarm) bool { return x.Class == class && x.Device == device })
}

// commit puts the step's occupancy into the change when the step logged
// something, and its publication after the commit; with a.mu held.
func (a *Access) commit(b *batch, changedOccupancy bool) {
	if len(b.c.events) == b.n && !changedOccupancy {
		return
	}
	b.c.access = &gateway.AccessState{Inside: slices.Clone(a.st.Inside)}
	if changedOccupancy {
		a.setInside()
		b.c.published = append(b.c.published, a.publishOccupancy)
	}
}

// fault raises a gateway fault for an error nobody waits for (a timer's).
func (a *Access) fault(what string, err error) {
	if err == nil {
		return
	}
	a.panel.Fault(what, err)
}

func (a *Access) isInside(id string) int {
	for i, o := range a.st.Inside {
		if o.ID == id {
			return i
		}
	}
	return -1
}

// Badge decides a card presented at a reader: on a grant the strike is
// released before anything is written (the door waits for nothing but the
// decision), then the decision is logged with what it leads to (a denial
// burst, a disarming) in one change of the room.
func (a *Access) Badge(reader, card string, at time.Time) (gateway.Decision, error) {
	var d gateway.Decision
	var strikeErr error
	err := a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		r, ok := a.readers[reader]
		if !ok {
			return gateway.Errorf(gateway.ENOTFOUND, "no badge reader %q", reader)
		}
		door := a.doors[r.Door]
		b := a.begin(c, at)
		var err error
		if d, err = a.decide(r, door, card, at, c.next.Mode); err != nil {
			return err
		}
		double := a.double(reader, card, at)
		if double && d.Person != nil {
			switch {
			case r.Direction == gateway.DirOut && c.next.Mode == gateway.ModeOpen:
				d.Confirms = "seal"
			case r.Direction == gateway.DirIn && c.next.Mode == gateway.ModeSealed:
				d.Confirms = "unseal"
			}
		}
		burst := 0
		if d.Granted {
			a.denials[reader] = 0
			if err := a.engine.releaseStrike(c, door.cfg.Strike, reader, &strikeErr); err != nil {
				strikeErr = err
			}
			a.grantDoor(door, d, r, at)
		} else if d.Reason != gateway.DenyWaitingSecond && d.Confirms == "" {
			a.denials[reader]++
			if n := a.denials[reader]; n >= a.cfg.Denials {
				a.denials[reader], burst = 0, n
			}
		}
		a.logDecision(b, r, card, d) // the decision first, then what it leads to
		if d.Person != nil && d.Person.IsDuress(card) {
			// Opened as the person's own card would (above); nothing in
			// the room shows it; the silent alarm calls the call-down.
			b.raise(gateway.AlarmDuress, reader, fmt.Sprintf("duress card of %s (%s) at %s", d.Person.Name, d.Person.ID, reader), false)
		}
		if burst > 0 {
			b.raise(gateway.AlarmDeniedBurst, reader, fmt.Sprintf("%d consecutive denials", burst), false)
		}
		if d.Person != nil {
			a.last.Store(&gateway.Badged{Person: d.Person.ID, Name: d.Person.Name, Reader: reader, Granted: d.Granted, At: at})
		}
		if d.Granted && d.Disarms {
			if err := a.panel.disarm(c, d.Person.ID); err != nil {
				return err
			}
		}
		a.commit(b, false)
		return nil
	})
	if err != nil {
		return gateway.Decision{}, errors.Join(err, strikeErr)
	}
	return d, strikeErr
}

func (a *Access) logDecision(b *batch, r gateway.AccessReader, card string, d gateway.Decision) {
	data := map[string]any{"reader": r.ID, "door": r.Door, "direction": r.Direction, "card": gateway.MaskCard(card)}
	if len(a.key) > 0 {
		data["card_ref"] = a.key.Ref(card)
	}
	person := ""
	switch {
	case d.Person != nil:
		person = d.Person.ID
		data["person_id"], data["person_name"] = d.Person.ID, d.Person.Name
	case d.Visit != nil:
		person = d.Visit.ID
		data["person_id"], data["person_name"], data["visitor"] = d.Visit.ID, d.Visit.Name, true
		data["escort"] = d.Visit.Escort
	}
	if len(d.Pair) > 0 {
		data["pair"] = d.Pair
	}
	if d.Granted {
		data["result"] = "granted"
		b.event("access.granted", gateway.SeverityInfo, r.ID, person, data)
		return
	}
	data["result"], data["reason"] = "denied", d.Reason
	sev := gateway.SeverityWarning
	if d.Reason == gateway.DenyWaitingSecond {
		sev = gateway.SeverityInfo
	}
	b.event("access.denied", sev, r.ID, person, data)
}

// decide applies the rules in a fixed order; the first that fails is the reason.
func (a *Access) decide(r gateway.AccessReader, door *doorState, card string, now time.Time, mode gateway.Mode) (gateway.Decision, error) {
	d := gateway.Decision{Direction: r.Direction, Door: r.Door}
	p, err := a.reg.PersonByCard(card)
	if err != nil {
		return d, err
	}
	var v *gateway.Visit
	if p == nil {
		if v, err = a.reg.VisitByCard(card); err != nil {
			return d, err
		}
	}
	d.Person, d.Visit = p, v
	deny := func(reason string) (gateway.Decision, error) { d.Reason = reason; return d, nil }
	if p == nil && v == nil {
		return deny(gateway.DenyUnknownCard)
	}
	if r.Direction == gateway.DirOut { // nobody is kept in: a known card always lets out
		d.Granted = true
		return d, nil
	}
	if v != nil {
		switch {
		case !v.CheckedOutAt.IsZero():
			return deny(gateway.DenyVisitClosed)
		case now.Before(v.From):
			return deny(gateway.DenyNotYetValid)
		case !now.Before(v.Until):
			return deny(gateway.DenyExpired)
		case mode == gateway.ModeSealed:
			return deny(gateway.DenySealed)
		case mode == gateway.ModeArmed:
			return deny(gateway.DenyArmedNoRight)
		}
		// The escort's own badge, granted here just before.
		if at, ok := door.lastGrant[v.Escort]; !ok || now.Sub(at) > a.cfg.PairWindow {
			return deny(gateway.DenyNoEscort)
		}
		if a.cfg.AntiPassback && a.isInside(v.ID) >= 0 {
			return deny(gateway.DenyAntiPassback)
		}
		d.Granted = true
		return d, nil
	}
	loc := time.Local
	if a.work != nil && a.work.Location != nil {
		loc = a.work.Location
	}
	local := now.In(loc)
	today := local.Format(time.DateOnly)
	if reason := p.InvalidOn(today); reason != "" {
		return deny(reason)
	}
	switch {
	case !p.AllowedIn(a.room):
		return deny(gateway.DenyRoomNotAllowed)
	case mode == gateway.ModeSealed:
		return deny(gateway.DenySealed)
	case mode == gateway.ModeArmed && !p.Role.MayDisarm():
		return deny(gateway.DenyArmedNoRight)
	case a.work.IsHoliday(now) && !p.Holidays:
		return deny(gateway.DenyHoliday)
	case !p.Schedule.AllowsOn(local, a.work.IsMakeUpWorkday(now)):
		return deny(gateway.DenyOutsideSchedule)
	case a.cfg.AntiPassback && a.isInside(p.ID) >= 0:
		return deny(gateway.DenyAntiPassback)
	}
	d.Disarms = mode == gateway.ModeArmed
	if a.cfg.TwoPerson {
		if a.pending != nil && a.pending.ID != p.ID && now.Sub(a.pendAt) <= a.cfg.PairWindow {
			d.Pair = []string{a.pending.ID, p.ID}
			a.pending = nil
			d.Granted = true
			return d, nil
		}
		a.pending, a.pendAt = &gateway.Occupant{ID: p.ID, Name: p.Name}, now
		return deny(gateway.DenyWaitingSecond)
	}
	d.Granted = true
	return d, nil
}

// cardAt is a card presented at a time.
type cardAt struct {
	card string
	at   time.Time
}

// double tells whether card, presented at reader at at, is the second of a
// double badge (the same card within gateway.DoubleBadge); a third starts
// over. With a.mu held.
func (a *Access) double(reader, card string, at time.Time) bool {
	last, ok := a.lastCard[reader]
	if ok && last.card == card && at.Sub(last.at) <= gateway.DoubleBadge {
		delete(a.lastCard, reader)
		return true
	}
	a.lastCard[reader] = cardAt{card: card, at: at}
	return false
}

// grantDoor holds the grant until the door opens or the pulse ends.
func (a *Access) grantDoor(door *doorState, d gateway.Decision, r gateway.AccessReader, now time.Time) {
	var people []gateway.Occupant
	switch {
	case d.Visit != nil:
		people = []gateway.Occupant{{ID: d.Visit.ID, Name: d.Visit.Name, Visitor: true, Escort: d.Visit.Escort}}
	case len(d.Pair) == 2:
		first, _ := a.reg.Person(d.Pair[0])
		name := d.Pair[0]
		if first != nil {
			name = first.Name
		}
		people = []gateway.Occupant{{ID: d.Pair[0], Name: name}, {ID: d.Person.ID, Name: d.Person.Name}}
	default:
		people = []gateway.Occupant{{ID: d.Person.ID, Name: d.Person.Name}}
	}
	if d.Person != nil {
		for id, at := range door.lastGrant { // keep the map small
			if now.Sub(at) > a.cfg.PairWindow {
				delete(door.lastGrant, id)
			}
		}
		for _, o := range people {
			door.lastGrant[o.ID] = now
		}
	}
	if door.grant != nil && door.grant.direction == r.Direction && door.grant.stop != nil {
		// Several badges before the door opens (an escort and a visitor):
		// one opening lets them all through.
		door.grant.stop()
		held := door.grant.people
		for _, o := range people { // a double badge is one person going through
			if !slices.ContainsFunc(held, func(h gateway.Occupant) bool { return h.ID == o.ID }) {
				held = append(held, o)
			}
		}
		people = held
	}
	g := &grant{people: people, direction: r.Direction, reader: r.ID, until: now.Add(door.cfg.Pulse)}
	g.stop = a.clock.AfterFunc(door.cfg.Pulse, func() { a.grantExpired(door, g) })
	door.grant = g
}

func (a *Access) grantExpired(door *doorState, g *grant) {
	a.fault("log a grant not used", a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if door.grant != g {
			return nil
		}
		door.grant = nil
		b := a.begin(c, c.now)
		for _, o := range g.people {
			b.event("access.not_opened", gateway.SeverityInfo, door.cfg.ID, o.ID, map[string]any{"door": door.cfg.ID, "reader": g.reader,
				"person_id": o.ID, "person_name": o.Name, "direction": g.direction})
		}
		a.commit(b, false)
		return nil
	}))
}

// Input takes an input's change on its own change of the room (the engine
// hands its inputs over inside theirs: see input).
func (a *Access) Input(id string, kind gateway.InputKind, active bool, at time.Time) error {
	return a.panel.do(func(c *change) error { a.input(c, id, kind, active, at); return nil })
}

// input is what an input's change means for entry control, in the change
// that logs it: a door opened is an entry, an exit or forced; a door shut
// behind the last one out arms the room.
func (a *Access) input(c *change, id string, kind gateway.InputKind, active bool, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.begin(c, at)
	changed := false
	switch kind {
	case gateway.KindDoor:
		door, ok := a.doors[id]
		if !ok {
			break
		}
		if active {
			changed = a.doorOpened(b, door)
		} else {
			door.open = false
			for _, stop := range door.stopHeld {
				stop()
			}
			door.stopHeld = nil
			if by := a.armOnClose; by != "" {
				a.armOnClose = ""
				if len(a.st.Inside) == 0 {
					// A refusal is logged with its reasons and the room stays
					// open; arm changes nothing else when it refuses.
					if err := a.panel.arm(c, by); err != nil && gateway.ErrorCode(err) != gateway.ECONFLICT {
						a.panel.fault("arm as the last one out shut the door", err)
					}
				}
			}
		}
	case gateway.KindExitButton:
		if active {
			for _, door := range a.doors {
				if door.cfg.ExitButton == id {
					door.exitAt = at
				}
			}
		}
	case gateway.KindIRDetector:
		if active && len(a.st.Inside) == 0 && c.next.Mode == gateway.ModeOpen {
			b.event("access.motion_while_empty", gateway.SeverityWarning, id, "", map[string]any{"detector": id})
		}
	}
	a.commit(b, changed)
}

// doorOpened confirms a grant, an exit by button, or raises door forced.
func (a *Access) doorOpened(b *batch, door *doorState) bool {
	door.open = true
	id := door.cfg.ID
	door.stopHeld = []func() bool{
		a.clock.AfterFunc(door.cfg.HeldWarning, func() { a.held(door, false) }),
		a.clock.AfterFunc(door.cfg.HeldOpen, func() { a.held(door, true) }),
	}
	if g := door.grant; g != nil && !b.now.After(g.until) {
		door.grant = nil
		if g.stop != nil {
			g.stop()
		}
		for _, o := range g.people {
			o.Since = b.now
			if g.direction == gateway.DirIn {
				a.enter(b, door, o, g.reader)
			} else {
				a.exit(b, door, o.ID, "reader", g.reader)
			}
		}
		return true
	}
	if !door.exitAt.IsZero() && b.now.Sub(door.exitAt) <= door.cfg.Pulse {
		door.exitAt = time.Time{}
		switch len(a.st.Inside) {
		case 1: // unambiguous
			a.exit(b, door, a.st.Inside[0].ID, "exit_button", door.cfg.ExitButton)
			return true
		default:
			b.event("access.exited", gateway.SeverityInfo, id, "", map[string]any{"door": id, "via": "exit_button",
				"attributed": false, "inside": len(a.st.Inside)})
			return false
		}
	}
	b.raise(gateway.AlarmDoorForced, id, "door opened without a grant or the exit button", true)
	return false
}

func (a *Access) enter(b *batch, door *doorState, o gateway.Occupant, reader string) {
	if a.isInside(o.ID) < 0 {
		a.st.Inside = append(a.st.Inside, o)
	}
	data := map[string]any{"door": door.cfg.ID, "reader": reader, "direction": gateway.DirIn, "person_id": o.ID, "person_name": o.Name,
		"via": "reader", "inside": len(a.st.Inside)}
	if o.Visitor {
		data["visitor"], data["escort"] = true, o.Escort
	}
	b.event("access.entered", gateway.SeverityInfo, door.cfg.ID, o.ID, data)
	if !o.Visitor {
		b.restore(gateway.AlarmUnescorted, o.ID)
	}
}

func (a *Access) exit(b *batch, door *doorState, id, via, device string) {
	i := a.isInside(id)
	o := gateway.Occupant{ID: id, Name: id}
	if i >= 0 {
		o = a.st.Inside[i]
		a.st.Inside = slices.Delete(a.st.Inside, i, i+1)
	}
	data := map[string]any{"door": door.cfg.ID, "direction": gateway.DirOut, "person_id": o.ID, "person_name": o.Name,
		"via": via, "attributed": true, "inside": len(a.st.Inside)}
	if via == "reader" {
		data["reader"] = device
	}
	if o.Visitor {
		data["visitor"] = true
	}
	b.event("access.exited", gateway.SeverityInfo, door.cfg.ID, o.ID, data)
	if o.Visitor {
		b.restore(gateway.AlarmUnescorted, o.Escort)
	}
	// The escort leaving a visitor behind.
	for _, v := range a.st.Inside {
		if v.Visitor && v.Escort == id {
			detail := fmt.Sprintf("escort %s left; visitor %s is inside", o.Name, v.Name)
			b.raise(gateway.AlarmUnescorted, id, detail, true)
		}
	}
	if len(a.st.Inside) == 0 {
		b.event("access.room_empty", gateway.SeverityInfo, door.cfg.ID, o.ID, map[string]any{"last_out": o.ID, "last_out_name": o.Name})
		if a.cfg.ArmWhenEmpty && via == "reader" && !o.Visitor {
			a.armOnClose = id // once the door is shut behind them
		}
	}
}

// held is the door-held-open warning (alarm false) or alarm.
func (a *Access) held(door *doorState, alarm bool) {
	a.fault("log the door held open", a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if !door.open {
			return nil
		}
		b := a.begin(c, c.now)
		if alarm {
			b.raise(gateway.AlarmDoorHeldOpen, door.cfg.ID, fmt.Sprintf("door open longer than %d s", int64(door.cfg.HeldOpen.Seconds())), true)
		} else {
			b.event("access.door_held_warning", gateway.SeverityWarning, door.cfg.ID, "", map[string]any{"door": door.cfg.ID,
				"open_s": int64(door.cfg.HeldWarning.Seconds()), "alarm_at_s": int64(door.cfg.HeldOpen.Seconds())})
		}
		a.commit(b, false)
		return nil
	}))
}

// RegisterVisit registers a visitor and hands out the temporary card. The
// host and the escort must be in the register, the escort allowed to
// escort; the card must be nobody else's.
func (a *Access) RegisterVisit(req gateway.VisitRequest) (*gateway.Visit, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	if err := a.mayVisit(req); err != nil {
		return nil, err
	}
	now := a.clock.Now()
	v := a.newVisit(req, now)
	err := a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		b := a.begin(c, now)
		a.logVisit(b, v, req.By)
		c.visits = append(c.visits, *v)
		a.commit(b, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// mayVisit checks a visit's people and card against the register: the
// host and the escort in it, the escort allowed to escort, the card
// nobody else's.
func (a *Access) mayVisit(req gateway.VisitRequest) error {
	for _, f := range []struct{ field, id string }{{"host", req.Host}, {"escort", req.Escort}} {
		p, err := a.reg.Person(f.id)
		if err != nil {
			return err
		}
		if p == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "%s: no person %q in the register", f.field, f.id)
		}
		if f.field == "escort" && (!p.Role.MayEscort() || !p.AllowedIn(a.room)) {
			return gateway.Errorf(gateway.EINVALID, "escort: %s (%s) may not escort visitors into this room", p.Name, p.ID)
		}
	}
	if p, err := a.reg.PersonByCard(req.Card); err != nil {
		return err
	} else if p != nil {
		return gateway.Errorf(gateway.ECONFLICT, "card: %s belongs to %s (%s)", gateway.MaskCard(req.Card), p.Name, p.ID)
	}
	if v, err := a.reg.VisitByCard(req.Card); err != nil {
		return err
	} else if v != nil {
		return gateway.Errorf(gateway.ECONFLICT, "card: %s is held by visitor %s (visit %s); check that visit out first", gateway.MaskCard(req.Card), v.Name, v.ID)
	}
	return nil
}

// newVisit is the visit req registers at now: the ID number kept masked,
// with a keyed hash for matching.
func (a *Access) newVisit(req gateway.VisitRequest, now time.Time) *gateway.Visit {
	return &gateway.Visit{ID: "v-" + gateway.NewEventID(now), Name: req.Name, IDType: req.IDType, IDMasked: gateway.MaskID(req.IDNumber),
		IDHash: a.key.Ref(req.IDType + ":" + req.IDNumber), Organization: req.Organization, Purpose: req.Purpose,
		Host: req.Host, Escort: req.Escort, Card: req.Card, From: req.From, Until: req.Until,
		RegisteredBy: req.By, RegisteredAt: now}
}

// logVisit logs visit v registered by by, in b.
func (a *Access) logVisit(b *batch, v *gateway.Visit, by string) {
	b.event("visitor.registered", gateway.SeverityInfo, "", v.ID, map[string]any{"visit": v.ID, "name": v.Name, "id_type": v.IDType,
		"id_masked": v.IDMasked, "organization": v.Organization, "purpose": v.Purpose, "host": v.Host, "escort": v.Escort,
		"card": gateway.MaskCard(v.Card), "from": v.From.Format(gateway.TimeFormat), "until": v.Until.Format(gateway.TimeFormat), "by": by})
}

// CheckOut closes a visit: the card is handed back and stops working. A
// visitor still counted inside is counted out.
func (a *Access) CheckOut(visitID, by string) (*gateway.Visit, error) {
	if by == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "by: who checks the visitor out is missing")
	}
	v, err := a.reg.Visit(visitID)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no visit %q", visitID)
	}
	if !v.CheckedOutAt.IsZero() {
		return nil, gateway.Errorf(gateway.ECONFLICT, "visit %s was already checked out by %s", v.ID, v.CheckedOutBy)
	}
	err = a.panel.do(func(c *change) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		b := a.begin(c, c.now)
		wasInside := a.checkOutIn(c, b, v, by)
		v = &c.visits[len(c.visits)-1]
		a.commit(b, wasInside)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// checkOutIn checks visit v out in change c: its card stops working, a
// visitor counted inside is counted out. It reports whether they were
// inside. With a.mu held.
func (a *Access) checkOutIn(c *change, b *batch, v *gateway.Visit, by string) bool {
	out := *v
	out.CheckedOutAt, out.CheckedOutBy = c.now, by
	wasInside := false
	if i := a.isInside(v.ID); i >= 0 {
		o := a.st.Inside[i]
		a.st.Inside = slices.Delete(a.st.Inside, i, i+1)
		wasInside = true
		c.failed = append(c.failed, func() { // not logged: still inside
			a.mu.Lock()
			a.st.Inside = append(a.st.Inside, o)
			a.setInside()
			a.mu.Unlock()
		})
		b.restore(gateway.AlarmUnescorted, v.Escort)
	}
	b.event("visitor.checked_out", gateway.SeverityInfo, "", v.ID, map[string]any{"visit": v.ID, "name": v.Name, "by": by,
		"was_inside": wasInside, "card": gateway.MaskCard(v.Card)})
	c.visits = append(c.visits, out)
	return wasInside
}
