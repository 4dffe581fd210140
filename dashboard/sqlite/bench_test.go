package sqlite_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roomguard/roomguard/dashboard"
	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// BenchmarkIngest: the replica takes events in batches of 1,000 (what the
// link's feed gathers under load), each batch one transaction with
// synchronous=FULL; two events in three are badge decisions that also fill
// the entry log. Target ≥ 20,000 events/s.
func BenchmarkIngest(b *testing.B) {
	s := open(b)
	const batch = 1000
	msgs := stream("jiyao-301", b.N*batch)
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		res, err := s.Ingest(msgs[i*batch : (i+1)*batch])
		if err != nil {
			b.Fatal(err)
		}
		n += len(res.Stored)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestVerified: the same batches, each event first held by the
// room's witness until the room's signed head vouches for it (one head a
// batch: the gateway signs its head each time its publisher drains), as a
// console that pinned the room's key takes them (issue 18). Reported next
// to the unverified ingest of the same run. Target ≥ 20,000 events/s.
func BenchmarkIngestVerified(b *testing.B) {
	const batch = 1000
	plain, verified := open(b), open(b)
	msgs := chained("jiyao-301", b.N*batch)
	w := dashboard.NewWitness(func() uint64 { r, _ := verified.Room("jiyao-301"); return r.High },
		func(seq uint64) (string, string, bool, error) { return verified.HeldLink("jiyao-301", seq) })
	var base, took time.Duration
	now := time.Now()
	for i := 0; i < b.N; i++ {
		part := msgs[i*batch : (i+1)*batch]
		start := time.Now()
		if _, err := plain.Ingest(part); err != nil {
			b.Fatal(err)
		}
		base += time.Since(start)
		start = time.Now()
		for _, m := range part {
			e := new(gateway.Event) // read once, as the link does
			if err := json.Unmarshal(m.Payload, e); err != nil {
				b.Fatal(err)
			}
			if _, _, err := w.Event(e, m.Payload, now); err != nil {
				b.Fatal(err)
			}
		}
		last := part[len(part)-1].Payload
		var e gateway.Event
		json.Unmarshal(last, &e)
		take, forged, err := w.Anchor(e.Seq, gateway.ChainHash(last))
		if err != nil || len(forged) > 0 || len(take) != batch {
			b.Fatalf("took %d, forged %d: %v", len(take), len(forged), err)
		}
		in := make([]sqlite.Message, len(take))
		for j, m := range take {
			in[j] = sqlite.Message{Room: "jiyao-301", Payload: m.Payload, Event: m.Event}
		}
		if _, err := verified.Ingest(in); err != nil {
			b.Fatal(err)
		}
		w.Stored()
		took += time.Since(start)
	}
	n := float64(b.N * batch)
	b.ReportMetric(n/took.Seconds(), "events/s")
	b.ReportMetric(n/base.Seconds(), "unverified-events/s")
	b.ReportMetric(took.Seconds()/base.Seconds(), "x-unverified")
}

// chained is stream with each event's prev the hash of the one before, as
// the room logs them.
func chained(room string, n int) []sqlite.Message {
	msgs := stream(room, n)
	prev := gateway.Genesis(room)
	for i, m := range msgs {
		var e gateway.Event
		json.Unmarshal(m.Payload, &e)
		e.Prev = prev
		msgs[i].Payload, _ = json.Marshal(e)
		prev = gateway.ChainHash(msgs[i].Payload)
	}
	return msgs
}
