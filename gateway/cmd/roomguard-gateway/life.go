package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/mqtt"
	"github.com/roomguard/roomguard/gateway/sim"
	"github.com/roomguard/roomguard/gateway/sysclock"
	"github.com/roomguard/roomguard/gateway/wire"
)

// lifeCmd plays the life of the example room against a gateway running
// with --sim, through the broker: the simulated devices on the room's sim
// topics, the commands on its cmd topics.
func lifeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("life", flag.ContinueOnError)
	fs.SetOutput(stderr)
	r := remoteFlags(fs, 30*time.Second)
	speed := fs.Float64("speed", 1, "how much faster than real time the day is played (1: a day takes 7 minutes)")
	days := fs.Int("days", 0, "how many days to play (0: until stopped)")
	if err := fs.Parse(args); err != nil {
		return badUsage(err)
	}
	if *speed <= 0 || *speed > 1000 {
		return fmt.Errorf("--speed: %v is not between 0 and 1000", *speed)
	}
	if *days < 0 {
		return fmt.Errorf("--days: %d is negative", *days)
	}
	cfg, err := config.Load(*r.cfgPath)
	if err != nil {
		return err
	}
	life := &sim.Life{Clock: sysclock.New(sysclock.Trust(cfg.Clock.Trust)), Speed: *speed,
		Log: slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if err := life.Check(cfg); err != nil {
		return err
	}
	conn, err := r.conn(cfg)
	if err != nil {
		return err
	}
	conn.ClientID = "roomguard-life-" + cfg.Room.ID
	// the gateway (and its embedded broker) may still be starting
	var c *mqtt.Caller
	for deadline := time.Now().Add(30 * time.Second); ; {
		// its key is created at its first start
		var signer *wire.Signer
		if signer, err = r.signer(ctx, cfg); err == nil {
			if c, err = mqtt.Dial(conn); err == nil {
				c.Signer = signer
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("life: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	defer c.Close()
	if err := simulated(ctx, c, cfg.Room.ID); err != nil {
		return err
	}
	life.Stage = &mqttStage{c: c, topics: wire.Topics{Room: cfg.Room.ID}, timeout: *r.timeout}
	err = life.Run(ctx, *days)
	if ctx.Err() != nil {
		return nil // stopped
	}
	return err
}

// simulated checks that the room is online and running with --sim (a real
// room ignores the sim topics).
func simulated(ctx context.Context, c *mqtt.Caller, room string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Online(ctx, room)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("life: %w", err)
		}
		time.Sleep(time.Second) // the gateway may still be starting
	}
	p, err := c.Retained(ctx, wire.Topics{Room: room}.Status(), 3*time.Second)
	if err != nil {
		return err
	}
	var st wire.Status
	if err := json.Unmarshal(p, &st); err != nil {
		return fmt.Errorf("life: the status of room %s: %w", room, err)
	}
	if st.Sim == nil || !*st.Sim {
		return fmt.Errorf("life: room %s is not simulated: start its gateway with run --sim", room)
	}
	return nil
}

// mqttStage is the simulated room and its commands, over the broker.
type mqttStage struct {
	c       *mqtt.Caller
	topics  wire.Topics
	timeout time.Duration
}

func (s *mqttStage) Input(device, state string) error {
	return s.c.Publish(s.topics.SimInput(device), []byte(state))
}

func (s *mqttStage) Badge(reader, card string) error {
	return s.c.Publish(s.topics.SimBadge(reader), []byte(card))
}

func (s *mqttStage) Tags(reader string, antenna int, epcs ...string) error {
	return s.c.Publish(s.topics.SimTags(reader, antenna), []byte(strings.Join(epcs, " ")))
}

func (s *mqttStage) Command(ctx context.Context, name string, args map[string]any) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	reply, err := s.c.Call(ctx, s.topics.Room, name, args)
	if err != nil {
		return err
	}
	return reply.Err()
}
