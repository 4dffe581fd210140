package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// The findings of issue 19 that need the whole gateway: its embedded broker,
// its commands, its log.

const limitsRoomYAML = `room: {id: %s, name: 机要室}
storage: {path: %s}
mqtt: {embedded: {listen: "127.0.0.1:0"}}
limits: {persons: 50, carriers: 50}
inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high, debounce: 0s}
`

// startEmbedded starts the room of yaml (its %s: room id, log path) on its
// embedded broker and returns a guard station watching it and the broker's
// URL.
func startEmbedded(t *testing.T, room, yaml string) (*daemon, *watcher, string) {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, yaml, room, filepath.Join(t.TempDir(), "log.db")), "room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out testenv.SyncBuffer
	clock := clocktest.New(time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	d, err := startDaemon(enroll(cfg), daemonOpts{Clock: clock, Sim: true, LogLevel: slog.LevelWarn, Stdout: &out, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	m := regexp.MustCompile(`broker: (tcp://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no broker address in %q", out.String())
	}
	w := watch(t, m[1], room)
	w.clock = clock
	w.waitFor("online", func() bool { return bytes.Contains(w.topics["roomguard/"+room+"/status"], []byte(`"online"`)) })
	return d, w, m[1]
}

// Item 4: every command is bounded before it is parsed, a register by its
// count before it is installed, and the embedded broker cuts a client off
// before it reads a packet longer than the largest command.
func TestOversizedCommandsAreRefused(t *testing.T) {
	room := "e2e-limits"
	_, w, url := startEmbedded(t, room, limitsRoomYAML)
	refused := func(rep map[string]any, contains string) {
		t.Helper()
		e, _ := rep["error"].(map[string]any)
		if rep["status"] != "error" || e["code"] != gateway.EINVALID || !strings.Contains(fmt.Sprint(e["message"]), contains) {
			t.Fatalf("want refused with %q, got %v", contains, rep)
		}
	}

	// A command longer than its bound is refused unread: its id is not even
	// looked for, so the reply goes to reply/unknown.
	unread := func(cmd string, payload []byte, contains string) {
		t.Helper()
		topic := "roomguard/" + room + "/reply/unknown"
		w.mu.Lock()
		delete(w.topics, topic)
		w.mu.Unlock()
		w.client.Publish("roomguard/"+room+"/cmd/"+cmd, 1, false, payload).Wait()
		w.waitFor(topic, func() bool { return w.topics[topic] != nil })
		if got := string(w.get(topic)); !strings.Contains(got, contains) {
			t.Fatalf("reply to an oversized %s: %s", cmd, got)
		}
	}
	unread("arm", fmt.Appendf(nil, `{"id":"big-1","by":"li.ming","pad":"%s"}`, strings.Repeat("x", gateway.CommandBytes)),
		fmt.Sprintf("more than %d", gateway.CommandBytes))

	// 51 people when the room takes 50: refused, naming the setting; the
	// register is not touched.
	refused(w.command(room, "personnel/replace", "reg-51", map[string]any{"by": "p-1", "version": 1, "csv": personnelCSV(51)}),
		"more than 50 people: the room takes no more (limits.persons)")
	// A register longer than 50 rows may be in bytes: refused by its size.
	long, _ := json.Marshal(map[string]any{"id": "reg-long", "by": "p-1", "version": 1,
		"csv": personnelCSV(4) + strings.Repeat(strings.Repeat(" ", 1000)+"\n", gateway.RegisterBytes(50)/1000)})
	unread("personnel/replace", long, fmt.Sprintf("more than %d", gateway.RegisterBytes(50)))
	w.mu.Lock()
	held := w.topics["roomguard/"+room+"/personnel"]
	w.mu.Unlock()
	if !bytes.Contains(held, []byte(`"version":0`)) {
		t.Fatalf("the register changed: %s", held)
	}
	// 50 fit.
	if rep := w.command(room, "personnel/replace", "reg-50", map[string]any{"by": "p-1", "version": 1, "csv": personnelCSV(50)}); rep["status"] != "ok" {
		t.Fatalf("50 people: %v", rep)
	}

	// A packet longer than the largest command the room takes: the broker
	// cuts the sender off; the room stays online and answers.
	lost := make(chan error, 1)
	o := paho.NewClientOptions().AddBroker(url).SetClientID("flooder").SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	flooder := paho.NewClient(o)
	if tok := flooder.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer flooder.Disconnect(0)
	limits := config.Limits{Persons: 50, Carriers: 50}.Room()
	flooder.Publish("roomguard/"+room+"/cmd/personnel/replace", 1, false, make([]byte, limits.PacketBytes()+1))
	select {
	case <-lost:
	case <-time.After(30 * time.Second):
		t.Fatal("the broker took a packet longer than its limit")
	}
	if rep := w.command(room, "disarm", "after-flood", map[string]any{"by": "p-0"}); rep["status"] != "error" || !strings.Contains(fmt.Sprint(rep["error"]), "not armed") {
		t.Fatalf("the room after the flood: %v", rep)
	}
	if !bytes.Contains(w.get("roomguard/"+room+"/status"), []byte(`"online"`)) {
		t.Fatal("the room went offline")
	}
}

// Issue 27, finding 2: the storage-low warning comes long before the disk
// is full (90 % used or under 50 MB free, by default), and its going away
// is logged.
func TestStorageLowWarnsBeforeTheDiskIsFull(t *testing.T) {
	room := "e2e-storage"
	d, w, _ := startEmbedded(t, room, limitsRoomYAML)
	const mb = 1 << 20
	var total, free uint64 = 1000 * mb, 500 * mb
	space := func() (uint64, uint64, error) { return total, free, nil }
	s := config.Storage{}
	low := d.jobs.CheckStorage(s, space, false)
	if low {
		t.Fatal("storage-low at half full")
	}
	free = 80 * mb // 92 % used
	if low = d.jobs.CheckStorage(s, space, low); !low {
		t.Fatal("no storage-low at 92 % used")
	}
	alarm := func() map[string]any {
		for _, topic := range w.alarmTopics(room) {
			var a map[string]any
			json.Unmarshal(w.get(topic), &a)
			if a["class"] == "storage-low" {
				return a
			}
		}
		return nil
	}
	w.waitFor("the storage-low alarm", func() bool {
		for topic, p := range w.topics {
			if strings.Contains(topic, "/alarms/") && strings.Contains(string(p), `"storage-low"`) {
				return true
			}
		}
		return false
	})
	if a := alarm(); a == nil || !strings.Contains(fmt.Sprint(a["detail"]), "92% full") {
		t.Fatalf("the storage-low alarm: %v", a)
	}
	if low = d.jobs.CheckStorage(s, space, low); !low {
		t.Fatal("still low, but the alarm went")
	}
	free = 400 * mb
	if low = d.jobs.CheckStorage(s, space, low); low {
		t.Fatal("storage-low stays with room again")
	}
	w.waitFor("the storage-low alarm restored", func() bool {
		for topic, p := range w.topics {
			if strings.Contains(topic, "/alarms/") && strings.Contains(string(p), `"storage-low"`) && strings.Contains(string(p), `"restored"`) {
				return true
			}
		}
		return false
	})
	// Under 50 MB free on a large disk is low too.
	total, free = 100_000*mb, 40*mb
	if !d.jobs.CheckStorage(s, space, false) {
		t.Fatal("no storage-low with 40 MB free")
	}
}
