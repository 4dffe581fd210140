package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// roomState is the writer's view of one room's stream.
type roomState struct {
	dashboard.RoomRecord
	above []uint64 // seqs held above Through (only while there is a gap), sorted
}

// Message is one event as it came off the broker: the room named by its
// topic and the payload (and the event read from it, when the caller read
// it already: it is not read twice).
type Message struct {
	Room    string
	Payload []byte
	Event   *gateway.Event
}

// Rejected is a message the replica would not take, and why.
type Rejected struct {
	Room   string
	Reason string
}

// IngestResult says what became of a batch.
type IngestResult struct {
	Stored     []dashboard.Record // new events, in the order they were stored
	Duplicates int
	Conflicts  int // a seq already held with another id (a gateway whose log was replaced)
	Rejected   []Rejected
}

func (s *Store) loadRooms() error {
	rows, err := s.w.Query(`SELECT room, name, through, high, events, lost, conflicts, first_seen_ms, last_event_ms, verified_seq, verified_ms FROM rooms`)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.rooms = map[string]*roomState{}
	for rows.Next() {
		var r roomState
		var first, last, verified int64
		if err := rows.Scan(&r.Room, &r.Name, &r.Through, &r.High, &r.Events, &r.Lost, &r.Conflicts, &first, &last, &r.Verified, &verified); err != nil {
			return err
		}
		r.FirstSeen, r.LastEvent = time.UnixMilli(first), time.UnixMilli(last)
		if verified > 0 {
			r.VerifiedAt = time.UnixMilli(verified)
		}
		s.rooms[r.Room] = &r
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range s.rooms {
		var newest []byte
		switch err := s.w.QueryRow(`SELECT payload FROM events WHERE room = ? AND seq = ?`, r.Room, r.High).Scan(&newest); {
		case err == nil:
			var e struct {
				ClockTrusted bool `json:"clock_trusted"`
			}
			r.ClockUntrusted = json.Unmarshal(newest, &e) == nil && !e.ClockTrusted
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if r.High <= r.Through {
			continue
		}
		seqs, err := s.w.Query(`SELECT seq FROM events WHERE room = ? AND seq > ? ORDER BY seq`, r.Room, r.Through)
		if err != nil {
			return err
		}
		for seqs.Next() {
			var q uint64
			if err := seqs.Scan(&q); err != nil {
				seqs.Close()
				return err
			}
			r.above = append(r.above, q)
		}
		seqs.Close()
	}
	return nil
}

// decode checks one message and returns its event.
func decode(m Message) (gateway.Event, string) {
	var e gateway.Event
	if m.Event != nil {
		e = *m.Event
	} else if err := json.Unmarshal(m.Payload, &e); err != nil {
		return e, "not an event: " + err.Error()
	}
	switch {
	case e.Room != m.Room:
		return e, fmt.Sprintf("room %q in the payload, %q in the topic", e.Room, m.Room)
	case e.Seq == 0:
		return e, "seq missing"
	case e.Seq > math.MaxInt64: // SQLite integers are signed 64-bit; no gateway gets there
		return e, fmt.Sprintf("seq %d is out of range", e.Seq)
	case e.ID == "":
		return e, "id missing"
	case e.Type == "":
		return e, "type missing"
	}
	return e, ""
}

// Ingest stores a batch of events in one transaction: events already held
// (same room and seq) are skipped, so a duplicate or a re-sent range changes
// nothing, and the order they arrive in does not matter.
//
// vouched records, in the same transaction, how far each room's signed
// chain vouches for the replica (issue 18).
func (s *Store) Ingest(batch []Message, vouched ...Vouch) (IngestResult, error) {
	res, _, err := s.IngestWith(batch, nil, vouched...)
	return res, err
}

// IngestWith is Ingest with the retained states that came with the batch,
// written in the same transaction, in order (issue 33: one commit for a
// burst of live events and their states, not one each); changed are the
// states that changed what the replica held.
func (s *Store) IngestWith(batch []Message, states []dashboard.Retained, vouched ...Vouch) (res IngestResult, changed []dashboard.Retained, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	// work on copies: the in-memory state changes only once the commit is done
	touched := map[string]*roomState{}
	state := func(room string) *roomState {
		if r := touched[room]; r != nil {
			return r
		}
		r := s.room(room, now)
		touched[room] = r
		return r
	}
	err = s.tx(func(tx *sql.Tx) error {
		changed = changed[:0]
		for _, r := range states {
			ok, err := setRetained(tx, r)
			if err != nil {
				return err
			}
			if ok {
				changed = append(changed, r)
			}
		}
		ins, err := tx.Prepare(`INSERT INTO events (room, seq, id, ts_ms, type, severity, device, person, payload)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room, seq) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		var entry *sql.Stmt
		for _, m := range batch {
			e, why := decode(m)
			if why != "" {
				res.Rejected = append(res.Rejected, Rejected{Room: m.Room, Reason: why})
				continue
			}
			r := state(e.Room)
			if r.held(e.Seq) {
				if err := s.checkSame(tx, r, e, &res); err != nil {
					return err
				}
				continue
			}
			out, err := ins.Exec(e.Room, e.Seq, e.ID, e.TS.UnixMilli(), e.Type, string(e.Severity), e.Device, e.Person, []byte(m.Payload))
			if err != nil {
				return fmt.Errorf("sqlite: store event %s/%d: %w", e.Room, e.Seq, err)
			}
			if n, _ := out.RowsAffected(); n == 0 { // held but below Through's knowledge: a lost seq that arrived late
				if err := s.checkSame(tx, r, e, &res); err != nil {
					return err
				}
				continue
			}
			rowid, _ := out.LastInsertId()
			if strings.HasPrefix(e.Type, "access.") {
				if entry == nil {
					if entry, err = tx.Prepare(insertEntry); err != nil {
						return err
					}
					defer entry.Close()
				}
				if err := storeEntry(entry, e); err != nil {
					return err
				}
			}
			if e.Seq > r.High {
				r.ClockUntrusted = !e.ClockTrusted
			}
			r.add(e.Seq)
			r.Events++
			if e.TS.After(r.LastEvent) {
				r.LastEvent = e.TS
			}
			res.Stored = append(res.Stored, dashboard.Record{N: rowid, Event: e, Payload: json.RawMessage(m.Payload)})
		}
		for _, v := range vouched {
			if s.rooms[v.Room] == nil && touched[v.Room] == nil {
				continue // a room the replica holds nothing of
			}
			if r := state(v.Room); v.Seq > r.Verified {
				r.Verified, r.VerifiedAt = v.Seq, v.At
			}
		}
		for _, r := range touched {
			if err := saveRoom(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, nil, err
	}
	for room, r := range touched {
		s.rooms[room] = r
	}
	s.retainedV.Add(int64(len(changed)))
	return res, changed, nil
}

// Vouch is how far a room's signed chain vouches for the replica's events:
// through Seq, as of At.
type Vouch struct {
	Room string
	Seq  uint64
	At   time.Time
}

// room is a copy of a room's state to change (s.mu held): the in-memory
// state takes it only once the change is committed. A room not seen before
// starts empty, first seen at now.
func (s *Store) room(room string, now time.Time) *roomState {
	old := s.rooms[room]
	if old == nil {
		return &roomState{RoomRecord: dashboard.RoomRecord{Room: room, FirstSeen: now}}
	}
	return &roomState{RoomRecord: old.RoomRecord, above: slices.Clone(old.above)}
}

// held tells whether seq is in the replica (or known lost).
func (r *roomState) held(seq uint64) bool {
	if seq <= r.Through {
		return true
	}
	_, found := slices.BinarySearch(r.above, seq)
	return found
}

// add records seq as held and moves Through over every seq now contiguous.
func (r *roomState) add(seq uint64) {
	if seq > r.High {
		r.High = seq
	}
	if seq != r.Through+1 {
		i, _ := slices.BinarySearch(r.above, seq)
		r.above = slices.Insert(r.above, i, seq)
		return
	}
	r.Through = seq
	r.advance()
}

// advance moves Through over the held seqs that follow it.
func (r *roomState) advance() {
	i := 0
	for i < len(r.above) && r.above[i] <= r.Through+1 {
		r.Through = max(r.Through, r.above[i])
		i++
	}
	r.above = r.above[i:]
	if len(r.above) == 0 {
		r.above = nil
	}
}

// checkSame counts a duplicate, or a conflict when the held event of that
// seq has another id.
func (s *Store) checkSame(tx *sql.Tx, r *roomState, e gateway.Event, res *IngestResult) error {
	var id string
	err := tx.QueryRow(`SELECT id FROM events WHERE room = ? AND seq = ?`, e.Room, e.Seq).Scan(&id)
	switch {
	case err == sql.ErrNoRows: // a seq marked lost that turned up after all
		res.Duplicates++
		return nil
	case err != nil:
		return err
	case id == e.ID:
		res.Duplicates++
	default:
		res.Conflicts++
		r.Conflicts++
	}
	return nil
}

func saveRoom(tx *sql.Tx, r *roomState) error {
	var verified int64
	if !r.VerifiedAt.IsZero() {
		verified = r.VerifiedAt.UnixMilli()
	}
	_, err := tx.Exec(`INSERT INTO rooms (room, name, through, high, events, lost, conflicts, first_seen_ms, last_event_ms, verified_seq, verified_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (room) DO UPDATE SET name = excluded.name, through = excluded.through, high = excluded.high,
			events = excluded.events, lost = excluded.lost, conflicts = excluded.conflicts, last_event_ms = excluded.last_event_ms,
			verified_seq = excluded.verified_seq, verified_ms = excluded.verified_ms`,
		r.Room, r.Name, r.Through, r.High, r.Events, r.Lost, r.Conflicts, r.FirstSeen.UnixMilli(), r.LastEvent.UnixMilli(), r.Verified, verified)
	if err != nil {
		return fmt.Errorf("sqlite: save room %s: %w", r.Room, err)
	}
	return nil
}

const insertEntry = `INSERT INTO entries (room, seq, ts_ms, result, person, person_name, visitor, card, card_tail, reader, door, direction, reason)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// entryData is what an access event's data holds (gateway/room/access.go).
type entryData struct {
	Reader     string `json:"reader"`
	Door       string `json:"door"`
	Direction  string `json:"direction"`
	Card       string `json:"card"`
	PersonID   string `json:"person_id"`
	PersonName string `json:"person_name"`
	Name       string `json:"name"`
	Visitor    bool   `json:"visitor"`
	Reason     string `json:"reason"`
}

var entryResults = map[string]string{"access.granted": "granted", "access.denied": "denied", "access.entered": "entered",
	"access.exited": "exited", "access.not_opened": "not_opened"}

func storeEntry(stmt *sql.Stmt, e gateway.Event) error {
	result, ok := entryResults[e.Type]
	if !ok {
		return nil
	}
	var d entryData
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &d); err != nil {
			d = entryData{} // a malformed data object leaves the fields empty; the event itself is kept
		}
	}
	person := e.Person
	if person == "" {
		person = d.PersonID
	}
	name := d.PersonName
	if name == "" {
		name = d.Name
	}
	reader := d.Reader
	if reader == "" {
		reader = e.Device
	}
	_, err := stmt.Exec(e.Room, e.Seq, e.TS.UnixMilli(), result, person, name, d.Visitor, d.Card, cardTail(d.Card),
		reader, d.Door, d.Direction, d.Reason)
	if err != nil {
		return fmt.Errorf("sqlite: store entry %s/%d: %w", e.Room, e.Seq, err)
	}
	return nil
}

// cardTail is the last four characters of a card number, masked or not.
func cardTail(card string) string {
	if len(card) <= 4 {
		return card
	}
	return card[len(card)-4:]
}

// Rooms lists every room the replica has heard of, by id.
func (s *Store) Rooms() []dashboard.RoomRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]dashboard.RoomRecord, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r.RoomRecord)
	}
	slices.SortFunc(out, func(a, b dashboard.RoomRecord) int { return strings.Compare(a.Room, b.Room) })
	return out
}

// Room returns what the replica knows of one room, and whether it knows it.
func (s *Store) Room(room string) (dashboard.RoomRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return dashboard.RoomRecord{}, false
	}
	return r.RoomRecord, true
}

// Gaps lists the first missing range of every room that has one: from
// Through+1 to the seq before the next one held.
func (s *Store) Gaps() []dashboard.Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dashboard.Gap
	for _, r := range s.rooms {
		if len(r.above) > 0 {
			out = append(out, dashboard.Gap{Room: r.Room, From: r.Through + 1, To: r.above[0] - 1})
		}
	}
	slices.SortFunc(out, func(a, b dashboard.Gap) int { return strings.Compare(a.Room, b.Room) })
	return out
}

// MarkLost records that the room's gateway no longer has from..to (it pruned
// them before the replica asked): the replica stops asking for them.
func (s *Store) MarkLost(room string, from, to uint64, why string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.rooms[room]
	if old == nil || to < from || from != old.Through+1 {
		return gateway.Errorf(gateway.EINVALID, "sqlite: %s: %d..%d is not the next missing range", room, from, to)
	}
	r := s.room(room, s.clock.Now())
	if len(r.above) > 0 && to >= r.above[0] {
		to = r.above[0] - 1
	}
	r.Through = to
	r.Lost += to - from + 1
	r.advance()
	r.High = max(r.High, r.Through)
	err := s.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO lost (room, from_seq, to_seq, noticed_ms, why) VALUES (?, ?, ?, ?, ?)`,
			room, from, to, s.clock.Now().UnixMilli(), why); err != nil {
			return fmt.Errorf("sqlite: mark lost: %w", err)
		}
		return saveRoom(tx, r)
	})
	if err != nil {
		return err
	}
	s.rooms[room] = r
	return nil
}

// SetRoomName keeps the name a room's status gives.
func (s *Store) SetRoomName(room, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.rooms[room]
	if old != nil && old.Name == name {
		return nil
	}
	r := s.room(room, s.clock.Now())
	r.Name = name
	if err := s.tx(func(tx *sql.Tx) error { return saveRoom(tx, r) }); err != nil {
		return err
	}
	s.rooms[room] = r
	return nil
}

// LostRange is a range of a room's seqs the replica will never hold, and why
// (dashboard.LostPruned, dashboard.LostDeleted).
type LostRange struct {
	From, To uint64
	Why      string
}

// Lost lists a room's lost ranges in seq order.
func (s *Store) Lost(room string) ([]LostRange, error) {
	rows, err := s.r.Query(`SELECT from_seq, to_seq, why FROM lost WHERE room = ? ORDER BY from_seq`, room)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LostRange
	for rows.Next() {
		var l LostRange
		if err := rows.Scan(&l.From, &l.To, &l.Why); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
