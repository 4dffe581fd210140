package sqlite_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// entryRows is the size of the entry log the query benchmark reads.
const entryRows = 10_000_000

// bigEntryLog is a replica whose entry log holds 10,000,000 records over a
// year (50 rooms, 2,000 people, one denial in ten), built once and kept in
// the temp dir between runs: building it takes minutes. Only the entries
// table is filled; the queries read nothing else.
func bigEntryLog(b *testing.B) *sqlite.Store {
	path := filepath.Join(os.TempDir(), "roomguard-bench-entries-10M-v1.db")
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		os.Remove(tmp)
		s, err := sqlite.Open(tmp, clocktest.New(t0)) // the schema
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		db, err := sql.Open("sqlite3", "file:"+tmp+"?_journal_mode=WAL&_synchronous=OFF")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		_, err = db.Exec(fmt.Sprintf(`
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO entries (room, seq, ts_ms, result, person, person_name, visitor, card, card_tail, reader, door, direction, reason)
			SELECT printf('jiyao-%%03d', i %% 50), i, %d + i * 3153, 
				CASE WHEN i %% 10 = 0 THEN 'denied' WHEN i %% 10 < 5 THEN 'granted' WHEN i %% 10 < 8 THEN 'entered' ELSE 'exited' END,
				printf('p-%%d', (i * 7919) %% 2000), printf('员工%%d', (i * 7919) %% 2000), 0,
				printf('******%%04d', (i * 7919) %% 2000), printf('%%04d', (i * 7919) %% 2000),
				'reader-outside', 'door-main', 'in', CASE WHEN i %% 10 = 0 THEN 'unknown_card' ELSE '' END
			FROM n`, entryRows, t0.UnixMilli()))
		if err != nil {
			b.Fatal(err)
		}
		db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		db.Exec(`ANALYZE`)
		db.Close()
		b.Logf("built the 10,000,000-record entry log in %v", time.Since(start))
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlite.Open(path, clocktest.New(t0))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkEntryQuery: one filtered page (100 records) of the entry log over
// 10,000,000 records, as the console asks for it: by person, by card, denials
// in a week, a room in a day, the newest page, and a page far back. Target
// p95 ≤ 100 ms.
func BenchmarkEntryQuery(b *testing.B) {
	s := bigEntryLog(b)
	defer s.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	year := time.Duration(entryRows) * 3153 * time.Millisecond
	filters := func() dashboard.EntryFilter {
		at := t0.Add(time.Duration(rng.Int64N(int64(year))))
		switch rng.IntN(6) {
		case 0:
			return dashboard.EntryFilter{Person: fmt.Sprintf("p-%d", rng.IntN(2000))}
		case 1:
			return dashboard.EntryFilter{Card: fmt.Sprintf("ABCD%04d", rng.IntN(2000))}
		case 2:
			return dashboard.EntryFilter{Result: "denied", Since: at, Until: at.Add(7 * 24 * time.Hour)}
		case 3:
			return dashboard.EntryFilter{Room: fmt.Sprintf("jiyao-%03d", rng.IntN(50)), Since: at, Until: at.Add(24 * time.Hour)}
		case 4:
			return dashboard.EntryFilter{}
		default:
			return dashboard.EntryFilter{Person: fmt.Sprintf("员工%d", rng.IntN(2000)), Before: dashboard.Cursor{TS: at.UnixMilli(), Room: "jiyao-025", Seq: 1}}
		}
	}
	var lat testenv.Latencies
	b.ResetTimer()
	for i := 0; i < max(b.N, 300); i++ {
		f := filters()
		f.Limit = 100
		start := time.Now()
		page, err := s.Entries(f)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if len(page) == 0 && f.Room == "" && f.Result == "" {
			b.Fatalf("no records for %+v", f)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(lat.Quantile(0.95))/float64(time.Millisecond), "page-p95-ms")
	lat.Report(b, "page")
}
