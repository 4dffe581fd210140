package relay_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/roomguard/roomguard/devices/relay"
	"github.com/roomguard/roomguard/gateway/clocktest"
)

func TestPulseAndHold(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
	pin := &gpiotest.Pin{N: "GPIO23"}
	var log []string
	d, err := relay.New(pin, &relay.Opts{ActiveLevel: gpio.Low, AfterFunc: clock.AfterFunc,
		OnChange: func(on bool, pulse time.Duration) { log = append(log, fmt.Sprint(on, pulse)) }})
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.High {
		t.Fatal("active-low output must start high (off)")
	}
	d.Pulse(5 * time.Second)
	if pin.Read() != gpio.Low || !d.On() {
		t.Fatal("pulse did not drive the pin on")
	}
	clock.Advance(3 * time.Second)
	d.Pulse(5 * time.Second) // re-triggered: 5 s from now
	clock.Advance(4 * time.Second)
	if !d.On() {
		t.Fatal("re-triggered pulse ended early")
	}
	clock.Advance(time.Second)
	if d.On() || pin.Read() != gpio.High {
		t.Fatal("pulse did not end")
	}
	d.Pulse(time.Second)
	d.Set(true) // hold ends the pulse timer
	clock.Advance(time.Minute)
	if !d.On() {
		t.Fatal("a held output was turned off by an old pulse")
	}
	d.Halt()
	want := "true 5s|true 5s|false 0s|true 1s|false 0s"
	if got := strings.Join(log, "|"); got != want {
		t.Fatalf("changes %s\nwant    %s", got, want)
	}
}
