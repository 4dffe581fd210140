package wiegand

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/roomguard/roomguard/devices/badge"
)

func TestDecodeExamples(t *testing.T) {
	cases := []struct {
		bits           string
		format         string
		facility, card uint32
	}{
		// The example: H10301 facility 90 card 324.
		{"00101101000000001010001000", "h10301", 90, 324},
	}
	for _, c := range cases {
		bits, err := ParseBits(c.bits)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(bits)
		if err != nil {
			t.Fatalf("%s: %v", c.bits, err)
		}
		if got.Format != c.format || got.Facility != c.facility || got.Card != c.card {
			t.Fatalf("%s: got %+v", c.bits, got)
		}
		if got.Number() != "90:324" {
			t.Fatalf("number %q", got.Number())
		}
	}
}

func TestRoundTripAndParity(t *testing.T) {
	for _, c := range []struct {
		format         string
		facility, card uint32
	}{
		{"h10301", 255, 65535}, {"h10301", 0, 0}, {"h10306", 65535, 1}, {"h10306", 1234, 56789},
		{"h10304", 65535, 524287}, {"h10304", 4242, 300000},
	} {
		bits, err := Encode(c.format, c.facility, c.card)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(bits)
		if err != nil || got.Format != c.format || got.Facility != c.facility || got.Card != c.card {
			t.Fatalf("%+v: decoded %+v, %v", c, got, err)
		}
		for i := range bits { // every single-bit error is caught by a parity bit
			bad := append([]byte(nil), bits...)
			bad[i] ^= 1
			if _, err := Decode(bad); err == nil {
				t.Fatalf("%+v: bit %d flipped, no parity error", c, i)
			}
		}
	}
	if _, err := Encode("h10301", 256, 1); err == nil {
		t.Fatal("facility 256 encoded in 8 bits")
	}
	if _, err := Decode(make([]byte, 30)); err == nil {
		t.Fatal("30 bits decoded")
	}
}

func TestReceiverTiming(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var r Receiver
	var got []badge.Card
	fn := func(c badge.Card) { got = append(got, c) }
	at := t0
	send := func(s string) {
		bits, _ := ParseBits(s)
		for _, b := range bits {
			r.Bit(b, at, fn)
			at = at.Add(2 * time.Millisecond)
		}
	}
	card, _ := Encode("h10306", 7, 4711)
	send("0010110100000000101000100") // 25 bits of a frame cut short
	at = at.Add(FrameGap)
	send(bitString(card))
	if r.Idle(at.Add(FrameGap-3*time.Millisecond), fn) != true || len(got) != 0 {
		t.Fatalf("frame ended before its gap: %v", got)
	}
	r.Idle(at.Add(FrameGap), fn)
	if len(got) != 1 || got[0].Number != "7:4711" || got[0].Format != "h10306" {
		t.Fatalf("got %+v", got)
	}
	if r.Stats.Bad != 1 || r.Stats.Frames != 1 {
		t.Fatalf("stats %+v", r.Stats)
	}
}

func bitString(bits []byte) string {
	s := make([]byte, len(bits))
	for i, b := range bits {
		s[i] = '0' + b
	}
	return string(s)
}

// The driver on periph's fake pins: a falling edge on D0 is a 0, on D1 a 1.
func TestDevOnGPIO(t *testing.T) {
	d0 := &gpiotest.Pin{N: "D0", L: gpio.High, EdgesChan: make(chan gpio.Level, 64)}
	d1 := &gpiotest.Pin{N: "D1", L: gpio.High, EdgesChan: make(chan gpio.Level, 64)}
	dev, err := New(d0, d1, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan badge.Card, 1)
	done := make(chan struct{})
	go func() { defer close(done); dev.Run(func(c badge.Card) { got <- c }) }()
	bits, _ := ParseBits("00101101000000001010001000")
	send := func() {
		for _, b := range bits {
			pin := d0
			if b == 1 {
				pin = d1
			}
			pin.EdgesChan <- gpio.Low
			time.Sleep(2 * time.Millisecond) // the wire's bit spacing
		}
	}
	// Two goroutines read the two lines; on a starved machine one may wake
	// late and swap two bits, which parity catches. A reader presented again
	// then reads it: so may this test, a few times.
	var card badge.Card
	for attempt := 0; attempt < 5 && card.Number == ""; attempt++ {
		send()
		select {
		case card = <-got:
		case <-time.After(time.Second):
		}
	}
	if card.Number != "90:324" {
		t.Fatalf("card %q; stats %+v, last error %v", card.Number, dev.Recv.Stats, dev.Recv.LastError)
	}
	dev.Halt()
	<-done
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("00101101000000001010001000"))
	f.Add([]byte("0000000000000000000000000000000000000"))
	f.Add([]byte("1"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		bits := make([]byte, len(raw))
		for i, c := range raw {
			bits[i] = c & 1
		}
		c, err := Decode(bits)
		if err != nil {
			return
		}
		again, err := Encode(c.Format, c.Facility, c.Card)
		if err != nil || bitString(again) != bitString(bits) {
			t.Fatalf("%s decodes to %+v, which encodes to %s (%v)", bitString(bits), c, bitString(again), err)
		}
	})
}
