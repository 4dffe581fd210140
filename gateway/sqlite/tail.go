package sqlite

import (
	"sync"

	"github.com/roomguard/roomguard/gateway"
)

// tailMax is how many of the last events committed the store keeps in
// memory for the publisher.
const tailMax = 4096

// tail is the records of the last events committed, in seq order and
// without a gap: the publisher follows the log closely and takes them from
// here instead of reading back what was just written (Store.Pending); one
// further behind, or after a restart, reads the log. Only the writer adds
// to it, after its transaction committed.
type tail struct {
	mu   sync.Mutex
	recs []gateway.LogRecord
}

// add appends the records of one commit; a gap (a restore's seqs) starts
// the tail over.
func (t *tail) add(recs []gateway.LogRecord) {
	if len(recs) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.recs); n > 0 && t.recs[n-1].Seq+1 != recs[0].Seq {
		t.recs = nil
	}
	t.recs = append(t.recs, recs...)
	if len(t.recs) > 2*tailMax { // drop the oldest, in one copy now and then
		t.recs = append(make([]gateway.LogRecord, 0, 2*tailMax), t.recs[len(t.recs)-tailMax:]...)
	}
}

// from returns up to limit records after seq after, and whether the tail
// could answer: it holds every event committed since its first, so one
// after its last means nothing is pending.
func (t *tail) from(after uint64, limit int) ([]gateway.LogRecord, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.recs)
	if n == 0 || after+1 < t.recs[0].Seq {
		return nil, false
	}
	last := t.recs[n-1].Seq
	if after >= last {
		return nil, true
	}
	i := int(after + 1 - t.recs[0].Seq)
	j := min(n, i+limit)
	return append([]gateway.LogRecord(nil), t.recs[i:j]...), true
}

// Pending returns up to limit records with a seq above after, in seq order:
// from the events just committed when it can, else from the log.
func (s *Store) Pending(after uint64, limit int) ([]gateway.LogRecord, error) {
	if recs, ok := s.tail.from(after, limit); ok {
		return recs, nil
	}
	return s.Reader.Pending(after, limit)
}
