package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/firmware-bridge/emu"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

var (
	firmwareOnce sync.Once
	firmwareDir  string
	firmwareErr  error
)

// firmware builds the board firmware and its emulator once per test process.
func firmware(t testing.TB) string {
	firmwareOnce.Do(func() {
		firmwareDir, firmwareErr = filepath.Abs(filepath.Join("testdata", "..", "..", "..", "..", "bin", "test-firmware"))
		if firmwareErr == nil {
			_, _, firmwareErr = emu.Build(firmwareDir)
		}
	})
	if firmwareErr != nil {
		t.Fatal(firmwareErr)
	}
	return firmwareDir
}

// boardRoom is a room whose north window, archive IR detector, safe C's
// lock and a strobe are on a firmware-bridge board.
const boardRoomYAML = `room: {id: %s, name: 机要室 302}
storage: {path: %s}
mqtt: {url: "%s"}
inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high}
boards:
  - id: board-1
    name: 报警控制板
    path: /dev/ttyUSB3
    zones:
      - {zone: 0, id: window-north, name: 北窗, kind: window}
      - {zone: 1, id: ir-archive, name: 档案区红外, kind: ir-detector}
    locks:
      - {lock: 0, id: safe-c-lock, name: 保密柜C电子锁, bolt: safe-c-bolt, door: safe-c-door, release: 500ms}
    relays:
      - {relay: 1, id: strobe, name: 警灯, kind: siren}
safes:
  - {id: safe-c, name: 保密柜C, bolt: safe-c-bolt, door: safe-c-door}
`

// The board in the simulated room is the real firmware in simavr: the
// gateway sees its zones and lock through the protocol and publishes what
// they do, like any other device.
func TestBoardInTheSimulatedRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	fw := firmware(t)
	m := testenv.StartMosquitto(t)
	const room = "board-room"
	dir := t.TempDir()
	yaml := fmt.Appendf(nil, boardRoomYAML, room, filepath.Join(dir, "log.db"), m.URL())
	cfgFile := filepath.Join(dir, "board.yaml")
	os.WriteFile(cfgFile, yaml, 0o600)
	cfg, err := config.Parse(yaml, cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, m.URL(), room)
	d, err := startDaemon(enroll(cfg), daemonOpts{Sim: true, Firmware: fw, LogLevel: slog.LevelWarn, Stdout: io.Discard, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	w.patience = 30e9 // the emulator runs in real time on a shared machine
	// seen waits for an event of type on device, after the ones already seen.
	from := 0
	seen := func(typ, device string, data ...string) {
		t.Helper()
		w.waitFor(typ+" "+device+fmt.Sprint(data), func() bool {
			for i := from; i < len(w.payloads); i++ {
				p := w.payloads[i]
				if p["type"] != typ || p["device"] != device {
					continue
				}
				b, _ := json.Marshal(p)
				ok := true
				for _, s := range data {
					ok = ok && bytes.Contains(b, []byte(s))
				}
				if ok {
					from = i + 1
					return true
				}
			}
			return false
		})
	}
	drive := func(device, word string) {
		t.Helper()
		if err := d.sim.Drive(device, []byte(word)); err != nil {
			t.Fatal(err)
		}
	}
	seen("board.hello", "board-1", `"zones":4`, `"locks":2`, `"reset_cause":"[power-on]"`)

	drive("window-north", "open")
	seen("window.opened", "window-north")
	drive("window-north", "tamper-cut")
	seen("alarm.raised", "window-north", `"class":"tamper"`, "tamper-cut")
	// Tamper alarms in every mode, audibly: the siren on the board's relay 1
	// (PB5) sounds.
	w.waitFor("the siren on", func() bool {
		return slices.ContainsFunc(w.payloads, func(p map[string]any) bool { return p["type"] == "output.on" && p["device"] == "strobe" })
	})
	w.waitFor("the relay's pin driven", func() bool { on, _ := d.sim.BoardPin("board-1", 'B', 5); return on })
	// A cut supervised line refuses arming and sealing, naming it.
	for _, c := range []struct{ cmd, id string }{{"arm", "x1"}, {"seal", "x2"}} {
		r := w.command(room, c.cmd, c.id, map[string]any{"by": "li.ming"})
		if e, _ := r["error"].(map[string]any); r["status"] != "error" || !strings.Contains(fmt.Sprint(e["reasons"], e["message"]), "window-north") {
			t.Errorf("%s with a cut line: %v", c.cmd, r)
		}
	}
	drive("window-north", "tamper-short")
	seen("alarm.repeated", "window-north", `"class":"tamper"`)
	drive("window-north", "closed")
	seen("window.closed", "window-north")
	seen("alarm.restored", "window-north", `"class":"tamper"`)
	drive("ir-archive", "fault")
	seen("alarm.raised", "ir-archive", `"class":"device-fault"`)
	drive("ir-archive", "idle")
	seen("alarm.restored", "ir-archive")

	// The safe is released through the board: its solenoid draws the bolt
	// back, the door is opened and shut, and the bolt is thrown again.
	if r := w.command(room, "safe/release", "r1", map[string]any{"by": "li.ming", "safe": "safe-c", "reason": "取阅文件"}); r["status"] != "ok" {
		t.Fatalf("release: %v", r)
	}
	seen("lock.release", "safe-c-lock", `"by":"li.ming"`, `"done":true`, `"release_ms":500`)
	seen("safe.unlocked", "safe-c-bolt")
	drive("safe-c-door", "open")
	seen("safe.opened", "safe-c-door")
	drive("safe-c-door", "closed")
	seen("safe.closed", "safe-c-door")
	seen("safe.locked", "safe-c-bolt")
	drive("safe-c-lock", "cover-open")
	seen("alarm.raised", "safe-c-lock", `"class":"tamper"`, "cover opened")
	drive("safe-c-lock", "cover-closed")
	seen("alarm.restored", "safe-c-lock", `"class":"tamper"`)

	for id, cmd := range map[string]map[string]any{
		"r2": {"by": "li.ming", "safe": "safe-z", "reason": "x"},             // no such safe
		"r3": {"by": "li.ming", "safe": "safe-c"},                            // no reason
		"r4": {"by": "li.ming", "safe": "safe-c", "reason": "  "},            // an empty one
		"r5": {"by": "li.ming", "safe": "safe-c", "reason": "x", "ms": 9999}, // what is not asked for
	} {
		if r := w.command(room, "safe/release", id, cmd); r["status"] != "error" {
			t.Errorf("%v: %v", cmd, r)
		}
	}

	// A power cut: the board falls silent; back, it says HELLO with a new
	// boot count, logged as a reset.
	w.mu.Lock()
	beforePowerCut := len(w.payloads)
	w.mu.Unlock()
	drive("board-1", "power-off")
	seen("alarm.raised", "board-1", `"class":"board-silent"`)
	drive("board-1", "power-on")
	seen("alarm.restored", "board-1", `"class":"board-silent"`)
	seen("board.reset", "board-1", `"reset_cause":"[power-on]"`)
	drive("board-1", "reset")
	seen("board.reset", "board-1", `"reset_cause":"[external]"`)

	// From the command line, through the running gateway.
	var out bytes.Buffer
	if err := Main(t.Context(), []string{"safe", "release", "--config", cfgFile, "--by", "wang.fang", "--safe", "safe-c", "--reason", "归还文件"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	seen("lock.release", "safe-c-lock", `"by":"wang.fang"`, `"reason":"归还文件"`)
	seen("safe.unlocked", "safe-c-bolt")
	seen("safe.locked", "safe-c-bolt") // the release ended with the door shut: thrown again

	// No power cycle or reset raised a tamper on the lock: the board waits
	// for its first debounced reading (issue 16).
	w.mu.Lock()
	var open []string
	for i, p := range w.payloads {
		if p["type"] != "alarm.raised" {
			continue
		}
		data, _ := p["data"].(map[string]any)
		if i >= beforePowerCut && p["device"] == "safe-c-lock" && data["class"] == "tamper" {
			t.Errorf("a tamper on the lock: %v", p)
		}
		open = append(open, fmt.Sprint(data["alarm"]))
	}
	w.mu.Unlock()
	// The alarms above are acknowledged: an open tamper or fault alarm
	// refuses arming.
	for i, id := range open {
		r := w.command(room, "ack", fmt.Sprintf("k%d", i), map[string]any{"by": "zhao.lei", "alarm": id, "comment": "tested"})
		if e, _ := r["error"].(map[string]any); r["status"] != "ok" && e["code"] != "conflict" && e["code"] != "notfound" {
			t.Fatalf("ack %s: %v", id, r)
		}
	}

	// Armed, no safe is released.
	if r := w.command(room, "arm", "a1", map[string]any{"by": "li.ming"}); r["status"] != "ok" {
		w.mu.Lock()
		for _, p := range w.payloads {
			t.Log(p["type"], p["device"], p["data"])
		}
		w.mu.Unlock()
		t.Fatalf("arm: %v", r)
	}
	r := w.command(room, "safe/release", "r6", map[string]any{"by": "li.ming", "safe": "safe-c", "reason": "x"})
	if e, _ := r["error"].(map[string]any); r["status"] != "error" || e["code"] != "conflict" {
		t.Errorf("release while armed: %v", r)
	}
	w.mu.Lock()
	for _, b := range w.bad {
		t.Errorf("invalid message %s", b)
	}
	var types []string
	for _, p := range w.payloads {
		types = append(types, fmt.Sprint(p["type"]))
	}
	w.mu.Unlock()
	if slices.Contains(types, "board.error") {
		t.Errorf("the board refused something: %v", types)
	}
}

// BenchmarkLatencyBoardZoneToSubscriber measures a supervised zone changing
// at the board's ADC pin → the real firmware in simavr (an ATmega328P at
// 16 MHz, paced to real time: the emulated clock never runs ahead of the
// wall clock) reading it every 10 ms and debouncing it over 50 ms → its ZONE
// frame over the UART (57600 baud) on a pseudo-terminal → the link, the
// engine, the SQLite commit, the publisher, Mosquitto → a subscriber. The
// firmware's 50 ms debounce is in the figure by design; next to it, the bare
// broker round trip in the same run.
func BenchmarkLatencyBoardZoneToSubscriber(b *testing.B) {
	fw := firmware(b)
	m := testenv.StartMosquitto(b)
	cfg, err := config.Parse(fmt.Appendf(nil, `room: {id: bench-room, name: 基准室}
storage: {path: %s/log.db}
mqtt: {url: %q}
clock: {trust: always}
inputs:
  - {id: door-main, kind: door, pin: GPIO17, active: high}
boards:
  - id: board-1
    path: /dev/ttyUSB3
    zones: [{zone: 0, id: window-north, kind: window}]
`, b.TempDir(), m.URL()), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d, err := startDaemon(enroll(cfg), daemonOpts{Sim: true, Firmware: fw, LogLevel: slog.LevelError, Stdout: io.Discard, Stderr: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Stop)
	events := make(chan string, 16)
	pr := newProbe(b, m.URL(), d, "roomguard/bench-room/events", func(_ paho.Client, msg paho.Message) {
		var e struct{ Type string }
		json.Unmarshal(msg.Payload(), &e)
		events <- e.Type
	})
	for got := ""; got != "board.hello"; {
		select {
		case got = <-events:
		case <-time.After(30 * time.Second):
			b.Fatal("the board never said hello")
		}
	}
	drainTypes(events)

	whole, broker := toggleLatencies(b, pr, events, func(state string) error { return d.sim.Drive("window-north", []byte(state)) },
		[2]string{"open", "closed"}, [2]string{"window.opened", "window.closed"})
	whole.Report(b, "whole")
	broker.Report(b, "bare")
	for _, p := range d.sim.Ports {
		if p.Emulator != "" {
			b.Logf("the board: the firmware on an emulated %s, paced to real time", p.Emulator)
		}
	}
}
