// Package modbus reads Modbus RTU devices on a serial line (RS-485 through
// a USB adapter): the function a climate sensor needs, Read Input
// Registers (04), and the temperature and humidity sensor sold for
// cabinets and server rooms as the XY-MD02 (SHT20 inside; 9600 8N1,
// address 1; input register 1 the temperature in tenths of a degree,
// signed, register 2 the relative humidity in tenths of a percent), which
// many others copy register for register.
//
// A frame is the address, the function, its data and the CRC-16/MODBUS,
// low byte first:
//
//	01 04 00 01 00 02 20 0B             read 2 input registers from 1
//	01 04 04 01 0F 02 1C xx xx          27.1 °C, 54.0 % RH
//	01 84 02 xx xx                      exception 2: no such register
package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/roomguard/roomguard/devices/crc16"
)

// ReadInput is the Read Input Registers function.
const ReadInput = 0x04

// Request is the frame reading count input registers from start at addr.
func Request(addr byte, start, count uint16) []byte {
	b := []byte{addr, ReadInput, byte(start >> 8), byte(start), byte(count >> 8), byte(count)}
	return binary.LittleEndian.AppendUint16(b, crc16.Modbus(b))
}

// Exception is a device's refusal (function | 0x80, and a code).
type Exception struct{ Code byte }

func (e *Exception) Error() string {
	why := map[byte]string{1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "device failure", 6: "device busy"}[e.Code]
	if why == "" {
		why = "unknown"
	}
	return fmt.Sprintf("modbus: exception %d (%s)", e.Code, why)
}

// ErrCRC is a frame whose CRC is wrong: noise on the line.
var ErrCRC = errors.New("modbus: bad CRC")

// Response decodes the answer of addr to a read of count input registers:
// the registers, an *Exception, or an error naming what is wrong. need is
// how many bytes a frame still wants before it can be judged (0: judged).
func Response(addr byte, count uint16, frame []byte) (regs []uint16, need int, err error) {
	if len(frame) < 2 {
		return nil, 2 - len(frame), nil
	}
	if frame[0] != addr {
		return nil, 0, fmt.Errorf("modbus: answer from address %d, asked %d", frame[0], addr)
	}
	switch frame[1] {
	case ReadInput:
		want := 5 + 2*int(count)
		if len(frame) < 3 {
			return nil, 1, nil
		}
		if int(frame[2]) != 2*int(count) {
			return nil, 0, fmt.Errorf("modbus: %d data bytes, asked %d registers", frame[2], count)
		}
		if len(frame) < want {
			return nil, want - len(frame), nil
		}
		if len(frame) > want {
			return nil, 0, fmt.Errorf("modbus: %d bytes after the frame", len(frame)-want)
		}
		if crc16.Modbus(frame[:want-2]) != binary.LittleEndian.Uint16(frame[want-2:]) {
			return nil, 0, ErrCRC
		}
		regs = make([]uint16, count)
		for i := range regs {
			regs[i] = binary.BigEndian.Uint16(frame[3+2*i:])
		}
		return regs, 0, nil
	case ReadInput | 0x80:
		if len(frame) < 5 {
			return nil, 5 - len(frame), nil
		}
		if len(frame) > 5 {
			return nil, 0, fmt.Errorf("modbus: %d bytes after the exception", len(frame)-5)
		}
		if crc16.Modbus(frame[:3]) != binary.LittleEndian.Uint16(frame[3:]) {
			return nil, 0, ErrCRC
		}
		return nil, 0, &Exception{Code: frame[2]}
	}
	return nil, 0, fmt.Errorf("modbus: function %#02x in the answer, asked %#02x", frame[1], ReadInput)
}

// ErrTimeout is a device that did not answer in time.
var ErrTimeout = errors.New("modbus: no answer")

// Read asks addr for count input registers from start on port and waits up
// to timeout for the whole answer. port returns (0, io.EOF) when idle, as a
// serial line with a read timeout does.
func Read(port io.ReadWriter, addr byte, start, count uint16, timeout time.Duration) ([]uint16, error) {
	if _, err := port.Write(Request(addr, start, count)); err != nil {
		return nil, fmt.Errorf("modbus: write: %w", err)
	}
	deadline := time.Now().Add(timeout)
	var frame []byte
	buf := make([]byte, 64)
	for {
		regs, need, err := Response(addr, count, frame)
		if err != nil || need == 0 {
			return regs, err
		}
		if time.Now().After(deadline) {
			return nil, ErrTimeout
		}
		n, err := port.Read(buf[:min(need, len(buf))])
		frame = append(frame, buf[:n]...)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("modbus: read: %w", err)
		}
	}
}
