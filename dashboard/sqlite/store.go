// Package sqlite keeps the dashboard's replica of every room's events, the
// rooms' retained state, the console's accounts, sessions and audit log in
// one SQLite file.
package sqlite

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver

	"github.com/roomguard/roomguard/gateway"
	gwsqlite "github.com/roomguard/roomguard/gateway/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the dashboard's database.
type Store struct {
	clock gateway.Clock
	w     *sql.DB // the one writing connection
	r     *sql.DB // readers (WAL lets them read while the writer writes)

	mu    sync.Mutex // serialises writes and guards rooms
	rooms map[string]*roomState

	retainedV atomic.Int64 // counts the changes of retained state (RetainedVersion)

	wmu       sync.RWMutex
	watched   map[string]string // the rooms the console shows → their fingerprint (AddRoom)
	watchedAt time.Time         // when watched was read

	// Told after a commit added to the journal, or changed an account the
	// consoles share (what the peer link publishes).
	journaled, accounts chan struct{}
}

// Journaled is told when the journal grew.
func (s *Store) Journaled() <-chan struct{} { return s.journaled }

// AccountsChanged is told when an account was made or changed in what the
// consoles share.
func (s *Store) AccountsChanged() <-chan struct{} { return s.accounts }

func tell(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// RetainedVersion counts the changes of retained state since the store
// opened: a page notes it before it reads, and its live stream knows
// whether something changed before it started.
func (s *Store) RetainedVersion() int64 { return s.retainedV.Load() }

// Open opens (creating if needed) the dashboard database at path.
func Open(path string, clock gateway.Clock) (*Store, error) {
	if path == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "sqlite: no database path")
	}
	if err := gwsqlite.PrepareFile(path); err != nil {
		return nil, err
	}
	base := gwsqlite.FileURI(path)
	w, err := sql.Open("sqlite3", base+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := gwsqlite.Migrate(w, migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), w.Close())
	}
	r, err := sql.Open("sqlite3", base+"?mode=ro&_query_only=true&_busy_timeout=10000")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s read-only: %w", path, err), w.Close())
	}
	r.SetMaxOpenConns(4)
	s := &Store{clock: clock, w: w, r: r, journaled: make(chan struct{}, 1), accounts: make(chan struct{}, 1)}
	if err := s.loadRooms(); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), s.Close())
	}
	if err := s.loadWatched(); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), s.Close())
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// tx runs fn in one write transaction.
func (s *Store) tx(fn func(tx *sql.Tx) error) error {
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}
