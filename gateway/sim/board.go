package sim

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"

	bridge "github.com/roomguard/roomguard/firmware-bridge"
	"github.com/roomguard/roomguard/firmware-bridge/emu"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// Opts configures a simulated room.
type Opts struct {
	// Firmware is a directory holding the board firmware and its emulator
	// (`make firmware`: roomguard-board.elf and roomguard-board-sim). With
	// it every firmware-bridge board of the room runs the real firmware in
	// simavr; without it the boards are absent: their lines stay silent.
	Firmware string
	Stderr   io.Writer // the emulators' own messages; nil: discarded
}

// boardTwin is a simulated firmware-bridge board: the real firmware in the
// emulator, its zones and lock switches driven by name. It plays the lock
// mechanism too: a release withdraws the bolt, which is thrown again when
// the release ends with the door shut, or once the door is shut again.
type boardTwin struct {
	id    string
	emu   *emu.Board // nil: absent
	kinds map[string]gateway.InputKind
	zones map[string]int // input id → zone
	bolts map[string]int // input id → lock
	doors map[string]int
	locks map[string]int // lock controller id → lock

	mu       sync.Mutex
	held     [2]bool // the bolt is back because of a release
	doorOpen [2]bool
	pins     map[[2]int]bool // the output pins' levels: port, bit
	done     chan struct{}
}

func newBoardTwin(b config.Board, o Opts) (*boardTwin, error) {
	t := &boardTwin{id: b.ID, kinds: map[string]gateway.InputKind{}, zones: map[string]int{}, bolts: map[string]int{},
		doors: map[string]int{}, locks: map[string]int{}, pins: map[[2]int]bool{}, done: make(chan struct{})}
	for _, z := range b.Zones {
		t.zones[z.ID], t.kinds[z.ID] = z.Zone, z.Kind
	}
	for _, l := range b.Locks {
		t.bolts[l.Bolt], t.doors[l.Door], t.locks[l.ID] = l.Lock, l.Lock, l.Lock
	}
	if o.Firmware == "" {
		close(t.done)
		return t, nil
	}
	stderr := o.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	dev, err := emu.Start(filepath.Join(o.Firmware, "roomguard-board.elf"), filepath.Join(o.Firmware, "roomguard-board-sim"), stderr)
	if err != nil {
		return nil, fmt.Errorf("sim: board %s: %w", b.ID, err)
	}
	t.emu = dev
	go t.mechanism()
	return t, nil
}

// has reports whether device is one of the board's points.
func (t *boardTwin) has(device string) bool {
	_, z := t.zones[device]
	_, b := t.bolts[device]
	_, d := t.doors[device]
	_, l := t.locks[device]
	return z || b || d || l || device == t.id
}

// Zone words beyond the input kind's own states.
var lineWords = map[string]bridge.ZoneState{"tamper-short": bridge.ZoneTamperShort, "tamper-cut": bridge.ZoneTamperCut,
	"fault": bridge.ZoneFault}

// drive sets a point of the board to the state word.
func (t *boardTwin) drive(device, word string) error {
	if t.emu == nil {
		return fmt.Errorf("board %s is not emulated (run with --board-firmware; see docs/simulated-room.md)", t.id)
	}
	if n, ok := t.zones[device]; ok {
		s, line := lineWords[word]
		if !line {
			active, err := t.kinds[device].ParseState(word)
			if err != nil {
				return fmt.Errorf("%v, or tamper-short, tamper-cut or fault", err)
			}
			s = bridge.ZoneNormal
			if active {
				s = bridge.ZoneAlarm
			}
		}
		return t.emu.Zone(n, s)
	}
	if n, ok := t.bolts[device]; ok {
		unlocked, err := gateway.KindSafeBolt.ParseState(word)
		if err != nil {
			return err
		}
		return t.emu.Switch(n, emu.SwitchBolt, !unlocked)
	}
	if n, ok := t.doors[device]; ok {
		open, err := gateway.KindSafeDoor.ParseState(word)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.doorOpen[n] = open
		rethrow := !open && t.held[n]
		t.held[n] = t.held[n] && !rethrow
		t.mu.Unlock()
		if err := t.emu.Switch(n, emu.SwitchDoor, !open); err != nil || !rethrow {
			return err
		}
		return t.emu.Switch(n, emu.SwitchBolt, true)
	}
	if device == t.id {
		switch word {
		case "reset":
			return t.emu.Reset()
		case "power-off", "power-on":
			return t.emu.Power(word == "power-on")
		}
		return fmt.Errorf("%q is not something to do to a board (want reset, power-off or power-on)", word)
	}
	n := t.locks[device]
	switch word {
	case "cover-open", "cover-closed":
		return t.emu.Switch(n, emu.SwitchCover, word == "cover-closed")
	case "battery-low", "battery-ok":
		return t.emu.Battery(n, word == "battery-low")
	}
	return fmt.Errorf("%q is not a state of a lock controller (want cover-open, cover-closed, battery-low or battery-ok)", word)
}

// mechanism follows the release outputs: the solenoid draws the bolt back
// while it is driven.
func (t *boardTwin) mechanism() {
	defer close(t.done)
	for out := range t.emu.Outputs() {
		t.mu.Lock()
		t.pins[[2]int{int(out.Port), out.Bit}] = out.Level
		t.mu.Unlock()
		n := out.Bit - emu.ReleaseBit0
		if out.Port != 'B' || n < 0 || n > 1 {
			continue
		}
		t.mu.Lock()
		if out.Level {
			t.held[n] = true
		}
		throw := !out.Level && t.held[n] && !t.doorOpen[n]
		if throw {
			t.held[n] = false
		}
		t.mu.Unlock()
		var err error
		switch {
		case out.Level:
			err = t.emu.Switch(n, emu.SwitchBolt, false)
		case throw:
			err = t.emu.Switch(n, emu.SwitchBolt, true)
		}
		if err != nil { // the emulator is gone: the board is closing
			return
		}
	}
}

func (t *boardTwin) close() error {
	var err error
	if t.emu != nil {
		err = t.emu.Close()
	}
	<-t.done
	return err
}

// BoardPin is the level of an output pin of an emulated board; ok is false
// for a board that is not emulated.
func (r *Room) BoardPin(board string, port byte, bit int) (level, ok bool) {
	for _, t := range r.boards {
		if t.id == board && t.emu != nil {
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.pins[[2]int{int(port), bit}], true
		}
	}
	return false, false
}
