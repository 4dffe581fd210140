package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// fillOld appends n published events from two years before t0, then one
// recent event.
func fillOld(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	old := t0.AddDate(-2, 0, 0)
	chunk := make([]gateway.Event, 0, 4000)
	for i := 0; i < n; i++ {
		chunk = append(chunk, ev("door.opened", "door-main", old.Add(time.Duration(i)*time.Second)))
		if len(chunk) == cap(chunk) || i == n-1 {
			if _, err := s.Append(chunk...); err != nil {
				t.Fatal(err)
			}
			chunk = chunk[:0]
		}
	}
	last, err := s.Append(ev("door.closed", "door-main", t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPublished(last[0].Seq); err != nil {
		t.Fatal(err)
	}
}

// oldest is the seq of the oldest event left.
func oldest(t *testing.T, s *sqlite.Store) uint64 {
	t.Helper()
	evs, err := s.Query(gateway.EventFilter{Limit: 1})
	if err != nil || len(evs) == 0 {
		t.Fatal(err, len(evs))
	}
	return evs[0].Seq
}

func count(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	evs, err := s.Query(gateway.EventFilter{Types: []string{"door."}})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// Pruning keeps the published events of the retention, and unpublished
// ones whatever their age.
func TestPruneKeepsTheRetention(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	fillOld(t, s, 5000)
	unpublished, err := s.Append(ev("window.opened", "window-1", t0.AddDate(-2, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(t.Context(), 90*24*time.Hour, t0); gateway.ErrorCode(err) != gateway.EINVALID {
		t.Fatalf("a retention under 180 days: %v", err)
	}
	n, err := s.Prune(t.Context(), 365*24*time.Hour, t0)
	if err != nil || n != 5000 {
		t.Fatalf("pruned %d (%v), want 5000", n, err)
	}
	evs, err := s.Query(gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != "door.closed" || evs[1].Seq != unpublished[0].Seq {
		t.Fatalf("left %v", evs)
	}
}

// A prune runs in batches between the room's commits: an event appended
// while a large prune runs is committed long before the prune ends, not
// after it (issue 16: a million rows in one transaction held every commit,
// alarms included, for seconds).
func TestPruneLetsCommitsThrough(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "log.db"))
	const old = 40 * sqlite.PruneBatch
	fillOld(t, s, old)
	done := make(chan error, 1)
	go func() {
		_, err := s.Prune(t.Context(), 365*24*time.Hour, t0)
		done <- err
	}()
	for oldest(t, s) <= sqlite.PruneBatch { // until the first batch is gone
		select {
		case err := <-done:
			t.Fatalf("the prune ended before a commit could be tried: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if _, err := s.Append(ev("alarm.raised", "ir-1", t0)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the alarm was committed only after the whole prune (%v): %d events left", err, count(t, s))
	default:
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, s); n != 1 {
		t.Fatalf("%d door events left, want 1", n)
	}
}
