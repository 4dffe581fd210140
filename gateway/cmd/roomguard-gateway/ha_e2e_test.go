package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// homeAssistant is what Home Assistant's MQTT integration sees: every
// retained message under its discovery prefix.
type homeAssistant struct {
	client   paho.Client
	mu       sync.Mutex
	retained map[string]string
}

// refusedBy tells whether the room logged a command of principal refused
// with code (w.mu held).
func refusedBy(w *watcher, principal, code string) bool {
	for _, p := range w.payloads {
		if p["type"] != "auth.refused" {
			continue
		}
		d, _ := p["data"].(map[string]any)
		if d["principal"] == principal && d["code"] == code {
			return true
		}
	}
	return false
}

func (h *homeAssistant) get(topic string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.retained[topic]
	return v, ok
}

func listenAsHomeAssistant(t *testing.T, url, id string) *homeAssistant {
	h := &homeAssistant{retained: map[string]string{}}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id))
	h.client = c
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	if tok := c.Subscribe("homeassistant/#", 1, func(_ paho.Client, m paho.Message) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.retained[m.Topic()] = string(m.Payload())
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return h
}

// Issue 32, item 1: a room described to Home Assistant. Its discovery is
// retained on the broker; the panel follows the mode (disarmed, arming,
// armed_away, triggered by an intrusion, back to armed_away once the alarm
// closes, disarmed); the installer enabled arming, so a person's code on
// Home Assistant's keypad arms the room (a wrong code and a disarming are
// refused and logged); a device gone from the config at the next start is
// removed from Home Assistant.
func TestHomeAssistantEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	m := testenv.StartMosquitto(t)
	const room = "ha-room"
	db := filepath.Join(t.TempDir(), "log.db")
	codes := filepath.Join(t.TempDir(), "ha.codes")
	line, err := homeassistant.CodeLine(room, "li.ming", "246810")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(codes, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	roomConfig := func(inputs string) *config.Config {
		cfg, err := config.Parse(fmt.Appendf(nil, `room: {id: %s, name: 机要室}
storage: {path: %s}
mqtt: {url: "%s"}
homeassistant: {arm: {codes_file: %s}}
inputs:
  - {id: door-main, kind: door,        pin: GPIO17, active: high, debounce: 0s, name: 铁门}
  - {id: ir-1,      kind: ir-detector, pin: GPIO5,  active: high, debounce: 0s}
%soutputs:
  - {id: siren, kind: siren, pin: GPIO24, active: high}
`, room, db, m.URL(), codes, inputs), "ha.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return enroll(cfg)
	}
	clock := clocktest.New(time.Date(2026, 11, 22, 22, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	d, err := startDaemon(roomConfig("  - {id: window-1,  kind: window,      pin: GPIO27, active: high, debounce: 0s}\n"),
		daemonOpts{Clock: clock, Sim: true, LogLevel: slog.LevelWarn, Stdout: io.Discard, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	w := watch(t, m.URL(), room)
	w.clock = clock
	ha := listenAsHomeAssistant(t, m.URL(), "home-assistant")
	node := "roomguard_" + room
	panel := "homeassistant/alarm_control_panel/" + node + "/panel/state"
	window := "homeassistant/binary_sensor/" + node + "/window-1/config"
	state := func(want string) {
		t.Helper()
		w.waitFor("Home Assistant's panel "+want, func() bool { s, _ := ha.get(panel); return s == want })
	}
	w.waitFor("the discovery", func() bool {
		_, a := ha.get("homeassistant/binary_sensor/" + node + "/door-main/config")
		_, b := ha.get(window)
		_, c := ha.get("homeassistant/alarm_control_panel/" + node + "/panel/config")
		return a && b && c
	})
	door, _ := ha.get("homeassistant/binary_sensor/" + node + "/door-main/config")
	var cfg map[string]any
	if err := json.Unmarshal([]byte(door), &cfg); err != nil || cfg["device_class"] != "door" || cfg["name"] != "铁门" ||
		cfg["state_topic"] != "roomguard/"+room+"/devices/door-main" {
		t.Fatalf("the door's discovery: %s (%v)", door, err)
	}
	if strings.Contains(door, "proof") {
		t.Errorf("a discovery config carries the room's proof: %s", door)
	}
	state("disarmed")

	// Armed from Home Assistant's keypad with 李明's code: the room's own
	// arming, as li.ming through the homeassistant principal.
	press := func(action, code string) {
		t.Helper()
		if tok := ha.client.Publish(homeassistant.CommandTopic("homeassistant", room), 1, false,
			fmt.Sprintf(`{"action": %q, "code": %q}`, action, code)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	press("ARM_AWAY", "000000") // nobody's code
	w.waitFor("a wrong code refused", func() bool { return refusedBy(w, "homeassistant", "unauthenticated") })
	press("ARM_AWAY", "246810")
	state("arming")
	clock.Advance(60 * time.Second) // the exit delay
	state("armed_away")
	if mode := w.get("roomguard/" + room + "/mode"); !bytes.Contains(mode, []byte(`"li.ming"`)) {
		t.Fatalf("armed by whom? %s", mode)
	}
	press("DISARM", "246810") // never
	w.waitFor("disarming refused", func() bool { return refusedBy(w, "homeassistant", "forbidden") })
	state("armed_away")
	d.sim.Drive("window-1", []byte("open"))
	state("triggered")
	var alarmTopic string
	w.waitFor("the intrusion alarm", func() bool {
		ts := w.alarmTopics(room)
		if len(ts) == 1 {
			alarmTopic = ts[0]
		}
		return len(ts) == 1
	})
	var alarm struct{ ID string }
	if err := json.Unmarshal(w.get(alarmTopic), &alarm); err != nil {
		t.Fatal(err)
	}
	if r := w.command(room, "ack", "h2", map[string]any{"by": "zhao.lei", "alarm": alarm.ID, "comment": "窗户未关好"}); r["status"] != "ok" {
		t.Fatalf("ack: %v", r)
	}
	d.sim.Drive("window-1", []byte("closed"))
	state("armed_away")
	if r := w.command(room, "disarm", "h3", map[string]any{"by": "li.ming"}); r["status"] != "ok" {
		t.Fatalf("disarm: %v", r)
	}
	state("disarmed")
	d.Stop()

	// The window leaves the config: at the next start, Home Assistant
	// loses it (an empty retained config) and keeps the rest.
	d, err = startDaemon(roomConfig(""), daemonOpts{Clock: clock, Sim: true, LogLevel: slog.LevelWarn, Stdout: io.Discard, Stderr: gatewayLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	w.waitFor("the window removed", func() bool { s, ok := ha.get(window); return ok && s == "" })
	late := listenAsHomeAssistant(t, m.URL(), "home-assistant-2")
	w.waitFor("a new Home Assistant's discovery", func() bool {
		s, _ := late.get("homeassistant/binary_sensor/" + node + "/door-main/config")
		return s != "" && bytes.Contains([]byte(s), []byte("door"))
	})
	if s, ok := late.get(window); ok {
		t.Errorf("the window is still retained: %q", s)
	}
}
