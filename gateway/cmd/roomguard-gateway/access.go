package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/pn532"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/wiegand"
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
	retained *mqtt.Retained
	room     string
	clock    gateway.Clock
}

func (a *accessCommands) ReplacePersonnel(text string, version int64, by string) (map[string]any, error) {
	people, err := csv.ReadPeople(strings.NewReader(text), "personnel/replace")
	if err != nil {
		return nil, gateway.Errorf(gateway.EINVALID, "%v", err)
	}
	ri, err := a.store.ReplacePeople(people, version, by, a.clock.Now())
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

// readers runs the room's badge readers.
type readers struct {
	once sync.Once
	stop chan struct{}
	wg   sync.WaitGroup
	halt []func() error
}

// startReaders starts every badge reader of the access section: serial ones
// supervised (a port that fails raises device-fault and is reopened), Wiegand
// ones on their two pins. Every presentation goes to entry control.
func (d *daemon) startReaders(cfg *config.Config, clock gateway.Clock, openPin func(string) (gpio.PinIO, error), log *slog.Logger) error {
	r := &readers{stop: make(chan struct{})}
	d.readers = r
	d.closers = append(d.closers, r.Stop)
	used := map[string]bool{}
	for _, door := range cfg.Access.Doors {
		for _, rd := range door.Readers {
			used[rd.Device] = true
		}
	}
	present := func(reader string) func(badge.Card) {
		return func(c badge.Card) {
			dec, err := d.room.Access.Badge(reader, c.Number, c.At)
			if err != nil {
				log.Error("badge not decided", "reader", reader, "err", err)
				return
			}
			log.Debug("badge", "reader", reader, "granted", dec.Granted, "reason", dec.Reason)
		}
	}
	status := d.faultStatus("badge reader", log)
	for _, s := range cfg.Serial {
		if !used[s.ID] || (s.Kind != "em4100" && s.Kind != "pn532") {
			continue
		}
		path := d.simPath(s.ID, s.Path)
		kind, id, baud := s.Kind, s.ID, s.Baud
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			serialline.Supervise(r.stop, serialline.Opts{Path: path, Baud: baud, Status: status(id)},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					if kind == "pn532" {
						return pn532.New(port, &pn532.Opts{Stamp: clock.Now}).Run(stop, ready, present(id))
					}
					ready() // an EM4100 reader only talks when a card is there
					dec := &em4100.Decoder{Now: clock.Now}
					return dec.Decode(serialline.Reader{Port: port, Stop: stop}, present(id))
				})
		}()
	}
	for _, w := range cfg.Wiegand {
		if !used[w.ID] {
			continue
		}
		d0, err := openPin(w.D0)
		if err != nil {
			return fmt.Errorf("wiegand %s: d0: %w", w.ID, err)
		}
		d1, err := openPin(w.D1)
		if err != nil {
			return fmt.Errorf("wiegand %s: d1: %w", w.ID, err)
		}
		dev, err := wiegand.New(d0, d1, &wiegand.Opts{Stamp: clock.Now})
		if err != nil {
			return fmt.Errorf("wiegand %s: %w", w.ID, err)
		}
		r.halt = append(r.halt, dev.Halt)
		id := w.ID
		r.wg.Add(1)
		go func() { defer r.wg.Done(); dev.Run(present(id)) }()
	}
	return nil
}

// faultStatus is the status callback of a supervised serial device: a
// failure raises device-fault, the device answering again restores it.
func (d *daemon) faultStatus(what string, log *slog.Logger) func(id string) func(bool, error) {
	return func(id string) func(bool, error) {
		return func(up bool, err error) {
			if up {
				log.Info(what+" ready", "device", id)
				if err := d.room.Panel.Restore(gateway.AlarmDeviceFault, id); err != nil {
					log.Error("fault restore not logged", "device", id, "err", err)
				}
				return
			}
			log.Warn(what+" fault", "device", id, "err", err)
			if _, err2 := d.room.Panel.Raise(gateway.AlarmDeviceFault, id, err.Error()); err2 != nil {
				log.Error("fault not logged", "device", id, "err", err2)
			}
		}
	}
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

func (r *readers) Stop() error {
	if r == nil {
		return nil
	}
	var errs []error
	r.once.Do(func() {
		close(r.stop)
		for _, h := range r.halt {
			errs = append(errs, h())
		}
		r.wg.Wait()
	})
	return errors.Join(errs...)
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
		}
		next := make(chan struct{})
		stop := clock.AfterFunc(24*time.Hour, func() { close(next) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-next:
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
