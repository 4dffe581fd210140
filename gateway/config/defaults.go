package config

import (
	"cmp"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/roomguard/roomguard/gateway"
)

// Loading a config and the defaults it gets, each with its reason.

// Low says why the log's filesystem of total bytes with free left is too
// full (empty: it is not).
func (s Storage) Low(total, free uint64) string {
	return gateway.StorageLow(total, free, cmp.Or(s.LowUsedPercent, 90), uint64(cmp.Or(s.LowFreeMB, 50))<<20)
}

// Kept is how many daily backups are kept.
func (b *Backup) Kept() int {
	if b.Keep <= 0 {
		return 7
	}
	return b.Keep
}

// DefaultLimits are far above a real office (a few hundred people, a few
// thousand carriers) and far below what would strain a Pi: a register of
// 20,000 people is 5 MB at most, one of 100,000 carriers 25 MB. A console
// that missed a day of a busy room (a few thousand events) is refilled in
// a minute; a request storm costs at most 1,000 events a second.
func DefaultLimits() gateway.Limits {
	return gateway.Limits{Persons: 20000, Carriers: 100000, ResendPerRequester: 30000, ResendPerRoom: 60000}
}

// DefaultAccess is entry control with every default: the base of the
// room's AccessConfig, and what tests start from.
func DefaultAccess() gateway.AccessConfig {
	return gateway.AccessConfig{Denials: DefaultDenials, PairWindow: DefaultPairWindow}
}

// DefaultDoor is a door under entry control with the default times.
func DefaultDoor(id, strike string) gateway.AccessDoor {
	return gateway.AccessDoor{ID: id, Strike: strike, Pulse: DefaultPulse, HeldWarning: DefaultHeldWarning, HeldOpen: DefaultHeldOpen}
}

// DefaultVault is carrier tracking with every default.
func DefaultVault() gateway.VaultConfig {
	return gateway.VaultConfig{Antennas: map[gateway.Antenna]gateway.Location{}, Departure: DefaultDeparture,
		Present: DefaultPresent, MaxLoan: DefaultMaxLoan, CirculationLimit: DefaultCirculation,
		LossGrace: DefaultLossGrace}
}

// External reports whether the gateway uses an external broker.
func (m *MQTT) External() bool { return m.URL != "" }

// BrokerURL is the URL the gateway's own client connects to.
func (m *MQTT) BrokerURL() string {
	if m.External() {
		return m.URL
	}
	return "tcp://" + m.Embedded.Listen
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(data, path)
}

func (c *Config) applyDefaults() {
	def := gateway.DefaultPanelConfig()
	if c.Alarm.ExitDelay == 0 {
		c.Alarm.ExitDelay = Duration(def.ExitDelay)
	}
	if c.Alarm.EntryDelay == 0 {
		c.Alarm.EntryDelay = Duration(def.EntryDelay)
	}
	if c.Alarm.SirenCutoff == 0 {
		c.Alarm.SirenCutoff = Duration(def.SirenCutoff)
	}
	if len(c.Alarm.Escalation) == 0 {
		for _, d := range def.Escalation {
			c.Alarm.Escalation = append(c.Alarm.Escalation, Duration(d))
		}
	}
	if c.Schedule.WorkdayEnd == "" {
		c.Schedule.WorkdayEnd = "18:00"
	}
	if c.Clock.Trust == "" {
		c.Clock.Trust = "kernel"
	}
	if c.GPIO.Poll == 0 {
		c.GPIO.Poll = Duration(DefaultPoll)
	}
	if !c.MQTT.External() && c.MQTT.Embedded == nil {
		c.MQTT.Embedded = &Embedded{}
	}
	if c.MQTT.Embedded != nil && c.MQTT.Embedded.Listen == "" {
		c.MQTT.Embedded.Listen = DefaultListen
	}
	if c.MQTT.ClientID == "" {
		c.MQTT.ClientID = "roomguard-gw-" + c.Room.ID
	}
	if c.MQTT.KeepAlive == 0 {
		c.MQTT.KeepAlive = Duration(DefaultKeepAlive)
	}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		if in.Pull == "" {
			in.Pull = "up"
		}
		if in.Name == "" {
			in.Name = in.ID
		}
	}
	strikes := c.outputsOfKind(gateway.KindDoorStrike)
	for i := range c.Inputs {
		in := &c.Inputs[i]
		if in.Kind == gateway.KindExitButton && in.Strike == "" && len(strikes) == 1 {
			in.Strike = strikes[0]
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		if o.Kind == gateway.KindDoorStrike && o.Pulse == 0 {
			o.Pulse = Duration(DefaultPulse)
		}
		if o.Name == "" {
			o.Name = o.ID
		}
	}
	if c.Access.Denials == 0 {
		c.Access.Denials = DefaultDenials
	}
	for i := range c.Access.Doors {
		d := &c.Access.Doors[i]
		if d.HeldOpen == 0 {
			d.HeldOpen = Duration(DefaultHeldOpen)
		}
		if d.HeldWarning == 0 {
			d.HeldWarning = d.HeldOpen / 2
		}
		if d.ExitButton == "" {
			for _, in := range c.Inputs {
				if in.Kind == gateway.KindExitButton && in.Strike == d.Strike {
					d.ExitButton = in.ID
				}
			}
		}
	}
	for i := range c.Wiegand {
		if c.Wiegand[i].Name == "" {
			c.Wiegand[i].Name = c.Wiegand[i].ID
		}
	}
	for i := range c.Safes {
		s := &c.Safes[i]
		if s.Name == "" {
			s.Name = s.ID
		}
		if s.OpenReminder == 0 {
			s.OpenReminder = Duration(DefaultOpenReminder)
		}
	}
	if cs := c.Carriers; cs != nil {
		if cs.Departure == 0 {
			cs.Departure = Duration(DefaultDeparture)
		}
		if cs.MaxLoan == 0 {
			cs.MaxLoan = Duration(DefaultMaxLoan)
		}
		if cs.Circulation == 0 {
			cs.Circulation = Duration(DefaultCirculation)
		}
		if cs.LossGrace == 0 {
			cs.LossGrace = Duration(DefaultLossGrace)
		}
		if cs.Inventory == "" {
			cs.Inventory = c.Schedule.WorkdayEnd
		}
	}
	for i := range c.Boards {
		b := &c.Boards[i]
		if b.Name == "" {
			b.Name = b.ID
		}
		if b.Baud == 0 {
			b.Baud = DefaultBoardBaud
		}
		if b.SilentAfter == 0 {
			b.SilentAfter = Duration(DefaultSilentAfter)
		}
		for j := range b.Zones {
			if b.Zones[j].Name == "" {
				b.Zones[j].Name = b.Zones[j].ID
			}
		}
		for j := range b.Locks {
			l := &b.Locks[j]
			if l.Name == "" {
				l.Name = l.ID
			}
			if l.Release == 0 {
				l.Release = Duration(DefaultRelease)
			}
		}
		for j := range b.Relays {
			r := &b.Relays[j]
			if r.Name == "" {
				r.Name = r.ID
			}
			if r.Kind == gateway.KindDoorStrike && r.Pulse == 0 {
				r.Pulse = Duration(DefaultPulse)
			}
		}
	}
	for i := range c.Serial {
		s := &c.Serial[i]
		if s.Baud == 0 {
			s.Baud = defaultBaud[s.Kind]
		}
		if s.Name == "" {
			s.Name = s.ID
		}
	}
}

// CheckListen applies the embedded broker's rule to a listen address
// however it is given (the config, --listen): without accounts, loopback
// only.
func (m *MQTT) CheckListen(addr string) error {
	if len(m.Embedded.Users) == 0 && !isLoopback(addr) {
		return gateway.Errorf(gateway.EINVALID, "%s is reachable from the network: give users (with password files), or listen on 127.0.0.1", addr)
	}
	return nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func brokerScheme(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme)
}
