package room

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roomguard/roomguard/gateway"
)

// Receive registers a document received (carrier/receive, 收文登记): each
// copy becomes a carrier of the carrier register, numbered
// JM-<year>-<n>-<copy>, kept in its safe by its custodian, readable by its
// need-to-know list; carrier.received and the register's new version are
// one change. What is not allowed is refused naming why, and changes
// nothing. It returns the copies.
func (r *Room) Receive(rc gateway.Receipt) ([]gateway.Carrier, error) {
	if r.Vault == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "carrier/receive: room %s tracks no carriers", r.ID)
	}
	if len(rc.EPCs) == 0 && rc.BindAt != "" {
		return nil, r.bindAt(rc)
	}
	var copies []gateway.Carrier
	err := r.Panel.do(func(c *change) error {
		held := r.Vault.Carriers()
		var err error
		if copies, err = r.copiesOf(rc, c, held); err != nil {
			return err
		}
		version, err := r.log.RegisterVersion("carriers")
		if err != nil {
			return err
		}
		all := append(held, copies...)
		if err := r.replaceIn(c, gateway.RegisterChange{Name: "carriers", Version: version + 1, By: rc.By, Carriers: all}); err != nil {
			return err
		}
		ids := make([]string, len(copies))
		for i, k := range copies {
			ids[i] = k.ID
		}
		c.event("carrier.received", gateway.SeverityInfo, "", rc.By, map[string]any{"document": copies[0].Document,
			"doc_number": rc.DocNumber, "source": rc.Source, "title": rc.Title, "class": copies[0].Class, "period": rc.Period,
			"kind": copies[0].Kind, "copies": ids, "need_to_know": copies[0].NeedToKnow, "home": rc.Home, "custodian": rc.Custodian, "by": rc.By})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return copies, nil
}

// copiesOf checks a receipt against the room (its safes, its register, the
// carriers held) and returns its copies, numbered as the next document of
// the year.
func (r *Room) copiesOf(rc gateway.Receipt, c *change, held []gateway.Carrier) ([]gateway.Carrier, error) {
	bad := func(format string, a ...any) error {
		return gateway.Errorf(gateway.EINVALID, "carrier/receive: "+format, a...)
	}
	for _, f := range []struct{ name, value string }{{"source", rc.Source}, {"doc_number", rc.DocNumber}, {"title", rc.Title}} {
		if strings.TrimSpace(f.value) == "" {
			return nil, bad("%s: missing", f.name)
		}
	}
	class, err := gateway.ParseClassification(string(rc.Class))
	if err != nil {
		return nil, bad("class: %v", err)
	}
	kind, err := gateway.ParseCarrierKind(rc.Kind)
	if err != nil {
		return nil, bad("kind: %v", err)
	}
	if err := gateway.CheckPeriod(rc.Period); err != nil {
		return nil, bad("%v", err)
	}
	if !slices.ContainsFunc(r.cfg.Safes, func(s gateway.SafeConfig) bool { return s.ID == rc.Home }) {
		return nil, bad("home: %q is not a safe of this room", rc.Home)
	}
	if p, err := r.Vault.people.Person(rc.Custodian); err != nil {
		return nil, err
	} else if p == nil {
		return nil, gateway.Errorf(gateway.EUNKNOWNPERSON, "carrier/receive: custodian: %q is not in the personnel register", rc.Custodian)
	}
	if len(rc.NeedToKnow) == 0 {
		return nil, bad("need_to_know: name who may read it (people or roles of the register)")
	}
	var circle []string
	for i, who := range rc.NeedToKnow {
		if role, err := gateway.ParseRole(who); err == nil {
			circle = append(circle, string(role))
			continue
		}
		p, err := r.Vault.people.Person(who)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, gateway.Errorf(gateway.EUNKNOWNPERSON, "carrier/receive: need_to_know[%d]: %q is neither a person of the register nor a role", i, who)
		}
		circle = append(circle, p.ID)
	}
	if rc.BindAt != "" && len(rc.EPCs) == 0 {
		if rc.Copies < 1 || rc.Copies > gateway.MaxCopies {
			return nil, bad("copies: 1 to %d, the tags presented in turn at %s; %d given", gateway.MaxCopies, rc.BindAt, rc.Copies)
		}
		return nil, nil // checked; the tags come at the reader
	}
	if n := len(rc.EPCs); n == 0 || n > gateway.MaxCopies {
		return nil, bad("epcs: one a copy, 1 to %d; %d given", gateway.MaxCopies, n)
	}
	inUse := map[string]string{}
	for _, k := range held {
		inUse[k.EPC] = k.ID
	}
	year := c.now
	if loc := r.cfg.Schedule.Location; loc != nil {
		year = year.In(loc)
	}
	prefix := fmt.Sprintf("%s-%d-", gateway.DocumentPrefix, year.Year())
	next := 1
	for _, k := range held {
		if n, err := strconv.Atoi(strings.TrimPrefix(k.Document, prefix)); err == nil && strings.HasPrefix(k.Document, prefix) {
			next = max(next, n+1)
		}
	}
	doc := fmt.Sprintf("%s%04d", prefix, next)
	copies := make([]gateway.Carrier, len(rc.EPCs))
	for i, raw := range rc.EPCs {
		epc := gateway.NormalizeEPC(raw)
		if id, ok := inUse[epc]; ok {
			return nil, gateway.Errorf(gateway.ECONFLICT, "carrier/receive: epcs[%d]: tag %s is %s's already", i, epc, id)
		}
		inUse[epc] = fmt.Sprintf("copy %d", i+1)
		k := gateway.Carrier{ID: fmt.Sprintf("%s-%02d", doc, i+1), EPC: epc, Title: rc.Title, Class: class, Kind: kind, Home: rc.Home,
			Custodian: rc.Custodian, Document: doc, Copy: i + 1, Copies: len(rc.EPCs), Source: rc.Source, DocNumber: rc.DocNumber,
			Period: rc.Period, NeedToKnow: circle}
		if err := k.Check(); err != nil {
			return nil, bad("copy %d: %v", i+1, err)
		}
		copies[i] = k
	}
	return copies, nil
}

// Copy asks for copies or excerpts of a copy of a document received
// (carrier/copy, 复印、摘抄审批): every carrier is classified, so a leader
// approves through their own channel; that approval receives the new
// copies as copies of the same document (numbered after its last), the
// approver recorded, in one change with the register's new version.
func (r *Room) Copy(q gateway.CopyRequest) (*gateway.Pending, error) {
	const op = "carrier/copy"
	v := r.Vault
	if v == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: room %s tracks no carriers", op, r.ID)
	}
	if strings.TrimSpace(q.By) == "" || strings.TrimSpace(q.Purpose) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: by and purpose (why it is copied) are needed", op)
	}
	if n := len(q.EPCs); n == 0 || n > gateway.MaxCopies {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: epcs: one a new copy, 1 to %d; %d given", op, gateway.MaxCopies, n)
	}
	now := v.clock.Now()
	v.mu.Lock()
	cs, err := v.carriersOf(op, []string{q.Carrier}, false)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	src := *cs[0]
	if src.Document == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: %s is not a copy of a document received (carrier/receive); its copies are registered by carrier/receive", op, src.ID)
	}
	if err := v.leader(op, q.Approver, q.By, cs, now); err != nil {
		return nil, err
	}
	p := &lifeStep{Pending: gateway.Pending{Op: op, Carriers: []string{src.ID}, By: q.By, Via: q.Via,
		Parties: []gateway.Party{{Person: q.Approver, As: "approver"}}}}
	p.done = func(b *vbatch, p *gateway.Pending) error {
		held := v.sorted()
		inUse, last := map[string]string{}, 0
		for _, k := range held {
			inUse[k.EPC] = k.ID
			if k.Document == src.Document {
				last = max(last, k.Copy)
			}
		}
		total := last + len(q.EPCs)
		var ids []string
		for i, raw := range q.EPCs {
			epc := gateway.NormalizeEPC(raw)
			if id, ok := inUse[epc]; ok {
				return gateway.Errorf(gateway.ECONFLICT, "%s: epcs[%d]: tag %s is %s's already", op, i, epc, id)
			}
			k := src
			k.Copy, k.EPC, k.Copies = last+i+1, epc, total
			k.ID = fmt.Sprintf("%s-%02d", src.Document, k.Copy)
			if q.Excerpt {
				k.Title = src.Title + "（摘抄）"
			}
			if err := k.Check(); err != nil {
				return gateway.Errorf(gateway.EINVALID, "%s: epcs[%d]: %v", op, i, err)
			}
			inUse[epc] = k.ID
			held = append(held, k)
			ids = append(ids, k.ID)
		}
		for i := range held {
			if held[i].Document == src.Document {
				held[i].Copies = total
			}
		}
		if err := r.carriersLocked(b.c, held, p.By); err != nil {
			return err
		}
		p.Ref = src.Document
		b.event("carrier.copied", gateway.SeverityInfo, src.ID, p.By, map[string]any{"carrier": src.ID, "document": src.Document,
			"doc_number": src.DocNumber, "title": src.Title, "class": src.Class, "copies": ids, "excerpt": q.Excerpt,
			"purpose": q.Purpose, "approver": q.Approver, "approved_via": channelKind(p.Parties[0].Via), "by": p.By})
		return nil
	}
	return v.open(p, nil)
}

// Transfer hands every carrier a custodian keeps to another (custody/
// transfer, 移交), listed when asked and confirmed by both the outgoing
// and the incoming person through their own channels; until then the
// outgoing person keeps them. The new custodian is in the carrier
// register's new version, in the change of the last confirmation.
func (r *Room) Transfer(q gateway.TransferRequest) (*gateway.Pending, error) {
	const op = "custody/transfer"
	v := r.Vault
	if v == nil {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "%s: room %s tracks no carriers", op, r.ID)
	}
	if strings.TrimSpace(q.By) == "" || strings.TrimSpace(q.From) == "" || strings.TrimSpace(q.To) == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "%s: from, to and by are needed", op)
	}
	if gateway.SamePerson(q.From, q.To) {
		return nil, gateway.Errorf(gateway.ESAMEPERSON, "%s: to: %s hands over to another person", op, q.To)
	}
	from, err := v.people.Person(q.From)
	if err != nil {
		return nil, err
	}
	if from == nil {
		return nil, gateway.Errorf(gateway.EUNKNOWNPERSON, "%s: from: %q is not in the personnel register", op, q.From)
	}
	ids := v.Custodians()[from.ID]
	if len(ids) == 0 {
		return nil, gateway.Errorf(gateway.ECONFLICT, "%s: from: %s (%s) keeps no carriers", op, from.Name, from.ID)
	}
	v.mu.Lock()
	var cs []*gateway.Carrier
	for _, id := range ids {
		cs = append(cs, v.carriers[id])
	}
	v.mu.Unlock()
	to, err := v.party(op, "to", q.To, cs, v.clock.Now())
	if err != nil {
		return nil, err
	}
	p := &lifeStep{Pending: gateway.Pending{Op: op, Carriers: ids, By: q.By, Via: q.Via,
		Parties: []gateway.Party{{Person: from.ID, As: "outgoing"}, {Person: to.ID, As: "incoming"}}}}
	p.done = func(b *vbatch, p *gateway.Pending) error {
		held := v.sorted()
		moved := map[string]bool{}
		for _, id := range p.Carriers {
			moved[id] = true
		}
		for i := range held {
			if moved[held[i].ID] {
				if held[i].Custodian != from.ID {
					return gateway.Errorf(gateway.ECONFLICT, "%s: %s changed custodian meanwhile: ask again", op, held[i].ID)
				}
				held[i].Custodian = to.ID
			}
		}
		if err := r.carriersLocked(b.c, held, p.By); err != nil {
			return err
		}
		b.event("custody.transferred", gateway.SeverityInfo, "", to.ID, map[string]any{"from": from.ID, "from_name": from.Name,
			"to": to.ID, "to_name": to.Name, "carriers": p.Carriers, "by": p.By,
			"from_via": channelKind(p.Parties[0].Via), "to_via": channelKind(p.Parties[1].Via)})
		return nil
	}
	return v.open(p, nil)
}

// carriersLocked adds the carrier register's next version to change c,
// with the vault's lock held (a step of a carrier's life that changes the
// register: a copy, a custody transfer).
func (r *Room) carriersLocked(c *change, carriers []gateway.Carrier, by string) error {
	for _, held := range c.registers {
		if held.Name == "carriers" {
			return gateway.Errorf(gateway.ECONFLICT, "carriers: another replacement of the register is being written: send it again")
		}
	}
	version, err := r.log.RegisterVersion("carriers")
	if err != nil {
		return err
	}
	if err := r.Vault.replaceLocked(c, carriers); err != nil {
		return err
	}
	c.registers = append(c.registers, gateway.RegisterChange{Name: "carriers", Version: version + 1, By: by, At: c.now, Carriers: carriers})
	return nil
}

// binding is a document received whose copies' tags are presented in turn
// at a reader (收文登记 at the safe's or a desk reader).
type binding struct {
	id     string
	reader string
	rc     gateway.Receipt
	epcs   []string
	// receive registers the document once every copy's tag is read.
	receive func(rc gateway.Receipt) ([]gateway.Carrier, error)
}

// bindAt checks a receipt whose tags are to be presented at a reader and
// waits for them: each unregistered tag read there next is the next copy's
// (carrier.tag_bound); the last one registers the document as Receive
// does. One binding a reader at a time; it ends unfinished after
// gateway.StepWindow.
func (r *Room) bindAt(rc gateway.Receipt) error {
	v := r.Vault
	reads := false
	for a := range v.cfg.Antennas {
		reads = reads || a.Reader == rc.BindAt
	}
	if !reads {
		return gateway.Errorf(gateway.EINVALID, "carrier/receive: bind_at: %q is not a UHF reader of this room's carriers.antennas", rc.BindAt)
	}
	return r.Panel.do(func(c *change) error {
		if _, err := r.copiesOf(rc, c, r.Vault.Carriers()); err != nil {
			return err
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		if bd := v.bindings[rc.BindAt]; bd != nil {
			return gateway.Errorf(gateway.ECONFLICT, "carrier/receive: %s is binding the tags of %s (%d of %d read): finish it first", rc.BindAt, bd.rc.DocNumber, len(bd.epcs), bd.rc.Copies)
		}
		bd := &binding{id: "bd-" + gateway.NewEventID(c.now), reader: rc.BindAt, rc: rc, receive: r.Receive}
		v.bindings[rc.BindAt] = bd
		c.failed = append(c.failed, func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.unbind(bd)
		})
		v.timers["bind/"+bd.id] = v.clock.AfterFunc(gateway.StepWindow, func() { v.bindExpired(bd) })
		c.event("carrier.binding", gateway.SeverityInfo, rc.BindAt, rc.By, map[string]any{"binding": bd.id, "reader": rc.BindAt,
			"copies": rc.Copies, "doc_number": rc.DocNumber, "title": rc.Title, "by": rc.By})
		return nil
	})
}

// unbind forgets binding bd; with v.mu held.
func (v *Vault) unbind(bd *binding) {
	if v.bindings[bd.reader] == bd {
		delete(v.bindings, bd.reader)
	}
	v.disarm("bind/" + bd.id)
}

// bind takes an unregistered tag read at a binding's reader as its next
// copy's; the last registers the document.
func (v *Vault) bind(bd *binding, epc string) error {
	var done []string
	err := v.panel.do(func(c *change) error {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.bindings[bd.reader] != bd || slices.Contains(bd.epcs, epc) || v.byEPC[epc] != nil {
			return nil // ended, or read again
		}
		bd.epcs = append(bd.epcs, epc)
		n := len(bd.epcs)
		c.failed = append(c.failed, func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			bd.epcs = slices.DeleteFunc(bd.epcs, func(x string) bool { return x == epc })
		})
		c.event("carrier.tag_bound", gateway.SeverityInfo, bd.reader, bd.rc.By, map[string]any{"binding": bd.id, "reader": bd.reader,
			"epc": epc, "copy": n, "copies": bd.rc.Copies})
		if n == bd.rc.Copies {
			v.unbind(bd)
			done = slices.Clone(bd.epcs)
		}
		return nil
	})
	if err != nil || done == nil {
		return err
	}
	rc := bd.rc
	rc.EPCs = done
	if _, err := bd.receive(rc); err != nil {
		v.panel.Log.Warn("a document whose tags were bound at the reader not registered", "doc_number", rc.DocNumber, "err", err)
		return v.panel.do(func(c *change) error {
			c.event("carrier.binding_failed", gateway.SeverityWarning, bd.reader, rc.By, map[string]any{"binding": bd.id,
				"reader": bd.reader, "doc_number": rc.DocNumber, "error": err.Error()})
			return nil
		})
	}
	return nil
}

// bindExpired ends a binding whose tags did not all come within the window.
func (v *Vault) bindExpired(bd *binding) {
	err := v.panel.do(func(c *change) error {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.bindings[bd.reader] != bd {
			return nil
		}
		v.unbind(bd)
		c.failed = append(c.failed, func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.bindings[bd.reader] = bd
			v.timers["bind/"+bd.id] = v.clock.AfterFunc(faultRetry, func() { v.bindExpired(bd) })
		})
		c.event("carrier.binding_failed", gateway.SeverityWarning, bd.reader, bd.rc.By, map[string]any{"binding": bd.id,
			"reader": bd.reader, "doc_number": bd.rc.DocNumber, "error": fmt.Sprintf("%d of %d tags read within %s", len(bd.epcs), bd.rc.Copies, gateway.StepWindow)})
		return nil
	})
	v.fault("log a tag binding expired", err)
}
