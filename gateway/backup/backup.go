// Package backup copies a room's log and its keys aside, and puts them back
// (issue 18, item 6). A backup is a directory: the log, copied with
// SQLite's online backup while the room goes on; the room's key and the
// command line's key; and a manifest with the room, the chain's head and
// every file's SHA-256. A restored log verifies, and goes on after the last
// seq the room ever used, so no seq is used twice.
package backup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/wire"
)

// ManifestFile is the name of a backup's manifest.
const ManifestFile = "manifest.json"

// Manifest describes a backup.
type Manifest struct {
	Room    string            `json:"room"`
	Created time.Time         `json:"created"`
	LastSeq uint64            `json:"last_seq"`
	Head    string            `json:"head"`  // the hash of the last event (gateway.ChainHash)
	Files   map[string]string `json:"files"` // name: SHA-256 in hex
}

// Make backs up the log at logPath into a new directory under dir, named
// after the room and the time, and returns it. The copy's chain is verified
// with the room's key before the backup counts: a log found broken is not
// backed up (the error says where it breaks).
func Make(ctx context.Context, logPath, dir string, now time.Time) (string, Manifest, error) {
	r, err := sqlite.OpenReader(logPath)
	if err != nil {
		return "", Manifest{}, err
	}
	room, err := r.Room()
	if err != nil {
		return "", Manifest{}, errors.Join(err, r.Close())
	}
	out := filepath.Join(dir, room+"-"+now.UTC().Format("20060102T150405.000Z"))
	if err := os.MkdirAll(out, 0o700); err != nil {
		return "", Manifest{}, errors.Join(fmt.Errorf("backup: %w", err), r.Close())
	}
	base := strings.TrimSuffix(filepath.Base(logPath), filepath.Ext(logPath))
	m := Manifest{Room: room, Created: now}
	fail := func(err error) (string, Manifest, error) {
		return "", Manifest{}, errors.Join(err, os.RemoveAll(out))
	}
	dbName := base + ".db"
	if err := errors.Join(r.Backup(ctx, filepath.Join(out, dbName)), r.Close()); err != nil {
		return fail(err)
	}
	for _, key := range []string{wire.RoomKeyPath(logPath), wire.LocalKeyPath(logPath)} {
		if err := CopyNew(key, filepath.Join(out, filepath.Base(key)), 0o600); err != nil {
			return fail(fmt.Errorf("backup: the key %s: %w", key, err))
		}
	}
	v, err := verify(filepath.Join(out, dbName), room)
	if err != nil {
		return fail(err)
	}
	m.LastSeq, m.Head = v.Last, v.Head
	if m, err = Seal(out, m); err != nil {
		return fail(err)
	}
	return out, m, nil
}

// Seal writes the manifest of the backup in dir: m with the SHA-256 of
// every file there.
func Seal(dir string, m Manifest) (Manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return m, err
	}
	m.Files = map[string]string{}
	for _, e := range entries {
		if m.Files[e.Name()], err = sumFile(filepath.Join(dir, e.Name())); err != nil {
			return m, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, writeFile(filepath.Join(dir, ManifestFile), bytes.NewReader(append(b, '\n')), 0o600)
}

// verify walks the chain of the log at path with the room's key next to it.
func verify(path, room string) (*gateway.ChainVerifier, error) {
	key, err := wire.LoadKey(wire.RoomKeyPath(path))
	if err != nil {
		return nil, err
	}
	r, err := sqlite.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	v := &gateway.ChainVerifier{Room: room, Key: key.Public().(ed25519.PublicKey)}
	brk, err := r.VerifyChainWith(v, 1, 0)
	switch {
	case err != nil:
		return nil, err
	case brk != nil:
		return nil, fmt.Errorf("the log's chain is broken at %v (roomguard-gateway log verify)", brk)
	}
	return v, nil
}

// Read reads and checks a backup: its manifest, every file's SHA-256, and
// the chain of its log with its room's key.
func Read(dir string) (Manifest, error) {
	m, err := ReadFiles(dir)
	if err != nil {
		return m, err
	}
	v, err := verify(filepath.Join(dir, dbOf(m)), m.Room)
	if err != nil {
		return m, fmt.Errorf("backup %s: %w", dir, err)
	}
	if v.Last != m.LastSeq || v.Head != m.Head {
		return m, fmt.Errorf("backup %s: the log ends at seq %d, the manifest says %d", dir, v.Last, m.LastSeq)
	}
	return m, nil
}

// ReadFiles reads a backup's manifest and checks every file's SHA-256.
func ReadFiles(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("backup %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("backup %s: %s: %w", dir, ManifestFile, err)
	}
	if m.Room == "" || len(m.Files) == 0 {
		return m, fmt.Errorf("backup %s: %s names no room or no file", dir, ManifestFile)
	}
	for name, sum := range m.Files {
		if name != filepath.Base(name) {
			return m, fmt.Errorf("backup %s: %s names %q, not a file of the backup", dir, ManifestFile, name)
		}
		got, err := sumFile(filepath.Join(dir, name))
		if err != nil {
			return m, fmt.Errorf("backup %s: %w", dir, err)
		}
		if got != sum {
			return m, fmt.Errorf("backup %s: %s is not the file backed up (SHA-256 %s, the manifest says %s)", dir, name, got, sum)
		}
	}
	return m, nil
}

// dbOf is the log's file in a backup.
func dbOf(m Manifest) string { return filepath.Base(fileOf("", m, ".db")) }

// fileOf is the path of the backup's file whose name ends in suffix ("":
// none).
func fileOf(dir string, m Manifest, suffix string) string {
	for name := range m.Files {
		if strings.HasSuffix(name, suffix) {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

// RoomKey is the room's public key a backup holds.
func RoomKey(dir string, m Manifest) (ed25519.PublicKey, error) {
	k, err := wire.LoadKey(fileOf(dir, m, ".room.key"))
	if err != nil {
		return nil, err
	}
	return k.Public().(ed25519.PublicKey), nil
}

// Restore puts the backup in dir back as the log at logPath (which must not
// exist: a damaged log is moved aside first, never overwritten), with its
// keys, and records in it that it goes on after seq after, the last seq the
// room used (a log.restored event signed with the room's key: the seqs the
// backup lacks were used before the loss and are never reused).
func Restore(dir, logPath string, after uint64, clock gateway.Clock) (Manifest, error) {
	m, err := Read(dir)
	if err != nil {
		return m, err
	}
	if after < m.LastSeq {
		return m, gateway.Errorf(gateway.EINVALID, "restore: the backup holds seq %d already; resume after %d would reuse seqs", m.LastSeq, after)
	}
	if _, err := os.Stat(logPath); err == nil {
		return m, gateway.Errorf(gateway.ECONFLICT, "restore: %s exists: move the damaged log aside first", logPath)
	}
	keys := map[string]string{"room.key": wire.RoomKeyPath(logPath), "command.key": wire.LocalKeyPath(logPath)}
	for suffix, dst := range keys {
		src := fileOf(dir, m, "."+suffix)
		if src == "" {
			return m, fmt.Errorf("backup %s: no %s", dir, suffix)
		}
		if have, err := os.ReadFile(dst); err == nil {
			want, err := os.ReadFile(src)
			if err != nil {
				return m, err
			}
			if string(have) != string(want) {
				return m, gateway.Errorf(gateway.ECONFLICT, "restore: %s is another key than the backup's: move it aside first", dst)
			}
			continue
		}
		if err := CopyNew(src, dst, 0o600); err != nil {
			return m, fmt.Errorf("restore: %w", err)
		}
	}
	tmp := logPath + ".restoring"
	if err := CopyNew(filepath.Join(dir, dbOf(m)), tmp, 0o600); err != nil {
		return m, errors.Join(fmt.Errorf("restore: %w", err), os.Remove(tmp))
	}
	if err := os.Rename(tmp, logPath); err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	key, err := wire.LoadKey(wire.RoomKeyPath(logPath))
	if err != nil {
		return m, err
	}
	s, err := sqlite.Open(logPath, m.Room, clock)
	if err != nil {
		return m, err
	}
	s.SignCheckpointsWith(key)
	return m, errors.Join(s.Restored(filepath.Base(dir), after), s.Close())
}

// Prune removes the backups of room in dir but the newest keep.
func Prune(dir, room string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var mine []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), room+"-") {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), ManifestFile)); err == nil {
				mine = append(mine, e.Name())
			}
		}
	}
	slices.Sort(mine) // the names sort by time
	var errs []error
	for len(mine) > keep {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, mine[0])))
		mine = mine[1:]
	}
	return errors.Join(errs...)
}

func sumFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", errors.Join(err, f.Close())
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// CopyNew copies src to dst, a file that must not exist, with mode, synced.
func CopyNew(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	return errors.Join(writeFile(dst, in, mode), in.Close())
}

// writeFile writes a new file and syncs it: a backup is worth only what
// reached the disk.
func writeFile(path string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
