package em4100

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/roomguard/roomguard/devices/badge"
)

const (
	stx       = 0x02
	etx       = 0x03
	frameBody = 12 // 10 hex digits of ID, 2 of checksum
)

// Stats counts what the decoder threw away.
type Stats struct {
	Frames   int // good frames, repeats included
	Checksum int // frames whose checksum did not match
	Noise    int // frames cut short by a stray byte, or bytes outside a frame
}

// Decoder turns the reader's bytes into card presentations.
type Decoder struct {
	Now      func() time.Time // stamps each read; default time.Now
	Presence badge.Presence
	Stats    Stats

	body [frameBody]byte
	n    int  // bytes of body collected
	in   bool // inside a frame (after an stx)
}

// ID is a decoded 40-bit card ID.
type ID uint64

// String is the canonical card number: 10 upper-case hex digits.
func (id ID) String() string { return fmt.Sprintf("%010X", uint64(id)) }

// Tag is the low 32 bits, the number usually printed on the card.
func (id ID) Tag() uint32 { return uint32(id) }

// ErrChecksum is a frame whose XOR checksum does not match its ID.
var ErrChecksum = errors.New("em4100: checksum mismatch")

// ParseFrame decodes one whole 14-byte frame.
func ParseFrame(f []byte) (ID, error) {
	if len(f) != frameBody+2 || f[0] != stx || f[len(f)-1] != etx {
		return 0, fmt.Errorf("em4100: a frame is 02, 12 hex digits, 03; got % X", f)
	}
	return parseBody(f[1 : 1+frameBody])
}

func parseBody(b []byte) (ID, error) {
	var id uint64
	var sum byte
	for i := 0; i < 5; i++ {
		hi, ok1 := hexVal(b[2*i])
		lo, ok2 := hexVal(b[2*i+1])
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("em4100: %q is not hex", b[2*i:2*i+2])
		}
		v := hi<<4 | lo
		sum ^= v
		id = id<<8 | uint64(v)
	}
	hi, ok1 := hexVal(b[10])
	lo, ok2 := hexVal(b[11])
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("em4100: checksum %q is not hex", b[10:12])
	}
	if hi<<4|lo != sum {
		return 0, ErrChecksum
	}
	return ID(id), nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Frame encodes id as the reader sends it (for tests and the simulated twin).
func Frame(id ID) []byte {
	var sum byte
	for i := 0; i < 5; i++ {
		sum ^= byte(id >> (8 * i))
	}
	return []byte(fmt.Sprintf("\x02%010X%02X\x03", uint64(id)&0xFFFFFFFFFF, sum))
}

// Write feeds bytes from the reader; fn is called for every new presentation.
func (d *Decoder) Write(p []byte, fn func(badge.Card)) {
	for _, c := range p {
		switch {
		case c == stx:
			if d.in {
				d.Stats.Noise++ // a frame cut short: start again here
			}
			d.in, d.n = true, 0
		case !d.in:
			d.Stats.Noise++
		case d.n < frameBody:
			if _, ok := hexVal(c); !ok {
				d.Stats.Noise++
				d.in = false
				continue
			}
			d.body[d.n] = c
			d.n++
		default: // the byte after the body must be etx
			d.in = false
			if c != etx {
				d.Stats.Noise++
				continue
			}
			id, err := parseBody(d.body[:])
			if err != nil {
				d.Stats.Checksum++
				continue
			}
			d.Stats.Frames++
			now := time.Now
			if d.Now != nil {
				now = d.Now
			}
			at := now()
			num := id.String()
			if d.Presence.New(num, at) {
				fn(badge.Card{Number: num, Format: "em4100", At: at})
			}
		}
	}
}

// Decode reads r until it ends (io.EOF: nil) or fails, calling fn for every
// presentation.
func (d *Decoder) Decode(r io.Reader, fn func(badge.Card)) error {
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		d.Write(buf[:n], fn)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
