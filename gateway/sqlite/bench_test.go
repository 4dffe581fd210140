package sqlite_test

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkAppendConcurrent: events committed per second (synchronous=FULL)
// when many producers each wait for their own commit — the store alone,
// without the publisher.
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, producers := range []int{1, 16, 64, 256} {
		b.Run(strconv.Itoa(producers)+"-producers", func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "log.db"))
			start := time.Now()
			total := 0
			for b.Loop() {
				const round = 10000
				if err := testenv.Producers(producers, round, func(int) error {
					_, err := s.Append(gateway.Event{Type: "window.opened", Severity: gateway.SeverityInfo, Device: "window-1"})
					return err
				}); err != nil {
					b.Fatal(err)
				}
				total += round
			}
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
		})
	}
	// The same group commit with nothing around it (issue 29): 64 producers
	// each waiting for its own row in the bare table with the same indexes.
	b.Run("bare-64-producers", func(b *testing.B) {
		db, err := testenv.BareEventLog(filepath.Join(b.TempDir(), "bare.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		w := testenv.NewBareWriter(db, nil)
		defer w.Close()
		start := time.Now()
		total := 0
		for b.Loop() {
			const round, producers = 10000, 64
			dones := make([]chan error, producers)
			for p := range dones {
				dones[p] = make(chan error, 1)
			}
			if err := testenv.Producers(producers, round, func(p int) error { return w.Append(dones[p]) }); err != nil {
				b.Fatal(err)
			}
			total += round
		}
		b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
	})
}

// BenchmarkLogVerify: log verify walks a log of 1,000,000 events (their
// chain, and a signed checkpoint every 1,000), next to a bare scan of the
// same rows in the same run. Target: ≤ 10 s for the million.
func BenchmarkLogVerify(b *testing.B) {
	const n = 1_000_000
	path, key := millionEvents(b, n)
	r, err := sqlite.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	bare, err := sql.Open("sqlite3", sqlite.FileURI(path)+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	var scan, verify time.Duration
	for b.Loop() {
		start := time.Now()
		if rows := bareScan(b, bare); rows != n {
			b.Fatalf("scanned %d", rows)
		}
		scan += time.Since(start)
		start = time.Now()
		v := &gateway.ChainVerifier{Room: "r1", Key: key}
		if brk, err := r.VerifyChainWith(v, 1, 0); err != nil || brk != nil || v.Last != n {
			b.Fatalf("verify: %v %v (through %d)", brk, err, v.Last)
		}
		verify += time.Since(start)
	}
	per := verify.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/million")
	b.ReportMetric(n/per, "events/s")
	b.ReportMetric(verify.Seconds()/scan.Seconds(), "x-bare-scan")
}

var million struct {
	once sync.Once
	dir  string
	path string
	key  ed25519.PublicKey
}

// TestMain removes the million-event log the benchmarks share once every
// benchmark has run: with -count 2, the second run of BenchmarkLogVerify
// found it deleted by the first's cleanup (issue 29).
func TestMain(m *testing.M) {
	code := m.Run()
	if million.dir != "" {
		os.RemoveAll(million.dir)
	}
	os.Exit(code)
}

// millionEvents writes a room's log of n chained events, a signed
// checkpoint every gateway.CheckpointEvery, straight into SQLite (the store
// would take minutes): the rows and bytes the store writes.
func millionEvents(b *testing.B, n int) (string, ed25519.PublicKey) {
	million.once.Do(func() {
		dir, err := os.MkdirTemp("", "roomguard-bench")
		if err != nil {
			b.Fatal(err)
		}
		million.dir = dir // removed by TestMain, after every run of every benchmark
		million.path = filepath.Join(dir, "log.db")
		s, err := sqlite.Open(million.path, "r1", nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		pub, priv, _ := ed25519.GenerateKey(nil)
		million.key = pub
		db, err := sql.Open("sqlite3", million.path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		tx, _ := db.Begin()
		ins, err := tx.Prepare(`INSERT INTO events (seq, id, ts_ms, type, severity, device, person, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		head := gateway.Genesis("r1")
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for seq := 1; seq <= n; seq++ {
			e := gateway.Event{Seq: uint64(seq), TS: t0.Add(time.Duration(seq) * time.Second), ClockTrusted: true, Room: "r1",
				Type: "window.opened", Severity: gateway.SeverityInfo, Device: "window-1", Prev: head}
			e.ID = gateway.NewEventID(e.TS)
			if seq%gateway.CheckpointEvery == 0 {
				e.Type, e.Device = "log.checkpoint", ""
				e.Data, _ = json.Marshal(gateway.SignCheckpoint(priv, "r1", uint64(seq-1), head))
			}
			p, _ := json.Marshal(e)
			if _, err := ins.Exec(e.Seq, e.ID, e.TS.UnixMilli(), e.Type, string(e.Severity), e.Device, e.Person, p); err != nil {
				b.Fatal(err)
			}
			head = gateway.ChainHash(p)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	})
	return million.path, million.key
}

// bareScan reads every event's row and bytes, as log verify does, and
// nothing more: the baseline of BenchmarkLogVerify.
func bareScan(b *testing.B, db *sql.DB) int {
	rows, err := db.Query(`SELECT seq, id, type, payload FROM events ORDER BY seq`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq uint64
		var id, typ string
		var p []byte
		if err := rows.Scan(&seq, &id, &typ, &p); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkChainShare: what chaining and checkpoints cost of durable
// throughput. The chain is part of every commit (there is no unchained
// store left to run beside it), so this measures, in the same run, the
// store's durable appends (64 producers) and the chain's own work for the
// same events (the hash of each event's bytes, a signed checkpoint every
// gateway.CheckpointEvery) and reports its share. Target ≤ 10 %.
func BenchmarkChainShare(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "log.db"))
	_, key, _ := ed25519.GenerateKey(nil)
	const round, producers = 10000, 64
	var appendTime, chainTime time.Duration
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := p; i < round; i += producers {
					if _, err := s.Append(gateway.Event{Type: "window.opened", Severity: gateway.SeverityInfo, Device: "window-1"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		appendTime += time.Since(start)
		last, _ := s.LastSeq()
		evs, err := s.Query(gateway.EventFilter{AfterSeq: last - round})
		if err != nil {
			b.Fatal(err)
		}
		payloads := make([][]byte, len(evs))
		for i, e := range evs {
			payloads[i], _ = json.Marshal(e)
		}
		start = time.Now()
		head := ""
		for i, p := range payloads {
			head = gateway.ChainHash(p)
			if i%gateway.CheckpointEvery == 0 {
				gateway.SignCheckpoint(key, "r1", uint64(i), head)
			}
		}
		chainTime += time.Since(start)
	}
	b.ReportMetric(float64(b.N*round)/appendTime.Seconds(), "events/s")
	b.ReportMetric(100*chainTime.Seconds()/appendTime.Seconds(), "chain-%")
}

// BenchmarkStatementJournal: 64 producers appending, the statement journal
// in memory (PRAGMA temp_store = MEMORY, issue 29) against SQLite's default
// (temporary files), paired rounds in the same run on the same disk.
func BenchmarkStatementJournal(b *testing.B) {
	defer sqlite.SetStatementJournalInMemory(true)
	round := func(s *sqlite.Store) time.Duration {
		const n, producers = 5000, 64
		start := time.Now()
		var wg sync.WaitGroup
		for p := 0; p < producers; p++ {
			wg.Go(func() {
				for i := p; i < n; i += producers {
					if _, err := s.Append(gateway.Event{Type: "window.opened", Severity: gateway.SeverityInfo, Device: "window-1"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	sqlite.SetStatementJournalInMemory(false)
	file := open(b, filepath.Join(b.TempDir(), "file.db"))
	sqlite.SetStatementJournalInMemory(true)
	mem := open(b, filepath.Join(b.TempDir(), "memory.db"))
	var inFile, inMemory time.Duration
	for b.Loop() {
		for range 3 { // paired, alternating: the disk's mood is shared
			inFile += round(file)
			inMemory += round(mem)
		}
	}
	b.ReportMetric(inFile.Seconds()/inMemory.Seconds(), "x-faster-in-memory")
	b.ReportMetric(float64(3*5000*b.N)/inMemory.Seconds(), "events/s-memory")
	b.ReportMetric(float64(3*5000*b.N)/inFile.Seconds(), "events/s-file")
}
