package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	gwsqlite "github.com/roomguard/roomguard/gateway/sqlite"
)

// pruneChunk is how many events one prune transaction deletes: the feed
// waits for the writer between them, never for the whole prune.
const pruneChunk = 5000

// Prune deletes the events (and their entry-log rows, and the quarantine)
// stamped before before, in chunks; it returns how many events went. A
// room's seqs below before stay counted as held: a re-sent old event is a
// duplicate, not a gap.
func (s *Store) Prune(before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.pruneChunk(before.UnixMilli())
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

func (s *Store) pruneChunk(before int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	byRoom := map[string]int64{}
	changed := map[string]*roomState{}
	err := s.tx(func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT room, count(*) FROM (SELECT room FROM events WHERE ts_ms < ? LIMIT ?) GROUP BY room`, before, pruneChunk)
		if err != nil {
			return err
		}
		for rows.Next() {
			var room string
			var c int64
			if err := rows.Scan(&room, &c); err != nil {
				rows.Close()
				return err
			}
			byRoom[room] = c
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO pruning (before_ms) VALUES (?)`, before); err != nil {
			return err
		}
		res, err := tx.Exec(`DELETE FROM events WHERE n IN (SELECT n FROM events WHERE ts_ms < ? LIMIT ?)`, before, pruneChunk)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM entries WHERE ts_ms < ?`, `DELETE FROM quarantine WHERE received_ms < ?`, `DELETE FROM pruning WHERE before_ms = ?`} {
			if _, err := tx.Exec(q, before); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		for room, c := range byRoom {
			r := s.room(room, now)
			r.Events -= c
			if err := saveRoom(tx, r); err != nil {
				return err
			}
			changed[room] = r
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune: %w", err)
	}
	for room, r := range changed {
		s.rooms[room] = r
	}
	return n, nil
}

// Backup copies the database, consistent as of one moment, to dst (a file
// that must not exist), while the console goes on.
func (s *Store) Backup(ctx context.Context, dst string) error { return gwsqlite.Backup(ctx, s.r, dst) }
