package gateway

import (
	"encoding/json"
	"sort"
	"time"
)

// InputKind is what a binary input watches. Each kind names its two states;
// "active" is always the state that calls for attention (door open, motion,
// tamper, bolt withdrawn …), so wiring polarity lives only in config.
type InputKind string

const (
	KindDoor       InputKind = "door"
	KindWindow     InputKind = "window"
	KindIRDetector InputKind = "ir-detector"
	KindTamper     InputKind = "tamper"
	KindSafeBolt   InputKind = "safe-bolt"
	KindSafeDoor   InputKind = "safe-door"
	KindExitButton InputKind = "exit-button"
	KindPanic      InputKind = "panic"
	KindDuress     InputKind = "duress" // a hold-up button: the silent duress alarm
	// 四防 (issue 32): a smoke detector's and a water-leak sensor's
	// contact, alarming in every mode as tamper does.
	KindSmoke InputKind = "smoke"
	KindWater InputKind = "water-leak"
	// KindClimate is a temperature and humidity sensor read over a serial
	// line (防潮, issue 32): active while a reading is out of the room's
	// limits (ClimateLimits), alarming in every mode.
	KindClimate InputKind = "climate"
)

// OutputKind is what a binary output drives.
type OutputKind string

const (
	KindDoorStrike OutputKind = "door-strike"
	KindSiren      OutputKind = "siren"
	KindIndicator  OutputKind = "indicator"
)

// inputSpec is everything the gateway knows about an input kind.
type inputSpec struct {
	active, idle           string   // state names
	onActive, onIdle       string   // event types
	sevActive, sevIdle     Severity // event severities
	activeWords, idleWords []string // extra words accepted by the simulator
}

var inputSpecs = map[InputKind]inputSpec{
	KindDoor:       {"open", "closed", "door.opened", "door.closed", SeverityInfo, SeverityInfo, nil, nil},
	KindWindow:     {"open", "closed", "window.opened", "window.closed", SeverityInfo, SeverityInfo, nil, nil},
	KindIRDetector: {"motion", "idle", "motion.detected", "motion.cleared", SeverityInfo, SeverityInfo, nil, nil},
	KindTamper:     {"tamper", "normal", "tamper.active", "tamper.restored", SeverityCritical, SeverityWarning, nil, []string{"normal"}},
	KindSafeBolt:   {"unlocked", "locked", "safe.unlocked", "safe.locked", SeverityInfo, SeverityInfo, nil, nil},
	KindSafeDoor:   {"open", "closed", "safe.opened", "safe.closed", SeverityInfo, SeverityInfo, nil, nil},
	KindExitButton: {"pressed", "released", "exit.pressed", "exit.released", SeverityInfo, SeverityInfo, nil, nil},
	KindPanic:      {"panic", "normal", "panic.active", "panic.restored", SeverityCritical, SeverityWarning, nil, []string{"normal"}},
	KindDuress:     {"duress", "normal", "duress.active", "duress.restored", SeverityCritical, SeverityWarning, nil, []string{"normal"}},
	KindSmoke:      {"smoke", "normal", "fire.detected", "fire.cleared", SeverityCritical, SeverityWarning, nil, []string{"normal"}},
	KindWater:      {"leak", "dry", "water.detected", "water.cleared", SeverityAlarm, SeverityWarning, nil, nil},
	KindClimate:    {"out-of-range", "normal", "environment.out-of-range", "environment.normal", SeverityWarning, SeverityInfo, nil, nil},
}

// TwentyFourHour tells whether inputs of kind alarm in every mode and are
// never bypassed (GB 50394: tamper; hold-up and panic buttons; fire and
// water).
func (k InputKind) TwentyFourHour() bool {
	return k == KindTamper || k == KindPanic || k == KindDuress || k == KindSmoke || k == KindWater || k == KindClimate
}

var outputKinds = map[OutputKind]bool{KindDoorStrike: true, KindSiren: true, KindIndicator: true}

// InputKinds lists the known input kinds, sorted.
func InputKinds() []string {
	var ks []string
	for k := range inputSpecs {
		ks = append(ks, string(k))
	}
	sort.Strings(ks)
	return ks
}

// OutputKinds lists the known output kinds, sorted.
func OutputKinds() []string {
	var ks []string
	for k := range outputKinds {
		ks = append(ks, string(k))
	}
	sort.Strings(ks)
	return ks
}

// Valid reports whether k is a known input kind.
func (k InputKind) Valid() bool { _, ok := inputSpecs[k]; return ok }

// Valid reports whether k is a known output kind.
func (k OutputKind) Valid() bool { return outputKinds[k] }

// StateName is the word for an input of this kind being active or not.
func (k InputKind) StateName(active bool) string {
	s := inputSpecs[k]
	if active {
		return s.active
	}
	return s.idle
}

// EventFor is the event type and severity of an input of this kind becoming active or idle.
func (k InputKind) EventFor(active bool) (string, Severity) {
	s := inputSpecs[k]
	if active {
		return s.onActive, s.sevActive
	}
	return s.onIdle, s.sevIdle
}

// ParseState reads a word naming a state of this kind: the kind's own state
// names, or the generic "active" / "idle". It is how the simulator is driven.
func (k InputKind) ParseState(word string) (active bool, err error) {
	s, ok := inputSpecs[k]
	if !ok {
		return false, Errorf(EINVALID, "unknown input kind %q", k)
	}
	switch word {
	case s.active, "active":
		return true, nil
	case s.idle, "idle":
		return false, nil
	}
	for _, w := range s.activeWords {
		if word == w {
			return true, nil
		}
	}
	for _, w := range s.idleWords {
		if word == w {
			return false, nil
		}
	}
	return false, Errorf(EINVALID, "%q is not a state of a %s (want %s or %s, or active or idle)", word, k, s.active, s.idle)
}

// IsInputEvent tells whether typ is an input's change (door.opened,
// motion.detected, tamper.active …).
func IsInputEvent(typ string) bool {
	for _, s := range inputSpecs {
		if typ == s.onActive || typ == s.onIdle {
			return true
		}
	}
	return false
}

// InputEventState is the state an input's event (door.opened …) leaves it
// in; "" for any other event.
func InputEventState(typ string) string {
	for _, s := range inputSpecs {
		switch typ {
		case s.onActive:
			return s.active
		case s.onIdle:
			return s.idle
		}
	}
	return ""
}

// OutputStateName is the word for an output being driven or not.
func OutputStateName(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// DeviceState is the last known state of one device, as retained on
// roomguard/<room>/devices/<id>.
type DeviceState struct {
	Device string    `json:"device"`
	Kind   string    `json:"kind"`
	Name   string    `json:"name,omitempty"`
	State  string    `json:"state"`
	Active bool      `json:"active"`
	Since  time.Time `json:"-"`
	Seq    uint64    `json:"seq"` // the event that set this state (0: as found at start)
	// Reading is a climate sensor's last reading (nil for every other kind).
	Reading *Reading `json:"reading,omitempty"`
}

// MarshalJSON encodes the state in the form of schemas/device-state.schema.json.
func (s DeviceState) MarshalJSON() ([]byte, error) {
	type plain DeviceState
	return json.Marshal(struct {
		plain
		Since string `json:"since"`
	}{plain(s), s.Since.Format(TimeFormat)})
}
