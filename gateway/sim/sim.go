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
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/gpiosim"
	"github.com/roomguard/roomguard/devices/modbus/modbussim"
	"github.com/roomguard/roomguard/devices/modem/modemsim"
	"github.com/roomguard/roomguard/devices/pn532/pn532sim"
	"github.com/roomguard/roomguard/devices/serialsim"
	"github.com/roomguard/roomguard/devices/uhf/uhfsim"
	"github.com/roomguard/roomguard/devices/wiegand"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// Port is one simulated serial device.
type Port struct {
	Device      string `json:"device"`
	Kind        string `json:"kind"`
	GatewayPath string `json:"gateway_path"`
	DevicePath  string `json:"device_path,omitempty"` // empty for an emulated board
	Emulator    string `json:"emulator,omitempty"`
}

// ModemID is the simulated modem's device id (its port in sim/ports).
const ModemID = "modem"

// Room is a simulated room.
type Room struct {
	devs   []*os.File // device sides to close
	Bank   *gpiosim.Bank
	Ports  []Port
	room   string
	inputs map[string]config.Input
	links  []*serialsim.Link
	twins  map[string]*twin // badge readers' device sides
	wieg   map[string]*wiegandTwin
	uhf    map[string]*uhfTwin
	// climate are the climate sensors' device sides.
	climate map[string]*modbussim.Sensor
	boards  []*boardTwin
	// Modem is the simulated GSM modem of notify.modem (nil: none).
	Modem *modemsim.Modem

	serveMu   sync.Mutex
	serveErrs []error // what ended a twin other than Close
}

// serve runs a twin until Close closes its device, which ends it with a
// closed file; any other error is kept for Close.
func (r *Room) serve(run func() error) {
	go func() {
		if err := run(); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
			r.serveMu.Lock()
			r.serveErrs = append(r.serveErrs, err)
			r.serveMu.Unlock()
		}
	}()
}

// uhfTwin is the device side of a simulated UHF reader.
type uhfTwin struct {
	dev      *os.File
	reader   *uhfsim.Reader
	antennas int
}

var uhfKinds = map[string]struct {
	kind     uhfsim.Kind
	antennas int
}{"uhf-r200": {uhfsim.R200, 1}, "uhf-chafon18": {uhfsim.Chafon18, 1}, "uhf-chafon288": {uhfsim.Chafon288, 8}}

// wiegandTwin is a simulated Wiegand reader: it pulses the gateway's D0 and
// D1 pins.
type wiegandTwin struct {
	mu     sync.Mutex // one frame at a time
	d0, d1 *gpiosim.Pin
}

// bitInterval is the time from one Wiegand bit to the next (1–2 ms on a
// real reader; roomier here, so a busy machine keeps the bits in order).
const bitInterval = 5 * time.Millisecond

// send pulses the frame of facility:card in the smallest format that holds
// it (H10301, H10306, H10304).
func (w *wiegandTwin) send(number string) error {
	fc, cn, ok := strings.Cut(number, ":")
	facility, err1 := strconv.ParseUint(fc, 10, 32)
	card, err2 := strconv.ParseUint(cn, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q is not a Wiegand card number (facility:card, such as 90:324)", number)
	}
	var bits []byte
	for _, f := range []string{"h10301", "h10306", "h10304"} {
		if b, err := wiegand.Encode(f, uint32(facility), uint32(card)); err == nil {
			bits = b
			break
		}
	}
	if bits == nil {
		return fmt.Errorf("%s is too large for H10304 (facility < 65536, card < 524288)", number)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range bits {
		line := w.d0
		if b == 1 {
			line = w.d1
		}
		line.Set(gpio.Low)
		line.Taken(time.Second)
		line.Set(gpio.High)
		time.Sleep(bitInterval)
	}
	return nil
}

// twin is the device side of a simulated badge reader.
type twin struct {
	kind string
	dev  *os.File
	chip *pn532sim.Chip
}

// New builds the simulated room of cfg. Serial devices are opened as linked
// pseudo-terminals; cfg.Serial paths are left as they are, and GatewayPath
// tells where the gateway finds each device. Its boards are absent (see
// NewWith).
func New(cfg *config.Config) (*Room, error) { return NewWith(cfg, Opts{}) }

// NewWith builds the simulated room of cfg, its boards as o says.
func NewWith(cfg *config.Config, o Opts) (*Room, error) {
	r := &Room{Bank: gpiosim.NewBank(), room: cfg.Room.ID, inputs: map[string]config.Input{}, twins: map[string]*twin{},
		wieg: map[string]*wiegandTwin{}, uhf: map[string]*uhfTwin{}, climate: map[string]*modbussim.Sensor{}}
	for _, in := range cfg.Inputs {
		r.inputs[in.ID] = in
		// A contact at rest: the idle level, as wired.
		idle := activeLevel(in.Active)
		r.Bank.Sim(in.Pin).Set(!idle)
	}
	for _, w := range cfg.Wiegand {
		t := &wiegandTwin{d0: r.Bank.Sim(w.D0), d1: r.Bank.Sim(w.D1)}
		t.d0.Set(gpio.High) // both lines idle high
		t.d1.Set(gpio.High)
		r.wieg[w.ID] = t
	}
	for _, s := range cfg.Serial {
		l, err := serialsim.Open()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("sim: serial device %s: %w", s.ID, err), r.Close())
		}
		r.links = append(r.links, l)
		r.Ports = append(r.Ports, Port{Device: s.ID, Kind: s.Kind, GatewayPath: l.GatewayPath, DevicePath: l.DevicePath})
		if s.Kind == "em4100" || s.Kind == "pn532" {
			dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("sim: badge reader %s: %w", s.ID, err), r.Close())
			}
			t := &twin{kind: s.Kind, dev: dev}
			if s.Kind == "pn532" {
				t.chip = pn532sim.New(dev)
				r.serve(t.chip.Serve)
			}
			r.twins[s.ID] = t
		}
		if s.Kind == config.ClimateModbus {
			dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("sim: climate sensor %s: %w", s.ID, err), r.Close())
			}
			r.devs = append(r.devs, dev)
			addr := byte(1)
			if s.Address != nil {
				addr = byte(*s.Address)
			}
			sensor := modbussim.New(addr, dev)
			r.serve(sensor.Serve)
			r.climate[s.ID] = sensor
		}
		if k, ok := uhfKinds[s.Kind]; ok {
			dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("sim: UHF reader %s: %w", s.ID, err), r.Close())
			}
			t := &uhfTwin{dev: dev, reader: uhfsim.New(k.kind, dev), antennas: k.antennas}
			r.serve(t.reader.Serve)
			r.uhf[s.ID] = t
		}
	}
	if cfg.Notify != nil && cfg.Notify.Modem != nil {
		l, err := serialsim.Open()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("sim: the modem: %w", err), r.Close())
		}
		r.links = append(r.links, l)
		r.Ports = append(r.Ports, Port{Device: ModemID, Kind: "modem", GatewayPath: l.GatewayPath, DevicePath: l.DevicePath})
		dev, err := os.OpenFile(l.DevicePath, os.O_RDWR, 0)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("sim: the modem: %w", err), r.Close())
		}
		r.devs = append(r.devs, dev)
		r.Modem = modemsim.New(dev)
		r.serve(r.Modem.Serve)
	}
	for _, b := range cfg.Boards {
		t, err := newBoardTwin(b, o)
		if err != nil {
			return nil, errors.Join(err, r.Close())
		}
		r.boards = append(r.boards, t)
		if t.emu != nil {
			r.Ports = append(r.Ports, Port{Device: b.ID, Kind: "board", GatewayPath: t.emu.PTY, Emulator: t.emu.Clock})
			continue
		}
		// No firmware: a line with nobody on it, as a board unplugged.
		l, err := serialsim.Open()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("sim: board %s: %w", b.ID, err), r.Close())
		}
		r.links = append(r.links, l)
		r.Ports = append(r.Ports, Port{Device: b.ID, Kind: "board", GatewayPath: l.GatewayPath, DevicePath: l.DevicePath})
	}
	return r, nil
}

func activeLevel(s string) gpio.Level { return s != "low" }

// driveClimate sets what a simulated climate sensor measures:
// {"temperature_c": 24.5, "humidity_rh": 76}, or silent (it stops
// answering) and answer.
func driveClimate(sensor *modbussim.Sensor, device string, payload []byte) error {
	if word, err := parseWord(payload); err == nil && (word == "silent" || word == "answer") {
		sensor.Silence(word == "silent")
		return nil
	}
	var r struct {
		Temperature *float64 `json:"temperature_c"`
		Humidity    *float64 `json:"humidity_rh"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.Temperature == nil || r.Humidity == nil {
		return gateway.Errorf(gateway.EINVALID, `sim: climate sensor %s: want {"temperature_c": 24.5, "humidity_rh": 60}, silent or answer`, device)
	}
	if *r.Temperature < -40 || *r.Temperature > 125 || *r.Humidity < 0 || *r.Humidity > 100 {
		return gateway.Errorf(gateway.EINVALID, "sim: climate sensor %s: %g °C, %g %% RH is beyond what an SHT20 measures (-40 to 125 °C, 0 to 100 %%)", device, *r.Temperature, *r.Humidity)
	}
	sensor.Set(*r.Temperature, *r.Humidity)
	return nil
}

// Drive sets the input device to the state named in payload: a word such as
// "open", "closed", "active", "idle" (see docs/simulated-room.md), bare or as a JSON string.
// A bad payload changes nothing.
func (r *Room) Drive(device string, payload []byte) error {
	var board *boardTwin
	for _, t := range r.boards {
		if t.has(device) {
			board = t
		}
	}
	if sensor, ok := r.climate[device]; ok {
		return driveClimate(sensor, device, payload)
	}
	in, ok := r.inputs[device]
	if !ok && board == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: no input %q in room %s", device, r.room)
	}
	word, err := parseWord(payload)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "sim: input %s: %v", device, err)
	}
	if board != nil {
		if err := board.drive(device, word); err != nil {
			return gateway.Errorf(gateway.EINVALID, "sim: input %s: %v", device, err)
		}
		return nil
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
// field for a second, a Wiegand reader pulses its lines once. payload is the
// card number, bare or as a JSON string (facility:card for Wiegand).
func (r *Room) Present(reader string, payload []byte) error {
	t, ok := r.twins[reader]
	w, isWiegand := r.wieg[reader]
	if !ok && !isWiegand {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: no badge reader %q in room %s", reader, r.room)
	}
	word, err := parseWord(payload)
	if err != nil {
		return gateway.Errorf(gateway.EINVALID, "sim: reader %s: %v", reader, err)
	}
	if isWiegand {
		if err := w.send(word); err != nil {
			return gateway.Errorf(gateway.EINVALID, "sim: reader %s: %v", reader, err)
		}
		return nil
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
		// Taken away a second later, if it is still the card there: a card
		// shown within that second stays (the simulated day at speed, two
		// people badging out one after the other, lost the second's badge).
		time.AfterFunc(time.Second, func() { t.chip.Remove(raw) })
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

// maxTags bounds the tags one simulated antenna holds.
const maxTags = 2000

// Tags puts exactly the tags of payload in the field of a simulated UHF
// reader's antenna: EPCs in hex, separated by spaces, commas or new lines,
// or a JSON array of strings; empty takes every tag away. "silent" makes
// the reader stop answering (a fault), "answer" brings it back.
func (r *Room) Tags(reader string, antenna int, payload []byte) error {
	t, ok := r.uhf[reader]
	if !ok {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: no UHF reader %q in room %s", reader, r.room)
	}
	if antenna < 1 || antenna > t.antennas {
		return gateway.Errorf(gateway.EINVALID, "sim: UHF reader %s has antennas 1 to %d, not %d", reader, t.antennas, antenna)
	}
	p := bytes.TrimSpace(payload)
	switch string(p) {
	case "silent", `"silent"`:
		t.reader.Silence(true)
		return nil
	case "answer", `"answer"`:
		t.reader.Silence(false)
		return nil
	}
	var words []string
	if len(p) > 0 && p[0] == '[' {
		if err := json.Unmarshal(p, &words); err != nil {
			return gateway.Errorf(gateway.EINVALID, "sim: UHF reader %s: payload is not a JSON array of EPCs: %v", reader, err)
		}
	} else {
		words = strings.FieldsFunc(string(p), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	}
	if len(words) > maxTags {
		return gateway.Errorf(gateway.EINVALID, "sim: UHF reader %s: %d tags, at most %d in one field", reader, len(words), maxTags)
	}
	var epcs [][]byte
	for _, w := range words {
		epc := gateway.NormalizeEPC(w)
		if err := gateway.CheckEPC(epc); err != nil {
			return gateway.Errorf(gateway.EINVALID, "sim: UHF reader %s: %q: %v", reader, w, err)
		}
		b, _ := hex.DecodeString(epc)
		epcs = append(epcs, b)
	}
	t.reader.Field(antenna, epcs...)
	return nil
}

// UHF returns the simulated UHF reader of device id, or nil.
func (r *Room) UHF(id string) *uhfsim.Reader {
	if t := r.uhf[id]; t != nil {
		return t.reader
	}
	return nil
}

// Close tears down the simulated serial lines and boards.
func (r *Room) Close() error {
	var errs []error
	for _, t := range r.boards {
		errs = append(errs, t.close())
	}
	for _, dev := range r.devs {
		errs = append(errs, dev.Close())
	}
	for _, t := range r.twins {
		errs = append(errs, t.dev.Close())
	}
	for _, t := range r.uhf {
		errs = append(errs, t.dev.Close())
	}
	for _, l := range r.links {
		errs = append(errs, l.Close())
	}
	r.serveMu.Lock()
	errs = append(errs, r.serveErrs...)
	r.serveMu.Unlock()
	return errors.Join(errs...)
}

// DriveModem makes the simulated modem fail or work again: what is silent
// (it stops answering), unregistered (it loses its network) or refuse (the
// network refuses every SMS); the payload on or off.
func (r *Room) DriveModem(what string, payload []byte) error {
	if r.Modem == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "sim: this room has no modem (notify.modem)")
	}
	var on bool
	switch strings.TrimSpace(strings.Trim(strings.TrimSpace(string(payload)), `"`)) {
	case "on", "true", "1":
		on = true
	case "off", "false", "0":
	default:
		return gateway.Errorf(gateway.EINVALID, "sim: modem %s: %q is not on or off", what, payload)
	}
	switch what {
	case "silent":
		r.Modem.Silence(on)
	case "unregistered":
		r.Modem.Unregister(on)
	case "refuse":
		r.Modem.Refuse(on)
	default:
		return gateway.Errorf(gateway.EINVALID, "sim: modem: %q is not silent, unregistered or refuse", what)
	}
	return nil
}
