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

// HeldLink is the hash and prev of the event the replica holds at a room's
// seq (ok false when it holds none): the witness's view of the replica.
func (s *Store) HeldLink(room string, seq uint64) (hash, prev string, ok bool, err error) {
	var payload []byte
	switch err := s.r.QueryRow(`SELECT payload FROM events WHERE room = ? AND seq = ?`, room, seq).Scan(&payload); {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, fmt.Errorf("sqlite: held event %s/%d: %w", room, seq, err)
	}
	var e struct {
		Prev string `json:"prev"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		return "", "", false, fmt.Errorf("sqlite: held event %s/%d: %w", room, seq, err)
	}
	return gateway.ChainHash(payload), e.Prev, true, nil
}

// RoomKey is what the console knows of a room's key.
type RoomKey struct {
	Room             string
	Seen, Pinned     string // base64 (gateway.FormatPublicKey)
	SeenAt, PinnedAt time.Time
	PinnedBy         string
}

// RoomKeys lists every key a room offered or an admin pinned, by room.
func (s *Store) RoomKeys() ([]RoomKey, error) {
	rows, err := s.r.Query(`SELECT room, seen, seen_ms, pinned, pinned_by, pinned_ms FROM room_keys ORDER BY room`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: room keys: %w", err)
	}
	defer rows.Close()
	var out []RoomKey
	for rows.Next() {
		var k RoomKey
		var seen, pinned int64
		if err := rows.Scan(&k.Room, &k.Seen, &seen, &k.Pinned, &k.PinnedBy, &pinned); err != nil {
			return nil, err
		}
		k.SeenAt, k.PinnedAt = time.UnixMilli(seen), time.UnixMilli(pinned)
		out = append(out, k)
	}
	return out, rows.Err()
}

// SeeKey records the key a room's status offers (not believed until pinned).
func (s *Store) SeeKey(room, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`INSERT INTO room_keys (room, seen, seen_ms) VALUES (?, ?, ?)
		ON CONFLICT (room) DO UPDATE SET seen = excluded.seen, seen_ms = excluded.seen_ms WHERE seen != excluded.seen`,
		room, key, s.clock.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: room key: %w", err)
	}
	return nil
}

// PinKey makes key the one room is verified against, as by confirmed it.
func (s *Store) PinKey(room, key, by string) error {
	if _, err := gateway.ParsePublicKey(key); err != nil {
		return gateway.Errorf(gateway.EINVALID, "room %s: %v", room, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`INSERT INTO room_keys (room, pinned, pinned_by, pinned_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (room) DO UPDATE SET pinned = excluded.pinned, pinned_by = excluded.pinned_by, pinned_ms = excluded.pinned_ms`,
		room, key, by, s.clock.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("sqlite: pin room key: %w", err)
	}
	return nil
}

// Quarantined is a message a pinned room did not say.
type Quarantined struct {
	N        int64
	Room     string
	Topic    string
	Seq      uint64
	Reason   string
	Payload  []byte
	Received time.Time
}

// Quarantine keeps what a room did not say, as evidence.
func (s *Store) Quarantine(room, topic string, forged []dashboard.Forgery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UnixMilli()
	return s.tx(func(tx *sql.Tx) error {
		for _, f := range forged {
			if _, err := tx.Exec(`INSERT INTO quarantine (room, topic, seq, reason, payload, received_ms) VALUES (?, ?, ?, ?, ?, ?)`,
				room, topic, f.Seq, f.Reason, append([]byte{}, f.Payload...), now); err != nil {
				return fmt.Errorf("sqlite: quarantine: %w", err)
			}
		}
		return nil
	})
}

// QuarantineOf lists a room's quarantined messages, newest first.
func (s *Store) QuarantineOf(room string, limit int) ([]Quarantined, error) {
	rows, err := s.r.Query(`SELECT n, room, topic, seq, reason, payload, received_ms FROM quarantine WHERE room = ? ORDER BY n DESC LIMIT ?`, room, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: quarantine: %w", err)
	}
	defer rows.Close()
	var out []Quarantined
	for rows.Next() {
		var q Quarantined
		var ms int64
		if err := rows.Scan(&q.N, &q.Room, &q.Topic, &q.Seq, &q.Reason, &q.Payload, &ms); err != nil {
			return nil, err
		}
		q.Received = time.UnixMilli(ms)
		out = append(out, q)
	}
	return out, rows.Err()
}

// Vouched records that the room's signed chain vouches for its events
// through seq, as of at (Ingest does it with its events).
func (s *Store) Vouched(room string, seq uint64, at time.Time) error {
	_, err := s.Ingest(nil, Vouch{Room: room, Seq: seq, At: at})
	return err
}

// RetainedPayload is the retained message the replica holds for a room's
// topic (nil: none).
func (s *Store) RetainedPayload(room, kind, key string) ([]byte, error) {
	var p []byte
	err := s.r.QueryRow(`SELECT payload FROM retained WHERE room = ? AND kind = ? AND key = ?`, room, kind, key).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: retained: %w", err)
	}
	return p, nil
}

// QuarantinedIn counts what was quarantined of a room in [from, until).
func (s *Store) QuarantinedIn(room string, from, until time.Time) (int, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM quarantine WHERE room = ? AND received_ms >= ? AND received_ms < ?`,
		room, from.UnixMilli(), until.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: quarantine: %w", err)
	}
	return n, nil
}
