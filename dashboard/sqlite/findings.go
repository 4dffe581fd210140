package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// AddFinding records a finding; it returns its number.
func (s *Store) AddFinding(f dashboard.Finding) (int64, error) {
	if err := f.Check(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.w.Exec(`INSERT INTO findings (room, item, text, owner, deadline, unannounced, opened_ms, opened_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.Room, f.Item, f.Text, f.Owner, f.Deadline, boolInt(f.Unannounced), f.Opened.UnixMilli(), f.OpenedBy)
	if err != nil {
		return 0, fmt.Errorf("sqlite: finding: %w", err)
	}
	return res.LastInsertId()
}

// UpdateFinding applies fn (Rectify, Close) to finding n and saves it.
func (s *Store) UpdateFinding(n int64, fn func(*dashboard.Finding) error) (*dashboard.Finding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.Begin()
	if err != nil {
		return nil, fmt.Errorf("sqlite: finding: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(findingSQL+` WHERE n = ?`, n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: finding: %w", err)
	}
	list, err := scanFindings(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no finding %d", n)
	}
	f := &list[0]
	if err := fn(f); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE findings SET rectified_ms = ?, rectified_by = ?, note = ?, closed_ms = ?, closed_by = ? WHERE n = ?`,
		ms(f.Rectified), f.RectifiedBy, f.Note, ms(f.Closed), f.ClosedBy, n); err != nil {
		return nil, fmt.Errorf("sqlite: finding: %w", err)
	}
	return f, tx.Commit()
}

// Findings lists the findings of room (every room when empty), the open
// ones first, then the newest.
func (s *Store) Findings(room string, limit int) ([]dashboard.Finding, error) {
	rows, err := s.w.Query(findingSQL+` WHERE (? = '' OR room = ?) ORDER BY closed_ms != 0, n DESC LIMIT ?`, room, room, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: findings: %w", err)
	}
	return scanFindings(rows)
}

const findingSQL = `SELECT n, room, item, text, owner, deadline, unannounced, opened_ms, opened_by, rectified_ms, rectified_by, note, closed_ms, closed_by FROM findings`

func scanFindings(rows *sql.Rows) ([]dashboard.Finding, error) {
	defer rows.Close()
	var out []dashboard.Finding
	for rows.Next() {
		var f dashboard.Finding
		var un int
		var opened, rectified, closed int64
		if err := rows.Scan(&f.N, &f.Room, &f.Item, &f.Text, &f.Owner, &f.Deadline, &un, &opened, &f.OpenedBy, &rectified, &f.RectifiedBy,
			&f.Note, &closed, &f.ClosedBy); err != nil {
			return nil, fmt.Errorf("sqlite: findings: %w", err)
		}
		f.Unannounced, f.Opened, f.Rectified, f.Closed = un != 0, time.UnixMilli(opened), fromMS(rectified), fromMS(closed)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: findings: %w", err)
	}
	return out, nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AddInspection records an inspection done.
func (s *Store) AddInspection(in dashboard.InspectionDone) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.w.Exec(`INSERT INTO inspections (room, kind, at_ms, by, period_from, period_until, note) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		in.Room, in.Kind, in.At.UnixMilli(), in.By, in.From, in.Until, in.Note)
	if err != nil {
		return 0, fmt.Errorf("sqlite: inspection: %w", err)
	}
	return res.LastInsertId()
}

// Inspections lists the inspections done, newest first.
func (s *Store) Inspections(limit int) ([]dashboard.InspectionDone, error) {
	rows, err := s.w.Query(`SELECT n, room, kind, at_ms, by, period_from, period_until, note FROM inspections ORDER BY n DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: inspections: %w", err)
	}
	defer rows.Close()
	var out []dashboard.InspectionDone
	for rows.Next() {
		var in dashboard.InspectionDone
		var at int64
		if err := rows.Scan(&in.N, &in.Room, &in.Kind, &at, &in.By, &in.From, &in.Until, &in.Note); err != nil {
			return nil, fmt.Errorf("sqlite: inspections: %w", err)
		}
		in.At = time.UnixMilli(at)
		out = append(out, in)
	}
	return out, rows.Err()
}
