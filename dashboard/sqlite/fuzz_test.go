package sqlite_test

import (
	"encoding/json"
	"testing"

	"github.com/roomguard/roomguard/dashboard/sqlite"
	"github.com/roomguard/roomguard/gateway"
)

// FuzzIngest: whatever arrives on a room's events topic, the replica never
// fails and never stores what is not that room's event; what it stores
// reads back as the event it was.
func FuzzIngest(f *testing.F) {
	for _, m := range stream("r1", 4) {
		f.Add("r1", m.Payload)
	}
	f.Add("r1", []byte(`{"seq":1,"id":"x","ts":"2026-11-22T09:00:00Z","room":"r1","type":"access.granted","severity":"info","data":{"card":7}}`))
	f.Add("r1", []byte(`{"seq":18446744073709551615,"id":"x","ts":"2026-11-22T09:00:00Z","room":"r1","type":"t","severity":"info"}`))
	f.Add("r1", []byte(`{"seq":-1}`))
	f.Add("r2", []byte(`null`))
	f.Add("", []byte(``))
	s := open(f)
	f.Fuzz(func(t *testing.T, room string, payload []byte) {
		res, err := s.Ingest([]sqlite.Message{{Room: room, Payload: payload}})
		if err != nil {
			t.Fatalf("ingest failed: %v", err)
		}
		for _, r := range res.Stored {
			var e gateway.Event
			if err := json.Unmarshal(r.Payload, &e); err != nil || e.Room != room || e.Seq == 0 || e.ID == "" {
				t.Fatalf("stored %q as %+v (%v)", r.Payload, e, err)
			}
		}
		if len(res.Stored)+len(res.Rejected)+res.Duplicates+res.Conflicts != 1 {
			t.Fatalf("one message, outcome %+v", res)
		}
	})
}
