// Package hardware wires a room's devices to it: the GPIO contacts and
// relays, the badge readers (EM4100 and PN532 on serial lines, Wiegand on two
// pins), the UHF carrier readers and the firmware-bridge boards. Every serial
// line is supervised: a line that fails raises device-fault on its device
// and is reopened; the device answering again restores it.
//
// Open opens the pins (a room whose wiring does not match its config fails
// there, before anything listens or is written), Add hands the room its
// inputs and outputs, Start runs the devices against it, and StopReaders,
// HaltInputs and HaltOutputs end them in the order a clean stop needs.
package hardware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/contact"
	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/modbus"
	"github.com/roomguard/roomguard/devices/modem"
	"github.com/roomguard/roomguard/devices/pn532"
	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/uhf"
	"github.com/roomguard/roomguard/devices/uhf/chafon"
	"github.com/roomguard/roomguard/devices/uhf/r200"
	"github.com/roomguard/roomguard/devices/wiegand"
	bridge "github.com/roomguard/roomguard/firmware-bridge"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

// Room is what the room's devices reach of it (room.Room).
type Room interface {
	AddInput(in gateway.Input, active bool)
	AddOutput(out gateway.Output)
	InputChanged(id string, active bool, at time.Time) error
	Reading(id string, r gateway.Reading, at time.Time) error
	Badge(reader, card string, at time.Time) (gateway.Decision, error)
	Seen(reader string, antenna int, epc string, at time.Time) error
	Raise(class gateway.AlarmClass, device, detail string) (string, error)
	Restore(class gateway.AlarmClass, device string) error
	Fault(what string, err error)
	Mode() gateway.Mode
	Log(ev gateway.Event) error
}

// Opts is how the devices are reached.
type Opts struct {
	Clock   gateway.Clock
	OpenPin func(name string) (gpio.PinIO, error) // the Pi's pins, or a simulated bank
	// Path is where serial device id is opened: its configured path, or in
	// a simulated room its pseudo-terminal. Nil: the configured path.
	Path func(id, path string) string
	Log  *slog.Logger
}

// Devices are a room's devices.
type Devices struct {
	cfg  *config.Config
	o    Opts
	room Room // the room the devices run against (Start)

	inputs  []input
	outputs []output
	wiegand []wiegandReader
	boards  []*board
	byBolt  map[string]boardLock // each board lock by the safe-bolt input it gives
	modem   *modem.Modem

	heardMu sync.Mutex
	heard   map[string]*serialline.Heard // each reader's and board's line, by id

	inputsWG  sync.WaitGroup
	once      sync.Once
	stop      chan struct{} // the readers' and boards' lines
	cancel    context.CancelFunc
	readersWG sync.WaitGroup
}

type input struct {
	cfg config.Input
	dev *contact.Dev
}

type output struct {
	out gateway.Output
	dev *relay.Dev
}

type wiegandReader struct {
	id  string
	dev *wiegand.Dev
}

type board struct {
	cfg config.Board
	dev *bridge.Board
}

type boardLock struct {
	cfg config.BoardLock
	dev *bridge.Board
}

// Open opens every pin the config names (inputs, outputs, Wiegand readers)
// and prepares the boards; nothing runs yet.
func Open(cfg *config.Config, o Opts) (_ *Devices, err error) {
	if o.Path == nil {
		o.Path = func(_, path string) string { return path }
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	d := &Devices{cfg: cfg, o: o, byBolt: map[string]boardLock{}, stop: make(chan struct{})}
	if cfg.Notify != nil && cfg.Notify.Modem != nil {
		d.modem = modem.New()
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.HaltOutputs())
		}
	}()
	for _, out := range cfg.Outputs {
		pin, err := o.OpenPin(out.Pin)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", out.ID, err)
		}
		drv, err := d.relay(pin, out.ID, level(out.Active))
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", out.ID, err)
		}
		d.outputs = append(d.outputs, output{gateway.Output{ID: out.ID, Name: out.Name, Kind: out.Kind, Pulse: out.Pulse.D(), Driver: drv}, drv})
	}
	for _, in := range cfg.Inputs {
		pin, err := o.OpenPin(in.Pin)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in.ID, err)
		}
		dev, err := contact.New(pin, &contact.Opts{ActiveLevel: level(in.Active), Pull: pull(in.Pull),
			Debounce: in.Debounce.D(), Poll: cfg.GPIO.Poll.D(), Now: o.Clock.Now})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in.ID, err)
		}
		d.inputs = append(d.inputs, input{in, dev})
	}
	used := d.usedReaders()
	for _, w := range cfg.Wiegand {
		if !used[w.ID] {
			continue
		}
		d0, err := o.OpenPin(w.D0)
		if err != nil {
			return nil, fmt.Errorf("wiegand %s: d0: %w", w.ID, err)
		}
		d1, err := o.OpenPin(w.D1)
		if err != nil {
			return nil, fmt.Errorf("wiegand %s: d1: %w", w.ID, err)
		}
		dev, err := wiegand.New(d0, d1, &wiegand.Opts{Stamp: o.Clock.Now})
		if err != nil {
			return nil, fmt.Errorf("wiegand %s: %w", w.ID, err)
		}
		d.wiegand = append(d.wiegand, wiegandReader{w.ID, dev})
	}
	return d, nil
}

// relay is an output driven through pin. The room logs each change it
// asks of it in the change that asked (room.Engine); the driver reports
// nothing back but a pulse it could not end, as a gateway fault.
func (d *Devices) relay(pin gpio.PinOut, id string, active gpio.Level) (*relay.Dev, error) {
	return relay.New(pin, &relay.Opts{ActiveLevel: active, AfterFunc: d.o.Clock.AfterFunc,
		OnError: func(err error) {
			if d.room == nil { // not running yet: nobody but the log to tell
				d.o.Log.Error("the end of a pulse failed", "output", id, "err", err)
				return
			}
			d.room.Fault("end the pulse of output "+id, err)
		}})
}

// usedReaders are the badge readers some door names.
func (d *Devices) usedReaders() map[string]bool {
	used := map[string]bool{}
	for _, door := range d.cfg.Access.Doors {
		for _, rd := range door.Readers {
			used[rd.Device] = true
		}
	}
	return used
}

// openBoards prepares each board: its zones, locks and relays, its points
// starting from their recorded states.
func (d *Devices) openBoards(active map[string]bool) error {
	for _, bc := range d.cfg.Boards {
		pts := bridge.Points{Board: bc.ID, Zones: map[byte]string{}, Locks: map[byte]bridge.LockPoint{},
			Relays: map[byte]string{}, Active: active}
		for _, z := range bc.Zones {
			pts.Zones[byte(z.Zone)] = z.ID
		}
		for _, l := range bc.Locks {
			pts.Locks[byte(l.Lock)] = bridge.LockPoint{ID: l.ID, Bolt: l.Bolt, Door: l.Door, Release: l.Release.D()}
		}
		for _, r := range bc.Relays {
			pts.Relays[byte(r.Relay)] = r.ID
		}
		b := &board{cfg: bc, dev: bridge.NewBoard(pts, boardRoom{d}, d.o.Clock, d.o.Log.With("board", bc.ID))}
		d.boards = append(d.boards, b)
		for _, l := range bc.Locks {
			d.byBolt[l.Bolt] = boardLock{l, b.dev}
		}
		for _, r := range bc.Relays {
			drv, err := d.relay(b.dev.RelayPin(byte(r.Relay)), r.ID, gpio.High)
			if err != nil {
				return fmt.Errorf("board %s relay %s: %w", bc.ID, r.ID, err)
			}
			d.outputs = append(d.outputs, output{gateway.Output{ID: r.ID, Name: r.Name, Kind: r.Kind, Pulse: r.Pulse.D(), Driver: drv}, drv})
		}
	}
	return nil
}

// boardRoom is what a board reaches of the room (the room Start runs the
// devices against; a board's line runs only from then).
type boardRoom struct{ d *Devices }

func (r boardRoom) InputChanged(id string, active bool, at time.Time) error {
	return r.d.room.InputChanged(id, active, at)
}
func (r boardRoom) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	return r.d.room.Raise(class, device, detail)
}
func (r boardRoom) Restore(class gateway.AlarmClass, device string) error {
	return r.d.room.Restore(class, device)
}
func (r boardRoom) Log(ev gateway.Event) error { return r.d.room.Log(ev) }

// Add hands room its inputs, each with the state it reads now (a board's
// points as recorded: the board's first report tells what changed since),
// and its outputs, the boards' relays among them.
func (d *Devices) Add(room Room, recorded map[string]gateway.DeviceState) error {
	for _, in := range d.inputs {
		room.AddInput(gateway.Input{ID: in.cfg.ID, Name: in.cfg.Name, Kind: in.cfg.Kind, Strike: in.cfg.Strike}, in.dev.Active())
	}
	active := map[string]bool{}
	for _, in := range d.cfg.BoardInputs() {
		active[in.ID] = recorded[in.ID].Active
		room.AddInput(in, active[in.ID])
	}
	for _, in := range d.cfg.ClimateInputs() { // as recorded: the first reading tells
		room.AddInput(in, recorded[in.ID].Active)
	}
	if err := d.openBoards(active); err != nil {
		return err
	}
	for _, out := range d.outputs {
		room.AddOutput(out.out)
	}
	return nil
}

// Start runs every device against room (the one Add gave the devices to).
func (d *Devices) Start(room Room) {
	d.room = room
	for _, in := range d.inputs {
		d.inputsWG.Add(1)
		go func() {
			defer d.inputsWG.Done()
			in.dev.Run(func(c contact.Change) {
				if err := d.room.InputChanged(in.cfg.ID, c.Active, c.At); err != nil {
					d.o.Log.Error("input change not logged", "input", in.cfg.ID, "err", err)
				}
			})
		}()
	}
	d.startBadgeReaders()
	if d.cfg.Carriers != nil {
		d.startUHF()
	}
	d.startBoards()
	d.startClimate()
	d.startModem()
}

// startClimate reads each climate sensor on its supervised line: a sensor
// that stops answering is a device fault, its readings go to the room.
func (d *Devices) startClimate() {
	status := d.faultStatus("climate sensor")
	for _, s := range d.cfg.Serial {
		if s.Kind != config.ClimateModbus {
			continue
		}
		id, path, baud := s.ID, d.o.Path(s.ID, s.Path), s.Baud
		c := &modbus.Climate{Addr: 1, Every: s.Every.D(), Now: d.o.Clock.Now}
		if s.Address != nil {
			c.Addr = byte(*s.Address)
		}
		d.readersWG.Go(func() {
			serialline.Supervise(d.stop, serialline.Opts{Path: path, Baud: baud, Status: status(id), Heard: d.heardOn(id)},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					return c.Run(port, stop, ready, func(r modbus.Reading) {
						if err := d.room.Reading(id, gateway.Reading{Temperature: r.Temperature, Humidity: r.Humidity}, r.At); err != nil {
							d.o.Log.Warn("climate reading not taken", "sensor", id, "err", err)
						}
					})
				})
		})
	}
}

// Modem is the room's GSM/LTE modem (notify.modem), driven once Start runs
// it: the call-down's SMS and calls go through it. Nil without one.
func (d *Devices) Modem() *modem.Modem { return d.modem }

// startModem runs the modem on its supervised line: silence or a lost
// network is a device fault on "modem".
func (d *Devices) startModem() {
	if d.modem == nil {
		return
	}
	m := d.cfg.Notify.Modem
	path, baud := d.o.Path("modem", m.Path), m.Baud
	if baud == 0 {
		baud = 115200
	}
	status := d.faultStatus("modem")("modem")
	d.readersWG.Go(func() {
		serialline.Supervise(d.stop, serialline.Opts{Path: path, Baud: baud, Status: status}, d.modem.Driver)
	})
}

// present hands a card read at reader to entry control.
func (d *Devices) present(reader string) func(badge.Card) {
	return func(c badge.Card) {
		dec, err := d.room.Badge(reader, c.Number, c.At)
		if err != nil {
			d.o.Log.Error("badge not decided", "reader", reader, "err", err)
			return
		}
		d.o.Log.Debug("badge", "reader", reader, "granted", dec.Granted, "reason", dec.Reason)
	}
}

// startBadgeReaders runs every badge reader a door names: serial ones
// supervised, Wiegand ones on their pins.
func (d *Devices) startBadgeReaders() {
	used := d.usedReaders()
	status := d.faultStatus("badge reader")
	clock := d.o.Clock
	for _, s := range d.cfg.Serial {
		if !used[s.ID] || (s.Kind != "em4100" && s.Kind != "pn532") {
			continue
		}
		path := d.o.Path(s.ID, s.Path)
		kind, id, baud := s.Kind, s.ID, s.Baud
		var heard *serialline.Heard
		if kind == "pn532" { // an EM4100 reader is silent until a card comes: its silence says nothing
			heard = d.heardOn(id)
		}
		d.readersWG.Go(func() {
			serialline.Supervise(d.stop, serialline.Opts{Path: path, Baud: baud, Status: status(id), Heard: heard},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					if kind == "pn532" {
						return pn532.New(port, &pn532.Opts{Stamp: clock.Now}).Run(stop, ready, d.present(id))
					}
					ready() // an EM4100 reader only talks when a card is there
					dec := &em4100.Decoder{Now: clock.Now}
					return dec.Decode(serialline.Reader{Port: port, Stop: stop}, d.present(id))
				})
		})
	}
	for _, w := range d.wiegand {
		d.readersWG.Go(func() { w.dev.Run(d.present(w.id)) })
	}
}

// startUHF runs every UHF reader, supervised like the badge readers.
func (d *Devices) startUHF() {
	status := d.faultStatus("UHF reader")
	clock := d.o.Clock
	for _, s := range d.cfg.Serial {
		if !s.UHF() {
			continue
		}
		id, kind := s.ID, s.Kind
		addr := byte(0xFF)
		if s.Address != nil {
			addr = byte(*s.Address)
		}
		seen := func(rd uhf.Read) {
			if err := d.room.Seen(id, rd.Antenna, rd.EPC, rd.At); err != nil {
				d.o.Log.Warn("tag read not taken", "reader", id, "antenna", rd.Antenna, "epc", rd.EPC, "err", err)
			}
		}
		path, baud := d.o.Path(s.ID, s.Path), s.Baud
		d.readersWG.Go(func() {
			serialline.Supervise(d.stop, serialline.Opts{Path: path, Baud: baud, Status: status(id), Heard: d.heardOn(id)},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					var p uhf.Protocol
					switch kind {
					case "uhf-r200":
						p = &r200.Reader{}
					case "uhf-chafon18":
						p = &chafon.Reader{Addr: addr, Model: chafon.Reader18}
					default:
						p = &chafon.Reader{Addr: addr, Model: chafon.Reader288}
					}
					return uhf.Run(port, p, stop, ready, &uhf.Opts{Stamp: clock.Now}, seen)
				})
		})
	}
}

// startBoards opens each board's serial line, supervised; a link runs on
// it for as long as it works.
func (d *Devices) startBoards() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	status := d.faultStatus("board")
	for _, b := range d.boards {
		d.readersWG.Go(func() { b.dev.RunRelays(ctx) })
		path := d.o.Path(b.cfg.ID, b.cfg.Path)
		d.readersWG.Go(func() {
			serialline.Supervise(d.stop, serialline.Opts{Path: path, Baud: b.cfg.Baud, Status: status(b.cfg.ID), Heard: d.heardOn(b.cfg.ID)},
				func(port serialline.Port, stop <-chan struct{}, ready func()) error {
					link := bridge.NewLink(port, d.o.Clock, b.dev)
					link.SilentAfter(b.cfg.SilentAfter.D())
					b.dev.Attach(link, ready)
					return link.Run(ctx) // StopReaders cancels ctx as it closes stop
				})
		})
	}
}

// heardOn is the record of when the line of the reader or board id last
// brought a byte.
func (d *Devices) heardOn(id string) *serialline.Heard {
	d.heardMu.Lock()
	defer d.heardMu.Unlock()
	if d.heard == nil {
		d.heard = map[string]*serialline.Heard{}
	}
	h := d.heard[id]
	if h == nil {
		h = &serialline.Heard{}
		d.heard[id] = h
	}
	return h
}

// LastHeard is when each polled reader's and board's line last brought a
// byte (zero: not since the start): a PN532 and a UHF reader answer their
// polls, a board sends its heartbeat. An EM4100 reader is not among them:
// it speaks only when a card is held to it.
func (d *Devices) LastHeard() map[string]time.Time {
	d.heardMu.Lock()
	defer d.heardMu.Unlock()
	out := make(map[string]time.Time, len(d.heard))
	for id, h := range d.heard {
		out[id] = h.Last()
	}
	return out
}

// faultStatus is the status callback of a supervised serial device: a
// failure raises device-fault, the device answering again restores it.
func (d *Devices) faultStatus(what string) func(id string) func(bool, error) {
	return func(id string) func(bool, error) {
		return func(up bool, err error) {
			if up {
				d.o.Log.Info(what+" ready", "device", id)
				if err := d.room.Restore(gateway.AlarmDeviceFault, id); err != nil {
					d.o.Log.Error("fault restore not logged", "device", id, "err", err)
				}
				return
			}
			d.o.Log.Warn(what+" fault", "device", id, "err", err)
			if _, err2 := d.room.Raise(gateway.AlarmDeviceFault, id, err.Error()); err2 != nil {
				d.o.Log.Error("fault not logged", "device", id, "err", err2)
			}
		}
	}
}

// StopReaders ends the badge and UHF readers and the boards' lines.
func (d *Devices) StopReaders() error {
	var errs []error
	d.once.Do(func() {
		close(d.stop)
		if d.cancel != nil {
			d.cancel()
		}
		for _, w := range d.wiegand {
			errs = append(errs, w.dev.Halt())
		}
		d.readersWG.Wait()
	})
	return errors.Join(errs...)
}

// HaltInputs stops reading the contacts; it returns once no input change
// is on its way.
func (d *Devices) HaltInputs() error {
	var errs []error
	for _, in := range d.inputs {
		errs = append(errs, in.dev.Halt())
	}
	d.inputsWG.Wait()
	return errors.Join(errs...)
}

// HaltOutputs turns every output off (each change is logged like any
// other, so do it before the room's last event).
func (d *Devices) HaltOutputs() error {
	var errs []error
	for _, out := range d.outputs {
		if err := out.dev.Halt(); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", out.out.ID, err))
		}
	}
	return errors.Join(errs...)
}

// releaseTimeout bounds a release: the link gives a command up after five
// tries in one second.
const releaseTimeout = 3 * time.Second

// ReleaseSafe carries out safe/release: a safe whose lock is on a board is
// released for the lock's release time, only while the room is open. Every
// attempt is logged as lock.release with who, why and whether the board
// took it.
func (d *Devices) ReleaseSafe(safe, by, reason string) (map[string]any, error) {
	i := slices.IndexFunc(d.cfg.Safes, func(sc config.Safe) bool { return sc.ID == safe })
	if i < 0 {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "safe/release: no safe %q in this room", safe)
	}
	bl, ok := d.byBolt[d.cfg.Safes[i].Bolt]
	if !ok {
		return nil, gateway.Errorf(gateway.ENOTFOUND, "safe/release: safe %s has no lock controller on a board to release", safe)
	}
	lock := bl.cfg
	if mode := d.room.Mode(); mode != gateway.ModeOpen {
		return nil, gateway.Errorf(gateway.ECONFLICT, "safe/release: the room is %s: a safe is released only while it is open", mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	err := bl.dev.Release(ctx, lock.ID)
	data := map[string]any{"by": by, "safe": safe, "reason": reason, "release_ms": lock.Release.D().Milliseconds(), "done": err == nil}
	sev := gateway.SeverityInfo
	if err != nil {
		data["error"], sev = err.Error(), gateway.SeverityWarning
	}
	raw, jerr := json.Marshal(data)
	if jerr != nil {
		return nil, jerr
	}
	clock := d.o.Clock
	ev := gateway.Event{TS: clock.Now(), ClockTrusted: clock.Trusted(), Type: "lock.release", Severity: sev, Device: lock.ID, Data: raw}
	if lerr := d.room.Log(ev); lerr != nil {
		return nil, fmt.Errorf("safe/release: not logged: %w", lerr)
	}
	if err != nil {
		return nil, fmt.Errorf("safe/release: %w", err)
	}
	return map[string]any{"safe": safe, "lock": lock.ID, "release_ms": lock.Release.D().Milliseconds()}, nil
}

func level(s string) gpio.Level { return s != "low" }

func pull(s string) gpio.Pull {
	switch s {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	}
	return gpio.Float
}
