// Package modbussim is a simulated XY-MD02 temperature and humidity sensor
// on the device side of a serial line: it answers Read Input Registers at
// its address with what it was set to measure, so the real driver runs
// against real frames.
package modbussim

import (
	"encoding/binary"
	"io"
	"math"
	"sync"

	"github.com/roomguard/roomguard/devices/crc16"
	"github.com/roomguard/roomguard/devices/modbus"
)

// Sensor is one simulated sensor.
type Sensor struct {
	addr byte
	rw   io.ReadWriter

	mu          sync.Mutex
	temperature float64
	humidity    float64
	silent      bool
}

// New returns a sensor at addr on rw, reading 22 °C and 50 % RH.
func New(addr byte, rw io.ReadWriter) *Sensor {
	return &Sensor{addr: addr, rw: rw, temperature: 22, humidity: 50}
}

// Set makes the sensor measure temperature (°C) and humidity (% RH).
func (s *Sensor) Set(temperature, humidity float64) {
	s.mu.Lock()
	s.temperature, s.humidity = temperature, humidity
	s.mu.Unlock()
}

// Silence makes the sensor stop answering (true) or answer again.
func (s *Sensor) Silence(on bool) {
	s.mu.Lock()
	s.silent = on
	s.mu.Unlock()
}

// Serve answers requests until the line fails.
func (s *Sensor) Serve() error {
	var frame []byte
	buf := make([]byte, 64)
	for {
		n, err := s.rw.Read(buf)
		if err != nil && err != io.EOF {
			return err
		}
		frame = append(frame, buf[:n]...)
		for len(frame) >= 8 {
			req := frame[:8]
			if crc16.Modbus(req[:6]) != binary.LittleEndian.Uint16(req[6:]) {
				frame = frame[1:] // not a frame's start: slide
				continue
			}
			frame = frame[8:]
			if answer := s.answer(req); answer != nil {
				if _, err := s.rw.Write(answer); err != nil {
					return err
				}
			}
		}
	}
}

// answer is the response to one request (nil: none, not ours or silent).
func (s *Sensor) answer(req []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req[0] != s.addr || s.silent {
		return nil
	}
	start, count := binary.BigEndian.Uint16(req[2:]), binary.BigEndian.Uint16(req[4:])
	regs := map[uint16]uint16{
		1: uint16(int16(math.Round(s.temperature * 10))),
		2: uint16(math.Round(s.humidity * 10)),
	}
	out := []byte{s.addr, req[1]}
	if req[1] != modbus.ReadInput {
		out = append([]byte{s.addr, req[1] | 0x80}, 1)
	} else {
		data := []byte{byte(2 * count)}
		for r := start; r < start+count; r++ {
			v, ok := regs[r]
			if !ok || count > 125 {
				data = nil
				break
			}
			data = binary.BigEndian.AppendUint16(data, v)
		}
		if data == nil {
			out = []byte{s.addr, req[1] | 0x80, 2}
		} else {
			out = append(out, data...)
		}
	}
	return binary.LittleEndian.AppendUint16(out, crc16.Modbus(out))
}
