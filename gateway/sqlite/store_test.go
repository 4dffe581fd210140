package sqlite_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, "jiyao-301", clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(typ, device string, at time.Time) gateway.Event {
	return gateway.Event{Type: typ, Severity: gateway.SeverityInfo, Device: device, TS: at, ClockTrusted: true}
}

func TestAppendAssignsSeqIDAndRoom(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	got, err := s.Append(ev("door.opened", "door-main", t0), ev("door.closed", "door-main", t0.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 1 || got[1].Seq != 2 {
		t.Fatalf("seqs %d, %d; want 1, 2", got[0].Seq, got[1].Seq)
	}
	if got[0].ID == got[1].ID || len(got[0].ID) != 36 {
		t.Fatalf("ids %q %q: want two distinct UUIDs", got[0].ID, got[1].ID)
	}
	if got[0].Room != "jiyao-301" {
		t.Fatalf("room %q", got[0].Room)
	}
	recs, err := s.Pending(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var back gateway.Event
	if err := json.Unmarshal(recs[1].Payload, &back); err != nil {
		t.Fatal(err)
	}
	if back.Seq != 2 || back.ID != got[1].ID || back.Type != "door.closed" || !back.TS.Equal(t0.Add(time.Second)) {
		t.Fatalf("payload decodes to %+v", back)
	}
	if !strings.Contains(string(recs[0].Payload), `"ts":"2026-11-22T09:00:00.000+08:00"`) {
		t.Fatalf("ts not RFC 3339 with milliseconds: %s", recs[0].Payload)
	}
}

func TestSeqSurvivesReopenAndIsNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := sqlite.Open(path, "jiyao-301", clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Append(ev("door.opened", "door-main", t0)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, path)
	got, err := s.Append(ev("door.closed", "door-main", t0))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 4 {
		t.Fatalf("seq after reopen %d, want 4", got[0].Seq)
	}
}

func TestGroupCommitUnderConcurrency(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	const writers, each = 16, 50
	var wg sync.WaitGroup
	seen := make(chan uint64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				got, err := s.Append(ev("motion.detected", "ir-1", t0))
				if err != nil {
					t.Error(err)
					return
				}
				seen <- got[0].Seq
			}
		}()
	}
	wg.Wait()
	close(seen)
	have := map[uint64]bool{}
	for seq := range seen {
		if have[seq] {
			t.Fatalf("seq %d given twice", seq)
		}
		have[seq] = true
	}
	for seq := uint64(1); seq <= writers*each; seq++ {
		if !have[seq] {
			t.Fatalf("seq %d missing: seqs must be consecutive", seq)
		}
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s := open(t, path)
	if _, err := s.Append(ev("door.opened", "door-main", t0)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE events SET type = 'door.closed'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update: %v, want append-only refusal", err)
	}
	if _, err := db.Exec(`DELETE FROM events`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("delete: %v, want append-only refusal", err)
	}
}

func TestDurabilityPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s := open(t, path)
	s.Close()
	// Open checks journal_mode=wal and synchronous=FULL itself; reopening proves
	// the file stays in WAL (a persistent property of the file).
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q %v", mode, err)
	}
}

func TestLogBelongsToOneRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s := open(t, path)
	s.Close()
	_, err := sqlite.Open(path, "other-room", clocktest.New(t0))
	if err == nil || !strings.Contains(err.Error(), `belongs to room "jiyao-301"`) {
		t.Fatalf("open by another room: %v", err)
	}
}

func TestOutboxCursor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	for i := 0; i < 5; i++ {
		s.Append(ev("door.opened", "door-main", t0))
	}
	if seq, _ := s.PublishedSeq(); seq != 0 {
		t.Fatalf("cursor %d at start", seq)
	}
	if err := s.MarkPublished(3); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPublished(2); err != nil { // never moves back
		t.Fatal(err)
	}
	seq, _ := s.PublishedSeq()
	if seq != 3 {
		t.Fatalf("cursor %d, want 3", seq)
	}
	recs, _ := s.Pending(seq, 100)
	if len(recs) != 2 || recs[0].Seq != 4 || recs[1].Seq != 5 {
		t.Fatalf("pending %v", recs)
	}
}

// The cursor a publisher confirms rides on the log's next commit: a live
// event costs one transaction, not two (issue 29). Until written it is
// answered from memory; with no commit within MarkLag it is written on its
// own; and at the close.
func TestOutboxCursorRidesOnTheNextCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	clock := clocktest.New(t0)
	s, err := sqlite.Open(path, "jiyao-301", clock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 6; i++ {
		if _, err := s.Append(ev("door.opened", "door-main", t0)); err != nil {
			t.Fatal(err)
		}
	}
	written := func() uint64 {
		t.Helper()
		r, err := sqlite.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		seq, err := r.PublishedSeq()
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	s.MarkPublishedSoon(3)
	if seq, _ := s.PublishedSeq(); seq != 3 || written() != 0 {
		t.Fatalf("cursor %d, written %d: want 3 answered, none written yet", seq, written())
	}
	if _, err := s.Append(ev("door.closed", "door-main", t0)); err != nil {
		t.Fatal(err)
	}
	if w := written(); w != 3 {
		t.Fatalf("written %d after the next commit, want 3", w)
	}
	s.MarkPublishedSoon(5)
	s.MarkPublishedSoon(4) // never back
	clock.Advance(sqlite.MarkLag)
	for deadline := time.Now().Add(10 * time.Second); written() != 5 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	if w := written(); w != 5 {
		t.Fatalf("written %d a MarkLag later with no commit, want 5", w)
	}
	s.MarkPublishedSoon(7)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if w := written(); w != 7 {
		t.Fatalf("written %d after the close, want 7", w)
	}
}

func TestQueryFilters(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	s.Append(
		ev("door.opened", "door-main", t0),
		ev("window.opened", "window-1", t0.Add(time.Minute)),
		ev("door.closed", "door-main", t0.Add(2*time.Minute)),
		ev("motion.detected", "ir-1", t0.Add(3*time.Minute)),
	)
	cases := []struct {
		name string
		f    gateway.EventFilter
		want []uint64
	}{
		{"all", gateway.EventFilter{}, []uint64{1, 2, 3, 4}},
		{"type prefix", gateway.EventFilter{Types: []string{"door."}}, []uint64{1, 3}},
		{"exact type", gateway.EventFilter{Types: []string{"window.opened", "motion.detected"}}, []uint64{2, 4}},
		{"device", gateway.EventFilter{Devices: []string{"door-main"}}, []uint64{1, 3}},
		{"time range", gateway.EventFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []uint64{2, 3}},
		{"after seq and limit", gateway.EventFilter{AfterSeq: 1, Limit: 2}, []uint64{2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Query(c.f)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if len(seqs) != len(c.want) {
				t.Fatalf("got %v, want %v", seqs, c.want)
			}
			for i := range seqs {
				if seqs[i] != c.want[i] {
					t.Fatalf("got %v, want %v", seqs, c.want)
				}
			}
		})
	}
}

func TestDeviceStatesCommittedWithEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s := open(t, path)
	st := gateway.DeviceState{Device: "door-main", Kind: "door", State: "open", Active: true, Since: t0}
	got, err := s.SaveChange(&gateway.Change{Events: []gateway.Event{ev("door.opened", "door-main", t0)}, States: []gateway.StateAt{{State: st, Event: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	states, err := s.DeviceStates()
	if err != nil {
		t.Fatal(err)
	}
	d := states["door-main"]
	if d.State != "open" || !d.Active || d.Seq != got[0].Seq || !d.Since.Equal(t0) {
		t.Fatalf("state after reopen %+v", d)
	}
}

// The publisher reads what was just committed from the store's memory: the
// same records, in the same order, as the log holds (Reader.Pending).
func TestPendingFromMemoryIsTheLog(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Go(func() {
			for i := 0; i < 300; i++ {
				if _, err := s.Append(ev("window.opened", fmt.Sprintf("w-%d", p), time.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, after := range []uint64{0, 1, 1000, 2399, 2400, 5000} {
		for _, limit := range []int{1, 7, 1024} {
			mem, err := s.Pending(after, limit)
			if err != nil {
				t.Fatal(err)
			}
			disk, err := s.Reader.Pending(after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(mem) != fmt.Sprint(disk) {
				t.Fatalf("Pending(%d, %d): memory %d records, the log %d", after, limit, len(mem), len(disk))
			}
		}
	}
}
