package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/roomguard/roomguard/gateway/testenv"
)

// BenchmarkSealRoundTrip: a seal and an unseal (each two confirmations by
// two people) from a guard station through Mosquitto to the gateway and its
// reply back, signed next to unsigned in the same run, in the same room
// (which takes both: accept_unsigned, --sim). Issue 17: the signed p99 at
// most 2 ms above the unsigned.
func BenchmarkSealRoundTrip(b *testing.B) {
	m, d := benchRoom(b, nil, "inputs:\n  - {id: door-main, kind: door, pin: GPIO17, active: high, debounce: 0s}\naccept_unsigned: true\n")
	replies := make(chan string, 16)
	pr := newProbe(b, m.URL(), d, "roomguard/bench-room/reply/+", func(_ paho.Client, msg paho.Message) {
		var r struct{ ID, Status string }
		if json.Unmarshal(msg.Payload(), &r) == nil {
			replies <- r.ID + " " + r.Status + " " + string(msg.Payload())
		}
	})
	w := &watcher{t: nil}
	n := 0
	call := func(name, by string, signed bool) time.Duration {
		n++
		id := fmt.Sprintf("s%d", n)
		payload, _ := json.Marshal(map[string]any{"id": id, "by": by, "session": "s-" + by})
		if signed {
			payload = w.signB(b, "bench-room", name, payload)
		}
		t0 := time.Now()
		pr.pub.Publish("roomguard/bench-room/cmd/"+name, 1, false, payload)
		select {
		case got := <-replies:
			if !strings.HasPrefix(got, id+" ok ") {
				b.Fatalf("%s %s: reply %q", name, id, got)
			}
		case <-time.After(10 * time.Second):
			b.Fatalf("%s %s: no reply", name, id)
		}
		return time.Since(t0)
	}
	var signed, unsigned testenv.Latencies
	rounds := max(b.N, 50)
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		s := i%2 == 0
		for _, c := range [][2]string{{"seal", "li.ming"}, {"seal", "wang.fang"}, {"unseal", "li.ming"}, {"unseal", "zhao.lei"}} {
			lat := call(c[0], c[1], s)
			if s {
				signed = append(signed, lat)
			} else {
				unsigned = append(unsigned, lat)
			}
		}
	}
	b.StopTimer()
	signed.Report(b, "signed")
	unsigned.Report(b, "unsigned")
	b.ReportMetric(float64(signed.Quantile(0.99)-unsigned.Quantile(0.99))/float64(time.Millisecond), "p99-added-ms")
}
