package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// SaveChange commits one unit of work of the room whole: its events, then
// every part it changed, in one transaction (gateway.Change). It returns the
// events with their seq and id.
func (s *Store) SaveChange(c *gateway.Change) ([]gateway.Event, error) {
	enc, err := encodeChange(c)
	if err != nil {
		return nil, err
	}
	j := &job{events: append([]gateway.Event(nil), c.Events...)}
	var registers []registerWrite
	for i := range c.Registers {
		w, err := s.prepare(&c.Registers[i])
		if err != nil {
			return nil, err
		}
		registers = append(registers, w)
		j.events = append(j.events, w.event)
	}
	j.fn = func(tx *sql.Tx) error {
		if err := s.saveChange(tx, c, enc, j.events); err != nil {
			return err
		}
		for _, w := range registers {
			if err := w.write(tx); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.do(j); err != nil {
		return nil, err
	}
	return j.events, nil
}

// encoded is a change's JSON, made before the writer's turn so the one
// writer spends its time writing.
type encoded struct {
	panel, access, inventory, seal []byte
	carriers, signOuts, visits     [][]byte
}

func encodeChange(c *gateway.Change) (*encoded, error) {
	e := &encoded{carriers: make([][]byte, len(c.Carriers)), signOuts: make([][]byte, len(c.SignOuts)), visits: make([][]byte, len(c.Visits))}
	parts := []struct {
		v    any
		into *[]byte
		what string
		set  bool
	}{{c.Panel, &e.panel, "panel state", c.Panel != nil && c.Logged == nil}, // with Logged: encoded in the transaction
		{c.Access, &e.access, "occupancy", c.Access != nil},
		{c.Inventory, &e.inventory, "inventory", c.Inventory != nil},
		{c.Seal, &e.seal, "seal report", c.Seal != nil}}
	for _, p := range parts {
		if !p.set {
			continue
		}
		b, err := json.Marshal(p.v)
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode %s: %w", p.what, err)
		}
		*p.into = b
	}
	for i := range c.Carriers {
		b, err := json.Marshal(&c.Carriers[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode carrier state: %w", err)
		}
		e.carriers[i] = b
	}
	for i := range c.Visits {
		b, err := json.Marshal(&c.Visits[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode visit: %w", err)
		}
		e.visits[i] = b
	}
	for i := range c.SignOuts {
		b, err := json.Marshal(&c.SignOuts[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode sign-out: %w", err)
		}
		e.signOuts[i] = b
	}
	return e, nil
}

// saveChange writes every part of c; events are the change's events as
// inserted (their seqs known).
func (s *Store) saveChange(tx *sql.Tx, c *gateway.Change, e *encoded, events []gateway.Event) error {
	if c.Logged != nil {
		c.Logged(events)
		if c.Panel != nil { // again, with the seqs
			b, err := json.Marshal(c.Panel)
			if err != nil {
				return fmt.Errorf("sqlite: encode panel state: %w", err)
			}
			e.panel = b
		}
	}
	for _, sa := range c.States {
		seq := sa.State.Seq
		if sa.Event >= 0 && sa.Event < len(events) {
			seq = events[sa.Event].Seq
		}
		if err := s.saveState(tx, sa.State, seq); err != nil {
			return err
		}
	}
	if e.panel != nil {
		if _, err := s.exec(tx, savePanelSQL, e.panel); err != nil {
			return fmt.Errorf("sqlite: save panel state: %w", err)
		}
	}
	if e.access != nil {
		if _, err := s.exec(tx, saveAccessSQL, e.access); err != nil {
			return fmt.Errorf("sqlite: save occupancy: %w", err)
		}
	}
	for i := range c.Visits {
		v := &c.Visits[i]
		open := 1
		if !v.CheckedOutAt.IsZero() {
			open = 0
		}
		if _, err := tx.Exec(`INSERT INTO visits (id, card, open, from_ms, id_hash, data) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET open = excluded.open, data = excluded.data`,
			v.ID, v.Card, open, v.From.UnixMilli(), v.IDHash, e.visits[i]); err != nil {
			return fmt.Errorf("sqlite: save visit %s: %w", v.ID, err)
		}
	}
	for i, st := range c.Carriers {
		if _, err := s.exec(tx, saveCarrierSQL, st.ID, e.carriers[i]); err != nil {
			return fmt.Errorf("sqlite: save carrier state %s: %w", st.ID, err)
		}
	}
	for i := range c.SignOuts {
		l := &c.SignOuts[i]
		open := 0
		if l.Open() {
			open = 1
		}
		if _, err := s.exec(tx, saveSignOutSQL, l.ID, l.Carrier, open, l.At.UnixMilli(), e.signOuts[i]); err != nil {
			return fmt.Errorf("sqlite: save sign-out %s: %w", l.ID, err)
		}
	}
	if r := c.Inventory; r != nil {
		if _, err := tx.Exec(`INSERT INTO inventories (id, at_ms, data) VALUES (?, ?, ?)`, r.ID, r.At.UnixMilli(), e.inventory); err != nil {
			return fmt.Errorf("sqlite: save inventory %s: %w", r.ID, err)
		}
	}
	if r := c.Seal; r != nil {
		at, err := time.Parse(time.RFC3339Nano, r.UnsealedAt)
		if err != nil {
			return fmt.Errorf("sqlite: seal report %s: unsealed_at: %w", r.SealID, err)
		}
		if _, err := tx.Exec(`INSERT INTO seal_reports (seal_id, unsealed_ms, verdict, report) VALUES (?, ?, ?, ?)`,
			r.SealID, at.UnixMilli(), r.Verdict, e.seal); err != nil {
			return fmt.Errorf("sqlite: save seal report %s: %w", r.SealID, err)
		}
	}
	return nil
}
