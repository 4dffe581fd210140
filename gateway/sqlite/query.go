package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/roomguard/roomguard/gateway"
)

// Query reads events matching f, in seq order.
func (s *Reader) Query(f gateway.EventFilter) ([]gateway.Event, error) {
	var events []gateway.Event
	err := s.Scan(f, func(e gateway.Event) error {
		events = append(events, e)
		return nil
	})
	return events, err
}

// Scan calls fn for every event matching f, in seq order, without holding
// them all in memory.
func (s *Reader) Scan(f gateway.EventFilter, fn func(gateway.Event) error) error {
	var where []string
	var args []any
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	if !f.Since.IsZero() {
		where = append(where, "ts_ms >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where = append(where, "ts_ms < ?")
		args = append(args, f.Until.UnixMilli())
	}
	if len(f.Types) > 0 {
		var or []string
		for _, t := range f.Types {
			if strings.HasSuffix(t, ".") {
				or = append(or, "type >= ? AND type < ?")
				args = append(args, t, t[:len(t)-1]+"/") // '/' sorts right after '.'
			} else {
				or = append(or, "type = ?")
				args = append(args, t)
			}
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if len(f.Devices) > 0 {
		where = append(where, "device IN (?"+strings.Repeat(", ?", len(f.Devices)-1)+")")
		for _, d := range f.Devices {
			args = append(args, d)
		}
	}
	q := "SELECT payload FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.Query(q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			return fmt.Errorf("sqlite: query events: %w", err)
		}
		var e gateway.Event
		if err := json.Unmarshal(payload, &e); err != nil {
			return fmt.Errorf("sqlite: event payload is damaged: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}
