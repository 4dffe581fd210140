package testenv

import (
	"database/sql"
	"fmt"
	"time"

	_ "github.com/mattn/go-sqlite3" // the bare log's driver, as the gateway's

	"github.com/roomguard/roomguard/gateway"
)

// BareEventLog opens path as the log's events table with its indexes and
// nothing around it (WAL, synchronous=FULL, one connection): the baseline
// the commit benchmarks compare the gateway with, in the same run.
func BareEventLog(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
		ts_ms INTEGER NOT NULL, type TEXT NOT NULL, severity TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',
		person TEXT NOT NULL DEFAULT '', payload BLOB NOT NULL) STRICT;
		CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
		CREATE INDEX IF NOT EXISTS events_type ON events (type, seq);
		CREATE INDEX IF NOT EXISTS events_device ON events (device, seq) WHERE device <> '';`); err != nil {
		return nil, fmt.Errorf("bare log %s: %w", path, err)
	}
	return db, nil
}

// BarePayload is an event's payload as the log holds it.
var BarePayload = []byte(`{"seq":1,"id":"019a9f1e-2b3c-7d4e-8f90-a1b2c3d4e5f6","ts":"2026-11-22T09:00:00.000Z","room":"rig-room","type":"window.opened","severity":"info","device":"window-7"}`)

// CommitBareRows inserts rows events into the bare log in one transaction.
func CommitBareRows(db *sql.DB, rows int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	ins, err := tx.Prepare(`INSERT INTO events (id, ts_ms, type, severity, device, payload) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("%w (rollback: %v)", err, tx.Rollback())
	}
	for i := 0; i < rows; i++ {
		now := time.Now()
		if _, err := ins.Exec(gateway.NewEventID(now), now.UnixMilli(), "window.opened", "info", "window-7", BarePayload); err != nil {
			return fmt.Errorf("%w (rollback: %v)", err, tx.Rollback())
		}
	}
	if err := ins.Close(); err != nil {
		return fmt.Errorf("%w (rollback: %v)", err, tx.Rollback())
	}
	return tx.Commit()
}
