package sqlite

import (
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// EntryFilter selects entry-log records: every decision and every confirmed
// entry and exit.
type EntryFilter struct {
	Since, Until time.Time // zero: unbounded
	Person       string    // person or visit id
	CardRef      string    // gateway.Keyed.Ref of the card number (decisions only)
	Result       string    // granted, denied, entered, exited; empty: all
	Limit        int
}

var entryTypes = map[string]string{"granted": "access.granted", "denied": "access.denied", "entered": "access.entered",
	"exited": "access.exited", "not_opened": "access.not_opened"}

// Entries calls fn for each matching record, oldest first.
func (s *Reader) Entries(f EntryFilter, fn func(gateway.Event) error) error {
	q := []string{}
	args := []any{}
	if f.Result != "" {
		t, ok := entryTypes[f.Result]
		if !ok {
			return gateway.Errorf(gateway.EINVALID, "result %q is not granted, denied, entered, exited or not_opened", f.Result)
		}
		q, args = append(q, "type = ?"), append(args, t)
	} else {
		q = append(q, "type IN ('access.granted', 'access.denied', 'access.entered', 'access.exited', 'access.not_opened')")
	}
	if !f.Since.IsZero() {
		q, args = append(q, "ts_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q, args = append(q, "ts_ms < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Person != "" {
		q, args = append(q, "person = ?"), append(args, f.Person)
	}
	if f.CardRef != "" {
		q, args = append(q, "json_extract(payload, '$.data.card_ref') = ?"), append(args, f.CardRef)
	}
	sql := "SELECT payload FROM events WHERE " + strings.Join(q, " AND ") + " ORDER BY seq"
	if f.Limit > 0 {
		sql += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.r.Query(sql, args...)
	return eachJSON(rows, err, "entries", func(e *gateway.Event) error { return fn(*e) })
}
