package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway/clocktest"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/testenv"
)

// The room's rules of issue 16 end to end: the daemon on an injected clock,
// Mosquitto, a guard station subscribed to the room.

const rulesRoomYAML = `room: {id: %s, name: 机要室}
storage: {path: %s}
mqtt: {url: "%s"}
inputs:
  - {id: door-main, kind: door,        pin: GPIO17, active: high, debounce: 0s}
  - {id: window-1,  kind: window,      pin: GPIO27, active: high, debounce: 0s}
  - {id: ir-1,      kind: ir-detector, pin: GPIO5,  active: high, debounce: 0s}
  - {id: tamper-1,  kind: tamper,      pin: GPIO6,  active: high, debounce: 0s}
  - {id: smoke-1,   kind: smoke,       pin: GPIO13, active: high, debounce: 0s}
  - {id: leak-1,    kind: water-leak,  pin: GPIO19, active: high, debounce: 0s}
outputs:
  - {id: siren, kind: siren, pin: GPIO24, active: high}
`

type rulesRig struct {
	t     *testing.T
	room  string
	cfg   *config.Config
	clock *clocktest.Clock
	d     *daemon
	w     *watcher
	m     *testenv.Mosquitto
	http  string // where the health endpoints answer ("": nowhere)
}

func newRulesRig(t *testing.T, room string) *rulesRig { return newRulesRigWith(t, room, "", "") }

// newRulesRigWith is the rules room with more config (extra, appended) and
// its health endpoints at addr ("": none).
func newRulesRigWith(t *testing.T, room, extra, addr string) *rulesRig {
	t.Helper()
	m := testenv.StartMosquitto(t)
	cfg, err := config.Parse(fmt.Appendf(nil, rulesRoomYAML+extra, room, filepath.Join(t.TempDir(), "log.db"), m.URL()), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &rulesRig{t: t, room: room, cfg: enroll(cfg), clock: clocktest.New(time.Date(2026, 11, 22, 18, 0, 0, 0, time.FixedZone("CST", 8*3600))),
		m: m, http: addr}
	r.start()
	r.w = watch(t, m.URL(), room)
	r.w.clock = r.clock
	r.w.waitFor("online", func() bool { return bytes.Contains(r.w.topics[r.topic("status")], []byte(`"online"`)) })
	return r
}

func (r *rulesRig) start() {
	r.t.Helper()
	d, err := startDaemon(r.cfg, daemonOpts{Clock: r.clock, Sim: true, LogLevel: slog.LevelWarn, HTTP: r.http, Stdout: io.Discard, Stderr: gatewayLog(r.t)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
	r.t.Cleanup(d.Stop)
}

func (r *rulesRig) topic(s string) string { return "roomguard/" + r.room + "/" + s }

func (r *rulesRig) drive(device, word string) {
	r.t.Helper()
	if err := r.d.sim.Drive(device, []byte(word)); err != nil {
		r.t.Fatal(err)
	}
	r.w.waitFor(device+" "+word, func() bool {
		return bytes.Contains(r.w.topics[r.topic("devices/"+device)], []byte(`"state":"`+word+`"`))
	})
}

func (r *rulesRig) ok(cmd, id string, fields map[string]any) map[string]any {
	r.t.Helper()
	rep := r.w.command(r.room, cmd, id, fields)
	if rep["status"] != "ok" {
		r.t.Fatalf("%s: %v", cmd, rep)
	}
	res, _ := rep["result"].(map[string]any)
	return res
}

// retainedAlarm waits for a retained alarm of class and returns it.
func (r *rulesRig) retainedAlarm(class string) map[string]any {
	r.t.Helper()
	var a map[string]any
	r.w.waitFor("a retained "+class+" alarm", func() bool { a = r.alarmOf(class); return a != nil })
	return a
}

// alarmOf is the retained alarm of class, nil when there is none (r.w.mu
// held: inside a waitFor).
func (r *rulesRig) alarmOf(class string) map[string]any {
	for _, topic := range r.w.alarmTopics(r.room) {
		var x map[string]any
		if json.Unmarshal(r.w.topics[topic], &x) == nil && x["class"] == class {
			return x
		}
	}
	return nil
}

// get asks the gateway's health endpoints (newRulesRigWith's addr).
func (r *rulesRig) get(path string) (int, string) {
	r.t.Helper()
	res, err := http.Get("http://" + r.d.health + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// ackAll acknowledges every retained alarm.
func (r *rulesRig) ackAll(prefix string) {
	r.t.Helper()
	r.w.mu.Lock()
	var ids []string
	for _, topic := range r.w.alarmTopics(r.room) {
		ids = append(ids, strings.TrimPrefix(topic, r.topic("alarms/")))
	}
	r.w.mu.Unlock()
	for i, id := range ids {
		rep := r.w.command(r.room, "ack", fmt.Sprintf("%s%d", prefix, i), map[string]any{"by": "zhao.lei", "alarm": id, "comment": "已现场核查"})
		if e, _ := rep["error"].(map[string]any); rep["status"] != "ok" && e["code"] != "conflict" {
			r.t.Fatalf("ack %s: %v", id, rep)
		}
	}
}

// The door left open, with motion, through the exit delay: not armed, and a
// retained exit-fault alarm names the door.
func TestExitFaultEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRig(t, "exit-room")
	r.ok("arm", "a1", map[string]any{"by": "li.ming"})
	r.drive("door-main", "open")
	r.drive("ir-1", "motion")
	r.clock.Advance(60 * time.Second)
	r.w.waitFor("open again", func() bool {
		return bytes.Contains(r.w.topics[r.topic("mode")], []byte(`"mode":"open"`))
	})
	a := r.retainedAlarm("exit-fault")
	if d := fmt.Sprint(a["detail"]); !strings.Contains(d, "door-main") || !strings.Contains(d, "ir-1") {
		t.Fatalf("exit fault %v does not name the door and the detector", a)
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for _, e := range r.w.events {
		if e == "mode.armed" {
			t.Fatal("the room armed with its door open")
		}
	}
	for _, b := range r.w.bad {
		t.Errorf("invalid message %s", b)
	}
}

// Motion and a tamper during a seal: the report is broken and names both.
// A gateway stopped during another seal: the report is unverified and gives
// the downtime.
func TestSealVerdictsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRig(t, "seal-room")
	seal := func(id string) {
		r.ok("seal", id+"a", map[string]any{"by": "li.ming", "session": "s1"})
		r.ok("seal", id+"b", map[string]any{"by": "wang.fang", "session": "s2"})
		r.w.waitFor("sealed", func() bool { return bytes.Contains(r.w.topics[r.topic("mode")], []byte(`"sealed"`)) })
	}
	unseal := func(id string) map[string]any {
		r.ok("unseal", id+"a", map[string]any{"by": "wang.fang", "session": "s2"})
		res := r.ok("unseal", id+"b", map[string]any{"by": "zhao.lei", "session": "s3"})
		reportTopic := r.topic("seal-reports/" + fmt.Sprint(res["seal_id"]))
		r.w.waitFor("the seal report", func() bool { return r.w.topics[reportTopic] != nil })
		var rep map[string]any
		if err := json.Unmarshal(r.w.get(reportTopic), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}

	seal("s1")
	r.clock.Advance(24 * time.Hour)
	r.drive("ir-1", "motion")
	r.drive("ir-1", "idle")
	r.drive("tamper-1", "tamper")
	r.drive("tamper-1", "normal")
	r.retainedAlarm("tamper")
	r.ackAll("k")
	rep := unseal("u1")
	causes := fmt.Sprint(rep["causes"])
	if rep["verdict"] != "broken" || !strings.Contains(causes, "ir-1") || !strings.Contains(causes, "tamper-1") {
		t.Fatalf("verdict %v, causes %s", rep["verdict"], causes)
	}
	r.w.waitFor("every alarm closed", func() bool { return len(r.w.alarmTopics(r.room)) == 0 })

	seal("s2")
	r.clock.Advance(time.Hour)
	r.d.Stop()
	r.clock.Advance(5 * time.Hour)
	r.start()
	r.w.waitFor("online again", func() bool { return bytes.Contains(r.w.topics[r.topic("status")], []byte(`"online"`)) })
	rep = unseal("u2")
	down, _ := rep["downtime"].([]any)
	if rep["verdict"] != "unverified" || len(down) != 1 {
		t.Fatalf("verdict %v, downtime %v, causes %v", rep["verdict"], rep["downtime"], rep["causes"])
	}
	span, _ := down[0].(map[string]any)
	if span["from"] != "2026-11-23T19:00:00.000+08:00" || span["to"] != "2026-11-24T00:00:00.000+08:00" {
		t.Errorf("downtime %v, want 19:00 to 00:00", span)
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for _, b := range r.w.bad {
		t.Errorf("invalid message %s", b)
	}
}

// Issue 32, item 5 (四防): through the simulated pins and Mosquitto, smoke
// raises the priority-1 fire alarm and sounds the siren in an open room;
// water on the floor raises the priority-2 water alarm; each retained for
// the consoles, and restored with its input.
func TestFireAndWaterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRig(t, "e2e-fourdefences")
	r.drive("smoke-1", "smoke")
	fire := r.retainedAlarm("fire")
	if fire["priority"] != float64(1) || fire["device"] != "smoke-1" {
		t.Fatalf("fire %v", fire)
	}
	r.w.waitFor("the siren", func() bool { return bytes.Contains(r.w.topics[r.topic("devices/siren")], []byte(`"state":"on"`)) })
	r.drive("leak-1", "leak")
	if water := r.retainedAlarm("water"); water["priority"] != float64(2) {
		t.Fatalf("water %v", water)
	}
	r.drive("leak-1", "dry")
	r.w.waitFor("the water alarm restored", func() bool {
		for _, topic := range r.w.alarmTopics(r.room) {
			var x map[string]any
			if json.Unmarshal(r.w.topics[topic], &x) == nil && x["class"] == "water" && x["restored_at"] != nil {
				return true
			}
		}
		return false
	})
}

// Issue 32, item 5 (防潮): a climate sensor (the real Modbus RTU driver
// against a simulated XY-MD02 on a pseudo-terminal) through Mosquitto: its
// readings in its retained state; too damp raises the environment alarm,
// retained with why; back to normal restores it; a sensor that stops
// answering is a device fault, restored when it answers again.
func TestClimateEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRigWith(t, "e2e-climate", `serial:
  - {id: th-safes, name: 保密柜区温湿度, kind: climate-modbus, path: /dev/ttyUSB7, address: 2, every: 1s}
climate: {humidity_max: 65}
`, "127.0.0.1:0")
	state := func(what string, cond func(st map[string]any) bool) {
		t.Helper()
		r.w.waitFor(what, func() bool {
			var st map[string]any
			return json.Unmarshal(r.w.topics[r.topic("devices/th-safes")], &st) == nil && cond(st)
		})
	}
	reading := func(st map[string]any) (float64, float64) {
		r, _ := st["reading"].(map[string]any)
		t, _ := r["temperature_c"].(float64)
		h, _ := r["humidity_rh"].(float64)
		return t, h
	}
	state("the sensor's first reading (22 °C, 50 %)", func(st map[string]any) bool {
		t, h := reading(st)
		return t == 22 && h == 50 && st["state"] == "normal" && st["kind"] == "climate"
	})
	drive := func(payload string) {
		t.Helper()
		if err := r.d.sim.Drive("th-safes", []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	drive(`{"temperature_c": 24.3, "humidity_rh": 71.5}`)
	if a := r.retainedAlarm("environment"); a["device"] != "th-safes" || !strings.Contains(fmt.Sprint(a["detail"]), "too damp: 71.5 % RH (limit 65 %)") {
		t.Fatalf("the environment alarm %v", a)
	}
	state("out of range", func(st map[string]any) bool { _, h := reading(st); return st["state"] == "out-of-range" && h == 71.5 })
	drive(`{"temperature_c": 23, "humidity_rh": 55}`)
	state("normal again", func(st map[string]any) bool { return st["state"] == "normal" })
	r.w.waitFor("the environment alarm restored", func() bool { return r.alarmOf("environment")["restored_at"] != nil })
	drive("silent")
	if a := r.retainedAlarm("device-fault"); a["device"] != "th-safes" {
		t.Fatalf("the fault %v", a)
	}
	// Issue 32, item 3: a serial device that stops answering (supervised
	// as the readers are) makes the gateway not ready, naming it.
	if code, body := r.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "th-safes") {
		t.Fatalf("readyz with the sensor silent: %d %s", code, body)
	}
	drive("answer")
	r.w.waitFor("the fault restored", func() bool { return r.alarmOf("device-fault")["restored_at"] != nil })
	if code, body := r.get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz with the sensor back: %d %s", code, body)
	}
	if err := r.d.sim.Drive("th-safes", []byte(`{"temperature_c": 200, "humidity_rh": 55}`)); err == nil || !strings.Contains(err.Error(), "-40 to 125") {
		t.Fatalf("an impossible reading driven: %v", err)
	}
	if len(r.w.bad) > 0 {
		t.Fatalf("invalid messages: %v", r.w.bad)
	}
}

// Issue 32, item 4: with --log-format json every line the running gateway
// writes is a JSON object with a level and a message.
func TestJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRig(t, "e2e-jsonlog")
	r.d.Stop()
	var buf testenv.SyncBuffer
	d, err := startDaemon(r.cfg, daemonOpts{Clock: r.clock, Sim: true, LogLevel: slog.LevelInfo, LogFormat: "json", Stdout: io.Discard, Stderr: &buf})
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	r.drive("tamper-1", "tamper")
	d.Stop()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] == nil || m["msg"] == nil {
			t.Fatalf("line %d is no JSON log line (%v): %s", i+1, err, l)
		}
	}
}

// Issue 32, item 3: /healthz answers while the gateway lives; /readyz is
// ready with the log, the broker and the devices well, and says what is
// wrong (503) when the broker is gone.
func TestHealthEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	r := newRulesRigWith(t, "e2e-health", "", "127.0.0.1:0")
	m, d, get := r.m, r.d, r.get
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get("/readyz")
		if code == 200 && strings.Contains(body, `"ready":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Issue 32, item 2: the metrics change as events flow.
	metric := func(name string) float64 { // read with Prometheus's text parser
		t.Helper()
		_, body := get("/metrics")
		s, err := testenv.Samples(body)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := s[name]; ok {
			return v
		}
		return -1
	}
	before := metric("roomguard_events_logged")
	if err := d.sim.Drive("tamper-1", []byte("tamper")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); metric("roomguard_events_logged") <= before || metric(`roomguard_open_alarms{class="tamper",priority="3"}`) != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			_, body := get("/metrics")
			t.Fatalf("the metrics did not follow the tamper alarm:\n%s", body)
		}
	}
	if metric("roomguard_broker_up") != 1 {
		t.Fatal("broker_up is not 1")
	}
	if metric("roomguard_commit_seconds_count") < 1 || metric(`roomguard_commit_seconds_bucket{le="+Inf"}`) != metric("roomguard_commit_seconds_count") {
		t.Fatal("the commits' latency is not counted")
	}
	m.Stop()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body := get("/readyz")
		if code == 503 && strings.Contains(body, "broker") && strings.Contains(body, "down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready with the broker gone: %d %s", code, body)
		}
	}
}
