package sqlite

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// WatchedRoom is a room an admin added to the console: the console shows
// it, and only the rooms added (issue 27, finding 8).
type WatchedRoom struct {
	Room        string
	Fingerprint string // the room key's, read from the Pi (roomguard-gateway keys); "" if not given
	AddedBy     string
	AddedAt     time.Time
}

// roomID is the room ids a config takes (config.schema.json).
var roomID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// fingerprintForm is gateway.KeyFingerprint's digits: 16 hex digits (it
// prints them in groups of four; spaces and colons are taken too).
var fingerprintForm = regexp.MustCompile(`^[0-9a-f]{16}$`)

// Fingerprint reads a key fingerprint as a person types it, in
// gateway.KeyFingerprint's form ("" for none).
func Fingerprint(s string) (string, error) {
	d := strings.ToLower(strings.NewReplacer(" ", "", ":", "", "-", "").Replace(strings.TrimSpace(s)))
	if d == "" {
		return "", nil
	}
	if !fingerprintForm.MatchString(d) {
		return "", gateway.Errorf(gateway.EINVALID, "fingerprint: %q is not a key fingerprint (the 16 hex digits of room-fingerprint, printed by roomguard-gateway keys)", s)
	}
	return d[0:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:16], nil
}

// AddRoom adds room to the rooms the console shows, as by; fingerprint
// (optional) is the room key's as `roomguard-gateway keys` prints it on the
// Pi: the key is pinned at first contact when it matches.
func (s *Store) AddRoom(room, fingerprint, by string) error {
	room = strings.TrimSpace(room)
	if !roomID.MatchString(room) {
		return gateway.Errorf(gateway.EINVALID, "room: %q is not a room id (lower-case letters, digits and dashes)", room)
	}
	fingerprint, err := Fingerprint(fingerprint)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if _, err := s.w.Exec(`INSERT INTO watched (room, fingerprint, added_by, added_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (room) DO UPDATE SET fingerprint = excluded.fingerprint`, room, fingerprint, by, now.UnixMilli()); err != nil {
		return fmt.Errorf("sqlite: add room: %w", err)
	}
	s.wmu.Lock()
	s.watched[room] = fingerprint
	s.wmu.Unlock()
	return nil
}

// Watched tells whether the console shows room, and the fingerprint it was
// added with. A room not known is looked for in the database again, at
// most every few seconds: `roomguard-dashboard room add` writes there
// while the console runs.
func (s *Store) Watched(room string) (fingerprint string, ok bool) {
	s.wmu.RLock()
	fingerprint, ok = s.watched[room]
	stale := !ok && s.clock.Now().Sub(s.watchedAt) > watchedReload
	s.wmu.RUnlock()
	if !stale {
		return fingerprint, ok
	}
	if err := s.loadWatched(); err != nil {
		return "", false
	}
	s.wmu.RLock()
	defer s.wmu.RUnlock()
	fingerprint, ok = s.watched[room]
	return fingerprint, ok
}

// watchedReload is how often a miss reads the rooms added again.
const watchedReload = 5 * time.Second

// WatchedRooms are the rooms the console shows, by id.
func (s *Store) WatchedRooms() ([]WatchedRoom, error) {
	rows, err := s.r.Query(`SELECT room, fingerprint, added_by, added_ms FROM watched ORDER BY room`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: watched rooms: %w", err)
	}
	defer rows.Close()
	var out []WatchedRoom
	for rows.Next() {
		var w WatchedRoom
		var ms int64
		if err := rows.Scan(&w.Room, &w.Fingerprint, &w.AddedBy, &ms); err != nil {
			return nil, err
		}
		w.AddedAt = time.UnixMilli(ms)
		out = append(out, w)
	}
	return out, rows.Err()
}

// loadWatched reads the rooms the console shows.
func (s *Store) loadWatched() error {
	ws, err := s.WatchedRooms()
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, w := range ws {
		m[w.Room] = w.Fingerprint
	}
	s.wmu.Lock()
	s.watched, s.watchedAt = m, s.clock.Now()
	s.wmu.Unlock()
	return nil
}
