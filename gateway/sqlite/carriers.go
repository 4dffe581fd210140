package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// CarrierRegister returns the carrier register's version.
func (s *Reader) CarrierRegister() (RegisterInfo, error) { return s.registerInfo("carriers") }

// ReplaceCarriers replaces the whole carrier register as version, like
// ReplacePeople (the carriers must have been checked). States of carriers no
// longer registered are dropped; open sign-outs of such carriers stay on
// record.
func (s *Store) ReplaceCarriers(carriers []gateway.Carrier, version int64, by string, at time.Time) (RegisterInfo, error) {
	return replaceRegister(s, "carriers", carriers, version, by, at, func(tx *sql.Tx, blobs [][]byte) error {
		if _, err := tx.Exec(`DELETE FROM carriers`); err != nil {
			return fmt.Errorf("sqlite: clear carriers: %w", err)
		}
		ins, err := tx.Prepare(`INSERT INTO carriers (id, epc, data) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, c := range carriers {
			if _, err := ins.Exec(c.ID, c.EPC, blobs[i]); err != nil {
				return gateway.Errorf(gateway.EINVALID, "carriers: carrier %s (EPC %s): %v", c.ID, c.EPC, err)
			}
		}
		_, err = tx.Exec(`DELETE FROM carrier_states WHERE id NOT IN (SELECT id FROM carriers)`)
		return err
	})
}

// SaveCarriers implements gateway.VaultLog: the events, the changed carrier
// states, the new or changed sign-outs and an inventory report, together.
func (s *Store) SaveCarriers(events []gateway.Event, states []gateway.CarrierState, signOuts []gateway.SignOut, report *gateway.InventoryReport) ([]gateway.Event, error) {
	type row struct {
		id   string
		data []byte
	}
	stateRows := make([]row, len(states))
	for i := range states {
		b, err := json.Marshal(&states[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode carrier state: %w", err)
		}
		stateRows[i] = row{states[i].ID, b}
	}
	loanRows := make([]row, len(signOuts))
	for i := range signOuts {
		b, err := json.Marshal(&signOuts[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode sign-out: %w", err)
		}
		loanRows[i] = row{signOuts[i].ID, b}
	}
	var rep []byte
	if report != nil {
		var err error
		if rep, err = json.Marshal(report); err != nil {
			return nil, fmt.Errorf("sqlite: encode inventory: %w", err)
		}
	}
	return s.saveWith(events, func(tx *sql.Tx) error {
		for _, r := range stateRows {
			if _, err := s.exec(tx, saveCarrierSQL, r.id, r.data); err != nil {
				return fmt.Errorf("sqlite: save carrier state %s: %w", r.id, err)
			}
		}
		for i, r := range loanRows {
			l := &signOuts[i]
			open := 0
			if l.Open() {
				open = 1
			}
			if _, err := tx.Exec(`INSERT INTO sign_outs (id, carrier, open, at_ms, data) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET open = excluded.open, data = excluded.data`, r.id, l.Carrier, open, l.At.UnixMilli(), r.data); err != nil {
				return fmt.Errorf("sqlite: save sign-out %s: %w", r.id, err)
			}
		}
		if report != nil {
			if _, err := tx.Exec(`INSERT INTO inventories (id, at_ms, data) VALUES (?, ?, ?)`, report.ID, report.At.UnixMilli(), rep); err != nil {
				return fmt.Errorf("sqlite: save inventory %s: %w", report.ID, err)
			}
		}
		return nil
	})
}

// LoadCarriers implements gateway.VaultLog.
func (s *Reader) LoadCarriers() ([]gateway.Carrier, []gateway.CarrierState, []gateway.SignOut, error) {
	var carriers []gateway.Carrier
	rows, err := s.r.Query(`SELECT data FROM carriers ORDER BY id`)
	if err := eachJSON(rows, err, "carriers", func(c *gateway.Carrier) error { carriers = append(carriers, *c); return nil }); err != nil {
		return nil, nil, nil, err
	}
	var states []gateway.CarrierState
	rows, err = s.r.Query(`SELECT data FROM carrier_states ORDER BY id`)
	if err := eachJSON(rows, err, "carrier states", func(c *gateway.CarrierState) error { states = append(states, *c); return nil }); err != nil {
		return nil, nil, nil, err
	}
	loans, err := s.SignOuts(true, time.Time{})
	return carriers, states, loans, err
}

// SignOuts lists sign-outs, open ones only or all since since, newest first.
func (s *Reader) SignOuts(openOnly bool, since time.Time) ([]gateway.SignOut, error) {
	rows, err := s.r.Query(`SELECT data FROM sign_outs WHERE (open = 1 OR ? = 0) AND at_ms >= ? ORDER BY at_ms DESC`, openOnly, since.UnixMilli())
	var out []gateway.SignOut
	err = eachJSON(rows, err, "sign-outs", func(l *gateway.SignOut) error { out = append(out, *l); return nil })
	return out, err
}

// Inventories lists the inventory reports since since, newest first.
func (s *Reader) Inventories(since time.Time, limit int) ([]gateway.InventoryReport, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.Query(`SELECT data FROM inventories WHERE at_ms >= ? ORDER BY at_ms DESC LIMIT ?`, since.UnixMilli(), limit)
	var out []gateway.InventoryReport
	err = eachJSON(rows, err, "inventories", func(r *gateway.InventoryReport) error { out = append(out, *r); return nil })
	return out, err
}

// Inventory returns one inventory report, or nil.
func (s *Reader) Inventory(id string) (*gateway.InventoryReport, error) {
	return scanJSON[gateway.InventoryReport](s.r.QueryRow(`SELECT data FROM inventories WHERE id = ?`, id), "inventory")
}
