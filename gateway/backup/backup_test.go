package backup_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/backup"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// room is a log with its keys, as the gateway keeps them.
func room(t *testing.T, path string, clock gateway.Clock) *sqlite.Store {
	t.Helper()
	key, _, err := wire.LoadOrCreateKey(wire.RoomKeyPath(path))
	if err == nil {
		_, _, err = wire.LoadOrCreateKey(wire.LocalKeyPath(path))
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path, "r1", clock)
	if err != nil {
		t.Fatal(err)
	}
	s.SignCheckpointsWith(key)
	return s
}

func appendN(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	for range n {
		if _, err := s.Append(gateway.Event{Type: "door.opened", Severity: gateway.SeverityInfo, Device: "door-main"}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, path string) *gateway.ChainVerifier {
	t.Helper()
	key, err := wire.LoadKey(wire.RoomKeyPath(path))
	if err != nil {
		t.Fatal(err)
	}
	r, err := sqlite.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v := &gateway.ChainVerifier{Room: "r1", Key: key.Public().(ed25519.PublicKey)}
	if brk, err := r.VerifyChainWith(v, 1, 0); err != nil || brk != nil {
		t.Fatalf("the restored log: %v %v", brk, err)
	}
	return v
}

// TestBackupAndRestore: a backup taken while the room runs, more events,
// the log lost; the backup restored to a new place verifies, and the room
// goes on after the last seq it used, never reusing one.
func TestBackupAndRestore(t *testing.T) {
	clock := clocktest.New(t0)
	dir := t.TempDir()
	path := filepath.Join(dir, "live", "r1.db")
	os.MkdirAll(filepath.Dir(path), 0o700)
	s := room(t, path, clock)
	appendN(t, s, 20)
	out, m, err := backup.Make(context.Background(), path, filepath.Join(dir, "backups"), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Room != "r1" || m.LastSeq != 20 || len(m.Files) != 3 {
		t.Fatalf("manifest %+v", m)
	}
	appendN(t, s, 10) // logged, published, then lost with the SD card
	used, _ := s.LastSeq()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(dir, "new-card", "r1.db")
	os.MkdirAll(filepath.Dir(restored), 0o700)
	if _, err := backup.Restore(out, restored, 5, clock); err == nil || !strings.Contains(err.Error(), "reuse") {
		t.Fatalf("a resume point inside the backup: %v", err)
	}
	if _, err := backup.Restore(out, restored, used, clock); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(wire.RoomKeyPath(restored)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the room's key restored: %v %v", st, err)
	}
	v := verify(t, restored)
	if v.Restored != 10 || v.Last != used+1 {
		t.Fatalf("restored log: %d seqs declared lost, last %d", v.Restored, v.Last)
	}
	s = room(t, restored, clock)
	appendN(t, s, 1)
	if last, _ := s.LastSeq(); last != used+2 {
		t.Fatalf("the room goes on at %d, want %d (after its log.restored)", last, used+2)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verify(t, restored)
	// Restoring over a log, a damaged backup: refused, nothing changed.
	if _, err := backup.Restore(out, restored, used, clock); err == nil || !strings.Contains(err.Error(), "move the damaged log aside") {
		t.Fatalf("restore over a log: %v", err)
	}
	key := filepath.Join(out, "r1.command.key")
	b, _ := os.ReadFile(key)
	os.WriteFile(key, append(b, '\n'), 0o600)
	if _, err := backup.Read(out); err == nil || !strings.Contains(err.Error(), "r1.command.key is not the file backed up") {
		t.Fatalf("a damaged backup: %v", err)
	}
}

// A log whose chain is broken is not backed up as if it were good.
func TestBackupRefusesABrokenLog(t *testing.T) {
	clock := clocktest.New(t0)
	dir := t.TempDir()
	path := filepath.Join(dir, "r1.db")
	s := room(t, path, clock)
	appendN(t, s, 5)
	s.Close()
	db, err := sql.Open("sqlite3", path) // an attacker with the file deletes seq 3
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER events_no_delete`, `DELETE FROM events WHERE seq = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if _, _, err := backup.Make(context.Background(), path, filepath.Join(dir, "b"), clock.Now()); err == nil || !strings.Contains(err.Error(), "broken at seq 4") {
		t.Fatalf("backup of a broken log: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "b")); len(entries) != 0 {
		t.Fatalf("a broken backup was left: %v", entries)
	}
}

func TestPruneKeepsTheNewest(t *testing.T) {
	clock := clocktest.New(t0)
	dir := t.TempDir()
	path := filepath.Join(dir, "r1.db")
	s := room(t, path, clock)
	appendN(t, s, 2)
	defer s.Close()
	var made []string
	for i := range 4 {
		out, _, err := backup.Make(context.Background(), path, filepath.Join(dir, "b"), t0.Add(time.Duration(i)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, filepath.Base(out))
	}
	if err := backup.Prune(filepath.Join(dir, "b"), "r1", 2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "b"))
	if len(entries) != 2 || entries[0].Name() != made[2] || entries[1].Name() != made[3] {
		t.Fatalf("kept %v of %v", entries, made)
	}
}
