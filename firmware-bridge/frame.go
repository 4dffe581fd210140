package bridge

import (
	"encoding/binary"
	"fmt"
)

// Version is the protocol version this package speaks.
const Version = 1

// Frame bounds (PROTOCOL.md "Frames").
const (
	MaxPayload = 48
	headerLen  = 3
	crcLen     = 2
	MaxFrame   = headerLen + MaxPayload + crcLen // 53
	// MaxEncoded is the longest COBS encoding of a frame, without its 0x00.
	MaxEncoded = MaxFrame + 1
)

// Type is a message type.
type Type byte

const (
	THello     Type = 0x01
	THeartbeat Type = 0x02
	TZone      Type = 0x03
	TLock      Type = 0x04
	TError     Type = 0x05
	TAck       Type = 0x06
	TUnlock    Type = 0x10
	TRelay     Type = 0x11
	TSync      Type = 0x12
)

// spec is what a type's frames look like.
type spec struct {
	name      string
	length    int
	sequenced bool
}

var specs = map[Type]spec{
	THello:     {"HELLO", 10, true},
	THeartbeat: {"HEARTBEAT", 12, false},
	TZone:      {"ZONE", 4, true},
	TLock:      {"LOCK", 3, true},
	TError:     {"ERROR", 4, true},
	TAck:       {"ACK", 1, false},
	TUnlock:    {"UNLOCK", 3, true},
	TRelay:     {"RELAY", 2, true},
	TSync:      {"SYNC", 0, false},
}

func (t Type) String() string {
	if s, ok := specs[t]; ok {
		return s.name
	}
	return fmt.Sprintf("type 0x%02X", byte(t))
}

// Sequenced tells whether frames of the type carry a seq and are
// acknowledged.
func (t Type) Sequenced() bool { return specs[t].sequenced }

// Frame is one message on the line.
type Frame struct {
	Type    Type
	Seq     byte
	Payload []byte
}

func (f Frame) String() string { return fmt.Sprintf("%s seq %d % X", f.Type, f.Seq, f.Payload) }

// Raw is the frame's bytes with its CRC, before COBS.
func (f Frame) Raw() []byte {
	b := make([]byte, 0, headerLen+len(f.Payload)+crcLen)
	b = append(b, Version, byte(f.Type), f.Seq)
	b = append(b, f.Payload...)
	return binary.BigEndian.AppendUint16(b, CRC16(b))
}

// Encode is the frame as sent: COBS, then 0x00.
func (f Frame) Encode() []byte {
	return append(cobsEncode(make([]byte, 0, MaxEncoded+1), f.Raw()), 0)
}

// FrameError says why bytes are not a frame; Kind is what the receivers
// count.
type FrameError struct {
	Kind   ErrorKind
	Detail string
}

// ErrorKind sorts the frames a receiver refuses.
type ErrorKind int

const (
	BadFrame ErrorKind = iota // COBS, length, version, unknown type
	BadCRC
)

func (e *FrameError) Error() string {
	if e.Kind == BadCRC {
		return "bridge: bad CRC: " + e.Detail
	}
	return "bridge: bad frame: " + e.Detail
}

// Decode reads one frame from its COBS encoding (without the 0x00), checking
// the CRC, the version, the type and the payload's length.
func Decode(enc []byte) (Frame, error) {
	if len(enc) > MaxEncoded {
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("%d bytes encoded, more than %d", len(enc), MaxEncoded)}
	}
	raw, err := cobsDecode(enc)
	if err != nil {
		return Frame{}, &FrameError{BadFrame, err.Error()}
	}
	return Parse(raw)
}

// Parse reads one frame from its raw bytes (CRC included).
func Parse(raw []byte) (Frame, error) {
	if len(raw) < headerLen+crcLen {
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("%d bytes, shorter than a frame", len(raw))}
	}
	body := raw[:len(raw)-crcLen]
	if got, want := binary.BigEndian.Uint16(raw[len(body):]), CRC16(body); got != want {
		return Frame{}, &FrameError{BadCRC, fmt.Sprintf("got %04X, computed %04X", got, want)}
	}
	if raw[0] != Version {
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("version %d, want %d", raw[0], Version)}
	}
	f := Frame{Type: Type(raw[1]), Seq: raw[2], Payload: append([]byte(nil), body[headerLen:]...)}
	s, ok := specs[f.Type]
	switch {
	case !ok:
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("unknown %v", f.Type)}
	case len(f.Payload) != s.length:
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("%v with %d bytes of payload, want %d", f.Type, len(f.Payload), s.length)}
	case s.sequenced != (f.Seq != 0):
		return Frame{}, &FrameError{BadFrame, fmt.Sprintf("%v with seq %d", f.Type, f.Seq)}
	}
	return f, nil
}

// Splitter cuts a byte stream into encoded frames at each 0x00. Noise and
// overlong runs are thrown away up to the next 0x00 and reported once.
type Splitter struct {
	buf      []byte
	overlong bool
}

// Feed consumes b and calls frame for every complete encoded frame (err
// non-nil for one that was too long).
func (s *Splitter) Feed(b []byte, frame func(enc []byte, err error)) {
	for _, c := range b {
		if c != 0 {
			if len(s.buf) < MaxEncoded {
				s.buf = append(s.buf, c)
			} else {
				s.overlong = true
			}
			continue
		}
		switch {
		case s.overlong:
			frame(nil, &FrameError{BadFrame, "more than 54 bytes before a delimiter"})
		case len(s.buf) > 0: // an empty run between two 0x00 is line idle, not a frame
			frame(s.buf, nil)
		}
		s.buf, s.overlong = s.buf[:0], false
	}
}
