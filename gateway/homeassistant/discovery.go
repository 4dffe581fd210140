// Package homeassistant describes a room to Home Assistant through its MQTT
// discovery: each room is a device with an alarm control panel that follows
// the room's mode, a binary sensor for each input and sensors for its
// occupancy and open alarms, all reading the room's own retained topics
// (whose payloads are JSON; the templates pick a field) and available while
// the room's status is online. Read-only: the panel offers no action, and
// nothing Home Assistant publishes is read by the room.
//
// Discovery messages are retained under the discovery prefix as
// <prefix>/<component>/roomguard_<room>/<object>/config; an empty retained
// payload removes an entity (a device gone from the config).
package homeassistant

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/wire"
)

// DefaultPrefix is Home Assistant's own discovery prefix.
const DefaultPrefix = "homeassistant"

// Message is one retained message for Home Assistant.
type Message struct {
	Topic   string
	Payload []byte // empty: remove the entity
}

// Room is what discovery needs of a room's config.
type Room struct {
	ID, Name string
	Prefix   string // the discovery prefix
	Version  string // the gateway's, shown on the device
	Inputs   []gateway.Input
	// Arm offers arming on the panel (a code asked, checked by the room;
	// Bridge carries it in).
	Arm bool
}

// NodeID is the room's node in discovery topics (roomguard_<room>).
func NodeID(room string) string { return "roomguard_" + room }

// Owns tells whether topic is one of the room's discovery topics (a config
// or the panel's state), whatever its entity.
func Owns(prefix, room, topic string) bool {
	lv := strings.Split(topic, "/")
	return len(lv) >= 4 && lv[0] == prefix && lv[2] == NodeID(room)
}

// ConfigFilter matches every discovery config of the room: what a gateway
// reads back at start to remove the entities its config no longer has.
func ConfigFilter(prefix, room string) string {
	return prefix + "/+/" + NodeID(room) + "/+/config"
}

// PanelStateTopic is where the gateway publishes the panel's state, a plain
// Home Assistant word (PanelState).
func PanelStateTopic(prefix, room string) string {
	return prefix + "/alarm_control_panel/" + NodeID(room) + "/panel/state"
}

// The panel's states, as Home Assistant names them.
const (
	Disarmed      = "disarmed"
	Arming        = "arming"
	ArmedAway     = "armed_away"
	ArmedVacation = "armed_vacation"
	Pending       = "pending"
	Triggered     = "triggered"
)

// PanelState is the panel's state for the room's mode (the payload of
// roomguard/<room>/mode): open → disarmed; armed → armed_away, arming
// during the exit delay and pending during the entry delay; sealed →
// armed_vacation; triggered while an intrusion alarm is open in any mode.
func PanelState(mode []byte) (string, error) {
	var m struct {
		Mode       gateway.Mode `json:"mode"`
		ExitUntil  string       `json:"exit_until"`
		EntryUntil string       `json:"entry_until"`
		Triggered  bool         `json:"triggered"`
	}
	if err := json.Unmarshal(mode, &m); err != nil {
		return "", err
	}
	switch {
	case m.Triggered:
		return Triggered, nil
	case m.Mode == gateway.ModeSealed:
		return ArmedVacation, nil
	case m.Mode == gateway.ModeArmed && m.EntryUntil != "":
		return Pending, nil
	case m.Mode == gateway.ModeArmed && m.ExitUntil != "":
		return Arming, nil
	case m.Mode == gateway.ModeArmed:
		return ArmedAway, nil
	}
	return Disarmed, nil
}

// deviceClass is Home Assistant's binary_sensor device class of an input
// kind ("" for none).
var deviceClass = map[gateway.InputKind]string{
	gateway.KindDoor:       "door",
	gateway.KindWindow:     "window",
	gateway.KindIRDetector: "motion",
	gateway.KindTamper:     "tamper",
	gateway.KindSafeBolt:   "lock", // on: unlocked, as the bolt's active state
	gateway.KindSafeDoor:   "door",
	gateway.KindPanic:      "safety",
	gateway.KindSmoke:      "smoke",
	gateway.KindWater:      "moisture",
	gateway.KindClimate:    "problem", // on: out of the room's limits
}

// hidden are the inputs Home Assistant is not told of: a duress button is a
// silent alarm, shown to nobody in the building.
var hidden = map[gateway.InputKind]bool{gateway.KindDuress: true}

// Discovery is every discovery message of the room, in a stable order: the
// panel, then the sensors, then each input.
func Discovery(r Room) []Message {
	topics := wire.Topics{Room: r.ID}
	node := NodeID(r.ID)
	device := map[string]any{
		"identifiers":  []string{node},
		"name":         r.Name,
		"manufacturer": "roomguard",
		"model":        "confidential room gateway",
		"sw_version":   r.Version,
	}
	availability := []map[string]any{{
		"topic":                 topics.Status(),
		"value_template":        "{{ value_json.state }}",
		"payload_available":     "online",
		"payload_not_available": "offline",
	}}
	entity := func(component, object, name string, fields map[string]any) Message {
		cfg := map[string]any{
			"name":               name,
			"unique_id":          node + "_" + object,
			"object_id":          node + "_" + object,
			"device":             device,
			"availability":       availability,
			"availability_mode":  "all",
			"qos":                1,
			"enabled_by_default": true,
		}
		for k, v := range fields {
			cfg[k] = v
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			panic("homeassistant: " + err.Error()) // maps of strings and numbers
		}
		return Message{Topic: r.Prefix + "/" + component + "/" + node + "/" + object + "/config", Payload: b}
	}
	msgs := []Message{
		entity("alarm_control_panel", "panel", "Alarm panel", panel(r)),
		entity("sensor", "occupancy", "People inside", map[string]any{
			"state_topic":    topics.Occupancy(),
			"value_template": "{{ value_json.count }}",
			"state_class":    "measurement",
			"icon":           "mdi:account-multiple",
		}),
		entity("sensor", "open_alarms", "Open alarms", map[string]any{
			"state_topic":    topics.Mode(),
			"value_template": "{{ value_json.open_alarms }}",
			"state_class":    "measurement",
			"icon":           "mdi:alarm-light",
		}),
	}
	for _, in := range r.Inputs {
		if hidden[in.Kind] {
			continue
		}
		name := in.Name
		if name == "" {
			name = in.ID
		}
		fields := map[string]any{
			"state_topic":    topics.Device(in.ID),
			"value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
			"payload_on":     "ON",
			"payload_off":    "OFF",
		}
		if c := deviceClass[in.Kind]; c != "" {
			fields["device_class"] = c
		}
		msgs = append(msgs, entity("binary_sensor", objectID(in.ID), name, fields))
		if in.Kind == gateway.KindClimate { // and its two measurements
			for _, m := range []struct{ key, class, unit, label string }{
				{"temperature_c", "temperature", "°C", "temperature"}, {"humidity_rh", "humidity", "%", "humidity"}} {
				msgs = append(msgs, entity("sensor", objectID(in.ID)+"_"+m.class, name+" "+m.label, map[string]any{
					"state_topic":         topics.Device(in.ID),
					"value_template":      "{{ value_json.reading." + m.key + " }}",
					"device_class":        m.class,
					"unit_of_measurement": m.unit,
					"state_class":         "measurement",
				}))
			}
		}
	}
	return msgs
}

// panel is the alarm panel's own fields: read-only (Home Assistant needs a
// command topic; nothing reads it), or arming with a code the room checks.
func panel(r Room) map[string]any {
	f := map[string]any{
		"state_topic":        PanelStateTopic(r.Prefix, r.ID),
		"command_topic":      CommandTopic(r.Prefix, r.ID),
		"supported_features": []string{},
		"code_arm_required":  false,
	}
	if r.Arm {
		f["supported_features"] = []string{"arm_away"}
		f["code_arm_required"] = true
		f["code"] = "REMOTE_CODE"
		f["command_template"] = commandTemplate
	}
	return f
}

// objectID is an input id as a discovery object id: Home Assistant allows
// letters, digits, underscores and dashes.
func objectID(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, id)
}

// Removals are the empty retained payloads that remove the entities of
// published (configs found on the broker) that want (this config's
// discovery) no longer has.
func Removals(want []Message, published []string) []Message {
	keep := map[string]bool{}
	for _, m := range want {
		keep[m.Topic] = true
	}
	var out []Message
	for _, t := range published {
		if !keep[t] {
			out = append(out, Message{Topic: t})
		}
	}
	return out
}

// Publish gives set every discovery message of r, and an empty one for
// each entity the last start described that r no longer has (a device
// gone from the config): known is the file listing them, one topic a line,
// rewritten after. A known file that cannot be read removes nothing.
func Publish(r Room, known string, set func(topic string, payload []byte)) error {
	want := Discovery(r)
	var published []string
	b, err := os.ReadFile(known)
	switch {
	case err == nil:
		for _, t := range strings.Split(string(b), "\n") {
			if Owns(r.Prefix, r.ID, t) {
				published = append(published, t)
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("home assistant: %w", err)
	}
	for _, m := range append(Removals(want, published), want...) {
		set(m.Topic, m.Payload)
	}
	var list strings.Builder
	for _, m := range want {
		list.WriteString(m.Topic + "\n")
	}
	tmp := known + ".new"
	if err := os.WriteFile(tmp, []byte(list.String()), 0o640); err != nil {
		return fmt.Errorf("home assistant: %w", err)
	}
	if err := os.Rename(tmp, known); err != nil {
		return fmt.Errorf("home assistant: %w", err)
	}
	return nil
}
