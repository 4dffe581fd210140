package sqlite

import (
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// PublishedSeq is the highest seq the broker has confirmed; everything above
// it is still to be sent.
func (s *Reader) PublishedSeq() (uint64, error) {
	var seq uint64
	if err := s.r.QueryRow(`SELECT published_seq FROM outbox WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: read outbox cursor: %w", err)
	}
	return seq, nil
}

// MarkLag bounds how long a cursor given to MarkPublishedSoon waits for a
// commit to carry it before it is written on its own.
const MarkLag = time.Second

// markEvery is how often at most a commit carries the cursor: under a
// stream of commits one small UPDATE every 50 ms, not one each.
const markEvery = 50 * time.Millisecond

// MarkPublishedSoon moves the outbox cursor forward to seq with the next
// commit, or within MarkLag when none comes: a live event costs one
// transaction, not two (issue 29). Until it is written a crash resends a
// little more, which consumers dedupe; PublishedSeq answers it at once.
func (s *Store) MarkPublishedSoon(seq uint64) {
	for {
		cur := s.markWant.Load()
		if seq <= cur || s.markWant.CompareAndSwap(cur, seq) {
			break
		}
	}
	s.markMu.Lock()
	defer s.markMu.Unlock()
	if s.markTimer {
		return
	}
	s.markTimer = true
	s.clock.AfterFunc(MarkLag, func() {
		s.markMu.Lock()
		s.markTimer = false
		s.markMu.Unlock()
		if s.markWant.Load() <= s.markSaved.Load() {
			return // a commit carried it
		}
		// An empty write: the commit carries the cursor when no other did.
		s.markForce.Store(true)
		if err := s.write(func(*sql.Tx) error { return nil }); err != nil && gateway.ErrorCode(err) != gateway.ECONFLICT {
			slog.Error("sqlite: the outbox cursor not written", "err", err)
		}
	})
}

// PublishedSeq is the highest seq the broker has confirmed, written or
// about to be (MarkPublishedSoon).
func (s *Store) PublishedSeq() (uint64, error) {
	seq, err := s.Reader.PublishedSeq()
	return max(seq, s.markWant.Load()), err
}

// MarkPublished moves the outbox cursor forward to seq. It never moves back.
func (s *Store) MarkPublished(seq uint64) error {
	return s.write(func(tx *sql.Tx) error {
		_, err := s.exec(tx, markSQL, seq, seq)
		if err != nil {
			return fmt.Errorf("sqlite: move outbox cursor: %w", err)
		}
		return nil
	})
}

// Pending returns up to limit records with a seq above after, in seq order.
func (s *Reader) Pending(after uint64, limit int) ([]gateway.LogRecord, error) {
	rows, err := s.r.Query(`SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read outbox: %w", err)
	}
	defer rows.Close()
	var recs []gateway.LogRecord
	for rows.Next() {
		var r gateway.LogRecord
		if err := rows.Scan(&r.Seq, &r.Payload); err != nil {
			return nil, fmt.Errorf("sqlite: read outbox: %w", err)
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// VerifyChain walks the events from..to (to 0: the last) of room's log in
// seq order and tells where the chain first breaks (nil: it holds), with
// what was verified.
func (s *Reader) VerifyChain(room string, from, to uint64) (*gateway.ChainVerifier, *gateway.ChainBreak, error) {
	v := &gateway.ChainVerifier{Room: room}
	brk, err := s.VerifyChainWith(v, from, to)
	return v, brk, err
}

// VerifyChainWith is VerifyChain through v (with its key, its head to pass).
// The rows are read in one goroutine while the chain is checked in this one
// (a million events in about half the time on a Pi's cores).
func (s *Reader) VerifyChainWith(v *gateway.ChainVerifier, from, to uint64) (*gateway.ChainBreak, error) {
	if to == 0 {
		to = math.MaxInt64
	}
	rows, err := s.r.Query(`SELECT seq, id, type, payload FROM events WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read the chain: %w", err)
	}
	const chunk = 512
	links := make(chan []gateway.ChainLink, 4)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(links)
		defer rows.Close()
		batch := make([]gateway.ChainLink, 0, chunk)
		for rows.Next() {
			var l gateway.ChainLink
			if readErr = rows.Scan(&l.Seq, &l.ID, &l.Type, &l.Payload); readErr != nil {
				return
			}
			if batch = append(batch, l); len(batch) == chunk {
				select {
				case links <- batch:
				case <-stop:
					return
				}
				batch = make([]gateway.ChainLink, 0, chunk)
			}
		}
		if readErr = rows.Err(); readErr == nil && len(batch) > 0 {
			select {
			case links <- batch:
			case <-stop:
			}
		}
	}()
	defer func() {
		close(stop)
		for range links { // let the reader finish and close its rows
		}
	}()
	for batch := range links {
		for _, l := range batch {
			if brk := v.Next(l); brk != nil {
				return brk, nil
			}
		}
	}
	if readErr != nil {
		return nil, fmt.Errorf("sqlite: read the chain: %w", readErr)
	}
	return nil, nil
}
