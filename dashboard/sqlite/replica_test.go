package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "dashboard.db"), clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stream makes n events of room, as the gateway would publish them: door
// openings, badge decisions, alarms.
func stream(room string, n int) []sqlite.Message {
	var out []sqlite.Message
	for i := 1; i <= n; i++ {
		e := gateway.Event{Seq: uint64(i), ID: fmt.Sprintf("%s-%d", room, i), TS: t0.Add(time.Duration(i) * time.Second),
			ClockTrusted: true, Room: room, Severity: gateway.SeverityInfo}
		switch i % 3 {
		case 0:
			e.Type, e.Device = "door.opened", "door-main"
		case 1:
			e.Type, e.Device, e.Person = "access.granted", "reader-in", "p-zhang"
			e.Data = json.RawMessage(`{"reader":"reader-in","door":"door-main","direction":"in","card":"******0001","person_id":"p-zhang","person_name":"张伟","result":"granted"}`)
		default:
			e.Type, e.Device, e.Severity = "access.denied", "reader-in", gateway.SeverityWarning
			e.Data = json.RawMessage(`{"reader":"reader-in","door":"door-main","direction":"in","card":"******9999","result":"denied","reason":"unknown-card"}`)
		}
		p, _ := json.Marshal(e)
		out = append(out, sqlite.Message{Room: room, Payload: p})
	}
	return out
}

func dump(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	var b strings.Builder
	if err := s.Stream(func(room string, seq uint64, id string, p []byte) error {
		fmt.Fprintf(&b, "%s %d %s %s\n", room, seq, id, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Entries(dashboard.EntryFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fmt.Fprintf(&b, "entry %s %d %s %s %s\n", e.Room, e.Seq, e.Result, e.Person, e.Card)
	}
	for _, r := range s.Rooms() {
		fmt.Fprintf(&b, "room %s through %d high %d events %d\n", r.Room, r.Through, r.High, r.Events)
	}
	return b.String()
}

func ingest(t *testing.T, s *sqlite.Store, msgs []sqlite.Message, batch int) sqlite.IngestResult {
	t.Helper()
	var all sqlite.IngestResult
	for len(msgs) > 0 {
		n := min(batch, len(msgs))
		res, err := s.Ingest(msgs[:n])
		if err != nil {
			t.Fatal(err)
		}
		msgs = msgs[n:]
		all.Stored = append(all.Stored, res.Stored...)
		all.Duplicates += res.Duplicates
		all.Conflicts += res.Conflicts
		all.Rejected = append(all.Rejected, res.Rejected...)
	}
	return all
}

// TestMessyStreamEndsLikeACleanOne: duplicated, reordered and missing events
// (the missing ones asked for again, as the gap filler does) end in the same
// replica as a clean stream.
func TestMessyStreamEndsLikeACleanOne(t *testing.T) {
	clean := append(stream("jiyao-301", 300), stream("jiyao-302", 200)...)
	want := open(t)
	ingest(t, want, clean, 64)
	if g := want.Gaps(); len(g) != 0 {
		t.Fatalf("a clean stream left gaps %v", g)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	byKey := map[string]sqlite.Message{}
	var messy []sqlite.Message
	for _, m := range clean {
		var e gateway.Event
		json.Unmarshal(m.Payload, &e)
		byKey[fmt.Sprintf("%s/%d", e.Room, e.Seq)] = m
		switch r := rng.IntN(10); {
		case r == 0: // lost on the way
		case r == 1: // duplicated
			messy = append(messy, m, m)
		default:
			messy = append(messy, m)
		}
	}
	// reorder within windows of 20, as QoS 1 redelivery and parallel paths do
	for i := 0; i < len(messy); i += 20 {
		w := messy[i:min(i+20, len(messy))]
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	got := open(t)
	res := ingest(t, got, messy, 7)
	if res.Duplicates == 0 {
		t.Fatal("the messy stream had no duplicates to skip")
	}
	// fill the gaps as the gap filler does: ask for the first missing range
	// of each room until there is none (a re-sent range also repeats
	// events already held)
	for round := 0; ; round++ {
		gaps := got.Gaps()
		if len(gaps) == 0 {
			break
		}
		if round > 500 {
			t.Fatalf("gaps never closed: %v", gaps)
		}
		for _, g := range gaps {
			var resent []sqlite.Message
			for q := g.From; q <= g.To+1; q++ {
				if m, ok := byKey[fmt.Sprintf("%s/%d", g.Room, q)]; ok {
					resent = append(resent, m)
				}
			}
			ingest(t, got, resent, 50)
		}
	}
	// the tail: events lost after the last one received are found by
	// asking from Through+1 (the catch-up), here simply resent whole
	ingest(t, got, clean, 100)
	if a, b := dump(t, want), dump(t, got); a != b {
		t.Fatalf("the messy replica differs from the clean one:\n%s", firstDiff(a, b))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\nclean: %s\nmessy: %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("clean has %d lines, messy %d", len(al), len(bl))
}

func TestGapsAndLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dashboard.db")
	s, err := sqlite.Open(path, clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	all := stream("r1", 10)
	res := ingest(t, s, []sqlite.Message{all[0], all[1], all[4], all[7]}, 10)
	if len(res.Stored) != 4 {
		t.Fatalf("stored %d, want 4", len(res.Stored))
	}
	if g := s.Gaps(); len(g) != 1 || g[0] != (dashboard.Gap{Room: "r1", From: 3, To: 4}) {
		t.Fatalf("gaps %v, want r1 3..4", g)
	}
	// the gateway pruned 3..4: the replica records them lost and moves on
	if err := s.MarkLost("r1", 3, 4, dashboard.LostPruned); err != nil {
		t.Fatal(err)
	}
	if g := s.Gaps(); len(g) != 1 || g[0] != (dashboard.Gap{Room: "r1", From: 6, To: 7}) {
		t.Fatalf("gaps %v, want r1 6..7", g)
	}
	if err := s.MarkLost("r1", 9, 9, dashboard.LostPruned); err == nil {
		t.Fatal("marking a range that is not the next gap was accepted")
	}
	r, _ := s.Room("r1")
	if r.Through != 5 || r.High != 8 || r.Lost != 2 || r.Events != 4 {
		t.Fatalf("room %+v", r)
	}
	// the state survives a reopen
	s.Close()
	if s, err = sqlite.Open(path, clocktest.New(t0)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if g := s.Gaps(); len(g) != 1 || g[0] != (dashboard.Gap{Room: "r1", From: 6, To: 7}) {
		t.Fatalf("after a reopen: gaps %v", g)
	}
	if r2, _ := s.Room("r1"); r2.Through != r.Through || r2.High != r.High || r2.Lost != r.Lost || !r2.LastEvent.Equal(r.LastEvent) {
		t.Fatalf("after a reopen: %+v, want %+v", r2, r)
	}
}

func TestRejectsAndConflicts(t *testing.T) {
	s := open(t)
	good := stream("r1", 2)
	other := gateway.Event{Seq: 1, ID: "another-id", TS: t0, Room: "r1", Type: "door.opened", Severity: "info"}
	p, _ := json.Marshal(other)
	res := ingest(t, s, []sqlite.Message{
		good[0],
		{Room: "r2", Payload: good[1].Payload},     // topic and payload disagree
		{Room: "r1", Payload: []byte(`{"seq":`)},   // broken JSON
		{Room: "r1", Payload: []byte(`{"seq":3}`)}, // no id
		{Room: "r1", Payload: p},                   // seq 1 with another id
		{Room: "r1", Payload: []byte(`not json at all`)},
	}, 10)
	if len(res.Stored) != 1 || res.Conflicts != 1 || len(res.Rejected) != 4 {
		t.Fatalf("stored %d conflicts %d rejected %v", len(res.Stored), res.Conflicts, res.Rejected)
	}
	for _, r := range res.Rejected {
		if r.Reason == "" {
			t.Fatalf("a rejection without a reason: %+v", r)
		}
	}
	if !strings.Contains(res.Rejected[0].Reason, `"r1" in the payload, "r2" in the topic`) {
		t.Fatalf("reason %q", res.Rejected[0].Reason)
	}
}

func TestEntryFilters(t *testing.T) {
	s := open(t)
	ingest(t, s, stream("r1", 30), 30)
	ingest(t, s, stream("r2", 30), 30)
	count := func(f dashboard.EntryFilter) int {
		t.Helper()
		es, err := s.Entries(f)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if n := count(dashboard.EntryFilter{}); n != 40 {
		t.Fatalf("all entries %d, want 40", n)
	}
	if n := count(dashboard.EntryFilter{Room: "r1", Result: "denied"}); n != 10 {
		t.Fatalf("r1 denied %d, want 10", n)
	}
	if n := count(dashboard.EntryFilter{Person: "张伟"}); n != 20 {
		t.Fatalf("by name %d, want 20", n)
	}
	if n := count(dashboard.EntryFilter{Person: "p-zhang", Room: "r2", Limit: 5}); n != 5 {
		t.Fatalf("by id, a page of 5: %d", n)
	}
	if n := count(dashboard.EntryFilter{Card: "ABCD9999"}); n != 20 {
		t.Fatalf("by card %d, want 20", n)
	}
	if n := count(dashboard.EntryFilter{Since: t0.Add(10 * time.Second), Until: t0.Add(20 * time.Second)}); n != 14 {
		t.Fatalf("in time %d, want 14", n)
	}
	if _, err := s.Entries(dashboard.EntryFilter{Result: "maybe"}); gateway.ErrorCode(err) != gateway.EINVALID {
		t.Fatalf("a bad result gave %v", err)
	}
	// paging: pages of 7 walk every record once, newest first
	var seen []string
	f := dashboard.EntryFilter{Limit: 7}
	for {
		page, err := s.Entries(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, fmt.Sprintf("%s/%d", e.Room, e.Seq))
		}
		last := page[len(page)-1]
		f.Before = dashboard.Cursor{TS: last.TS.UnixMilli(), Room: last.Room, Seq: last.Seq}
	}
	if len(seen) != 40 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 40 {
		t.Fatalf("paging saw %d records (%v)", len(seen), seen)
	}
}

// Issue 18, item 6: the replica has a retention. Pruning deletes what is
// older, in chunks, keeps the seqs counted as held (a re-sent old event is
// a duplicate, not news), and is the only deletion the replica allows.
func TestPruneTheReplica(t *testing.T) {
	const n = 12_345
	path := filepath.Join(t.TempDir(), "dashboard.db")
	s, err := sqlite.Open(path, clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	msgs := stream("r1", n)
	ingest(t, s, msgs, 1000)
	pruned, err := s.Prune(t0.Add((n - 10 + 1) * time.Second))
	if err != nil || pruned != n-10 {
		t.Fatalf("pruned %d: %v", pruned, err)
	}
	if r, _ := s.Room("r1"); r.Events != 10 || r.Through != n {
		t.Fatalf("after the prune: %+v", r)
	}
	if res, err := s.Ingest(msgs[:1]); err != nil || len(res.Stored) != 0 || res.Duplicates != 1 {
		t.Fatalf("an old event re-sent: %+v %v", res, err)
	}
	if entries, err := s.Entries(dashboard.EntryFilter{Room: "r1", Limit: 100}); err != nil || len(entries) > 7 {
		t.Fatalf("entries after the prune: %d %v", len(entries), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM events WHERE seq = ?`, n); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("a deletion outside the prune: %v", err)
	}
	db.Close()
	s, err = sqlite.Open(path, clocktest.New(t0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, _ := s.Room("r1"); r.Events != 10 {
		t.Fatalf("after a restart: %+v", r)
	}
}

// Issue 33: the states that came with a batch of events are written in its
// transaction; changed lists those that changed what was held (the same
// payload again, or a clearing of nothing, changes nothing).
func TestIngestWithStates(t *testing.T) {
	s := open(t)
	door := dashboard.Retained{Room: "r1", Kind: "devices", Key: "door-main", Payload: []byte(`{"state":"open"}`), Updated: t0}
	mode := dashboard.Retained{Room: "r1", Kind: "mode", Payload: []byte(`{"mode":"open"}`), Updated: t0}
	res, changed, err := s.IngestWith(stream("r1", 3), []dashboard.Retained{door, mode})
	if err != nil || len(res.Stored) != 3 || len(changed) != 2 {
		t.Fatalf("stored %d, changed %v, %v", len(res.Stored), changed, err)
	}
	closed := door
	closed.Payload = []byte(`{"state":"closed"}`)
	gone := dashboard.Retained{Room: "r1", Kind: "alarms", Key: "never-held"}
	_, changed, err = s.IngestWith(nil, []dashboard.Retained{door, mode, closed, gone})
	if err != nil || len(changed) != 1 || string(changed[0].Payload) != `{"state":"closed"}` {
		t.Fatalf("changed %v, %v", changed, err)
	}
	if p, _ := s.RetainedPayload("r1", "devices", "door-main"); string(p) != `{"state":"closed"}` {
		t.Fatalf("held %s", p)
	}
}
