// Package chafon reads Chafon UHF readers (UHFReader18, UHFReader288 and the
// fixed readers that speak their protocol) over a serial line, 57600 8N1.
//
// A command is
//
//	Len  Adr  Cmd  Data…  CRC-LSB  CRC-MSB
//
// and a response
//
//	Len  Adr  reCmd  Status  Data…  CRC-LSB  CRC-MSB
//
// where Len counts the bytes after itself and the CRC-16 (polynomial 0x8408
// reflected, preset 0xFFFF, no final XOR) covers Len to the last data byte.
// There is no start marker: the parser finds frames by their length and CRC.
// The inventory command (01) is answered with several tags per response:
//
//	UHFReader18:  Status  Num  { EPC-len  EPC }…
//	UHFReader288: Status  Ant  Num  { EPC-len  EPC  RSSI }…
//
// Status 01 (inventory done), 02 (scan time over) and 04 (reader buffer
// full) end an answer, 03 says more responses follow, FB says no tag was in
// the field. Examples (the inventory command to any address, and a 288
// reply that more follows, antenna 1, one tag):
//
//	04 FF 01 1B B4
//	15 00 01 03 01 01 0C E2 80 68 94 00 00 50 0A 9D 22 98 C6 48 25 7E
package chafon

import (
	"fmt"
	"strings"

	"github.com/roomguard/roomguard/devices/crc16"
	"github.com/roomguard/roomguard/devices/uhf"
)

// Commands and statuses.
const (
	CmdInventory = 0x01

	StatusDone     = 0x01
	StatusTimeOver = 0x02
	StatusMore     = 0x03
	StatusFull     = 0x04
	StatusNoTag    = 0xFB
)

// Model is the reader's dialect of the inventory answer.
type Model int

const (
	Reader18  Model = iota // Status Num {len EPC}
	Reader288              // Status Ant Num {len EPC RSSI}
)

// CRC16 is the frame CRC (CRC-16/MCRF4XX).
func CRC16(b []byte) uint16 { return crc16.MCRF4XX(b) }

// Encode builds a frame: a command (cmd, data) or, with status, a response.
func Encode(adr, cmd byte, data []byte) []byte {
	f := make([]byte, 0, 5+len(data))
	f = append(f, byte(4+len(data)), adr, cmd)
	f = append(f, data...)
	crc := CRC16(f)
	return append(f, byte(crc), byte(crc>>8))
}

// Inventory is the inventory command to the reader at adr (FF: any).
func Inventory(adr byte) []byte { return Encode(adr, CmdInventory, nil) }

// Response is one response frame.
type Response struct {
	Adr    byte
	Cmd    byte
	Status byte
	Data   []byte
}

// Stats counts what the parser threw away.
type Stats struct {
	Frames int
	Noise  int // bytes skipped to find a frame whose CRC holds
}

// Parser finds response frames in the byte stream. A byte that does not
// begin a frame whose CRC holds is skipped, so the parser finds its way back
// after noise.
type Parser struct {
	Stats Stats
	buf   []byte
}

// minLen is the smallest response: Len Adr reCmd Status CRC CRC.
const minLen = 5

// Feed adds bytes from the line and calls fn for every whole response. The
// response's Data is only valid during the call.
func (p *Parser) Feed(b []byte, fn func(Response)) {
	p.buf = append(p.buf, b...)
	i := 0
	for len(p.buf)-i >= minLen+1 {
		n := int(p.buf[i])
		if n < minLen {
			p.Stats.Noise++
			i++
			continue
		}
		if len(p.buf)-i < n+1 {
			break
		}
		f := p.buf[i : i+n+1]
		if CRC16(f[:n-1]) != uint16(f[n-1])|uint16(f[n])<<8 {
			p.Stats.Noise++
			i++
			continue
		}
		p.Stats.Frames++
		fn(Response{Adr: f[1], Cmd: f[2], Status: f[3], Data: f[4 : n-1]})
		i += n + 1
	}
	rest := copy(p.buf, p.buf[i:])
	p.buf = p.buf[:rest]
}

// Flush gives up on a partial frame: called when the line has gone quiet
// with one pending, which a frame of a few milliseconds cannot be, so its
// first byte was noise. Whole frames behind it are still found.
func (p *Parser) Flush(fn func(Response)) {
	for len(p.buf) > 0 {
		p.Stats.Noise++
		p.buf = p.buf[:copy(p.buf, p.buf[1:])]
		p.Feed(nil, fn)
	}
}

// Tags decodes the tags of an inventory response.
func Tags(r Response, m Model) ([]uhf.Read, error) {
	if r.Cmd != CmdInventory {
		return nil, fmt.Errorf("chafon: response to command %02X is not an inventory", r.Cmd)
	}
	switch r.Status {
	case StatusNoTag:
		return nil, nil
	case StatusDone, StatusTimeOver, StatusMore, StatusFull:
	default:
		return nil, fmt.Errorf("chafon: inventory status %02X", r.Status)
	}
	d := r.Data
	antenna := 1
	if m == Reader288 {
		if len(d) < 1 {
			return nil, fmt.Errorf("chafon: inventory without an antenna byte")
		}
		antenna = antennaNumber(d[0])
		d = d[1:]
	}
	if len(d) < 1 {
		return nil, fmt.Errorf("chafon: inventory without a tag count")
	}
	num := int(d[0])
	d = d[1:]
	reads := make([]uhf.Read, 0, num)
	for t := 0; t < num; t++ {
		if len(d) < 1 {
			return nil, fmt.Errorf("chafon: tag %d of %d missing", t+1, num)
		}
		n := int(d[0] & 0x7F) // the top bit flags a TID after the EPC on some firmware
		extra := 0
		if m == Reader288 {
			extra = 1 // RSSI
		}
		if n == 0 || len(d) < 1+n+extra {
			return nil, fmt.Errorf("chafon: tag %d of %d: %d-byte EPC, %d bytes left", t+1, num, n, len(d)-1)
		}
		r := uhf.Read{EPC: strings.ToUpper(fmt.Sprintf("%X", d[1:1+n])), Antenna: antenna}
		if m == Reader288 {
			r.RSSI = int(d[1+n])
		}
		reads = append(reads, r)
		d = d[1+n+extra:]
	}
	if len(d) != 0 {
		return nil, fmt.Errorf("chafon: %d bytes after the last of %d tags", len(d), num)
	}
	return reads, nil
}

// antennaNumber turns the 288's antenna bit (01, 02, 04, 08) into 1–4.
func antennaNumber(bit byte) int {
	for i := 0; i < 8; i++ {
		if bit == 1<<i {
			return i + 1
		}
	}
	return 1
}

// InventoryFrame builds an inventory response (for tests and the simulated
// reader); nil when the tags do not fit in one frame (255 bytes).
func InventoryFrame(adr byte, m Model, status byte, antenna int, epcs [][]byte, rssi byte) []byte {
	var d []byte
	if m == Reader288 {
		d = append(d, byte(1)<<(antenna-1))
	}
	d = append(d, byte(len(epcs)))
	for _, e := range epcs {
		d = append(d, byte(len(e)))
		d = append(d, e...)
		if m == Reader288 {
			d = append(d, rssi)
		}
	}
	if 5+len(d) > 255 {
		return nil
	}
	// A response is a command frame whose data starts with the status.
	return Encode(adr, CmdInventory, append([]byte{status}, d...))
}

// Reader is the Chafon side of uhf.Run.
type Reader struct {
	Addr   byte // the reader's address; FF reaches any
	Model  Model
	Parser Parser
	// Misreads counts inventory responses that could not be decoded.
	Misreads int
}

// Poll implements uhf.Protocol.
func (r *Reader) Poll() []byte { return Inventory(r.Addr) }

// Feed implements uhf.Protocol.
func (r *Reader) Feed(b []byte, fn func(uhf.Read)) (answered, done bool) {
	return r.feed(func(h func(Response)) { r.Parser.Feed(b, h) }, fn)
}

// Quiet implements uhf.Protocol.
func (r *Reader) Quiet(fn func(uhf.Read)) { r.feed(r.Parser.Flush, fn) }

func (r *Reader) feed(parse func(func(Response)), fn func(uhf.Read)) (answered, done bool) {
	parse(func(resp Response) {
		answered = true
		if resp.Cmd != CmdInventory {
			return
		}
		reads, err := Tags(resp, r.Model)
		if err != nil {
			r.Misreads++
			done = true
			return
		}
		for _, t := range reads {
			fn(t)
		}
		if resp.Status != StatusMore {
			done = true
		}
	})
	return answered, done
}
