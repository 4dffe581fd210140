package bridge

import "github.com/roomguard/roomguard/devices/crc16"

// CRC16 is a frame's CRC: CRC-16/CCITT-FALSE (check value 0x29B1).
func CRC16(b []byte) uint16 { return crc16.CCITT(b) }
