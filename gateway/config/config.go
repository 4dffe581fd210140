// Package config reads a room's YAML config, validates it against
// schemas/config.schema.json and then against the rules a schema cannot say
// (unique ids and pins, references, bounds), and fills in defaults.
// Every error names the file, the line and the field.
package config

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/notify"
	"github.com/roomguard/roomguard/gateway/wire"
)

// Config is one room.
type Config struct {
	Room     Room      `yaml:"room"`
	Storage  Storage   `yaml:"storage"`
	Clock    Clock     `yaml:"clock"`
	GPIO     GPIO      `yaml:"gpio"`
	MQTT     MQTT      `yaml:"mqtt"`
	Inputs   []Input   `yaml:"inputs"`
	Outputs  []Output  `yaml:"outputs"`
	Serial   []Serial  `yaml:"serial"`
	Boards   []Board   `yaml:"boards"`
	Alarm    Alarm     `yaml:"alarm"`
	Schedule Schedule  `yaml:"schedule"`
	Holidays []Holiday `yaml:"holidays"`
	Wiegand  []Wiegand `yaml:"wiegand"`
	Access   Access    `yaml:"access"`
	Ret      Retention `yaml:"retention"`
	Safes    []Safe    `yaml:"safes"`
	Carriers *Carriers `yaml:"carriers"`
	Limits   Limits    `yaml:"limits"`
	// Principals are who may command the room besides its own command line
	// (the local key next to the log); AcceptUnsigned lets a simulated room
	// take unsigned commands too, and only when it says so.
	Principals     []Principal `yaml:"principals"`
	AcceptUnsigned bool        `yaml:"accept_unsigned"`
	// CommandRoles override, command by command, the roles of the people
	// who may give it (gateway.DefaultCommandRoles).
	CommandRoles map[string][]string `yaml:"command_roles"`
	// Notify is who is told of which alarms, and how (issue 20).
	Notify *Notify `yaml:"notify"`

	Source string `yaml:"-"` // the file it came from
}

// Notify is the room's call-down: its modem, its people and its lists.
type Notify struct {
	Modem    *NotifyModem        `yaml:"modem"`
	SMTP     *NotifySMTP         `yaml:"smtp"`
	Timezone string              `yaml:"timezone"`
	People   []NotifyPerson      `yaml:"people"`
	Calldown []wire.CalldownRule `yaml:"calldown"`
}

// NotifyModem is the GSM/LTE modem's AT port.
type NotifyModem struct {
	Path string `yaml:"path"`
	Baud int    `yaml:"baud"`
}

// NotifySMTP is the mail server e-mails are submitted to (STARTTLS always).
type NotifySMTP struct {
	Addr         string     `yaml:"addr"`
	From         string     `yaml:"from"`
	Username     string     `yaml:"username"`
	PasswordFile string     `yaml:"password_file"`
	CAFile       string     `yaml:"ca_file"`
	Password     cli.Secret `yaml:"-"`
}

// NotifyPerson is someone the call-down reaches (or a group, by its robot).
type NotifyPerson struct {
	ID      string         `yaml:"id"`
	Name    string         `yaml:"name"`
	Phone   string         `yaml:"phone"`
	Email   string         `yaml:"email"`
	Webhook *NotifyWebhook `yaml:"webhook"`
}

// NotifyWebhook is a group robot (wecom, dingtalk, feishu) or a generic
// JSON post.
type NotifyWebhook struct {
	Kind       string     `yaml:"kind"`
	URL        string     `yaml:"url"`
	SecretFile string     `yaml:"secret_file"`
	Secret     cli.Secret `yaml:"-"`
}

// Alarm holds the panel's timers.
type Alarm struct {
	ExitDelay   Duration   `yaml:"exit_delay"`
	EntryDelay  Duration   `yaml:"entry_delay"`
	SirenCutoff Duration   `yaml:"siren_cutoff"`
	Escalation  []Duration `yaml:"escalation"`
}

// Schedule is the working day.
type Schedule struct {
	WorkdayEnd string `yaml:"workday_end"` // HH:MM
	Timezone   string `yaml:"timezone"`

	Location *time.Location `yaml:"-"`
}

// Holiday is a named range of days, both ends included.
type Holiday struct {
	Name string `yaml:"name"`
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// Bounds of the panel's timers (DESIGN.md, from EN 50131 and SIA CP-01).
var (
	ExitDelayBounds   = [2]time.Duration{45 * time.Second, 255 * time.Second}
	EntryDelayBounds  = [2]time.Duration{10 * time.Second, 45 * time.Second}
	SirenCutoffBounds = [2]time.Duration{2 * time.Minute, 15 * time.Minute}
)

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

type Room struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

type Storage struct {
	Path   string  `yaml:"path"`
	Backup *Backup `yaml:"backup"`
	// The storage-low warning (issue 27): when more than LowUsedPercent of
	// the log's filesystem is used (default 90), or less than LowFreeMB is
	// free (default 50).
	LowUsedPercent int `yaml:"low_used_percent"`
	LowFreeMB      int `yaml:"low_free_mb"`
}

// Low says why the log's filesystem of total bytes with free left is too
// full (empty: it is not).
func (s Storage) Low(total, free uint64) string {
	return gateway.StorageLow(total, free, cmp.Or(s.LowUsedPercent, 90), uint64(cmp.Or(s.LowFreeMB, 50))<<20)
}

// Backup is the daily backup of the log and its keys.
type Backup struct {
	Dir  string `yaml:"dir"`
	Keep int    `yaml:"keep"` // default 7
}

// Kept is how many daily backups are kept.
func (b *Backup) Kept() int {
	if b.Keep <= 0 {
		return 7
	}
	return b.Keep
}

type Clock struct {
	Trust string `yaml:"trust"`
}

type GPIO struct {
	Poll Duration `yaml:"poll"`
}

type MQTT struct {
	URL          string    `yaml:"url"`
	ClientID     string    `yaml:"client_id"`
	Username     string    `yaml:"username"`
	PasswordFile string    `yaml:"password_file"`
	CAFile       string    `yaml:"ca_file"`
	CertFile     string    `yaml:"cert_file"`
	KeyFile      string    `yaml:"key_file"`
	KeepAlive    Duration  `yaml:"keepalive"`
	Embedded     *Embedded `yaml:"embedded"`

	Password cli.Secret `yaml:"-"` // read from PasswordFile
}

type Embedded struct {
	Listen string         `yaml:"listen"`
	Users  []EmbeddedUser `yaml:"users"`
	TLS    *EmbeddedTLS   `yaml:"tls"`
}

// EmbeddedTLS is a second listener of the embedded broker, for the network,
// taking TLS connections with the same accounts.
type EmbeddedTLS struct {
	Listen   string `yaml:"listen"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

type EmbeddedUser struct {
	Username     string     `yaml:"username"`
	PasswordFile string     `yaml:"password_file"`
	Role         string     `yaml:"role"` // console (default) or reader
	Password     cli.Secret `yaml:"-"`
}

type Input struct {
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Kind     gateway.InputKind `yaml:"kind"`
	Pin      string            `yaml:"pin"`
	Active   string            `yaml:"active"` // high or low
	Pull     string            `yaml:"pull"`   // up, down or none
	Debounce Duration          `yaml:"debounce"`
	Strike   string            `yaml:"strike"` // exit-button: the door-strike it releases
}

type Output struct {
	ID     string             `yaml:"id"`
	Name   string             `yaml:"name"`
	Kind   gateway.OutputKind `yaml:"kind"`
	Pin    string             `yaml:"pin"`
	Active string             `yaml:"active"`
	Pulse  Duration           `yaml:"pulse"`
}

// Wiegand is a Wiegand reader on two GPIO lines.
type Wiegand struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	D0   string `yaml:"d0"`
	D1   string `yaml:"d1"`
}

// Access is the entry-control section.
type Access struct {
	Doors        []AccessDoor `yaml:"doors"`
	TwoPerson    bool         `yaml:"two_person"`
	AntiPassback bool         `yaml:"anti_passback"`
	ArmWhenEmpty bool         `yaml:"arm_when_empty"`
	Denials      int          `yaml:"denials"`
	KeyFile      string       `yaml:"key_file"`
}

type AccessDoor struct {
	Door        string         `yaml:"door"`
	Strike      string         `yaml:"strike"`
	ExitButton  string         `yaml:"exit_button"`
	HeldWarning Duration       `yaml:"held_warning"`
	HeldOpen    Duration       `yaml:"held_open"`
	Readers     []AccessReader `yaml:"readers"`
}

type AccessReader struct {
	Device    string `yaml:"device"`
	Direction string `yaml:"direction"`
}

// Principal is one trusted signer of commands: its name, its Ed25519 public
// key (base64, as `keys` prints it) and the commands it may send ("*": all).
type Principal struct {
	Name     string   `yaml:"name"`
	Key      string   `yaml:"key"`
	Commands []string `yaml:"commands"`
}

// TrustedPrincipals are the room's principals, with local (the public key
// of the gateway's own command line) as LocalPrincipal, which may send
// every command.
func (c *Config) TrustedPrincipals(local ed25519.PublicKey) map[string]gateway.Principal {
	out := map[string]gateway.Principal{gateway.LocalPrincipal: {Name: gateway.LocalPrincipal, Key: local, Commands: []string{"*"}}}
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

// Limits bound what a command may bring in or ask for (gateway.Limits).
type Limits struct {
	Persons            int `yaml:"persons"`
	Carriers           int `yaml:"carriers"`
	ResendPerRequester int `yaml:"resend_per_requester"`
	ResendPerRoom      int `yaml:"resend_per_room"`
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

// DefaultLimits are far above a real office (a few hundred people, a few
// thousand carriers) and far below what would strain a Pi: a register of
// 20,000 people is 5 MB at most, one of 100,000 carriers 25 MB. A console
// that missed a day of a busy room (a few thousand events) is refilled in
// a minute; a request storm costs at most 1,000 events a second.
func DefaultLimits() gateway.Limits {
	return gateway.Limits{Persons: 20000, Carriers: 100000, ResendPerRequester: 30000, ResendPerRoom: 60000}
}

// Retention bounds how long events are kept.
type Retention struct {
	Days int `yaml:"days"` // 0: forever; else at least 180 (GB 50396)
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

type Serial struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Kind    string `yaml:"kind"`
	Path    string `yaml:"path"`
	Baud    int    `yaml:"baud"`
	Address *int   `yaml:"address"` // uhf-chafon*: the bus address; nil: broadcast (255)
}

// Board is a firmware-bridge board (firmware-bridge/PROTOCOL.md) on a
// serial line: its zones, locks and relays are devices of the room.
type Board struct {
	ID          string       `yaml:"id"`
	Name        string       `yaml:"name"`
	Path        string       `yaml:"path"`
	Baud        int          `yaml:"baud"`
	SilentAfter Duration     `yaml:"silent_after"`
	Zones       []BoardZone  `yaml:"zones"`
	Locks       []BoardLock  `yaml:"locks"`
	Relays      []BoardRelay `yaml:"relays"`
}

// BoardZone is a supervised zone of a board: an input of the room.
type BoardZone struct {
	Zone int               `yaml:"zone"`
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Kind gateway.InputKind `yaml:"kind"`
}

// BoardLock is a safe-lock controller of a board: it gives a safe-bolt and
// a safe-door input.
type BoardLock struct {
	Lock    int      `yaml:"lock"`
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Bolt    string   `yaml:"bolt"`
	Door    string   `yaml:"door"`
	Release Duration `yaml:"release"`
}

// BoardRelay is a relay of a board: an output of the room.
type BoardRelay struct {
	Relay int                `yaml:"relay"`
	ID    string             `yaml:"id"`
	Name  string             `yaml:"name"`
	Kind  gateway.OutputKind `yaml:"kind"`
	Pulse Duration           `yaml:"pulse"`
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

// UHF reports whether the serial device is a UHF carrier reader.
func (s *Serial) UHF() bool { return strings.HasPrefix(s.Kind, "uhf-") }

// Safe is a safe cabinet: its bolt and door contacts.
type Safe struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Bolt         string   `yaml:"bolt"`
	Door         string   `yaml:"door"`
	OpenReminder Duration `yaml:"open_reminder"`
}

// Carriers is the carrier-tracking section.
type Carriers struct {
	Antennas  []CarrierAntenna `yaml:"antennas"`
	Departure Duration         `yaml:"departure"`
	MaxLoan   Duration         `yaml:"max_loan"`
	Inventory string           `yaml:"inventory"` // HH:MM, or off
}

// CarrierAntenna is what one reader antenna watches: a safe or a gate.
type CarrierAntenna struct {
	Reader  string `yaml:"reader"`
	Antenna int    `yaml:"antenna"`
	Safe    string `yaml:"safe"`
	Gate    string `yaml:"gate"`
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
	vc.Departure, vc.MaxLoan = c.Carriers.Departure.D(), c.Carriers.MaxLoan.D()
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

// Duration is a time.Duration written as "50ms", "5s", "2m".
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 50ms, 5s, 2m)", b)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults, each with its reason.
const (
	DefaultListen    = "127.0.0.1:1883"
	DefaultPoll      = 250 * time.Millisecond // a lost edge shows within a quarter second
	DefaultDebounce  = 50 * time.Millisecond  // reed contacts bounce for a few ms; IR relays for tens
	DefaultPulse     = 5 * time.Second        // door strike release, common access-control practice
	DefaultKeepAlive = 30 * time.Second

	DefaultBoardBaud   = 57600           // the reference firmware's
	DefaultSilentAfter = 3 * time.Second // six missed heartbeats
	DefaultRelease     = 3 * time.Second // long enough to turn the handle
)

var defaultBaud = map[string]int{"em4100": 9600, "pn532": 115200, "uhf-r200": 115200, "uhf-chafon18": 57600, "uhf-chafon288": 57600}

// More defaults for entry control, carriers and safes: the one place they
// are defined (the domain's constructors take complete configs).
const (
	DefaultDenials     = 5                // GB 50396: alarm after 5 consecutive denials
	DefaultPairWindow  = 10 * time.Second // two-person rule and escort: dual-custody practice
	DefaultHeldOpen    = 30 * time.Second // door held open: common access-control practice
	DefaultHeldWarning = DefaultHeldOpen / 2

	DefaultOpenReminder = 10 * time.Minute // a safe is opened to take or put something, not kept open
	DefaultDeparture    = 5 * time.Minute
	DefaultPresent      = time.Minute    // a read this recent counts as "there now" in an inventory
	DefaultMaxLoan      = 48 * time.Hour // the "at most 2 days unless an approver extends it"
)

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
		Present: DefaultPresent, MaxLoan: DefaultMaxLoan}
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
