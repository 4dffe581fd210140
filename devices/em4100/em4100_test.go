package em4100

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/badge"
)

// The RDM6300 datasheet's example frame: card 62E3086CED, printed tag
// 0xE3086CED (3808980205), checksum 08.
var datasheetFrame = []byte{0x02, 0x36, 0x32, 0x45, 0x33, 0x30, 0x38, 0x36, 0x43, 0x45, 0x44, 0x30, 0x38, 0x03}

func TestParseDatasheetFrame(t *testing.T) {
	id, err := ParseFrame(datasheetFrame)
	if err != nil {
		t.Fatal(err)
	}
	if id.Tag() != 0xE3086CED || id.String() != "62E3086CED" {
		t.Fatalf("id = %s tag %#x, want 62E3086CED tag 0xE3086CED", id, id.Tag())
	}
	if got := Frame(id); !bytes.Equal(got, datasheetFrame) {
		t.Fatalf("Frame = % X, want % X", got, datasheetFrame)
	}
	bad := bytes.Clone(datasheetFrame)
	bad[12] = '9'
	if _, err := ParseFrame(bad); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad checksum: err = %v", err)
	}
}

// clock steps by step on every read it stamps.
type clock struct {
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

func TestDecoderResyncAndRepeats(t *testing.T) {
	other := Frame(0x0100ABCDEF)
	var stream []byte
	stream = append(stream, 0xFF, 0x00, '7', 0x03)             // noise before anything
	stream = append(stream, datasheetFrame[:7]...)             // a frame cut short…
	stream = append(stream, datasheetFrame...)                 // …then a whole one
	stream = append(stream, datasheetFrame...)                 // repeated while held
	stream = append(stream, datasheetFrame...)                 //
	stream = append(stream, 0x02, 'Z', 'Z')                    // garbage inside a frame
	stream = append(stream, other[:13]...)                     //
	stream = append(stream, 0x04)                              // wrong end byte
	stream = append(stream, other...)                          // a second card
	bad := bytes.Clone(other)                                  //
	bad[11] ^= 1                                               //
	stream = append(stream, bad...)                            // checksum wrong
	stream = append(stream, []byte("\x0262E3086CED08\x03")...) // the first card again

	c := &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), step: 100 * time.Millisecond}
	d := &Decoder{Now: c.now}
	var got []string
	// Fed one byte at a time, as a serial port may deliver it.
	for _, b := range stream {
		d.Write([]byte{b}, func(card badge.Card) { got = append(got, card.Number) })
	}
	want := []string{"62E3086CED", "0100ABCDEF", "62E3086CED"}
	if len(got) != len(want) {
		t.Fatalf("presentations %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("presentations %v, want %v", got, want)
		}
	}
	if d.Stats.Frames != 5 || d.Stats.Checksum != 1 {
		t.Fatalf("stats %+v: want 5 frames, 1 checksum error", d.Stats)
	}
	if d.Stats.Noise == 0 {
		t.Fatalf("stats %+v: noise not counted", d.Stats)
	}
}

func TestDecodeReader(t *testing.T) {
	d := &Decoder{}
	var got []badge.Card
	if err := d.Decode(bytes.NewReader(datasheetFrame), func(c badge.Card) { got = append(got, c) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Number != "62E3086CED" || got[0].Format != "em4100" {
		t.Fatalf("got %+v", got)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(datasheetFrame)
	f.Add(append(append([]byte{0x02, 0x02}, datasheetFrame...), 0x03, 0x02))
	f.Add([]byte("\x02zzzzzzzzzzzz\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := &Decoder{}
		n := 0
		d.Write(b, func(c badge.Card) {
			n++
			id, err := ParseFrame(Frame(mustHex(t, c.Number)))
			if err != nil || id.String() != c.Number {
				t.Fatalf("card %q does not round-trip: %v", c.Number, err)
			}
		})
		if n > d.Stats.Frames {
			t.Fatalf("%d presentations from %d frames", n, d.Stats.Frames)
		}
	})
}

func mustHex(t *testing.T, s string) ID {
	var v uint64
	for _, c := range []byte(s) {
		h, ok := hexVal(c)
		if !ok {
			t.Fatalf("card number %q is not hex", s)
		}
		v = v<<4 | uint64(h)
	}
	return ID(v)
}
