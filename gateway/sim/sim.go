// Package sim is the simulated room: the same config as the real one, with
// every pin a simulated pin behind gpio.PinIO (so the real contact and relay
// drivers run) and every serial device a pair of linked pseudo-terminals.
// Any program drives it by publishing an input's new state to
// roomguard/<room>/sim/input/<device>.
package sim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/gpiosim"
	"github.com/roomguard/roomguard/devices/pn532/pn532sim"
	"github.com/roomguard/roomguard/devices/serialsim"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// Port is one simulated serial device.
type Port struct {
	Device      string `json:"device"`
	Kind        string `json:"kind"`
	GatewayPath string `json:"gateway_path"`
	DevicePath  string `json:"device_path"`
}

// Room is a simulated room.
type Room struct {
	Bank   *gpiosim.Bank
	Ports  []Port
	room   string
	inputs map[string]config.Input
	links  []*serialsim.Link
	twins  map[string]*twin // badge readers' device sides
}

// twin is the device side of a simulated badge reader.
type twin struct {
	kind string
	dev  *os.File
	chip *pn532sim.Chip
}

// New builds the simulated room of cfg. Serial devices are opened as linked
// pseudo-terminals; cfg.Serial paths are left as they are, and GatewayPath
// tells where the gateway finds each device.
func New(cfg *config.Config) (*Room, error) {
	r := &Room{Bank: gpiosim.NewBank(), room: cfg.Room.ID, inputs: map[string]config.Input{}, twins: map[string]*twin{}}
	for _, in := range cfg.Inputs {
		r.inputs[in.ID] = in
		// A contact at rest: the idle level, as wired.
		idle := activeLevel(in.Active)
		r.Bank.Sim(in.Pin).Set(!idle)
	}
	for _, s := range cfg.Serial {
		l, err := serialsim.Open()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("sim: serial device %s: %w", s.ID, err)
		}
		r.links = append(r.links, l)
		r.Ports = append(r.Ports, Port{Device: s.ID, Kind: s.Kind, GatewayPath: l.GatewayPath, DevicePath: l.DevicePath})
		if s.Kind == "em4100" || s.Kind == "pn532" {
			dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("sim: badge reader %s: %w", s.ID, err)
			}
			t := &twin{kind: s.Kind, dev: dev}
			if s.Kind == "pn532" {
				t.chip = pn532sim.New(dev)
				go t.chip.Serve() // ends when Close closes dev
			}
			r.twins[s.ID] = t
		}
	}
	return r, nil
}

func activeLevel(s string) gpio.Level { return s != "low" }

// Drive sets the input device to the state named in payload: a word such as
// "open", "closed", "active", "idle" (see README), bare or as a JSON string.
// A bad payload changes nothing.
func (r *Room) Drive(device string, payload []byte) error {
	in, ok := r.inputs[device]
	if !ok {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: no input %q in room %s", device, r.room)
	}
	word, err := parseWord(payload)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "sim: input %s: %v", device, err)
	}
	active, err := in.Kind.ParseState(word)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "sim: input %s: %v", device, err)
	}
	level := activeLevel(in.Active)
	if !active {
		level = !level
	}
	r.Bank.Sim(in.Pin).Set(level)
	return nil
}

// maxPayload: a state word is short; anything longer is not one.
const maxPayload = 64

func parseWord(payload []byte) (string, error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return "", fmt.Errorf("empty payload")
	}
	if len(p) > maxPayload {
		return "", fmt.Errorf("payload of %d bytes is not a state word", len(p))
	}
	if !utf8.Valid(p) {
		return "", fmt.Errorf("payload is not UTF-8")
	}
	if p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return "", fmt.Errorf("payload is not a JSON string: %v", err)
		}
		return s, nil
	}
	return string(p), nil
}

// PortsPayload is the retained payload of roomguard/<room>/sim/ports.
func (r *Room) PortsPayload() []byte {
	ports := r.Ports
	if ports == nil {
		ports = []Port{}
	}
	b, _ := json.Marshal(struct {
		Room  string `json:"room"`
		Ports []Port `json:"ports"`
	}{r.room, ports})
	return b
}

// Present shows a card to a simulated badge reader: an EM4100 reader sends
// its frame (three times, as a card held to it), a PN532 has the card in its
// field for a second. payload is the card number, bare or as a JSON string.
func (r *Room) Present(reader string, payload []byte) error {
	t, ok := r.twins[reader]
	if !ok {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: no badge reader %q in room %s", reader, r.room)
	}
	word, err := parseWord(payload)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "sim: reader %s: %v", reader, err)
	}
	card := gateway.NormalizeCard(word)
	raw, err := hex.DecodeString(card)
	switch {
	case err != nil:
		return gateway.Errorf(gateway.EINVALID, "sim: reader %s: %q is not a card number in hex", reader, word)
	case t.kind == "em4100" && len(raw) != 5:
		return gateway.Errorf(gateway.EINVALID, "sim: reader %s: an EM4100 card number has 10 hex digits", reader)
	case t.kind == "pn532" && len(raw) != 4 && len(raw) != 7:
		return gateway.Errorf(gateway.EINVALID, "sim: reader %s: an ISO 14443A UID has 8 or 14 hex digits", reader)
	}
	if t.kind == "pn532" {
		t.chip.Present(raw)
		time.AfterFunc(time.Second, func() { t.chip.Present(nil) })
		return nil
	}
	var id uint64
	for _, b := range raw {
		id = id<<8 | uint64(b)
	}
	f := em4100.Frame(em4100.ID(id))
	_, err = t.dev.Write(append(append(append([]byte(nil), f...), f...), f...))
	return err
}

// Close tears down the simulated serial lines.
func (r *Room) Close() {
	for _, t := range r.twins {
		t.dev.Close()
	}
	for _, l := range r.links {
		l.Close()
	}
}
