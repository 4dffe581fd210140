package homeassistant_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/schemas"
)

// Home Assistant's documented MQTT discovery (alarm_control_panel,
// binary_sensor, sensor; 2024.x): the keys each component requires, the
// binary sensor device classes and the panel's states and features.
var (
	required = map[string][]string{
		"alarm_control_panel": {"command_topic", "state_topic"},
		"binary_sensor":       {"state_topic"},
		"sensor":              {"state_topic"},
	}
	binaryClasses = []string{"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
		"gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power", "presence",
		"problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window"}
	sensorClasses = []string{"temperature", "humidity"} // of the sensor classes, those a room uses
	panelStates   = []string{"disarmed", "armed_home", "armed_away", "armed_night", "armed_vacation", "armed_custom_bypass", "pending", "triggered", "arming", "disarming"}
	panelFeatures = []string{"arm_home", "arm_away", "arm_night", "arm_vacation", "arm_custom_bypass", "trigger"}
	// Keys the discovery of these components accepts (the common ones and
	// each component's own).
	accepted = []string{"name", "unique_id", "object_id", "device", "availability", "availability_mode", "qos",
		"enabled_by_default", "state_topic", "value_template", "command_topic", "supported_features", "code_arm_required",
		"payload_on", "payload_off", "device_class", "state_class", "icon", "unit_of_measurement", "code", "command_template"}
)

func room() homeassistant.Room {
	return homeassistant.Room{ID: "jiyao-301", Name: "机要室 301", Prefix: "homeassistant", Version: "1.2.3", Inputs: []gateway.Input{
		{ID: "door-main", Name: "铁门", Kind: gateway.KindDoor},
		{ID: "window-1", Kind: gateway.KindWindow},
		{ID: "ir-1", Kind: gateway.KindIRDetector},
		{ID: "tamper", Kind: gateway.KindTamper},
		{ID: "safe-1.bolt", Kind: gateway.KindSafeBolt},
		{ID: "smoke-1", Kind: gateway.KindSmoke},
		{ID: "leak-1", Kind: gateway.KindWater},
		{ID: "rex", Kind: gateway.KindExitButton},
		{ID: "duress-1", Kind: gateway.KindDuress},
		{ID: "th-safes", Name: "温湿度", Kind: gateway.KindClimate},
	}}
}

// The room's retained topics a discovery reads, the schema of each and the
// field its template picks (value_json.<field>).
func readsFrom(t *testing.T, topic string) (schema string) {
	t.Helper()
	rest, ok := strings.CutPrefix(topic, "roomguard/jiyao-301/")
	if !ok {
		t.Fatalf("%s is not the room's topic", topic)
	}
	switch {
	case rest == "status", rest == "mode", rest == "occupancy":
		return rest
	case strings.HasPrefix(rest, "devices/"):
		return "device-state"
	}
	t.Fatalf("%s is not a retained state of the room", topic)
	return ""
}

// field is the top-level field a template reads (value_json.reading.x:
// reading).
func field(template string) string {
	_, after, _ := strings.Cut(template, "value_json.")
	return strings.FieldsFunc(after, func(r rune) bool { return r == ' ' || r == '}' || r == '.' })[0]
}

func schemaHas(t *testing.T, schema, prop string) bool {
	t.Helper()
	b, err := schemas.Source(schema)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	_, ok := s.Properties[prop]
	return ok
}

// Issue 32, item 1: every discovery payload field by field against Home
// Assistant's documented schema, and every state it reads against the
// room's own schemas.
func TestDiscoveryPayloads(t *testing.T) {
	msgs := homeassistant.Discovery(room())
	objects := map[string]map[string]any{}
	for _, m := range msgs {
		lv := strings.Split(m.Topic, "/")
		if len(lv) != 5 || lv[0] != "homeassistant" || lv[2] != "roomguard_jiyao-301" || lv[4] != "config" {
			t.Fatalf("topic %s is not <prefix>/<component>/<node>/<object>/config", m.Topic)
		}
		component, object := lv[1], lv[3]
		var cfg map[string]any
		if err := json.Unmarshal(m.Payload, &cfg); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		objects[component+"/"+object] = cfg
		for _, k := range required[component] {
			if cfg[k] == nil {
				t.Errorf("%s: no %s", m.Topic, k)
			}
		}
		for k := range cfg {
			if !slices.Contains(accepted, k) {
				t.Errorf("%s: key %s is not in Home Assistant's schema", m.Topic, k)
			}
		}
		if cfg["unique_id"] != "roomguard_jiyao-301_"+object {
			t.Errorf("%s: unique_id %v", m.Topic, cfg["unique_id"])
		}
		dev := cfg["device"].(map[string]any)
		if ids := dev["identifiers"].([]any); len(ids) != 1 || ids[0] != "roomguard_jiyao-301" || dev["name"] != "机要室 301" || dev["sw_version"] != "1.2.3" {
			t.Errorf("%s: device %v", m.Topic, dev)
		}
		av := cfg["availability"].([]any)[0].(map[string]any)
		if av["topic"] != "roomguard/jiyao-301/status" || av["payload_available"] != "online" || av["payload_not_available"] != "offline" ||
			!schemaHas(t, "status", field(av["value_template"].(string))) {
			t.Errorf("%s: availability %v", m.Topic, av)
		}
		if c, ok := cfg["device_class"]; ok && !(component == "binary_sensor" && slices.Contains(binaryClasses, c.(string)) ||
			component == "sensor" && slices.Contains(sensorClasses, c.(string))) {
			t.Errorf("%s: device_class %v", m.Topic, c)
		}
		state := cfg["state_topic"].(string)
		if component == "alarm_control_panel" {
			if state != homeassistant.PanelStateTopic("homeassistant", "jiyao-301") {
				t.Errorf("panel state topic %s", state)
			}
			for _, f := range cfg["supported_features"].([]any) {
				if !slices.Contains(panelFeatures, f.(string)) {
					t.Errorf("panel feature %v", f)
				}
			}
			if len(cfg["supported_features"].([]any)) != 0 {
				t.Errorf("a read-only panel offers %v", cfg["supported_features"])
			}
			continue
		}
		if tmpl, _ := cfg["value_template"].(string); !schemaHas(t, readsFrom(t, state), field(tmpl)) {
			t.Errorf("%s: %s reads %s, not in the %s schema", m.Topic, tmpl, field(tmpl), readsFrom(t, state))
		}
	}
	want := map[string]string{ // binary sensors by input, with their class
		"door-main": "door", "window-1": "window", "ir-1": "motion", "tamper": "tamper", "safe-1_bolt": "lock",
		"smoke-1": "smoke", "leak-1": "moisture", "rex": "", "th-safes": "problem",
	}
	for id, class := range want {
		cfg := objects["binary_sensor/"+id]
		if cfg == nil {
			t.Errorf("no binary sensor for %s", id)
			continue
		}
		if got, _ := cfg["device_class"].(string); got != class {
			t.Errorf("%s: class %q, want %q", id, got, class)
		}
	}
	if objects["binary_sensor/duress-1"] != nil {
		t.Error("a silent duress button is described to Home Assistant")
	}
	if objects["binary_sensor/door-main"]["name"] != "铁门" || objects["binary_sensor/window-1"]["name"] != "window-1" {
		t.Errorf("names: %v, %v", objects["binary_sensor/door-main"]["name"], objects["binary_sensor/window-1"]["name"])
	}
	for _, o := range []string{"alarm_control_panel/panel", "sensor/occupancy", "sensor/open_alarms"} {
		if objects[o] == nil {
			t.Errorf("no %s", o)
		}
	}
	for _, o := range []string{"sensor/th-safes_temperature", "sensor/th-safes_humidity"} {
		cfg := objects[o]
		if cfg == nil || cfg["state_topic"] != "roomguard/jiyao-301/devices/th-safes" || cfg["unit_of_measurement"] == nil {
			t.Errorf("%s: %v", o, cfg)
		}
	}
	if n := len(msgs); n != len(objects) || n != 3+len(want)+2 {
		t.Errorf("%d messages, %d distinct", n, len(objects))
	}
}

// The panel follows the mode (the room's retained mode payload, as its
// schema's examples have it).
func TestPanelState(t *testing.T) {
	for _, c := range []struct{ mode, want string }{
		{`{"mode":"open","open_alarms":0}`, "disarmed"},
		{`{"mode":"armed","exit_until":"2026-11-22T18:06:00.000+08:00","open_alarms":0}`, "arming"},
		{`{"mode":"armed","open_alarms":0}`, "armed_away"},
		{`{"mode":"armed","entry_until":"2026-11-22T18:06:00.000+08:00","entry_device":"door-main","open_alarms":0}`, "pending"},
		{`{"mode":"armed","open_alarms":1,"triggered":true}`, "triggered"},
		{`{"mode":"sealed","open_alarms":0}`, "armed_vacation"},
		{`{"mode":"sealed","open_alarms":2,"triggered":true}`, "triggered"},
		{`{"mode":"open","open_alarms":1,"triggered":true}`, "triggered"},
		{`{"mode":"open","open_alarms":3}`, "disarmed"}, // a fault, a tamper: not a break-in
	} {
		got, err := homeassistant.PanelState([]byte(c.mode))
		if err != nil || got != c.want || !slices.Contains(panelStates, got) {
			t.Errorf("%s: %q, %v; want %q", c.mode, got, err, c.want)
		}
	}
	if _, err := homeassistant.PanelState([]byte(`{"mode":`)); err == nil {
		t.Error("a broken mode payload gave a state")
	}
	valid, _ := schemas.Examples("mode")
	ex := valid["armed.json"]
	if got, err := homeassistant.PanelState(ex); err != nil || got != "arming" {
		t.Errorf("the schema's example: %q, %v", got, err)
	}
}

// Entities of devices gone from the config are removed (an empty retained
// config); the list of what was described is kept between starts.
func TestPublishRemovesEntitiesGoneFromTheConfig(t *testing.T) {
	known := filepath.Join(t.TempDir(), "log.db.homeassistant")
	sent := map[string]string{}
	set := func(topic string, payload []byte) { sent[topic] = string(payload) }
	r := room()
	if err := homeassistant.Publish(r, known, set); err != nil {
		t.Fatal(err)
	}
	window := "homeassistant/binary_sensor/roomguard_jiyao-301/window-1/config"
	if sent[window] == "" || len(sent) != 14 {
		t.Fatalf("first start sent %d messages, the window's %q", len(sent), sent[window])
	}
	r.Inputs = slices.DeleteFunc(r.Inputs, func(in gateway.Input) bool { return in.ID == "window-1" })
	clear(sent)
	if err := homeassistant.Publish(r, known, set); err != nil {
		t.Fatal(err)
	}
	if v, ok := sent[window]; !ok || v != "" {
		t.Errorf("the window gone from the config: %q, %v (want an empty retained config)", v, ok)
	}
	if len(sent) != 14 {
		t.Errorf("second start sent %d messages", len(sent))
	}
	clear(sent)
	if err := homeassistant.Publish(r, known, set); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent[window]; ok || len(sent) != 13 {
		t.Errorf("third start: %d messages, the window's sent again: %v", len(sent), ok)
	}
	// Another room's line in the file (edited by hand) is not removed.
	if err := os.WriteFile(known, []byte("homeassistant/binary_sensor/roomguard_jiyao-302/door-main/config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clear(sent)
	if err := homeassistant.Publish(r, known, set); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent["homeassistant/binary_sensor/roomguard_jiyao-302/door-main/config"]; ok {
		t.Error("another room's entity removed")
	}
}
