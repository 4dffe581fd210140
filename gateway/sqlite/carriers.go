package sqlite

import (
	"database/sql"
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
	return replaceRegister(s, "carriers", carriers, version, by, at, fillCarriers(carriers))
}

// fillCarriers writes the carrier register's rows.
func fillCarriers(carriers []gateway.Carrier) func(tx *sql.Tx, blobs [][]byte) error {
	return func(tx *sql.Tx, blobs [][]byte) error {
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
	}
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
