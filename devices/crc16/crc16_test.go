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
	if got := crc16.Modbus(check); got != 0x4B37 {
		t.Errorf("Modbus(123456789) = %#04x, want 0x4b37", got)
	}
	// A Modbus manual's own frame: read 2 input registers from 0x0001 at
	// address 1 is 01 04 00 01 00 02, CRC 20 0B (low byte first).
	if got := crc16.Modbus([]byte{1, 4, 0, 1, 0, 2}); got != 0x0B20 {
		t.Errorf("Modbus(01 04 00 01 00 02) = %#04x, want 0x0b20", got)
	}
	if got := crc16.MCRF4XX(check); got != 0x6F91 {
		t.Errorf("MCRF4XX(123456789) = %#04x, want 0x6f91", got)
	}
	if got := crc16.CCITT(nil); got != 0xFFFF {
		t.Errorf("CCITT(empty) = %#04x, want the preset", got)
	}
}
