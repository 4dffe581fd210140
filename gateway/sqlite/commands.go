package sqlite

import (
	"database/sql"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Remember keeps admitted commands' nonces and counters, all in one
// transaction (the room admits each in memory, then here before it is
// carried out), and forgets nonces older than keep.
func (s *Store) Remember(es []gateway.Envelope, now time.Time, keep time.Duration) error {
	return s.write(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM command_nonces WHERE at_ms < ?`, now.Add(-keep).UnixMilli()); err != nil {
			return err
		}
		for _, e := range es {
			if _, err := tx.Exec(`INSERT OR IGNORE INTO command_nonces (principal, nonce, at_ms) VALUES (?, ?, ?)`, e.Principal, e.Nonce, e.TS.UnixMilli()); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO command_counters (principal, counter) VALUES (?, ?)
				ON CONFLICT (principal) DO UPDATE SET counter = MAX(counter, excluded.counter)`, e.Principal, int64(e.Counter)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Remembered returns the nonces of the commands signed since then, by
// principal, and every principal's highest counter: what Admit has kept,
// for the room to remember again at start.
func (s *Store) Remembered(since time.Time) (map[string]map[string]time.Time, map[string]uint64, error) {
	nonces := map[string]map[string]time.Time{}
	counters := map[string]uint64{}
	rows, err := s.r.Query(`SELECT principal, nonce, at_ms FROM command_nonces WHERE at_ms >= ?`, since.UnixMilli())
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p, n string
		var ms int64
		if err := rows.Scan(&p, &n, &ms); err != nil {
			return nil, nil, err
		}
		if nonces[p] == nil {
			nonces[p] = map[string]time.Time{}
		}
		nonces[p][n] = time.UnixMilli(ms)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	crows, err := s.r.Query(`SELECT principal, counter FROM command_counters`)
	if err != nil {
		return nil, nil, err
	}
	defer crows.Close()
	for crows.Next() {
		var p string
		var c int64
		if err := crows.Scan(&p, &c); err != nil {
			return nil, nil, err
		}
		counters[p] = uint64(c)
	}
	return nonces, counters, crows.Err()
}
