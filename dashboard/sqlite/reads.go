package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// EventFilter selects replica records.
type EventFilter struct {
	Room  string
	Types []string // exact types, or prefixes ending in "."
	// Carrier: only the events about this carrier: its device, or one of
	// the carriers a step names (data.carriers).
	Carrier      string
	Since, Until time.Time
	AfterN       int64 // only records that arrived after this one (the live stream's resume point)
	BeforeN      int64 // only records that arrived before this one (paging back); 0: no bound
	Newest       bool  // newest first
	Limit        int
}

// Events returns the matching records.
func (s *Store) Events(f EventFilter) ([]dashboard.Record, error) {
	q, args := []string{"1"}, []any{}
	if f.Room != "" {
		q, args = append(q, "room = ?"), append(args, f.Room)
	}
	if len(f.Types) > 0 {
		var or []string
		for _, t := range f.Types {
			if strings.HasSuffix(t, ".") {
				or, args = append(or, "type >= ? AND type < ?"), append(args, t, t[:len(t)-1]+"/")
			} else {
				or, args = append(or, "type = ?"), append(args, t)
			}
		}
		q = append(q, "("+strings.Join(or, " OR ")+")")
	}
	if f.Carrier != "" {
		q = append(q, "(device = ? OR EXISTS (SELECT 1 FROM json_each(payload, '$.data.carriers') WHERE value = ?) OR "+
			"(type = 'carrier.received' AND EXISTS (SELECT 1 FROM json_each(payload, '$.data.copies') WHERE value = ?)))")
		args = append(args, f.Carrier, f.Carrier, f.Carrier)
	}
	if !f.Since.IsZero() {
		q, args = append(q, "ts_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q, args = append(q, "ts_ms < ?"), append(args, f.Until.UnixMilli())
	}
	if f.AfterN > 0 {
		q, args = append(q, "n > ?"), append(args, f.AfterN)
	}
	if f.BeforeN > 0 {
		q, args = append(q, "n < ?"), append(args, f.BeforeN)
	}
	order := "n"
	if f.Newest {
		order = "n DESC"
	}
	query := "SELECT n, payload FROM events WHERE " + strings.Join(q, " AND ") + " ORDER BY " + order
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	var out []dashboard.Record
	for rows.Next() {
		var r dashboard.Record
		var payload []byte
		if err := rows.Scan(&r.N, &payload); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(payload, &r.Event); err != nil {
			return nil, fmt.Errorf("sqlite: event %d: %w", r.N, err)
		}
		r.Payload = payload
		out = append(out, r)
	}
	return out, rows.Err()
}

// Stream is every room's events in (room, seq) order, for comparing replicas.
func (s *Store) Stream(fn func(room string, seq uint64, id string, payload []byte) error) error {
	rows, err := s.r.Query(`SELECT room, seq, id, payload FROM events ORDER BY room, seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var room, id string
		var seq uint64
		var p []byte
		if err := rows.Scan(&room, &seq, &id, &p); err != nil {
			return err
		}
		if err := fn(room, seq, id, p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LastN is the arrival number of the newest record.
func (s *Store) LastN() (int64, error) {
	var n sql.NullInt64
	err := s.r.QueryRow(`SELECT max(n) FROM events`).Scan(&n)
	return n.Int64, err
}

// SetRetained keeps the last retained message of a room's state topic; an
// empty payload (the topic was cleared) forgets it. It tells whether
// anything changed.
func (s *Store) SetRetained(r dashboard.Retained) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, err := setRetained(s.w, r)
	if changed {
		s.retainedV.Add(1)
	}
	return changed, err
}

// execQuerier is a connection or a transaction.
type execQuerier interface {
	Exec(query string, args ...any) (sql.Result, error)
	QueryRow(query string, args ...any) *sql.Row
}

// setRetained writes r on q unless it holds the same already.
func setRetained(q execQuerier, r dashboard.Retained) (bool, error) {
	var old []byte
	err := q.QueryRow(`SELECT payload FROM retained WHERE room = ? AND kind = ? AND key = ?`, r.Room, r.Kind, r.Key).Scan(&old)
	if err != nil && err != sql.ErrNoRows {
		return false, fmt.Errorf("sqlite: retained: %w", err)
	}
	if string(old) == string(r.Payload) {
		return false, nil
	}
	if len(r.Payload) == 0 {
		_, err = q.Exec(`DELETE FROM retained WHERE room = ? AND kind = ? AND key = ?`, r.Room, r.Kind, r.Key)
	} else {
		_, err = q.Exec(`INSERT INTO retained (room, kind, key, payload, updated_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (room, kind, key) DO UPDATE SET payload = excluded.payload, updated_ms = excluded.updated_ms`,
			r.Room, r.Kind, r.Key, []byte(r.Payload), r.Updated.UnixMilli())
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: retained %s/%s/%s: %w", r.Room, r.Kind, r.Key, err)
	}
	return true, nil
}

// Retained lists the retained messages of a kind, in one room or (room
// empty) every room, by room and key.
func (s *Store) Retained(room, kind string) ([]dashboard.Retained, error) {
	q, args := `SELECT room, kind, key, payload, updated_ms FROM retained WHERE kind = ?`, []any{kind}
	if room != "" {
		q, args = q+` AND room = ?`, append(args, room)
	}
	rows, err := s.r.Query(q+` ORDER BY room, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: retained: %w", err)
	}
	defer rows.Close()
	var out []dashboard.Retained
	for rows.Next() {
		var r dashboard.Retained
		var p []byte
		var ms int64
		if err := rows.Scan(&r.Room, &r.Kind, &r.Key, &p, &ms); err != nil {
			return nil, err
		}
		r.Payload, r.Updated = p, time.UnixMilli(ms)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Entries returns one page of the entry log, newest first.
func (s *Store) Entries(f dashboard.EntryFilter) ([]dashboard.Entry, error) {
	q, args := []string{}, []any{}
	if f.Room != "" {
		q, args = append(q, "room = ?"), append(args, f.Room)
	}
	if f.Card != "" {
		q, args = append(q, "card_tail = ?"), append(args, cardTail(f.Card))
	}
	if f.Result != "" {
		if !slices.Contains(dashboard.EntryResults, f.Result) {
			return nil, gateway.Errorf(gateway.EINVALID, "result %q is not one of %s", f.Result, strings.Join(dashboard.EntryResults, ", "))
		}
		q, args = append(q, "result = ?"), append(args, f.Result)
	}
	if !f.Since.IsZero() {
		q, args = append(q, "ts_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q, args = append(q, "ts_ms < ?"), append(args, f.Until.UnixMilli())
	}
	if !f.Before.IsZero() {
		q = append(q, "(ts_ms < ? OR (ts_ms = ? AND (room < ? OR (room = ? AND seq < ?))))")
		args = append(args, f.Before.TS, f.Before.TS, f.Before.Room, f.Before.Room, f.Before.Seq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	const cols = `room, seq, ts_ms, result, person, person_name, visitor, card, reader, door, direction, reason`
	order := fmt.Sprintf(` ORDER BY ts_ms DESC, room DESC, seq DESC LIMIT %d`, limit)
	page := func(extra string) string {
		where := append(slices.Clone(q), extra)
		return `SELECT ` + cols + ` FROM entries WHERE ` + strings.Join(where, " AND ") + order
	}
	var query string
	if f.Person != "" {
		// by id or by name: each half walks its own index newest first and
		// stops at a page, so a person with years of records costs a page
		// (an OR would read all of them, then sort)
		query = `SELECT * FROM (` + page("person = ?") + `) UNION SELECT * FROM (` + page("person_name = ?") + `)` + order
		half := append(slices.Clone(args), f.Person)
		args = append(half, half...)
	} else {
		query = page("1")
	}
	rows, err := s.r.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: entries: %w", err)
	}
	defer rows.Close()
	var out []dashboard.Entry
	for rows.Next() {
		var e dashboard.Entry
		var ms int64
		if err := rows.Scan(&e.Room, &e.Seq, &ms, &e.Result, &e.Person, &e.PersonName, &e.Visitor, &e.Card,
			&e.Reader, &e.Door, &e.Direction, &e.Reason); err != nil {
			return nil, err
		}
		e.TS = time.UnixMilli(ms)
		out = append(out, e)
	}
	return out, rows.Err()
}

// EntryCounts counts the entry log of [since, until) in one room (or every
// room) by result, and the denials by reason.
func (s *Store) EntryCounts(room string, since, until time.Time) (dashboard.EntryCounts, error) {
	c := dashboard.EntryCounts{ByResult: map[string]int{}, DeniedBy: map[string]int{}}
	q := `SELECT result, CASE result WHEN 'denied' THEN reason ELSE '' END AS why, count(*) FROM entries WHERE ts_ms >= ? AND ts_ms < ?`
	args := []any{since.UnixMilli(), until.UnixMilli()}
	if room != "" {
		q, args = q+` AND room = ?`, append(args, room)
	}
	rows, err := s.r.Query(q+` GROUP BY result, why`, args...)
	if err != nil {
		return c, fmt.Errorf("sqlite: entry counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var result, why string
		var n int
		if err := rows.Scan(&result, &why, &n); err != nil {
			return c, err
		}
		c.ByResult[result] += n
		if result == "denied" {
			c.DeniedBy[why] += n
		}
	}
	return c, rows.Err()
}

// AlarmClosed is the seq of the alarm.closed of alarm in room's chain as
// the replica holds it (ok false: not closed, or not yet heard). A state of
// that alarm signed before it is a replay (issue 27: the room's own first
// "active", sent again, put a closed alarm back where nobody could clear it).
func (s *Store) AlarmClosed(room, alarm string) (seq uint64, ok bool, err error) {
	err = s.r.QueryRow(`SELECT seq FROM events WHERE room = ? AND type = 'alarm.closed'
		AND json_extract(CAST(payload AS TEXT), '$.data.alarm') = ? ORDER BY seq DESC LIMIT 1`, room, alarm).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: alarm %s/%s closed: %w", room, alarm, err)
	}
	return seq, true, nil
}

// PersonName is the name the rooms last gave with person id at a door ("":
// none): a console without a register of its own names people by it.
func (s *Store) PersonName(id string) (string, error) {
	var name string
	err := s.r.QueryRow(`SELECT person_name FROM entries WHERE person = ? AND visitor = 0 AND person_name != '' ORDER BY ts_ms DESC LIMIT 1`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: person %s: %w", id, err)
	}
	return name, nil
}

// PeopleSeen are the people the rooms named at their doors, id → the name
// last given (at most limit, the most recent first): whom a console without
// a register of its own offers in its forms.
func (s *Store) PeopleSeen(limit int) (map[string]string, error) {
	// SQLite takes the bare column person_name from the row of MAX(ts_ms).
	rows, err := s.r.Query(`SELECT person, person_name, MAX(ts_ms) AS t FROM entries WHERE visitor = 0 AND person != '' AND person_name != ''
		GROUP BY person ORDER BY t DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: people seen: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		var t int64
		if err := rows.Scan(&id, &name, &t); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}
