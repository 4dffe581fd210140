package modbus_test

import (
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/crc16"
	"github.com/roomguard/roomguard/devices/modbus"
	"github.com/roomguard/roomguard/devices/modbus/modbussim"
	"github.com/roomguard/roomguard/devices/serialline"
	"github.com/roomguard/roomguard/devices/serialsim"
)

func withCRC(b ...byte) []byte { return binary.LittleEndian.AppendUint16(b, crc16.Modbus(b)) }

// The request is the module manual's own frame.
func TestRequest(t *testing.T) {
	if got, want := modbus.Request(1, 1, 2), []byte{0x01, 0x04, 0x00, 0x01, 0x00, 0x02, 0x20, 0x0B}; !slices.Equal(got, want) {
		t.Fatalf("% X, want % X", got, want)
	}
}

func TestResponse(t *testing.T) {
	good := withCRC(1, 4, 4, 0x01, 0x0F, 0x02, 0x1C) // 27.1 °C, 54.0 % RH
	regs, need, err := modbus.Response(1, 2, good)
	if err != nil || need != 0 || !slices.Equal(regs, []uint16{271, 540}) {
		t.Fatalf("good: %v %d %v", regs, need, err)
	}
	for i := range len(good) - 1 { // every prefix wants more, and says how much at least
		if _, need, err := modbus.Response(1, 2, good[:i]); err != nil || need == 0 {
			t.Errorf("prefix of %d: need %d, %v", i, need, err)
		}
	}
	bad := slices.Clone(good)
	bad[4] ^= 1
	var exc *modbus.Exception
	for name, c := range map[string]struct {
		frame []byte
		check func(error) bool
	}{
		"bad crc":     {bad, func(err error) bool { return errors.Is(err, modbus.ErrCRC) }},
		"exception":   {withCRC(1, 0x84, 2), func(err error) bool { return errors.As(err, &exc) && exc.Code == 2 }},
		"other addr":  {withCRC(2, 4, 4, 0, 0, 0, 0), func(err error) bool { return err != nil }},
		"byte count":  {withCRC(1, 4, 2, 0, 0), func(err error) bool { return err != nil }},
		"function":    {withCRC(1, 3, 4, 0, 0, 0, 0), func(err error) bool { return err != nil }},
		"extra bytes": {append(slices.Clone(good), 0), func(err error) bool { return err != nil }},
	} {
		if regs, _, err := modbus.Response(1, 2, c.frame); !c.check(err) || regs != nil {
			t.Errorf("%s: %v, %v", name, regs, err)
		}
	}
}

// FuzzResponse: any bytes give registers (as many as asked), a need, or an
// error; never a panic.
func FuzzResponse(f *testing.F) {
	f.Add([]byte{1, 4, 4, 0x01, 0x0F, 0x02, 0x1C, 0, 0})
	f.Add(withCRC(1, 4, 4, 0x01, 0x0F, 0x02, 0x1C))
	f.Add(withCRC(1, 0x84, 2))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		regs, need, err := modbus.Response(1, 2, frame)
		switch {
		case err != nil && (regs != nil || need != 0):
			t.Fatalf("an error with registers or a need: %v %d %v", regs, need, err)
		case err == nil && need == 0 && len(regs) != 2:
			t.Fatalf("%d registers, asked 2", len(regs))
		case need < 0:
			t.Fatalf("need %d", need)
		}
	})
}

// The real driver against the simulated sensor on a pseudo-terminal, as a
// USB RS-485 adapter: readings as set, and a sensor that stops answering
// ends the run with the misses (the line's supervisor reports the fault).
func TestClimateOnALine(t *testing.T) {
	link, err := serialsim.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	dev, err := os.OpenFile(link.DevicePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	sensor := modbussim.New(3, dev)
	sensor.Set(-4.5, 81.3)
	go sensor.Serve()
	port, err := serialline.Open(link.GatewayPath, 9600, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	readings := make(chan modbus.Reading, 64)
	ready := make(chan struct{})
	done := make(chan error, 1)
	stop := make(chan struct{})
	c := &modbus.Climate{Addr: 3, Every: 20 * time.Millisecond, Timeout: 300 * time.Millisecond}
	go func() { done <- c.Run(port, stop, func() { close(ready) }, func(r modbus.Reading) { readings <- r }) }()
	next := func() modbus.Reading {
		t.Helper()
		select {
		case r := <-readings:
			return r
		case err := <-done:
			t.Fatalf("ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no reading")
		}
		return modbus.Reading{}
	}
	if r := next(); r.Temperature != -4.5 || r.Humidity != 81.3 {
		t.Fatalf("read %+v, set -4.5 °C 81.3 %%", r)
	}
	<-ready
	sensor.Set(27.1, 54)
	for r := next(); r.Temperature != 27.1 || r.Humidity != 54; r = next() {
	}
	sensor.Silence(true)
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, modbus.ErrTimeout) {
			t.Fatalf("a silent sensor: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a silent sensor went unnoticed")
	}
	close(stop)
}
