package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
)

func TestExampleRoomLoads(t *testing.T) {
	c, err := config.Load("../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Room.ID != "jiyao-301" || c.Room.Name != "机要室 301" {
		t.Fatalf("room %+v", c.Room)
	}
	count := map[gateway.InputKind]int{}
	for _, in := range c.Inputs {
		count[in.Kind]++
	}
	want := map[gateway.InputKind]int{"door": 1, "window": 2, "ir-detector": 2, "safe-bolt": 2, "safe-door": 2, "tamper": 1, "exit-button": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s inputs, want %d", count[k], k, n)
		}
	}
	if c.MQTT.External() || c.MQTT.BrokerURL() != "tcp://127.0.0.1:1883" {
		t.Errorf("broker %q, want the embedded one on loopback", c.MQTT.BrokerURL())
	}
	if c.Inputs[0].Debounce.D() != config.DefaultDebounce || c.Inputs[3].Debounce.D() != 100*time.Millisecond {
		t.Errorf("debounce defaults wrong: %v %v", c.Inputs[0].Debounce.D(), c.Inputs[3].Debounce.D())
	}
	if c.Serial[0].Baud != 9600 {
		t.Errorf("em4100 baud %d, want 9600", c.Serial[0].Baud)
	}
}

const minimal = `room: {id: r1, name: Room}
storage: {path: /tmp/r1.db}
inputs:
  - {id: door, kind: door, pin: GPIO17, active: high}
`

func TestBrokenConfigsNameLineAndField(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("short\n"), 0o600)
	cases := []struct {
		name, yaml, want string
	}{
		{"not yaml", "room: [", "x.yaml:1: "},
		{"notify: a person not listed", minimal + notifyWith("people: [guard, nobody]"), `notify.calldown[0].steps[0].people[1]: "nobody" is not one of the people`},
		{"notify: an unknown class", minimal + strings.Replace(notifyWith("people: [guard, officer]"), "classes: [intrusion,", "classes: [burglary,", 1), `notify.calldown[0].classes[0]: "burglary" is not an alarm class`},
		{"notify: a critical alarm to one person", minimal + notifyWith("people: [guard]"), `notify.calldown: a intrusion alarm must reach at least two people`},
		{"notify: no modem", minimal + strings.Replace(notifyWith("people: [guard, officer]"), "  modem: {path: /dev/roomguard/modem}\n", "", 1), `notify.modem is missing`},
		{"notify: e-mail without a server", minimal + notifyWith("people: [guard, officer], channels: [email]"), `notify.smtp is missing`},
		{"notify: a webhook for someone without one", minimal + notifyWith("people: [guard, officer], channels: [sms, webhook]"), `guard has no way to be reached by webhook`},
		{"notify: a robot of an unknown kind", minimal + strings.Replace(notifyWith("people: [guard, officer]"), `phone: "13900000002"}`, `phone: "13900000002", webhook: {kind: slack, url: "https://x"}}`, 1), `notify.people[1].webhook.kind`},
		{"notify: a bad phone", minimal + strings.Replace(notifyWith("people: [guard, officer]"), "13800000001", "138-0000", 1), `notify.people[0].phone`},
		{"empty", "", "the file is empty"},
		{"missing storage", "room: {id: r1, name: R}\ninputs: []\n", "x.yaml:1: "},
		{"bad room id", strings.Replace(minimal, "id: r1", "id: R 1", 1), `x.yaml:1: room.id: `},
		{"unknown kind", strings.Replace(minimal, "kind: door", "kind: vault", 1), `x.yaml:4: inputs[0].kind: `},
		{"unknown field", minimal + "colour: red\n", `x.yaml:5: colour: unknown field`},
		{"typo in an input", strings.Replace(minimal, "active: high", "activ: high", 1), `x.yaml:4: inputs[0].activ: unknown field`},
		{"bad level", strings.Replace(minimal, "active: high", "active: up", 1), `x.yaml:4: inputs[0].active`},
		{"bad duration", strings.Replace(minimal, "active: high", "active: high, debounce: fast", 1), `x.yaml:4: inputs[0].debounce`},
		{"duplicate id", minimal + "  - {id: door, kind: window, pin: GPIO18, active: high}\n", `x.yaml:5: inputs[1].id: id "door" is already used by inputs[0]`},
		{"duplicate pin", minimal + "  - {id: w1, kind: window, pin: gpio17, active: high}\n", `x.yaml:5: inputs[1].pin: pin gpio17 is already used by inputs[0]`},
		{"debounce too long", strings.Replace(minimal, "active: high", "active: high, debounce: 1m", 1), `inputs[0].debounce: 1m0s is out of bounds`},
		{"strike on a door", strings.Replace(minimal, "active: high", "active: high, strike: s1", 1), `inputs[0].strike: only an exit-button`},
		{"strike missing", minimal + "  - {id: rex, kind: exit-button, pin: GPIO5, active: low, strike: s9}\n", `inputs[1].strike: "s9" is not a door-strike output`},
		{"open broker", minimal + "mqtt: {embedded: {listen: '0.0.0.0:1883'}}\n", `x.yaml:5: mqtt.embedded.listen: 0.0.0.0:1883 is reachable from the network`},
		{"short password", minimal + "mqtt: {embedded: {listen: '0.0.0.0:1883', users: [{username: d, password_file: " + pw + "}]}}\n", `mqtt.embedded.users[0].password_file: ` + pw + `: the password must be at least 12 characters`},
		{"password from a device", minimal + "mqtt: {url: 'tcp://b:1883', username: gw, password_file: /dev/zero}\n", `mqtt.password_file: /dev/zero: not a regular file`},
		{"tls on tcp", minimal + "mqtt: {url: 'tcp://b:1883', ca_file: /etc/hostname}\n", `mqtt.ca_file: TLS files need an ssl://`},
		{"both brokers", minimal + "mqtt: {url: 'tcp://b:1883', embedded: {}}\n", `mqtt.embedded: give either url`},
		{"credentials for embedded", minimal + "mqtt: {username: x}\n", `mqtt.username: only for an external broker`},
		{"duplicate key", minimal + "room: {id: r2, name: R}\n", `x.yaml:5: room: `},
		{"entry delay too long", minimal + "alarm: {entry_delay: 60s}\n", `x.yaml:5: alarm.entry_delay: 1m0s is out of bounds (10s to 45s)`},
		{"exit delay too short", minimal + "alarm: {exit_delay: 10s}\n", `x.yaml:5: alarm.exit_delay: 10s is out of bounds (45s to 4m15s)`},
		{"siren cut-off too long", minimal + "alarm:\n  siren_cutoff: 1h\n", `x.yaml:6: alarm.siren_cutoff: 1h0m0s is out of bounds (2m0s to 15m0s)`},
		{"home assistant prefix with a level", minimal + "homeassistant: {discovery_prefix: home/assistant}\n", `x.yaml:5: homeassistant.discovery_prefix`},
		{"home assistant prefix roomguard", minimal + "homeassistant: {discovery_prefix: roomguard}\n", `homeassistant.discovery_prefix: "roomguard" is not a discovery prefix`},
		{"home assistant codes missing", minimal + "homeassistant: {arm: {codes_file: /nonexistent/ha.codes}}\n", `homeassistant.arm.codes_file: open /nonexistent/ha.codes`},
		{"home assistant arm without codes", minimal + "homeassistant: {arm: {}}\n", `homeassistant.arm`},
		{"climate sensor address", minimal + "serial:\n  - {id: th, kind: climate-modbus, path: /dev/ttyUSB3, address: 248}\n", `serial[0].address: 248 is not a Modbus address (1 to 247)`},
		{"climate sensor too often", minimal + "serial:\n  - {id: th, kind: climate-modbus, path: /dev/ttyUSB3, every: 100ms}\n", `serial[0].every: 100ms is out of bounds (1s to 10m0s)`},
		{"every on a reader", minimal + "serial:\n  - {id: rd, kind: em4100, path: /dev/ttyUSB3, every: 5s}\n", `serial[0].every: only a climate-modbus sensor is read every so often`},
		{"climate limits crossed", minimal + "climate: {temperature_min: 30, temperature_max: 20}\n", `climate.temperature_min: 30 °C is not below temperature_max (20 °C)`},
		{"climate humidity over 100", minimal + "climate: {humidity_max: 120}\n", `climate.humidity_max`},
		{"escalation not increasing", minimal + "alarm: {escalation: [2m, 1m]}\n", `alarm.escalation[1]: escalation steps must be positive and increasing`},
		{"holiday backwards", minimal + "holidays:\n  - {name: 国庆节, from: 2026-10-07, to: 2026-10-01}\n", `x.yaml:6: holidays[0].to: 2026-10-01 is before 2026-10-07`},
		{"holiday not a date", minimal + "holidays:\n  - {name: 春节, from: 2026-02-30, to: 2026-03-01}\n", `holidays[0].from: "2026-02-30" is not a date`},
		// issue 32, item 6 (调休): a make-up workday is a weekend day, outside the holidays
		{"make-up workday on a weekday", minimal + "workdays:\n  - {date: 2026-10-09, name: 国庆调休}\n", `workdays[0].date: 2026-10-09 is a Friday: a make-up workday (调休) is a weekend day worked`},
		{"make-up workday in a holiday", minimal + "holidays:\n  - {name: 国庆节, from: 2026-10-01, to: 2026-10-08}\nworkdays:\n  - {date: 2026-10-03}\n", `workdays[0].date: 2026-10-03 is in holidays[0] (国庆节)`},
		{"bad workday end", minimal + "schedule: {workday_end: '25:00'}\n", `x.yaml:5: schedule.workday_end`},
		{"bad time zone", minimal + "schedule: {timezone: Mars/Olympus}\n", `schedule.timezone: unknown time zone`},
		{"serial path twice", minimal + "serial:\n  - {id: a, kind: em4100, path: /dev/ttyUSB0}\n  - {id: b, kind: em4100, path: /dev/ttyUSB0}\n", `x.yaml:7: serial[1].path: /dev/ttyUSB0 is already used by serial[0]`},
		{"safe bolt not a bolt", safeRoom + "safes:\n  - {id: safe-a, bolt: door, door: sd}\n", `safes[0].bolt: "door" is not a safe-bolt input`},
		{"safe input twice", safeRoom + "safes:\n  - {id: safe-a, bolt: sb, door: sd}\n  - {id: safe-b, bolt: sb, door: sd}\n", `safes[1].bolt: "sb" already belongs to safes[0]`},
		{"safe reminder too short", safeRoom + "safes:\n  - {id: safe-a, bolt: sb, door: sd, open_reminder: 10s}\n", `safes[0].open_reminder: 10s is out of bounds (1m to 8h)`},
		{"safe id taken", safeRoom + "safes:\n  - {id: sb, bolt: sb, door: sd}\n", `safes[0].id: id "sb" is already used by inputs[1]`},
		{"uhf without carriers", safeRoom + uhfSerial, `serial[0].kind: a UHF reader needs a carriers section`},
		{"antenna on no reader", safeRoom + uhfSerial + carriersWith("{reader: em, antenna: 1, safe: safe-a}"), `carriers.antennas[0].reader: "em" is not a UHF reader`},
		{"antenna 2 on an r200", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 2, safe: safe-a}"), `carriers.antennas[0].antenna: a uhf-r200 reader has one antenna`},
		{"antenna twice", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, safe: safe-a}", "{reader: uhf, antenna: 1, gate: door}"), `carriers.antennas[1].antenna: antenna 1 of uhf is already at carriers.antennas[0]`},
		{"antenna unknown safe", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, safe: safe-z}"), `carriers.antennas[0].safe: "safe-z" is not a safe`},
		{"gate not a door", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, gate: sd}"), `carriers.antennas[0].gate: "sd" is not a door input`},
		{"antenna both safe and gate", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, safe: safe-a, gate: door}"), `carriers.antennas[0]`},
		{"antenna neither", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1}"), `carriers.antennas[0]`},
		{"departure too short", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, safe: safe-a}") + "  departure: 5s\n", `carriers.departure: 5s is out of bounds (30s to 1h)`},
		{"inventory time", safeRoom + uhfSerial + carriersWith("{reader: uhf, antenna: 1, safe: safe-a}") + "  inventory: '24:00'\n", `carriers.inventory`},
		{"address on an r200", safeRoom + "serial:\n  - {id: uhf, kind: uhf-r200, path: /dev/ttyUSB1, address: 3}\n" + carriersWith("{reader: uhf, antenna: 1, safe: safe-a}"), `serial[0].address: only a uhf-chafon18 or uhf-chafon288`},
		{"board zone twice", minimal + boardWith("zones: [{zone: 0, id: w1, kind: window}, {zone: 0, id: w2, kind: window}]"), `x.yaml:8: boards[0].zones[1].zone: zone 0 is already boards[0].zones[0]`},
		{"board zone id taken", minimal + boardWith("zones: [{zone: 0, id: door, kind: window}]"), `boards[0].zones[0].id: id "door" is already used by inputs[0]`},
		{"board zone kind", minimal + boardWith("zones: [{zone: 0, id: w1, kind: exit-button}]"), `boards[0].zones[0].kind`},
		{"board lock bolt taken", minimal + boardWith("locks: [{lock: 0, id: l0, bolt: door, door: sd}]"), `boards[0].locks[0].bolt: id "door" is already used by inputs[0]`},
		{"board release too long", minimal + boardWith("locks: [{lock: 0, id: l0, bolt: sb, door: sd, release: 30s}]"), `boards[0].locks[0].release: 30s is out of bounds (100ms to 10s)`},
		{"board silent_after too long", minimal + boardWith("silent_after: 10m\n    zones: [{zone: 0, id: w1, kind: window}]"), `boards[0].silent_after: 10m0s is out of bounds (2s to 3m0s)`},
		{"board with nothing", minimal + boardWith("zones: []"), `boards[0]: board b1 has no zones, locks or relays`},
		{"board path of a reader", minimal + "serial:\n  - {id: em, kind: em4100, path: /dev/ttyUSB3}\n" + boardWith("zones: [{zone: 0, id: w1, kind: window}]"), `boards[0].path: /dev/ttyUSB3 is already used by serial[0]`},
		{"board relay pulse on a siren", minimal + boardWith("relays: [{relay: 0, id: s1, kind: siren, pulse: 2s}]"), `boards[0].relays[0].pulse: only a door-strike is pulsed`},
		{"board unknown field", minimal + boardWith("zones: [{zone: 0, id: w1, kind: window, adc: 3}]"), `boards[0].zones[0].adc: unknown field`},
		{"register limit zero", minimal + "limits: {persons: 0}\n", `x.yaml:5: limits.persons`},
		{"register limit too high", minimal + "limits: {carriers: 2000000}\n", `x.yaml:5: limits.carriers`},
		{"resend limit unknown", minimal + "limits: {resend: 5}\n", `x.yaml:5: limits.resend: unknown field`},
		{"principal key not a key", minimal + "principals: [{name: console, key: abc, commands: [arm]}]\n", `x.yaml:5: principals[0].key: not an Ed25519 public key`},
		{"principal unknown command", minimal + "principals: [{name: console, key: \"GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\", commands: [explode]}]\n", `principals[0].commands[0]: "explode" is not a command`},
		{"principal named local", minimal + "principals: [{name: local, key: \"GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\", commands: [\"*\"]}]\n", `principals[0].name: "local" is the gateway's own`},
		{"principal twice", minimal + "principals:\n  - {name: c, key: \"GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\", commands: [arm]}\n  - {name: c, key: \"GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\", commands: [arm]}\n", `principals[1].name: "c" is already principals[0]`},
		{"principal without commands", minimal + "principals: [{name: c, key: \"GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=\", commands: []}]\n", `principals[0].commands`},
		{"command roles unknown command", minimal + "command_roles: {explode: [clerk]}\n", `command_roles.explode: "explode" is not a command`},
		{"command roles unknown role", minimal + "command_roles: {ack: [janitor]}\n", `command_roles.ack[0]: "janitor" is not a role`},
		{"safe of a board lock, door swapped", minimal + boardWith("locks: [{lock: 0, id: l0, bolt: sb, door: sd}]") + "safes:\n  - {id: safe-c, bolt: sd, door: sb}\n", `safes[0].bolt: "sd" is not a safe-bolt input`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse([]byte(c.yaml), "x.yaml")
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}

const safeRoom = minimal + `  - {id: sb, kind: safe-bolt, pin: GPIO5, active: high}
  - {id: sd, kind: safe-door, pin: GPIO6, active: high}
  - {id: em, kind: tamper, pin: GPIO7, active: high}
`

// boardWith is a boards section of one board on /dev/ttyUSB3 with the points given.
func boardWith(points string) string {
	return "boards:\n  - id: b1\n    path: /dev/ttyUSB3\n    " + points + "\n"
}

func TestLimitsDefaults(t *testing.T) {
	c, err := config.Parse([]byte(minimal+"limits: {persons: 300}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Limits.Room(), (gateway.Limits{Persons: 300, Carriers: 100000, ResendPerRequester: 30000, ResendPerRoom: 60000}); got != want {
		t.Fatalf("limits %+v, want %+v", got, want)
	}
}

func TestBoardSection(t *testing.T) {
	c, err := config.Parse([]byte(minimal+boardWith(`zones: [{zone: 0, id: w1, name: 北窗, kind: door}]
    locks: [{lock: 1, id: l1, bolt: sb, door: sd}]
    relays: [{relay: 0, id: s2, kind: door-strike}]`)+`safes:
  - {id: safe-c, bolt: sb, door: sd}
serial: [{id: em, kind: em4100, path: /dev/ttyUSB0}]
access:
  doors: [{door: w1, strike: s2, readers: [{device: em, direction: in}]}]
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := c.Boards[0]
	if b.Baud != 57600 || b.SilentAfter.D() != 3*time.Second || b.Name != "b1" || b.Locks[0].Release.D() != 3*time.Second ||
		b.Locks[0].Name != "l1" || b.Relays[0].Pulse.D() != 5*time.Second {
		t.Errorf("defaults %+v", b)
	}
	want := []gateway.Input{{ID: "w1", Name: "北窗", Kind: gateway.KindDoor}, {ID: "sb", Name: "l1", Kind: gateway.KindSafeBolt},
		{ID: "sd", Name: "l1", Kind: gateway.KindSafeDoor}}
	if got := c.BoardInputs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("board inputs %v, want %v", got, want)
	}
	if ac := c.AccessConfig(); ac.Doors[0].Pulse != 5*time.Second {
		t.Errorf("a door on a board's zone, its strike on a board's relay: %+v", ac.Doors[0])
	}
}

const uhfSerial = "serial:\n  - {id: uhf, kind: uhf-r200, path: /dev/ttyUSB1}\n"

func carriersWith(antennas ...string) string {
	s := "safes:\n  - {id: safe-a, bolt: sb, door: sd}\ncarriers:\n  antennas:\n"
	for _, a := range antennas {
		s += "    - " + a + "\n"
	}
	return s
}

func TestCarrierSectionDefaults(t *testing.T) {
	c, err := config.Parse([]byte(safeRoom+"serial:\n  - {id: uhf, kind: uhf-chafon288, path: /dev/ttyUSB1}\n"+
		carriersWith("{reader: uhf, antenna: 1, safe: safe-a}", "{reader: uhf, antenna: 4, gate: door}")), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Safes[0].OpenReminder.D() != config.DefaultOpenReminder || c.Safes[0].Name != "safe-a" {
		t.Errorf("safe defaults %+v", c.Safes[0])
	}
	vc, ok := c.VaultConfig()
	if !ok || vc.Departure != config.DefaultDeparture || vc.MaxLoan != config.DefaultMaxLoan {
		t.Errorf("vault config %+v", vc)
	}
	if loc := vc.Antennas[gateway.Antenna{Reader: "uhf", Antenna: 4}]; loc != (gateway.Location{Kind: gateway.LocGate, ID: "door"}) {
		t.Errorf("antenna 4 watches %+v", loc)
	}
	if at, ok := c.InventoryAt(); !ok || at != 18*time.Hour {
		t.Errorf("inventory at %v %v, want the end of the working day", at, ok)
	}
	if c.Serial[0].Baud != 57600 {
		t.Errorf("chafon baud %d", c.Serial[0].Baud)
	}
}

func TestPasswordNeverPrinted(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct-horse-battery\n"), 0o600)
	c, err := config.Parse([]byte(minimal+"mqtt: {url: 'tcp://b:1883', username: gw, password_file: "+pw+"}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Password.Reveal() != "correct-horse-battery" {
		t.Fatal("password not read")
	}
	for _, s := range []string{c.MQTT.Password.String(), strings.ReplaceAll(strings.ReplaceAll(fmtAll(c), "\n", ""), " ", "")} {
		if strings.Contains(s, "horse") {
			t.Fatalf("password printed: %s", s)
		}
	}
}

// notifyWith is a notify section whose one call-down step is step.
func notifyWith(step string) string {
	return `notify:
  modem: {path: /dev/roomguard/modem}
  people:
    - {id: guard, name: 值班保安, phone: "13800000001"}
    - {id: officer, name: 保密员, phone: "13900000002"}
  calldown:
    - classes: [intrusion, seal-broken, carrier-removal, tamper, command-forgery, log-tampered]
      steps:
        - {after: 0s, ` + step + `}
`
}

func TestNotifySection(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "ding")
	os.WriteFile(secret, []byte("SEC-a-long-robot-secret\n"), 0o600)
	y := strings.Replace(notifyWith("people: [guard, officer, duty-group], channels: [sms]"), "  calldown:",
		"    - {id: duty-group, name: 值班群, phone: \"13700000003\", webhook: {kind: dingtalk, url: \"https://oapi.dingtalk.com/robot/send?access_token=t\", secret_file: "+secret+"}}\n  calldown:", 1)
	c, err := config.Parse([]byte(minimal+y), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nc := c.NotifyConfig()
	if len(nc.People) != 3 || len(nc.Rules) != 1 || nc.Zone == nil || nc.Zone.String() != "Asia/Shanghai" ||
		nc.People[2].Webhook == nil || nc.People[2].Webhook.Secret != "SEC-a-long-robot-secret" {
		t.Fatalf("notify: %+v", nc)
	}
}

// The example ships a filled call-down (issue 28): it parses, every
// critical class reaches two people, and check-config has nothing to warn of.
func TestExampleNotifyBlock(t *testing.T) {
	c, err := config.Load("../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Notify == nil || len(c.Notify.Calldown) == 0 || len(c.Notify.People) < 2 {
		t.Fatalf("the example's call-down: %+v", c.Notify)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("the example is warned of: %v", w)
	}
}

// Issue 28, item 5: a room with no call-down is warned of (check-config
// prints it, the gateway logs it): its alarms would tell nobody.
func TestNoCalldownIsAWarning(t *testing.T) {
	c, err := config.Parse([]byte(minimal), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "notify: no call-down") || !strings.Contains(w[0], "intrusion") {
		t.Fatalf("warnings %v", w)
	}
	c, err = config.Parse([]byte(minimal+notifyWith("people: [guard, officer]")), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings with a call-down: %v", w)
	}
}

// The config's call-down is the console's (one rule type, wire.CalldownRule):
// a step's delay that is not a duration is refused at its path, with
// notify's words, and the rule reaches the notifier as written.
func TestCalldownIsTheConsolesRule(t *testing.T) {
	_, err := config.Parse([]byte(minimal+strings.Replace(notifyWith("people: [guard, officer]"), "after: 0s", "after: soon", 1)), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "notify.calldown[0].steps[0].after") || !strings.Contains(err.Error(), `"soon" is not a duration`) {
		t.Fatalf("a bad delay: %v", err)
	}
	c, err := config.Parse([]byte(minimal+strings.Replace(notifyWith("people: [guard, officer]"), "after: 0s", "after: 90s", 1)), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r := c.NotifyConfig().Rules; len(r) != 1 || len(r[0].Steps) != 1 || r[0].Steps[0].After != 90*time.Second {
		t.Fatalf("rules: %+v", r)
	}
}
