package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/roomguard/roomguard/gateway"
)

// Room is what a board's points reach in the gateway: the engine's inputs,
// the panel's alarms and the event log.
type Room interface {
	InputChanged(id string, active bool, at time.Time) error
	Raise(class gateway.AlarmClass, device, detail string) (string, error)
	Restore(class gateway.AlarmClass, device string) error
	Log(ev gateway.Event) error
}

// Points maps a board's zones, locks and relays to the room's devices.
type Points struct {
	Board  string // the board's device id
	Zones  map[byte]string
	Locks  map[byte]LockPoint
	Relays map[byte]string
	// Active is each input's state when the gateway starts (as recorded):
	// the board's first report is a change only where it differs.
	Active map[string]bool
}

// LockPoint is a safe-lock controller: the controller's own id (its
// alarms) and the inputs it gives.
type LockPoint struct {
	ID, Bolt, Door string
	Release        time.Duration
}

// Board turns what a board says into the room's inputs, alarms and events,
// and carries the room's commands to it. It is a Handler; the line's
// supervisor Attaches each new Link, so a board survives its line being
// reopened.
//
//   - a zone in alarm is its input active, normal idle; tamper-short and
//     tamper-cut raise tamper, fault raises device-fault (both in every
//     mode), restored once the line is normal or in alarm again;
//   - a lock's state sets its bolt and door inputs; its cover opened raises
//     tamper; jammed or a low battery raise device-fault;
//   - silence raises board-silent, restored when it speaks;
//   - its first HELLO is logged as board.hello, a later one from a board that
//     has booted since as board.reset; a refused command as board.error.
type Board struct {
	pts   Points
	room  Room
	clock gateway.Clock
	log   *slog.Logger

	mu        sync.Mutex
	link      *Link
	ready     func()
	helloSeen bool
	boots     uint16
	silent    bool
	hello     Hello
	active    map[string]bool
	zone      map[byte]ZoneState
	lock      map[byte]Lock
	beat      Heartbeat
	cond      map[condKey]string // each alarm condition's detail, "" when off; absent: unknown
	relayWant map[byte]bool
	relayKick chan struct{}
}

type condKey struct {
	class  gateway.AlarmClass
	device string
}

// NewBoard returns the board of pts in room.
func NewBoard(pts Points, room Room, clock gateway.Clock, log *slog.Logger) *Board {
	b := &Board{pts: pts, room: room, clock: clock, log: log, active: map[string]bool{}, zone: map[byte]ZoneState{},
		lock: map[byte]Lock{}, cond: map[condKey]string{}, relayWant: map[byte]bool{}, relayKick: make(chan struct{}, 1)}
	for id, a := range pts.Active {
		b.active[id] = a
	}
	return b
}

// Attach makes l the board's link; ready is called at the board's HELLO.
func (b *Board) Attach(l *Link, ready func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.link, b.ready = l, ready
}

func (b *Board) current() *Link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.link
}

// Release drives the release of the lock controller id for its release
// time; it returns once the board has taken the command.
func (b *Board) Release(ctx context.Context, id string) error {
	for n, l := range b.pts.Locks {
		if l.ID == id {
			link := b.current()
			if link == nil {
				return gateway.Errorf(gateway.ECONFLICT, "board %s is not connected", b.pts.Board)
			}
			return link.Unlock(ctx, int(n), l.Release)
		}
	}
	return gateway.Errorf(gateway.ENOTFOUND, "board %s has no lock %q", b.pts.Board, id)
}

// Hello handles the board's HELLO: logged, and every relay set again (a
// board starts with its relays off).
func (b *Board) Hello(h Hello, reset bool) {
	b.mu.Lock()
	reset = reset || (b.helloSeen && h.Boots != b.boots)
	first := !b.helloSeen
	b.helloSeen, b.boots, b.hello = true, h.Boots, h
	ready := b.ready
	b.mu.Unlock()
	b.spoke()
	if ready != nil {
		ready()
	}
	data := map[string]any{"firmware": fmt.Sprintf("%d.%d", h.FWMajor, h.FWMinor), "protocol": h.Proto,
		"zones": h.Zones, "locks": h.Locks, "relays": h.Relays, "reset_cause": h.ResetCause(), "boots": h.Boots}
	switch {
	case reset:
		b.event("board.reset", gateway.SeverityWarning, data)
	case first:
		b.event("board.hello", gateway.SeverityInfo, data)
	}
	b.checkCapacity(h)
	b.kickRelays()
}

// checkCapacity raises device-fault when the config uses points the board
// does not have.
func (b *Board) checkCapacity(h Hello) {
	var missing []string
	for n, id := range b.pts.Zones {
		if n >= h.Zones {
			missing = append(missing, fmt.Sprintf("zone %d (%s)", n, id))
		}
	}
	for n, l := range b.pts.Locks {
		if n >= h.Locks {
			missing = append(missing, fmt.Sprintf("lock %d (%s)", n, l.ID))
		}
	}
	for n, id := range b.pts.Relays {
		if n >= h.Relays {
			missing = append(missing, fmt.Sprintf("relay %d (%s)", n, id))
		}
	}
	if len(missing) == 0 {
		return
	}
	sort.Strings(missing)
	b.raise(gateway.AlarmDeviceFault, b.pts.Board, fmt.Sprintf("the board has %d zones, %d locks and %d relays; the config uses %v",
		h.Zones, h.Locks, h.Relays, missing))
}

// Zone handles a zone's new state.
func (b *Board) Zone(z Zone) {
	b.spoke()
	id, ok := b.pts.Zones[z.Zone]
	if !ok {
		return // a zone the room does not use
	}
	b.mu.Lock()
	b.zone[z.Zone] = z.State
	b.mu.Unlock()
	tamper, fault := false, false
	switch z.State {
	case ZoneNormal:
		b.input(id, false)
	case ZoneAlarm:
		b.input(id, true)
	case ZoneTamperShort, ZoneTamperCut:
		tamper = true
	default:
		fault = true
	}
	detail := fmt.Sprintf("zone %d line %s (ADC %d)", z.Zone, z.State, z.ADC)
	b.condition(gateway.AlarmTamper, id, tamper, detail)
	b.condition(gateway.AlarmDeviceFault, id, fault, detail)
}

// Lock handles a lock's new state.
func (b *Board) Lock(l Lock) {
	b.spoke()
	p, ok := b.pts.Locks[l.Lock]
	if !ok {
		return
	}
	b.mu.Lock()
	b.lock[l.Lock] = l
	b.mu.Unlock()
	switch l.State {
	case LockLocked, LockJammed: // jammed: the bolt is still thrown
		b.input(p.Door, false)
		b.input(p.Bolt, false)
	case LockUnlocked:
		b.input(p.Door, false)
		b.input(p.Bolt, true)
	case LockOpen:
		b.input(p.Bolt, true)
		b.input(p.Door, true)
	}
	b.condition(gateway.AlarmTamper, p.ID, l.State == LockTamper, fmt.Sprintf("lock %d cover opened", l.Lock))
	var faults []string
	if l.State == LockJammed {
		faults = append(faults, "the bolt did not withdraw when released (jammed)")
	}
	if l.BatteryLow {
		faults = append(faults, "battery low")
	}
	b.condition(gateway.AlarmDeviceFault, p.ID, len(faults) > 0, fmt.Sprintf("lock %d: %v", l.Lock, faults))
}

// Heartbeat keeps the board's counters for Status.
func (b *Board) Heartbeat(h Heartbeat) {
	b.spoke()
	b.mu.Lock()
	b.beat = h
	b.mu.Unlock()
}

// BoardError logs a command the board refused.
func (b *Board) BoardError(e BoardError) {
	b.spoke()
	b.event("board.error", gateway.SeverityWarning, map[string]any{"code": e.Code, "ref_type": Type(e.RefType).String(),
		"ref_seq": e.RefSeq, "detail": e.Detail, "error": e.Error()})
}

// Silent raises board-silent, or restores it.
func (b *Board) Silent(silent bool) {
	if !silent {
		b.spoke()
		return
	}
	b.mu.Lock()
	was := b.silent
	b.silent = true
	b.mu.Unlock()
	if !was {
		b.raise(gateway.AlarmBoardSilent, b.pts.Board, "the board has said nothing for the silence limit")
	}
}

// spoke restores board-silent when a board thought silent speaks (also
// through a new link, which starts out not silent).
func (b *Board) spoke() {
	b.mu.Lock()
	was := b.silent
	b.silent = false
	b.mu.Unlock()
	if was {
		if err := b.room.Restore(gateway.AlarmBoardSilent, b.pts.Board); err != nil {
			b.log.Error("board-silent restore not logged", "board", b.pts.Board, "err", err)
		}
	}
}

// input reports an input's state when it differs from the last known one.
func (b *Board) input(id string, active bool) {
	b.mu.Lock()
	was, known := b.active[id]
	b.active[id] = active
	b.mu.Unlock()
	if known && was == active {
		return
	}
	if err := b.room.InputChanged(id, active, b.clock.Now()); err != nil {
		b.log.Error("input change not logged", "input", id, "err", err)
	}
}

// condition raises class on device when on (again when the detail
// changes: a shorted line then cut), restores it when off. A condition not
// known yet is restored the first time: its alarm may have outlived a
// restart of the gateway.
func (b *Board) condition(class gateway.AlarmClass, device string, on bool, detail string) {
	if !on {
		detail = ""
	}
	k := condKey{class, device}
	b.mu.Lock()
	last, known := b.cond[k]
	b.cond[k] = detail
	b.mu.Unlock()
	if known && last == detail {
		return
	}
	if on {
		b.raise(class, device, detail)
		return
	}
	if err := b.room.Restore(class, device); err != nil {
		b.log.Error("restore not logged", "class", class, "device", device, "err", err)
	}
}

func (b *Board) raise(class gateway.AlarmClass, device, detail string) {
	if _, err := b.room.Raise(class, device, detail); err != nil {
		b.log.Error("alarm not logged", "class", class, "device", device, "err", err)
	}
}

func (b *Board) event(typ string, sev gateway.Severity, data map[string]any) {
	raw, _ := json.Marshal(data)
	ev := gateway.Event{TS: b.clock.Now(), ClockTrusted: b.clock.Trusted(), Type: typ, Severity: sev, Device: b.pts.Board, Data: raw}
	if err := b.room.Log(ev); err != nil {
		b.log.Error("board event not logged", "type", typ, "err", err)
	}
}

// Status is what a board last said, for diagnostics.
type Status struct {
	Connected bool
	Hello     Hello
	Heartbeat Heartbeat
	Link      Counters
}

// Status returns what the board last said.
func (b *Board) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Status{Connected: b.helloSeen && !b.silent, Hello: b.hello, Heartbeat: b.beat}
	if b.link != nil {
		s.Link = b.link.Counters()
	}
	return s
}

// RelayPin is relay n of the board as a GPIO output, so the room drives it
// with the same relay driver as a pin of the Pi (pulses, sirens' cut-off).
// Out returns at once: the level is carried to the board in the background,
// again after every HELLO, since a board starts with its relays off.
func (b *Board) RelayPin(n byte) gpio.PinOut { return &relayPin{b: b, n: n} }

type relayPin struct {
	b *Board
	n byte
}

func (p *relayPin) String() string   { return fmt.Sprintf("%s/relay%d", p.b.pts.Board, p.n) }
func (p *relayPin) Name() string     { return p.String() }
func (p *relayPin) Number() int      { return int(p.n) }
func (p *relayPin) Function() string { return "Out" }
func (p *relayPin) Halt() error      { return nil }
func (p *relayPin) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("%s: a relay has no PWM", p)
}
func (p *relayPin) Out(l gpio.Level) error {
	p.b.mu.Lock()
	p.b.relayWant[p.n] = bool(l)
	p.b.mu.Unlock()
	p.b.kickRelays()
	return nil
}

func (b *Board) kickRelays() {
	select {
	case b.relayKick <- struct{}{}:
	default:
	}
}

// relayTimeout bounds one relay command: the link's five tries take one second.
const relayTimeout = 2 * time.Second

// RunRelays carries the relays' levels to the board until ctx ends.
func (b *Board) RunRelays(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.relayKick:
		}
		b.mu.Lock()
		link := b.link
		want := make(map[byte]bool, len(b.relayWant))
		for n, on := range b.relayWant {
			want[n] = on
		}
		b.mu.Unlock()
		if link == nil {
			continue // the next HELLO kicks again
		}
		for n, on := range want {
			cctx, cancel := context.WithTimeout(ctx, relayTimeout)
			if err := link.Relay(cctx, int(n), on); err != nil && ctx.Err() == nil {
				b.log.Warn("relay not set", "board", b.pts.Board, "relay", n, "on", on, "err", err)
			}
			cancel()
		}
	}
}
