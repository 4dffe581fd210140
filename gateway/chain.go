package gateway

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
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
	// Key, when set, is the room's public key: every checkpoint must be
	// signed with it. Through, when set, is a head an inspector noted:
	// the chain must pass through it (Passed).
	Key     ed25519.PublicKey
	Through string
	Passed  bool
	// Checkpoints are the checkpoints verified; LastCheckpoint the seq of
	// the last one.
	Checkpoints, LastCheckpoint uint64

	First, Last uint64 // the seqs verified
	Head        string // the hash of the last event: the next one's prev
	Events      int    // chained events verified
	Unchained   int    // older events without a prev
	Restored    uint64 // seqs a restore from a backup declared lost (log.restored)
	started     bool
}

// chainFields are what the verifier reads of an event's bytes (the rest is
// covered by the hash).
type chainFields struct {
	Seq  uint64          `json:"seq"`
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Room string          `json:"room"`
	Prev string          `json:"prev"`
	Data json.RawMessage `json:"data"`
}

// Next takes the next event; nil while the chain holds.
func (v *ChainVerifier) Next(l ChainLink) *ChainBreak {
	brk := func(format string, args ...any) *ChainBreak {
		return &ChainBreak{Seq: l.Seq, Reason: fmt.Sprintf(format, args...)}
	}
	var e chainFields
	if err := json.Unmarshal(l.Payload, &e); err != nil {
		return brk("the event's bytes are not an event (%v)", err)
	}
	if e.Seq != l.Seq || e.ID != l.ID || e.Type != l.Type || e.Room != v.Room {
		return brk("the row (seq %d, id %s, type %s) differs from its bytes (seq %d, id %s, type %s, room %s): edited", l.Seq, l.ID, l.Type, e.Seq, e.ID, e.Type, e.Room)
	}
	if v.Last > 0 && l.Seq > v.Last+1 && e.Type == "log.restored" {
		var r Restored
		switch err := json.Unmarshal(e.Data, &r); {
		case err != nil:
			return brk("a restore without its data (%v)", err)
		case r.LostFrom != v.Last+1 || r.LostTo != l.Seq-1 || r.Head != e.Prev:
			return brk("a restore of seq %d–%d from head %.12s… where the chain has seq %d–%d missing after head %.12s…", r.LostFrom, r.LostTo, r.Head, v.Last+1, l.Seq-1, v.Head)
		case v.Key != nil && !r.Verify(v.Key, v.Room):
			return brk("a restore the room's key did not sign: forged to hide deleted events")
		}
		v.Restored += l.Seq - 1 - v.Last
		v.Last = l.Seq - 1 // the gap is declared: the chain goes on from the backup's head
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
	if e.Type == "log.checkpoint" {
		var c Checkpoint
		switch err := json.Unmarshal(e.Data, &c); {
		case err != nil:
			return brk("a checkpoint without its data (%v)", err)
		case c.Through != l.Seq-1 || c.Head != e.Prev:
			return brk("a checkpoint of seq %d head %.12s… where the chain has seq %d head %.12s…: the chain was recomputed, or the checkpoint moved", c.Through, c.Head, l.Seq-1, e.Prev)
		case v.Key != nil && !c.Verify(v.Key, v.Room):
			return brk("a checkpoint the room's key did not sign: forged")
		}
		v.Checkpoints++
		v.LastCheckpoint = l.Seq
	}
	if v.Through != "" && (e.Prev == v.Through || ChainHash(l.Payload) == v.Through) {
		v.Passed = true
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

// Checkpoints: the room signs its chain's head with its own key (issue 18)
// in a log.checkpoint event, so a chain recomputed after an edit no longer
// matches a signature, and an inspector who noted a head can check the log
// still passes through it.
const (
	CheckpointEvery  = 1000      // events between checkpoints at the most
	CheckpointPeriod = time.Hour // and time
)

// Checkpoint is a log.checkpoint event's data: the room's signature over
// the head of its chain through seq Through (the checkpoint's own prev).
type Checkpoint struct {
	Through uint64 `json:"through"`
	Head    string `json:"head"`
	Sig     string `json:"sig"`
}

func checkpointBytes(room string, through uint64, head string) []byte {
	return fmt.Appendf(nil, "roomguard checkpoint v1\x00%s\x00%d\x00%s", room, through, head)
}

// SignCheckpoint signs room's head through seq through with key.
func SignCheckpoint(key ed25519.PrivateKey, room string, through uint64, head string) Checkpoint {
	return Checkpoint{Through: through, Head: head, Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, checkpointBytes(room, through, head)))}
}

// Verify tells whether the checkpoint is room's, signed by key.
func (c Checkpoint) Verify(key ed25519.PublicKey, room string) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	return err == nil && len(key) == ed25519.PublicKeySize && ed25519.Verify(key, checkpointBytes(room, c.Through, c.Head), sig)
}

// Restored is a log.restored event's data: the log was restored from a
// backup whose last event was LostFrom-1 and goes on after LostTo. The seqs
// between were logged (and maybe published) before the loss and are never
// used again; the room signs the range and the head it continues from (its
// prev), so a gap in the chain is a declared restore and not a deletion.
// LostTo < LostFrom: nothing was lost.
type Restored struct {
	Backup   string `json:"backup"`
	LostFrom uint64 `json:"lost_from"`
	LostTo   uint64 `json:"lost_to"`
	Head     string `json:"head"`
	Sig      string `json:"sig"`
}

func restoredBytes(room, backup string, from, to uint64, head string) []byte {
	return fmt.Appendf(nil, "roomguard restored v1\x00%s\x00%s\x00%d\x00%d\x00%s", room, backup, from, to, head)
}

// SignRestored signs room's restore from backup, whose chain ended at head,
// going on after seq to.
func SignRestored(key ed25519.PrivateKey, room, backup string, from, to uint64, head string) Restored {
	return Restored{Backup: backup, LostFrom: from, LostTo: to, Head: head,
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, restoredBytes(room, backup, from, to, head)))}
}

// Verify tells whether the restore is room's, signed by key.
func (r Restored) Verify(key ed25519.PublicKey, room string) bool {
	sig, err := base64.StdEncoding.DecodeString(r.Sig)
	return err == nil && len(key) == ed25519.PublicKeySize && ed25519.Verify(key, restoredBytes(room, r.Backup, r.LostFrom, r.LostTo, r.Head), sig)
}

// Below is the seq of the event the chain continues from under an event of
// type typ at seq with data: the one before it, or for a log.restored the
// backup's last.
func Below(seq uint64, typ string, data []byte) uint64 {
	if typ == "log.restored" {
		var r Restored
		if json.Unmarshal(data, &r) == nil && r.LostFrom > 0 && r.LostFrom <= seq {
			return r.LostFrom - 1
		}
	}
	return seq - 1
}
