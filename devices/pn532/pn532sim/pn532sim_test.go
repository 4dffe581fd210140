package pn532sim_test

import (
	"bytes"
	"testing"

	"github.com/roomguard/roomguard/devices/pn532/pn532sim"
)

// A card shown right after another stays in the field when the first is
// taken away (issue 28: the simulated day, two people badging out one
// after the other, lost the second's badge, and the room could not arm).
func TestRemoveTakesOnlyItsCard(t *testing.T) {
	c := pn532sim.New(&bytes.Buffer{})
	first, second := []byte{0x04, 0xA2, 0x24, 0xE2}, []byte{0x04, 0xA2, 0x24, 0xE5}
	c.Present(first)
	c.Present(second)
	c.Remove(first)
	if !bytes.Equal(c.Card(), second) {
		t.Fatalf("the second card was taken away with the first: %x", c.Card())
	}
	c.Remove(second)
	if c.Card() != nil {
		t.Fatalf("a card left in the field: %x", c.Card())
	}
}
