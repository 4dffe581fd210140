package config

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/homeassistant"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/wire"
)

// What the room is made of, read from its config: each part of the file
// turned into what the room, the call-down and the devices take.

// WorkSchedule is the schedule section with the holidays, as the panel uses it.
func (c *Config) WorkSchedule() gateway.WorkSchedule {
	ws := gateway.WorkSchedule{Location: c.Schedule.Location}
	if t, err := time.Parse("15:04", c.Schedule.WorkdayEnd); err == nil {
		ws.End = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	for _, h := range c.Holidays {
		from, _ := time.ParseInLocation(time.DateOnly, h.From, ws.Location)
		to, _ := time.ParseInLocation(time.DateOnly, h.To, ws.Location)
		ws.Holidays = append(ws.Holidays, gateway.Holiday{Name: h.Name, From: from, To: to})
	}
	for _, w := range c.Workdays {
		if d, err := time.ParseInLocation(time.DateOnly, w.Date, ws.Location); err == nil {
			ws.Workdays = append(ws.Workdays, d)
		}
	}
	return ws
}

// Panel is the panel config of the alarm section.
func (c *Config) Panel() gateway.PanelConfig {
	p := gateway.DefaultPanelConfig()
	p.ExitDelay, p.EntryDelay, p.SirenCutoff = c.Alarm.ExitDelay.D(), c.Alarm.EntryDelay.D(), c.Alarm.SirenCutoff.D()
	p.Escalation = nil
	for _, d := range c.Alarm.Escalation {
		p.Escalation = append(p.Escalation, d.D())
	}
	return p
}

// TrustedPrincipals are the room's principals, with local (the public key
// of the gateway's own command line) as LocalPrincipal, which may send
// every command.
//
// With Home Assistant's arming (homeassistant.arm), its key (ha) is the
// principal homeassistant, trusted with arm alone.
func (c *Config) TrustedPrincipals(local, ha ed25519.PublicKey) map[string]gateway.Principal {
	out := map[string]gateway.Principal{gateway.LocalPrincipal: {Name: gateway.LocalPrincipal, Key: local, Commands: []string{"*"}}}
	if c.HomeAssistantArms() && ha != nil {
		out[homeassistant.Principal] = gateway.Principal{Name: homeassistant.Principal, Key: ha, Commands: []string{"arm"}}
	}
	for _, p := range c.Principals {
		key, _ := gateway.ParsePublicKey(p.Key) // checked at parse
		out[p.Name] = gateway.Principal{Name: p.Name, Key: key, Commands: p.Commands}
	}
	return out
}

// Commands are the roles each command takes: the defaults, with the
// config's overrides.
func (c *Config) Commands() gateway.CommandRoles {
	roles := gateway.DefaultCommandRoles()
	for name, rs := range c.CommandRoles {
		roles[name] = nil
		for _, r := range rs {
			role, _ := gateway.ParseRole(r) // checked at parse
			roles[name] = append(roles[name], role)
		}
	}
	return roles
}

// Room returns the limits with every default applied.
func (l Limits) Room() gateway.Limits {
	d := DefaultLimits()
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return gateway.Limits{Persons: pick(l.Persons, d.Persons), Carriers: pick(l.Carriers, d.Carriers),
		ResendPerRequester: pick(l.ResendPerRequester, d.ResendPerRequester), ResendPerRoom: pick(l.ResendPerRoom, d.ResendPerRoom)}
}

// AccessConfig is the access section as entry control uses it.
func (c *Config) AccessConfig() gateway.AccessConfig {
	ac := DefaultAccess()
	ac.TwoPerson, ac.AntiPassback, ac.ArmWhenEmpty, ac.Denials = c.Access.TwoPerson, c.Access.AntiPassback, c.Access.ArmWhenEmpty, c.Access.Denials
	for _, d := range c.Access.Doors {
		var pulse time.Duration
		for _, o := range c.Outputs {
			if o.ID == d.Strike {
				pulse = o.Pulse.D()
			}
		}
		for _, b := range c.Boards {
			for _, r := range b.Relays {
				if r.ID == d.Strike {
					pulse = r.Pulse.D()
				}
			}
		}
		ac.Doors = append(ac.Doors, gateway.AccessDoor{ID: d.Door, Strike: d.Strike, ExitButton: d.ExitButton, Pulse: pulse,
			HeldWarning: d.HeldWarning.D(), HeldOpen: d.HeldOpen.D()})
		for _, r := range d.Readers {
			ac.Readers = append(ac.Readers, gateway.AccessReader{ID: r.Device, Door: d.Door, Direction: gateway.Direction(r.Direction)})
		}
	}
	return ac
}

// Readers lists the badge reader device ids with their kind (em4100, pn532, wiegand).
func (c *Config) Readers() map[string]string {
	m := map[string]string{}
	for _, s := range c.Serial {
		if s.Kind == "em4100" || s.Kind == "pn532" {
			m[s.ID] = s.Kind
		}
	}
	for _, w := range c.Wiegand {
		m[w.ID] = "wiegand"
	}
	return m
}

// BoardInputs lists the inputs the boards give: each zone, and each lock's
// bolt and door.
func (c *Config) BoardInputs() []gateway.Input {
	var ins []gateway.Input
	for _, b := range c.Boards {
		for _, z := range b.Zones {
			ins = append(ins, gateway.Input{ID: z.ID, Name: z.Name, Kind: z.Kind})
		}
		for _, l := range b.Locks {
			ins = append(ins, gateway.Input{ID: l.Bolt, Name: l.Name, Kind: gateway.KindSafeBolt},
				gateway.Input{ID: l.Door, Name: l.Name, Kind: gateway.KindSafeDoor})
		}
	}
	return ins
}

// ClimateModbus is the serial kind of a Modbus RTU temperature and
// humidity sensor (devices/modbus).
const ClimateModbus = "climate-modbus"

// ClimateInputs are the room's climate sensors, each an input of kind
// climate.
func (c *Config) ClimateInputs() []gateway.Input {
	var ins []gateway.Input
	for _, s := range c.Serial {
		if s.Kind == ClimateModbus {
			ins = append(ins, gateway.Input{ID: s.ID, Name: s.Name, Kind: gateway.KindClimate})
		}
	}
	return ins
}

// ClimateLimits are the limits of the climate sensors: the config's, the
// defaults where it gives none.
func (c *Config) ClimateLimits() gateway.ClimateLimits {
	l := gateway.DefaultClimateLimits
	if c.Climate != nil {
		if c.Climate.HumidityMax != 0 {
			l.HumidityMax = c.Climate.HumidityMax
		}
		if c.Climate.TemperatureMax != 0 {
			l.TemperatureMax = c.Climate.TemperatureMax
		}
		if c.Climate.TemperatureMin != 0 {
			l.TemperatureMin = c.Climate.TemperatureMin
		}
	}
	return l
}

// HomeAssistantRoom is the room as Home Assistant's discovery describes it
// (ok false: the config has no homeassistant section).
func (c *Config) HomeAssistantRoom(version string) (r homeassistant.Room, ok bool) {
	if c.HomeAssistant == nil {
		return r, false
	}
	r = homeassistant.Room{ID: c.Room.ID, Name: c.Room.Name, Prefix: c.HomeAssistant.Prefix, Version: version, Arm: c.HomeAssistantArms()}
	for _, in := range c.Inputs {
		r.Inputs = append(r.Inputs, gateway.Input{ID: in.ID, Name: in.Name, Kind: in.Kind})
	}
	r.Inputs = append(r.Inputs, c.BoardInputs()...)
	r.Inputs = append(r.Inputs, c.ClimateInputs()...)
	return r, true
}

// HomeAssistantArms tells whether Home Assistant may arm the room.
func (c *Config) HomeAssistantArms() bool {
	return c.HomeAssistant != nil && c.HomeAssistant.Arm != nil
}

// HomeAssistantPrefix is the discovery prefix ("" when the room is not
// described to Home Assistant).
func (c *Config) HomeAssistantPrefix() string {
	if c.HomeAssistant == nil {
		return ""
	}
	return c.HomeAssistant.Prefix
}

// SafeConfigs is the safes section as the engine uses it.
func (c *Config) SafeConfigs() []gateway.SafeConfig {
	var out []gateway.SafeConfig
	for _, s := range c.Safes {
		out = append(out, gateway.SafeConfig{ID: s.ID, Name: s.Name, Bolt: s.Bolt, Door: s.Door, OpenReminder: s.OpenReminder.D()})
	}
	return out
}

// VaultConfig is the carriers section as carrier tracking uses it; ok is
// false when the room tracks no carriers.
func (c *Config) VaultConfig() (vc gateway.VaultConfig, ok bool) {
	if c.Carriers == nil {
		return vc, false
	}
	vc = DefaultVault()
	vc.Departure, vc.MaxLoan, vc.CirculationLimit = c.Carriers.Departure.D(), c.Carriers.MaxLoan.D(), c.Carriers.Circulation.D()
	vc.LossGrace = c.Carriers.LossGrace.D()
	for _, a := range c.Carriers.Antennas {
		loc := gateway.Location{Kind: gateway.LocSafe, ID: a.Safe}
		if a.Gate != "" {
			loc = gateway.Location{Kind: gateway.LocGate, ID: a.Gate}
		}
		vc.Antennas[gateway.Antenna{Reader: a.Reader, Antenna: a.Antenna}] = loc
	}
	return vc, true
}

// InventoryAt is the time of day of the daily inventory; ok is false when
// it is off or the room tracks no carriers.
func (c *Config) InventoryAt() (at time.Duration, ok bool) {
	if c.Carriers == nil || c.Carriers.Inventory == "off" {
		return 0, false
	}
	t, err := time.Parse("15:04", c.Carriers.Inventory)
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}

func (c *Config) outputsOfKind(k gateway.OutputKind) []string {
	var ids []string
	for _, o := range c.Outputs {
		if o.Kind == k {
			ids = append(ids, o.ID)
		}
	}
	for _, b := range c.Boards {
		for _, r := range b.Relays {
			if r.Kind == k {
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// List is the people and call-down lists of the config, as notify checks
// them and a console edits them.
func (n *Notify) List() wire.Calldown {
	var l wire.Calldown
	for _, p := range n.People {
		l.People = append(l.People, wire.CalldownPerson{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Webhook: p.Webhook != nil})
	}
	for _, r := range n.Calldown {
		if r.Steps == nil {
			r.Steps = []wire.CalldownStep{}
		}
		l.Rules = append(l.Rules, r)
	}
	return l
}

// NotifyConfig is the call-down as gateway/notify takes it (without the
// room's clock, log and channels).
func (c *Config) NotifyConfig() notify.Config {
	nc := notify.Config{Room: c.Room.ID, RoomName: c.Room.Name, Devices: c.DeviceNames()}
	if c.Notify == nil {
		return nc
	}
	tz := c.Notify.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	if z, err := time.LoadLocation(tz); err == nil {
		nc.Zone = z
	}
	for _, p := range c.Notify.People {
		np := notify.Person{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email}
		if w := p.Webhook; w != nil {
			np.Webhook = &notify.Webhook{Kind: w.Kind, URL: w.URL, Secret: w.Secret.Reveal()}
		}
		nc.People = append(nc.People, np)
	}
	nc.Apply(wire.Calldown{Rules: c.Notify.List().Rules})
	return nc
}

// Warnings are what a config may hold but should not: a room whose alarms
// would tell nobody but a console (issue 28: a fresh install notified no
// one and said nothing). check-config prints them; the gateway logs them at
// its start.
func (c *Config) Warnings() []string {
	var out []string
	if c.Notify == nil || len(c.Notify.Calldown) == 0 {
		classes := make([]string, len(wire.Critical))
		for i, k := range wire.Critical {
			classes[i] = string(k)
		}
		out = append(out, fmt.Sprintf("%s: notify: no call-down: an alarm (%s, and every other) tells nobody but a console that is watching; "+
			"add one (examples/room.yaml has a list to start from)", c.Source, strings.Join(classes, ", ")))
	}
	return out
}

// DeviceNames are the room's devices' names by id, where the config gives
// one: what a person reads in a message instead of the id (issue 28).
func (c *Config) DeviceNames() map[string]string {
	m := map[string]string{}
	add := func(id, name string) {
		if name != "" {
			m[id] = name
		}
	}
	for _, x := range c.Inputs {
		add(x.ID, x.Name)
	}
	for _, x := range c.Outputs {
		add(x.ID, x.Name)
	}
	for _, x := range c.Serial {
		add(x.ID, x.Name)
	}
	for _, x := range c.Wiegand {
		add(x.ID, x.Name)
	}
	for _, x := range c.Safes {
		add(x.ID, x.Name)
	}
	for _, b := range c.Boards {
		add(b.ID, b.Name)
		for _, z := range b.Zones {
			add(z.ID, z.Name)
		}
	}
	return m
}
