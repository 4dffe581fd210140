package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// LoadPanel returns the saved panel state, or nil if there is none.
func (s *Reader) LoadPanel() (*gateway.PanelState, error) {
	var b []byte
	err := s.r.QueryRow(`SELECT state FROM panel WHERE id = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read panel state: %w", err)
	}
	var st gateway.PanelState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("sqlite: panel state: %w", err)
	}
	return &st, nil
}

// SealReportInfo is one line of the seal report list.
type SealReportInfo struct {
	SealID     string
	UnsealedAt time.Time
	Verdict    string
}

// SealReports lists the stored seal reports, newest first.
func (s *Reader) SealReports() ([]SealReportInfo, error) {
	rows, err := s.r.Query(`SELECT seal_id, unsealed_ms, verdict FROM seal_reports ORDER BY unsealed_ms DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read seal reports: %w", err)
	}
	defer rows.Close()
	var out []SealReportInfo
	for rows.Next() {
		var r SealReportInfo
		var ms int64
		if err := rows.Scan(&r.SealID, &ms, &r.Verdict); err != nil {
			return nil, fmt.Errorf("sqlite: read seal reports: %w", err)
		}
		r.UnsealedAt = time.UnixMilli(ms)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SealReport returns one stored seal report.
func (s *Reader) SealReport(id string) (*gateway.SealReport, error) {
	var b []byte
	err := s.r.QueryRow(`SELECT report FROM seal_reports WHERE seal_id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no seal report %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read seal report: %w", err)
	}
	var r gateway.SealReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("sqlite: seal report %s: %w", id, err)
	}
	return &r, nil
}
