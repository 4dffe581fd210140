// Package crc16 holds the CRC-16s the room's wires use, one place each:
// CCITT-FALSE (the firmware bridge's frames, and, inverted, the CRC an EPC
// Gen2 tag stores), MCRF4XX (the Chafon UHF readers' frames) and MODBUS
// (the climate sensors' Modbus RTU frames).
package crc16

// CCITT is CRC-16/CCITT-FALSE: polynomial 0x1021, preset 0xFFFF, not
// reflected, no final xor. Check value ("123456789"): 0x29B1.
func CCITT(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// MCRF4XX is CRC-16/MCRF4XX: polynomial 0x1021 reflected (0x8408), preset
// 0xFFFF, no final xor. Check value ("123456789"): 0x6F91.
func MCRF4XX(b []byte) uint16 { return reflected(b, 0x8408) }

// Modbus is CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), preset
// 0xFFFF, no final xor; sent low byte first. Check value ("123456789"):
// 0x4B37.
func Modbus(b []byte) uint16 { return reflected(b, 0xA001) }

// reflected is a reflected CRC-16 of poly (already reflected), preset
// 0xFFFF, no final xor.
func reflected(b []byte, poly uint16) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
