package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

func (s *Store) saveWith(events []gateway.Event, fn func(tx *sql.Tx) error) ([]gateway.Event, error) {
	j := &job{events: append([]gateway.Event(nil), events...), fn: fn}
	if err := s.do(j); err != nil {
		return nil, err
	}
	return j.events, nil
}

// scanJSON reads one JSON column into a T; nil when there is no row.
func scanJSON[T any](row *sql.Row, what string) (*T, error) {
	var b []byte
	err := row.Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %s: %w", what, err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return v, nil
}

// eachJSON calls fn with every row's one JSON column decoded into a T.
func eachJSON[T any](rows *sql.Rows, err error, what string, fn func(*T) error) error {
	if err != nil {
		return fmt.Errorf("sqlite: read %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LoadAccess returns the saved occupancy, or nil.
func (s *Reader) LoadAccess() (*gateway.AccessState, error) {
	return scanJSON[gateway.AccessState](s.r.QueryRow(`SELECT state FROM access WHERE id = 1`), "occupancy")
}

// Visit returns a visit by id, or nil.
func (s *Reader) Visit(id string) (*gateway.Visit, error) {
	return scanJSON[gateway.Visit](s.r.QueryRow(`SELECT data FROM visits WHERE id = ?`, id), "visit")
}

// VisitByCard returns the open visit holding card, or nil.
func (s *Reader) VisitByCard(card string) (*gateway.Visit, error) {
	return scanJSON[gateway.Visit](s.r.QueryRow(`SELECT data FROM visits WHERE card = ? AND open = 1`, card), "visit")
}

// Visits lists visits, open ones only or all registered since since, newest first.
func (s *Reader) Visits(openOnly bool, since time.Time) ([]gateway.Visit, error) {
	rows, err := s.r.Query(`SELECT data FROM visits WHERE (open = 1 OR ? = 0) AND from_ms >= ? ORDER BY from_ms DESC`,
		openOnly, since.UnixMilli())
	var out []gateway.Visit
	err = eachJSON(rows, err, "visits", func(v *gateway.Visit) error { out = append(out, *v); return nil })
	return out, err
}

// PersonByCard returns the holder of card, or nil. It implements
// gateway.Register, on the read pool: a decision never waits for a write.
func (s *Reader) PersonByCard(card string) (*gateway.Person, error) {
	return scanJSON[gateway.Person](s.r.QueryRow(`SELECT p.data FROM cards c JOIN people p ON p.id = c.person_id WHERE c.number = ?`, card), "person")
}

// Person returns a person by id, or nil.
func (s *Reader) Person(id string) (*gateway.Person, error) {
	return scanJSON[gateway.Person](s.r.QueryRow(`SELECT data FROM people WHERE id = ?`, id), "person")
}

// People calls fn for every person, by id.
func (s *Reader) People(fn func(*gateway.Person) error) error {
	rows, err := s.r.Query(`SELECT data FROM people ORDER BY id`)
	return eachJSON(rows, err, "people", fn)
}

// RegisterInfo is the version of the register the gateway holds.
type RegisterInfo struct {
	Version   int64     `json:"version"`
	Count     int       `json:"count"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	SHA256    string    `json:"sha256"`
}

// Register returns the personnel register's version (zero before the first
// import).
func (s *Reader) Register() (RegisterInfo, error) { return s.registerInfo("personnel") }

// Installed reports whether a personnel register was ever installed.
func (s *Reader) Installed() (bool, error) {
	ri, err := s.registerInfo("personnel")
	return ri.Version > 0, err
}

func (s *Reader) registerInfo(name string) (RegisterInfo, error) {
	var ri RegisterInfo
	var ms int64
	err := s.r.QueryRow(`SELECT version, count, updated_ms, updated_by, sha256 FROM registers WHERE name = ?`, name).
		Scan(&ri.Version, &ri.Count, &ms, &ri.UpdatedBy, &ri.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return RegisterInfo{}, nil
	}
	if err != nil {
		return ri, fmt.Errorf("sqlite: read %s register version: %w", name, err)
	}
	ri.UpdatedAt = time.UnixMilli(ms)
	return ri, nil
}

// RegisterVersion is the version held of register name: 0 before the first.
func (s *Reader) RegisterVersion(name string) (int64, error) {
	ri, err := s.registerInfo(name)
	return ri.Version, err
}

// ReplacePeople replaces the whole register with people, as version, in one
// transaction with its personnel.replaced event: all or nothing. It is for a
// log written outside a running room (a seed, a test); a running room
// replaces its register in one of its changes (Room.ReplaceRegister). A version
// not above the one held is refused (a stale sync must not undo a newer
// one). The people must have been checked (gateway.CheckPeople).
func (s *Store) ReplacePeople(people []gateway.Person, version int64, by string, at time.Time) (RegisterInfo, error) {
	return replaceRegister(s, "personnel", people, version, by, at, fillPeople(people))
}

// fillPeople writes the personnel register's rows.
func fillPeople(people []gateway.Person) func(tx *sql.Tx, blobs [][]byte) error {
	return func(tx *sql.Tx, blobs [][]byte) error {
		for _, q := range []string{`DELETE FROM cards`, `DELETE FROM people`} {
			if _, err := tx.Exec(q); err != nil {
				return fmt.Errorf("sqlite: clear register: %w", err)
			}
		}
		insP, err := tx.Prepare(`INSERT INTO people (id, name, data) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insP.Close()
		insC, err := tx.Prepare(`INSERT INTO cards (number, person_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer insC.Close()
		for i, p := range people {
			if _, err := insP.Exec(p.ID, p.Name, blobs[i]); err != nil {
				return gateway.Errorf(gateway.EINVALID, "personnel: person %s: %v", p.ID, err)
			}
			for _, c := range slices.Concat(p.Cards, p.DuressCards) { // a duress card finds its person too
				if _, err := insC.Exec(c, p.ID); err != nil {
					return gateway.Errorf(gateway.EINVALID, "personnel: card %s of %s: %v", gateway.MaskCard(c), p.ID, err)
				}
			}
		}
		return nil
	}
}

// replaceRegister replaces register name with items as version, in one
// transaction with its <name>.replaced event; fill writes the rows (each
// item's JSON in blobs). A version not above the one held is refused, also
// when checked again inside the transaction: two syncs racing cannot both
// win.
func replaceRegister[T any](s *Store, name string, items []T, version int64, by string, at time.Time, fill func(tx *sql.Tx, blobs [][]byte) error) (RegisterInfo, error) {
	w, err := prepareRegister(s, name, items, version, by, at, fill)
	if err != nil {
		return w.ri, err
	}
	if _, err := s.saveWith([]gateway.Event{w.event}, w.write); err != nil {
		return RegisterInfo{}, err
	}
	return w.ri, nil
}

// registerWrite is a register's replacement made ready: its version's
// record, its <name>.replaced event, and the write of its rows.
type registerWrite struct {
	ri    RegisterInfo
	event gateway.Event
	write func(tx *sql.Tx) error
}

// prepareRegister makes ready the replacement of register name by items
// as version; a version not above the one held is refused (with the held
// register's record).
func prepareRegister[T any](s *Store, name string, items []T, version int64, by string, at time.Time, fill func(tx *sql.Tx, blobs [][]byte) error) (registerWrite, error) {
	held, err := s.registerInfo(name)
	if err != nil {
		return registerWrite{}, err
	}
	stale := func(cur int64) error {
		return gateway.Errorf(gateway.ECONFLICT, "%s: version %d is not newer than the version held, %d", name, version, cur)
	}
	if version <= held.Version {
		return registerWrite{ri: held}, stale(held.Version)
	}
	h := sha256.New()
	blobs := make([][]byte, len(items))
	for i := range items {
		b, err := json.Marshal(&items[i])
		if err != nil {
			return registerWrite{}, fmt.Errorf("sqlite: encode %s entry %d: %w", name, i+1, err)
		}
		blobs[i] = b
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	ri := RegisterInfo{Version: version, Count: len(items), UpdatedAt: at, UpdatedBy: by, SHA256: hex.EncodeToString(h.Sum(nil))}
	ev := gateway.Event{TS: at, Type: name + ".replaced", Severity: gateway.SeverityInfo, Person: by,
		Data: mustJSON(map[string]any{"version": version, "previous_version": held.Version, "count": len(items), "by": by, "sha256": ri.SHA256})}
	return registerWrite{ri: ri, event: ev, write: func(tx *sql.Tx) error {
		var cur int64
		if err := tx.QueryRow(`SELECT COALESCE((SELECT version FROM registers WHERE name = ?), 0)`, name).Scan(&cur); err != nil {
			return err
		}
		if version <= cur {
			return stale(cur)
		}
		if err := fill(tx, blobs); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO registers (name, version, count, updated_ms, updated_by, sha256) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version, count = excluded.count, updated_ms = excluded.updated_ms,
			updated_by = excluded.updated_by, sha256 = excluded.sha256`, name, version, len(items), at.UnixMilli(), by, ri.SHA256)
		return err
	}}, nil
}

// prepare makes a room's register change ready to ride in its change.
func (s *Store) prepare(r *gateway.RegisterChange) (registerWrite, error) {
	switch r.Name {
	case "personnel":
		return prepareRegister(s, r.Name, r.People, r.Version, r.By, r.At, fillPeople(r.People))
	case "carriers":
		return prepareRegister(s, r.Name, r.Carriers, r.Version, r.By, r.At, fillCarriers(r.Carriers))
	case "calldown":
		return prepareRegister(s, r.Name, []json.RawMessage{r.Calldown}, r.Version, r.By, r.At, fillCalldown)
	}
	return registerWrite{}, fmt.Errorf("sqlite: no register %q", r.Name)
}

// MinRetention is the shortest retention Prune accepts (GB 50396: access
// records kept at least 180 days).
const MinRetention = 180 * 24 * time.Hour

// PruneBatch is how many events one prune transaction deletes. The log has
// one writer: a prune in one transaction of a million rows held every other
// commit, alarms included, for seconds (issue 16). In batches, a commit
// waits for one batch at most.
const PruneBatch = 2000

// Prune deletes the published events older than retention before now, and
// returns how many. Unpublished events are kept whatever their age. It runs
// in batches of PruneBatch, each its own transaction in the writer's queue,
// so the room's commits go on between them. It stops between batches when
// ctx is done (a stopping gateway does not wait for a long prune).
func (s *Store) Prune(ctx context.Context, retention time.Duration, now time.Time) (int64, error) {
	return s.prune(ctx, retention, now, PruneBatch)
}

func (s *Store) prune(ctx context.Context, retention time.Duration, now time.Time, batch int) (int64, error) {
	if retention < MinRetention {
		return 0, gateway.Errorf(gateway.EINVALID, "retention %v is shorter than 180 days (GB 50396)", retention)
	}
	before := now.Add(-retention).UnixMilli()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		err := s.write(func(tx *sql.Tx) error {
			if _, err := tx.Exec(`UPDATE prune_gate SET before_ms = ? WHERE id = 1`, before); err != nil {
				return err
			}
			res, err := tx.Exec(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts_ms < ?
				AND seq <= (SELECT published_seq FROM outbox WHERE id = 1) ORDER BY seq LIMIT ?)`, before, batch)
			if err != nil {
				return fmt.Errorf("sqlite: prune: %w", err)
			}
			if n, err = res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlite: prune: %w", err)
			}
			_, err = tx.Exec(`UPDATE prune_gate SET before_ms = 0 WHERE id = 1`)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ReplaceCalldown makes doc (wire.Calldown's JSON, checked) the room's
// call-down as version, with its calldown.replaced event: a version not
// above the one held is refused.
func (s *Store) ReplaceCalldown(doc json.RawMessage, version int64, by string, at time.Time) (RegisterInfo, error) {
	return replaceRegister(s, "calldown", []json.RawMessage{doc}, version, by, at, fillCalldown)
}

// fillCalldown writes the call-down a console replaced.
func fillCalldown(tx *sql.Tx, blobs [][]byte) error {
	if _, err := tx.Exec(`DELETE FROM calldown`); err != nil {
		return fmt.Errorf("sqlite: clear call-down: %w", err)
	}
	_, err := tx.Exec(`INSERT INTO calldown (doc) VALUES (?)`, string(blobs[0]))
	return err
}

// Calldown returns the call-down a console replaced and its version; nil
// and version 0 when none did (the config's is in force).
func (s *Reader) Calldown() (json.RawMessage, RegisterInfo, error) {
	ri, err := s.registerInfo("calldown")
	if err != nil || ri.Version == 0 {
		return nil, ri, err
	}
	var doc string
	if err := s.r.QueryRow(`SELECT doc FROM calldown`).Scan(&doc); err != nil {
		return nil, ri, fmt.Errorf("sqlite: read the call-down: %w", err)
	}
	return json.RawMessage(doc), ri, nil
}
