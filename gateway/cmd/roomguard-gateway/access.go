package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/csv"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/room"
	"github.com/roomguard/roomguard/gateway/sqlite"
)

// keyFile is where the room's secret key lives: the config's, or next to
// the log.
func keyFile(cfg *config.Config) string {
	if cfg.Access.KeyFile != "" {
		return cfg.Access.KeyFile
	}
	return strings.TrimSuffix(cfg.Storage.Path, filepath.Ext(cfg.Storage.Path)) + ".key"
}

// loadKey reads the room's key for the keyed hashes of card and ID numbers,
// creating it (32 random bytes, mode 0600) on first use. It refuses a key
// file others can read.
func loadKey(path string) (gateway.Keyed, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			return nil, fmt.Errorf("key file: %w", errors.Join(err, f.Close()))
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s: mode %v lets others read it; chmod 600", path, st.Mode().Perm())
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("key file %s: %d bytes, want at least 16", path, len(b))
	}
	return b, nil
}

// accessCommands carries out the entry-control commands (mqtt.AccessTarget).
type accessCommands struct {
	*room.Access
	store    *sqlite.Store
	limits   gateway.Limits
	retained *mqtt.Retained
	room     string
	clock    gateway.Clock
}

func (a *accessCommands) ReplacePersonnel(r gateway.PersonnelReplace) (map[string]any, error) {
	people, err := csv.ReadPeople(strings.NewReader(r.CSV), "personnel/replace", a.limits.Persons)
	if err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%v", err)
	}
	if err := gateway.CheckRegister(people, a.room, r); err != nil {
		return nil, err
	}
	ri, err := a.store.ReplacePeople(people, r.Version, r.By, a.clock.Now())
	if err != nil {
		return nil, err
	}
	a.publishRegister(ri)
	return map[string]any{"version": ri.Version, "count": ri.Count, "sha256": ri.SHA256}, nil
}

func (a *accessCommands) publishRegister(ri sqlite.RegisterInfo) {
	a.retained.Personnel(registerPayload(a.room, ri))
}

// registerPayload is the retained version of a register the room holds.
func registerPayload(room string, ri sqlite.RegisterInfo) []byte {
	return mustJSON(map[string]any{"room": room, "version": ri.Version, "count": ri.Count,
		"updated_at": ri.UpdatedAt.Format(gateway.TimeFormat), "updated_by": ri.UpdatedBy, "sha256": ri.SHA256})
}

// simPath is where the gateway opens serial device id: its configured path,
// or in a simulated room the gateway side of its pseudo-terminal pair.
func (d *daemon) simPath(id, path string) string {
	if d.sim != nil {
		for _, p := range d.sim.Ports {
			if p.Device == id {
				return p.GatewayPath
			}
		}
	}
	return path
}

// pruneDaily prunes the events past the retention now and every day, until
// ctx is done. It runs beside the room, never on the start's path: the
// store prunes in batches between the room's commits.
func (d *daemon) pruneDaily(ctx context.Context, days int, clock gateway.Clock) {
	for {
		n, err := d.store.Prune(ctx, time.Duration(days)*24*time.Hour, clock.Now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Error("prune failed", "err", err)
		case n > 0:
			d.log.Info("pruned events past the retention", "events", n, "days", days)
			// the rest stays verifiable from a signed head
			if _, err := d.room.Checkpoint(); err != nil {
				d.log.Error("checkpoint after the prune not logged", "err", err)
			}
		}
		if !waitDay(ctx, clock) {
			return
		}
	}
}

// waitDay waits a day on clock; false when ctx ended first.
func waitDay(ctx context.Context, clock gateway.Clock) bool { return wait(ctx, clock, 24*time.Hour) }

// wait waits d on clock; false when ctx ended first.
func wait(ctx context.Context, clock gateway.Clock, d time.Duration) bool {
	next := make(chan struct{})
	stop := clock.AfterFunc(d, func() { close(next) })
	select {
	case <-ctx.Done():
		stop()
		return false
	case <-next:
		return true
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// watchStorage checks the log's filesystem now and every minute until ctx
// ends: nearly full, it raises the storage-low alarm (long before a write
// fails and an input has to wait in memory); with room again, it restores
// it, which the log records (issue 27, finding 2).
func (d *daemon) watchStorage(ctx context.Context, s config.Storage, space func() (total, free uint64, err error), clock gateway.Clock) {
	low := false
	for {
		low = d.checkStorage(s, space, low)
		if !wait(ctx, clock, time.Minute) {
			return
		}
	}
}

// checkStorage checks the log's filesystem once; low says whether the
// storage-low alarm is up, and it returns whether it is now.
func (d *daemon) checkStorage(s config.Storage, space func() (total, free uint64, err error), low bool) bool {
	total, free, err := space()
	if err != nil {
		d.log.Warn("the log's filesystem not checked", "err", err)
		return low
	}
	why := s.Low(total, free)
	switch {
	case why != "" && !low:
		if _, err := d.room.Raise(gateway.AlarmStorageLow, "storage", why); err != nil {
			d.log.Error("storage-low alarm not raised", "why", why, "err", err)
			return false
		}
		return true
	case why == "" && low:
		if err := d.room.Restore(gateway.AlarmStorageLow, "storage"); err != nil {
			d.log.Error("storage-low alarm not restored", "err", err)
			return true
		}
		return false
	}
	return low
}
