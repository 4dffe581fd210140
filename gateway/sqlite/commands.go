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
