package wiegand

import (
	"fmt"
	"strconv"

	"github.com/roomguard/roomguard/devices/badge"
)

// Format is one Wiegand card format.
type Format struct {
	Name             string
	Bits             int
	FC, FCLen        int // first bit and length of the facility code
	CN, CNLen        int // first bit and length of the card number
	EvenFrom, EvenTo int // bit 0 makes bits EvenFrom..EvenTo even
	OddFrom, OddTo   int // the last bit makes bits OddFrom..OddTo odd
}

// Formats are the formats read, by length.
var Formats = map[int]Format{
	26: {Name: "h10301", Bits: 26, FC: 1, FCLen: 8, CN: 9, CNLen: 16, EvenFrom: 1, EvenTo: 12, OddFrom: 13, OddTo: 24},
	34: {Name: "h10306", Bits: 34, FC: 1, FCLen: 16, CN: 17, CNLen: 16, EvenFrom: 1, EvenTo: 16, OddFrom: 17, OddTo: 32},
	37: {Name: "h10304", Bits: 37, FC: 1, FCLen: 16, CN: 17, CNLen: 19, EvenFrom: 1, EvenTo: 18, OddFrom: 18, OddTo: 35},
}

// Credential is a decoded frame.
type Credential struct {
	Format   string
	Facility uint32
	Card     uint32
}

// Number is the canonical card number, "<facility>:<card>".
func (c Credential) Number() string {
	return strconv.FormatUint(uint64(c.Facility), 10) + ":" + strconv.FormatUint(uint64(c.Card), 10)
}

// Decode decodes a frame, one byte (0 or 1) per bit in the order sent.
func Decode(bits []byte) (Credential, error) {
	f, ok := Formats[len(bits)]
	if !ok {
		return Credential{}, fmt.Errorf("wiegand: %d bits is no known format (26, 34, 37)", len(bits))
	}
	for i, b := range bits {
		if b > 1 {
			return Credential{}, fmt.Errorf("wiegand: bit %d is %d", i, b)
		}
	}
	if ones(bits[f.EvenFrom:f.EvenTo+1])%2 != int(bits[0]) {
		return Credential{}, fmt.Errorf("wiegand: %s: even parity error", f.Name)
	}
	if (ones(bits[f.OddFrom:f.OddTo+1])+1)%2 != int(bits[f.Bits-1]) {
		return Credential{}, fmt.Errorf("wiegand: %s: odd parity error", f.Name)
	}
	return Credential{Format: f.Name, Facility: field(bits, f.FC, f.FCLen), Card: field(bits, f.CN, f.CNLen)}, nil
}

// Encode builds the frame of a credential (for tests and the simulated twin).
func Encode(format string, facility, card uint32) ([]byte, error) {
	for _, f := range Formats {
		if f.Name != format {
			continue
		}
		if facility >= 1<<f.FCLen || card >= 1<<f.CNLen {
			return nil, fmt.Errorf("wiegand: %s holds facility < %d and card < %d", format, 1<<f.FCLen, 1<<f.CNLen)
		}
		bits := make([]byte, f.Bits)
		put(bits, f.FC, f.FCLen, facility)
		put(bits, f.CN, f.CNLen, card)
		bits[0] = byte(ones(bits[f.EvenFrom:f.EvenTo+1]) % 2)
		bits[f.Bits-1] = byte((ones(bits[f.OddFrom:f.OddTo+1]) + 1) % 2)
		return bits, nil
	}
	return nil, fmt.Errorf("wiegand: no format %q", format)
}

// badgeCard is the credential as a badge.Card (At is set by the receiver).
func (c Credential) badgeCard() badge.Card { return badge.Card{Number: c.Number(), Format: c.Format} }

func ones(bits []byte) int {
	n := 0
	for _, b := range bits {
		n += int(b)
	}
	return n
}

func field(bits []byte, from, n int) uint32 {
	var v uint32
	for _, b := range bits[from : from+n] {
		v = v<<1 | uint32(b)
	}
	return v
}

func put(bits []byte, from, n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		bits[from+i] = byte(v & 1)
		v >>= 1
	}
}

// ParseBits reads a frame written as a string of 0 and 1.
func ParseBits(s string) ([]byte, error) {
	bits := make([]byte, len(s))
	for i := range s {
		switch s[i] {
		case '0', '1':
			bits[i] = s[i] - '0'
		default:
			return nil, fmt.Errorf("wiegand: %q: character %d is not 0 or 1", s, i+1)
		}
	}
	return bits, nil
}
