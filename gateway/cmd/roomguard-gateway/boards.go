package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
	byBolt map[string]boardLock // each board lock by the safe-bolt input it gives
	clock  gateway.Clock

	once   sync.Once
	stop   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type board struct {
	cfg config.Board
	dev *bridge.Board
}

type boardLock struct {
	cfg config.BoardLock
	dev *bridge.Board
}

// boardRoom is what a board reaches of the daemon.
type boardRoom struct{ d *daemon }

func (r boardRoom) InputChanged(id string, active bool, at time.Time) error {
	return r.d.room.Engine.InputChanged(id, active, at)
}
func (r boardRoom) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	return r.d.room.Panel.Raise(class, device, detail)
}
func (r boardRoom) Restore(class gateway.AlarmClass, device string) error {
	return r.d.room.Panel.Restore(class, device)
}
func (r boardRoom) Log(ev gateway.Event) error { _, err := r.d.store.Append(ev); return err }

// addBoards adds the boards' zones and locks to the engine as inputs, each
// with its state as last recorded (the board's first report tells what
// changed since), and their relays as outputs. Called before the safes are
// added, since a lock's bolt and door make a safe.
func (d *daemon) addBoards(cfg *config.Config, clock gateway.Clock, log *slog.Logger) error {
	d.boards = &boards{byBolt: map[string]boardLock{}, clock: clock, stop: make(chan struct{})}
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
		d.room.Engine.AddInput(in, active[in.ID])
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
			d.boards.byBolt[l.Bolt] = boardLock{l, b.dev}
		}
		for _, r := range bc.Relays {
			id := r.ID
			drv, err := relay.New(b.dev.RelayPin(byte(r.Relay)), &relay.Opts{ActiveLevel: true, AfterFunc: clock.AfterFunc,
				OnChange: func(on bool, pulse time.Duration) {
					if err := d.room.Engine.OutputChanged(id, on, pulse); err != nil {
						log.Error("output change not logged", "output", id, "err", err)
					}
				}})
			if err != nil {
				return fmt.Errorf("board %s relay %s: %w", bc.ID, r.ID, err)
			}
			d.room.Engine.AddOutput(gateway.Output{ID: r.ID, Name: r.Name, Kind: r.Kind, Pulse: r.Pulse.D(), Driver: drv})
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
					return link.Run(ctx) // Stop cancels ctx as it closes stop
				})
		}()
	}
}

// Stop ends every board's line.
func (bs *boards) Stop() error {
	if bs == nil {
		return nil
	}
	bs.once.Do(func() {
		close(bs.stop)
		if bs.cancel != nil {
			bs.cancel()
		}
		bs.wg.Wait()
	})
	return nil
}

// releaseTimeout bounds a release: the link gives a command up after five
// tries in one second.
const releaseTimeout = 3 * time.Second

// safeRelease carries out safe/release: a safe whose lock is on a board is
// released for the lock's release time, only while the room is open. Every
// attempt is logged as lock.release with who, why and whether the board
// took it.
type safeRelease struct{ d *daemon }

func (s safeRelease) ReleaseSafe(safe, by, reason string) (map[string]any, error) {
	d := s.d
	i := slices.IndexFunc(d.cfg.Safes, func(sc config.Safe) bool { return sc.ID == safe })
	if i < 0 {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "safe/release: no safe %q in this room", safe)
	}
	bl, ok := d.boards.byBolt[d.cfg.Safes[i].Bolt]
	if !ok {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "safe/release: safe %s has no lock controller on a board to release", safe)
	}
	lock := bl.cfg
	if mode := d.room.Panel.Mode(); mode != gateway.ModeOpen {
		return nil, gateway.Errorf(gateway.ECONFLICT, "safe/release: the room is %s: a safe is released only while it is open", mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	err := bl.dev.Release(ctx, lock.ID)
	data := map[string]any{"by": by, "safe": safe, "reason": reason, "release_ms": lock.Release.D().Milliseconds(), "done": err == nil}
	sev := gateway.SeverityInfo
	if err != nil {
		data["error"], sev = err.Error(), gateway.SeverityWarning
	}
	clock := d.boards.clock
	ev := gateway.Event{TS: clock.Now(), ClockTrusted: clock.Trusted(), Type: "lock.release", Severity: sev, Device: lock.ID, Data: mustJSON(data)}
	if _, lerr := d.store.Append(ev); lerr != nil {
		return nil, fmt.Errorf("safe/release: not logged: %w", lerr)
	}
	if err != nil {
		return nil, fmt.Errorf("safe/release: %w", err)
	}
	return map[string]any{"safe": safe, "lock": lock.ID, "release_ms": lock.Release.D().Milliseconds()}, nil
}

// safeCmd is `safe release` (through the running gateway).
func safeCmd(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	if sub != "release" {
		return fmt.Errorf("safe: unknown subcommand %q (want release)", sub)
	}
	fs := newFlags("safe release", stderr)
	r := remoteFlags(fs, 30*time.Second)
	safe := fs.String("safe", "", "the safe, as the config's safes section names it")
	reason := fs.String("reason", "", "why it is released (recorded with it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "safe", "reason"); err != nil {
		return err
	}
	res, err := r.call(ctx, "safe/release", map[string]any{"safe": *safe, "reason": *reason})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%v released (%v for %v ms)\n", res["safe"], res["lock"], res["release_ms"])
	return nil
}
