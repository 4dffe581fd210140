package sqlite

import (
	"database/sql"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Admit remembers a signed command's nonce and counter, and refuses one
// seen before (replayed): a nonce already used, or, when the clock is not
// trusted (then the time it was signed proves nothing), a counter not above
// the principal's highest. Nonces older than keep are forgotten: a command
// that old is refused as stale before it gets here.
func (s *Store) Admit(e gateway.Envelope, now time.Time, keep time.Duration, trusted bool) error {
	return s.write(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM command_nonces WHERE at_ms < ?`, now.Add(-keep).UnixMilli()); err != nil {
			return err
		}
		var seen int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM command_nonces WHERE principal = ? AND nonce = ?`, e.Principal, e.Nonce).Scan(&seen); err != nil {
			return err
		}
		if seen > 0 {
			return gateway.Errorf(gateway.EREPLAYED, "the command of %q with nonce %s was carried out before", e.Principal, e.Nonce)
		}
		var high int64
		if err := tx.QueryRow(`SELECT COALESCE((SELECT counter FROM command_counters WHERE principal = ?), 0)`, e.Principal).Scan(&high); err != nil {
			return err
		}
		if !trusted && int64(e.Counter) <= high {
			return gateway.Errorf(gateway.EREPLAYED, "counter %d of %q is not above its last, %d (the clock is not trusted, so the counter decides)", e.Counter, e.Principal, high)
		}
		if _, err := tx.Exec(`INSERT INTO command_nonces (principal, nonce, at_ms) VALUES (?, ?, ?)`, e.Principal, e.Nonce, e.TS.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO command_counters (principal, counter) VALUES (?, ?)
			ON CONFLICT (principal) DO UPDATE SET counter = MAX(counter, excluded.counter)`, e.Principal, int64(e.Counter))
		return err
	})
}

// Remember keeps admitted commands' nonces and counters, all in one
// transaction (the room admits them in memory first and writes them
// behind, in batches), and forgets nonces older than keep.
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
