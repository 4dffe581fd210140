package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// Register returns the master copy of a register, or ENOTFOUND when none
// was imported yet.
func (s *Store) Register(kind string) (*dashboard.Register, error) {
	r := dashboard.Register{Kind: kind}
	var ms int64
	err := s.r.QueryRow(`SELECT version, csv, count, sha256, updated_ms, updated_by FROM registers WHERE kind = ?`, kind).
		Scan(&r.Version, &r.CSV, &r.Count, &r.SHA256, &ms, &r.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no %s register imported yet", kind)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: register %s: %w", kind, err)
	}
	r.Updated = time.UnixMilli(ms)
	return &r, nil
}

// SaveRegister stores a new version of a register; its version must be
// above the one held.
func (s *Store) SaveRegister(r dashboard.Register) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx(func(tx *sql.Tx) error {
		var held int64
		err := tx.QueryRow(`SELECT version FROM registers WHERE kind = ?`, r.Kind).Scan(&held)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if r.Version <= held {
			return gateway.Errorf(gateway.ECONFLICT, "%s register: version %d is not above version %d", r.Kind, r.Version, held)
		}
		_, err = tx.Exec(`INSERT INTO registers (kind, version, csv, count, sha256, updated_ms, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind) DO UPDATE SET version = excluded.version, csv = excluded.csv, count = excluded.count,
				sha256 = excluded.sha256, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
			r.Kind, r.Version, r.CSV, r.Count, r.SHA256, r.Updated.UnixMilli(), r.UpdatedBy)
		return err
	})
}
