package sim_test

import (
	"testing"

	"periph.io/x/conn/v3/gpio"

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
	t.Cleanup(r.Close)
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
	if len(r.Ports) != 2 {
		t.Fatalf("%d ports, want 2", len(r.Ports))
	}
	if err := schemas.ValidateJSON("sim-ports", r.PortsPayload()); err != nil {
		t.Fatal(err)
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
