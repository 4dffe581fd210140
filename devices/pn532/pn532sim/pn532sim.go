// Package pn532sim is a simulated PN532 on the far end of a serial line: it
// answers the commands the pn532 driver sends, with a card in its field or
// none. The simulated room and the tests run the real driver against it.
package pn532sim

import (
	"bytes"
	"io"
	"sync"

	"github.com/roomguard/roomguard/devices/pn532"
)

// Chip is a simulated PN532.
type Chip struct {
	rw io.ReadWriter

	mu     sync.Mutex
	uid    []byte // the card in the field; nil: none
	silent bool
	// Commands counts the commands received, by code.
	Commands map[byte]int
}

// New returns a chip talking over rw; Serve runs it.
func New(rw io.ReadWriter) *Chip { return &Chip{rw: rw, Commands: map[byte]int{}} }

// Present puts a card with uid in the field (nil takes it away).
func (c *Chip) Present(uid []byte) {
	c.mu.Lock()
	c.uid = append([]byte(nil), uid...)
	if uid == nil {
		c.uid = nil
	}
	c.mu.Unlock()
}

// Remove takes the card with uid out of the field, if it is still the one
// there (a card presented after it stays).
func (c *Chip) Remove(uid []byte) {
	c.mu.Lock()
	if bytes.Equal(c.uid, uid) {
		c.uid = nil
	}
	c.mu.Unlock()
}

// Card is the UID of the card in the field (nil: none).
func (c *Chip) Card() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.uid...)
}

// Silence makes the chip stop answering (a dead or unpowered board), or
// answer again.
func (c *Chip) Silence(on bool) {
	c.mu.Lock()
	c.silent = on
	c.mu.Unlock()
}

// Count returns how many times cmd was received.
func (c *Chip) Count(cmd byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Commands[cmd]
}

// Serve answers commands until the line fails or ends.
func (c *Chip) Serve() error {
	var p pn532.Parser
	buf := make([]byte, 256)
	for {
		n, err := c.rw.Read(buf)
		for _, b := range buf[:n] {
			f, ok := p.Feed(b)
			if !ok || f.Kind != pn532.Data || f.TFI != pn532.HostToPN532 || len(f.Data) == 0 {
				continue
			}
			if err := c.answer(f.Data[0], f.Data[1:]); err != nil {
				return err
			}
		}
		if err != nil {
			if err == io.EOF {
				continue // an idle serial read
			}
			return err
		}
	}
}

func (c *Chip) answer(cmd byte, params []byte) error {
	c.mu.Lock()
	silent, uid := c.silent, c.uid
	c.Commands[cmd]++
	c.mu.Unlock()
	if silent {
		return nil
	}
	var resp []byte
	switch cmd {
	case pn532.CmdSAMConfiguration, pn532.CmdRFConfiguration:
	case pn532.CmdGetFirmwareVersion:
		resp = []byte{0x32, 0x01, 0x06, 0x07} // PN532 v1.6, ISO 14443A/B and 18092
	case pn532.CmdInListPassiveTarget:
		if uid == nil {
			resp = []byte{0x00}
			break
		}
		sens := []byte{0x00, 0x04, 0x08} // MIFARE Classic 1K
		if len(uid) == 7 {
			sens = []byte{0x00, 0x44, 0x00} // MIFARE Ultralight
		}
		resp = append(append([]byte{0x01, 0x01}, sens...), byte(len(uid)))
		resp = append(resp, uid...)
	default:
		_, err := c.rw.Write(append(pn532.AckFrame(), pn532.ErrorFrame()...))
		return err
	}
	f, _ := pn532.Encode(pn532.PN532ToHost, append([]byte{cmd + 1}, resp...))
	_, err := c.rw.Write(append(pn532.AckFrame(), f...))
	return err
}
