package room

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// A carrier's life besides its loans (issue 30): the steps that wait for
// people's own confirmations — a destruction's leader and two witnesses, a
// reader's receipt and return of a copy circulated, a custody transfer's
// outgoing and incoming custodians, a copy's leader — and the ends of its
// life in the room (archived, returned to its issuer, destroyed).

// lifeStep is a step waiting for its parties.
type lifeStep struct {
	gateway.Pending
	// done makes the step once every party confirmed, in the change of the
	// last confirmation, with v.mu held; it may set the Pending's Ref.
	done func(b *vbatch, p *gateway.Pending) error
}

// snapshot is a copy of the step as it stands.
func (s *lifeStep) snapshot() gateway.Pending {
	p := s.Pending
	p.Parties = slices.Clone(s.Parties)
	return p
}

// open asks for step p in a change of its own, after check (with v.mu
// held) passes: done at once when it names nobody. It returns the step as
// it stands.
func (v *Vault) open(p *lifeStep, check func() error) (*gateway.Pending, error) {
	var out gateway.Pending
	err := v.step(at, func(b *vbatch) error {
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		if len(p.Parties) == 0 {
			p.At = b.now
			if err := p.done(b, &p.Pending); err != nil {
				return err
			}
			p.Done = true
		} else if err := v.ask(b, p); err != nil {
			return err
		}
		out = p.snapshot()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// channelKind says what kind of channel via is, for events (the channel
// itself, a principal and session, is in the command's own record).
func channelKind(via string) string {
	switch {
	case via == "":
		return ""
	case strings.HasPrefix(via, "badge:"):
		return "badge"
	}
	return "signed"
}

// free refuses a carrier whose status changes no more, or on which a step
// is waiting; with v.mu held.
func (v *Vault) free(c *gateway.Carrier) error {
	st := v.state[c.ID]
	switch {
	case st.Status == gateway.CarrierLost:
		return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is reported lost", c.ID)
	case st.Status.Ended():
		return gateway.Errorf(gateway.ECONFLICT, "carrier: %s is %s (%s): its life in the room has ended", c.ID, st.Status, endedAt(st))
	}
	if id := v.pendingOn[c.ID]; id != "" {
		s := v.steps[id]
		return gateway.Errorf(gateway.ECONFLICT, "carrier: %s waits on step %s (%s, waiting for %s)", c.ID, id, s.Op, strings.Join(s.Waiting(), ", "))
	}
	return nil
}

func endedAt(st *gateway.CarrierState) string {
	if st.Ended == nil {
		return ""
	}
	return st.Ended.At.Format("2006-01-02 15:04")
}

// ask opens step p in b: its carriers wait on it until every party has
// confirmed through their own channel, or StepWindow passes. The asker,
// when a party, has confirmed by asking. With v.mu held.
func (v *Vault) ask(b *vbatch, p *lifeStep) error {
	for _, id := range p.Carriers {
		if c := v.carriers[id]; c == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "%s: no carrier %q in the register", p.Op, id)
		} else if id := v.pendingOn[id]; id != "" {
			s := v.steps[id]
			return gateway.Errorf(gateway.ECONFLICT, "%s: %s waits on step %s (%s, waiting for %s)", p.Op, c.ID, id, s.Op, strings.Join(s.Waiting(), ", "))
		}
	}
	p.ID, p.At = "st-"+gateway.NewEventID(b.now), b.now
	for i := range p.Parties {
		if gateway.SamePerson(p.Parties[i].Person, p.By) {
			p.Parties[i].Via, p.Parties[i].At = p.Via, b.now
		}
	}
	v.steps[p.ID] = p
	for _, id := range p.Carriers {
		v.pendingOn[id] = p.ID
		b.touch(id) // the retained state shows whom it waits for
	}
	id := p.ID
	v.timers["step/"+id] = v.clock.AfterFunc(gateway.StepWindow, func() { v.expire(id) })
	b.undo = append(b.undo, func() { v.drop(id) })
	parties := make([]map[string]any, len(p.Parties))
	for i, x := range p.Parties {
		parties[i] = map[string]any{"person": x.Person, "as": x.As, "confirmed": !x.At.IsZero()}
	}
	b.event("carrier.step_asked", gateway.SeverityInfo, p.Carriers[0], p.By, map[string]any{"step": p.ID, "op": p.Op,
		"carriers": p.Carriers, "by": p.By, "parties": parties, "waiting_for": p.Waiting(), "window_s": int64(gateway.StepWindow.Seconds())})
	return nil
}

// drop forgets step id; with v.mu held.
func (v *Vault) drop(id string) {
	s := v.steps[id]
	if s == nil {
		return
	}
	delete(v.steps, id)
	for _, c := range s.Carriers {
		if v.pendingOn[c] == id {
			delete(v.pendingOn, c)
		}
	}
	if stop := v.timers["step/"+id]; stop != nil {
		stop()
		delete(v.timers, "step/"+id)
	}
}

// expire ends a step that waited StepWindow: logged, its carriers free.
func (v *Vault) expire(id string) {
	err := v.step(at, func(b *vbatch) error {
		s := v.steps[id]
		if s == nil {
			return nil
		}
		v.drop(id)
		b.undo = append(b.undo, func() { // not logged: it waits a little longer
			v.steps[id] = s
			for _, c := range s.Carriers {
				v.pendingOn[c] = id
			}
			v.timers["step/"+id] = v.clock.AfterFunc(faultRetry, func() { v.expire(id) })
		})
		for _, c := range s.Carriers {
			if v.state[c] != nil {
				b.touch(c)
			}
		}
		b.event("carrier.step_expired", gateway.SeverityWarning, s.Carriers[0], s.By, map[string]any{"step": id, "op": s.Op,
			"carriers": s.Carriers, "by": s.By, "waiting_for": s.Waiting()})
		return nil
	})
	v.fault("log a carrier step expired", err)
}

// Confirm is a party's own confirmation of a step waiting for them,
// through channel via: another channel than the asking's and than every
// other party's. The last confirmation makes the step, in its change. step
// names the step, or is empty with carrier naming the carrier it waits on.
func (v *Vault) Confirm(step, carrier, by, via string) (*gateway.Pending, error) {
	if strings.TrimSpace(by) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "carrier/confirm: by: missing")
	}
	var out gateway.Pending
	err := v.step(at, func(b *vbatch) error {
		id := step
		if id == "" {
			if id = v.pendingOn[carrier]; id == "" {
				return gateway.Errorf(gateway.ENOTFOUND, "carrier/confirm: no step waits on carrier %q", carrier)
			}
		}
		s := v.steps[id]
		if s == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "carrier/confirm: no step %q is waiting (done, or it waited more than %s: ask again)", id, gateway.StepWindow)
		}
		i := slices.IndexFunc(s.Parties, func(x gateway.Party) bool { return gateway.SamePerson(x.Person, by) })
		switch {
		case i < 0:
			return gateway.Errorf(gateway.ENOTALLOWED, "carrier/confirm: step %s (%s) waits for %s, not %s", id, s.Op, strings.Join(s.Waiting(), ", "), by)
		case !s.Parties[i].At.IsZero():
			return gateway.Errorf(gateway.ECONFLICT, "carrier/confirm: %s confirmed step %s already", by, id)
		case via != "" && via == s.Via:
			return gateway.Errorf(gateway.ESAMEPERSON, "carrier/confirm: %s confirms through the channel step %s was asked through (%s): each person confirms from their own session, key or badge", by, id, via)
		}
		for j, x := range s.Parties {
			if j != i && x.Via != "" && x.Via == via {
				return gateway.Errorf(gateway.ESAMEPERSON, "carrier/confirm: %s confirms through the channel %s confirmed through (%s)", by, x.Person, via)
			}
		}
		prev := s.Parties[i]
		s.Parties[i].Via, s.Parties[i].At = via, b.now
		b.undo = append(b.undo, func() { s.Parties[i] = prev })
		for _, c := range s.Carriers {
			b.touch(c)
		}
		b.event("carrier.confirmed", gateway.SeverityInfo, s.Carriers[0], s.Parties[i].Person, map[string]any{"step": id, "op": s.Op,
			"carriers": s.Carriers, "person": s.Parties[i].Person, "as": s.Parties[i].As, "via": channelKind(via), "waiting_for": s.Waiting()})
		if len(s.Waiting()) == 0 {
			v.drop(id)
			b.undo = append(b.undo, func() {
				v.steps[id] = s
				for _, c := range s.Carriers {
					v.pendingOn[c] = id
				}
				v.timers["step/"+id] = v.clock.AfterFunc(max(gateway.StepWindow-b.now.Sub(s.At), 0), func() { v.expire(id) })
			})
			if err := s.done(b, &s.Pending); err != nil {
				return err
			}
			s.Done = true
		}
		out = s.snapshot()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Waiting returns the steps waiting for person (all when person is
// empty), oldest first.
func (v *Vault) Waiting(person string) []gateway.Pending {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []gateway.Pending
	for _, s := range v.steps {
		if person == "" || slices.ContainsFunc(s.Waiting(), func(p string) bool { return gateway.SamePerson(p, person) }) {
			out = append(out, s.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// ConfirmByBadge takes a person's badge at the room's reader as their
// confirmation of the steps waiting for them as a witness (present) or a
// reader (who came for the copy, or brought it back): what a badge proves
// is presence; an approval or a handover is a signed act (carrier/approve,
// carrier/confirm). A refusal is logged, never the badge's.
func (v *Vault) ConfirmByBadge(person, reader string) {
	for _, p := range v.Waiting(person) {
		if !slices.ContainsFunc(p.Parties, func(x gateway.Party) bool {
			return gateway.SamePerson(x.Person, person) && (x.As == "witness" || x.As == "reader")
		}) {
			continue
		}
		if _, err := v.Confirm(p.ID, "", person, "badge:"+reader+"/"+person); err != nil {
			v.panel.Log.Warn("a badge confirmation not taken", "step", p.ID, "person", person, "reader", reader, "err", err)
		}
	}
}

// party looks up a party of a step: in the register, valid today,
// allowed in the room, cleared for every carrier of cs.
func (v *Vault) party(op, field, id string, cs []*gateway.Carrier, now time.Time) (*gateway.Person, error) {
	for _, c := range cs {
		p, err := v.mayTake(field, id, c, now)
		if err != nil {
			return nil, gateway.Errorf(gateway.ErrorCode(err), "%s: %v", op, err)
		}
		if c == cs[len(cs)-1] {
			return p, nil
		}
	}
	return nil, gateway.Errorf(gateway.EINVALID, "%s: no carriers", op)
}

// leader checks the leader who approves a step: a person of the register
// of role leader, not its asker.
func (v *Vault) leader(op, id, by string, cs []*gateway.Carrier, now time.Time) error {
	if strings.TrimSpace(id) == "" {
		return gateway.Errorf(gateway.EINVALID, "%s: approver: a leader approves it (领导审批)", op)
	}
	if gateway.SamePerson(id, by) {
		return gateway.Errorf(gateway.ESAMEPERSON, "%s: approver: %s asks for it and cannot approve it too", op, id)
	}
	p, err := v.party(op, "approver", id, cs, now)
	if err != nil {
		return err
	}
	if p.Role != gateway.RoleLeader {
		return gateway.Errorf(gateway.ENOTALLOWED, "%s: approver: %s (%s) is a %s; a leader approves it", op, p.Name, p.ID, p.Role)
	}
	return nil
}

// carriersOf looks the carriers of a request up and checks each may end
// or change now: in the register, not ended or lost, not out, no step
// waiting; with v.mu held.
func (v *Vault) carriersOf(op string, ids []string, mayBeOut bool) ([]*gateway.Carrier, error) {
	if len(ids) == 0 {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: carriers: name at least one", op)
	}
	seen := map[string]bool{}
	var cs []*gateway.Carrier
	for i, id := range ids {
		c := v.carriers[id]
		switch {
		case c == nil:
			return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: carriers[%d]: no carrier %q in the register", op, i, id)
		case seen[id]:
			return nil, gateway.Errorf(gateway.EINVALID, "%s: carriers[%d]: %s named twice", op, i, id)
		}
		seen[id] = true
		if err := v.free(c); err != nil {
			return nil, gateway.Errorf(gateway.ECONFLICT, "%s: %v", op, err)
		}
		if l := v.loans[id]; l != nil && !mayBeOut {
			return nil, gateway.Errorf(gateway.ECONFLICT, "%s: %s is out (%s, to %s): it is returned first", op, id, l.ID, l.Borrower)
		}
		if st := v.state[id]; st.Status == gateway.CarrierMissing && !mayBeOut {
			return nil, gateway.Errorf(gateway.ECONFLICT, "%s: %s is missing since an inventory: find it first, or report it lost", op, id)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// End ends carriers' lives in the room (carrier/archive,
// carrier/return-to-issuer, carrier/destroy). Archiving and returning are
// the clerk's and done at once; a destruction waits for its leader and
// its two witnesses, each through their own channel, and makes a
// destruction list (XH-<date>-<time>). It returns the step (done, or
// waiting).
func (v *Vault) End(op string, r gateway.EndRequest) (*gateway.Pending, error) {
	var status gateway.CarrierStatus
	switch op {
	case "carrier/archive":
		status = gateway.CarrierArchived
	case "carrier/return-to-issuer":
		status = gateway.CarrierReturnedUp
	case "carrier/destroy":
		status = gateway.CarrierDestroyed
	default:
		return nil, gateway.Errorf(gateway.ENOTFOUND, "unknown command %q", op)
	}
	if strings.TrimSpace(r.By) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: by: missing", op)
	}
	now := v.clock.Now()
	v.mu.Lock()
	cs, err := v.carriersOf(op, r.Carriers, false)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if status == gateway.CarrierArchived && strings.TrimSpace(r.To) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: to: the archives it goes to (归档单位) is missing", op)
	}
	var parties []gateway.Party
	if status == gateway.CarrierDestroyed {
		zh, ok := gateway.DestroyMethods[r.Method]
		if !ok {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: method: %q is not shredder (碎纸机), center (送销毁中心), degauss (消磁) or crush (物理粉碎)", op, r.Method)
		}
		for _, c := range cs {
			if r.Method == "shredder" && !gateway.Paper(c.Kind) || r.Method == "degauss" && gateway.Paper(c.Kind) {
				return nil, gateway.Errorf(gateway.EINVALID, "%s: method: %s is not how a %s (%s) is destroyed", op, zh, gateway.CarrierKinds[c.Kind], c.ID)
			}
		}
		if err := v.leader(op, r.Approver, r.By, cs, now); err != nil {
			return nil, err
		}
		parties = append(parties, gateway.Party{Person: r.Approver, As: "approver"})
		if len(r.Witnesses) != 2 {
			return nil, gateway.Errorf(gateway.EINVALID, "%s: witnesses: two witnesses (监销人) watch a destruction; %d named", op, len(r.Witnesses))
		}
		for i, w := range r.Witnesses {
			field := fmt.Sprintf("witnesses[%d]", i)
			switch {
			case gateway.SamePerson(w, r.By):
				return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: %s: %s destroys it and cannot witness it too", op, field, w)
			case gateway.SamePerson(w, r.Approver):
				return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: %s: %s approves it and is not a witness too", op, field, w)
			case i == 1 && gateway.SamePerson(w, r.Witnesses[0]):
				return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: %s: the two witnesses are two people", op, field)
			}
			if _, err := v.party(op, field, w, cs, now); err != nil {
				return nil, err
			}
			parties = append(parties, gateway.Party{Person: w, As: "witness"})
		}
	}
	end := func(b *vbatch, p *gateway.Pending) error {
		ref := r.Ref
		data := map[string]any{"to": r.To}
		if status == gateway.CarrierDestroyed {
			local := p.At
			if v.work != nil && v.work.Location != nil {
				local = local.In(v.work.Location)
			}
			ref = "XH-" + local.Format("20060102-150405")
			var ws []string
			for _, x := range p.Parties {
				if x.As == "witness" {
					ws = append(ws, x.Person)
				}
			}
			data = map[string]any{"list": ref, "method": r.Method, "approver": r.Approver, "witnesses": ws}
		} else if r.To == "" && status == gateway.CarrierReturnedUp {
			data["to"] = v.carriers[p.Carriers[0]].Source
		}
		p.Ref = ref
		for _, id := range p.Carriers {
			c := v.carriers[id]
			if c == nil || v.loans[id] != nil || v.state[id].Status.Frozen() {
				return gateway.Errorf(gateway.ECONFLICT, "%s: %s changed meanwhile: ask again", op, id)
			}
			v.endIn(b, c, status, p.By, ref, data)
		}
		return nil
	}
	p := &lifeStep{Pending: gateway.Pending{Op: op, Carriers: r.Carriers, By: r.By, Via: r.Via, Parties: parties}, done: end}
	return v.open(p, func() error {
		_, err := v.carriersOf(op, r.Carriers, false) // again: it may have changed
		return err
	})
}

// endIn ends carrier c's life in the room in step b: its status is the
// end, it is nowhere in the room any more (a sighting of it is an alarm).
func (v *Vault) endIn(b *vbatch, c *gateway.Carrier, status gateway.CarrierStatus, by, ref string, more map[string]any) {
	st := b.touch(c.ID)
	was := st.Status
	st.Status, st.Misplaced, st.Location = status, false, ""
	st.Ended = &gateway.CarrierEnd{At: b.now, By: by, Ref: ref}
	d := map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class, "kind": c.Kind, "home": c.Home, "by": by, "was": was}
	if c.Document != "" {
		d["document"], d["copy"], d["doc_number"], d["source"] = c.Document, c.Copy, c.DocNumber, c.Source
	}
	if ref != "" {
		d["ref"] = ref
	}
	for k, x := range more {
		d[k] = x
	}
	b.event("carrier."+strings.ReplaceAll(string(status), "-", "_"), gateway.SeverityInfo, c.ID, "", d)
}

// resurrected: the tag of a carrier whose life in the room ended, seen at
// loc: the priority-1 carrier-resurrected alarm, for the security
// officers at once.
func (v *Vault) resurrected(b *vbatch, c *gateway.Carrier, st *gateway.CarrierState, loc gateway.Location) {
	d := map[string]any{"carrier": c.ID, "title": c.Title, "class": c.Class, "status": st.Status, "location": loc.ID, "kind": loc.Kind}
	if st.Ended != nil {
		d["ended_at"], d["ref"] = st.Ended.At.Format(gateway.TimeFormat), st.Ended.Ref
	}
	b.event("carrier.resurrected", gateway.SeverityCritical, c.ID, "", d)
	b.raiseAt(gateway.AlarmResurrected, 1, c.ID, fmt.Sprintf("%s %s《%s》, %s %s, seen again at %s", c.Class.Chinese(), c.ID, c.Title, st.Status, endedAt(st), loc.ID))
}

// Circulate hands a copy to a reader on its need-to-know list (传阅), or
// lets them read it in the room (阅读): the reader confirms receipt
// through their own channel, which makes the copy theirs until its due
// time (at most the circulation limit); one reader at a time.
func (v *Vault) Circulate(r gateway.CirculateRequest) (*gateway.Pending, error) {
	const op = "carrier/circulate"
	now := v.clock.Now()
	if strings.TrimSpace(r.By) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: by: missing", op)
	}
	v.mu.Lock()
	cs, err := v.carriersOf(op, []string{r.Carrier}, false)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c := cs[0]
	if gateway.SamePerson(r.Reader, r.By) {
		return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: reader: the clerk who hands the copy is not its reader; the reader confirms through their own channel", op)
	}
	if len(c.NeedToKnow) == 0 {
		return nil, gateway.Errorf(gateway.ENOTALLOWED, "%s: %s has no need-to-know list (知悉范围): a copy registered by carrier/receive circulates; lend this one (carrier/signout)", op, c.ID)
	}
	who, err := v.people.Person(r.Reader)
	if err != nil {
		return nil, err
	}
	if who == nil {
		return nil, gateway.Errorf(gateway.EUNKNOWNPERSON, "%s: reader: %q is not in the personnel register", op, r.Reader)
	}
	if !slices.ContainsFunc(c.NeedToKnow, func(x string) bool { return gateway.SamePerson(x, who.ID) || x == string(who.Role) }) {
		return nil, gateway.Errorf(gateway.ENOTALLOWED, "%s: reader: %s (%s) is not on %s's need-to-know list (知悉范围: %s)", op, who.Name, who.ID, c.ID, strings.Join(c.NeedToKnow, ", "))
	}
	reader, err := v.party(op, "reader", who.ID, cs, now)
	if err != nil {
		return nil, err
	}
	limit := v.cfg.CirculationLimit
	if limit <= 0 {
		limit = 48 * time.Hour
	}
	due := r.Due
	if due.IsZero() {
		due = now.Add(limit)
		if r.InRoom && v.work != nil {
			if end := v.work.EndOfDay(now); end.Before(due) && end.After(now) {
				due = end
			}
		}
	}
	switch {
	case !due.After(now):
		return nil, gateway.Errorf(gateway.EINVALID, "%s: due: %s is not in the future", op, due.Format("2006-01-02 15:04"))
	case due.Sub(now) > limit:
		return nil, gateway.Errorf(gateway.EINVALID, "%s: due: %s is past the circulation limit (%s from now)", op, due.Format("2006-01-02 15:04"), limit)
	}
	kind, purpose := gateway.LoanCirculation, "传阅"
	if r.InRoom {
		kind, purpose = gateway.LoanReading, "到机要室阅读"
	}
	p := &lifeStep{Pending: gateway.Pending{Op: op, Carriers: []string{c.ID}, By: r.By, Via: r.Via,
		Parties: []gateway.Party{{Person: reader.ID, As: "reader"}}}}
	p.done = func(b *vbatch, p *gateway.Pending) error {
		l := &gateway.SignOut{ID: "so-" + gateway.NewEventID(b.now), Carrier: c.ID, Borrower: reader.ID, Purpose: purpose,
			MayLeave: !r.InRoom, Due: due, At: b.now, By: p.By, Via: p.Via, Kind: kind, ReceivedVia: p.Parties[0].Via}
		p.Ref = l.ID
		return v.lendIn(b, c, reader, l)
	}
	return v.open(p, nil)
}
