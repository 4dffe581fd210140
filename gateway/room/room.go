package room

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roomguard/roomguard/gateway"
)

// Config is what a room is made of, every default filled in (the config
// package's).
type Config struct {
	ID       string
	Panel    gateway.PanelConfig
	Access   gateway.AccessConfig
	Vault    *gateway.VaultConfig // nil: the room tracks no carriers
	Safes    []gateway.SafeConfig
	Schedule gateway.WorkSchedule // the working day and holidays: entry control's and the loans' due times
	// NotSecured runs the end-of-day checks of the schedule: room.not_secured
	// for a room left open, seal.missing on the eve of a holiday.
	NotSecured bool
	// Inventory is the daily inventory's time of day (after midnight);
	// negative: none.
	Inventory time.Duration
	Key       gateway.Keyed // hashes cards and ID numbers for matching
	// Commands are the roles each command takes (Authorize); nil: the
	// defaults.
	Commands gateway.CommandRoles
	// Climate are the limits of the climate sensors (zero: the defaults).
	Climate gateway.ClimateLimits
}

// Log is everything the room needs of its log: its changes, what it reads
// back at start, and its copy of the registers.
type Log interface {
	gateway.ChangeLog
	gateway.RoomLog
	gateway.AccessLog
	gateway.VaultLog
	gateway.Register
}

// Sink is everything the room publishes, once committed.
type Sink interface {
	gateway.StateSink
	gateway.PanelSink
	gateway.AccessSink
	gateway.VaultSink
}

// Room is one confidential room: its parts, built and joined by New. The
// parts are exported for the adapters that drive them (the MQTT commands,
// the readers, the boards); they are never built one by one elsewhere.
type Room struct {
	ID     string
	Engine *Engine // inputs, outputs, safes
	Panel  *Panel  // mode, alarms, the seal
	Access *Access // entry control
	Vault  *Vault  // carrier tracking; nil when the room tracks none
	Sealer Sealer  // seal and unseal, with their inventories

	cfg Config
	log Log
}

// New builds the room of cfg on its log, clock and sink. Add its inputs and
// outputs, then Start it.
func New(cfg Config, log Log, clock gateway.Clock, sink Sink, logger *slog.Logger) *Room {
	r := &Room{ID: cfg.ID, cfg: cfg, log: log}
	climate := cfg.Climate
	if climate == (gateway.ClimateLimits{}) {
		climate = gateway.DefaultClimateLimits
	}
	r.Engine = newEngine(cfg.ID, clock, log, sink, climate)
	r.Panel = newPanel(cfg.ID, cfg.Panel, clock, log, sink)
	r.Panel.Log = logger
	r.Access = newAccess(cfg.ID, cfg.Access, clock, log, log, sink, r.Panel, cfg.Key)
	if cfg.Vault != nil {
		ws := cfg.Schedule
		r.Vault = newVault(cfg.ID, *cfg.Vault, clock, log, log, r.Panel, r.Access, sink, &ws)
	}
	// The parts know each other directly, joined here and nowhere else:
	// inputs reach the panel and entry control through the engine's one
	// change; the panel reads the devices, who is inside and the carriers,
	// and drives the sirens; entry control releases the strikes.
	r.Engine.panel, r.Engine.access = r.Panel, r.Access
	r.Panel.engine, r.Panel.access, r.Panel.vault = r.Engine, r.Access, r.Vault
	r.Access.engine = r.Engine
	r.Sealer = Sealer{Panel: r.Panel, Vault: r.Vault}
	return r
}

// AddInput adds an input with the state it reads now; before Start.
func (r *Room) AddInput(in gateway.Input, active bool) { r.Engine.AddInput(in, active) }

// AddOutput adds an output; before Start.
func (r *Room) AddOutput(out gateway.Output) { r.Engine.AddOutput(out) }

// Start adds the safes (their contacts are inputs by now), logs the start
// and what changed while the gateway was down, restores the panel, who is
// inside and the carriers, and starts the room's timers.
func (r *Room) Start(version string, sim bool) error {
	for _, s := range r.cfg.Safes {
		r.Engine.AddSafe(s)
	}
	if err := r.Engine.Start(version, sim); err != nil {
		return err
	}
	if r.cfg.NotSecured {
		r.Panel.SetSchedule(r.cfg.Schedule)
	}
	r.Access.SetSchedule(r.cfg.Schedule)
	if err := r.Access.Start(); err != nil {
		return err
	}
	if r.Vault == nil {
		return nil
	}
	if err := r.Vault.Load(); err != nil {
		return fmt.Errorf("load the carriers: %w", err)
	}
	r.Vault.Publish()
	if r.cfg.Inventory >= 0 {
		r.Vault.ScheduleInventory(r.cfg.Inventory)
	}
	return nil
}

// Alive returns once every part of the room can take a change: each one's
// lock taken and let go. The service's watchdog asks it (with the log's
// Ping); a part stuck holding its lock never answers, and the watchdog then
// lets systemd restart the gateway.
func (r *Room) Alive() error {
	locks := []*sync.Mutex{&r.Engine.mu, &r.Panel.mu, &r.Access.mu}
	if r.Vault != nil {
		locks = append(locks, &r.Vault.mu)
	}
	for _, mu := range locks { // taking each lock is the check
		mu.Lock()
		mu.Unlock()
	}
	return nil
}

// Alarms are the room's open alarms now.
func (r *Room) Alarms() []*gateway.Alarm { return r.Panel.State().Alarms }

// StopTimers ends every timer of the room (carrier sweeps and overdues,
// safe reminders, the panel's deadlines): nothing happens by itself any
// more. The state stays as logged.
func (r *Room) StopTimers() {
	if r.Vault != nil {
		r.Vault.Stop()
	}
	r.Engine.StopSafes()
	r.Panel.Stop()
}

// Stop ends the timers and logs gateway.stopped, the room's last event.
func (r *Room) Stop(reason string) error {
	r.StopTimers()
	return r.Engine.Stop(reason)
}

// What the room's devices reach of it: each a door into the one commit
// path (the hardware package's Room).

// InputChanged takes an input's accepted change.
func (r *Room) InputChanged(id string, active bool, at time.Time) error {
	return r.Engine.InputChanged(id, active, at)
}

// Reading takes a climate sensor's reading (Engine.Reading).
func (r *Room) Reading(id string, rd gateway.Reading, at time.Time) error {
	return r.Engine.Reading(id, rd, at)
}

// Badge decides a card presented at a reader.
func (r *Room) Badge(reader, card string, at time.Time) (gateway.Decision, error) {
	d, err := r.Access.Badge(reader, card, at)
	if err != nil {
		return d, err
	}
	if d.Granted && r.Vault != nil {
		// A person present at the room's reader confirms the steps of
		// carriers' lives that wait for them (a witness, a reader).
		who := d.Pair
		if len(who) == 0 && d.Person != nil {
			who = []string{d.Person.ID}
		}
		for _, p := range who {
			r.Vault.ConfirmByBadge(p, reader)
		}
	}
	if d.Confirms != "" {
		r.confirmByBadge(d.Confirms, d.Person.ID, reader)
	}
	return d, nil
}

// confirmByBadge takes a double badge as a person's seal or unseal
// confirmation (issue 17): the person must be one who may give the command;
// the channel is the reader and the person, so two people at one reader
// are two confirmations, and one person twice is refused as the same
// person. A refusal is logged, never an error of the badge (the door's
// decision stands).
func (r *Room) confirmByBadge(op, person, reader string) {
	via := "badge:" + reader + "/" + person
	if err := r.Authorize(op, person, via); err != nil {
		if rerr := r.Refused(via, op, gateway.ErrorCode(err), err.Error()); rerr != nil {
			r.Panel.Log.Error("a badge confirmation's refusal not logged", "err", rerr)
		}
		return
	}
	var err error
	if op == "seal" {
		_, err = r.Sealer.SealVia(person, via)
	} else {
		_, err = r.Sealer.UnsealVia(person, via)
	}
	if err != nil {
		r.Panel.Log.Warn("a badge confirmation not taken", "op", op, "person", person, "reader", reader, "err", err)
	}
}

// Seen takes a tag read at a UHF reader's antenna.
func (r *Room) Seen(reader string, antenna int, epc string, at time.Time) error {
	if r.Vault == nil {
		return gateway.Errorf(gateway.ENOTFOUND, "room %s tracks no carriers", r.ID)
	}
	return r.Vault.Seen(reader, antenna, epc, at)
}

// Raise opens an alarm of a device (a fault, a tamper a board reports).
func (r *Room) Raise(class gateway.AlarmClass, device, detail string) (string, error) {
	return r.Panel.Raise(class, device, detail)
}

// Restore marks a device's alarms of class restored.
func (r *Room) Restore(class gateway.AlarmClass, device string) error {
	return r.Panel.Restore(class, device)
}

// Fault raises a gateway fault for an error nobody waits for.
func (r *Room) Fault(what string, err error) { r.Panel.Fault(what, err) }

// Mode is the room's mode.
func (r *Room) Mode() gateway.Mode { return r.Panel.Mode() }

// ReplaceRegister replaces a register whole (personnel/replace,
// carriers/replace, calldown/replace) in a change of the room: its rows and
// its <name>.replaced event in the one transaction of whatever else the
// change holds. A carrier register that drops a carrier still signed out
// is refused; once written, the vault tracks the new carriers.
func (r *Room) ReplaceRegister(reg gateway.RegisterChange) error {
	return r.Panel.do(func(c *change) error { return r.replaceIn(c, reg) })
}

// replaceIn adds a register replaced whole to change c.
func (r *Room) replaceIn(c *change, reg gateway.RegisterChange) error {
	for _, held := range c.registers {
		if held.Name == reg.Name {
			return gateway.Errorf(gateway.ECONFLICT, "%s: another replacement of the register is being written: send it again", reg.Name)
		}
	}
	// Register changes are written through this queue only, in order:
	// the version held now is the one the change goes on from.
	held, err := r.log.RegisterVersion(reg.Name)
	if err != nil {
		return err
	}
	if reg.Version <= held {
		return gateway.Errorf(gateway.ECONFLICT, "%s: version %d is not newer than the version held, %d", reg.Name, reg.Version, held)
	}
	if reg.Name == "personnel" && r.Vault != nil {
		// A person who keeps carriers stays in the register until they
		// are handed over (issue 30: 移交).
		kept := map[string]bool{}
		for _, p := range reg.People {
			kept[p.ID] = true
		}
		held := map[string][]string{}
		for who, ids := range r.Vault.Custodians() {
			if who != "" && !kept[who] {
				held[who] = ids
			}
		}
		if len(held) > 0 {
			var out []string
			for who, ids := range held {
				out = append(out, fmt.Sprintf("%s keeps %s", who, strings.Join(ids, ", ")))
			}
			sort.Strings(out)
			return gateway.Errorf(gateway.ECONFLICT, "personnel: the new register drops custodians of carriers: %s; hand their carriers over first (custody/transfer)",
				strings.Join(out, "; "))
		}
	}
	if reg.Name == "carriers" {
		if r.Vault == nil {
			return gateway.Errorf(gateway.ENOTFOUND, "room %s tracks no carriers", r.ID)
		}
		if err := r.Vault.replaceIn(c, reg.Carriers); err != nil {
			return err
		}
	}
	if reg.At.IsZero() {
		reg.At = c.now
	}
	c.registers = append(c.registers, reg)
	return nil
}

// Checkpoint logs a checkpoint of the chain's head (log.checkpoint, which
// the log signs with the room's key) in a change of its own: the hourly
// one, and the one before a clean stop.
func (r *Room) Checkpoint() (uint64, error) {
	var seq uint64
	err := r.Panel.do(func(c *change) error {
		c.event("log.checkpoint", gateway.SeverityInfo, "", "", nil)
		i := len(c.events) - 1
		c.after = append(c.after, func(logged []gateway.Event) { seq = logged[i].Seq })
		return nil
	})
	return seq, err
}

// Log records an event of a device (a board's hello, a lock released) in
// a change of its own.
func (r *Room) Log(ev gateway.Event) error {
	return r.Panel.do(func(c *change) error {
		c.events = append(c.events, ev)
		return nil
	})
}
