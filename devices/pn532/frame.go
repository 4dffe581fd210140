package pn532

import (
	"fmt"
)

// TFI values.
const (
	HostToPN532 = 0xD4
	PN532ToHost = 0xD5
	errorTFI    = 0x7F
)

// Commands used.
const (
	CmdGetFirmwareVersion  = 0x02
	CmdSAMConfiguration    = 0x14
	CmdRFConfiguration     = 0x32
	CmdInListPassiveTarget = 0x4A
)

// Kind is what a received frame is.
type Kind int

const (
	Data Kind = iota
	Ack
	Nack
	Error
)

// Frame is one frame off the wire.
type Frame struct {
	Kind Kind
	TFI  byte
	Data []byte // after the TFI: command code + 1, then parameters
}

var (
	ackFrame  = []byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	nackFrame = []byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
)

// AckFrame is the ACK frame.
func AckFrame() []byte { return append([]byte(nil), ackFrame...) }

// Encode builds a normal information frame.
func Encode(tfi byte, data []byte) ([]byte, error) {
	if len(data)+1 > 254 {
		return nil, fmt.Errorf("pn532: %d bytes need an extended frame", len(data))
	}
	n := byte(len(data) + 1)
	f := []byte{0x00, 0x00, 0xFF, n, -n, tfi}
	sum := tfi
	for _, b := range data {
		sum += b
	}
	f = append(f, data...)
	return append(f, -sum, 0x00), nil
}

// ErrorFrame is the application-level error frame.
func ErrorFrame() []byte { return []byte{0x00, 0x00, 0xFF, 0x01, 0xFF, errorTFI, 0x81, 0x00} }

// Stats counts what the parser threw away.
type Stats struct {
	Frames   int
	Checksum int // bad LCS or DCS
	Noise    int // bytes outside a frame
}

// Parser finds frames in the byte stream, resynchronising on the start code
// 00 FF after noise.
type Parser struct {
	Stats Stats

	state int
	n     int // LEN
	data  []byte
	sum   byte
}

const (
	seek0 = iota
	seekFF
	readLen
	readLCS
	readData
	readDCS
)

// Feed takes one byte and returns a frame when it completes one.
func (p *Parser) Feed(c byte) (Frame, bool) {
	switch p.state {
	case seek0:
		if c == 0x00 {
			p.state = seekFF
		} else {
			p.Stats.Noise++
		}
	case seekFF:
		switch c {
		case 0xFF:
			p.state = readLen
		case 0x00: // more preamble
		default:
			p.Stats.Noise++
			p.state = seek0
		}
	case readLen:
		p.n = int(c)
		p.state = readLCS
	case readLCS:
		p.state = seek0
		switch {
		case p.n == 0x00 && c == 0xFF:
			p.Stats.Frames++
			return Frame{Kind: Ack}, true
		case p.n == 0xFF && c == 0x00:
			p.Stats.Frames++
			return Frame{Kind: Nack}, true
		case byte(p.n)+c != 0 || p.n == 0 || p.n == 0xFF:
			p.Stats.Checksum++ // also extended frames (FF FF), which we do not read
			if c == 0x00 {
				p.state = seekFF // the bad byte may start the next frame
			}
		default:
			p.data, p.sum, p.state = p.data[:0], 0, readData
		}
	case readData:
		p.data = append(p.data, c)
		p.sum += c
		if len(p.data) == p.n {
			p.state = readDCS
		}
	case readDCS:
		p.state = seek0
		if p.sum+c != 0 {
			p.Stats.Checksum++
			return Frame{}, false
		}
		p.Stats.Frames++
		f := Frame{TFI: p.data[0], Data: append([]byte(nil), p.data[1:]...)}
		if f.TFI == errorTFI {
			f.Kind = Error
		}
		return f, true
	}
	return Frame{}, false
}

// Target is a card found by InListPassiveTarget at 106 kbps type A.
type Target struct {
	SensRes uint16
	SelRes  byte
	UID     []byte
}

// ParseInList reads the data of an InListPassiveTarget response (after D5 4B).
func ParseInList(d []byte) ([]Target, error) {
	if len(d) < 1 {
		return nil, fmt.Errorf("pn532: InListPassiveTarget response is empty")
	}
	n, d := int(d[0]), d[1:]
	var out []Target
	for i := 0; i < n; i++ {
		// Tg, SENS_RES(2), SEL_RES, NFCIDLength, NFCID1, [ATSLength, ATS…]
		if len(d) < 5 {
			return nil, fmt.Errorf("pn532: target %d is cut short", i+1)
		}
		l := int(d[4])
		if l != 4 && l != 7 && l != 10 {
			return nil, fmt.Errorf("pn532: target %d: UID of %d bytes", i+1, l)
		}
		if len(d) < 5+l {
			return nil, fmt.Errorf("pn532: target %d: UID cut short", i+1)
		}
		t := Target{SensRes: uint16(d[1])<<8 | uint16(d[2]), SelRes: d[3], UID: append([]byte(nil), d[5:5+l]...)}
		d = d[5+l:]
		if t.SelRes&0x20 != 0 && len(d) > 0 { // ISO 14443-4 compliant: an ATS follows
			ats := int(d[0])
			if ats < 1 || len(d) < ats {
				return nil, fmt.Errorf("pn532: target %d: ATS cut short", i+1)
			}
			d = d[ats:]
		}
		out = append(out, t)
	}
	return out, nil
}
