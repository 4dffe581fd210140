package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Reader reads a log without ever writing it: the CLI uses one while the
// gateway runs, and the Store reads through one so queries never wait for
// the writer.
type Reader struct {
	r *sql.DB
}

// OpenReader opens an existing log read-only.
func OpenReader(path string) (*Reader, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r, err := openReader(FileURI(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	var version int
	if err := r.r.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version == 0 {
		return nil, errors.Join(fmt.Errorf("sqlite: %s is not a roomguard log", path), r.Close())
	}
	return r, nil
}

func openReader(base string) (*Reader, error) {
	db, err := sql.Open("sqlite3", base+"?mode=ro&_query_only=true&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return &Reader{r: db}, nil
}

// LastSeq is the seq of the newest committed event (0 for an empty log).
func (s *Reader) LastSeq() (uint64, error) {
	var seq uint64
	err := s.r.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// FirstSeq is the oldest event's seq (0: an empty log): the events before
// it were pruned; a seq missing after it was deleted.
func (s *Reader) FirstSeq() (uint64, error) {
	var seq uint64
	err := s.r.QueryRow(`SELECT COALESCE(MIN(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// Room is the room the log belongs to.
func (s *Reader) Room() (string, error) {
	var room string
	err := s.r.QueryRow(`SELECT value FROM meta WHERE key = 'room'`).Scan(&room)
	return room, err
}

// Close closes the reader.
func (s *Reader) Close() error { return s.r.Close() }
