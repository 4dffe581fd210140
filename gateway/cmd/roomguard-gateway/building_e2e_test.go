package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/sqlite"
	"github.com/roomguard/roomguard/gateway/testenv"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Issue 33, item 1: a building of simulated rooms in one process on one
// Mosquitto. Each is a room of its own — its own log, key, session and last
// will — named by floor; an input driven in each is its own room's event;
// the life of a room plays in each when asked; stopped, each says offline.
func TestBuildingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	m := testenv.StartMosquitto(t)
	var mu sync.Mutex
	status := map[string]wire.Status{}
	events := map[string][]string{}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID("building-watch"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	sub.Subscribe("roomguard/+/#", 1, func(_ paho.Client, msg paho.Message) {
		parts := strings.Split(msg.Topic(), "/")
		mu.Lock()
		defer mu.Unlock()
		switch {
		case len(parts) == 3 && parts[2] == "status":
			var st wire.Status
			if json.Unmarshal(msg.Payload(), &st) == nil {
				status[parts[1]] = st
			}
		case len(parts) == 3 && parts[2] == "events":
			var e struct{ Type string }
			if json.Unmarshal(msg.Payload(), &e) == nil {
				events[parts[1]] = append(events[parts[1]], e.Type)
			}
		}
	}).WaitTimeout(5 * time.Second)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; status %v, events %v", what, status, events)
			}
		}
	}
	dir := t.TempDir()
	run := func(args ...string) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Main(ctx, append([]string{"building", "--broker", m.URL(), "--config", "../../../examples/room.yaml", "--dir", dir}, args...), io.Discard, io.Discard)
		}()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("building: %v", err)
			}
		}
	}
	stop := run("--rooms", "3", "--per-floor", "2")
	rooms := []string{"room-101", "room-102", "room-201"}
	wait("three rooms online", func() bool {
		keys := map[string]bool{}
		for _, r := range rooms {
			if status[r].State != "online" {
				return false
			}
			keys[status[r].Key] = true
		}
		return len(keys) == 3 // a key each
	})
	mu.Lock()
	if status["room-201"].Name != "2楼 201室" {
		t.Errorf("room-201 is named %q", status["room-201"].Name)
	}
	mu.Unlock()
	for _, r := range rooms {
		sub.Publish(wire.Topics{Room: r}.SimInput("window-east"), 1, false, "open").WaitTimeout(5 * time.Second)
	}
	wait("each room's own window", func() bool {
		for _, r := range rooms {
			if !strings.Contains(strings.Join(events[r], " "), "window.opened") {
				return false
			}
		}
		return true
	})
	stop()
	wait("every room offline", func() bool {
		for _, r := range rooms {
			if status[r].State != "offline" {
				return false
			}
		}
		return true
	})
	for _, r := range rooms {
		rd, err := sqlite.OpenReader(filepath.Join(dir, r+".db"))
		if err != nil {
			t.Fatal(err)
		}
		room, err := rd.Room()
		seq, _ := rd.LastSeq()
		rd.Close()
		if err != nil || room != r || seq < 3 {
			t.Errorf("%s's log: room %q, %d events (%v)", r, room, seq, err)
		}
		if _, err := os.Stat(filepath.Join(dir, r+".room.key")); err != nil {
			t.Errorf("%s has no key of its own: %v", r, err)
		}
	}

	// The life of a room, played fast in a building of one.
	stop = run("--rooms", "1", "--speed", "400", "--days", "1")
	defer stop()
	wait("the day played in room-101", func() bool {
		e := strings.Join(events["room-101"], " ")
		return strings.Contains(e, "access.granted") && strings.Contains(e, "carrier.signed_out")
	})
}
