package sqlite

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// appendJournal adds what the peer consoles are told, in the transaction
// that did it.
func appendJournal(tx *sql.Tx, at time.Time, kind string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO journal (at_ms, kind, body) VALUES (?, ?, ?)`, at.UnixMilli(), kind, string(b))
	return err
}

// Journal returns this console's journal after seq, at most limit entries.
func (s *Store) Journal(after uint64, limit int) ([]dashboard.JournalEntry, error) {
	rows, err := s.r.Query(`SELECT seq, at_ms, kind, body FROM journal WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: journal: %w", err)
	}
	defer rows.Close()
	var out []dashboard.JournalEntry
	for rows.Next() {
		var e dashboard.JournalEntry
		var at int64
		var body string
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &body); err != nil {
			return nil, fmt.Errorf("sqlite: journal: %w", err)
		}
		e.At, e.Body = time.UnixMilli(at), json.RawMessage(body)
		out = append(out, e)
	}
	return out, rows.Err()
}

// JournalHead is the last seq of this console's journal (0: none yet).
func (s *Store) JournalHead() (uint64, error) {
	var n uint64
	err := s.r.QueryRow(`SELECT coalesce(max(seq), 0) FROM journal`).Scan(&n)
	return n, err
}

// PeerApplied is how far the journal of the peer console is taken in.
func (s *Store) PeerApplied(console string) (uint64, error) {
	var n uint64
	err := s.w.QueryRow(`SELECT applied FROM peers WHERE console = ?`, console).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// ApplyJournal takes in entry e of the journal of the peer console origin
// (self: this console's name, which the peer's takeovers may name). Only
// the next entry is taken (ECONFLICT otherwise, changing nothing); an
// entry of a kind this console does not know is passed over.
func (s *Store) ApplyJournal(self, origin string, e dashboard.JournalEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx(func(tx *sql.Tx) error {
		var applied uint64
		if err := tx.QueryRow(`SELECT coalesce((SELECT applied FROM peers WHERE console = ?), 0)`, origin).Scan(&applied); err != nil {
			return err
		}
		if e.Seq != applied+1 {
			return gateway.Errorf(gateway.ECONFLICT, "console %s: journal entry %d is not the next (%d taken in)", origin, e.Seq, applied)
		}
		if err := applyEntry(tx, self, origin, e); err != nil {
			return fmt.Errorf("console %s: journal entry %d (%s): %w", origin, e.Seq, e.Kind, err)
		}
		_, err := tx.Exec(`INSERT INTO peers (console, applied) VALUES (?, ?) ON CONFLICT (console) DO UPDATE SET applied = excluded.applied`, origin, e.Seq)
		return err
	})
}

func applyEntry(tx *sql.Tx, self, origin string, e dashboard.JournalEntry) error {
	decode := func(v any) error {
		if err := json.Unmarshal(e.Body, v); err != nil {
			return gateway.Errorf(gateway.EINVALID, "its body: %v", err)
		}
		return nil
	}
	switch e.Kind {
	case dashboard.JournalAudit:
		var a dashboard.JournalAuditBody
		if err := decode(&a); err != nil {
			return err
		}
		return insertAudit(tx, dashboard.AuditEntry{At: a.At, User: a.User, Action: a.Action, Room: a.Room, Target: a.Target,
			Detail: a.Detail, Result: a.Result, Remote: a.Remote}, origin)
	case dashboard.JournalHandover:
		var h dashboard.JournalHandoverBody
		if err := decode(&h); err != nil {
			return err
		}
		alarms, err := json.Marshal(h.Alarms)
		if err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO handovers (outgoing, out_at_ms, notes, alarms, console, console_n) VALUES (?, ?, ?, ?, ?, ?)`,
			h.Outgoing, h.OutAt.UnixMilli(), h.Notes, string(alarms), origin, h.N)
		return err
	case dashboard.JournalTakeover:
		var t dashboard.JournalTakeoverBody
		if err := decode(&t); err != nil {
			return err
		}
		at, atN := t.Console, t.N
		switch at {
		case "":
			at = origin
		case self:
			at = "" // one of this console's own
		}
		var n int64
		var incoming, inConsole string
		q := `SELECT n, incoming, in_console FROM handovers WHERE console = ? AND console_n = ?`
		if at == "" {
			q = `SELECT n, incoming, in_console FROM handovers WHERE console = ? AND n = ?`
		}
		err := tx.QueryRow(q, at, atN).Scan(&n, &incoming, &inConsole)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // handed over at a console this one does not hear
		} else if err != nil {
			return err
		}
		if incoming != "" {
			// Taken over at two consoles at once: the first one recorded
			// here stands, and the audit log says so at both.
			return insertAudit(tx, dashboard.AuditEntry{At: t.InAt, User: t.Incoming, Action: "handover.take", Target: fmt.Sprint(n),
				Detail: t.InNotes, Result: fmt.Sprintf("refused: taken over by %s at %s already", incoming, cmp.Or(inConsole, self))}, origin)
		}
		_, err = tx.Exec(`UPDATE handovers SET incoming = ?, in_at_ms = ?, in_notes = ?, in_console = ? WHERE n = ?`,
			t.Incoming, t.InAt.UnixMilli(), t.InNotes, origin, n)
		return err
	}
	return nil
}

// AccountRecords are the accounts kept at this console, as its peers are
// told them.
func (s *Store) AccountRecords() ([]dashboard.AccountRecord, error) {
	users, err := s.Users()
	if err != nil {
		return nil, err
	}
	var out []dashboard.AccountRecord
	for i := range users {
		if users[i].Origin == "" {
			out = append(out, users[i].Record())
		}
	}
	return out, nil
}

// ApplyAccount keeps account r as the accounts' primary origin publishes
// it: new, or of a later revision than the one kept (an older one, replayed,
// changes nothing: false). A change of role or password, or disabling it,
// ends its sessions here too. Its logins here (wrong passwords, locks) stay.
func (s *Store) ApplyAccount(origin string, r dashboard.AccountRecord) (bool, error) {
	if err := dashboard.CheckUserName(r.Name); err != nil {
		return false, err
	}
	if _, err := dashboard.ParseRole(string(r.Role)); err != nil {
		return false, err
	}
	if r.Hash == "" || r.Rev == 0 {
		return false, gateway.Errorf(gateway.EINVALID, "account %s: no password hash or revision", r.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	applied := false
	err := s.tx(func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRow(`SELECT `+userColumns+` FROM users WHERE name = ?`, r.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.Exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, '', '', ?, ?)`,
				r.Name, r.Display, string(r.Role), r.Hash, r.Created.UnixMilli(), r.CreatedBy, r.Disabled, r.Person, r.MustChange, r.Rev, origin)
			applied = err == nil
			return err
		case err != nil:
			return err
		case u.Origin == origin && r.Rev <= u.Rev:
			return nil
		}
		if _, err := tx.Exec(`UPDATE users SET display = ?, role = ?, hash = ?, disabled = ?, person = ?, must_change = ?, created_ms = ?, created_by = ?, rev = ?, origin = ? WHERE name = ?`,
			r.Display, string(r.Role), r.Hash, r.Disabled, r.Person, r.MustChange, r.Created.UnixMilli(), r.CreatedBy, r.Rev, origin, r.Name); err != nil {
			return err
		}
		if string(r.Role) != string(u.Role) || r.Hash != u.Hash || r.Disabled && !u.Disabled {
			if _, err := tx.Exec(`DELETE FROM sessions WHERE user = ?`, r.Name); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: account %s from %s: %w", r.Name, origin, err)
	}
	return applied, nil
}
