package gateway

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// chainOf logs n events of room r as the store does: each one's prev the
// hash of the one before.
func chainOf(t *testing.T, r string, n int) []ChainLink {
	t.Helper()
	prev := Genesis(r)
	var out []ChainLink
	for i := 1; i <= n; i++ {
		e := Event{Seq: uint64(i), ID: NewEventID(time.Unix(int64(i), 0)), TS: time.Unix(int64(i), 0).UTC(), Room: r, Type: "door.opened",
			Severity: SeverityInfo, Device: "door-main", Prev: prev}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ChainLink{Seq: e.Seq, ID: e.ID, Type: e.Type, Payload: b})
		prev = ChainHash(b)
	}
	return out
}

func verify(r string, links []ChainLink) (*ChainVerifier, *ChainBreak) {
	v := &ChainVerifier{Room: r}
	for _, l := range links {
		if brk := v.Next(l); brk != nil {
			return v, brk
		}
	}
	return v, nil
}

// Issue 18: the chain holds for the log as written, and names the first
// broken link, by its seq, for each way of tampering with it.
func TestChainNamesTheFirstBrokenLink(t *testing.T) {
	good := chainOf(t, "r1", 6)
	if v, brk := verify("r1", good); brk != nil || v.Events != 6 || v.First != 1 || v.Last != 6 {
		t.Fatalf("intact chain: %+v %v", v, brk)
	}
	edit := func(l ChainLink, typ string) ChainLink {
		var m map[string]any
		json.Unmarshal(l.Payload, &m)
		m["type"] = typ
		b, _ := json.Marshal(m)
		return ChainLink{Seq: l.Seq, ID: l.ID, Type: typ, Payload: b}
	}
	cases := []struct {
		name  string
		links func() []ChainLink
		seq   uint64
		says  string
	}{
		{"an event's type edited, row and bytes", func() []ChainLink {
			l := append([]ChainLink(nil), good...)
			l[2] = edit(l[2], "door.closed")
			return l
		}, 4, "prev is not the hash of seq 3"},
		{"a row edited but not its bytes", func() []ChainLink {
			l := append([]ChainLink(nil), good...)
			l[2].Type = "door.closed"
			return l
		}, 3, "differs from its bytes"},
		{"an event deleted", func() []ChainLink { return append(append([]ChainLink(nil), good[:2]...), good[3:]...) }, 4, "seq 3 to 3 are missing"},
		{"two events swapped", func() []ChainLink {
			l := append([]ChainLink(nil), good...)
			l[2], l[3] = l[3], l[2]
			return l
		}, 4, "seq 3 to 3 are missing"},
		{"another room's log", func() []ChainLink { return chainOf(t, "r2", 3) }, 1, "differs from its bytes"},
		{"the first event forged", func() []ChainLink {
			l := append([]ChainLink(nil), good...)
			var m map[string]any
			json.Unmarshal(l[0].Payload, &m)
			m["prev"] = strings.Repeat("0", 64)
			l[0].Payload, _ = json.Marshal(m)
			return l
		}, 1, "genesis"},
	}
	for _, c := range cases {
		_, brk := verify("r1", c.links())
		if brk == nil || brk.Seq != c.seq || !strings.Contains(brk.Reason, c.says) {
			t.Errorf("%s: %v, want seq %d: %q", c.name, brk, c.seq, c.says)
		}
	}
	// Pruned: verified from the first event left.
	if v, brk := verify("r1", good[3:]); brk != nil || v.First != 4 || v.Events != 3 {
		t.Fatalf("a pruned log: %+v %v", v, brk)
	}
}

// Checkpoints: signed by the room's key, over the head they follow; a
// forged or moved one breaks the chain; a noted head is passed through.
func TestCheckpoints(t *testing.T) {
	key := testKey()
	links := chainOf(t, "r1", 3)
	head := ChainHash(links[2].Payload)
	cp := func(k []byte) ChainLink {
		e := Event{Seq: 4, ID: "cp", TS: time.Unix(9, 0).UTC(), Room: "r1", Type: "log.checkpoint", Severity: SeverityInfo, Prev: head}
		c := SignCheckpoint(ed25519.PrivateKey(k), "r1", 3, head)
		e.Data, _ = json.Marshal(c)
		b, _ := json.Marshal(e)
		return ChainLink{Seq: 4, ID: "cp", Type: "log.checkpoint", Payload: b}
	}
	v := &ChainVerifier{Room: "r1", Key: key.Public().(ed25519.PublicKey), Through: ChainHash(links[1].Payload)}
	for _, l := range append(links, cp(key)) {
		if brk := v.Next(l); brk != nil {
			t.Fatalf("a signed checkpoint: %v", brk)
		}
	}
	if v.Checkpoints != 1 || v.LastCheckpoint != 4 || !v.Passed {
		t.Fatalf("verified %+v", v)
	}
	v = &ChainVerifier{Room: "r1", Key: key.Public().(ed25519.PublicKey), Through: strings.Repeat("ab", 32)}
	var brk *ChainBreak
	for _, l := range append(links, cp(testKeyOther())) {
		if brk = v.Next(l); brk != nil {
			break
		}
	}
	if brk == nil || brk.Seq != 4 || !strings.Contains(brk.Reason, "forged") || v.Passed {
		t.Fatalf("a checkpoint signed by another key: %v (passed %v)", brk, v.Passed)
	}
}

// A restore from a backup declares its gap, signed by the room: the chain
// goes on across it; a restore the room did not sign (one made to hide
// deleted events) or that declares another gap breaks it.
func TestRestoreDeclaresItsGap(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	other := testKeyOther()
	links := chainOf(t, "r1", 4) // the backup ends at seq 4; seqs 5-9 were used before the loss
	var last Event
	json.Unmarshal(links[3].Payload, &last)
	restored := func(k ed25519.PrivateKey, from, to uint64) ChainLink {
		d, _ := json.Marshal(SignRestored(k, "r1", "r1-20261127T090000.000Z", from, to, ChainHash(links[3].Payload)))
		e := Event{Seq: 10, ID: "restored", TS: time.Unix(10, 0).UTC(), Room: "r1", Type: "log.restored", Severity: SeverityWarning,
			Prev: ChainHash(links[3].Payload), Data: d}
		b, _ := json.Marshal(e)
		return ChainLink{Seq: 10, ID: e.ID, Type: e.Type, Payload: b}
	}
	check := func(l ChainLink) (*ChainVerifier, *ChainBreak) {
		v := &ChainVerifier{Room: "r1", Key: pub}
		for _, x := range append(append([]ChainLink{}, links...), l) {
			if brk := v.Next(x); brk != nil {
				return v, brk
			}
		}
		return v, nil
	}
	if v, brk := check(restored(key, 5, 9)); brk != nil || v.Restored != 5 || v.Last != 10 {
		t.Fatalf("a signed restore: %+v %v", v, brk)
	}
	if _, brk := check(restored(other, 5, 9)); brk == nil || brk.Seq != 10 || !strings.Contains(brk.Reason, "forged") {
		t.Fatalf("a restore signed by another key: %v", brk)
	}
	if _, brk := check(restored(key, 6, 9)); brk == nil || brk.Seq != 10 {
		t.Fatalf("a restore declaring another gap: %v", brk)
	}
	if Below(10, "log.restored", mustData(t, SignRestored(key, "r1", "b", 5, 9, "h"))) != 4 || Below(10, "door.opened", nil) != 9 {
		t.Fatal("Below")
	}
}

func mustData(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzChainLink feeds the verifier any bytes as the next event of a good
// chain: it never panics, and what it accepts as a checkpoint or a restore
// is one the room's key signed.
func FuzzChainLink(f *testing.F) {
	pub, key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey), ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	links := func() []ChainLink {
		prev := Genesis("r1")
		var out []ChainLink
		for i := 1; i <= 3; i++ {
			e := Event{Seq: uint64(i), ID: "e" + string(rune('0'+i)), TS: time.Unix(int64(i), 0).UTC(), Room: "r1", Type: "door.opened", Prev: prev}
			b, _ := json.Marshal(e)
			out = append(out, ChainLink{Seq: e.Seq, ID: e.ID, Type: e.Type, Payload: b})
			prev = ChainHash(b)
		}
		return out
	}()
	head := ChainHash(links[2].Payload)
	for _, e := range []Event{
		{Seq: 4, ID: "cp", Room: "r1", Type: "log.checkpoint", Prev: head, Data: mustJSONf(SignCheckpoint(key, "r1", 3, head))},
		{Seq: 9, ID: "rs", Room: "r1", Type: "log.restored", Prev: head, Data: mustJSONf(SignRestored(key, "r1", "b", 4, 8, head))},
		{Seq: 4, ID: "x", Room: "r1", Type: "door.closed", Prev: head},
	} {
		b, _ := json.Marshal(e)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		v := &ChainVerifier{Room: "r1", Key: pub}
		for _, l := range links {
			if brk := v.Next(l); brk != nil {
				t.Fatal(brk)
			}
		}
		var e Event
		if e.UnmarshalJSON(payload) != nil {
			return
		}
		if v.Next(ChainLink{Seq: e.Seq, ID: e.ID, Type: e.Type, Payload: payload}) != nil {
			return
		}
		switch e.Type {
		case "log.checkpoint":
			var c Checkpoint
			if json.Unmarshal(e.Data, &c) != nil || !c.Verify(pub, "r1") {
				t.Fatalf("accepted a checkpoint the key did not sign: %s", payload)
			}
		case "log.restored":
			var r Restored
			if json.Unmarshal(e.Data, &r) != nil || !r.Verify(pub, "r1") {
				t.Fatalf("accepted a restore the key did not sign: %s", payload)
			}
		}
	})
}

func mustJSONf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
