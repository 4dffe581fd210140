package sqlite

import (
	"database/sql"
	"fmt"
)

// Record is one logged event as it is published: its seq and exact payload.
type Record struct {
	Seq     uint64
	Payload []byte
}

// PublishedSeq is the highest seq the broker has confirmed; everything above
// it is still to be sent.
func (s *Reader) PublishedSeq() (uint64, error) {
	var seq uint64
	if err := s.r.QueryRow(`SELECT published_seq FROM outbox WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: read outbox cursor: %w", err)
	}
	return seq, nil
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
func (s *Reader) Pending(after uint64, limit int) ([]Record, error) {
	rows, err := s.r.Query(`SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read outbox: %w", err)
	}
	defer rows.Close()
	var recs []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.Seq, &r.Payload); err != nil {
			return nil, fmt.Errorf("sqlite: read outbox: %w", err)
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}
