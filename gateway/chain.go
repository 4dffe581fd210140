package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Genesis is the prev of a room's first event.
func Genesis(room string) string {
	h := sha256.Sum256([]byte("roomguard genesis " + room))
	return hex.EncodeToString(h[:])
}

// ChainHash is the prev of the event after the one published as payload.
func ChainHash(payload []byte) string {
	h := sha256.Sum256(payload)
	return hex.EncodeToString(h[:])
}

// ChainLink is one event of a log as stored: its row's seq, id and type
// and the bytes published.
type ChainLink struct {
	Seq      uint64
	ID, Type string
	Payload  []byte
}

// ChainBreak is the first place a log's chain does not hold.
type ChainBreak struct {
	Seq    uint64
	Reason string
}

func (b *ChainBreak) Error() string { return fmt.Sprintf("seq %d: %s", b.Seq, b.Reason) }

// ChainVerifier walks a room's log in seq order and says where its chain
// first breaks: an event edited (its bytes, or its row against them),
// deleted (a seq missing), inserted or reordered (a prev that is not the
// hash of the event before). The events logged before the chain existed
// (no prev) may only come first; a log whose oldest events were pruned is
// verified from the first one left.
type ChainVerifier struct {
	Room string

	First, Last uint64 // the seqs verified
	Head        string // the hash of the last event: the next one's prev
	Events      int    // chained events verified
	Unchained   int    // older events without a prev
	started     bool
}

// Next takes the next event; nil while the chain holds.
func (v *ChainVerifier) Next(l ChainLink) *ChainBreak {
	brk := func(format string, args ...any) *ChainBreak {
		return &ChainBreak{Seq: l.Seq, Reason: fmt.Sprintf(format, args...)}
	}
	var e Event
	if err := e.UnmarshalJSON(bytes.TrimSpace(l.Payload)); err != nil {
		return brk("the event's bytes are not an event (%v)", err)
	}
	if e.Seq != l.Seq || e.ID != l.ID || e.Type != l.Type || e.Room != v.Room {
		return brk("the row (seq %d, id %s, type %s) differs from its bytes (seq %d, id %s, type %s, room %s): edited", l.Seq, l.ID, l.Type, e.Seq, e.ID, e.Type, e.Room)
	}
	if v.Last > 0 && l.Seq != v.Last+1 {
		if l.Seq <= v.Last {
			return brk("comes after seq %d: reordered or inserted", v.Last)
		}
		return brk("seq %d to %d are missing: deleted", v.Last+1, l.Seq-1)
	}
	switch {
	case e.Prev == "" && v.started:
		return brk("no prev after chained events: inserted or edited")
	case e.Prev == "":
		v.Unchained++
	case !v.started && l.Seq == 1 && e.Prev != Genesis(v.Room):
		return brk("the first event does not start from the room's genesis")
	case !v.started && v.Last == 0:
		v.started = true // the oldest left: what came before was pruned
	case e.Prev != v.Head:
		return brk("its prev is not the hash of seq %d: that one was edited, or this one inserted or reordered", v.Last)
	}
	if e.Prev != "" {
		v.started = true
		v.Events++
	}
	if v.First == 0 {
		v.First = l.Seq
	}
	v.Last, v.Head = l.Seq, ChainHash(l.Payload)
	return nil
}
