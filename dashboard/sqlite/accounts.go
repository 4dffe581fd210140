package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

const userColumns = `name, display, role, hash, created_ms, created_by, failed, locked_until, disabled, person, must_change, locked_from, lockouts, rev, origin`

func scanUser(row interface{ Scan(...any) error }) (*dashboard.User, error) {
	var u dashboard.User
	var created, locked int64
	var role, lockouts string
	if err := row.Scan(&u.Name, &u.Display, &role, &u.Hash, &created, &u.CreatedBy, &u.Failed, &locked, &u.Disabled, &u.Person, &u.MustChange, &u.LockedFrom, &lockouts, &u.Rev, &u.Origin); err != nil {
		return nil, err
	}
	if lockouts != "" {
		if err := json.Unmarshal([]byte(lockouts), &u.Lockouts); err != nil {
			return nil, fmt.Errorf("sqlite: user %s: lockouts: %w", u.Name, err)
		}
	}
	u.Role, u.Created = dashboard.Role(role), time.UnixMilli(created)
	if locked > 0 {
		u.LockedUntil = time.UnixMilli(locked)
	}
	return &u, nil
}

// CountUsers is how many accounts exist (none: the first run).
func (s *Store) CountUsers() (int, error) {
	var n int
	err := s.w.QueryRow(`SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// CreateUser adds an account. With onlyFirst, it is refused unless there is
// no account yet (the first admin, made at the first run).
func (s *Store) CreateUser(u dashboard.User, onlyFirst bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.tx(func(tx *sql.Tx) error {
		if onlyFirst {
			var n int
			if err := tx.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return gateway.Errorf(gateway.ECONFLICT, "the first account exists already; an admin creates the others")
			}
		}
		_, err := tx.Exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, '', '', 1, '')`,
			u.Name, u.Display, string(u.Role), u.Hash, u.Created.UnixMilli(), u.CreatedBy, u.Person, u.MustChange)
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return gateway.Errorf(gateway.ECONFLICT, "user %q exists already", u.Name)
		}
		return err
	})
	if err == nil {
		tell(s.accounts)
	}
	return err
}

// User returns an account, or ENOTFOUND.
func (s *Store) User(name string) (*dashboard.User, error) {
	u, err := scanUser(s.w.QueryRow(`SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no user %q", name)
	}
	return u, err
}

// Users lists every account by name.
func (s *Store) Users() ([]dashboard.User, error) {
	rows, err := s.r.Query(`SELECT ` + userColumns + ` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dashboard.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// UpdateUser changes an account with fn, in one transaction; changing the
// role, the password or disabling also ends the account's sessions.
func (s *Store) UpdateUser(name string, fn func(u *dashboard.User) error) (*dashboard.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *dashboard.User
	var revBefore uint64
	err := s.tx(func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRow(`SELECT `+userColumns+` FROM users WHERE name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return gateway.Errorf(gateway.ENOTFOUND, "no user %q", name)
		} else if err != nil {
			return err
		}
		before := *u
		revBefore = u.Rev
		if err := fn(u); err != nil {
			return err
		}
		if !u.Shares(&before) {
			u.Rev = before.Rev + 1
		}
		var locked int64
		if !u.LockedUntil.IsZero() {
			locked = u.LockedUntil.UnixMilli()
		}
		var lockouts []byte
		if len(u.Lockouts) > 0 {
			var err error
			if lockouts, err = json.Marshal(u.Lockouts); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`UPDATE users SET display = ?, role = ?, hash = ?, failed = ?, locked_until = ?, disabled = ?, person = ?, must_change = ?, locked_from = ?, lockouts = ?, rev = ? WHERE name = ?`,
			u.Display, string(u.Role), u.Hash, u.Failed, locked, u.Disabled, u.Person, u.MustChange, u.LockedFrom, string(lockouts), u.Rev, name); err != nil {
			return err
		}
		if u.Role != before.Role || u.Hash != before.Hash || (u.Disabled && !before.Disabled) {
			if _, err := tx.Exec(`DELETE FROM sessions WHERE user = ?`, name); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if err == nil && out.Rev != revBefore {
		tell(s.accounts)
	}
	return out, err
}

// CreateSession stores a new session.
func (s *Store) CreateSession(se dashboard.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`INSERT INTO sessions (id, user, csrf, created_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?)`,
		se.ID, se.User, se.CSRF, se.Created.UnixMilli(), se.LastSeen.UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// Session returns a session by id, or ENOTFOUND.
func (s *Store) Session(id string) (*dashboard.Session, error) {
	var se dashboard.Session
	var created, seen, duty int64
	err := s.w.QueryRow(`SELECT id, user, csrf, created_ms, last_seen_ms, duty_ms FROM sessions WHERE id = ?`, id).
		Scan(&se.ID, &se.User, &se.CSRF, &created, &seen, &duty)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "no session")
	} else if err != nil {
		return nil, err
	}
	se.Created, se.LastSeen = time.UnixMilli(created), time.UnixMilli(seen)
	if duty != 0 {
		se.Duty = time.UnixMilli(duty)
	}
	return &se, nil
}

// StartDuty makes a session a duty session from t (once: a duty session
// is not prolonged by starting again).
func (s *Store) StartDuty(id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.w.Exec(`UPDATE sessions SET duty_ms = ? WHERE id = ? AND duty_ms = 0`, t.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("sqlite: start duty: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gateway.Errorf(gateway.ECONFLICT, "this session is already on duty, or gone")
	}
	return nil
}

// TouchSession records that the session was used at t.
func (s *Store) TouchSession(id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`UPDATE sessions SET last_seen_ms = ? WHERE id = ?`, t.UnixMilli(), id)
	return err
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`DELETE FROM sessions WHERE id = ?`, id)
	return err
}

// Audit appends an operator action to the audit log, and to the journal
// the peer consoles read.
func (s *Store) Audit(a dashboard.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.tx(func(tx *sql.Tx) error {
		if err := insertAudit(tx, a, ""); err != nil {
			return err
		}
		return appendJournal(tx, a.At, dashboard.JournalAudit, dashboard.JournalAuditBody{At: a.At, User: a.User, Action: a.Action,
			Room: a.Room, Target: a.Target, Detail: a.Detail, Result: a.Result, Remote: a.Remote})
	})
	if err != nil {
		return fmt.Errorf("sqlite: audit: %w", err)
	}
	tell(s.journaled)
	return nil
}

func insertAudit(tx *sql.Tx, a dashboard.AuditEntry, console string) error {
	_, err := tx.Exec(`INSERT INTO audit (at_ms, user, action, room, target, detail, result, remote, console) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.At.UnixMilli(), a.User, a.Action, a.Room, a.Target, a.Detail, a.Result, a.Remote, console)
	return err
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	User         string
	Since, Until time.Time
	Before       int64 // entries older than this one
	Limit        int
}

// AuditLog returns matching audit entries.
func (s *Store) AuditLog(f AuditFilter) ([]dashboard.AuditEntry, error) {
	q, args := []string{"1"}, []any{}
	if f.User != "" {
		q, args = append(q, "user = ?"), append(args, f.User)
	}
	if !f.Since.IsZero() {
		q, args = append(q, "at_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		q, args = append(q, "at_ms < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Before > 0 {
		q, args = append(q, "n < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := s.r.Query(`SELECT n, at_ms, user, action, room, target, detail, result, remote, console FROM audit WHERE `+
		strings.Join(q, " AND ")+fmt.Sprintf(` ORDER BY n DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dashboard.AuditEntry
	for rows.Next() {
		var a dashboard.AuditEntry
		var ms int64
		if err := rows.Scan(&a.N, &ms, &a.User, &a.Action, &a.Room, &a.Target, &a.Detail, &a.Result, &a.Remote, &a.Console); err != nil {
			return nil, err
		}
		a.At = time.UnixMilli(ms)
		out = append(out, a)
	}
	return out, rows.Err()
}
