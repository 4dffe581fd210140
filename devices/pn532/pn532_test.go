package pn532_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/roomguard/roomguard/devices/badge"
	"github.com/roomguard/roomguard/devices/pn532"
	"github.com/roomguard/roomguard/devices/pn532/pn532sim"
)

func hexBytes(t testing.TB, s string) []byte {
	var out []byte
	var v byte
	n := 0
	for _, c := range []byte(s) {
		var h byte
		switch {
		case c >= '0' && c <= '9':
			h = c - '0'
		case c >= 'A' && c <= 'F':
			h = c - 'A' + 10
		case c == ' ':
			continue
		default:
			t.Fatalf("bad hex %q", s)
		}
		v = v<<4 | h
		n++
		if n%2 == 0 {
			out = append(out, v)
			v = 0
		}
	}
	return out
}

// Frames as printed in the PN532 user manual and application notes.
func TestEncodeKnownFrames(t *testing.T) {
	cases := []struct {
		data []byte
		want string
	}{
		{[]byte{0x14, 0x01, 0x14, 0x01}, "00 00 FF 05 FB D4 14 01 14 01 02 00"}, // SAMConfiguration
		{[]byte{0x02}, "00 00 FF 02 FE D4 02 2A 00"},                            // GetFirmwareVersion
		{[]byte{0x4A, 0x01, 0x00}, "00 00 FF 04 FC D4 4A 01 00 E1 00"},          // InListPassiveTarget
	}
	for _, c := range cases {
		got, err := pn532.Encode(pn532.HostToPN532, c.data)
		if err != nil || !bytes.Equal(got, hexBytes(t, c.want)) {
			t.Fatalf("Encode(% X) = % X, want %s (%v)", c.data, got, c.want, err)
		}
	}
}

func feed(p *pn532.Parser, b []byte) []pn532.Frame {
	var out []pn532.Frame
	for _, c := range b {
		if f, ok := p.Feed(c); ok {
			out = append(out, f)
		}
	}
	return out
}

func TestParseResponses(t *testing.T) {
	stream := hexBytes(t, ""+
		"55 55 13 "+ // noise
		"00 00 FF 00 FF 00 "+ // ACK
		"00 00 FF 06 FA D5 03 32 01 06 07 E8 00 "+ // firmware: PN532 1.6
		"00 00 FF 06 FA D5 03 32 01 06 07 E9 00 "+ // the same with a bad DCS
		"00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 92 2E 58 32 84 00 "+ // a 4-byte UID card
		"00 00 FF FF 00 00 "+ // NACK
		"00 00 FF 01 FF 7F 81 00") // error frame
	var p pn532.Parser
	fs := feed(&p, stream)
	if len(fs) != 5 {
		t.Fatalf("%d frames: %+v", len(fs), fs)
	}
	if fs[0].Kind != pn532.Ack || fs[3].Kind != pn532.Nack || fs[4].Kind != pn532.Error {
		t.Fatalf("kinds %+v", fs)
	}
	if !bytes.Equal(fs[1].Data, []byte{0x03, 0x32, 0x01, 0x06, 0x07}) {
		t.Fatalf("firmware frame % X", fs[1].Data)
	}
	ts, err := pn532.ParseInList(fs[2].Data[1:])
	if err != nil || len(ts) != 1 || !bytes.Equal(ts[0].UID, []byte{0x92, 0x2E, 0x58, 0x32}) || ts[0].SensRes != 0x0004 {
		t.Fatalf("targets %+v, %v", ts, err)
	}
	if p.Stats.Checksum != 1 || p.Stats.Noise == 0 {
		t.Fatalf("stats %+v", p.Stats)
	}
	// A 7-byte UID with an ATS (a CPU card).
	ts, err = pn532.ParseInList(hexBytes(t, "01 01 03 44 20 07 04 A2 24 E2 5B 31 80 05 75 77 81 02 80"))
	if err != nil || len(ts) != 1 || len(ts[0].UID) != 7 {
		t.Fatalf("7-byte UID: %+v, %v", ts, err)
	}
	if _, err := pn532.ParseInList(hexBytes(t, "01 01 00 04 08 04 92 2E")); err == nil {
		t.Fatal("a cut UID parsed")
	}
}

// idleEOF gives a net.Pipe the read timeout of a serial port: an idle read
// returns io.EOF after a short wait.
type idleEOF struct{ net.Conn }

func (c idleEOF) Read(b []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := c.Conn.Read(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return n, io.EOF
	}
	return n, err
}

func TestDriverAgainstSimulatedChip(t *testing.T) {
	host, dev := net.Pipe()
	chip := pn532sim.New(idleEOF{dev})
	go chip.Serve()
	d := pn532.New(idleEOF{host}, &pn532.Opts{Interval: time.Millisecond})
	stop := make(chan struct{})
	ready := make(chan struct{})
	cards := make(chan badge.Card, 4)
	done := make(chan error, 1)
	go func() { done <- d.Run(stop, func() { close(ready) }, func(c badge.Card) { cards <- c }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	if d.Firmware != "PN532 1.6" {
		t.Fatalf("firmware %q", d.Firmware)
	}
	chip.Present([]byte{0x04, 0xA2, 0x24, 0xE2, 0x5B, 0x31, 0x80})
	if c := <-cards; c.Number != "04A224E25B3180" || c.Format != "iso14443a" {
		t.Fatalf("card %+v", c)
	}
	chip.Present(nil)
	chip.Present([]byte{0x92, 0x2E, 0x58, 0x32})
	if c := <-cards; c.Number != "922E5832" {
		t.Fatalf("card %+v", c)
	}
	chip.Silence(true)
	select {
	case err := <-done:
		if !errors.Is(err, pn532.ErrSilent) {
			t.Fatalf("Run ended with %v, want silent", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a silent chip was not noticed")
	}
	host.Close()
	dev.Close()
}

func FuzzParser(f *testing.F) {
	f.Add(hexBytes(f, "00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 92 2E 58 32 84 00"))
	f.Add(hexBytes(f, "00 00 FF 00 FF 00 00 00 FF FF 00 00 00 00 FF 01 FF 7F 81 00"))
	f.Add(hexBytes(f, "00 00 FF FF FF 01 00 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p pn532.Parser
		for _, fr := range feed(&p, b) {
			if fr.Kind == pn532.Data && fr.TFI == pn532.PN532ToHost && len(fr.Data) > 0 && fr.Data[0] == 0x4B {
				pn532.ParseInList(fr.Data[1:]) // must not panic
			}
			if fr.Kind == pn532.Data {
				again, err := pn532.Encode(fr.TFI, fr.Data)
				var q pn532.Parser
				if got := feed(&q, again); err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, fr.Data) {
					t.Fatalf("frame % X does not round-trip", fr.Data)
				}
			}
		}
	})
}
