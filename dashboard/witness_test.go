package dashboard_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/gateway"
)

// chainOf makes a room's log of n chained events (index 0 is seq 1).
func chainOf(room string, n int, typ string) [][]byte {
	var out [][]byte
	prev := gateway.Genesis(room)
	for i := 1; i <= n; i++ {
		e := gateway.Event{Seq: uint64(i), ID: fmt.Sprintf("%s-%d", typ, i), TS: time.Unix(int64(i), 0), Room: room, Type: typ, Prev: prev}
		b, _ := json.Marshal(e)
		out = append(out, b)
		prev = gateway.ChainHash(b)
	}
	return out
}

// witnessRig is a witness over an in-memory replica.
type witnessRig struct {
	t       *testing.T
	w       *dashboard.Witness
	held    map[uint64][]byte
	forged  []dashboard.Forgery
	takenAt []uint64
}

func newWitnessRig(t *testing.T) *witnessRig {
	r := &witnessRig{t: t, held: map[uint64][]byte{}}
	r.w = dashboard.NewWitness(func() uint64 { return uint64(len(r.held)) + 10 }, func(seq uint64) (string, string, bool, error) {
		b, ok := r.held[seq]
		if !ok {
			return "", "", false, nil
		}
		var e gateway.Event
		json.Unmarshal(b, &e)
		return gateway.ChainHash(b), e.Prev, true, nil
	})
	return r
}

func (r *witnessRig) took(take []dashboard.Message, forged []dashboard.Forgery, err error) {
	if err != nil {
		r.t.Fatal(err)
	}
	for _, m := range take {
		r.held[m.Seq] = m.Payload
		r.takenAt = append(r.takenAt, m.Seq)
	}
	r.w.Stored()
	r.forged = append(r.forged, forged...)
}

func (r *witnessRig) event(b []byte, now time.Time) {
	var e gateway.Event
	json.Unmarshal(b, &e)
	r.took(r.w.Event(&e, b, now))
}

func (r *witnessRig) anchor(log [][]byte, seq uint64) {
	r.took(r.w.Anchor(seq, gateway.ChainHash(log[seq-1])))
}

func (r *witnessRig) expect(taken string, forged int) {
	r.t.Helper()
	if got := fmt.Sprint(r.takenAt); got != taken || len(r.forged) != forged {
		r.t.Fatalf("taken %s (want %s), forged %d (want %d): %+v", got, taken, len(r.forged), forged, r.forged)
	}
}

func TestWitnessBelievesOnlyWhatTheRoomSigned(t *testing.T) {
	log := chainOf("r1", 6, "door.opened")
	fake := chainOf("r1", 6, "door.closed") // anyone can chain: same prevs, other events
	now := time.Unix(1000, 0)

	t.Run("events wait for the head", func(t *testing.T) {
		r := newWitnessRig(t)
		r.event(log[0], now)
		r.event(log[1], now)
		r.expect("[]", 0)
		r.anchor(log, 2)
		r.expect("[1 2]", 0)
	})
	t.Run("a head before its event", func(t *testing.T) {
		r := newWitnessRig(t)
		r.event(log[0], now)
		r.anchor(log, 2)
		r.expect("[]", 0)
		if !r.w.Expecting() {
			t.Fatal("the head's event is not awaited")
		}
		r.event(log[1], now)
		r.expect("[1 2]", 0)
	})
	t.Run("a forged next event never displaces the real one", func(t *testing.T) {
		r := newWitnessRig(t)
		r.event(log[0], now)
		r.anchor(log, 1)
		// the forgery's prev is right: the hash of seq 1, which it saw
		forged := chainOf("r1", 2, "door.opened")[1]
		var e gateway.Event
		json.Unmarshal(forged, &e)
		e.Type, e.ID = "alarm.raised", "forged"
		forged, _ = json.Marshal(e)
		r.event(forged, now)
		r.event(log[1], now)
		r.expect("[1]", 0)
		r.anchor(log, 2)
		r.expect("[1 2]", 1)
		if r.forged[0].Seq != 2 || !strings.Contains(string(r.forged[0].Payload), "forged") {
			t.Fatalf("quarantined %+v", r.forged[0])
		}
		// and once the room's event is in, the same forgery again is quarantined at once
		r.event(forged, now)
		r.expect("[1 2]", 2)
	})
	t.Run("a forgery where the room's head is awaited", func(t *testing.T) {
		r := newWitnessRig(t)
		r.anchor(log, 3)
		r.event(fake[2], now)
		r.expect("[]", 1)
		r.event(log[2], now)
		r.event(log[1], now)
		r.event(log[0], now)
		r.expect("[3 2 1]", 1) // each as it arrives: the room vouched for it
	})
	t.Run("a gap is filled from above", func(t *testing.T) {
		r := newWitnessRig(t)
		for _, i := range []int{0, 1, 2, 4} {
			r.event(log[i], now)
		}
		r.anchor(log, 5)
		r.expect("[5]", 0)
		r.event(log[3], now)
		r.expect("[5 1 2 3 4]", 0)
	})
	t.Run("after a restart the replica vouches from above", func(t *testing.T) {
		r := newWitnessRig(t)
		r.held[5] = log[4] // held before; the witness remembers nothing
		r.event(fake[3], now)
		r.event(log[3], now)
		r.expect("[4]", 1)
	})
	t.Run("a replica that holds what the room did not sign", func(t *testing.T) {
		r := newWitnessRig(t)
		r.held[1] = fake[0] // stored before the room's key was pinned
		r.event(log[1], now)
		r.anchor(log, 2)
		r.expect("[2]", 1)
	})
	t.Run("a room restored from a backup", func(t *testing.T) {
		r := newWitnessRig(t)
		for i, b := range log[:5] { // the console holds 1-5; the room's backup ended at 3
			r.held[uint64(i+1)] = b
		}
		_, key, _ := ed25519.GenerateKey(nil)
		d, _ := json.Marshal(gateway.SignRestored(key, "r1", "b", 4, 5, gateway.ChainHash(log[2])))
		e := gateway.Event{Seq: 6, ID: "restored", Room: "r1", Type: "log.restored", Prev: gateway.ChainHash(log[2]), Data: d}
		b, _ := json.Marshal(e)
		r.event(b, now)
		r.took(r.w.Anchor(6, gateway.ChainHash(b)))
		r.expect("[6]", 0)
	})
	t.Run("a room whose log was rewritten and signed again", func(t *testing.T) {
		// Issue 27, finding 10: root on the Pi rewrote seqs 3-5 and signed
		// the new head with the room's key. The console holds the
		// original: the history forked at seq 3, both heads said.
		r := newWitnessRig(t)
		for i, b := range log[:5] {
			r.held[uint64(i+1)] = b
		}
		rewritten := [][]byte{log[0], log[1]}
		prev := gateway.ChainHash(log[1])
		for seq := uint64(3); seq <= 5; seq++ {
			e := gateway.Event{Seq: seq, ID: fmt.Sprintf("rewritten-%d", seq), Room: "r1", Type: "door.closed", Prev: prev}
			b, _ := json.Marshal(e)
			rewritten = append(rewritten, b)
			prev = gateway.ChainHash(b)
		}
		r.took(r.w.Anchor(5, gateway.ChainHash(rewritten[4])))
		if len(r.forged) != 1 || r.forged[0].Fork == nil || r.forged[0].Fork.Seq != 5 || r.forged[0].Fork.Held != gateway.ChainHash(log[4]) ||
			!strings.Contains(r.forged[0].Reason, "forked (at seq 5 or below)") {
			t.Fatalf("a rewritten log: %+v", r.forged)
		}
	})
	t.Run("a room restored over seqs the console holds", func(t *testing.T) {
		// Issue 27, finding 6: the console holds 1-5; the room's backup
		// ended at 3 and it went on at 4 (an operator's --resume-after 3):
		// its new events reuse 4 and 5. The console names it, not "stored
		// before pinning".
		r := newWitnessRig(t)
		for i, b := range log[:5] {
			r.held[uint64(i+1)] = b
		}
		_, key, _ := ed25519.GenerateKey(nil)
		d, _ := json.Marshal(gateway.SignRestored(key, "r1", "b", 4, 3, gateway.ChainHash(log[2])))
		restored := gateway.Event{Seq: 4, ID: "restored", Room: "r1", Type: "log.restored", Prev: gateway.ChainHash(log[2]), Data: d}
		rb, _ := json.Marshal(restored)
		next := gateway.Event{Seq: 5, ID: "after", Room: "r1", Type: "door.opened", Prev: gateway.ChainHash(rb)}
		nb, _ := json.Marshal(next)
		r.event(rb, now)
		r.event(nb, now)
		r.took(r.w.Anchor(6, gateway.ChainHash(nb)))
		if len(r.forged) == 0 || !strings.Contains(r.forged[0].Reason, "restored over") {
			t.Fatalf("a seq the room reused after a restore: %+v", r.forged)
		}
	})
	t.Run("the room pruned what it vouched for", func(t *testing.T) {
		r := newWitnessRig(t)
		r.event(log[3], now) // the room's oldest left: seq 4
		r.anchor(log, 4)
		r.expect("[4]", 0)
		if !r.w.Expecting() {
			t.Fatal("seq 3 is not awaited")
		}
		r.w.Forget(3) // the gateway says it no longer has 1-3
		if r.w.Expecting() {
			t.Fatal("still awaiting what was pruned: the console would ask for it forever")
		}
	})
	t.Run("what the room never vouches for", func(t *testing.T) {
		r := newWitnessRig(t)
		var e gateway.Event
		json.Unmarshal(fake[0], &e)
		e.Seq = 9_000_000_000_000_000_000
		far, _ := json.Marshal(e)
		r.event(far, now)
		r.event(log[0], now)
		r.anchor(log, 1)
		r.took(nil, r.w.Sweep(now.Add(dashboard.WitnessWait)), nil)
		r.expect("[1]", 0)
		r.took(nil, r.w.Sweep(now.Add(dashboard.WitnessWait+time.Second)), nil)
		r.expect("[1]", 1)
	})
	t.Run("a flood", func(t *testing.T) {
		r := newWitnessRig(t)
		var e gateway.Event
		json.Unmarshal(fake[0], &e)
		for i := range dashboard.WitnessPending + 10 {
			e.Seq = uint64(100 + i)
			b, _ := json.Marshal(e)
			r.event(b, now.Add(time.Duration(i)))
		}
		r.expect("[]", 10)
		if r.forged[0].Seq != 100 {
			t.Fatalf("the oldest is quarantined first: %d", r.forged[0].Seq)
		}
		r.event(log[0], now)
		r.anchor(log, 1)
		r.expect("[1]", 11) // the flood's oldest made room
	})
}
