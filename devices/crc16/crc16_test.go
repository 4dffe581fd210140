package crc16_test

import (
	"testing"

	"github.com/roomguard/roomguard/devices/crc16"
)

// The catalogue's check values: a wrong polynomial, preset, reflection or
// final xor changes them.
func TestCheckValues(t *testing.T) {
	check := []byte("123456789")
	if got := crc16.CCITT(check); got != 0x29B1 {
		t.Errorf("CCITT(123456789) = %#04x, want 0x29b1", got)
	}
	if got := crc16.MCRF4XX(check); got != 0x6F91 {
		t.Errorf("MCRF4XX(123456789) = %#04x, want 0x6f91", got)
	}
	if got := crc16.CCITT(nil); got != 0xFFFF {
		t.Errorf("CCITT(empty) = %#04x, want the preset", got)
	}
}
