package sqlite

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver

	"github.com/roomguard/roomguard/gateway"
)

// maxBatch bounds how many events one group commit holds, so a flood of
// writers cannot make one transaction (and its callers' wait) unbounded.
const maxBatch = 4096

// Store is one room's event log. It implements gateway.EventLog.
type Store struct {
	path  string
	room  string
	clock gateway.Clock
	w     *sql.DB // the one read-write connection, used only by the writer goroutine
	*Reader

	mu      sync.RWMutex // guards closed against sends on jobs
	closed  bool
	jobs    chan *job
	stopped chan struct{}

	lastSeq    uint64                             // owned by the writer goroutine once started
	lastHash   string                             // the chain's head: the next event's prev (gateway.ChainHash); writer-owned too
	roomKey    atomic.Pointer[ed25519.PrivateKey] // signs log.checkpoint events (SignCheckpointsWith)
	checked    uint64                             // the seq the last checkpoint covers (writer-owned)
	head       atomic.Pointer[chainHead]          // lastSeq and lastHash for other goroutines (Head)
	appended   chan struct{}
	insert     *sql.Stmt            // one row
	insertMany *sql.Stmt            // insertChunk rows
	stmts      map[string]*sql.Stmt // the writer's statements, prepared once (writer goroutine only)
	tail       tail                 // the last events committed, for the publisher (Pending)

	// The outbox cursor the publisher confirmed (MarkPublishedSoon) and
	// the one written: the next commit carries it, or a write of its own
	// within MarkLag when none comes.
	markWant  atomic.Uint64
	markDone  uint64        // writer-owned
	markAt    time.Time     // when markDone was written (writer-owned)
	markForce atomic.Bool   // the next commit writes the cursor whatever markAt
	markSaved atomic.Uint64 // markDone, for other goroutines
	markMu    sync.Mutex
	markTimer bool // a write of the cursor is set to come (markMu)

	// The commits' latency, from BEGIN to COMMIT's return (its fsync
	// included), counted by CommitBuckets (CommitLatency).
	commitCounts [len(CommitBuckets) + 1]atomic.Uint64
	commitNanos  atomic.Uint64
}

// CommitBuckets are the upper bounds, in seconds, the commits' latency is
// counted by (the last count is above them all).
var CommitBuckets = [...]float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// CommitLatency is the commits' latency so far: how many, their sum in
// seconds, and how many took at most each of CommitBuckets (cumulative, as
// Prometheus's histograms count).
func (s *Store) CommitLatency() (count uint64, sum float64, cumulative map[float64]uint64) {
	cumulative = make(map[float64]uint64, len(CommitBuckets))
	for i, le := range CommitBuckets {
		count += s.commitCounts[i].Load()
		cumulative[le] = count
	}
	count += s.commitCounts[len(CommitBuckets)].Load()
	return count, float64(s.commitNanos.Load()) / 1e9, cumulative
}

// observeCommit counts one commit's latency.
func (s *Store) observeCommit(d time.Duration) {
	i := 0
	for i < len(CommitBuckets) && d.Seconds() > CommitBuckets[i] {
		i++
	}
	s.commitCounts[i].Add(1)
	s.commitNanos.Add(uint64(d.Nanoseconds()))
}

// job is one caller's write: events to append, or another change, or both.
type job struct {
	// after, when set, is where the events' seqs go on from (a restore: the
	// seqs between were used before the loss)
	after  uint64
	events []gateway.Event
	fn     func(tx *sql.Tx) error
	done   chan error
}

// statementJournalInMemory keeps the writer's temporary files (a
// statement's journal) in memory; a benchmark turns it off for its baseline.
var statementJournalInMemory = true

// Open opens (creating if needed) the log at path for room. A log belongs to
// one room: opening another room's file is refused.
func Open(path, room string, clock gateway.Clock) (*Store, error) {
	if path == "" {
		return nil, gateway.Errorf(gateway.EINVALID, "sqlite: no storage path")
	}
	if err := PrepareFile(path); err != nil {
		return nil, err
	}
	base := FileURI(path)
	w, err := sql.Open("sqlite3", base+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if statementJournalInMemory {
		// A group commit's multi-row INSERT keeps its statement journal in
		// a temporary file by default: about 40 % of the writer's pwrites
		// (issue 29). In memory it costs a few pages of RAM. The one
		// writing connection never closes, so the pragma holds.
		if _, err := w.Exec(`PRAGMA temp_store = MEMORY`); err != nil {
			return nil, errors.Join(fmt.Errorf("sqlite: %s: temp_store: %w", path, err), w.Close())
		}
	}
	if err := check(w, path); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	if err := migrate(w); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), w.Close())
	}
	if err := claimRoom(w, room); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: %s: %w", path, err), w.Close())
	}
	r, err := openReader(base)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s read-only: %w", path, err), w.Close())
	}
	s := &Store{path: path, room: room, clock: clock, w: w, Reader: r, stmts: map[string]*sql.Stmt{},
		jobs: make(chan *job, maxBatch), stopped: make(chan struct{}), appended: make(chan struct{}, 1)}
	if err := w.QueryRow(`SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).Scan(&s.lastSeq); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: read last seq: %w", err), s.closeDBs())
	}
	s.checked = s.lastSeq
	var head []byte
	switch err := w.QueryRow(`SELECT payload FROM events ORDER BY seq DESC LIMIT 1`).Scan(&head); {
	case errors.Is(err, sql.ErrNoRows):
		s.lastHash = gateway.Genesis(room)
	case err != nil:
		return nil, errors.Join(fmt.Errorf("sqlite: read the chain's head: %w", err), s.closeDBs())
	default:
		s.lastHash = gateway.ChainHash(head)
	}
	s.head.Store(&chainHead{s.lastSeq, s.lastHash})
	if s.insert, err = w.Prepare(insertSQL(1)); err == nil {
		s.insertMany, err = w.Prepare(insertSQL(insertChunk))
	}
	for _, q := range hotSQL {
		if err == nil {
			s.stmts[q], err = w.Prepare(q)
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: prepare insert: %w", err), s.closeDBs())
	}
	go s.writer()
	return s, nil
}

// FileURI is the sqlite3 driver's URI of the file at path.
func FileURI(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

// check makes sure the pragmas the durability promise rests on are in force.
func check(db *sql.DB, path string) error {
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("sqlite: %s: journal mode is %q, want wal", path, mode)
	}
	var sync int
	if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if sync != 2 {
		return fmt.Errorf("sqlite: %s: synchronous is %d, want 2 (FULL)", path, sync)
	}
	return nil
}

func claimRoom(db *sql.DB, room string) error {
	var have string
	err := db.QueryRow(`SELECT value FROM meta WHERE key = 'room'`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = db.Exec(`INSERT INTO meta (key, value) VALUES ('room', ?)`, room)
		return err
	case err != nil:
		return err
	case have != room:
		return gateway.Errorf(gateway.ECONFLICT, "this log belongs to room %q, not %q", have, room)
	}
	return nil
}

// SignCheckpointsWith makes the log sign its chain's head with the room's
// key in a log.checkpoint event (issue 18) every gateway.CheckpointEvery
// events, and whenever Checkpoint is called: its data is the signature over
// the head before it, put in at the commit, where the head is known.
func (s *Store) SignCheckpointsWith(key ed25519.PrivateKey) { s.roomKey.Store(&key) }

// Restored records that the log was restored from backup and goes on after
// seq after: the seqs up to it that the backup lacks were used before the
// loss and are never reused (a log.restored event, signed with the room's
// key, declares the gap). after below the log's last seq is refused.
func (s *Store) Restored(backup string, after uint64) error {
	last, err := s.LastSeq()
	if err != nil {
		return err
	}
	if after < last {
		return gateway.Errorf(gateway.EINVALID, "restore: the backup holds seq %d already; resume after %d would reuse seqs", last, after)
	}
	data, err := json.Marshal(gateway.Restored{Backup: backup})
	if err != nil {
		return err
	}
	// The backup's counters are older than those of the commands carried
	// out after it: every counter from now on must be above the restore's
	// time (a signer's counter is its clock in ms), so a command signed
	// before the restore, sent again while the clock is not trusted, is
	// refused replayed (issue 27, finding 6).
	floor := s.clock.Now().UnixMilli()
	return s.do(&job{after: after, events: []gateway.Event{{Type: "log.restored", Severity: gateway.SeverityWarning, Data: data}},
		fn: func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO command_counters (principal, counter) VALUES (?, ?)
				ON CONFLICT (principal) DO UPDATE SET counter = MAX(counter, excluded.counter)`, gateway.AnyPrincipal, floor)
			return err
		}})
}

// Ping returns once the log's writer has taken an empty write: the writer
// is not stuck (the service's watchdog asks).
func (s *Store) Ping() error { return s.do(&job{fn: func(*sql.Tx) error { return nil }}) }

// checkpointNow commits a checkpoint from the writer itself, after a commit
// that passed gateway.CheckpointEvery events since the last one; a failure
// is tried again after the next commit.
func (s *Store) checkpointNow() {
	if err := s.commit([]*job{{events: []gateway.Event{{Type: "log.checkpoint", Severity: gateway.SeverityInfo}}}}); err != nil {
		s.checked = s.lastSeq // not before another CheckpointEvery events: a failing log is not hammered
	}
}

type chainHead struct {
	seq  uint64
	hash string
}

// Head is the chain's head now: the last event committed and its hash
// (the genesis with seq 0 for an empty log).
func (s *Store) Head() (seq uint64, hash string) {
	h := s.head.Load()
	return h.seq, h.hash
}

// Path is the file the log lives in.
func (s *Store) Path() string { return s.path }

// Appended is signalled (coalesced) after every commit that added events.
func (s *Store) Appended() <-chan struct{} { return s.appended }

// Append commits events to the log and returns them with Seq, ID and Room
// set. It returns only once they are durable.
func (s *Store) Append(events ...gateway.Event) ([]gateway.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	j := &job{events: append([]gateway.Event(nil), events...)}
	if err := s.do(j); err != nil {
		return nil, err
	}
	return j.events, nil
}

// write runs fn in the writer's next group commit.
func (s *Store) write(fn func(tx *sql.Tx) error) error {
	return s.do(&job{fn: fn})
}

func (s *Store) do(j *job) error {
	j.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return gateway.Errorf(gateway.ECONFLICT, "sqlite: log is closed")
	}
	s.jobs <- j
	s.mu.RUnlock()
	return <-j.done
}

func (s *Store) writer() {
	defer close(s.stopped)
	released := 0 // callers the last commit released
	for j := range s.jobs {
		batch := []*job{j}
		n := len(j.events)
		// The callers the last commit released are runnable now but have
		// not sent their next write yet; letting them run first makes the
		// group larger (one fsync for many). The writer yields while they
		// keep coming, up to as many as it released: a lone caller costs
		// one yield, a crowd shares its fsync.
		for idle := 0; idle < 2 && len(batch) < max(released, 2) && n < maxBatch; {
			runtime.Gosched()
			got := false
		drain:
			for n < maxBatch {
				select {
				case more, ok := <-s.jobs:
					if !ok {
						break drain
					}
					batch = append(batch, more)
					n += len(more.events)
					got = true
				default:
					break drain
				}
			}
			if got {
				idle = 0
			} else {
				idle++
			}
		}
		released = len(batch)
		err := s.commit(batch)
		if err != nil && len(batch) > 1 {
			// One bad job must not fail its neighbours: retry each alone.
			for _, j := range batch {
				j.done <- s.commit([]*job{j})
			}
			continue
		}
		for _, j := range batch {
			j.done <- err
		}
		if err == nil && s.roomKey.Load() != nil && s.lastSeq >= s.checked+gateway.CheckpointEvery {
			s.checkpointNow()
		}
	}
}

// insertChunk is how many rows one multi-row INSERT carries: a large group
// commit costs a few statements instead of one cgo round trip per event.
const insertChunk = 32

const insertCols = 8

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (seq, id, ts_ms, type, severity, device, person, payload) VALUES `)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// commit writes a group of jobs in one transaction: every job's events in
// order, then every job's other change in order. Seqs are taken from lastSeq
// and given back if the transaction fails, so none is skipped.
func (s *Store) commit(batch []*job) error {
	seq, head, checked := s.lastSeq, s.lastHash, s.checked
	var args []any
	var recs []gateway.LogRecord
	for _, j := range batch {
		lostFrom := seq + 1
		if j.after > seq {
			seq = j.after
		}
		for i := range j.events {
			e := &j.events[i]
			seq++
			e.Seq = seq
			e.Room = s.room
			if e.TS.IsZero() {
				e.TS = s.clock.Now()
			}
			e.ID = gateway.NewEventID(e.TS)
			e.Prev = head
			if e.Type == "log.restored" {
				key := s.roomKey.Load()
				if key == nil {
					return fmt.Errorf("sqlite: a restore, but no room key to sign it (SignCheckpointsWith)")
				}
				var r gateway.Restored
				if err := json.Unmarshal(e.Data, &r); err != nil {
					return fmt.Errorf("sqlite: a restore: %w", err)
				}
				b, err := json.Marshal(gateway.SignRestored(*key, s.room, r.Backup, lostFrom, seq-1, head))
				if err != nil {
					return err
				}
				e.Data = b
			}
			if e.Type == "log.checkpoint" {
				checked = seq
				// The head it signs is its own prev: known only here.
				key := s.roomKey.Load()
				if key == nil {
					return fmt.Errorf("sqlite: a checkpoint, but no room key to sign it (SignCheckpointsWith)")
				}
				b, err := json.Marshal(gateway.SignCheckpoint(*key, s.room, seq-1, head))
				if err != nil {
					return err
				}
				e.Data = b
			}
			payload, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("sqlite: encode event %s: %w", e.Type, err)
			}
			head = gateway.ChainHash(payload)
			args = append(args, e.Seq, e.ID, e.TS.UnixMilli(), e.Type, string(e.Severity), e.Device, e.Person, payload)
			recs = append(recs, gateway.LogRecord{Seq: e.Seq, Payload: payload})
		}
	}
	began := time.Now() // a measurement, not the room's time
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	for len(args) > 0 {
		stmt, n := s.insertMany, insertChunk*insertCols
		if len(args) < n {
			stmt, n = s.insert, insertCols
		}
		if _, err := tx.Stmt(stmt).Exec(args[:n]...); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: insert event: %w", err)
		}
		args = args[n:]
	}
	for _, j := range batch {
		if j.fn != nil {
			if err := j.fn(tx); err != nil {
				tx.Rollback()
				return err
			}
		}
	}
	mark := s.markWant.Load()
	if mark > s.markDone && !s.markForce.Load() && s.clock.Now().Sub(s.markAt) < markEvery {
		mark = s.markDone // written lately: it waits for a later commit, or MarkLag
	}
	if mark > s.markDone {
		if _, err := s.exec(tx, markSQL, mark, mark); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: move outbox cursor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.observeCommit(time.Since(began))
	added := seq > s.lastSeq
	if mark > s.markDone {
		s.markDone, s.markAt = mark, s.clock.Now()
		s.markSaved.Store(mark)
		s.markForce.Store(false)
	}
	s.tail.add(recs)
	s.lastSeq, s.lastHash, s.checked = seq, head, checked
	s.head.Store(&chainHead{seq, head})
	if added {
		select {
		case s.appended <- struct{}{}:
		default:
		}
	}
	return nil
}

// Close waits for pending writes and closes the log.
func (s *Store) Close() error {
	if s.markWant.Load() > 0 { // the cursor confirmed last, written before the end
		s.markForce.Store(true)
		if err := s.write(func(*sql.Tx) error { return nil }); err != nil && gateway.ErrorCode(err) != gateway.ECONFLICT {
			slog.Error("sqlite: the outbox cursor not written at close", "err", err)
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	<-s.stopped
	return s.closeDBs()
}

// The hot writes, prepared once at Open: a device state, the panel, an
// alarm, a carrier's state, the outbox cursor skip SQLite's parser.
const (
	saveStateSQL = `INSERT INTO device_states (device, kind, state, active, since_ms, seq) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET kind = excluded.kind, state = excluded.state,
			active = excluded.active, since_ms = excluded.since_ms, seq = excluded.seq`
	savePanelSQL   = `INSERT INTO panel (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`
	saveCarrierSQL = `INSERT INTO carrier_states (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data`
	saveAccessSQL  = `INSERT INTO access (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`
	saveSignOutSQL = `INSERT INTO sign_outs (id, carrier, open, at_ms, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET open = excluded.open, data = excluded.data`
	markSQL = `UPDATE outbox SET published_seq = ? WHERE id = 1 AND published_seq < ?`
)

var hotSQL = []string{saveStateSQL, savePanelSQL, saveCarrierSQL, saveAccessSQL, saveSignOutSQL, markSQL}

// exec runs one of hotSQL in tx as the statement prepared at Open (the one
// connection is the transaction's: nothing can be prepared during one).
func (s *Store) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.stmts[query]; st != nil {
		return tx.Stmt(st).Exec(args...)
	}
	return tx.Exec(query, args...)
}

func (s *Store) closeDBs() error {
	for _, st := range []*sql.Stmt{s.insert, s.insertMany} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range s.stmts {
		st.Close()
	}
	err := s.Reader.Close()
	if err2 := s.w.Close(); err == nil {
		err = err2
	}
	return err
}

// The room's logs, all one Store.
var (
	_ gateway.EventLog  = (*Store)(nil)
	_ gateway.RoomLog   = (*Store)(nil)
	_ gateway.PanelLog  = (*Store)(nil)
	_ gateway.AccessLog = (*Store)(nil)
	_ gateway.VaultLog  = (*Store)(nil)
	_ gateway.Register  = (*Store)(nil)
)
