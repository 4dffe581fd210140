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

// BareWriter is a group commit over the bare log: each Append waits for
// its own row's commit, and the writer commits whatever is waiting when the
// last commit ends in one transaction, as the log's writer does.
type BareWriter struct {
	writes chan chan error
	done   chan struct{}
}

// NewBareWriter starts the writer; each group's size goes to committed
// when it is not nil (a publisher's cue), and committed is closed by Close.
func NewBareWriter(db *sql.DB, committed chan<- int) *BareWriter {
	w := &BareWriter{writes: make(chan chan error, 1024), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if committed != nil {
			defer close(committed)
		}
		for first := range w.writes {
			group := []chan error{first}
			for more := true; more; {
				select {
				case next, ok := <-w.writes:
					if ok {
						group = append(group, next)
					} else {
						more = false
					}
				default:
					more = false
				}
			}
			err := CommitBareRows(db, len(group))
			for _, done := range group {
				done <- err
			}
			if committed != nil {
				committed <- len(group)
			}
		}
	}()
	return w
}

// Append commits one row and returns once it is durable; done is the
// caller's own channel (one buffered slot), reused from call to call.
func (w *BareWriter) Append(done chan error) error {
	w.writes <- done
	return <-done
}

// Close stops the writer once every Append has returned.
func (w *BareWriter) Close() {
	close(w.writes)
	<-w.done
}

// Producers runs n producers sharing round calls between them, as inputs
// that each wait for their own commit: producer p makes calls p, p+n, …,
// each waiting for the last; the first error ends its producer.
func Producers(n, round int, call func(producer int) error) error {
	errs := make(chan error, n)
	for p := range n {
		go func() {
			for i := p; i < round; i += n {
				if err := call(p); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
