// Package r200 reads the R200 family of UHF reader modules (JRD-4035,
// YRM100 and their kin) over a UART, 115200 8N1.
//
// Every frame is
//
//	BB  type  command  length(2, big-endian)  parameters  checksum  7E
//
// type 00 is a command, 01 a response, 02 a notice (a tag read); the
// checksum is the low byte of the sum from type to the last parameter.
// Frames are delimited by their length, never by 7E, which can occur in the
// data. A single poll (command 22) is answered by one notice per tag in the
// field, or by the error response (command FF) with code 15 when there is
// none:
//
//	BB 00 22 00 00 22 7E                       single poll
//	BB 02 22 00 11 C9 34 00 30 75 1F EB 70 5C  notice: RSSI C9 (-55 dBm), PC 3400,
//	   59 04 E3 D5 0D 70 3A 76 EF 7E           EPC 30751FEB705C5904E3D50D70, CRC 3A76
//	BB 01 FF 00 01 15 16 7E                    no tag
//
// (the module manual's own examples). The tag's CRC-16 over PC and EPC is
// checked too: a notice whose CRC is wrong is a misread.
package r200

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roomguard/roomguard/devices/uhf"
)

// Frame types.
const (
	TypeCommand  = 0x00
	TypeResponse = 0x01
	TypeNotice   = 0x02
)

// Commands.
const (
	CmdInfo       = 0x03 // module information
	CmdSinglePoll = 0x22
	CmdMultiPoll  = 0x27
	CmdStopPoll   = 0x28
	CmdError      = 0xFF // the response that reports an error code
)

// ErrNoTag is the error code of a poll that found no tag.
const ErrNoTag = 0x15

const (
	header    = 0xBB
	end       = 0x7E
	maxParams = 255 // a notice holds at most 67 (a 62-byte EPC); a longer length is noise
)

// Frame is one frame.
type Frame struct {
	Type   byte
	Cmd    byte
	Params []byte
}

// Encode builds the bytes of a frame.
func Encode(typ, cmd byte, params []byte) []byte {
	f := make([]byte, 0, 7+len(params))
	f = append(f, header, typ, cmd, byte(len(params)>>8), byte(len(params)))
	f = append(f, params...)
	var sum byte
	for _, b := range f[1:] {
		sum += b
	}
	return append(f, sum, end)
}

// SinglePoll is the command that reads every tag in the field once.
func SinglePoll() []byte { return Encode(TypeCommand, CmdSinglePoll, nil) }

// MultiPoll is the command that polls count times (0xFFFF: until stopped).
func MultiPoll(count uint16) []byte {
	return Encode(TypeCommand, CmdMultiPoll, []byte{0x22, byte(count >> 8), byte(count)})
}

// StopPoll ends a multi-poll.
func StopPoll() []byte { return Encode(TypeCommand, CmdStopPoll, nil) }

// Stats counts what the parser threw away.
type Stats struct {
	Frames   int
	Checksum int // a bad checksum, or no 7E where the length says the frame ends
	Noise    int // bytes outside a frame
}

// Parser finds frames in the byte stream. After a bad frame it looks for the
// next BB from the byte after the bad frame's start, so a frame that began
// inside the garbage is still found.
type Parser struct {
	Stats Stats
	buf   []byte
}

// Feed adds bytes from the line and calls fn for every whole frame. The
// frame's Params are only valid during the call.
func (p *Parser) Feed(b []byte, fn func(Frame)) {
	p.buf = append(p.buf, b...)
	i := 0
	for {
		j := i
		for j < len(p.buf) && p.buf[j] != header {
			j++
		}
		p.Stats.Noise += j - i
		i = j
		if len(p.buf)-i < 5 {
			break
		}
		n := int(p.buf[i+3])<<8 | int(p.buf[i+4])
		if p.buf[i+1] > TypeNotice || n > maxParams {
			p.Stats.Noise++
			i++
			continue
		}
		if len(p.buf)-i < 7+n {
			break
		}
		f := p.buf[i : i+7+n]
		var sum byte
		for _, c := range f[1 : 5+n] {
			sum += c
		}
		if f[5+n] != sum || f[6+n] != end {
			p.Stats.Checksum++
			i++
			continue
		}
		p.Stats.Frames++
		fn(Frame{Type: f[1], Cmd: f[2], Params: f[5 : 5+n]})
		i += 7 + n
	}
	// Keep what is left at the front, without letting the buffer grow.
	rest := copy(p.buf, p.buf[i:])
	p.buf = p.buf[:rest]
}

// Flush gives up on a partial frame: called when the line has gone quiet
// with one pending, which a frame of a few milliseconds cannot be, so its
// start was noise. Whole frames behind it are still found.
func (p *Parser) Flush(fn func(Frame)) {
	for len(p.buf) > 0 {
		p.Stats.Noise++
		p.buf = p.buf[:copy(p.buf, p.buf[1:])]
		p.Feed(nil, fn)
	}
}

// ErrTagCRC is a notice whose tag CRC does not match its PC and EPC.
var ErrTagCRC = errors.New("r200: tag CRC mismatch")

// Notice decodes a tag notice (type 02, command 22): RSSI, PC, EPC, CRC.
func Notice(f Frame) (uhf.Read, error) {
	if f.Type != TypeNotice || f.Cmd != CmdSinglePoll {
		return uhf.Read{}, fmt.Errorf("r200: frame %02X %02X is not a tag notice", f.Type, f.Cmd)
	}
	p := f.Params
	if len(p) < 5 {
		return uhf.Read{}, fmt.Errorf("r200: tag notice of %d bytes", len(p))
	}
	pc := uint16(p[1])<<8 | uint16(p[2])
	n := uhf.EPCBytes(pc)
	if len(p) != 1+2+n+2 {
		return uhf.Read{}, fmt.Errorf("r200: PC %04X announces a %d-byte EPC, the notice holds %d", pc, n, len(p)-5)
	}
	crc := uint16(p[3+n])<<8 | uint16(p[4+n])
	if uhf.CRC16Gen2(p[1:3+n]) != crc {
		return uhf.Read{}, ErrTagCRC
	}
	return uhf.Read{EPC: strings.ToUpper(fmt.Sprintf("%X", p[3:3+n])), PC: pc, RSSI: int(int8(p[0])), Antenna: 1}, nil
}

// NoticeFrame builds the notice of a tag read (for tests and the simulated
// module): the PC is derived from the EPC's length, with the user-memory
// indicator set as on the manual's tag.
func NoticeFrame(epc []byte, rssi int8) []byte {
	pc := uint16(len(epc)/2)<<11 | 0x0400
	p := []byte{byte(rssi), byte(pc >> 8), byte(pc)}
	p = append(p, epc...)
	crc := uhf.CRC16Gen2(p[1:])
	return Encode(TypeNotice, CmdSinglePoll, append(p, byte(crc>>8), byte(crc)))
}

// ErrorCode is the code of an error response, and whether f is one.
func ErrorCode(f Frame) (byte, bool) {
	if f.Type != TypeResponse || f.Cmd != CmdError || len(f.Params) < 1 {
		return 0, false
	}
	return f.Params[0], true
}
