package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// HandOver records a handover, refused while another one awaits its
// incoming guard.
func (s *Store) HandOver(h dashboard.Handover) (int64, error) {
	alarms, err := json.Marshal(h.Alarms)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.Begin()
	if err != nil {
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	defer tx.Rollback()
	var pending int64
	switch err := tx.QueryRow(`SELECT n FROM handovers WHERE incoming = '' ORDER BY n DESC LIMIT 1`).Scan(&pending); {
	case err == nil:
		return 0, gateway.Errorf(gateway.ECONFLICT, "handover %d still awaits the incoming guard", pending)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	res, err := tx.Exec(`INSERT INTO handovers (outgoing, out_at_ms, notes, alarms) VALUES (?, ?, ?, ?)`,
		h.Outgoing, h.OutAt.UnixMilli(), h.Notes, string(alarms))
	if err != nil {
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	n, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	if err := appendJournal(tx, h.OutAt, dashboard.JournalHandover, dashboard.JournalHandoverBody{N: n, Outgoing: h.Outgoing,
		OutAt: h.OutAt, Notes: h.Notes, Alarms: h.Alarms}); err != nil {
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: handover: %w", err)
	}
	tell(s.journaled)
	return n, nil
}

// TakeOver records the incoming guard's confirmation of handover n
// (dashboard.Handover.Take decides whether they may).
func (s *Store) TakeOver(n int64, by string, at time.Time, notes string) (*dashboard.Handover, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.Begin()
	if err != nil {
		return nil, fmt.Errorf("sqlite: take over: %w", err)
	}
	defer tx.Rollback()
	h, err := handover(tx, n)
	if err != nil {
		return nil, err
	}
	if err := h.Take(by, at, notes); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE handovers SET incoming = ?, in_at_ms = ?, in_notes = ? WHERE n = ?`, h.Incoming, h.InAt.UnixMilli(), h.InNotes, n); err != nil {
		return nil, fmt.Errorf("sqlite: take over: %w", err)
	}
	// The peers know the handover by its number where it was handed over.
	where, whereN := h.Console, h.ConsoleN
	if where == "" {
		whereN = n
	}
	if err := appendJournal(tx, h.InAt, dashboard.JournalTakeover, dashboard.JournalTakeoverBody{Console: where, N: whereN,
		Incoming: h.Incoming, InAt: h.InAt, InNotes: h.InNotes}); err != nil {
		return nil, fmt.Errorf("sqlite: take over: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: take over: %w", err)
	}
	tell(s.journaled)
	return h, nil
}

// Handover returns handover n, or ENOTFOUND.
func (s *Store) Handover(n int64) (*dashboard.Handover, error) { return handover(s.w, n) }

// Handovers lists the latest handovers, newest first.
func (s *Store) Handovers(limit int) ([]dashboard.Handover, error) {
	rows, err := s.w.Query(`SELECT n FROM handovers ORDER BY n DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: handovers: %w", err)
	}
	var ns []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		ns = append(ns, n)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := make([]dashboard.Handover, 0, len(ns))
	for _, n := range ns {
		h, err := handover(s.w, n)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	return out, nil
}

type queryRower interface {
	QueryRow(query string, args ...any) *sql.Row
}

func handover(q queryRower, n int64) (*dashboard.Handover, error) {
	h := dashboard.Handover{N: n}
	var out, in int64
	var alarms string
	err := q.QueryRow(`SELECT outgoing, out_at_ms, notes, alarms, incoming, in_at_ms, in_notes, console, console_n, in_console FROM handovers WHERE n = ?`, n).
		Scan(&h.Outgoing, &out, &h.Notes, &alarms, &h.Incoming, &in, &h.InNotes, &h.Console, &h.ConsoleN, &h.InConsole)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no handover %d", n)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: handover %d: %w", n, err)
	}
	h.OutAt = time.UnixMilli(out)
	if in != 0 {
		h.InAt = time.UnixMilli(in)
	}
	if err := json.Unmarshal([]byte(alarms), &h.Alarms); err != nil {
		return nil, fmt.Errorf("sqlite: handover %d: its alarms: %w", n, err)
	}
	return &h, nil
}
