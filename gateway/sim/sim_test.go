package sim_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/em4100"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/uhf"
	"github.com/roomguard/roomguard/devices/uhf/chafon"
	"github.com/roomguard/roomguard/devices/wiegand"
	"github.com/roomguard/roomguard/gateway"
	"github.com/roomguard/roomguard/gateway/config"
	"github.com/roomguard/roomguard/gateway/sim"
	"github.com/roomguard/roomguard/schemas"
)

func exampleRoom(t testing.TB) *sim.Room {
	cfg, err := config.Load("../../examples/room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestDriveSetsThePinAsWired(t *testing.T) {
	r := exampleRoom(t)
	door, exit := r.Bank.Sim("GPIO17"), r.Bank.Sim("GPIO16")
	if door.Level() != gpio.Low || exit.Level() != gpio.High {
		t.Fatal("at rest: door (active high) must read low, exit button (active low) high")
	}
	for _, c := range []struct {
		device, payload string
		pin             string
		want            gpio.Level
	}{
		{"door-main", "open", "GPIO17", gpio.High},
		{"door-main", `"closed"`, "GPIO17", gpio.Low},
		{"door-main", " active\n", "GPIO17", gpio.High},
		{"exit-button", "pressed", "GPIO16", gpio.Low},
		{"exit-button", "idle", "GPIO16", gpio.High},
		{"tamper-loop", "normal", "GPIO20", gpio.Low},
		{"safe-a-bolt", "unlocked", "GPIO13", gpio.High},
	} {
		if err := r.Drive(c.device, []byte(c.payload)); err != nil {
			t.Fatalf("%s %q: %v", c.device, c.payload, err)
		}
		if got := r.Bank.Sim(c.pin).Level(); got != c.want {
			t.Fatalf("%s %q: pin %s reads %v, want %v", c.device, c.payload, c.pin, got, c.want)
		}
	}
}

func TestBadPayloadsChangeNothing(t *testing.T) {
	r := exampleRoom(t)
	for _, c := range []struct{ device, payload string }{
		{"door-main", ""}, {"door-main", "ajar"}, {"door-main", "motion"}, {"nope", "open"},
		{"door-main", `"open`}, {"door-main", "\xff\xfe"}, {"door-main", string(make([]byte, 100))},
		{"climate-safes", "open"}, {"climate-safes", `{"temperature_c": 20}`}, {"climate-safes", `{"temperature_c": 20, "humidity_rh": 101}`},
		{"climate-safes", `{"temperature_c": 20, "humidity_rh": 50, "co2": 1}`}, {"climate-safes", `[1,2]`},
	} {
		err := r.Drive(c.device, []byte(c.payload))
		if err == nil {
			t.Fatalf("%s %q accepted", c.device, c.payload)
		}
		if code := gateway.ErrorCode(err); code != gateway.EINVALID && code != gateway.ENOTFOUND {
			t.Fatalf("%s %q: code %s", c.device, c.payload, code)
		}
	}
	if r.Bank.Sim("GPIO17").Level() != gpio.Low {
		t.Fatal("a bad payload moved the door")
	}
}

func TestPortsArePseudoTerminals(t *testing.T) {
	r := exampleRoom(t)
	if len(r.Ports) != 6 { // three readers, the UHF reader, the climate sensor and the call-down's modem
		t.Fatalf("%d ports, want 6", len(r.Ports))
	}
	if err := schemas.ValidateJSON("sim-ports", r.PortsPayload()); err != nil {
		t.Fatal(err)
	}
}

func TestPresentCard(t *testing.T) {
	r := exampleRoom(t)
	var gw string
	for _, p := range r.Ports {
		if p.Device == "reader-outside" {
			gw = p.GatewayPath
		}
	}
	port, err := serialline.Open(gw, 9600, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if err := r.Present("reader-outside", []byte(`"62e3086ced"`)); err != nil {
		t.Fatal(err)
	}
	var d em4100.Decoder
	got := make(chan string, 1)
	stop := make(chan struct{})
	defer close(stop)
	go d.Decode(serialline.Reader{Port: port, Stop: stop}, func(c badge.Card) { got <- c.Number })
	select {
	case c := <-got:
		if c != "62E3086CED" {
			t.Fatalf("card %s", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no card read from the simulated reader")
	}
	for _, c := range []struct{ reader, payload string }{
		{"reader-outside", "62E3"}, {"reader-outside", "zz"}, {"reader-inside", "62E3086CED"}, {"door-main", "62E3086CED"}, {"reader-outside", ""},
	} {
		if err := r.Present(c.reader, []byte(c.payload)); err == nil {
			t.Errorf("%s %q accepted", c.reader, c.payload)
		}
	}
}

// A simulated Wiegand reader pulses the gateway's two pins; the real driver
// reads each card once, in the smallest format that holds it.
func TestPresentWiegand(t *testing.T) {
	cfg, err := config.Parse([]byte(`room: {id: r1, name: 机要室}
storage: {path: /tmp/unused.db}
inputs: [{id: door-main, kind: door, pin: GPIO17, active: high}]
wiegand: [{id: reader-gate, d0: GPIO20, d1: GPIO21}]
`), "wiegand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dev, err := wiegand.New(r.Bank.Sim("GPIO20"), r.Bank.Sim("GPIO21"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan badge.Card, 4)
	go dev.Run(func(c badge.Card) { got <- c })
	defer dev.Halt()
	for _, c := range []struct{ number, format string }{{"90:324", "h10301"}, {"300:1", "h10306"}, {"1:70000", "h10304"}} {
		if err := r.Present("reader-gate", []byte(c.number)); err != nil {
			t.Fatal(err)
		}
		select {
		case card := <-got:
			if card.Number != c.number || card.Format != c.format {
				t.Fatalf("presented %s, read %+v", c.number, card)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no card read", c.number)
		}
	}
	for _, bad := range []string{"90", "90:x", "70000:1", "1:600000", "62E3086CED"} {
		if err := r.Present("reader-gate", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzDrive(f *testing.F) {
	r := exampleRoom(f)
	for _, s := range []string{"open", `"closed"`, "active", "", "\x00", `"\u0000"`, "  idle  "} {
		f.Add("door-main", []byte(s))
	}
	f.Add("exit-button", []byte("pressed"))
	f.Fuzz(func(t *testing.T, device string, payload []byte) {
		r.Drive(device, payload) // must never panic
	})
}

// A simulated UHF reader answers the real driver with the tags put in its
// antennas' fields; bad payloads change nothing.
func TestTagsInTheField(t *testing.T) {
	r := exampleRoom(t)
	var gw string
	for _, p := range r.Ports {
		if p.Device == "uhf-safes" {
			gw = p.GatewayPath
		}
	}
	if err := r.Tags("uhf-safes", 2, []byte(`["E280 1160 6000 0208 5E5C 8B11", "300833B2DDD9014000000001"]`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		reader  string
		antenna int
		payload string
	}{
		{"uhf-nowhere", 1, "E2801160"},
		{"uhf-safes", 9, "E2801160"},
		{"uhf-gate", 2, "E2801160"},
		{"uhf-safes", 2, "E28011"},
		{"uhf-safes", 2, "XYZ1"},
		{"uhf-safes", 2, `["E2801160",`},
	} {
		err := r.Tags(c.reader, c.antenna, []byte(c.payload))
		if code := gateway.ErrorCode(err); code != gateway.EINVALID && code != gateway.ENOTFOUND {
			t.Errorf("%s/%d %q: %v", c.reader, c.antenna, c.payload, err)
		}
	}
	port, err := serialline.Open(gw, 57600, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	stop := make(chan struct{})
	got := map[string]int{}
	err = uhf.Run(port, &chafon.Reader{Addr: 0xFF, Model: chafon.Reader288}, stop, func() {}, &uhf.Opts{Silent: 2}, func(rd uhf.Read) {
		got[rd.EPC] = rd.Antenna
		if len(got) == 2 {
			r.Tags("uhf-safes", 2, []byte("silent"))
		}
	})
	if err != uhf.ErrSilent {
		t.Fatalf("run ended with %v, want silence", err)
	}
	if got["E2801160600002085E5C8B11"] != 2 || got["300833B2DDD9014000000001"] != 2 {
		t.Fatalf("read %v", got)
	}
}
