package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/devices/serialline"
	bridge "github.com/roomguard/roomguard/firmware-bridge"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// boards runs the room's firmware-bridge boards.
type boards struct {
	list   []*board
	byLock map[string]*bridge.Board // by lock controller id

	once   sync.Once
	stop   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type board struct {
	cfg config.Board
	dev *bridge.Board
}

// boardRoom is what a board reaches of the daemon.
type boardRoom struct{ d *daemon }

func (r boardRoom) InputChanged(id string, active bool, at time.Time) error {
	return r.d.engine.InputChanged(id, active, at)
}
func (r boardRoom) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	return r.d.panel.Raise(class, device, detail)
}
func (r boardRoom) Restore(class gateway.AlarmClass, device string) error {
	return r.d.panel.Restore(class, device)
}
func (r boardRoom) Log(ev gateway.Event) error { _, err := r.d.store.Append(ev); return err }

// addBoards adds the boards' zones and locks to the engine as inputs, each
// with its state as last recorded (the board's first report tells what
// changed since), and their relays as outputs. Called before the safes are
// added, since a lock's bolt and door make a safe.
func (d *daemon) addBoards(cfg *config.Config, clock gateway.Clock, log *slog.Logger) error {
	d.boards = &boards{byLock: map[string]*bridge.Board{}, stop: make(chan struct{})}
	if len(cfg.Boards) == 0 {
		return nil
	}
	recorded, err := d.store.DeviceStates()
	if err != nil {
		return err
	}
	active := map[string]bool{}
	for _, in := range cfg.BoardInputs() {
		active[in.ID] = recorded[in.ID].Active
		d.engine.AddInput(in, active[in.ID])
	}
	for _, bc := range cfg.Boards {
		pts := bridge.Points{Board: bc.ID, Zones: map[byte]string{}, Locks: map[byte]bridge.LockPoint{},
			Relays: map[byte]string{}, Active: active}
		for _, z := range bc.Zones {
			pts.Zones[byte(z.Zone)] = z.ID
		}
		for _, l := range bc.Locks {
			pts.Locks[byte(l.Lock)] = bridge.LockPoint{ID: l.ID, Bolt: l.Bolt, Door: l.Door, Release: l.Release.D()}
		}
		for _, r := range bc.Relays {
			pts.Relays[byte(r.Relay)] = r.ID
		}
		b := &board{cfg: bc, dev: bridge.NewBoard(pts, boardRoom{d}, clock, log.With("board", bc.ID))}
		d.boards.list = append(d.boards.list, b)
		for _, l := range bc.Locks {
			d.boards.byLock[l.ID] = b.dev
		}
		for _, r := range bc.Relays {
			id := r.ID
			drv, err := relay.New(b.dev.RelayPin(byte(r.Relay)), &relay.Opts{ActiveLevel: true, AfterFunc: clock.AfterFunc,
				OnChange: func(on bool, pulse time.Duration) {
					if err := d.engine.OutputChanged(id, on, pulse); err != nil {
						log.Error("output change not logged", "output", id, "err", err)
					}
				}})
			if err != nil {
				return fmt.Errorf("board %s relay %s: %w", bc.ID, r.ID, err)
			}
			d.engine.AddOutput(gateway.Output{ID: r.ID, Name: r.Name, Kind: r.Kind, Pulse: r.Pulse.D(), Driver: drv})
		}
	}
	return nil
}

// startBoards opens each board's serial line, supervised: a port that
// fails raises device-fault on the board and is reopened; a link runs on it
// for as long as it works.
func (d *daemon) startBoards(clock gateway.Clock, log *slog.Logger) {
	bs := d.boards
	ctx, cancel := context.WithCancel(context.Background())
	bs.cancel = cancel
	status := d.faultStatus("board", log)
	for _, b := range bs.list {
		bs.wg.Add(2)
		go func() { defer bs.wg.Done(); b.dev.RunRelays(ctx) }()
		path := d.simPath(b.cfg.ID, b.cfg.Path)
		go func() {
			defer bs.wg.Done()
			serialline.Supervise(bs.stop, serialline.Opts{Path: path, Baud: b.cfg.Baud, Status: status(b.cfg.ID)},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					link := bridge.NewLink(port, clock, b.dev)
					link.SilentAfter(b.cfg.SilentAfter.D())
					b.dev.Attach(link, ready)
					lctx, lcancel := context.WithCancel(ctx)
					defer lcancel()
					go func() {
						select {
						case <-stop:
							lcancel()
						case <-lctx.Done():
						}
					}()
					return link.Run(lctx)
				})
		}()
	}
}

// Stop ends every board's line.
func (bs *boards) Stop() {
	if bs == nil {
		return
	}
	bs.once.Do(func() {
		close(bs.stop)
		if bs.cancel != nil {
			bs.cancel()
		}
		bs.wg.Wait()
	})
}
