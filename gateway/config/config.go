// Package config reads a room's YAML config, validates it against
// schemas/config.schema.json and then against the rules a schema cannot say
// (unique ids and pins, references, bounds), and fills in defaults.
// Every error names the file, the line and the field.
package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/cli"
	"github.com/roomguard/roomguard/gateway/homeassistant"
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
	Workdays []Workday `yaml:"workdays"`
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
	// HomeAssistant, when present, describes the room to Home Assistant
	// through MQTT discovery (issue 32): read-only.
	HomeAssistant *HomeAssistant `yaml:"homeassistant"`
	// Climate are the climate sensors' limits (nil: the defaults).
	Climate *gateway.ClimateLimits `yaml:"climate"`

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

// HomeAssistant is the discovery's setting.
type HomeAssistant struct {
	Prefix string `yaml:"discovery_prefix"` // homeassistant when empty
	// Arm, when present, lets Home Assistant's panel arm the room (never
	// disarm or unseal) with a person's code.
	Arm *HomeAssistantArm `yaml:"arm"`
}

// HomeAssistantArm is arming from Home Assistant: the people's codes.
type HomeAssistantArm struct {
	CodesFile string               `yaml:"codes_file"`
	Codes     []homeassistant.Code `yaml:"-"` // read from CodesFile at parse
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

// Workday is a make-up workday of the official calendar (调休): a weekend
// day worked as a weekday.
type Workday struct {
	Date string `yaml:"date"`
	Name string `yaml:"name"`
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

type Room struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Location is where the room is in its building ("A栋 3楼"): a console
	// groups a building's rooms by it.
	Location string `yaml:"location"`
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

// Backup is the daily backup of the log and its keys.
type Backup struct {
	Dir  string `yaml:"dir"`
	Keep int    `yaml:"keep"` // default 7
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

// Limits bound what a command may bring in or ask for (gateway.Limits).
type Limits struct {
	Persons            int `yaml:"persons"`
	Carriers           int `yaml:"carriers"`
	ResendPerRequester int `yaml:"resend_per_requester"`
	ResendPerRoom      int `yaml:"resend_per_room"`
}

// Retention bounds how long events are kept.
type Retention struct {
	Days int `yaml:"days"` // 0: forever; else at least 180 (GB 50396)
}

type Serial struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Kind    string   `yaml:"kind"`
	Path    string   `yaml:"path"`
	Baud    int      `yaml:"baud"`
	Address *int     `yaml:"address"` // uhf-chafon*: the bus address; nil: broadcast (255). climate-modbus: 1 when nil
	Every   Duration `yaml:"every"`   // climate-modbus: how often it is read (default 30 s)
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
	// Circulation bounds a circulated copy's due time (传阅).
	Circulation Duration `yaml:"circulation_limit"`
	// LossGrace: missing at an inventory and not found this long: lost.
	LossGrace Duration `yaml:"loss_grace"`
}

// CarrierAntenna is what one reader antenna watches: a safe or a gate.
type CarrierAntenna struct {
	Reader  string `yaml:"reader"`
	Antenna int    `yaml:"antenna"`
	Safe    string `yaml:"safe"`
	Gate    string `yaml:"gate"`
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

var defaultBaud = map[string]int{"em4100": 9600, "pn532": 115200, "uhf-r200": 115200, "uhf-chafon18": 57600, "uhf-chafon288": 57600, "climate-modbus": 9600}

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
	DefaultCirculation  = 48 * time.Hour // issue 30: a circulated copy is back within 2 days
	DefaultLossGrace    = 24 * time.Hour // issue 30: a day to find a carrier an inventory missed
)
