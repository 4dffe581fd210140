package bridge

import (
	"encoding/binary"
	"fmt"
)

// ZoneState is a supervised zone's state (PROTOCOL.md "Zones").
type ZoneState byte

const (
	ZoneNormal ZoneState = iota
	ZoneAlarm
	ZoneTamperShort
	ZoneTamperCut
	ZoneFault
)

var zoneNames = []string{"normal", "alarm", "tamper-short", "tamper-cut", "fault"}

func (s ZoneState) String() string {
	if int(s) < len(zoneNames) {
		return zoneNames[s]
	}
	return fmt.Sprintf("zone state %d", byte(s))
}

// LockState is a safe lock's state.
type LockState byte

const (
	LockLocked LockState = iota
	LockUnlocked
	LockOpen
	LockJammed
	LockTamper
)

var lockNames = []string{"locked", "unlocked", "open", "jammed", "tamper"}

func (s LockState) String() string {
	if int(s) < len(lockNames) {
		return lockNames[s]
	}
	return fmt.Sprintf("lock state %d", byte(s))
}

// Hello is what a board says when it starts or is asked to SYNC.
type Hello struct {
	Proto, FWMajor, FWMinor, Caps byte
	Zones, Locks, Relays          byte
	Reset                         byte // reset cause: bit 0 power-on, 1 external, 2 brown-out, 3 watchdog
	Boots                         uint16
}

// Reset causes (the ATmega328P's MCUSR bits).
const (
	ResetPowerOn  = 1 << 0
	ResetExternal = 1 << 1
	ResetBrownOut = 1 << 2
	ResetWatchdog = 1 << 3
)

// ResetCause says the reset cause in words.
func (h Hello) ResetCause() string {
	var out []string
	for i, w := range []string{"power-on", "external", "brown-out", "watchdog"} {
		if h.Reset&(1<<i) != 0 {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return "unknown"
	}
	return fmt.Sprint(out)
}

// Heartbeat is a board's periodic sign of life, with its counters.
type Heartbeat struct {
	UptimeMS                    uint32
	BadCRC, BadFrame, Dup, Retx uint16
}

// Zone is a zone's new state.
type Zone struct {
	Zone  byte
	State ZoneState
	ADC   uint16
}

// Lock is a lock's new state.
type Lock struct {
	Lock       byte
	State      LockState
	BatteryLow bool
}

// BoardError is the board refusing a frame.
type BoardError struct {
	Code, RefType, RefSeq, Detail byte
}

// Board error codes.
const (
	ErrUnknownType = 1
	ErrBadLength   = 2
	ErrNoSuch      = 3
	ErrBadValue    = 4
	ErrBusy        = 5
)

func (e BoardError) Error() string {
	what := map[byte]string{ErrUnknownType: "unknown type", ErrBadLength: "bad length", ErrNoSuch: "no such zone, lock or relay",
		ErrBadValue: "bad value", ErrBusy: "busy"}[e.Code]
	if what == "" {
		what = fmt.Sprintf("error %d", e.Code)
	}
	return fmt.Sprintf("bridge: the board refused %v seq %d: %s (detail %d)", Type(e.RefType), e.RefSeq, what, e.Detail)
}

// Unlock bounds (PROTOCOL.md "Messages").
const (
	MinUnlockMS = 100
	MaxUnlockMS = 10000
)

// The frames of each message; seq is set by the Link.

func (h Hello) Frame() Frame {
	p := []byte{h.Proto, h.FWMajor, h.FWMinor, h.Caps, h.Zones, h.Locks, h.Relays, h.Reset}
	return Frame{Type: THello, Payload: binary.BigEndian.AppendUint16(p, h.Boots)}
}

func (h Heartbeat) Frame() Frame {
	p := binary.BigEndian.AppendUint32(nil, h.UptimeMS)
	for _, v := range []uint16{h.BadCRC, h.BadFrame, h.Dup, h.Retx} {
		p = binary.BigEndian.AppendUint16(p, v)
	}
	return Frame{Type: THeartbeat, Payload: p}
}

func (z Zone) Frame() Frame {
	return Frame{Type: TZone, Payload: binary.BigEndian.AppendUint16([]byte{z.Zone, byte(z.State)}, z.ADC)}
}

func (l Lock) Frame() Frame {
	var flags byte
	if l.BatteryLow {
		flags = 1
	}
	return Frame{Type: TLock, Payload: []byte{l.Lock, byte(l.State), flags}}
}

func (e BoardError) Frame() Frame {
	return Frame{Type: TError, Payload: []byte{e.Code, e.RefType, e.RefSeq, e.Detail}}
}

// AckFrame acknowledges seq.
func AckFrame(seq byte) Frame { return Frame{Type: TAck, Payload: []byte{seq}} }

// UnlockFrame releases a lock for ms milliseconds.
func UnlockFrame(lock byte, ms uint16) Frame {
	return Frame{Type: TUnlock, Payload: binary.BigEndian.AppendUint16([]byte{lock}, ms)}
}

// RelayFrame switches a relay.
func RelayFrame(relay byte, on bool) Frame {
	var v byte
	if on {
		v = 1
	}
	return Frame{Type: TRelay, Payload: []byte{relay, v}}
}

// SyncFrame asks the board to start over: HELLO, then every state.
func SyncFrame() Frame { return Frame{Type: TSync} }

// Message reads a checked frame's payload as its message: Hello,
// Heartbeat, Zone, Lock, BoardError, or for the other types the frame.
func (f Frame) Message() any {
	p := f.Payload
	switch f.Type {
	case THello:
		return Hello{Proto: p[0], FWMajor: p[1], FWMinor: p[2], Caps: p[3], Zones: p[4], Locks: p[5], Relays: p[6], Reset: p[7],
			Boots: binary.BigEndian.Uint16(p[8:])}
	case THeartbeat:
		return Heartbeat{UptimeMS: binary.BigEndian.Uint32(p), BadCRC: binary.BigEndian.Uint16(p[4:]),
			BadFrame: binary.BigEndian.Uint16(p[6:]), Dup: binary.BigEndian.Uint16(p[8:]), Retx: binary.BigEndian.Uint16(p[10:])}
	case TZone:
		return Zone{Zone: p[0], State: ZoneState(p[1]), ADC: binary.BigEndian.Uint16(p[2:])}
	case TLock:
		return Lock{Lock: p[0], State: LockState(p[1]), BatteryLow: p[2]&1 != 0}
	case TError:
		return BoardError{Code: p[0], RefType: p[1], RefSeq: p[2], Detail: p[3]}
	}
	return f
}
