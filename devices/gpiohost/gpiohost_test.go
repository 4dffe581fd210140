package gpiohost

import (
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestOpenOnAMachineWithoutGPIO(t *testing.T) {
	// This CI machine is not a Pi: host.Init succeeds and registers no pins.
	_, err := Open("GPIO17")
	if err == nil {
		t.Skip("this machine has a GPIO17; the no-GPIO path is covered by TestLookup")
	}
	if !strings.Contains(err.Error(), "GPIO17") {
		t.Fatalf("error %q does not name the pin", err)
	}
}

func TestLookup(t *testing.T) {
	none := func(string) gpio.PinIO { return nil }
	if _, err := lookup("GPIO17", none, 0); err == nil || !strings.Contains(err.Error(), "no GPIO pins") {
		t.Fatalf("no pins: %v", err)
	}
	if _, err := lookup("GPIO99", none, 28); err == nil || !strings.Contains(err.Error(), "no such pin among the 28") {
		t.Fatalf("unknown pin: %v", err)
	}
	p := &gpiotest.Pin{N: "GPIO17"}
	got, err := lookup("GPIO17", func(string) gpio.PinIO { return p }, 28)
	if err != nil || got != p {
		t.Fatalf("known pin: %v %v", got, err)
	}
}
