package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sim"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

// buildingCmd runs a building of simulated rooms in one process (issue 33):
// each a real room of the template config — its own log, keys, MQTT
// session, last will and signatures — on one external broker, each played
// a working day by the life of a room when --speed is given.
func buildingCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("building", flag.ContinueOnError)
	fs.SetOutput(stderr)
	template := fs.String("config", "examples/room.yaml", "the room every room of the building is (its devices; its room, storage, mqtt and notify sections are replaced)")
	broker := fs.String("broker", "", "the building's broker, e.g. tcp://127.0.0.1:1883 (required: the rooms share it)")
	rooms := fs.Int("rooms", 10, "how many rooms (1 to 1000)")
	perFloor := fs.Int("per-floor", 20, "rooms on a floor: room-<floor><nn>, named <floor>楼 <floor><nn>室")
	dir := fs.String("dir", "run/building", "where the rooms' logs and keys go (made if missing)")
	principals := fs.String("principals", "", "a file of principals: lines (a console's, printed by roomguard-dashboard keys), given to every room")
	speed := fs.Float64("speed", 0, "play a working day in every room this much faster than real time (0: no life; the rooms only run)")
	days := fs.Int("days", 0, "with --speed: how many days (0: until stopped)")
	level := fs.String("log-level", "warn", "the rooms' log level (their log: DIR/building.log)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	switch {
	case *broker == "":
		return usagef("--broker: the building's broker is required")
	case *rooms < 1 || *rooms > 1000:
		return usagef("--rooms: %d is not between 1 and 1000", *rooms)
	case *perFloor < 1 || *perFloor > 99:
		return usagef("--per-floor: %d is not between 1 and 99", *perFloor)
	case *speed < 0 || *speed > 1000:
		return usagef("--speed: %v is not between 0 and 1000", *speed)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return usagef("--log-level: %v", err)
	}
	text, err := os.ReadFile(*template)
	if err != nil {
		return err
	}
	var extra []byte
	if *principals != "" {
		if extra, err = os.ReadFile(*principals); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(*dir, "building.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer func() {
		if err := logFile.Close(); err != nil {
			fmt.Fprintln(stderr, "building: its log:", err)
		}
	}()
	var daemons []*daemon
	defer func() {
		for _, d := range daemons {
			d.Stop()
		}
	}()
	var wg sync.WaitGroup
	lifeCtx, stopLife := context.WithCancel(ctx)
	defer func() { stopLife(); wg.Wait() }()
	for i := range *rooms {
		floor, n := i / *perFloor + 1, i%*perFloor+1
		cfg, err := buildingRoom(text, extra, fmt.Sprintf("room-%d%02d", floor, n), fmt.Sprintf("%d楼 %d%02d室", floor, floor, n), fmt.Sprintf("%d楼", floor), *dir, *broker)
		if err != nil {
			return err
		}
		d, err := startDaemon(cfg, daemonOpts{Sim: true, LogLevel: lvl, Stdout: io.Discard, Stderr: logFile})
		if err != nil {
			return fmt.Errorf("room %s: %w", cfg.Room.ID, err)
		}
		daemons = append(daemons, d)
		if *speed > 0 {
			wg.Go(func() {
				if err := playLife(lifeCtx, cfg, *broker, *speed, *days, logFile); err != nil && lifeCtx.Err() == nil {
					fmt.Fprintf(stderr, "building: the life of room %s: %v\n", cfg.Room.ID, err)
				}
			})
		}
	}
	// Each room's key fingerprint, for a console to add the rooms with
	// (roomguard-dashboard room add --fingerprint), as make building does.
	var fps strings.Builder
	for _, d := range daemons {
		fmt.Fprintf(&fps, "%s %s\n", d.cfg.Room.ID, gateway.KeyFingerprint(d.roomKey))
	}
	if err := os.WriteFile(filepath.Join(*dir, "fingerprints"), []byte(fps.String()), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "building: %d rooms on %s (room-101 … ), logs and keys in %s, their keys' fingerprints in %s\n",
		len(daemons), *broker, *dir, filepath.Join(*dir, "fingerprints"))
	<-ctx.Done()
	return nil
}

// buildingRoom is the config of one room of the building: the template's
// devices, its own id, name, log and the building's broker.
func buildingRoom(template, principals []byte, id, name, location, dir, broker string) (*config.Config, error) {
	var keep []string
	skip := false
	for _, l := range strings.Split(string(template), "\n") {
		if l != "" && l[0] != ' ' && l[0] != '#' && l[0] != '-' {
			key, _, _ := strings.Cut(l, ":")
			skip = key == "room" || key == "storage" || key == "mqtt" || key == "notify" || key == "homeassistant" || key == "principals"
		}
		if !skip {
			keep = append(keep, l)
		}
	}
	text := fmt.Sprintf("%s\nroom: {id: %s, name: %q, location: %q}\nstorage: {path: %q}\nmqtt: {url: %q, keepalive: 30s}\n",
		strings.Join(keep, "\n"), id, name, location, filepath.Join(dir, id+".db"), broker)
	if len(principals) > 0 {
		text += "principals:\n" + string(principals)
	}
	return config.Parse([]byte(text), id+" (building)")
}

// playLife plays the life of a room in one room of the building, over the
// broker, its commands signed by the room's own command-line key.
func playLife(ctx context.Context, cfg *config.Config, broker string, speed float64, days int, log io.Writer) error {
	life := &sim.Life{Clock: sysclock.New(sysclock.Trust(cfg.Clock.Trust)), Speed: speed, Room: cfg.Room.ID,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn})).With("room", cfg.Room.ID)}
	if err := life.Check(cfg); err != nil {
		return err
	}
	key, err := wire.LoadKey(wire.LocalKeyPath(cfg.Storage.Path))
	if err != nil {
		return err
	}
	c, err := mqtt.Dial(wire.Conn{URL: broker, ClientID: "roomguard-life-" + cfg.Room.ID})
	if err != nil {
		return err
	}
	defer c.Close()
	c.Signer = &wire.Signer{Principal: gateway.LocalPrincipal, Key: key, Clock: life.Clock}
	if err := simulated(ctx, c, cfg.Room.ID); err != nil {
		return err
	}
	life.Stage = &mqttStage{c: c, topics: wire.Topics{Room: cfg.Room.ID}, timeout: 30 * time.Second}
	if err := life.Run(ctx, days); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
