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
